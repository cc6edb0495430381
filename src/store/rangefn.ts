/**
 * PromQL window arithmetic shared by the engine, which summarises the samples of a window itself, and storages
 * that summarise windows next to the data (`Querier.selectRange`), so that both give bit-identical results.
 */

/**
 * rate(), increase() and delta() from a window's summary: `result` is the last value minus the first, plus for
 * counters the value before every reset (added in time order); `count` samples from `firstT` to `lastT`
 * (at least two), the first of value `firstV`; the window `(end - rangeMs, end]`. Prometheus extrapolates
 * towards the window's ends when samples come close enough to them. `legacy` applies the zero-point limit
 * before the threshold test, as Prometheus did up to 2.51.
 */
export function extrapolatedRate(
  result: number,
  count: number,
  firstT: number,
  lastT: number,
  firstV: number,
  end: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
  legacy: boolean,
): number {
  const rangeStart = end - rangeMs;
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (end - lastT) / 1000;
  const sampled = (lastT - firstT) / 1000;
  const avg = sampled / (count - 1);
  // Extrapolate to a boundary only if a sample sits within 1.1 average intervals of it; otherwise assume the
  // series starts or ends inside the window and extrapolate by half an interval.
  const threshold = avg * 1.1;
  // A counter cannot go below zero: do not extrapolate past the point where it would have been zero. Before
  // Prometheus 2.52 that limit was applied before the threshold test, which gives slightly different results.
  const durationToZero = isCounter && result > 0 && firstV >= 0 ? sampled * (firstV / result) : Infinity;
  if (legacy && durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  if (!legacy && durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  let factor = (sampled + durationToStart + durationToEnd) / sampled;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}
