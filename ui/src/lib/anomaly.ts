/**
 * Anomaly bands for charts: `/api/vigil/v1/anomaly/band` (docs/anomaly.md) fetched for the queries a chart
 * shows, and matched to the chart's series and time axis so the chart can draw the expected band, mark
 * anomalous points and show scores in its tooltip.
 */
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { request } from './api.ts';
import type { Metric } from './format.ts';
import type { RangeQuerySpec } from './queries.ts';
import type { ChartData } from './series.ts';
import { alignToStep, type ResolvedRange } from './time.ts';

/** One scored series as the API returns it; arrays aligned with `BandData.timestamps`. */
export interface BandSeries {
  metric: Metric;
  values: (number | null)[];
  expected: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  score: (number | null)[];
  anomalies: { t: number; value: number; score: number }[];
}

export interface BandData {
  timestamps: number[];
  step: number;
  threshold: number;
  series: BandSeries[];
}

/** The band of one chart series, aligned with the chart's `times` (null where there is none). */
export interface ChartBand {
  readonly lower: readonly (number | null)[];
  readonly upper: readonly (number | null)[];
  readonly score: readonly (number | null)[];
  /** Indexes into the chart's `times` of the points scored at or above the threshold. */
  readonly anomalies: readonly number[];
}

/** Chart series key → its band. */
export type ChartBands = ReadonlyMap<string, ChartBand>;

/** POST /api/vigil/v1/anomaly/band for one expression over the chart's grid (seconds). */
export async function fetchAnomalyBand(
  query: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<{ data: BandData; warnings: string[] }> {
  const body = await request<{ data: BandData; warnings?: string[] }>('/api/vigil/v1/anomaly/band', {
    method: 'POST',
    body: new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) }),
    signal,
  });
  return { data: body.data, warnings: body.warnings ?? [] };
}

/** The same label set gives the same key whatever the order of its labels. */
export function labelsKey(m: Metric): string {
  return JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Matches each chart series (by its query index and labels) to a scored series of that query's band, and
 * re-aligns the band's arrays to the chart's time axis. Series without a band are left out. Pure.
 */
export function bandsForChart(
  data: ChartData,
  results: readonly (BandData | undefined)[],
): Map<string, ChartBand> {
  const out = new Map<string, ChartBand>();
  const at = new Map<number, number>();
  data.times.forEach((t, i) => at.set(Math.round(t * 1000), i));
  const byQuery = results.map((r) => new Map((r?.series ?? []).map((s) => [labelsKey(s.metric), s])));
  for (const s of data.series) {
    const r = results[s.query];
    const b = byQuery[s.query]?.get(labelsKey(s.metric));
    if (!r || !b) continue;
    const n = data.times.length;
    const lower: (number | null)[] = new Array(n).fill(null);
    const upper: (number | null)[] = new Array(n).fill(null);
    const score: (number | null)[] = new Array(n).fill(null);
    const anomalies: number[] = [];
    r.timestamps.forEach((t, j) => {
      const i = at.get(Math.round(t * 1000));
      if (i === undefined) return;
      lower[i] = b.lower[j] ?? null;
      upper[i] = b.upper[j] ?? null;
      score[i] = b.score[j] ?? null;
      if ((b.score[j] ?? 0) >= r.threshold) anomalies.push(i);
    });
    out.set(s.key, { lower, upper, score, anomalies });
  }
  return out;
}

/** A warning or error about one query's band; `query` indexes the specs given to useAnomalyBands. */
export interface BandMessage {
  readonly query: number;
  readonly text: string;
}

export interface AnomalyBandsResult {
  readonly bands: ChartBands;
  /** The server's warnings (they may repeat the range query's own: the band runs the same query). */
  readonly warnings: readonly BandMessage[];
  /** Queries whose band could not be computed, with the reason. */
  readonly errors: readonly BandMessage[];
  /** True once every band request has answered (or none is needed). */
  readonly ready: boolean;
}

const NONE: ChartBands = new Map();

/**
 * Fetches the band of every query over the same aligned grid `useRangeQueries` uses for `step`, and maps
 * it onto `data`. A failure only loses that query's band: the chart is still what the user asked for.
 */
export function useAnomalyBands(
  specs: readonly RangeQuerySpec[],
  range: ResolvedRange,
  step: number,
  data: ChartData,
  enabled: boolean,
): AnomalyBandsResult {
  const { start, end } = alignToStep(range, step);
  const exprs = specs.map((s) => s.expr);
  type Settled = PromiseSettledResult<Awaited<ReturnType<typeof fetchAnomalyBand>>>[];
  const q = useQuery<Settled>({
    queryKey: ['anomaly-band', exprs, start, end, step],
    enabled: enabled && exprs.length > 0,
    placeholderData: (prev) => prev,
    queryFn: ({ signal }) =>
      Promise.allSettled(exprs.map((e) => fetchAnomalyBand(e, start, end, step, signal))),
  });
  const bands = useMemo(() => {
    if (!enabled || !q.data) return NONE;
    return bandsForChart(
      data,
      q.data.map((r) => (r.status === 'fulfilled' ? r.value.data : undefined)),
    );
  }, [enabled, q.data, data]);
  const { warnings, errors } = useMemo(() => {
    const w: BandMessage[] = [];
    const e: BandMessage[] = [];
    if (!enabled || !q.data) return { warnings: w, errors: e };
    q.data.forEach((r, query) => {
      if (r.status === 'fulfilled') for (const text of r.value.warnings) w.push({ query, text });
      else e.push({ query, text: (r.reason as Error)?.message ?? String(r.reason) });
    });
    return { warnings: w, errors: e };
  }, [enabled, q.data]);
  return {
    bands,
    warnings,
    errors,
    ready: !enabled || exprs.length === 0 || (!q.isFetching && q.data !== undefined) || q.isError,
  };
}
