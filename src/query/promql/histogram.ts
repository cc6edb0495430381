/** histogram_quantile over classic histograms (series with an `le` bucket label). */
import { labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import { parseNumber } from './parser.ts';
import { newSeries, type Grid, type StepSeries, type VectorValue } from './value.ts';

interface Bucket {
  upper: number;
  count: number;
}

/** Relative difference below which a decreasing bucket count is treated as float noise, not a real drop. */
const SMALL_DELTA = 1e-12;

/**
 * Estimates the q-quantile from cumulative buckets. NaN without a +Inf bucket or observations; the upper bound
 * of the second-highest bucket if the quantile falls into +Inf; linear interpolation inside a bucket otherwise.
 */
export function bucketQuantile(q: number, buckets: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upper !== Infinity) return NaN;
  // Buckets with the same bound (e.g. "1" and "1.0") are one bucket.
  const merged: Bucket[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else merged.push({ ...b });
  }
  // Counts must not decrease with the bound; scrapes that are not atomic can make them, so flatten.
  let max = -Infinity;
  for (const b of merged) {
    if (b.count > max) {
      if (max !== -Infinity && max !== 0 && Math.abs((b.count - max) / max) <= SMALL_DELTA) b.count = max;
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (merged.length < 2) return NaN;
  const observations = merged[merged.length - 1]!.count;
  if (observations === 0 || Number.isNaN(observations)) return NaN;
  let rank = q * observations;
  let idx = merged.length - 1;
  for (let i = 0; i < merged.length - 1; i++) {
    if (merged[i]!.count >= rank) {
      idx = i;
      break;
    }
  }
  if (idx === merged.length - 1) return merged[merged.length - 2]!.upper;
  if (idx === 0 && merged[0]!.upper <= 0) return merged[0]!.upper;
  let start = 0;
  const end = merged[idx]!.upper;
  let count = merged[idx]!.count;
  if (idx > 0) {
    start = merged[idx - 1]!.upper;
    count -= merged[idx - 1]!.count;
    rank -= merged[idx - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

/** Groups bucket series by their labels without `le` and `__name__`, and computes the quantile per step. */
export function histogramQuantile(q: Float64Array, v: VectorValue, g: Grid): StepSeries[] {
  const groups = new Map<string, { labels: Labels; members: { s: StepSeries; le: number }[] }>();
  for (const s of v.series) {
    const leStr = s.labels.le;
    if (leStr === undefined) continue;
    const le = parseLe(leStr);
    if (le === undefined) continue;
    const labels: Record<string, string> = { ...s.labels };
    delete labels.le;
    delete labels[METRIC_NAME];
    const key = labelsKey(labels);
    let grp = groups.get(key);
    if (!grp) groups.set(key, (grp = { labels, members: [] }));
    grp.members.push({ s, le });
  }
  const out: StepSeries[] = [];
  for (const grp of groups.values()) {
    const o = newSeries(grp.labels, g.n);
    let any = false;
    for (let i = 0; i < g.n; i++) {
      const buckets: Bucket[] = [];
      for (const m of grp.members) if (m.s.has[i]) buckets.push({ upper: m.le, count: m.s.vals[i]! });
      if (!buckets.length) continue;
      o.vals[i] = bucketQuantile(q[i]!, buckets);
      o.has[i] = 1;
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

function parseLe(s: string): number | undefined {
  const t = s.trim();
  if (/^[+-]?inf$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  const v = parseNumber(t);
  if (t === '' || Number.isNaN(v)) return undefined;
  return v;
}
