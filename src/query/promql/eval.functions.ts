/** PromQL functions: range-vector functions run a kernel per series over moving windows; others map values. */
import { dropMetricName, isValidLabelName, labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import { PUSHDOWN_FUNCTIONS, type RangeFunction } from '../../store/interface.ts';
import { extrapolatedRate as extrapolate } from '../../store/rangefn.ts';
import type { Call, Expr } from './ast.ts';
import { EvalError } from './errors.ts';
import type { Evaluator } from './eval.ts';
import { warnInvalidQuantile } from './annotations.ts';
import { goQuote } from './format.ts';
import { histogramFraction, histogramQuantile, type HistogramReport } from './histogram.ts';
import { kahanInc, quantile } from './mathutil.ts';
import {
  assertDistinctLabels,
  compareLabels,
  mergeSameLabels,
  newSeries,
  SeriesAllocator,
  type Grid,
  type MatrixValue,
  type RangeSeries,
  type StepSeries,
  type Value,
  type VectorValue,
} from './value.ts';

/**
 * Computes a function value from the samples `t[lo..hi)`, `v[lo..hi)` of one window (never empty) at step `i`
 * whose window ends at `end`. Returns undefined for "no value".
 */
type Kernel = (
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  i: number,
  end: number,
) => number | undefined;

/**
 * Runs a kernel over every series and step of a range vector. `perStep` may carry the samples per step of series
 * evaluated elsewhere (pushdown), so that sample accounting covers both.
 */
function rangeApply(
  ev: Evaluator,
  m: MatrixValue,
  g: Grid,
  kernel: Kernel,
  keepName: boolean,
  perStep = new Float64Array(g.n),
): StepSeries[] {
  const n = g.n;
  const out: StepSeries[] = [];
  const range = m.rangeMs - m.lowerOffset;
  const ends = m.ends;
  const alloc = new SeriesAllocator(n);
  for (const s of m.series) {
    ev.checkInterrupt();
    const t = s.t;
    const v = s.v;
    const len = t.length;
    let lo = 0;
    let hi = 0;
    let o: StepSeries | undefined;
    for (let i = 0; i < n; i++) {
      const end = ends[i]!;
      while (hi < len && t[hi]! <= end) hi++;
      while (lo < hi && t[lo]! < end - range) lo++;
      if (lo > hi) lo = hi;
      const cnt = hi - lo;
      if (cnt === 0) continue;
      perStep[i] = perStep[i]! + cnt;
      const r = kernel(t, v, lo, hi, i, end);
      if (r === undefined) continue;
      if (!o) o = alloc.alloc(keepName ? s.labels : dropMetricName(s.labels));
      o.vals[i] = r;
      o.has[i] = 1;
    }
    if (o) out.push(o);
  }
  let peak = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += perStep[i]!;
    if (perStep[i]! > peak) peak = perStep[i]!;
  }
  ev.samples.total += total;
  ev.samples.transient(peak);
  return keepName || oneMetricName(m.series) ? out : assertDistinctLabels(out);
}

/**
 * Whether every series has the same metric name (or none has one): series of a range vector have distinct label
 * sets, so dropping a name they share cannot make two of them equal, and the check per label set can be skipped.
 */
function oneMetricName(series: readonly RangeSeries[]): boolean {
  if (series.length === 0) return true;
  const name = series[0]!.labels[METRIC_NAME];
  for (const s of series) if (s.labels[METRIC_NAME] !== name) return false;
  return true;
}

/** rate, increase and delta with Prometheus' extrapolation towards the window boundaries. */
function extrapolatedRate(isCounter: boolean, isRate: boolean, rangeMs: number, legacy: boolean): Kernel {
  // Per series, a running count of counter resets lets windows without one skip the correction loop.
  let resetsOf: Float64Array | undefined;
  let resets = new Int32Array(0);
  return (t, v, lo, hi, _i, end) => {
    const cnt = hi - lo;
    if (cnt < 2) return undefined;
    const firstT = t[lo]!;
    const lastT = t[hi - 1]!;
    const firstV = v[lo]!;
    let result = v[hi - 1]! - firstV;
    if (isCounter && resetsOf !== v) {
      resetsOf = v;
      resets = new Int32Array(v.length);
      for (let k = 1; k < v.length; k++) resets[k] = resets[k - 1]! + (v[k]! < v[k - 1]! ? 1 : 0);
    }
    if (isCounter && resets[hi - 1] !== resets[lo]) {
      let last = 0;
      for (let k = lo; k < hi; k++) {
        const x = v[k]!;
        if (x < last) result += last;
        last = x;
      }
    }
    return extrapolate(result, cnt, firstT, lastT, firstV, end, rangeMs, isCounter, isRate, legacy);
  };
}

function instantValue(isRate: boolean): Kernel {
  return (t, v, lo, hi) => {
    if (hi - lo < 2) return undefined;
    const last = v[hi - 1]!;
    const prev = v[hi - 2]!;
    const interval = t[hi - 1]! - t[hi - 2]!;
    if (interval === 0) return undefined;
    const result = isRate && last < prev ? last : last - prev;
    return isRate ? result / (interval / 1000) : result;
  };
}

/** Least-squares fit of v over t (seconds relative to `interceptT`): [slope, intercept]. */
function linearRegression(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  interceptT: number,
): [number, number] {
  let n = 0;
  let sumX = 0,
    cX = 0,
    sumY = 0,
    cY = 0,
    sumXY = 0,
    cXY = 0,
    sumX2 = 0,
    cX2 = 0;
  const initY = v[lo]!;
  let constY = true;
  for (let k = lo; k < hi; k++) {
    const y = v[k]!;
    if (constY && k > lo && y !== initY) constY = false;
    n++;
    const x = (t[k]! - interceptT) / 1000;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(y, sumY, cY);
    [sumXY, cXY] = kahanInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

function sumWindow(v: Float64Array, lo: number, hi: number): number {
  // Kahan-Neumaier summation, inlined: this runs once per sample of every window.
  let sum = 0;
  let c = 0;
  for (let k = lo; k < hi; k++) {
    const x = v[k]!;
    const t = sum + x;
    if (t === Infinity || t === -Infinity) c = 0;
    else if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
    else c += x - t + sum;
    sum = t;
  }
  return Number.isFinite(sum) ? sum + c : sum;
}

function avgWindow(v: Float64Array, lo: number, hi: number): number {
  const n = hi - lo;
  if (n === 1) return v[lo]!;
  let sum = v[lo]!;
  let c = 0;
  let k = lo + 1;
  for (; k < hi; k++) {
    const x = v[k]!;
    const t = sum + x;
    if (t === Infinity || t === -Infinity) break;
    if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
    else c += x - t + sum;
    sum = t;
  }
  if (k === hi) return (sum + c) / n;
  // The sum would overflow: continue with an incremental mean from here on.
  let mean = sum / (k - lo);
  c /= k - lo;
  for (; k < hi; k++) {
    const x = v[k]!;
    const cnt = k - lo + 1;
    if (mean === Infinity || mean === -Infinity) {
      if ((x === Infinity || x === -Infinity) && mean > 0 === x > 0) continue;
      if (Number.isFinite(x)) continue;
    }
    [mean, c] = kahanInc(x / cnt - (mean + c) / cnt, mean, c);
  }
  return Number.isFinite(mean) ? mean + c : mean;
}

function varianceWindow(v: Float64Array, lo: number, hi: number): number {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  for (let k = lo; k < hi; k++) {
    const x = v[k]!;
    count++;
    const d = x - mean;
    mean += d / count;
    m2 += d * (x - mean);
  }
  return m2 / count;
}

function windowValues(v: Float64Array, lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = lo; k < hi; k++) out.push(v[k]!);
  return out;
}

/** Evaluates the range-vector argument of a function (a matrix selector or subquery). */
async function matrixArg(ev: Evaluator, e: Expr, g: Grid): Promise<MatrixValue> {
  let x = e;
  while (x.type === 'ParenExpr') x = x.expr;
  if (x.type !== 'MatrixSelector' && x.type !== 'SubqueryExpr')
    throw new EvalError('expected a range vector argument');
  return ev.evalMatrix(x, g);
}

const MATH: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sqrt: Math.sqrt,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
  deg: (x) => (x * 180) / Math.PI,
  rad: (x) => (x * Math.PI) / 180,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
};

const DATE: Record<string, (d: Date) => number> = {
  minute: (d) => d.getUTCMinutes(),
  hour: (d) => d.getUTCHours(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_year: (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Applies fn to every present value, dropping the metric name. `fn` returning undefined removes the point. */
function mapVector(
  v: VectorValue,
  g: Grid,
  fn: (x: number, i: number) => number | undefined,
  keepName = false,
): VectorValue {
  const out: StepSeries[] = [];
  const alloc = new SeriesAllocator(g.n);
  for (const s of v.series) {
    const o = alloc.alloc(keepName ? s.labels : dropMetricName(s.labels));
    let any = false;
    for (let i = 0; i < g.n; i++) {
      if (!s.has[i]) continue;
      const r = fn(s.vals[i]!, i);
      if (r === undefined) continue;
      o.vals[i] = r;
      o.has[i] = 1;
      any = true;
    }
    if (any) out.push(o);
  }
  return { kind: 'vector', series: keepName ? out : mergeSameLabels(out) };
}

/** Labels for absent()/absent_over_time(): the equality matchers of a selector argument. */
function absentLabels(arg: Expr): Labels {
  let x = arg;
  while (x.type === 'ParenExpr') x = x.expr;
  const ms = x.type === 'VectorSelector' ? x.matchers : x.type === 'MatrixSelector' ? x.vector.matchers : [];
  const out: Record<string, string> = {};
  // A label constrained twice (`job="a", job="b"`) is ambiguous and left out, as Prometheus does.
  const seen = new Set<string>();
  for (const m of ms) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !seen.has(m.name)) {
      out[m.name] = m.value;
      seen.add(m.name);
    } else {
      delete out[m.name];
    }
  }
  for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
  return out;
}

/** Go regexp template expansion: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
function expandTemplate(tmpl: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < tmpl.length; i++) {
    const c = tmpl[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    if (tmpl[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let next = i + 1;
    if (tmpl[i + 1] === '{') {
      const close = tmpl.indexOf('}', i + 2);
      const inner = close < 0 ? '' : tmpl.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        next = close + 1;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(tmpl.slice(i + 1));
      if (mm) {
        name = mm[0];
        next = i + 1 + name.length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    // Like Go, `$1x` names a group "1x" (not group 1 then "x"); unknown names expand to nothing.
    out += /^[0-9]+$/.test(name) ? (m[Number(name)] ?? '') : (m.groups?.[name] ?? '');
    i = next - 1;
  }
  return out;
}

function withLabel(labels: Labels, name: string, value: string): Labels {
  const out: Record<string, string> = { ...labels };
  if (value === '') delete out[name];
  else out[name] = value;
  return out;
}

/** Natural order: digit runs compare by numeric value (`a2` < `a10`), everything else by code unit. */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a[i]!;
    const cb = b[j]!;
    if (ca >= '0' && ca <= '9' && cb >= '0' && cb <= '9') {
      let ei = i;
      let ej = j;
      while (ei < a.length && a[ei]! >= '0' && a[ei]! <= '9') ei++;
      while (ej < b.length && b[ej]! >= '0' && b[ej]! <= '9') ej++;
      const na = a.slice(i, ei).replace(/^0+(?=.)/, '');
      const nb = b.slice(j, ej).replace(/^0+(?=.)/, '');
      if (na.length !== nb.length) return na.length - nb.length;
      if (na !== nb) return na < nb ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

/** String arguments are literals (the parser enforces the type; only literals have it). */
function stringArg(e: Expr): string {
  let x = e;
  while (x.type === 'ParenExpr') x = x.expr;
  if (x.type !== 'StringLiteral') throw new EvalError('expected a string literal argument');
  return x.value;
}

function sortByValue(v: VectorValue, g: Grid, desc: boolean): VectorValue {
  // Ordering only means something for instant queries; range results are sorted by labels at the end.
  if (g.n !== 1) return v;
  const series = [...v.series].sort((a, b) => {
    const x = a.vals[0]!;
    const y = b.vals[0]!;
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
    if (Number.isNaN(y)) return -1;
    return desc ? y - x || 0 : x - y || 0;
  });
  return { kind: 'vector', series };
}

/** Evaluates a function call. */
export async function evalCall(ev: Evaluator, e: Call, g: Grid): Promise<Value> {
  const f = e.func;
  const a = e.args;
  const n = g.n;
  const mathFn = MATH[f];
  if (mathFn) return mapVector(await ev.evalVector(a[0]!, g), g, mathFn);
  const dateFn = DATE[f];
  if (dateFn) {
    let v: VectorValue;
    if (a.length === 0) {
      const s = newSeries({}, n);
      for (let i = 0; i < n; i++) {
        s.vals[i] = g.ts[i]! / 1000;
        s.has[i] = 1;
      }
      v = { kind: 'vector', series: n ? [s] : [] };
    } else {
      v = await ev.evalVector(a[0]!, g);
    }
    return mapVector(v, g, (x) => (Number.isFinite(x) ? dateFn(new Date(Math.trunc(x) * 1000)) : NaN));
  }
  switch (f) {
    case 'time':
      return { kind: 'scalar', vals: g.ts.map((t) => t / 1000) };
    case 'pi':
      return { kind: 'scalar', vals: new Float64Array(n).fill(Math.PI) };
    case 'vector': {
      const vals = await ev.evalScalar(a[0]!, g);
      return {
        kind: 'vector',
        series: n ? [{ labels: {}, vals: Float64Array.from(vals), has: new Uint8Array(n).fill(1) }] : [],
      };
    }
    case 'scalar': {
      const v = await ev.evalVector(a[0]!, g);
      const vals = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let cnt = 0;
        let val = NaN;
        for (const s of v.series) {
          if (!s.has[i]) continue;
          cnt++;
          val = s.vals[i]!;
        }
        vals[i] = cnt === 1 ? val : NaN;
      }
      return { kind: 'scalar', vals };
    }
    case 'timestamp': {
      let arg = a[0]!;
      while (arg.type === 'ParenExpr') arg = arg.expr;
      if (arg.type === 'VectorSelector') {
        const v = await ev.evalVectorSelector(arg, g, true);
        const out: StepSeries[] = v.series.map((s) => ({
          labels: dropMetricName(s.labels),
          vals: s.sampleTs!.map((t) => t / 1000),
          has: s.has,
        }));
        return { kind: 'vector', series: mergeSameLabels(out) };
      }
      return mapVector(await ev.evalVector(arg, g), g, (_x, i) => g.ts[i]! / 1000);
    }
    case 'absent': {
      const v = await ev.evalVector(a[0]!, g);
      const o = newSeries(absentLabels(a[0]!), n);
      let any = false;
      for (let i = 0; i < n; i++) {
        if (v.series.some((s) => s.has[i])) continue;
        o.vals[i] = 1;
        o.has[i] = 1;
        any = true;
      }
      return { kind: 'vector', series: any ? [o] : [] };
    }
    case 'absent_over_time': {
      const m = await matrixArg(ev, a[0]!, g);
      const present = new Uint8Array(n);
      for (const s of rangeApply(ev, m, g, () => 1, false))
        for (let i = 0; i < n; i++) present[i] = present[i]! | s.has[i]!;
      const o = newSeries(absentLabels(a[0]!), n);
      let any = false;
      for (let i = 0; i < n; i++) {
        if (present[i]) continue;
        o.vals[i] = 1;
        o.has[i] = 1;
        any = true;
      }
      return { kind: 'vector', series: any ? [o] : [] };
    }
    case 'round': {
      const v = await ev.evalVector(a[0]!, g);
      const to = a.length > 1 ? await ev.evalScalar(a[1]!, g) : new Float64Array(n).fill(1);
      return mapVector(v, g, (x, i) => {
        // Dividing by the inverse keeps results like 0.1 exact, as Prometheus does.
        const inv = 1 / to[i]!;
        return Math.floor(x * inv + 0.5) / inv;
      });
    }
    case 'clamp':
    case 'clamp_min':
    case 'clamp_max': {
      const v = await ev.evalVector(a[0]!, g);
      const p1 = await ev.evalScalar(a[1]!, g);
      const p2 = f === 'clamp' ? await ev.evalScalar(a[2]!, g) : undefined;
      return mapVector(v, g, (x, i) => {
        if (f === 'clamp_min') return Math.max(p1[i]!, x);
        if (f === 'clamp_max') return Math.min(p1[i]!, x);
        const lo = p1[i]!;
        const hi = p2![i]!;
        if (hi < lo) return undefined;
        return Math.max(lo, Math.min(hi, x));
      });
    }
    case 'sort':
    case 'sort_desc':
      return sortByValue(await ev.evalVector(a[0]!, g), g, f === 'sort_desc');
    case 'sort_by_label':
    case 'sort_by_label_desc': {
      const v = await ev.evalVector(a[0]!, g);
      if (n !== 1) return v;
      const names = a.slice(1).map(stringArg);
      const dir = f === 'sort_by_label_desc' ? -1 : 1;
      const series = [...v.series].sort((x, y) => {
        for (const l of names) {
          const c = naturalCompare(x.labels[l] ?? '', y.labels[l] ?? '');
          if (c !== 0) return c * dir;
        }
        // Equal on the requested labels: fall back to the whole label set for a stable, predictable order.
        return compareLabels(x.labels, y.labels) * dir;
      });
      return { kind: 'vector', series };
    }
    case 'label_replace': {
      const v = await ev.evalVector(a[0]!, g);
      const dst = stringArg(a[1]!);
      const repl = stringArg(a[2]!);
      const src = stringArg(a[3]!);
      const reSrc = stringArg(a[4]!);
      let re: RegExp;
      try {
        // Go's `(?P<name>` is spelled `(?<name>` in JavaScript.
        re = new RegExp(`^(?:${reSrc.replace(/\(\?P</g, '(?<')})$`, 's');
      } catch (err) {
        throw new EvalError(`invalid regular expression in label_replace(): ${reSrc}`, { cause: err });
      }
      if (!isValidLabelName(dst))
        throw new EvalError(`invalid destination label name in label_replace(): ${dst}`);
      const series = v.series.map((s) => {
        const m = re.exec(s.labels[src] ?? '');
        if (!m) return s;
        return { ...s, labels: withLabel(s.labels, dst, expandTemplate(repl, m)) };
      });
      return { kind: 'vector', series: mergeSameLabels(series) };
    }
    case 'label_join': {
      const v = await ev.evalVector(a[0]!, g);
      const dst = stringArg(a[1]!);
      const sep = stringArg(a[2]!);
      const srcs = a.slice(3).map(stringArg);
      if (!isValidLabelName(dst))
        throw new EvalError(`invalid destination label name in label_join(): ${dst}`);
      for (const s of srcs)
        if (!isValidLabelName(s)) throw new EvalError(`invalid source label name in label_join(): ${s}`);
      const series = v.series.map((s) => ({
        ...s,
        labels: withLabel(s.labels, dst, srcs.map((l) => s.labels[l] ?? '').join(sep)),
      }));
      return { kind: 'vector', series: mergeSameLabels(series) };
    }
    case 'histogram_quantile': {
      const q = await ev.evalScalar(a[0]!, g);
      const v = await ev.evalVector(a[1]!, g);
      warnInvalidQuantile(ev.annotations, q, a[0]!);
      return { kind: 'vector', series: histogramQuantile(q, v, g, histogramReport(ev, a[1]!)) };
    }
    case 'histogram_fraction': {
      const lower = await ev.evalScalar(a[0]!, g);
      const upper = await ev.evalScalar(a[1]!, g);
      const v = await ev.evalVector(a[2]!, g);
      return { kind: 'vector', series: histogramFraction(lower, upper, v, g, histogramReport(ev, a[2]!)) };
    }
    case 'histogram_count':
    case 'histogram_sum':
    case 'histogram_avg':
    case 'histogram_stddev':
    case 'histogram_stdvar':
      // These read native histogram samples only; float samples (all Vigil stores) are ignored, as in
      // Prometheus. The argument is still evaluated so its errors surface.
      await ev.evalVector(a[0]!, g);
      return { kind: 'vector', series: [] };
  }
  return evalRangeFunction(ev, e, g);
}

/** Annotations raised by the classic histogram functions, at the bucket argument. */
function histogramReport(ev: Evaluator, at: Expr): HistogramReport {
  const forName = (name: string) => (name ? ` for metric name ${goQuote(name)}` : '');
  return {
    badBucketLabel: (name, le) =>
      ev.annotations.warn(
        `bucket label "le" is missing or has a malformed value of ${goQuote(le)}${forName(name)}`,
        at.pos,
      ),
    forcedMonotonicity: (name) =>
      ev.annotations.info(
        `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)${forName(name)}`,
        at.pos,
      ),
  };
}

const COUNTER_SUFFIXES = ['_total', '_sum', '_count', '_bucket'];

/**
 * Prometheus' info for rate()/increase() over a selected metric whose name does not look like a counter;
 * `selected` are the label sets of the series that had samples.
 */
function infoPossibleNonCounter(ev: Evaluator, arg: Expr, selected: Iterable<Labels>): void {
  let x = arg;
  while (x.type === 'ParenExpr') x = x.expr;
  if (x.type !== 'MatrixSelector') return;
  for (const labels of selected) {
    const name = labels[METRIC_NAME];
    if (!name || COUNTER_SUFFIXES.some((suffix) => name.endsWith(suffix))) continue;
    ev.annotations.info(
      `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(name)}`,
      arg.pos,
    );
  }
}

async function evalRangeFunction(ev: Evaluator, e: Call, g: Grid): Promise<Value> {
  const f = e.func;
  const a = e.args;
  let k: Kernel;
  let keepName = false;
  let m: MatrixValue;
  switch (f) {
    case 'quantile_over_time': {
      const q = await ev.evalScalar(a[0]!, g);
      m = await matrixArg(ev, a[1]!, g);
      let warned = false;
      k = (_t, v, lo, hi, i) => {
        const x = q[i]!;
        if (!warned && (Number.isNaN(x) || x < 0 || x > 1)) {
          warnInvalidQuantile(ev.annotations, q.subarray(i, i + 1), a[0]!);
          warned = true;
        }
        return quantile(x, windowValues(v, lo, hi));
      };
      break;
    }
    case 'predict_linear': {
      m = await matrixArg(ev, a[0]!, g);
      const d = await ev.evalScalar(a[1]!, g);
      k = (t, v, lo, hi, i) => {
        if (hi - lo < 2) return undefined;
        const [slope, intercept] = linearRegression(t, v, lo, hi, g.ts[i]!);
        return slope * d[i]! + intercept;
      };
      break;
    }
    case 'double_exponential_smoothing':
    case 'holt_winters': {
      m = await matrixArg(ev, a[0]!, g);
      const sfs = await ev.evalScalar(a[1]!, g);
      const tfs = await ev.evalScalar(a[2]!, g);
      k = (_t, v, lo, hi, i) => {
        const sf = sfs[i]!;
        const tf = tfs[i]!;
        if (!(sf > 0 && sf < 1))
          throw new EvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
        if (!(tf > 0 && tf < 1))
          throw new EvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
        if (hi - lo < 2) return undefined;
        let s0 = 0;
        let s1 = v[lo]!;
        let b = v[lo + 1]! - v[lo]!;
        for (let j = 1; j < hi - lo; j++) {
          const x = sf * v[lo + j]!;
          if (j > 1) b = tf * (s1 - s0) + (1 - tf) * b;
          const y = (1 - sf) * (s1 + b);
          s0 = s1;
          s1 = x + y;
        }
        return s1;
      };
      break;
    }
    default: {
      // Selecting a sample does not change what the value means.
      keepName = f === 'last_over_time' || f === 'first_over_time';
      const pushed = await pushdownRange(ev, f, a[0]!, g, keepName);
      if (pushed) return pushed;
      m = await matrixArg(ev, a[0]!, g);
      if (f === 'rate' || f === 'increase')
        infoPossibleNonCounter(
          ev,
          a[0]!,
          m.series.filter((s) => s.t.length > 0).map((s) => s.labels),
        );
      k = simpleKernel(f, m.rangeMs, !ev.opts.leftOpen);
    }
  }
  return { kind: 'vector', series: rangeApply(ev, m, g, k, keepName) };
}

const PUSHDOWN = new Set<string>(PUSHDOWN_FUNCTIONS);

/**
 * A range function of a plain matrix selector, computed by the storage (Querier.selectRange) when it offers
 * to; series it hands back raw are evaluated here. Undefined when the storage declines.
 */
async function pushdownRange(
  ev: Evaluator,
  f: string,
  arg: Expr,
  g: Grid,
  keepName: boolean,
): Promise<VectorValue | undefined> {
  let x = arg;
  while (x.type === 'ParenExpr') x = x.expr;
  if (x.type !== 'MatrixSelector' || !PUSHDOWN.has(f)) return undefined;
  const res = await ev.pushdownRange(f as RangeFunction, x, g);
  if (!res) return undefined;
  if (f === 'rate' || f === 'increase')
    infoPossibleNonCounter(ev, arg, [
      ...res.series.map((s) => s.labels),
      ...res.raw.series.filter((s) => s.t.length > 0).map((s) => s.labels),
    ]);
  const perStep = Float64Array.from(res.samplesPerStep);
  const out: { key: string; s: StepSeries }[] = [];
  for (const s of res.series) {
    let any = false;
    for (let i = 0; i < g.n; i++) if (s.has[i]) any = true;
    if (!any) continue;
    const labels = keepName ? s.labels : dropMetricName(s.labels);
    out.push({ key: labelsKey(s.labels), s: { labels, vals: s.v, has: s.has } });
  }
  // rangeApply adds the raw series' samples to perStep, then accounts for all of them at once.
  const rest = rangeApply(ev, res.raw, g, simpleKernel(f, x.rangeMs, !ev.opts.leftOpen), true, perStep);
  if (rest.length) {
    const rawKeys = new Map(res.raw.series.map((s) => [s.labels, labelsKey(s.labels)]));
    for (const s of rest)
      out.push({
        key: rawKeys.get(s.labels)!,
        s: keepName ? s : { ...s, labels: dropMetricName(s.labels) },
      });
    out.sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0));
  }
  const series = out.map((o) => o.s);
  return { kind: 'vector', series: keepName ? series : assertDistinctLabels(series) };
}

function simpleKernel(f: string, rangeMs: number, legacy: boolean): Kernel {
  switch (f) {
    case 'rate':
      return extrapolatedRate(true, true, rangeMs, legacy);
    case 'increase':
      return extrapolatedRate(true, false, rangeMs, legacy);
    case 'delta':
      return extrapolatedRate(false, false, rangeMs, legacy);
    case 'irate':
      return instantValue(true);
    case 'idelta':
      return instantValue(false);
    case 'deriv':
      return (t, v, lo, hi) => (hi - lo < 2 ? undefined : linearRegression(t, v, lo, hi, t[lo]!)[0]);
    case 'changes':
      return (_t, v, lo, hi) => {
        let c = 0;
        for (let k = lo + 1; k < hi; k++) {
          const cur = v[k]!;
          const prev = v[k - 1]!;
          if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) c++;
        }
        return c;
      };
    case 'resets':
      return (_t, v, lo, hi) => {
        let c = 0;
        for (let k = lo + 1; k < hi; k++) if (v[k]! < v[k - 1]!) c++;
        return c;
      };
    case 'avg_over_time':
      return (_t, v, lo, hi) => avgWindow(v, lo, hi);
    case 'sum_over_time':
      return (_t, v, lo, hi) => sumWindow(v, lo, hi);
    case 'count_over_time':
      return (_t, _v, lo, hi) => hi - lo;
    case 'min_over_time':
    case 'max_over_time': {
      const isMax = f === 'max_over_time';
      return (_t, v, lo, hi) => {
        let r = v[lo]!;
        for (let k = lo + 1; k < hi; k++) {
          const x = v[k]!;
          if ((isMax ? x > r : x < r) || Number.isNaN(r)) r = x;
        }
        return r;
      };
    }
    case 'stddev_over_time':
      return (_t, v, lo, hi) => Math.sqrt(varianceWindow(v, lo, hi));
    case 'stdvar_over_time':
      return (_t, v, lo, hi) => varianceWindow(v, lo, hi);
    case 'last_over_time':
      return (_t, v, _lo, hi) => v[hi - 1]!;
    case 'first_over_time':
      return (_t, v, lo) => v[lo]!;
    case 'ts_of_last_over_time':
      return (t, _v, _lo, hi) => t[hi - 1]! / 1000;
    case 'ts_of_first_over_time':
      return (t, _v, lo) => t[lo]! / 1000;
    case 'ts_of_min_over_time':
    case 'ts_of_max_over_time': {
      // The timestamp of the last sample holding the extreme value; NaN only counts when all values are NaN.
      const isMax = f === 'ts_of_max_over_time';
      return (t, v, lo, hi) => {
        let r = v[lo]!;
        let at = t[lo]!;
        for (let k = lo + 1; k < hi; k++) {
          const x = v[k]!;
          if ((isMax ? x >= r : x <= r) || Number.isNaN(r)) {
            r = x;
            at = t[k]!;
          }
        }
        return at / 1000;
      };
    }
    case 'present_over_time':
      return () => 1;
    case 'mad_over_time':
      return (_t, v, lo, hi) => {
        const vals = windowValues(v, lo, hi);
        const med = quantile(0.5, vals);
        return quantile(
          0.5,
          vals.map((x) => Math.abs(x - med)),
        );
      };
  }
  throw new EvalError(`internal error: no range evaluator for function ${JSON.stringify(f)}`);
}
