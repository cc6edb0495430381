/**
 * Loads an Alertmanager configuration file: YAML → schema → a resolved route tree with inherited settings,
 * compiled matchers, inhibit rules and named time intervals. Every problem carries file, line and column.
 * `loadAlertmanagerConfigText` does no I/O; `loadAlertmanagerConfigFile` reads the file.
 */
import { dirname, resolve } from 'node:path';
import type { CompiledMatcher } from '../../model/matcher.ts';
import { compileMatcher } from '../../model/matcher.ts';
import {
  ConfigError,
  parseYaml,
  positionOf,
  readConfigFile,
  validateYaml,
  formatPath,
  type ConfigProblem,
} from '../../config/yaml-errors.ts';
import { matchersString, parseMatchers } from '../matchers.ts';
import {
  checkLocation,
  parseDaysOfMonth,
  parseMonths,
  parseTimes,
  parseWeekdays,
  parseYears,
  type TimeInterval,
} from '../timeintervals.ts';
import {
  alertmanagerConfigSchema,
  type GlobalConfig,
  type RawRoute,
  type RawTimeInterval,
  type ReceiverConfig,
} from './schema.ts';

/** A node of the routing tree with every inherited setting filled in. Durations in ms. */
export interface Route {
  /** Alertmanager's route key: parent key, "/", this route's matchers (`{}/{severity="page"}`). */
  readonly key: string;
  readonly receiver: string;
  /** Labels to group by; empty with `groupByAll` for `...`. */
  readonly groupBy: readonly string[];
  readonly groupByAll: boolean;
  readonly matchers: readonly CompiledMatcher[];
  readonly continue: boolean;
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly Route[];
}

export interface InhibitRule {
  readonly sourceMatchers: readonly CompiledMatcher[];
  readonly targetMatchers: readonly CompiledMatcher[];
  readonly equal: readonly string[];
}

/** A loaded, validated configuration. */
export interface AlertmanagerConfig {
  readonly global: GlobalConfig;
  readonly route: Route;
  readonly receivers: readonly ReceiverConfig[];
  readonly inhibitRules: readonly InhibitRule[];
  readonly timeIntervals: ReadonlyMap<string, readonly TimeInterval[]>;
  /** Template file globs, resolved against the configuration file's folder. */
  readonly templates: readonly string[];
  /** The file text as loaded (shown by `/api/v2/status`). */
  readonly original: string;
}

/** The configuration used when none is given: everything goes to a receiver that delivers nowhere. */
export const DEFAULT_ALERTMANAGER_CONFIG_YAML = `route:
  receiver: default
  group_by: ['alertname']
receivers:
  - name: default
`;

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses and validates Alertmanager YAML. Throws ConfigError listing every problem with its position. */
export function loadAlertmanagerConfigText(text: string, file: string): AlertmanagerConfig {
  const parsed = parseYaml(text, file);
  const raw = validateYaml(alertmanagerConfigSchema, parsed, file);
  const problems: ConfigProblem[] = [];
  const problem = (path: PropertyKey[], message: string) => {
    const { line, column } = positionOf(parsed, path);
    problems.push({ file, line, column, path: formatPath(path), message });
  };

  // Receivers: unique names, global defaults present where needed.
  const receiverNames = new Set<string>();
  raw.receivers.forEach((r, i) => {
    if (receiverNames.has(r.name))
      problem(['receivers', i, 'name'], `notification config name ${JSON.stringify(r.name)} is not unique`);
    receiverNames.add(r.name);
    r.email_configs?.forEach((e, j) => {
      if (!e.smarthost && !raw.global.smtp_smarthost)
        problem(
          ['receivers', i, 'email_configs', j],
          'no global SMTP smarthost set: set smtp_smarthost in global or smarthost here',
        );
      if (!e.from && !raw.global.smtp_from)
        problem(
          ['receivers', i, 'email_configs', j],
          'no global SMTP from set: set smtp_from in global or from here',
        );
    });
    r.slack_configs?.forEach((s, j) => {
      const token =
        s.app_token ?? s.app_token_file ?? raw.global.slack_app_token ?? raw.global.slack_app_token_file;
      if (
        !s.api_url &&
        !s.api_url_file &&
        !token &&
        !raw.global.slack_api_url &&
        !raw.global.slack_api_url_file
      )
        problem(
          ['receivers', i, 'slack_configs', j],
          'no global Slack API URL set: set slack_api_url in global or api_url here',
        );
    });
  });

  // Time intervals, both spellings share one namespace.
  const timeIntervals = new Map<string, TimeInterval[]>();
  for (const section of ['time_intervals', 'mute_time_intervals'] as const) {
    raw[section].forEach((ti, i) => {
      if (timeIntervals.has(ti.name))
        problem([section, i, 'name'], `time interval ${JSON.stringify(ti.name)} is not unique`);
      const list: TimeInterval[] = [];
      ti.time_intervals.forEach((entry, j) => {
        const parsedEntry = parseTimeIntervalEntry(entry, (field, msg) =>
          problem([section, i, 'time_intervals', j, ...(field ? [field] : [])], msg),
        );
        if (parsedEntry) list.push(parsedEntry);
      });
      timeIntervals.set(ti.name, list);
    });
  }

  // Route tree.
  let route: Route | undefined;
  if (!raw.route) {
    problem([], 'no routes provided: add a "route" section with a default receiver');
  } else {
    const r = raw.route;
    if (!r.receiver) problem(['route'], 'root route must specify a default receiver');
    if (
      (r.matchers?.length ?? 0) > 0 ||
      Object.keys(r.match ?? {}).length ||
      Object.keys(r.match_re ?? {}).length
    )
      problem(['route'], 'root route must not have any matchers');
    if (r.continue) problem(['route', 'continue'], 'cannot have continue in root route');
    if (r.mute_time_intervals?.length)
      problem(['route', 'mute_time_intervals'], 'root route must not have any mute time intervals');
    if (r.active_time_intervals?.length)
      problem(['route', 'active_time_intervals'], 'root route must not have any active time intervals');
    const defaults = {
      receiver: r.receiver ?? '',
      groupBy: [] as string[],
      groupByAll: false,
      groupWait: 30_000,
      groupInterval: 300_000,
      repeatInterval: 4 * 3_600_000,
    };
    route = buildRoute(r, ['route'], undefined, defaults, {
      problem,
      receivers: receiverNames,
      intervals: timeIntervals,
    });
  }

  const inhibitRules = raw.inhibit_rules.map((ir, i) => {
    const side = (which: 'source' | 'target'): CompiledMatcher[] =>
      compileMatchers(
        ir[`${which}_matchers`],
        ir[`${which}_match`],
        ir[`${which}_match_re`],
        ['inhibit_rules', i],
        which + '_',
        problem,
      );
    for (const [j, l] of (ir.equal ?? []).entries())
      if (!LABEL_NAME_RE.test(l))
        problem(['inhibit_rules', i, 'equal', j], `invalid label name ${JSON.stringify(l)}`);
    return { sourceMatchers: side('source'), targetMatchers: side('target'), equal: ir.equal ?? [] };
  });

  if (problems.length) throw new ConfigError(problems);
  const base = dirname(resolve(file));
  return {
    global: raw.global,
    route: route!,
    receivers: raw.receivers,
    inhibitRules,
    timeIntervals,
    templates: raw.templates.map((t) => resolve(base, t)),
    original: text,
  };
}

/** Reads and loads a configuration file. Throws ConfigError (also for an unreadable file). */
export function loadAlertmanagerConfigFile(path: string): AlertmanagerConfig {
  const text = readConfigFile(path);
  return loadAlertmanagerConfigText(text, path);
}

interface BuildCtx {
  problem(path: PropertyKey[], message: string): void;
  receivers: ReadonlySet<string>;
  intervals: ReadonlyMap<string, unknown>;
}

interface Inherited {
  receiver: string;
  groupBy: string[];
  groupByAll: boolean;
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
}

function compileMatchers(
  matchers: readonly string[] | undefined,
  match: Readonly<Record<string, string>> | undefined,
  matchRe: Readonly<Record<string, string>> | undefined,
  path: PropertyKey[],
  prefix: string,
  problem: BuildCtx['problem'],
): CompiledMatcher[] {
  const out: CompiledMatcher[] = [];
  for (const [name, value] of Object.entries(match ?? {})) {
    if (!LABEL_NAME_RE.test(name))
      problem([...path, `${prefix}match`, name], `invalid label name ${JSON.stringify(name)}`);
    else out.push(compileMatcher({ name, type: '=', value }));
  }
  for (const [name, value] of Object.entries(matchRe ?? {})) {
    if (!LABEL_NAME_RE.test(name)) {
      problem([...path, `${prefix}match_re`, name], `invalid label name ${JSON.stringify(name)}`);
      continue;
    }
    try {
      out.push(compileMatcher({ name, type: '=~', value }));
    } catch (err) {
      problem([...path, `${prefix}match_re`, name], (err as Error).message);
    }
  }
  (matchers ?? []).forEach((m, j) => {
    try {
      // Like Alertmanager, one entry may hold several comma-separated matchers.
      out.push(...parseMatchers(m));
    } catch (err) {
      problem([...path, `${prefix}matchers`, j], (err as Error).message);
    }
  });
  // Alertmanager sorts a route's matchers for its key and string form.
  return out.sort((a, b) =>
    a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : a.type < b.type
          ? -1
          : a.type > b.type
            ? 1
            : a.value < b.value
              ? -1
              : a.value > b.value
                ? 1
                : 0,
  );
}

function buildRoute(
  r: RawRoute,
  path: PropertyKey[],
  parentKey: string | undefined,
  inherited: Inherited,
  ctx: BuildCtx,
): Route {
  const receiver = r.receiver ?? inherited.receiver;
  if (r.receiver !== undefined && !ctx.receivers.has(r.receiver))
    ctx.problem([...path, 'receiver'], `undefined receiver ${JSON.stringify(r.receiver)} used in route`);
  let groupBy = inherited.groupBy;
  let groupByAll = inherited.groupByAll;
  if (r.group_by !== undefined) {
    groupBy = [];
    groupByAll = false;
    const seen = new Set<string>();
    r.group_by.forEach((l, i) => {
      if (l === '...') {
        groupByAll = true;
        return;
      }
      if (!LABEL_NAME_RE.test(l))
        ctx.problem([...path, 'group_by', i], `invalid label name ${JSON.stringify(l)} in group_by list`);
      if (seen.has(l))
        ctx.problem([...path, 'group_by', i], `duplicated label ${JSON.stringify(l)} in group_by`);
      seen.add(l);
      groupBy.push(l);
    });
    if (groupByAll && groupBy.length)
      ctx.problem(
        [...path, 'group_by'],
        'cannot have wildcard group_by (`...`) and other labels at the same time',
      );
  }
  for (const key of ['group_interval', 'repeat_interval'] as const)
    if (r[key] === 0) ctx.problem([...path, key], `${key} cannot be zero`);
  for (const key of ['mute_time_intervals', 'active_time_intervals'] as const)
    (r[key] ?? []).forEach((n, i) => {
      if (!ctx.intervals.has(n))
        ctx.problem([...path, key, i], `undefined time interval ${JSON.stringify(n)} used in route`);
    });
  const matchers = compileMatchers(r.matchers, r.match, r.match_re, path, '', ctx.problem);
  const own = matchersString(matchers);
  const key = parentKey === undefined ? own : `${parentKey}/${own}`;
  const next: Inherited = {
    receiver,
    groupBy,
    groupByAll,
    groupWait: r.group_wait ?? inherited.groupWait,
    groupInterval: r.group_interval ?? inherited.groupInterval,
    repeatInterval: r.repeat_interval ?? inherited.repeatInterval,
  };
  const routes = (r.routes ?? []).map((c, i) => buildRoute(c, [...path, 'routes', i], key, next, ctx));
  return {
    key,
    ...next,
    matchers,
    continue: r.continue ?? false,
    muteTimeIntervals: r.mute_time_intervals ?? [],
    activeTimeIntervals: r.active_time_intervals ?? [],
    routes,
  };
}

function parseTimeIntervalEntry(
  e: RawTimeInterval,
  problem: (field: string | undefined, msg: string) => void,
): TimeInterval | undefined {
  const out: { -readonly [K in keyof TimeInterval]: TimeInterval[K] } = {};
  let ok = true;
  const attempt = (field: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      ok = false;
      problem(field, (err as Error).message);
    }
  };
  if (e.times) attempt('times', () => (out.times = parseTimes(e.times)));
  if (e.weekdays) attempt('weekdays', () => (out.weekdays = parseWeekdays(e.weekdays)));
  if (e.days_of_month) attempt('days_of_month', () => (out.daysOfMonth = parseDaysOfMonth(e.days_of_month)));
  if (e.months) attempt('months', () => (out.months = parseMonths(e.months)));
  if (e.years) attempt('years', () => (out.years = parseYears(e.years)));
  if (e.location !== undefined) attempt('location', () => (out.location = checkLocation(e.location)));
  return ok ? out : undefined;
}

/** The receiver names used in the route tree, in tree order, each once. */
export function routeReceivers(route: Route): string[] {
  const out = new Set<string>();
  const walk = (r: Route) => {
    out.add(r.receiver);
    r.routes.forEach(walk);
  };
  walk(route);
  return [...out];
}
