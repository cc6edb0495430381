/** Small layout and reduction helpers for the stat, gauge and bar panels. Pure, tested under Node. */

/** The last non-null value of a series, or null. */
export function lastValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--)
    if (values[i] !== null && values[i] !== undefined) return values[i]!;
  return null;
}

/**
 * Columns and rows to lay out `n` tiles in a `width`×`height` box so that the smaller side of a tile is as
 * large as possible (stats and gauges stay readable whatever the panel's shape).
 */
export function tileGrid(n: number, width: number, height: number): { cols: number; rows: number } {
  if (n <= 1) return { cols: 1, rows: 1 };
  let best = { cols: 1, rows: n, score: -1 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const score = Math.min(width / cols, height / rows);
    if (score > best.score) best = { cols, rows, score };
  }
  return { cols: best.cols, rows: best.rows };
}

/** A font size (px) that fits `chars` characters in a `width`×`height` box, within [min, max]. */
export function fitFontSize(chars: number, width: number, height: number, min = 12, max = 72): number {
  const byWidth = width / (Math.max(1, chars) * 0.62);
  const byHeight = height * 0.5;
  return Math.round(Math.max(min, Math.min(max, byWidth, byHeight)));
}

/** Width of a bar in percent of the track, for values from 0 (or a negative minimum) to the maximum. */
export function barPercent(value: number, max: number): number {
  if (!(max > 0) || !Number.isFinite(value) || value <= 0) return 0;
  return Math.min(100, (value / max) * 100);
}
