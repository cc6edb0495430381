/**
 * A small text language for PromQL behaviour tests, modelled on Prometheus' promqltest so it reads familiar:
 *
 *   load 1m
 *       http_requests_total{job="api"} 0+10x10 _ stale 5
 *   eval instant at 5m sum(rate(http_requests_total[5m]))
 *       {} 0.1666
 *   eval range from 0 to 10m step 5m http_requests_total
 *       http_requests_total{job="api"} 0 50 100
 *   eval_fail instant at 0m foo{}
 *       expected_fail_message vector selector must contain at least one non-empty matcher
 *   eval instant at 5m quantile(2, up)
 *       expect_warn quantile value should be between 0 and 1, got 2 (1:10)
 *       {} +Inf
 *   clear
 *
 * Series values: numbers (incl. Inf, NaN, hex), `_` (no sample), `stale` (stale marker), `a+bxN` / `a-bxN`
 * (N+1 values from a in steps of b), `axN` (a repeated N+1 times, so `0x2` is not hex), `_xN` (N missing samples). `eval_ordered`
 * also checks the order of an instant vector. Values compare with a relative tolerance of 1e-6. `expect_warn` and
 * `expect_info` require a warning / info containing the text; `expect_no_warn` requires none. An expected failure
 * message may leave out the `(line:col)` that evaluation errors end with.
 */
import { labelsKey, STALE_NAN, type Labels } from '../../model/labels.ts';
import { parseDuration } from '../../model/duration.ts';
import { MemoryStorage } from '../../store/memory.ts';
import type { Queryable } from '../../store/interface.ts';
import { Engine, type QueryResult } from './engine.ts';
import { ParseError } from './errors.ts';
import { formatValue } from './format.ts';
import { almostEqual } from './mathutil.ts';
import { parseNumber } from './parser.ts';

export { almostEqual };

/**
 * One value of a series line: a number, `'stale'` for a stale marker, or undefined for no sample. The marker is
 * kept symbolic because JS engines may canonicalise NaN payloads stored in plain arrays.
 */
export type SampleValue = number | 'stale' | undefined;

/** A series line: labels and one entry per load step. */
export interface SeriesLine {
  readonly labels: Labels;
  readonly values: SampleValue[];
}

export type TestCommand =
  | {
      readonly kind: 'load';
      readonly line: number;
      readonly intervalMs: number;
      readonly series: SeriesLine[];
    }
  | { readonly kind: 'clear'; readonly line: number }
  | {
      readonly kind: 'eval';
      readonly line: number;
      readonly query: string;
      readonly ordered: boolean;
      readonly fail: boolean;
      readonly failMessage?: string;
      readonly failRegexp?: RegExp;
      /** Texts that must each be contained in one of the result's warnings / infos. */
      readonly expectWarn: string[];
      readonly expectInfo: string[];
      /** `expect_no_warn`: the result must carry no warning. */
      readonly noWarn: boolean;
      /** Instant evaluation at `start`, or a range query when `step` is set. */
      readonly start: number;
      readonly end: number;
      readonly step: number | undefined;
      readonly expected: ExpectedLine[];
    };

/** An expected result line: labels (undefined for a bare scalar) and values. */
export interface ExpectedLine {
  readonly labels: Labels | undefined;
  readonly values: SampleValue[];
  readonly text?: string;
}

/** A syntax error in a test script. */
export class TestScriptError extends Error {
  override name = 'TestScriptError';
}

const NUM = String.raw`[+-]?(?:Inf|inf|NaN|0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)`;
const EXPAND_RE = new RegExp(`^(${NUM})(?:([+-])(${NUM}))?x([0-9]+)$`);
const NUM_RE = new RegExp(`^${NUM}$`);

function parseNum(s: string, where: string): number {
  if (!NUM_RE.test(s)) throw new TestScriptError(`${where}: invalid number ${JSON.stringify(s)}`);
  const neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  const v = parseNumber(body);
  return neg ? -v : v;
}

/** Expands a value list such as `0+10x3 _ stale 1`. */
export function parseValues(tokens: string[], where: string): SampleValue[] {
  const out: SampleValue[] = [];
  for (const tok of tokens) {
    if (tok === '_') {
      out.push(undefined);
      continue;
    }
    if (tok === 'stale') {
      out.push('stale');
      continue;
    }
    const blank = /^_x([0-9]+)$/.exec(tok);
    if (blank) {
      for (let i = 0; i < Number(blank[1]); i++) out.push(undefined);
      continue;
    }
    const m = EXPAND_RE.exec(tok);
    if (m) {
      const a = parseNum(m[1]!, where);
      const b = m[2] ? parseNum(m[3]!, where) * (m[2] === '-' ? -1 : 1) : 0;
      const n = Number(m[4]);
      for (let i = 0; i <= n; i++) out.push(a + b * i);
      continue;
    }
    out.push(parseNum(tok, where));
  }
  return out;
}

/** Parses `name{a="b", c="d"}` (either part optional) from the start of s; returns labels and the rest. */
export function parseSeriesDesc(s: string, where: string): { labels: Labels; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(s);
  if (name) {
    labels.__name__ = name[0];
    i = name[0].length;
  }
  if (s[i] === '{') {
    i++;
    const re = /\s*(?:([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*,?\s*|(\}))/y;
    for (;;) {
      re.lastIndex = i;
      const m = re.exec(s);
      if (!m) throw new TestScriptError(`${where}: invalid series description ${JSON.stringify(s)}`);
      i = re.lastIndex;
      if (m[3]) break;
      labels[m[1]!] = JSON.parse(m[2]!) as string;
    }
  } else if (!name) {
    throw new TestScriptError(`${where}: invalid series description ${JSON.stringify(s)}`);
  }
  return { labels, rest: s.slice(i).trim() };
}

function parseTime(s: string, where: string): number {
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(s)) return Math.round(Number(s) * 1000);
  try {
    return s.startsWith('-') ? -parseDuration(s.slice(1)) : parseDuration(s);
  } catch {
    throw new TestScriptError(`${where}: invalid time ${JSON.stringify(s)}`);
  }
}

/** Parses a test script. Throws TestScriptError with `file:line`. */
export function parseTestScript(text: string, file = 'script'): TestCommand[] {
  const lines = text.split('\n');
  const out: TestCommand[] = [];
  let i = 0;
  const body = (): { text: string; line: number }[] => {
    const res: { text: string; line: number }[] = [];
    while (i < lines.length && /^\s+\S/.test(lines[i]!)) {
      const t = lines[i]!.trim();
      if (!t.startsWith('#')) res.push({ text: t, line: i + 1 });
      i++;
    }
    return res;
  };
  while (i < lines.length) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const where = `${file}:${lineNo}`;
    i++;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (/^\s/.test(raw)) throw new TestScriptError(`${where}: unexpected indented line ${JSON.stringify(t)}`);
    let m: RegExpExecArray | null;
    if ((m = /^load\s+(\S+)$/.exec(t))) {
      const intervalMs = parseDuration(m[1]!);
      const series = body().map((b) => {
        const w = `${file}:${b.line}`;
        const { labels, rest } = parseSeriesDesc(b.text, w);
        return { labels, values: parseValues(rest.split(/\s+/).filter(Boolean), w) };
      });
      out.push({ kind: 'load', line: lineNo, intervalMs, series });
      continue;
    }
    if (t === 'clear') {
      out.push({ kind: 'clear', line: lineNo });
      continue;
    }
    if (
      (m =
        /^(eval|eval_ordered|eval_fail)\s+(?:instant\s+at\s+(\S+)|range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+))\s+(.+)$/.exec(
          t,
        ))
    ) {
      const kind = m[1]!;
      const instant = m[2] !== undefined;
      const start = parseTime(instant ? m[2]! : m[3]!, where);
      const end = instant ? start : parseTime(m[4]!, where);
      const step = instant ? undefined : parseTime(m[5]!, where);
      let failMessage: string | undefined;
      let failRegexp: RegExp | undefined;
      const expectWarn: string[] = [];
      const expectInfo: string[] = [];
      let noWarn = false;
      const expected: ExpectedLine[] = [];
      for (const b of body()) {
        const w = `${file}:${b.line}`;
        let fm: RegExpExecArray | null;
        if ((fm = /^expected_fail_message\s+(.*)$/.exec(b.text))) {
          failMessage = fm[1]!;
        } else if ((fm = /^expected_fail_regexp\s+(.*)$/.exec(b.text))) {
          failRegexp = new RegExp(fm[1]!);
        } else if ((fm = /^expect_warn\s+(.*)$/.exec(b.text))) {
          expectWarn.push(fm[1]!);
        } else if ((fm = /^expect_info\s+(.*)$/.exec(b.text))) {
          expectInfo.push(fm[1]!);
        } else if (b.text === 'expect_no_warn') {
          noWarn = true;
        } else if (/^".*"$/.test(b.text)) {
          expected.push({ labels: undefined, values: [], text: JSON.parse(b.text) as string });
        } else if (/^[a-zA-Z_:{]/.test(b.text) && !/^(Inf|NaN)\b/.test(b.text)) {
          const { labels, rest } = parseSeriesDesc(b.text, w);
          expected.push({ labels, values: parseValues(rest.split(/\s+/).filter(Boolean), w) });
        } else {
          expected.push({ labels: undefined, values: parseValues(b.text.split(/\s+/), w) });
        }
      }
      if (kind !== 'eval_fail' && (failMessage || failRegexp))
        throw new TestScriptError(`${where}: expected_fail_* only allowed with eval_fail`);
      out.push({
        kind: 'eval',
        line: lineNo,
        query: m[6]!,
        ordered: kind === 'eval_ordered',
        fail: kind === 'eval_fail',
        failMessage,
        failRegexp,
        expectWarn,
        expectInfo,
        noWarn,
        start,
        end,
        step,
        expected,
      });
      continue;
    }
    throw new TestScriptError(`${where}: unknown command ${JSON.stringify(t)}`);
  }
  return out;
}

/** Builds a MemoryStorage holding the given loads. */
export function buildStorage(loads: readonly Extract<TestCommand, { kind: 'load' }>[]): MemoryStorage {
  const st = new MemoryStorage();
  for (const l of loads) {
    for (const s of l.series) {
      s.values.forEach((v, i) => {
        if (v !== undefined) st.add(s.labels, i * l.intervalMs, v === 'stale' ? STALE_NAN : v);
      });
    }
  }
  return st;
}

function fmtLabels(l: Labels): string {
  const name = l.__name__ ?? '';
  const rest = Object.keys(l)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`);
  return `${name}{${rest.join(', ')}}`;
}

function fmtVals(v: SampleValue[]): string {
  return v.map((x) => (x === undefined ? '_' : x === 'stale' ? 'stale' : formatValue(x))).join(' ');
}

function sameValues(a: SampleValue[], b: SampleValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x !== 'number' || typeof y !== 'number') {
      if (x !== y) return false;
    } else if (!almostEqual(x, y)) return false;
  }
  return true;
}

/** Runs one eval command against a storage; throws an Error describing any mismatch. */
export async function runEval(
  cmd: Extract<TestCommand, { kind: 'eval' }>,
  storage: Queryable,
  engine: Engine,
): Promise<void> {
  let res: QueryResult;
  try {
    res =
      cmd.step === undefined
        ? await engine.instantQuery(storage, cmd.query, cmd.start)
        : await engine.rangeQuery(storage, cmd.query, cmd.start, cmd.end, cmd.step);
  } catch (err) {
    if (!cmd.fail)
      throw new Error(`unexpected error evaluating ${JSON.stringify(cmd.query)}: ${(err as Error).message}`, {
        cause: err,
      });
    const msg = (err as Error).message;
    const bare = err instanceof ParseError ? msg.replace(/^\d+:\d+: parse error: /, '') : msg;
    // Evaluation errors end in the position of the failing expression, `(1:5)`; a case may leave it out.
    const unplaced = msg.replace(/ \(\d+:\d+\)$/, '');
    if (cmd.failMessage !== undefined && ![msg, bare, unplaced].includes(cmd.failMessage))
      throw new Error(`expected error ${JSON.stringify(cmd.failMessage)}, got ${JSON.stringify(msg)}`);
    if (cmd.failRegexp && !cmd.failRegexp.test(msg))
      throw new Error(`expected error matching ${cmd.failRegexp}, got ${JSON.stringify(msg)}`);
    return;
  }
  if (cmd.fail)
    throw new Error(`expected ${JSON.stringify(cmd.query)} to fail, got ${JSON.stringify(res.result)}`);
  const warnings = res.warnings ?? [];
  const infos = res.infos ?? [];
  for (const w of cmd.expectWarn)
    if (!warnings.some((x) => x.includes(w)))
      throw new Error(`expected a warning containing ${JSON.stringify(w)}, got ${JSON.stringify(warnings)}`);
  for (const w of cmd.expectInfo)
    if (!infos.some((x) => x.includes(w)))
      throw new Error(`expected an info containing ${JSON.stringify(w)}, got ${JSON.stringify(infos)}`);
  if (cmd.noWarn && warnings.length) throw new Error(`expected no warnings, got ${JSON.stringify(warnings)}`);

  if (res.resultType === 'scalar' || res.resultType === 'string') {
    const exp = cmd.expected[0];
    if (cmd.expected.length !== 1 || exp!.labels !== undefined)
      throw new Error(`got ${res.resultType} ${res.result[1]}, expected ${cmd.expected.length} series lines`);
    if (res.resultType === 'string') {
      if (exp!.text !== res.result[1])
        throw new Error(`expected string ${JSON.stringify(exp!.text)}, got ${JSON.stringify(res.result[1])}`);
      return;
    }
    if (!sameValues([Number(parseValues([res.result[1]], 'result')[0])], exp!.values))
      throw new Error(`expected scalar ${fmtVals(exp!.values)}, got ${res.result[1]}`);
    return;
  }
  for (const e of cmd.expected)
    if (e.labels === undefined) throw new Error(`got a ${res.resultType}, but a bare scalar was expected`);
  const actual: { labels: Labels; values: SampleValue[] }[] = [];
  if (res.resultType === 'vector') {
    for (const r of res.result)
      actual.push({ labels: r.metric, values: parseValues([r.value[1]], 'result') });
  } else if (cmd.step === undefined) {
    for (const r of res.result)
      actual.push({
        labels: r.metric,
        values: parseValues(
          r.values.map((p) => p[1]),
          'result',
        ),
      });
  } else {
    const n = Math.floor((cmd.end - cmd.start) / cmd.step) + 1;
    for (const r of res.result) {
      const values: SampleValue[] = new Array<SampleValue>(n).fill(undefined);
      for (const [t, v] of r.values)
        values[Math.round((t * 1000 - cmd.start) / cmd.step)] = parseValues([v], 'result')[0];
      actual.push({ labels: r.metric, values });
    }
  }
  const problems: string[] = [];
  const byKey = new Map(actual.map((a, idx) => [labelsKey(a.labels), { ...a, idx }]));
  if (byKey.size !== actual.length) problems.push('result contains duplicate label sets');
  cmd.expected.forEach((e, idx) => {
    const a = byKey.get(labelsKey(e.labels!));
    if (!a) {
      problems.push(`missing ${fmtLabels(e.labels!)} ${fmtVals(e.values)}`);
      return;
    }
    byKey.delete(labelsKey(e.labels!));
    if (!sameValues(a.values, e.values))
      problems.push(`${fmtLabels(e.labels!)}: expected ${fmtVals(e.values)}, got ${fmtVals(a.values)}`);
    if (cmd.ordered && a.idx !== idx)
      problems.push(`${fmtLabels(e.labels!)}: expected at position ${idx}, got ${a.idx}`);
  });
  for (const a of byKey.values()) problems.push(`unexpected ${fmtLabels(a.labels)} ${fmtVals(a.values)}`);
  if (problems.length) throw new Error(`${JSON.stringify(cmd.query)}:\n  ${problems.join('\n  ')}`);
}

/** One runnable eval of a script, named `file:line`. */
export interface TestCase {
  readonly name: string;
  run(): Promise<void>;
}

/** Builds the storage an eval runs against from the loads before it (a MemoryStorage by default). */
export type StorageBuilder = (loads: readonly Extract<TestCommand, { kind: 'load' }>[]) => Promise<Queryable>;

/**
 * Turns a script into independent cases; each sees the series loaded before it since the last `clear`. Cases
 * after the same loads share one storage, built on first use.
 */
export function testCases(
  text: string,
  file = 'script',
  engine: Engine = new Engine(),
  build: StorageBuilder = async (loads) => buildStorage(loads),
): TestCase[] {
  const cmds = parseTestScript(text, file);
  const cases: TestCase[] = [];
  let loads: Extract<TestCommand, { kind: 'load' }>[] = [];
  /** The storage of the current snapshot of loads, built on first use. */
  let shared: (() => Promise<Queryable>) | undefined;
  for (const c of cmds) {
    if (c.kind === 'clear') {
      loads = [];
      shared = undefined;
    } else if (c.kind === 'load') {
      loads = [...loads, c];
      shared = undefined;
    } else {
      if (!shared) {
        const snapshot = loads;
        let built: Promise<Queryable> | undefined;
        shared = () => (built ??= build(snapshot));
      }
      const get = shared;
      cases.push({ name: `${file}:${c.line}`, run: async () => runEval(c, await get(), engine) });
    }
  }
  return cases;
}

/** Runs a whole script; returns one entry per eval with its error, if any. */
export async function runTestScript(
  text: string,
  file = 'script',
  engine?: Engine,
): Promise<{ name: string; error?: Error }[]> {
  const out: { name: string; error?: Error }[] = [];
  for (const c of testCases(text, file, engine)) {
    try {
      await c.run();
      out.push({ name: c.name });
    } catch (err) {
      out.push({ name: c.name, error: err as Error });
    }
  }
  return out;
}
