/**
 * Turns Prometheus results into the column layout uPlot draws: one shared time axis and one value array per
 * series, with `null` where a series has no sample (drawn as a gap, never interpolated across).
 */
import { legendFor, parseSampleValue, type Metric } from './format.ts';
import type { MatrixSeries } from './api.ts';

export interface ChartSeries {
  /** Stable identity across refreshes (the label set plus the query index). */
  readonly key: string;
  readonly label: string;
  readonly metric: Metric;
  /** Index of the query this series came from, when a chart shows several queries. */
  readonly query: number;
  values: (number | null)[];
}

export interface ChartData {
  /** Seconds, ascending. */
  times: number[];
  series: ChartSeries[];
}

export const EMPTY: ChartData = { times: [], series: [] };

function toDrawable(v: number): number | null {
  // NaN (including Prometheus's stale marker) and infinities cannot be placed on an axis: draw a gap.
  return Number.isFinite(v) ? v : null;
}

/**
 * Aligns several queries' matrices on one time axis. With a step, the axis is the full grid from start to
 * end, so missing samples become gaps at the right place; otherwise it is the union of all timestamps.
 */
export function alignMatrices(
  results: readonly { series: readonly MatrixSeries[]; legend?: string }[],
  grid?: { start: number; end: number; step: number },
): ChartData {
  let times: number[];
  if (grid && grid.step > 0 && (grid.end - grid.start) / grid.step <= 20_000) {
    times = [];
    for (let t = grid.start; t <= grid.end + 1e-9; t += grid.step) times.push(Math.round(t * 1000) / 1000);
  } else {
    const all = new Set<number>();
    for (const r of results) for (const s of r.series) for (const [t] of s.values) all.add(t);
    times = [...all].sort((a, b) => a - b);
  }
  const index = new Map<number, number>();
  times.forEach((t, i) => index.set(t, i));
  const series: ChartSeries[] = [];
  results.forEach((r, q) => {
    for (const s of r.series) {
      const values: (number | null)[] = new Array(times.length).fill(null);
      for (const [t, v] of s.values) {
        const i = index.get(Math.round(t * 1000) / 1000);
        if (i !== undefined) values[i] = toDrawable(parseSampleValue(v));
      }
      const label = legendFor(r.legend, s.metric);
      series.push({
        key: `${q}\u0000${JSON.stringify(s.metric)}`,
        label,
        metric: s.metric,
        query: q,
        values,
      });
    }
  });
  return { times, series };
}

/**
 * Appends streamed points (live mode) to existing data and drops points older than `minTime` seconds.
 * Series seen for the first time are added with gaps before their first point.
 */
export function appendPoints(
  data: ChartData,
  incoming: readonly { query: number; metric: Metric; values: [number, string][] }[],
  legends: readonly (string | undefined)[],
  minTime: number,
): ChartData {
  const newTimes = new Set<number>();
  for (const s of incoming)
    for (const [t] of s.values) if (t > (data.times.at(-1) ?? -Infinity)) newTimes.add(t);
  const added = [...newTimes].sort((a, b) => a - b);
  const times = [...data.times, ...added];
  let drop = 0;
  while (drop < times.length && times[drop]! < minTime) drop++;
  const byKey = new Map<string, ChartSeries>();
  const series = data.series.map((s) => {
    const next = { ...s, values: [...s.values, ...new Array<null>(added.length).fill(null)] };
    byKey.set(s.key, next);
    return next;
  });
  const index = new Map<number, number>();
  times.forEach((t, i) => index.set(t, i));
  for (const inc of incoming) {
    const key = `${inc.query}\u0000${JSON.stringify(inc.metric)}`;
    let s = byKey.get(key);
    if (!s) {
      s = {
        key,
        label: legendFor(legends[inc.query], inc.metric),
        metric: inc.metric,
        query: inc.query,
        values: new Array<null>(times.length).fill(null),
      };
      byKey.set(key, s);
      series.push(s);
    }
    for (const [t, v] of inc.values) {
      const i = index.get(t);
      if (i !== undefined) s.values[i] = toDrawable(parseSampleValue(v));
    }
  }
  return {
    times: times.slice(drop),
    series: series
      .map((s) => ({ ...s, values: s.values.slice(drop) }))
      .filter((s) => s.values.some((v) => v !== null)),
  };
}

/**
 * Stacks visible series on top of each other (a missing value counts as zero inside the stack, but the
 * series itself keeps its gap). Returns the cumulative arrays in the same order.
 */
export function stack(values: readonly (readonly (number | null)[])[]): (number | null)[][] {
  const n = values[0]?.length ?? 0;
  const sums = new Array<number>(n).fill(0);
  return values.map((vs) =>
    vs.map((v, i) => {
      if (v === null) return null;
      sums[i] = sums[i]! + v;
      return sums[i]!;
    }),
  );
}

/** A palette that stays readable on light and dark backgrounds; colours repeat after 16 series. */
export const PALETTE = [
  '#3d7dd8',
  '#e8743b',
  '#19a979',
  '#d64e86',
  '#9a6fd0',
  '#c9a22a',
  '#2fb5c8',
  '#e0534a',
  '#6c8a3c',
  '#b4669f',
  '#4f6fb0',
  '#d08a2e',
  '#3fa37a',
  '#a0522d',
  '#7b8fa8',
  '#c45a5a',
];

export function colorFor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}
