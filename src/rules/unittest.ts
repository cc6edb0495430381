/**
 * Rule unit tests in `promtool test rules` format, run over in-memory storage with the real PromQL engine and
 * the same RuleGroup evaluation the server uses. Failures read exactly like promtool's, so a test file and its
 * expectations move between the two unchanged.
 *
 *   rule_files: [rules.yml]          # relative to the test file; globs allowed
 *   evaluation_interval: 1m          # step of rule evaluation, default 1m
 *   group_eval_order: [g1, g2]       # optional; must then name every group
 *   tests:
 *     - interval: 1m                 # step of input_series, default evaluation_interval
 *       name: optional name
 *       external_labels: {}
 *       external_url: ''
 *       input_series:
 *         - series: 'up{job="api"}'
 *           values: '1+0x10 _ stale 0 1-1x5'
 *       alert_rule_test:
 *         - eval_time: 10m
 *           alertname: InstanceDown
 *           exp_alerts: [{exp_labels: {...}, exp_annotations: {...}}]
 *       promql_expr_test:
 *         - expr: job:up:sum
 *           eval_time: 4m
 *           exp_samples: [{labels: 'job:up:sum{job="api"}', value: 1}]
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../model/duration.ts';
import { METRIC_NAME, STALE_NAN, isValidLabelName, labelsKey, type Labels } from '../model/labels.ts';
import { Engine } from '../query/promql/index.ts';
import { almostEqual, parseValues } from '../query/promql/promqltest.ts';
import { MemoryStorage } from '../store/memory.ts';
import { ConfigError, formatProblem, parseYaml, validateYaml } from '../config/yaml-errors.ts';
import { formatRuleProblem, parseRuleFile, type RuleGroupDef } from './file.ts';
import { formatExpShortest, formatGoDuration, formatLabelSet, goQuote } from './gofmt.ts';
import { RuleGroup } from './group.ts';
import { expandGlob } from './load.ts';
import { engineQueryFn, storageAppendFn } from './rule.ts';

const duration = (field: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parseDuration(String(v));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${field}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

const stringMap = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
);

const testGroupSchema = z
  .object({
    interval: duration('interval').optional(),
    name: z.string().default(''),
    external_labels: stringMap.default({}),
    external_url: z.string().default(''),
    input_series: z
      .array(
        z
          .object({ series: z.string(), values: z.union([z.string(), z.number()]).transform(String) })
          .strict(),
      )
      .nullish()
      .transform((v) => v ?? []),
    alert_rule_test: z
      .array(
        z
          .object({
            eval_time: duration('eval_time'),
            alertname: z.string().default(''),
            exp_alerts: z
              .array(
                z
                  .object({
                    exp_labels: stringMap.nullish().transform((v) => v ?? {}),
                    exp_annotations: stringMap.nullish().transform((v) => v ?? {}),
                  })
                  .strict(),
              )
              .nullish()
              .transform((v) => v ?? []),
          })
          .strict(),
      )
      .nullish()
      .transform((v) => v ?? []),
    promql_expr_test: z
      .array(
        z
          .object({
            expr: z.string(),
            eval_time: duration('eval_time'),
            exp_samples: z
              .array(
                z
                  .object({
                    labels: z.string().default(''),
                    value: z
                      .union([z.number(), z.string()])
                      .transform((v) => (typeof v === 'number' ? v : goFloat(v))),
                  })
                  .strict(),
              )
              .nullish()
              .transform((v) => v ?? []),
          })
          .strict(),
      )
      .nullish()
      .transform((v) => v ?? []),
  })
  .strict();

const unitTestFileSchema = z
  .object({
    rule_files: z
      .array(z.string())
      .nullish()
      .transform((v) => v ?? []),
    evaluation_interval: duration('evaluation_interval').optional(),
    group_eval_order: z
      .array(z.string())
      .nullish()
      .transform((v) => v ?? []),
    tests: z
      .array(testGroupSchema)
      .nullish()
      .transform((v) => v ?? []),
  })
  .strict();

export type UnitTestFile = z.output<typeof unitTestFileSchema>;
type TestGroup = z.output<typeof testGroupSchema>;

function goFloat(s: string): number {
  const t = s.trim();
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  return t === '' ? NaN : Number(t);
}

/** Parses a unit-test file. Throws ConfigError listing every problem with its line. */
export function parseUnitTestFile(text: string, file: string): UnitTestFile {
  return validateYaml(unitTestFileSchema, parseYaml(text, file), file);
}

/**
 * A series description as Prometheus's parser.ParseMetric reads it: `name{a="b", c='d'}`, `{__name__="x"}`, or
 * empty/`{}` for no labels. Throws with what is wrong.
 */
export function parseMetric(s: string): Labels {
  const src = s.trim();
  const labels: Record<string, string> = {};
  let i = 0;
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(src);
  if (name) {
    labels[METRIC_NAME] = name[0];
    i = name[0].length;
  }
  const ws = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  ws();
  if (i < src.length) {
    if (src[i] !== '{')
      throw new Error(`1:${i + 1}: parse error: unexpected character ${JSON.stringify(src[i])}`);
    i++;
    for (;;) {
      ws();
      if (i >= src.length) throw new Error(`1:${i + 1}: parse error: unexpected end of input inside braces`);
      if (src[i] === '}') {
        i++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(src.slice(i));
      if (!ln) throw new Error(`1:${i + 1}: parse error: expected label name`);
      i += ln[0].length;
      ws();
      if (src[i] !== '=') throw new Error(`1:${i + 1}: parse error: expected "=" after label name ${ln[0]}`);
      i++;
      ws();
      const q = src[i];
      if (q !== '"' && q !== "'" && q !== '`')
        throw new Error(`1:${i + 1}: parse error: expected a quoted label value`);
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== q) {
        if (src[j] === '\\' && q !== '`') {
          const e = src[j + 1];
          const simple: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '\\': '\\',
            '"': '"',
            "'": "'",
            a: '\x07',
            b: '\b',
            f: '\f',
            v: '\v',
          };
          if (e !== undefined && e in simple) {
            v += simple[e];
            j += 2;
          } else if (e === 'x' || e === 'u' || e === 'U') {
            const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
            v += String.fromCodePoint(parseInt(src.slice(j + 2, j + 2 + len), 16));
            j += 2 + len;
          } else throw new Error(`1:${j + 1}: parse error: invalid escape sequence`);
        } else v += src[j++];
      }
      if (j >= src.length) throw new Error(`1:${i + 1}: parse error: unterminated quoted string`);
      labels[ln[0]] = v;
      i = j + 1;
      ws();
      if (i >= src.length) throw new Error(`1:${i + 1}: parse error: unexpected end of input inside braces`);
      if (src[i] === ',') i++;
      else if (src[i] !== '}') throw new Error(`1:${i + 1}: parse error: expected "," or "}"`);
    }
    ws();
    if (i < src.length) throw new Error(`1:${i + 1}: parse error: unexpected text after the label set`);
  }
  for (const n of Object.keys(labels))
    if (!isValidLabelName(n) && n !== METRIC_NAME) throw new Error(`invalid label name ${JSON.stringify(n)}`);
  return labels;
}

/** File access for the runner, replaceable in tests. */
export interface UnitTestIO {
  readFile(path: string): Uint8Array;
  glob(pattern: string): string[];
}

/** Options of the runner. */
export interface UnitTestOptions {
  /** PromQL window semantics (promtool 2.x: 'prometheus2'). */
  readonly windows?: 'prometheus3' | 'prometheus2';
}

interface AlertLA {
  readonly labels: Labels;
  readonly annotations: Labels;
}

function compareLabelSets(a: Labels, b: Labels): number {
  const ka = formatLabelSet(a);
  const kb = formatLabelSet(b);
  // Compare as Prometheus's labels.Compare does: name by name, then value.
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  for (let i = 0; i < Math.min(an.length, bn.length); i++) {
    if (an[i] !== bn[i]) return an[i]! < bn[i]! ? -1 : 1;
    if (a[an[i]!] !== b[bn[i]!]) return a[an[i]!]! < b[bn[i]!]! ? -1 : 1;
  }
  return an.length - bn.length || (ka < kb ? -1 : ka > kb ? 1 : 0);
}

function indentLines(lines: string, indent: string): string {
  return lines.split('\n').join('\n' + indent);
}

function alertsString(la: readonly AlertLA[]): string {
  if (!la.length) return '[]';
  const one = (x: AlertLA) =>
    `Labels:${formatLabelSet(x.labels)}\nAnnotations:${formatLabelSet(x.annotations)}`;
  let s = '[\n0:' + indentLines('\n' + one(la[0]!), '  ');
  la.slice(1).forEach((x, i) => (s += `,\n${i + 1}:` + indentLines('\n' + one(x), '  ')));
  return s + '\n]';
}

function samplesString(ss: readonly { labels: Labels; value: number }[]): string {
  if (!ss.length) return 'nil';
  return ss.map((s) => `${formatLabelSet(s.labels)} ${formatExpShortest(s.value)}`).join(', ');
}

function sameMap(a: Labels, b: Labels): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => b[k] === a[k]);
}

/**
 * Runs every test group of one unit-test file. Returns the failures, each formatted as promtool prints it
 * (empty when everything passed). Reading or parsing the file itself may throw ConfigError.
 */
export async function runUnitTestFile(
  file: string,
  io: UnitTestIO,
  opts: UnitTestOptions = {},
): Promise<string[]> {
  const text = new TextDecoder().decode(io.readFile(file));
  const utf = parseUnitTestFile(text, file);
  const evalInterval = utf.evaluation_interval || 60_000;
  const order = new Map<string, number>();
  for (const [i, g] of utf.group_eval_order.entries()) {
    if (order.has(g)) return [`group name repeated in evaluation order: ${g}`];
    order.set(g, i);
  }
  // Rule files: relative to the test file, globs expanded, each parsed once.
  const ruleFiles: string[] = [];
  for (const pattern of utf.rule_files) ruleFiles.push(...io.glob(resolve(dirname(file), pattern)));
  const defs: RuleGroupDef[] = [];
  const loadErrors: string[] = [];
  for (const rf of ruleFiles) {
    let bytes: Uint8Array;
    try {
      bytes = io.readFile(rf);
    } catch (err) {
      loadErrors.push(`${rf}: cannot read the rule file: ${(err as Error).message}`);
      continue;
    }
    const r = parseRuleFile(bytes, rf);
    if (r.ok) defs.push(...r.groups);
    else loadErrors.push(...r.problems.map(formatRuleProblem));
  }
  if (loadErrors.length) return loadErrors;
  if (order.size)
    for (const d of defs)
      if (!order.has(d.name)) return [`group name missing in evaluation order: ${d.name}`];

  const errs: string[] = [];
  for (const tg of utf.tests) errs.push(...(await runTestGroup(tg, evalInterval, defs, order, opts)));
  return errs;
}

async function runTestGroup(
  tg: TestGroup,
  evalInterval: number,
  defs: readonly RuleGroupDef[],
  order: ReadonlyMap<string, number>,
  opts: UnitTestOptions,
): Promise<string[]> {
  const interval = tg.interval || evalInterval;
  const storage = new MemoryStorage();
  for (const is of tg.input_series) {
    let labels: Labels;
    try {
      labels = parseMetric(is.series);
      if (!labels[METRIC_NAME] && !Object.keys(labels).length) throw new Error('no labels');
    } catch (err) {
      return [`input_series ${JSON.stringify(is.series)}: ${(err as Error).message}`];
    }
    let values;
    try {
      values = parseValues(is.values.split(/\s+/).filter(Boolean), `series ${is.series}`);
    } catch (err) {
      return [(err as Error).message];
    }
    values.forEach((v, i) => {
      if (v !== undefined) storage.add(labels, i * interval, v === 'stale' ? STALE_NAN : v);
    });
  }
  const engine = new Engine({ windows: opts.windows, defaultSubqueryStepMs: evalInterval });
  const query = engineQueryFn(engine, storage);
  const groups = defs
    .map(
      (d) =>
        new RuleGroup(d, {
          query,
          append: storageAppendFn(storage),
          defaultIntervalMs: interval,
          evaluateAlerts: true,
          alertContext: { externalLabels: tg.external_labels, externalURL: tg.external_url },
        }),
    )
    .map((g, i) => ({ g, i }))
    .sort((a, b) => (order.get(a.g.name) ?? 0) - (order.get(b.g.name) ?? 0) || a.i - b.i)
    .map((x) => x.g);
  const testName = tg.name ? `    name: ${tg.name},\n` : '';

  const errs: string[] = [];
  for (const a of tg.alert_rule_test)
    if (a.alertname === '') return [`${testName}    alertname can't be empty`];
  const maxt = Math.max(
    0,
    ...tg.alert_rule_test.map((a) => a.eval_time),
    ...tg.promql_expr_test.map((p) => p.eval_time),
  );
  const alertTimes = [...new Set(tg.alert_rule_test.map((a) => a.eval_time))].sort((a, b) => a - b);
  let curr = 0;
  try {
    for (let ts = 0; ts <= maxt; ts += evalInterval) {
      const evalErrs: string[] = [];
      for (const g of groups) {
        await g.evaluate(ts);
        for (const r of g.rules)
          if (r.status.lastError)
            evalErrs.push(`    rule: ${r.name}, time: ${formatGoDuration(ts)}, err: ${r.status.lastError}`);
      }
      if (evalErrs.length) return [...errs, ...evalErrs];
      // Alerts asked for at eval_time in [ts, ts + evalInterval) are compared with this evaluation.
      while (curr < alertTimes.length && ts <= alertTimes[curr]! && alertTimes[curr]! < ts + evalInterval) {
        const t = alertTimes[curr]!;
        for (const tc of tg.alert_rule_test.filter((a) => a.eval_time === t)) {
          const got: AlertLA[] = [];
          for (const g of groups)
            for (const r of g.rules)
              if (r.kind === 'alerting' && r.name === tc.alertname)
                for (const a of r.activeAlerts())
                  if (a.state === 'firing') got.push({ labels: a.labels, annotations: a.annotations });
          const exp: AlertLA[] = tc.exp_alerts.map((e) => ({
            labels: { ...e.exp_labels, alertname: tc.alertname },
            annotations: e.exp_annotations,
          }));
          const byLA = (x: AlertLA, y: AlertLA) =>
            compareLabelSets(x.labels, y.labels) || compareLabelSets(x.annotations, y.annotations);
          got.sort(byLA);
          exp.sort(byLA);
          const equal =
            got.length === exp.length &&
            got.every(
              (x, i) => sameMap(x.labels, exp[i]!.labels) && sameMap(x.annotations, exp[i]!.annotations),
            );
          if (!equal)
            errs.push(
              `${testName}    alertname: ${tc.alertname}, time: ${formatDuration(t)}, \n` +
                `        exp:${indentLines(alertsString(exp), '            ')}, \n` +
                `        got:${indentLines(alertsString(got), '            ')}`,
            );
        }
        curr++;
      }
    }
  } finally {
    for (const g of groups) g.forgetMetrics();
  }

  for (const tc of tg.promql_expr_test) {
    const where = `    expr: ${goQuote(tc.expr)}, time: ${formatDuration(tc.eval_time)}`;
    let got: { labels: Labels; value: number }[];
    try {
      got = (await query(tc.expr, tc.eval_time)).map((s) => ({ labels: s.labels, value: s.value }));
    } catch (err) {
      errs.push(`${where}, err: ${(err as Error).message}`);
      continue;
    }
    const exp: { labels: Labels; value: number }[] = [];
    let bad = false;
    for (const s of tc.exp_samples) {
      try {
        exp.push({ labels: parseMetric(s.labels), value: s.value });
      } catch (err) {
        errs.push(`${where}, err: labels ${goQuote(s.labels)}: ${(err as Error).message}`);
        bad = true;
        break;
      }
    }
    if (bad) continue;
    const byLabels = (a: { labels: Labels }, b: { labels: Labels }) => compareLabelSets(a.labels, b.labels);
    exp.sort(byLabels);
    got.sort(byLabels);
    const equal =
      exp.length === got.length &&
      exp.every(
        (e, i) => labelsKey(e.labels) === labelsKey(got[i]!.labels) && almostEqual(e.value, got[i]!.value),
      );
    if (!equal)
      errs.push(`${where},\n        exp: ${samplesString(exp)}\n        got: ${samplesString(got)}`);
  }
  return errs;
}

/** Formats a ConfigError from a test or rule file the way the runner reports other failures. */
export function describeLoadError(err: unknown): string[] {
  if (err instanceof ConfigError) return err.problems.map(formatProblem);
  return [(err as Error).message];
}

/** File access on the real file system. */
export const fsIO: UnitTestIO = { readFile: (p) => readFileSync(p), glob: expandGlob };
