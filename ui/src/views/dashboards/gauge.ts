/**
 * Geometry of the gauge panel: a 270° arc open at the bottom, the value's position on it, and the coloured
 * threshold bands along its outer edge. Pure functions, tested under Node.
 */
import { cssColor, type Threshold } from './model.ts';

/** The arc starts bottom-left and sweeps clockwise to bottom-right (degrees, 0 = 3 o'clock, y down). */
export const START_ANGLE = 135;
export const SWEEP = 270;

/** The fraction [0, 1] of the arc for a value between min and max (clamped; 0 when min ≥ max). */
export function fraction(value: number, min: number, max: number): number {
  if (!(max > min) || Number.isNaN(value)) return 0;
  return Math.min(1, Math.max(0, (value - min) / (max - min)));
}

function point(cx: number, cy: number, r: number, deg: number): [number, number] {
  const rad = (deg * Math.PI) / 180;
  return [cx + r * Math.cos(rad), cy + r * Math.sin(rad)];
}

/** An SVG path for the arc between two fractions of the gauge (empty when they are equal). */
export function arcPath(cx: number, cy: number, r: number, f0: number, f1: number): string {
  if (!(f1 > f0)) return '';
  const a0 = START_ANGLE + SWEEP * f0;
  const a1 = START_ANGLE + SWEEP * f1;
  const [x0, y0] = point(cx, cy, r, a0);
  const [x1, y1] = point(cx, cy, r, a1);
  const large = a1 - a0 > 180 ? 1 : 0;
  const f = (n: number) => Number(n.toFixed(2));
  return `M ${f(x0)} ${f(y0)} A ${f(r)} ${f(r)} 0 ${large} 1 ${f(x1)} ${f(y1)}`;
}

export interface Band {
  readonly from: number;
  readonly to: number;
  readonly color: string;
}

/**
 * The threshold bands between min and max as fractions of the arc: below the first threshold the base
 * colour (`ok`), then each threshold's colour up to the next. Empty without thresholds.
 */
export function thresholdBands(
  thresholds: readonly Threshold[] | undefined,
  min: number,
  max: number,
): Band[] {
  if (!thresholds || thresholds.length === 0 || !(max > min)) return [];
  const sorted = [...thresholds].sort((a, b) => a.value - b.value);
  const bands: Band[] = [];
  let from = 0;
  let color = 'var(--ok)';
  for (const t of sorted) {
    const f = fraction(t.value, min, max);
    if (f > from) bands.push({ from, to: f, color });
    from = Math.max(from, f);
    color = cssColor(t.color) ?? color;
  }
  if (from < 1) bands.push({ from, to: 1, color });
  return bands;
}

/** Default bounds: 0–100, or 0–1 for ratios; a value beyond the default maximum raises it. */
export function gaugeBounds(
  opts: { min?: number; max?: number; unit?: string },
  values: readonly number[],
): { min: number; max: number } {
  const min = opts.min ?? 0;
  let max = opts.max ?? (opts.unit === 'percentunit' ? 1 : 100);
  if (opts.max === undefined) for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  if (!(max > min)) max = min + 1;
  return { min, max };
}
