/**
 * The evaluator: walks the AST once, evaluating each node over the whole step grid. Selectors call storage
 * once per node; functions, operators and aggregations work on the in-memory columns.
 */
import { dropMetricName, isStaleNaN } from '../../model/labels.ts';
import type { Matcher } from '../../model/matcher.ts';
import type { Queryable, RangeFunction, RangeSelection, SeriesData } from '../../store/interface.ts';
import type { AtModifier, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from './ast.ts';
import { Annotations, positionOf } from './annotations.ts';
import { evalAggregate } from './eval.aggregate.ts';
import { evalBinary } from './eval.binary.ts';
import { evalCall } from './eval.functions.ts';
import { EvalError, QueryCanceledError, QueryTimeoutError, TooManySamplesError } from './errors.ts';
import {
  assertDistinctLabels,
  countPoints,
  makeGrid,
  SeriesAllocator,
  type Grid,
  type MatrixValue,
  type RangeSeries,
  type StepSeries,
  type Value,
  type VectorValue,
} from './value.ts';

/** Per-query settings resolved by the Engine. */
export interface EvalOptions {
  readonly lookbackMs: number;
  /**
   * Prometheus 3 windows exclude their lower bound: `(t - range, t]`, and likewise the lookback. Prometheus 2
   * included it: `[t - range, t]`.
   */
  readonly leftOpen: boolean;
  readonly maxSamples: number;
  /** Absolute Date.now() deadline. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** Start and end of the whole query, for `@ start()` and `@ end()`. */
  readonly queryStart: number;
  readonly queryEnd: number;
  /** Step of subqueries written without one (`[1h:]`). */
  readonly subqueryStepMs: number;
  /** The query text, for positions in errors and annotations. */
  readonly query: string;
  /**
   * Ask the storage for per-step results of range functions and selectors where it offers them
   * (`Querier.selectRange`, `Querier.selectLast`) instead of reading every sample.
   */
  readonly pushdown: boolean;
}

/**
 * Counts samples held in memory. `current` is what live intermediate results hold; a node's children are
 * released once the node has produced its result, approximating Prometheus' peak-samples accounting.
 */
export class SampleTracker {
  current = 0;
  peak = 0;
  /** Samples read to answer the query (Prometheus' totalQueryableSamples). */
  total = 0;
  constructor(readonly max: number) {}

  /** Adds samples that stay in memory; throws TooManySamplesError over the limit. */
  add(n: number): void {
    this.current += n;
    if (this.current > this.peak) this.peak = this.current;
    if (this.current > this.max) throw new TooManySamplesError();
  }

  /** Checks a transient load (e.g. the samples of all windows at one step) on top of what is held. */
  transient(n: number): void {
    const t = this.current + n;
    if (t > this.peak) this.peak = t;
    if (t > this.max) throw new TooManySamplesError();
  }
}

/** Evaluates expressions for one query. Not reusable across queries. */
export class Evaluator {
  private lastYield = Date.now();

  /** Warnings and infos raised while evaluating. */
  readonly annotations: Annotations;

  constructor(
    private readonly q: Queryable,
    readonly opts: EvalOptions,
    readonly samples: SampleTracker,
  ) {
    this.annotations = new Annotations(opts.query);
  }

  /** Throws if the query was aborted or ran past its deadline. Cheap enough to call in step loops. */
  checkInterrupt(): void {
    if (this.opts.signal?.aborted) throw abortError(this.opts.signal);
    if (Date.now() > this.opts.deadline) throw new QueryTimeoutError();
  }

  /** Evaluates a node over a grid, releasing its children's samples afterwards. */
  async eval(e: Expr, g: Grid): Promise<Value> {
    this.checkInterrupt();
    // Long synchronous stretches would keep abort events from ever being delivered.
    if (Date.now() - this.lastYield > 20) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastYield = Date.now();
      this.checkInterrupt();
    }
    const before = this.samples.current;
    let v: Value;
    try {
      v = await this.evalNode(e, g);
    } catch (err) {
      // The innermost expression that fails names the place; outer ones leave it alone.
      if (err instanceof EvalError && !err.positionRange) {
        err.positionRange = e.pos;
        err.message += ` (${positionOf(this.opts.query, e.pos.start)})`;
      }
      throw err;
    }
    this.samples.current = before;
    this.samples.add(countPoints(v));
    return v;
  }

  /** Evaluates an expression that must yield an instant vector. */
  async evalVector(e: Expr, g: Grid): Promise<VectorValue> {
    const v = await this.eval(e, g);
    if (v.kind !== 'vector') throw new EvalError(`expected instant vector, got ${v.kind}`);
    return v;
  }

  /** Evaluates an expression that must yield a scalar, returning its per-step values. */
  async evalScalar(e: Expr, g: Grid): Promise<Float64Array> {
    const v = await this.eval(e, g);
    if (v.kind !== 'scalar') throw new EvalError(`expected scalar, got ${v.kind}`);
    return v.vals;
  }

  private async evalNode(e: Expr, g: Grid): Promise<Value> {
    switch (e.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', vals: new Float64Array(g.n).fill(e.value) };
      case 'StringLiteral':
        return { kind: 'string', value: e.value };
      case 'ParenExpr':
        return this.evalNode(e.expr, g);
      case 'UnaryExpr': {
        const v = await this.eval(e.expr, g);
        if (e.op === '+') return v;
        if (v.kind === 'scalar') return { kind: 'scalar', vals: v.vals.map((x) => -x) };
        if (v.kind !== 'vector') throw new EvalError('unary minus on a non-numeric value');
        const series = v.series.map((s) => ({
          labels: dropMetricName(s.labels),
          vals: s.vals.map((x) => -x),
          has: s.has,
        }));
        return { kind: 'vector', series: assertDistinctLabels(series) };
      }
      case 'VectorSelector':
        return this.evalVectorSelector(e, g, false);
      case 'MatrixSelector':
      case 'SubqueryExpr':
        return this.evalMatrix(e, g);
      case 'BinaryExpr':
        return evalBinary(this, e, g);
      case 'AggregateExpr':
        return evalAggregate(this, e, g);
      case 'Call':
        return evalCall(this, e, g);
    }
  }

  /** Resolves an `@` modifier to milliseconds, or undefined when absent. */
  atMs(at: AtModifier | undefined): number | undefined {
    if (!at) return undefined;
    if (at.kind === 'start') return this.opts.queryStart;
    if (at.kind === 'end') return this.opts.queryEnd;
    return at.timeMs;
  }

  private async select(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    step: number,
  ): Promise<SeriesData[]> {
    return this.fromStorage(() =>
      this.q
        .querier(mint, maxt)
        .select(matchers, { step, signal: this.opts.signal, deadline: this.opts.deadline }),
    );
  }

  /**
   * A storage call, with the query's interruption checked around it: a read that fails because the query was
   * cancelled or ran out of time (ClickHouse stops at the deadline) reports that, not a storage error.
   */
  private async fromStorage<T>(read: () => Promise<T>): Promise<T> {
    this.checkInterrupt();
    let res: T;
    try {
      res = await read();
    } catch (err) {
      this.checkInterrupt();
      throw err;
    }
    this.checkInterrupt();
    return res;
  }

  /**
   * Instant vector selection: at each step the newest sample in `(t - lookback, t]` (after offset and `@`; the
   * lower bound is included with `leftOpen` false),
   * unless that sample is a stale marker. With `withTs`, also records the sample timestamps.
   */
  async evalVectorSelector(vs: VectorSelector, g: Grid, withTs: boolean): Promise<VectorValue> {
    if (g.n === 0) return { kind: 'vector', series: [] };
    const at = this.atMs(vs.at);
    // Timestamps are integer milliseconds, so "after x" is "at or after x + 1".
    const lookback = this.opts.lookbackMs - (this.opts.leftOpen ? 1 : 0);
    const first = (at ?? g.ts[0]!) - vs.offsetMs;
    const last = (at ?? g.ts[g.n - 1]!) - vs.offsetMs;
    if (this.opts.pushdown) {
      const querier = this.q.querier(first - lookback, last);
      if (querier.selectLast) {
        const res = await this.fromStorage(() =>
          querier.selectLast!(vs.matchers, {
            firstEnd: first,
            step: at === undefined ? g.step : 0,
            steps: g.n,
            lookbackMs: lookback,
            signal: this.opts.signal,
            deadline: this.opts.deadline,
          }),
        );
        if (res) {
          let total = 0;
          const out: StepSeries[] = [];
          for (const s of res) {
            for (let i = 0; i < g.n; i++) total += s.has[i]!;
            out.push(
              withTs
                ? { labels: s.labels, vals: s.v, has: s.has, sampleTs: s.sampleT }
                : { labels: s.labels, vals: s.v, has: s.has },
            );
          }
          this.samples.total += total;
          return { kind: 'vector', series: out };
        }
      }
    }
    const data = await this.select(vs.matchers, first - lookback, last, g.step);
    const out: StepSeries[] = [];
    let total = 0;
    const alloc = new SeriesAllocator(g.n);
    for (const s of data) {
      const t = s.t;
      const v = s.v;
      const len = t.length;
      const { vals, has } = alloc.alloc(s.labels);
      const sampleTs = withTs ? new Float64Array(g.n) : undefined;
      let j = -1;
      let cnt = 0;
      for (let i = 0; i < g.n; i++) {
        const r = (at ?? g.ts[i]!) - vs.offsetMs;
        while (j + 1 < len && t[j + 1]! <= r) j++;
        if (j < 0 || t[j]! < r - lookback) continue;
        const x = v[j]!;
        if (x !== x && isStaleNaN(x)) continue;
        vals[i] = x;
        has[i] = 1;
        if (sampleTs) sampleTs[i] = t[j]!;
        cnt++;
      }
      if (cnt === 0) continue;
      total += cnt;
      out.push(sampleTs ? { labels: s.labels, vals, has, sampleTs } : { labels: s.labels, vals, has });
    }
    this.samples.total += total;
    return { kind: 'vector', series: out };
  }

  /**
   * `fn(<matrix selector>)` computed by the storage at every step, or undefined when pushdown is off or the
   * storage declines. Series the storage could not evaluate come back in `raw` as a range vector.
   */
  async pushdownRange(
    fn: RangeFunction,
    e: MatrixSelector,
    g: Grid,
  ): Promise<(Omit<RangeSelection, 'raw'> & { raw: MatrixValue }) | undefined> {
    if (!this.opts.pushdown || g.n === 0) return undefined;
    const vs = e.vector;
    const at = this.atMs(vs.at);
    const lowerOffset = this.opts.leftOpen ? 1 : 0;
    const firstEnd = (at ?? g.ts[0]!) - vs.offsetMs;
    const step = at === undefined ? g.step : 0;
    const lastEnd = firstEnd + (at === undefined ? g.ts[g.n - 1]! - g.ts[0]! : 0);
    const querier = this.q.querier(firstEnd - e.rangeMs + lowerOffset, lastEnd);
    if (!querier.selectRange) return undefined;
    const res = await this.fromStorage(() =>
      querier.selectRange!(fn, vs.matchers, {
        firstEnd,
        step,
        steps: g.n,
        rangeMs: e.rangeMs,
        leftOpen: this.opts.leftOpen,
        signal: this.opts.signal,
        deadline: this.opts.deadline,
      }),
    );
    if (!res) return undefined;
    const ends = new Float64Array(g.n);
    for (let i = 0; i < g.n; i++) ends[i] = firstEnd + i * step;
    return {
      series: res.series,
      samplesPerStep: res.samplesPerStep,
      raw: { kind: 'matrix', series: res.raw.map(stripStale), rangeMs: e.rangeMs, lowerOffset, ends },
    };
  }

  /** Range vector for a matrix selector or subquery: raw samples plus the window end of every step. */
  async evalMatrix(e: MatrixSelector | SubqueryExpr, g: Grid): Promise<MatrixValue> {
    const ends = new Float64Array(g.n);
    const lowerOffset = this.opts.leftOpen ? 1 : 0;
    if (e.type === 'MatrixSelector') {
      const vs = e.vector;
      const at = this.atMs(vs.at);
      for (let i = 0; i < g.n; i++) ends[i] = (at ?? g.ts[i]!) - vs.offsetMs;
      if (g.n === 0) return { kind: 'matrix', series: [], rangeMs: e.rangeMs, lowerOffset, ends };
      const data = await this.select(vs.matchers, ends[0]! - e.rangeMs + lowerOffset, ends[g.n - 1]!, g.step);
      return { kind: 'matrix', series: data.map(stripStale), rangeMs: e.rangeMs, lowerOffset, ends };
    }
    const at = this.atMs(e.at);
    for (let i = 0; i < g.n; i++) ends[i] = (at ?? g.ts[i]!) - e.offsetMs;
    if (g.n === 0) return { kind: 'matrix', series: [], rangeMs: e.rangeMs, lowerOffset, ends };
    const step = e.stepMs || this.opts.subqueryStepMs;
    // Inner steps are aligned to absolute multiples of the step so results do not shift with the query start.
    const from = ends[0]! - e.rangeMs;
    let start = step * Math.trunc(from / step);
    if (start < from + lowerOffset) start += step;
    // Refuse before allocating a grid that could not be answered: one series over it is already more samples
    // than allowed. (Prometheus would walk the steps and fail or time out later; an empty inner result over
    // such a grid is the only answer this changes.)
    if ((ends[g.n - 1]! - start) / step >= this.opts.maxSamples) throw new TooManySamplesError();
    const inner = makeGrid(start, ends[g.n - 1]!, step);
    const v = await this.evalVector(e.expr, inner);
    const series: RangeSeries[] = [];
    for (const s of v.series) {
      let c = 0;
      for (let i = 0; i < inner.n; i++) c += s.has[i]!;
      if (c === 0) continue;
      const t = new Float64Array(c);
      const vals = new Float64Array(c);
      let k = 0;
      for (let i = 0; i < inner.n; i++) {
        if (!s.has[i]) continue;
        t[k] = inner.ts[i]!;
        vals[k++] = s.vals[i]!;
      }
      series.push({ labels: s.labels, t, v: vals });
    }
    return { kind: 'matrix', series, rangeMs: e.rangeMs, lowerOffset, ends };
  }
}

/**
 * The error for an aborted signal: a timeout when the signal came from `AbortSignal.timeout()` (its reason is a
 * TimeoutError), a cancellation otherwise.
 */
export function abortError(signal: AbortSignal): QueryTimeoutError | QueryCanceledError {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === 'TimeoutError'
    ? new QueryTimeoutError()
    : new QueryCanceledError();
}

/** Range vectors never contain stale markers; copies only when there is one to drop. */
function stripStale(s: SeriesData): RangeSeries {
  const v = s.v;
  let stale = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x && isStaleNaN(x)) stale++;
  }
  if (stale === 0) return { labels: s.labels, t: s.t, v: s.v };
  const t = new Float64Array(v.length - stale);
  const nv = new Float64Array(v.length - stale);
  let k = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x && isStaleNaN(x)) continue;
    t[k] = s.t[i]!;
    nv[k++] = x;
  }
  return { labels: s.labels, t, v: nv };
}
