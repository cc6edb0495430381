/**
 * Exemplar storage: a few sampled observations attached to a series (typically a histogram bucket), each
 * pointing at the trace that produced it. Implementations: MemoryExemplarStore (exemplars.memory.ts, the
 * reference) and ClickHouseExemplarStore (clickhouse/exemplars.ts), both run by the shared suite in
 * exemplars.cases.ts. Layout on disk: docs/format/exemplar-tables.md.
 *
 * Time is milliseconds since the Unix epoch. Ranges are inclusive at both ends.
 */
import { METRIC_NAME, labelsKey, type Labels } from '../model/labels.ts';
import type { Matcher } from '../model/matcher.ts';

/** One exemplar of a series. */
export interface Exemplar {
  /** Exemplar labels, for example `{trace_id, span_id}`. */
  readonly labels: Labels;
  readonly value: number;
  readonly t: number;
}

/** An exemplar together with the labels of the series it belongs to (which include `__name__`). */
export interface ExemplarRecord extends Exemplar {
  readonly seriesLabels: Labels;
}

export interface ExemplarSeries {
  readonly seriesLabels: Labels;
  /** Ascending by time, then value. */
  readonly exemplars: Exemplar[];
}

export interface ExemplarSelectOptions {
  /** Most exemplars returned over all series; the newest are kept. Default DEFAULT_EXEMPLAR_LIMIT. */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export interface ExemplarSelection {
  /** Series with at least one exemplar in the range, ordered by their labels. */
  readonly series: ExemplarSeries[];
  /** True when more exemplars matched than the limit allowed (the oldest were left out). */
  readonly truncated: boolean;
}

/** Reads exemplars; what the query API needs. */
export interface ExemplarQueryable {
  /**
   * Exemplars in `[mint, maxt]` of series matching any of the matcher lists (Prometheus' query_exemplars:
   * one list per vector selector of the query). An exemplar stored twice is returned once. Safe for
   * concurrent calls; the returned objects belong to the caller.
   */
  select(
    mint: number,
    maxt: number,
    matcherSets: readonly (readonly Matcher[])[],
    opts?: ExemplarSelectOptions,
  ): Promise<ExemplarSelection>;
}

export interface ExemplarStore extends ExemplarQueryable {
  /**
   * Stores exemplars. Resolves once they are written (visible to `select` and kept across restarts by
   * durable implementations); rejects when they are not stored. Every record is checked first
   * (`exemplarProblem`): one invalid record rejects the whole call with InvalidExemplarError and nothing is
   * stored. Safe to call concurrently; the store keeps no reference to `records`.
   */
  append(records: readonly ExemplarRecord[]): Promise<void>;
  /** Waits for writes in flight, then releases resources. Later calls reject. */
  close(): Promise<void>;
}

/** OpenMetrics: an exemplar's label names and values together hold at most 128 UTF-8 characters. */
export const MAX_EXEMPLAR_LABEL_CHARS = 128;

export const DEFAULT_EXEMPLAR_LIMIT = 100_000;

export class ExemplarStoreError extends Error {
  override name = 'ExemplarStoreError';
}

/** A record that cannot be stored; the message names the record and the problem. */
export class InvalidExemplarError extends ExemplarStoreError {
  override name = 'InvalidExemplarError';
}

/** Why a record cannot be stored, or undefined when it can. */
export function exemplarProblem(r: ExemplarRecord): string | undefined {
  if (!r.seriesLabels[METRIC_NAME]) return 'the series labels have no __name__';
  if (!Number.isFinite(r.t) || !Number.isInteger(r.t))
    return `timestamp ${r.t} is not a whole number of milliseconds`;
  if (typeof r.value !== 'number') return `value ${JSON.stringify(r.value)} is not a number`;
  let chars = 0;
  for (const [k, v] of Object.entries(r.labels)) chars += [...k].length + [...v].length;
  if (chars > MAX_EXEMPLAR_LABEL_CHARS)
    return `exemplar labels have ${chars} characters, more than the limit of ${MAX_EXEMPLAR_LABEL_CHARS}`;
  return undefined;
}

/** Throws InvalidExemplarError for the first invalid record, naming its index. */
export function checkExemplars(records: readonly ExemplarRecord[]): void {
  for (let i = 0; i < records.length; i++) {
    const p = exemplarProblem(records[i]!);
    if (p) throw new InvalidExemplarError(`exemplar ${i}: ${p}`);
  }
}

/** Orders exemplars by time, then value (NaN last), then labels: the order `select` returns. */
export function compareExemplars(a: Exemplar, b: Exemplar): number {
  if (a.t !== b.t) return a.t - b.t;
  if (a.value !== b.value) {
    if (Number.isNaN(a.value)) return 1;
    if (Number.isNaN(b.value)) return -1;
    return a.value - b.value;
  }
  const ka = labelsKey(a.labels);
  const kb = labelsKey(b.labels);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Identity of an exemplar within its series: equal keys are the same exemplar stored twice. */
export function exemplarKey(e: Exemplar): string {
  return `${e.t}\u0002${Object.is(e.value, -0) ? 0 : e.value}\u0002${labelsKey(e.labels)}`;
}
