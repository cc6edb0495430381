/**
 * Classic Prometheus histograms as a heatmap: bucket series (`le` label, cumulative counts) aligned on a
 * time axis become one column of cells per time step and one row per bucket, each holding the count of
 * observations in that bucket only. Pure functions, tested under Node.
 */
import { parseSampleValue } from '../../lib/format.ts';
import type { ChartData } from '../../lib/series.ts';

export interface HeatmapBucket {
  /** Lower bound (exclusive), the previous bucket's `le`; 0 for the first bucket unless its `le` is ≤ 0. */
  readonly lo: number;
  /** Upper bound (inclusive), the bucket's `le`; may be +Inf. */
  readonly hi: number;
}

export interface HeatmapData {
  /** Seconds, ascending. */
  readonly times: readonly number[];
  /** Ascending by upper bound. */
  readonly buckets: readonly HeatmapBucket[];
  /** counts[bucket][time]; null where the step had no samples. */
  readonly counts: readonly (readonly (number | null)[])[];
  /** The largest count, for the colour scale (0 when there is none). */
  readonly max: number;
  /** Series ignored because they have no usable `le` label. */
  readonly ignored: number;
}

/**
 * De-cumulates histogram buckets per time step. Series with the same `le` (e.g. one per instance) are
 * summed first; a bucket whose cumulative count is below the previous one (a reset inside the window)
 * counts as zero rather than negative.
 */
export function buildHeatmap(data: ChartData): HeatmapData {
  const byLe = new Map<number, (number | null)[]>();
  let ignored = 0;
  for (const s of data.series) {
    const raw = s.metric.le;
    const le = raw === undefined ? NaN : parseSampleValue(raw);
    if (Number.isNaN(le)) {
      ignored++;
      continue;
    }
    let acc = byLe.get(le);
    if (!acc) {
      acc = new Array<number | null>(data.times.length).fill(null);
      byLe.set(le, acc);
    }
    s.values.forEach((v, i) => {
      if (v === null) return;
      acc[i] = (acc[i] ?? 0) + v;
    });
  }
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const buckets: HeatmapBucket[] = les.map((hi, i) => ({
    lo: i === 0 ? (hi > 0 ? 0 : -Infinity) : les[i - 1]!,
    hi,
  }));
  let max = 0;
  const cumulative = les.map((le) => byLe.get(le)!);
  const counts = cumulative.map((row, b) =>
    row.map((v, t) => {
      if (v === null) return null;
      const below = b === 0 ? 0 : (cumulative[b - 1]![t] ?? 0);
      const c = Math.max(0, v - below);
      if (c > max) max = c;
      return c;
    }),
  );
  return { times: data.times, buckets, counts, max, ignored };
}

/** Cell colour intensity in [0, 1]: square root, so buckets with few observations stay visible. */
export function intensity(count: number, max: number): number {
  if (!(max > 0) || !(count > 0)) return 0;
  return Math.min(1, Math.sqrt(count / max));
}

/** `0.25`, `+Inf`: a bucket bound as people read it. */
export function formatBound(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(Number(v.toPrecision(6)));
}
