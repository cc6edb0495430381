/**
 * The storage boundary. Everything above it (ingestion, PromQL, the HTTP API) talks to these interfaces only;
 * the ClickHouse-backed implementation (chDB in-process or a ClickHouse server) and the in-memory reference
 * implementation both satisfy the shared suite in `storage.cases.ts`.
 *
 * Time is milliseconds since the Unix epoch everywhere. Ranges are inclusive at both ends.
 */
import type { Labels } from '../model/labels.ts';
import type { Matcher } from '../model/matcher.ts';

/** One series and its samples in a range: `t` strictly ascending, `v` the value at the same index. */
export interface SeriesData {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export type MetricType =
  'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';

export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/**
 * Collects samples for one write. Not safe for concurrent use: one appender per request or scrape.
 * Nothing is visible to queriers until `commit()` resolves; `commit()` resolves only once the samples are
 * durable (a killed process keeps them). After commit or rollback the appender must not be reused.
 */
export interface Appender {
  /** Labels must be valid and include `__name__`; validation is the caller's job (ingest layer). */
  append(labels: Labels, t: number, v: number): void;
  /** Records type/help/unit for a metric family name. Last write wins. */
  appendMetadata(metric: string, meta: MetricMetadata): void;
  /** Number of samples appended so far. */
  readonly count: number;
  commit(): Promise<void>;
  rollback(): void;
}

export interface SelectHints {
  /** Evaluation step for range queries, informational. */
  readonly step?: number;
  /** When set, only label sets are needed (no samples): implementations may skip reading samples. */
  readonly labelsOnly?: boolean;
  readonly signal?: AbortSignal;
  /** Absolute time (ms) after which the caller gives up: storages should stop their own work by then. */
  readonly deadline?: number;
}

/**
 * Range functions a storage may evaluate next to the data (`Querier.selectRange`), with PromQL's meaning over
 * the samples of each window, stale markers excluded.
 */
export const PUSHDOWN_FUNCTIONS = [
  'rate',
  'increase',
  'delta',
  'irate',
  'idelta',
  'resets',
  'changes',
  'count_over_time',
  'sum_over_time',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'last_over_time',
  'first_over_time',
  'present_over_time',
  'ts_of_last_over_time',
  'ts_of_first_over_time',
] as const;
export type RangeFunction = (typeof PUSHDOWN_FUNCTIONS)[number];

/** Evaluation steps whose windows end at `firstEnd + i * step` for `i < steps` (step 0: all end together). */
export interface StepGrid {
  readonly firstEnd: number;
  readonly step: number;
  readonly steps: number;
  readonly signal?: AbortSignal;
  /** Absolute time (ms) after which the caller gives up: storages should stop their own work by then. */
  readonly deadline?: number;
}

export interface RangeSelectParams extends StepGrid {
  /** Window length: `(end - rangeMs, end]`, or `[end - rangeMs, end]` when `leftOpen` is false. */
  readonly rangeMs: number;
  readonly leftOpen: boolean;
}

export interface LastSelectParams extends StepGrid {
  /** A sample at `t` is visible at step end `e` when `e - lookbackMs <= t <= e`. */
  readonly lookbackMs: number;
}

/** One series on a step grid: `has[i]` is 1 where step i has the value `v[i]`. */
export interface StepValues {
  readonly labels: Labels;
  readonly v: Float64Array;
  readonly has: Uint8Array;
  /** `selectLast` only: the timestamp of the sample taken at each step. */
  readonly sampleT?: Float64Array;
}

/** What `Querier.selectRange` computed. */
export interface RangeSelection {
  /**
   * Series with at least one sample in some window, ordered by labels. A series whose windows never yield a
   * value (rate over a single sample) is still listed, with no step set.
   */
  readonly series: StepValues[];
  /**
   * Series the storage could not evaluate exactly (for example ones holding NaN or infinite values), with their
   * samples over all windows as `select` returns them; the caller evaluates these itself.
   */
  readonly raw: SeriesData[];
  /** Samples in the windows of each step, summed over `series` (as if they had been read raw). */
  readonly samplesPerStep: Float64Array;
}

/**
 * Reads over a fixed range `[mint, maxt]`, both inclusive. Safe for concurrent calls.
 * Returned arrays and typed arrays belong to the caller.
 */
export interface Querier {
  readonly mint: number;
  readonly maxt: number;
  /**
   * Series matching every matcher, each with its samples in the range; series with no sample in the range are
   * left out. A matcher list that matches every series (only empty-matching matchers) is allowed here; the
   * API layer rejects such selectors as Prometheus does. Ordered by labels.
   */
  select(matchers: readonly Matcher[], hints?: SelectHints): Promise<SeriesData[]>;
  /**
   * Optional pushdown: `fn(<matchers>[rangeMs])` at every step of the grid, computed next to the data, giving
   * the same values as evaluating `fn` over `select`'s samples (see the storage's docs for its precision).
   * Resolves to undefined when the storage judges raw samples cheaper (steps not much coarser than the sample
   * interval) or cannot evaluate `fn` for these windows; the caller then uses `select`.
   */
  selectRange?(
    fn: RangeFunction,
    matchers: readonly Matcher[],
    params: RangeSelectParams,
  ): Promise<RangeSelection | undefined>;
  /**
   * Optional pushdown for instant selectors: at every step, the newest sample visible at its end, unless that
   * sample is a stale marker. Series with no value at any step are left out; ordered by labels. Undefined
   * when raw samples are judged cheaper.
   */
  selectLast?(matchers: readonly Matcher[], params: LastSelectParams): Promise<StepValues[] | undefined>;
  /** Label sets of series matching any of the matcher lists with at least one sample in the range. */
  series(matcherSets: readonly (readonly Matcher[])[]): Promise<Labels[]>;
  /** Sorted label names of matching series (all series when matcherSets is empty). */
  labelNames(matcherSets: readonly (readonly Matcher[])[]): Promise<string[]>;
  /** Sorted values of one label over matching series (all series when matcherSets is empty). */
  labelValues(name: string, matcherSets: readonly (readonly Matcher[])[]): Promise<string[]>;
}

export interface Queryable {
  querier(mint: number, maxt: number): Querier;
}

export interface StorageStats {
  readonly series: number;
  /** Bytes of active data on disk (compressed), 0 for memory storage. */
  readonly bytesOnDisk: number;
  readonly samples: number;
}

export interface Storage extends Queryable {
  appender(): Appender;
  /** Metadata by metric name; `metric` filters to one name; `limit` caps the number of names. */
  metadata(metric?: string, limit?: number): Promise<Map<string, MetricMetadata[]>>;
  /** Removes samples of matching series in `[mint, maxt]`. Queries stop seeing them immediately. */
  deleteSeries(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<void>;
  /** Physically removes deleted data. */
  cleanTombstones(): Promise<void>;
  stats(): Promise<StorageStats>;
  close(): Promise<void>;
}

export class StorageError extends Error {
  override name = 'StorageError';
}

/** Thrown by commit when the write pipeline is saturated; callers answer 429/503 with Retry-After. */
export class OverloadedError extends StorageError {
  override name = 'OverloadedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
