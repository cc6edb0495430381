/**
 * Comparing two systems' answers to the same range query (Prometheus API matrices), shared by the benchmarks
 * that check Vigil's answers against a peer's while timing them.
 */

/** One series of a `query_range` answer, as the Prometheus HTTP API returns it. */
export interface Matrix {
  metric: Record<string, string>;
  values: [number, string][];
}

/** Relative difference above which two answers count as different rather than as rounding/extrapolation noise. */
export const VALUE_TOLERANCE = 1e-3;

export interface Comparison {
  /** Differences worth a warning: missing series or points, values beyond VALUE_TOLERANCE. */
  readonly problems?: string;
  /** Largest relative difference of values at the same timestamp, and where. */
  readonly maxRel: number;
  readonly worst: string;
}

/** Compares two matrices by label set and timestamp. */
export function compareMatrices(a: Matrix[], b: Matrix[]): Comparison {
  const key = (m: Record<string, string>) =>
    JSON.stringify(Object.entries(m).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  const bByKey = new Map(b.map((m) => [key(m.metric), m]));
  let missing = 0;
  let pointsDiffer = 0;
  let maxRel = 0;
  let worst = '';
  for (const m of a) {
    const other = bByKey.get(key(m.metric));
    if (!other) {
      missing++;
      continue;
    }
    const bv = new Map(other.values.map(([t, v]) => [t, v]));
    if (bv.size !== m.values.length) pointsDiffer++;
    for (const [t, v] of m.values) {
      const w = bv.get(t);
      if (w === undefined) continue;
      const x = Number(v);
      const y = Number(w);
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      const rel = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-12);
      if (rel > maxRel || Number.isNaN(rel)) {
        maxRel = Number.isNaN(rel) ? Infinity : rel;
        worst = `${key(m.metric)} @${t}: ${v} vs ${w}`;
      }
    }
  }
  const problems: string[] = [];
  if (missing || a.length !== b.length)
    problems.push(`${a.length} vs ${b.length} series, ${missing} without a counterpart`);
  if (pointsDiffer) problems.push(`${pointsDiffer} series with a different number of points`);
  if (maxRel > VALUE_TOLERANCE)
    problems.push(`values differ up to ${(maxRel * 100).toPrecision(3)}% (${worst})`);
  return { problems: problems.length ? problems.join('; ') : undefined, maxRel, worst };
}
