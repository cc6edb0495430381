/** The value of each series at the end of the range as horizontal bars, largest first. */
import { useMemo } from 'react';
import { colorFor } from '../../../lib/series.ts';
import { formatValue, legendFor, parseSampleValue } from '../../../lib/format.ts';
import { thresholdColor } from '../model.ts';
import { useInstantQueries, useReport, type BodyProps } from '../panelData.ts';
import { barPercent } from '../panelMath.ts';
import { emptyState } from './common.tsx';

const MAX_BARS = 200;

export function BarPanel({ panel, prepared, ctx, enabled, report }: BodyProps) {
  const r = useInstantQueries(prepared, ctx.range, enabled);
  useReport(report, r);
  const o = panel.options ?? {};
  const bars = useMemo(
    () =>
      r.samples
        .flatMap((list, qi) =>
          list.map((s) => ({
            key: `${qi}\u0000${JSON.stringify(s.metric)}`,
            query: qi,
            label: legendFor(prepared.queries[qi]?.legend, s.metric),
            value: parseSampleValue(s.value[1]),
          })),
        )
        .sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : b.value - a.value)),
    [r.samples, prepared.queries],
  );
  const state = emptyState({
    hasQueries: prepared.queries.length > 0,
    waiting: prepared.waiting,
    ready: r.ready,
    errors: r.errors,
    dataCount: bars.length,
    queryCount: prepared.queries.length,
  });
  if (state) return <div className="bar-body">{state}</div>;
  let max = o.max ?? 0;
  if (o.max === undefined) for (const b of bars) if (Number.isFinite(b.value) && b.value > max) max = b.value;
  const shown = bars.slice(0, MAX_BARS);
  return (
    <div className="bar-body" role="list">
      {shown.map((b) => (
        <div className="bar-row" role="listitem" key={b.key}>
          <span className="bar-label" title={b.label}>
            {b.label}
          </span>
          <span className="bar-track">
            <span
              className="bar-fill"
              style={{
                width: `${barPercent(b.value, max)}%`,
                background: thresholdColor(b.value, o.thresholds) ?? colorFor(b.query),
              }}
            />
          </span>
          <span className="bar-value">{formatValue(b.value, o.unit, o.decimals)}</span>
        </div>
      ))}
      {bars.length > shown.length && <p className="muted bar-more">and {bars.length - shown.length} more</p>}
    </div>
  );
}
