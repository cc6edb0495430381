/**
 * On-call documents (users, teams, escalation policies) as the incident service sees them, and their
 * validation: pure functions that take decoded JSON/YAML and return either a clean value or every problem
 * with its path. References between documents (a policy naming a user, schedule, team or receiver) are checked
 * against the sets of known ids passed in, so a bad reference is refused with its name.
 */
import { parseMatcher } from '../alerts/matchers.ts';
import type { CompiledMatcher } from '../model/matcher.ts';
import { parseDuration } from '../model/duration.ts';
import type { Labels } from '../model/labels.ts';

/** One way to reach a person. Methods are tried in order; a failed one falls back to the next. */
export type ContactMethod =
  | { readonly type: 'email'; readonly address: string }
  | { readonly type: 'slack'; readonly url: string }
  | { readonly type: 'webhook'; readonly url: string };

export interface User {
  readonly id: string;
  readonly name: string;
  readonly contacts: readonly ContactMethod[];
}

export interface Team {
  readonly id: string;
  readonly name: string;
  /** User ids. */
  readonly members: readonly string[];
}

/** Who a step notifies: a user, everyone on call in a schedule, every team member, or an Alertmanager receiver. */
export interface Target {
  readonly type: 'user' | 'schedule' | 'team' | 'receiver';
  readonly id: string;
}

export interface EscalationStep {
  readonly targets: readonly Target[];
  /** Wait after this step's pages before the next step, ms (> 0). */
  readonly delayMs: number;
}

/** An escalation policy. Matching incidents page step 0 first, then each next step after the delay. */
export interface EscalationPolicy {
  readonly id: string;
  readonly name: string;
  readonly steps: readonly EscalationStep[];
  /** Extra passes through all steps after the first one (0 = one pass). */
  readonly repeat: number;
  /** An acknowledged incident still open this long after its acknowledgement re-escalates; 0 = never. */
  readonly ackTimeoutMs: number;
  /** Label matchers (Alertmanager syntax) every one of which an alert group's root cause must satisfy. */
  readonly match: readonly string[];
  /** Severity classes routed here; empty = every severity. */
  readonly severities: readonly string[];
  /** Lower first when several policies match; ties go by id. */
  readonly priority: number;
}

/** A problem found in input, located by a dotted path (`steps[1].targets[0]`). */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Ids known when a policy is validated. */
export interface KnownIds {
  readonly users: ReadonlySet<string>;
  readonly schedules: ReadonlySet<string>;
  readonly teams: ReadonlySet<string>;
  readonly receivers: ReadonlySet<string>;
}

export const ID_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Problems {
  readonly list: Problem[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  unknownKeys(o: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(o))
      if (!known.includes(k)) this.add(join(path, k), `unknown field (expected one of: ${known.join(', ')})`);
  }
  id(o: Obj, path: string): string {
    const v = o.id;
    if (typeof v !== 'string' || !ID_RE.test(v)) {
      this.add(
        join(path, 'id'),
        `must be 1 to 64 letters, digits, ".", "@", "-" or "_", got ${JSON.stringify(v)}`,
      );
      return '';
    }
    return v;
  }
  name(o: Obj, path: string, fallback: string): string {
    const v = o.name;
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v.trim() === '') {
      this.add(join(path, 'name'), `must be a non-empty string, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v.trim();
  }
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function checkUrl(p: Problems, path: string, v: unknown): string | undefined {
  if (typeof v !== 'string') {
    p.add(path, `must be an http(s) URL, got ${JSON.stringify(v)}`);
    return undefined;
  }
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme must be http or https');
  } catch (err) {
    p.add(path, `invalid URL ${JSON.stringify(v)}: ${(err as Error).message}`);
    return undefined;
  }
  return v;
}

const EMAIL_RE = /^[^\s@<>]+@[^\s@<>]+$/;

/**
 * A user: `{id, name?, contacts: [{email: "a@x"} | {slack: URL} | {webhook: URL}, ...]}` (the API and YAML
 * form; the stored form `{type, address|url}` is accepted too). At least one contact method.
 */
export function validateUser(input: unknown, path = ''): Validated<User> {
  const p = new Problems();
  if (!isObj(input)) return { ok: false, problems: [{ path, message: 'must be an object' }] };
  p.unknownKeys(input, path, ['id', 'name', 'contacts']);
  const id = p.id(input, path);
  const name = p.name(input, path, id);
  const contacts: ContactMethod[] = [];
  const raw = input.contacts;
  if (!Array.isArray(raw) || raw.length === 0)
    p.add(
      join(path, 'contacts'),
      'must be a non-empty list such as [{email: ana@example.com}, {webhook: https://…}]',
    );
  else
    raw.forEach((c, i) => {
      const cp = join(join(path, 'contacts'), i);
      if (!isObj(c)) return p.add(cp, 'must be an object such as {email: ana@example.com}');
      const stored = typeof c.type === 'string';
      const type = stored ? (c.type as string) : Object.keys(c)[0];
      if (!stored && Object.keys(c).length !== 1)
        return p.add(cp, 'must have exactly one of email, slack, webhook');
      const value = stored ? (c.address ?? c.url) : c[type!];
      if (type === 'email') {
        if (typeof value !== 'string' || !EMAIL_RE.test(value))
          return p.add(join(cp, 'email'), `must be an e-mail address, got ${JSON.stringify(value)}`);
        contacts.push({ type: 'email', address: value });
      } else if (type === 'slack' || type === 'webhook') {
        const url = checkUrl(p, join(cp, type), value);
        if (url) contacts.push({ type, url });
      } else p.add(cp, `unknown contact method ${JSON.stringify(type)}: use email, slack or webhook`);
    });
  return p.list.length ? { ok: false, problems: p.list } : { ok: true, value: { id, name, contacts } };
}

/** A team: `{id, name?, members: [user id, ...]}`; every member must be a known user. */
export function validateTeam(input: unknown, users: ReadonlySet<string>, path = ''): Validated<Team> {
  const p = new Problems();
  if (!isObj(input)) return { ok: false, problems: [{ path, message: 'must be an object' }] };
  p.unknownKeys(input, path, ['id', 'name', 'members']);
  const id = p.id(input, path);
  const name = p.name(input, path, id);
  const members: string[] = [];
  if (!Array.isArray(input.members)) p.add(join(path, 'members'), 'must be a list of user ids');
  else
    input.members.forEach((m, i) => {
      if (typeof m !== 'string') return p.add(join(join(path, 'members'), i), 'must be a user id');
      if (!users.has(m)) return p.add(join(join(path, 'members'), i), `unknown user ${JSON.stringify(m)}`);
      if (!members.includes(m)) members.push(m);
    });
  return p.list.length ? { ok: false, problems: p.list } : { ok: true, value: { id, name, members } };
}

function durationMs(p: Problems, path: string, v: unknown, allowZero: boolean): number | undefined {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    try {
      ms = parseDuration(v);
    } catch (err) {
      p.add(path, `${(err as Error).message} (for example 30s, 5m, 1h)`);
      return undefined;
    }
  } else {
    p.add(path, `must be a duration such as 5m, got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    p.add(path, `must be ${allowZero ? 'zero or more' : 'above zero'}, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return ms;
}

const TARGET_TYPES = ['user', 'schedule', 'team', 'receiver'] as const;
const KNOWN_OF: Record<Target['type'], keyof KnownIds> = {
  user: 'users',
  schedule: 'schedules',
  team: 'teams',
  receiver: 'receivers',
};

/**
 * An escalation policy. Input form: `{id, name?, match?: ['service="checkout"'], severities?: [critical],
 * priority?, repeat?, ack_timeout?: 30m, steps: [{delay: 5m | delayMinutes: 5 | delayMs, targets: [{user: ana} |
 * {schedule: primary} | {team: payments} | {receiver: ops} | {type, id}]}]}`. Unknown references are refused
 * with their name; with `known` undefined only the shape is checked (stored policies, whose targets may have
 * gone since: paging records those as failed pages).
 */
export function validatePolicy(
  input: unknown,
  known: KnownIds | undefined,
  path = '',
): Validated<EscalationPolicy> {
  const p = new Problems();
  if (!isObj(input)) return { ok: false, problems: [{ path, message: 'must be an object' }] };
  p.unknownKeys(input, path, [
    'id',
    'name',
    'match',
    'severities',
    'priority',
    'repeat',
    'ack_timeout',
    'ackTimeoutMs',
    'steps',
  ]);
  const id = p.id(input, path);
  const name = p.name(input, path, id);
  const match: string[] = [];
  if (input.match !== undefined) {
    if (!Array.isArray(input.match))
      p.add(join(path, 'match'), 'must be a list of matchers such as service="checkout"');
    else
      input.match.forEach((m, i) => {
        try {
          if (typeof m !== 'string') throw new Error('must be a string');
          parseMatcher(m);
          match.push(m);
        } catch (err) {
          p.add(
            join(join(path, 'match'), i),
            `invalid matcher ${JSON.stringify(m)}: ${(err as Error).message}`,
          );
        }
      });
  }
  const severities: string[] = [];
  if (input.severities !== undefined) {
    if (!Array.isArray(input.severities) || input.severities.some((s) => typeof s !== 'string'))
      p.add(join(path, 'severities'), 'must be a list such as [critical, error]');
    else severities.push(...(input.severities as string[]).map((s) => s.toLowerCase()));
  }
  const intField = (key: string, dflt: number): number => {
    const v = input[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      p.add(join(path, key), `must be a whole number of 0 or more, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const priority = intField('priority', 100);
  const repeat = intField('repeat', 0);
  const ackRaw = input.ack_timeout ?? input.ackTimeoutMs;
  const ackTimeoutMs =
    ackRaw === undefined
      ? 0
      : (durationMs(
          p,
          join(path, input.ack_timeout !== undefined ? 'ack_timeout' : 'ackTimeoutMs'),
          ackRaw,
          true,
        ) ?? 0);
  const steps: EscalationStep[] = [];
  if (!Array.isArray(input.steps) || input.steps.length === 0)
    p.add(join(path, 'steps'), 'must be a non-empty list of steps, each {delay, targets}');
  else
    input.steps.forEach((s, i) => {
      const sp = join(join(path, 'steps'), i);
      if (!isObj(s)) return p.add(sp, 'must be an object {delay, targets}');
      p.unknownKeys(s, sp, ['delay', 'delayMinutes', 'delayMs', 'targets']);
      let delayMs: number | undefined;
      if (s.delayMinutes !== undefined) {
        if (typeof s.delayMinutes !== 'number' || !(s.delayMinutes > 0))
          p.add(join(sp, 'delayMinutes'), `must be a number above 0, got ${JSON.stringify(s.delayMinutes)}`);
        else delayMs = Math.round(s.delayMinutes * 60_000);
      } else if (s.delay !== undefined) delayMs = durationMs(p, join(sp, 'delay'), s.delay, false);
      else if (s.delayMs !== undefined) delayMs = durationMs(p, join(sp, 'delayMs'), s.delayMs, false);
      else p.add(join(sp, 'delay'), 'is required: how long to wait for an acknowledgement, for example 5m');
      const targets: Target[] = [];
      if (!Array.isArray(s.targets) || s.targets.length === 0)
        p.add(join(sp, 'targets'), 'must be a non-empty list such as [{schedule: primary}, {user: ana}]');
      else
        s.targets.forEach((t, j) => {
          const tp = join(join(sp, 'targets'), j);
          if (!isObj(t)) return p.add(tp, 'must be an object such as {user: ana}');
          let type: unknown;
          let tid: unknown;
          if (typeof t.type === 'string') {
            type = t.type;
            tid = t.id;
          } else {
            const keys = Object.keys(t);
            if (keys.length !== 1) return p.add(tp, `must have exactly one of ${TARGET_TYPES.join(', ')}`);
            type = keys[0];
            tid = t[keys[0]!];
          }
          if (!TARGET_TYPES.includes(type as Target['type']))
            return p.add(tp, `unknown target type ${JSON.stringify(type)}: use ${TARGET_TYPES.join(', ')}`);
          const ty = type as Target['type'];
          if (typeof tid !== 'string' || tid === '') return p.add(join(tp, ty), `must be a ${ty} id`);
          if (known && !known[KNOWN_OF[ty]].has(tid))
            return p.add(join(tp, ty), `unknown ${ty} ${JSON.stringify(tid)}`);
          targets.push({ type: ty, id: tid });
        });
      if (delayMs !== undefined) steps.push({ targets, delayMs });
    });
  if (p.list.length) return { ok: false, problems: p.list };
  return { ok: true, value: { id, name, steps, repeat, ackTimeoutMs, match, severities, priority } };
}

/** The stored body of a policy: the validated policy in its canonical (API input) form. */
export function policyBody(pol: EscalationPolicy): Record<string, unknown> {
  return {
    id: pol.id,
    name: pol.name,
    match: [...pol.match],
    severities: [...pol.severities],
    priority: pol.priority,
    repeat: pol.repeat,
    ackTimeoutMs: pol.ackTimeoutMs,
    steps: pol.steps.map((s) => ({
      delayMs: s.delayMs,
      targets: s.targets.map((t) => ({ type: t.type, id: t.id })),
    })),
  };
}

/** The policies that take an alert group with these root-cause labels, best first. */
export function routePolicies(
  policies: readonly EscalationPolicy[],
  labels: Labels,
  severity: string,
): EscalationPolicy[] {
  const compiled = new Map<string, CompiledMatcher[]>();
  const matchers = (pol: EscalationPolicy) => {
    let c = compiled.get(pol.id);
    if (!c) compiled.set(pol.id, (c = pol.match.map(parseMatcher)));
    return c;
  };
  return policies
    .filter(
      (pol) =>
        (pol.severities.length === 0 || pol.severities.includes(severity.toLowerCase())) &&
        matchers(pol).every((m) => m.matches(labels[m.name] ?? '')),
    )
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every problem as one line each, `path: message`. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}
