/** The value at the end of the range on a 270° arc between min and max, with threshold bands. */
import { formatValue, legendFor, parseSampleValue } from '../../../lib/format.ts';
import { arcPath, fraction, gaugeBounds, thresholdBands } from '../gauge.ts';
import { thresholdColor } from '../model.ts';
import { useInstantQueries, useReport, useSize, type BodyProps } from '../panelData.ts';
import { tileGrid } from '../panelMath.ts';
import { emptyState } from './common.tsx';

const MAX_GAUGES = 12;

export function GaugePanel({ panel, prepared, ctx, enabled, report }: BodyProps) {
  const r = useInstantQueries(prepared, ctx.range, enabled);
  const [ref, size] = useSize<HTMLDivElement>();
  const o = panel.options ?? {};
  useReport(report, r);
  const items = r.samples
    .flatMap((list, qi) =>
      list.map((s) => ({
        key: `${qi}\u0000${JSON.stringify(s.metric)}`,
        label: legendFor(prepared.queries[qi]?.legend, s.metric),
        value: parseSampleValue(s.value[1]),
      })),
    )
    .slice(0, MAX_GAUGES);
  const state = emptyState({
    hasQueries: prepared.queries.length > 0,
    waiting: prepared.waiting,
    ready: r.ready,
    errors: r.errors,
    dataCount: items.length,
    queryCount: prepared.queries.length,
  });
  const { min, max } = gaugeBounds(
    o,
    items.map((i) => i.value),
  );
  const bands = thresholdBands(o.thresholds, min, max);
  const { cols, rows } = tileGrid(items.length, size.width, size.height);
  return (
    <div
      className="gauge-body"
      ref={ref}
      style={{ gridTemplateColumns: `repeat(${cols}, 1fr)`, gridTemplateRows: `repeat(${rows}, 1fr)` }}
    >
      {state ??
        items.map((it) => {
          const f = fraction(it.value, min, max);
          const color = thresholdColor(it.value, o.thresholds) ?? 'var(--accent)';
          const text = formatValue(it.value, o.unit, o.decimals);
          return (
            <figure className="gauge" key={it.key} data-value={it.value}>
              <svg viewBox="0 0 200 172" role="img" aria-label={`${it.label}: ${text}`}>
                <path d={arcPath(100, 100, 78, 0, 1)} className="gauge-track" />
                {bands.map((b, i) => (
                  <path
                    key={i}
                    d={arcPath(100, 100, 92, b.from, b.to)}
                    className="gauge-band"
                    style={{ stroke: b.color }}
                  />
                ))}
                <path d={arcPath(100, 100, 78, 0, f)} className="gauge-value" style={{ stroke: color }} />
                <text x="100" y="108" className="gauge-text" style={{ fontSize: text.length > 7 ? 24 : 30 }}>
                  {text}
                </text>
                <text x="66" y="158" className="gauge-bound">
                  {formatValue(min, o.unit, o.decimals)}
                </text>
                <text x="134" y="158" className="gauge-bound">
                  {formatValue(max, o.unit, o.decimals)}
                </text>
              </svg>
              {items.length > 1 && (
                <figcaption title={it.label} className="gauge-label">
                  {it.label}
                </figcaption>
              )}
            </figure>
          );
        })}
    </div>
  );
}
