/**
 * Classic histograms: series with an `le` bucket label, one histogram per label set without `le` (the metric
 * name included, so two histograms that differ only in name stay apart). Native histograms are not stored by
 * Vigil, so the functions that only act on them (histogram_count, histogram_sum, histogram_avg,
 * histogram_stddev, histogram_stdvar) ignore float samples and return nothing, as Prometheus does for floats.
 */
import { labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import { almostEqual } from './mathutil.ts';
import { mergeSameLabels, newSeries, type Grid, type StepSeries, type VectorValue } from './value.ts';

export interface Bucket {
  upper: number;
  count: number;
}

/** Differences between neighbouring buckets below this relative size are float noise, not real drops. */
const SMALL_DELTA = 1e-12;

/** What a histogram function reports back to the evaluator as annotations. */
export interface HistogramReport {
  /** A series whose `le` label is missing or not a number was skipped. */
  badBucketLabel(metricName: string, le: string): void;
  /** Bucket counts decreased with the bound and were raised to restore monotonicity. */
  forcedMonotonicity(metricName: string): void;
}

/**
 * Sorts, merges equal bounds (e.g. "1" and "1.0"), and makes counts non-decreasing: differences within 1e-12 of
 * their sum are absorbed silently, real decreases are raised to the previous count. Returns the fixed buckets
 * and whether a real decrease was found, or undefined when the highest bucket is not +Inf.
 */
function normalize(buckets: Bucket[]): { merged: Bucket[]; forced: boolean } | undefined {
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upper !== Infinity) return undefined;
  const merged: Bucket[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else merged.push({ ...b });
  }
  let forced = false;
  let prev = merged[0]!.count;
  for (let i = 1; i < merged.length; i++) {
    const cur = merged[i]!.count;
    if (cur === prev) continue;
    if (almostEqual(prev, cur, SMALL_DELTA)) {
      merged[i]!.count = prev;
      continue;
    }
    if (cur < prev) {
      merged[i]!.count = prev;
      forced = true;
      continue;
    }
    prev = cur;
  }
  return { merged, forced };
}

/**
 * Estimates the q-quantile from cumulative buckets, as Prometheus' histogram_quantile: ±Inf for q outside [0, 1];
 * NaN for q NaN, without a +Inf bucket, with fewer than two buckets or no observations; the upper bound of the
 * second-highest bucket if the quantile falls into +Inf; the bound itself if it falls into a lowest bucket whose
 * bound is <= 0; linear interpolation inside a bucket otherwise (the lowest bucket starting at 0).
 */
export function bucketQuantile(q: number, buckets: Bucket[]): { value: number; forced: boolean } {
  if (Number.isNaN(q)) return { value: NaN, forced: false };
  if (q < 0) return { value: -Infinity, forced: false };
  if (q > 1) return { value: Infinity, forced: false };
  const norm = normalize(buckets);
  if (!norm || norm.merged.length < 2) return { value: NaN, forced: false };
  const { merged, forced } = norm;
  const observations = merged[merged.length - 1]!.count;
  if (observations === 0) return { value: NaN, forced: false };
  let rank = q * observations;
  // The first bucket reaching the rank; a NaN rank reaches none and lands in +Inf, as in Prometheus.
  let idx = merged.length - 1;
  for (let i = 0; i < merged.length - 1; i++) {
    if (merged[i]!.count >= rank) {
      idx = i;
      break;
    }
  }
  if (idx === merged.length - 1) return { value: merged[merged.length - 2]!.upper, forced };
  if (idx === 0 && merged[0]!.upper <= 0) return { value: merged[0]!.upper, forced };
  let start = 0;
  const end = merged[idx]!.upper;
  let count = merged[idx]!.count;
  if (idx > 0) {
    start = merged[idx - 1]!.upper;
    count -= merged[idx - 1]!.count;
    rank -= merged[idx - 1]!.count;
  }
  return { value: start + (end - start) * (rank / count), forced };
}

/**
 * Estimated fraction of observations in `(lower, upper]`, with the same assumptions as bucketQuantile: linear
 * interpolation inside a bucket, the lowest bucket starting at 0 when its bound is positive (unbounded below
 * otherwise), and the +Inf bucket holding observations above every finite value. NaN without a +Inf bucket,
 * without observations or for a NaN bound; 0 when lower >= upper.
 */
export function bucketFraction(
  lower: number,
  upper: number,
  buckets: Bucket[],
): { value: number; forced: boolean } {
  const norm = normalize(buckets);
  if (!norm) return { value: NaN, forced: false };
  const { merged, forced } = norm;
  const total = merged[merged.length - 1]!.count;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return { value: NaN, forced };
  if (lower >= upper) return { value: 0, forced };
  return { value: (rankAt(upper, merged) - rankAt(lower, merged)) / total, forced };
}

/** Interpolated count of observations at or below x. */
function rankAt(x: number, merged: Bucket[]): number {
  const total = merged[merged.length - 1]!.count;
  if (x === Infinity) return total;
  let below = 0;
  let from = merged[0]!.upper > 0 ? 0 : -Infinity;
  for (const b of merged) {
    if (x <= from) return below;
    if (x < b.upper) {
      // Inside an unbounded bucket the position is unknown, except that +Inf holds nothing finite.
      if (b.upper === Infinity) return below;
      if (from === -Infinity) return NaN;
      return below + ((b.count - below) * (x - from)) / (b.upper - from);
    }
    below = b.count;
    from = b.upper;
  }
  return total;
}

/** Parses an `le` value the way Go's strconv.ParseFloat does for the forms exporters write. */
export function parseBucketBound(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) return Number(s);
  return undefined;
}

interface ClassicHistogram {
  /** Output labels: without `le` and `__name__`. */
  readonly labels: Labels;
  readonly name: string;
  readonly members: { s: StepSeries; le: number }[];
}

function groupBuckets(v: VectorValue, report: HistogramReport): ClassicHistogram[] {
  const groups = new Map<string, ClassicHistogram>();
  for (const s of v.series) {
    const leStr = s.labels.le ?? '';
    const le = parseBucketBound(leStr);
    if (le === undefined) {
      report.badBucketLabel(s.labels[METRIC_NAME] ?? '', leStr);
      continue;
    }
    const rest: Record<string, string> = { ...s.labels };
    delete rest.le;
    const key = labelsKey(rest);
    let grp = groups.get(key);
    if (!grp) {
      const name = rest[METRIC_NAME] ?? '';
      delete rest[METRIC_NAME];
      groups.set(key, (grp = { labels: rest, name, members: [] }));
    }
    grp.members.push({ s, le });
  }
  return [...groups.values()];
}

/** Evaluates one value per histogram and step from that step's buckets. */
function perHistogram(
  v: VectorValue,
  g: Grid,
  report: HistogramReport,
  fn: (buckets: Bucket[], i: number) => { value: number; forced: boolean },
): StepSeries[] {
  const out: StepSeries[] = [];
  for (const grp of groupBuckets(v, report)) {
    const o = newSeries(grp.labels, g.n);
    let any = false;
    let forced = false;
    for (let i = 0; i < g.n; i++) {
      const buckets: Bucket[] = [];
      for (const m of grp.members) if (m.s.has[i]) buckets.push({ upper: m.le, count: m.s.vals[i]! });
      if (!buckets.length) continue;
      const r = fn(buckets, i);
      o.vals[i] = r.value;
      o.has[i] = 1;
      any = true;
      forced ||= r.forced;
    }
    if (forced) report.forcedMonotonicity(grp.name);
    if (any) out.push(o);
  }
  // Two histograms whose labels only differ by name collide once the name is gone.
  return mergeSameLabels(out);
}

/** histogram_quantile over classic histograms. */
export function histogramQuantile(
  q: Float64Array,
  v: VectorValue,
  g: Grid,
  report: HistogramReport,
): StepSeries[] {
  return perHistogram(v, g, report, (b, i) => bucketQuantile(q[i]!, b));
}

/** histogram_fraction over classic histograms. */
export function histogramFraction(
  lower: Float64Array,
  upper: Float64Array,
  v: VectorValue,
  g: Grid,
  report: HistogramReport,
): StepSeries[] {
  return perHistogram(v, g, report, (b, i) => bucketFraction(lower[i]!, upper[i]!, b));
}
