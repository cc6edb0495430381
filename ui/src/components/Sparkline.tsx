/** A tiny SVG line for tables of many rows (hundreds of canvases would be slower than one path each). */
import { memo } from 'react';

export const Sparkline = memo(function Sparkline({
  values,
  width = 120,
  height = 28,
  color = 'var(--accent)',
}: {
  values: readonly (number | null)[];
  width?: number;
  height?: number;
  color?: string;
}) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return <svg className="spark" width={width} height={height} aria-hidden />;
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const n = Math.max(1, values.length - 1);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false; // a gap stays a gap
      return;
    }
    const x = (i / n) * (width - 2) + 1;
    const y = height - 2 - ((v - lo) / (hi - lo)) * (height - 4);
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  });
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden>
      <path d={d} fill="none" stroke={color} strokeWidth={1.5} strokeLinejoin="round" />
    </svg>
  );
});
