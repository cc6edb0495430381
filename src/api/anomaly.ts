/**
 * `GET|POST /api/vigil/v1/anomaly/band`: a PromQL range query scored by the streaming anomaly detector, for
 * charts that draw the expected band and mark anomalous points (docs/anomaly.md, "Anomaly bands").
 *
 * Each series of the query goes through a fresh AnomalyDetector in time order: first a warm-up over the time
 * before `start` (at a coarser step when the warm-up is long), then the requested grid, whose points are
 * returned with their expected value, band and score. Parameter parsing and scoring are pure functions; the
 * plugin is thin glue. Errors use Prometheus' shape, `{status: "error", errorType, error}`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AnomalyDetector, type Seasonality } from '../anomaly/detector.ts';
import { formatPromDuration } from '../query/promql/format.ts';
import {
  EvalError,
  ParseError,
  QueryCanceledError,
  QueryTimeoutError,
  TooManySamplesError,
  parse,
  type Engine,
} from '../query/promql/index.ts';
import type { Queryable } from '../store/interface.ts';
import { ApiError, allValues, parseDurationParam, parseTime } from './params.ts';
import { VIGIL_API_PREFIX } from './vigil-api.ts';

const DAY_MS = 86_400_000;
/** Most points of the requested grid, as Prometheus allows for query_range. */
export const MAX_POINTS = 11_000;
/** Most series scored in one answer; the rest are left out with a warning. */
export const MAX_SERIES = 50;
/** The warm-up runs at a step coarse enough for at most about this many points (7 days at 5 minutes). */
export const WARMUP_POINTS = 2016;
/** Longest warm-up accepted. */
export const MAX_WARMUP_MS = 60 * DAY_MS;
export const DEFAULT_THRESHOLD = 0.8;

export type SeasonParam = 'none' | 'daily' | 'weekly';

/** A validated band request. Times in milliseconds. */
export interface BandRequest {
  readonly query: string;
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly season: SeasonParam;
  readonly warmup: number;
  /** True when `warmup` was given rather than defaulted. */
  readonly warmupGiven: boolean;
  readonly threshold: number;
}

/** The seasonal profiles a `season` parameter asks for: `weekly` learns the daily profile as well. */
export function seasonsOf(season: SeasonParam): Seasonality[] {
  return season === 'none' ? [] : season === 'daily' ? ['daily'] : ['daily', 'weekly'];
}

/**
 * The default warm-up: what the detector needs before its band means something, with margin. Daily: its
 * memory of 7 days. Weekly: two weeks (the profiles learn unclipped residuals that long). None: a day, and
 * at least 7 × the 12 samples it needs before scoring.
 */
export function defaultWarmup(season: SeasonParam, stepMs: number): number {
  if (season === 'daily') return 7 * DAY_MS;
  if (season === 'weekly') return 14 * DAY_MS;
  return Math.max(DAY_MS, 7 * 12 * stepMs);
}

/** The warm-up grid: `points` steps of `step` ending one step before the requested start. */
export function warmupGrid(
  start: number,
  step: number,
  warmup: number,
): { start: number; step: number; points: number } {
  const factor = Math.max(1, Math.ceil(warmup / step / WARMUP_POINTS));
  const warmStep = step * factor;
  const points = Math.floor(warmup / warmStep);
  return { start: start - points * warmStep, step: warmStep, points };
}

const SEASONS: readonly string[] = ['none', 'daily', 'weekly'];

/** Validates the parameters (`p` gives every value of one name); throws ApiError('bad_data') saying what is wrong. */
export function parseBandParams(p: (name: string) => string[]): BandRequest {
  const one = (n: string) => p(n)[0];
  const query = one('query');
  if (!query || query.trim() === '')
    throw new ApiError('bad_data', 'invalid parameter "query": query must not be empty');
  try {
    parse(query);
  } catch (err) {
    if (err instanceof ParseError)
      throw new ApiError('bad_data', `invalid parameter "query": ${err.message}`, { cause: err });
    throw err;
  }
  const start = parseTime(one('start') ?? '', 'start');
  const end = parseTime(one('end') ?? '', 'end');
  if (end < start)
    throw new ApiError('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
  const step = parseDurationParam(one('step') ?? '', 'step');
  if (step <= 0)
    throw new ApiError(
      'bad_data',
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  if (Math.floor((end - start) / step) > MAX_POINTS)
    throw new ApiError(
      'bad_data',
      `invalid parameter "step": exceeded maximum resolution of ${MAX_POINTS.toLocaleString('en')} points per timeseries. Try decreasing the query resolution (?step=XX)`,
    );
  const seasonRaw = (one('season') ?? '').trim().toLowerCase();
  // `daily,weekly` is how `vigil anomaly score --season` spells the weekly model.
  const season = (
    seasonRaw === '' ? 'daily' : seasonRaw === 'daily,weekly' ? 'weekly' : seasonRaw
  ) as SeasonParam;
  if (!SEASONS.includes(season))
    throw new ApiError(
      'bad_data',
      `invalid parameter "season": ${JSON.stringify(one('season'))} is not one of daily, weekly, none`,
    );
  const warmupS = one('warmup');
  const warmupGiven = warmupS !== undefined && warmupS !== '';
  const warmup = warmupGiven ? parseDurationParam(warmupS, 'warmup') : defaultWarmup(season, step);
  if (warmup < 0)
    throw new ApiError('bad_data', `invalid parameter "warmup": ${JSON.stringify(warmupS)} is negative`);
  if (warmup > MAX_WARMUP_MS)
    throw new ApiError(
      'bad_data',
      `invalid parameter "warmup": ${JSON.stringify(warmupS)} is longer than the maximum of ${formatPromDuration(MAX_WARMUP_MS)}`,
    );
  const thresholdS = one('threshold');
  let threshold = DEFAULT_THRESHOLD;
  if (thresholdS !== undefined && thresholdS !== '') {
    threshold = Number(thresholdS);
    if (thresholdS.trim() === '' || !(threshold > 0 && threshold <= 1))
      throw new ApiError(
        'bad_data',
        `invalid parameter "threshold": ${JSON.stringify(thresholdS)} is not a number in (0, 1]`,
      );
  }
  return { query, start, end, step, season, warmup, warmupGiven, threshold };
}

/** One series as a range query returns it: Unix-seconds timestamps and values as text. */
export interface MatrixSeries {
  readonly metric: Record<string, string>;
  readonly values: readonly (readonly [number, string])[];
}

/** A point whose score reached the threshold. Times in Unix seconds. */
export interface AnomalousPoint {
  readonly t: number;
  readonly value: number;
  readonly score: number;
  readonly expected: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
}

/**
 * One scored series. Every array is aligned with the answer's `timestamps`; null where the series has no
 * sample at that step (or the detector has no expectation yet: its first sample).
 */
export interface BandSeries {
  readonly metric: Record<string, string>;
  readonly values: (number | null)[];
  readonly expected: (number | null)[];
  readonly lower: (number | null)[];
  readonly upper: (number | null)[];
  readonly score: (number | null)[];
  readonly anomalies: AnomalousPoint[];
  /** Points of the requested range still inside the detector's warm-up (scored 0). */
  readonly warmingUp: number;
}

/** The `data` of a successful answer. Times in Unix seconds, durations in seconds. */
export interface BandData {
  readonly resultType: 'anomalyBand';
  readonly timestamps: number[];
  readonly step: number;
  readonly season: SeasonParam;
  readonly threshold: number;
  /** The warm-up actually run: from `start` at `step` for `points` points (0 when none). */
  readonly warmup: { readonly start: number; readonly step: number; readonly points: number };
  /** How many series the query returned (more than `series.length` when the series limit cut some). */
  readonly seriesTotal: number;
  readonly series: BandSeries[];
}

/** A stable identity for a label set, whatever the order of its keys. */
export function labelsKey(m: Record<string, string>): string {
  return JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
/** Scores and bounds are rounded to keep answers small: six significant digits are more than a chart shows. */
const round = (v: number | null): number | null => (v === null ? null : Number(v.toPrecision(6)));

/**
 * Feeds each series of `main` (after its samples in `warm`, matched by labels) through a fresh detector and
 * returns the band over the `grid`. Pure; `main` series beyond `maxSeries` (in the order given) are dropped.
 */
export function scoreSeries(
  warm: readonly MatrixSeries[],
  main: readonly MatrixSeries[],
  grid: { start: number; end: number; step: number },
  opts: { season: SeasonParam; threshold: number; maxSeries?: number },
): { timestamps: number[]; series: BandSeries[] } {
  const timestamps: number[] = [];
  for (let t = grid.start; t <= grid.end; t += grid.step) timestamps.push(t / 1000);
  const index = new Map<number, number>();
  timestamps.forEach((t, i) => index.set(Math.round(t * 1000), i));
  const warmBy = new Map(warm.map((s) => [labelsKey(s.metric), s]));
  const seasons = seasonsOf(opts.season);
  const out: BandSeries[] = [];
  for (const s of main.slice(0, opts.maxSeries ?? MAX_SERIES)) {
    const det = new AnomalyDetector({ seasons });
    for (const [t, v] of warmBy.get(labelsKey(s.metric))?.values ?? []) det.push(t, Number(v));
    const n = timestamps.length;
    const values: (number | null)[] = new Array(n).fill(null);
    const expected: (number | null)[] = new Array(n).fill(null);
    const lower: (number | null)[] = new Array(n).fill(null);
    const upper: (number | null)[] = new Array(n).fill(null);
    const score: (number | null)[] = new Array(n).fill(null);
    const anomalies: AnomalousPoint[] = [];
    let warmingUp = 0;
    for (const [t, raw] of s.values) {
      const i = index.get(Math.round(t * 1000));
      if (i === undefined) continue;
      const p = det.push(t, Number(raw));
      if (p.note === 'warmup') warmingUp++;
      values[i] = finiteOrNull(p.value);
      expected[i] = round(finiteOrNull(p.expected));
      lower[i] = round(finiteOrNull(p.lower));
      upper[i] = round(finiteOrNull(p.upper));
      score[i] = values[i] === null ? null : round(p.score);
      if (p.score >= opts.threshold)
        anomalies.push({
          t,
          value: p.value,
          score: round(p.score)!,
          expected: expected[i] ?? null,
          lower: lower[i] ?? null,
          upper: upper[i] ?? null,
        });
    }
    out.push({ metric: s.metric, values, expected, lower, upper, score, anomalies, warmingUp });
  }
  return { timestamps, series: out };
}

/** What the detector needs before it scores, for the warning when the history is too short. */
function warmupNeeds(season: SeasonParam): string {
  return season === 'none' ? '12 samples' : '12 samples over at least a day';
}

export interface AnomalyApiDeps {
  readonly storage: Queryable;
  readonly engine: Engine;
  /** Wall-clock limit for the two range queries together. */
  readonly queryTimeoutMs: number;
}

function toApiError(err: unknown, signal: AbortSignal): ApiError {
  if (err instanceof ApiError) return err;
  if (signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError')
    return new ApiError('timeout', 'query timed out in expression evaluation', { cause: err });
  if (err instanceof ParseError)
    return new ApiError('bad_data', `invalid parameter "query": ${err.message}`, { cause: err });
  if (err instanceof QueryTimeoutError) return new ApiError('timeout', err.message, { cause: err });
  if (err instanceof QueryCanceledError) return new ApiError('canceled', err.message, { cause: err });
  if (err instanceof TooManySamplesError || err instanceof EvalError)
    return new ApiError('execution', err.message, { cause: err });
  return new ApiError('internal', (err as Error)?.message ?? String(err), { cause: err });
}

export function anomalyApi(deps: AnomalyApiDeps): FastifyPluginAsync {
  return async (app) => {
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const ctl = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished)
          ctl.abort(new QueryCanceledError('query was canceled: the client went away'));
      });
      const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(deps.queryTimeoutMs)]);
      try {
        const body =
          req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : undefined;
        const r = parseBandParams(allValues(req.query as Record<string, unknown>, body));
        const warnings: string[] = [];
        const wg = warmupGrid(r.start, r.step, r.warmup);
        const [warmRes, mainRes] = await Promise.all([
          wg.points > 0
            ? deps.engine
                .rangeQuery(deps.storage, r.query, wg.start, r.start - wg.step, wg.step, { signal })
                .catch((err: unknown) => {
                  // A warm-up over the sample limit costs the band its history, not the answer.
                  if (!(err instanceof TooManySamplesError)) throw err;
                  warnings.push(
                    `warm-up skipped: ${err.message}; the band learns from the requested range only (try a shorter warmup)`,
                  );
                  return undefined;
                })
            : undefined,
          deps.engine.rangeQuery(deps.storage, r.query, r.start, r.end, r.step, { signal }),
        ]);
        const matrix = (res: typeof mainRes | undefined): MatrixSeries[] =>
          res?.resultType === 'matrix' ? res.result : [];
        const main = matrix(mainRes);
        const { timestamps, series } = scoreSeries(matrix(warmRes), main, r, r);
        if (main.length > MAX_SERIES)
          warnings.push(
            `the query returned ${main.length} series: bands are computed for the first ${MAX_SERIES} only; narrow the query (e.g. with topk or a label matcher)`,
          );
        const cold = series.filter((s) => s.warmingUp > 0).length;
        if (cold > 0)
          warnings.push(
            `${cold} of ${series.length} series have less history than the detector needs (${warmupNeeds(r.season)}): their scores are 0 until then`,
          );
        for (const w of [...(warmRes?.warnings ?? []), ...(mainRes.warnings ?? [])])
          if (!warnings.includes(w)) warnings.push(w);
        const data: BandData = {
          resultType: 'anomalyBand',
          timestamps,
          step: r.step / 1000,
          season: r.season,
          threshold: r.threshold,
          warmup: { start: wg.start / 1000, step: wg.step / 1000, points: wg.points },
          seriesTotal: main.length,
          series,
        };
        return reply.send(
          warnings.length ? { status: 'success', data, warnings } : { status: 'success', data },
        );
      } catch (err) {
        const e = toApiError(err, signal);
        if (e.errorType === 'internal') req.log.error({ err }, 'anomaly band failed');
        return reply.code(e.status).send({ status: 'error', errorType: e.errorType, error: e.message });
      }
    };
    app.get(`${VIGIL_API_PREFIX}/anomaly/band`, handler);
    app.post(`${VIGIL_API_PREFIX}/anomaly/band`, handler);
  };
}
