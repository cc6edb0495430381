/** The PromQL engine: instant and range queries against a Queryable, with limits, timeout and cancellation. */
import type { Queryable } from '../../store/interface.ts';
import { EvalError, ParseError, QueryCanceledError, QueryTimeoutError } from './errors.ts';
import { abortError, Evaluator, SampleTracker } from './eval.ts';
import { formatValue } from './format.ts';
import { exprType, parse } from './parser.ts';
import { compareLabels, makeGrid, type Grid, type Value } from './value.ts';

/** Engine limits. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample (default 5m). */
  lookbackDeltaMs?: number;
  /** Most samples a query may hold in memory at once (default 50 million). */
  maxSamples?: number;
  /** Wall-clock limit per query (default 2m). */
  timeoutMs?: number;
  /** Step for subqueries written without one, like `[1h:]` (default 1m, Prometheus' evaluation interval). */
  defaultSubqueryStepMs?: number;
  /**
   * Window semantics. 'prometheus3' (default): range selectors and the lookback exclude their lower bound,
   * `(t - range, t]`. 'prometheus2': both bounds included, `[t - range, t]`, as Prometheus up to 2.x.
   */
  windows?: 'prometheus3' | 'prometheus2';
  /**
   * Let storages that offer it compute range functions over plain selectors, and instant selectors, next to
   * the data (default true). Results are the same either way (docs/storage.md states the precision).
   */
  pushdown?: boolean;
}

/** Per-query options. */
export interface QueryOptions {
  signal?: AbortSignal;
  /** Include `stats` in the result. */
  stats?: boolean;
}

type Point = [number, string];

/** Statistics in the shape of Prometheus' `stats=all` output. */
export interface QueryStats {
  samples: { totalQueryableSamples: number; peakSamples: number };
  timings: {
    evalTotalTime: number;
    resultSortTime: number;
    queryPreparationTime: number;
    innerEvalTime: number;
    execQueueTime: number;
    execTotalTime: number;
  };
}

/**
 * The `data` object of Prometheus' /api/v1/query and /api/v1/query_range responses, plus the annotations that
 * Prometheus 3 returns beside it (`warnings`, `infos`: texts ending in the `(line:col)` they are about).
 */
export type QueryResult = (
  | { resultType: 'vector'; result: { metric: Record<string, string>; value: Point }[] }
  | { resultType: 'matrix'; result: { metric: Record<string, string>; values: Point[] }[] }
  | { resultType: 'scalar'; result: Point }
  | { resultType: 'string'; result: Point }
) & { stats?: QueryStats; warnings?: string[]; infos?: string[] };

const DEFAULTS: Required<EngineOptions> = {
  lookbackDeltaMs: 300_000,
  maxSamples: 50_000_000,
  timeoutMs: 120_000,
  defaultSubqueryStepMs: 60_000,
  windows: 'prometheus3',
  pushdown: true,
};

/** Evaluates PromQL queries. Stateless between queries; safe to share. */
export class Engine {
  private readonly opts: Required<EngineOptions>;

  constructor(opts: EngineOptions = {}) {
    this.opts = {
      ...DEFAULTS,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    };
  }

  /** Evaluates `query` at one instant. Throws ParseError, EvalError, TooManySamplesError, timeout/cancel errors. */
  async instantQuery(
    q: Queryable,
    query: string,
    timeMs: number,
    opts: QueryOptions = {},
  ): Promise<QueryResult> {
    const t = Math.round(timeMs);
    return this.exec(q, query, t, t, 1, opts, true);
  }

  /** Evaluates `query` at `start, start+step, ... <= end`; the result is always a matrix. */
  async rangeQuery(
    q: Queryable,
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: QueryOptions = {},
  ): Promise<QueryResult> {
    const start = Math.round(startMs);
    const end = Math.round(endMs);
    const step = Math.round(stepMs);
    if (!(step > 0))
      throw new EvalError(
        'zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    if (end < start) throw new EvalError('end timestamp must not be before start time');
    return this.exec(q, query, start, end, step, opts, false);
  }

  private async exec(
    q: Queryable,
    query: string,
    start: number,
    end: number,
    step: number,
    opts: QueryOptions,
    instant: boolean,
  ): Promise<QueryResult> {
    const t0 = performance.now();
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const expr = parse(query);
    const type = exprType(expr);
    if (!instant && type !== 'scalar' && type !== 'vector') {
      throw new ParseError(
        `invalid expression type ${JSON.stringify(type === 'matrix' ? 'range vector' : type)} for range query, must be Scalar or instant Vector`,
        expr.pos,
      );
    }
    const t1 = performance.now();
    const samples = new SampleTracker(this.opts.maxSamples);
    const ev = new Evaluator(
      q,
      {
        lookbackMs: this.opts.lookbackDeltaMs,
        leftOpen: this.opts.windows !== 'prometheus2',
        maxSamples: this.opts.maxSamples,
        deadline: Date.now() + this.opts.timeoutMs,
        signal: opts.signal,
        queryStart: start,
        queryEnd: end,
        subqueryStepMs: this.opts.defaultSubqueryStepMs,
        query,
        pushdown: this.opts.pushdown,
      },
      samples,
    );
    const grid = makeGrid(start, end, step);
    let value: Value;
    try {
      value = await ev.eval(expr, grid);
    } catch (err) {
      if (err instanceof QueryTimeoutError || err instanceof QueryCanceledError) throw err;
      if (opts.signal?.aborted) throw abortError(opts.signal);
      throw err;
    }
    const t2 = performance.now();
    const result = instant ? toInstantResult(value, grid) : toRangeResult(value, grid);
    const t3 = performance.now();
    const { warnings, infos } = ev.annotations;
    if (warnings.length) result.warnings = warnings;
    if (infos.length) result.infos = infos;
    if (opts.stats) {
      result.stats = {
        samples: { totalQueryableSamples: samples.total, peakSamples: samples.peak },
        timings: {
          evalTotalTime: (t3 - t1) / 1000,
          resultSortTime: (t3 - t2) / 1000,
          queryPreparationTime: (t1 - t0) / 1000,
          innerEvalTime: (t2 - t1) / 1000,
          execQueueTime: 0,
          execTotalTime: (t3 - t0) / 1000,
        },
      };
    }
    return result;
  }
}

function toInstantResult(v: Value, g: Grid): QueryResult {
  const ts = g.ts[0]! / 1000;
  switch (v.kind) {
    case 'scalar':
      return { resultType: 'scalar', result: [ts, formatValue(v.vals[0]!)] };
    case 'string':
      return { resultType: 'string', result: [ts, v.value] };
    case 'vector':
      return {
        resultType: 'vector',
        result: v.series
          .filter((s) => s.has[0])
          .map((s) => ({ metric: { ...s.labels }, value: [ts, formatValue(s.vals[0]!)] as Point })),
      };
    case 'matrix': {
      const end = v.ends[0]!;
      const result: { metric: Record<string, string>; values: Point[] }[] = [];
      for (const s of v.series) {
        const values: Point[] = [];
        for (let k = 0; k < s.t.length; k++) {
          const t = s.t[k]!;
          if (t >= end - v.rangeMs + v.lowerOffset && t <= end) values.push([t / 1000, formatValue(s.v[k]!)]);
        }
        if (values.length) result.push({ metric: { ...s.labels }, values });
      }
      return { resultType: 'matrix', result };
    }
  }
}

function toRangeResult(v: Value, g: Grid): QueryResult {
  if (v.kind === 'scalar') {
    const values: Point[] = [];
    for (let i = 0; i < g.n; i++) values.push([g.ts[i]! / 1000, formatValue(v.vals[i]!)]);
    return { resultType: 'matrix', result: [{ metric: {}, values }] };
  }
  if (v.kind !== 'vector') throw new EvalError(`invalid expression type for range query: ${v.kind}`);
  const result: { metric: Record<string, string>; values: Point[] }[] = [];
  const secs = Array.from(g.ts, (t) => t / 1000);
  for (const s of v.series) {
    const values: Point[] = [];
    for (let i = 0; i < g.n; i++) if (s.has[i]) values.push([secs[i]!, formatValue(s.vals[i]!)]);
    if (values.length) result.push({ metric: { ...s.labels }, values });
  }
  result.sort((a, b) => compareLabels(a.metric, b.metric));
  return { resultType: 'matrix', result };
}
