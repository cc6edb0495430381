/** Lines (or stacked areas) over the time range, with a legend that toggles series. */
import { useMemo, useState } from 'react';
import { TimeSeriesChart } from '../../../components/TimeSeriesChart.tsx';
import { Legend } from '../../../components/Legend.tsx';
import { legendFor } from '../../../lib/format.ts';
import { useRangeQueries } from '../../../lib/queries.ts';
import { useReport, useSize, type BodyProps, type QueryError } from '../panelData.ts';
import { emptyState } from './common.tsx';

export function TimeSeriesPanel({ panel, prepared, ctx, enabled, report }: BodyProps) {
  const r = useRangeQueries(prepared.queries, ctx.range, {
    points: prepared.points,
    live: ctx.live,
    enabled,
  });
  const [hidden, setHidden] = useState<Set<string>>(() => new Set());
  const [ref, size] = useSize<HTMLDivElement>();
  const o = panel.options ?? {};

  // Legends can change without a new query (panel editor); label the series here from the current ones.
  const legends = prepared.queries.map((q) => q.legend ?? '').join('\u0000');
  const data = useMemo(
    () => ({
      times: r.data.times,
      series: r.data.series.map((s) => ({
        ...s,
        label: legendFor(prepared.queries[s.query]?.legend, s.metric),
      })),
    }),
    [r.data, legends],
  );
  const errors: QueryError[] = [];
  r.errors.forEach(
    (e, i) => e !== undefined && errors.push({ index: prepared.queries[i]?.index ?? i, error: e }),
  );
  useReport(report, { ready: r.ready, loading: r.loading, errors, warnings: r.warnings });

  const state = emptyState({
    hasQueries: prepared.queries.length > 0,
    waiting: prepared.waiting,
    ready: r.ready,
    errors,
    dataCount: data.series.length,
    queryCount: prepared.queries.length,
  });
  // Short panels give all their height to the chart.
  const showLegend = data.series.length > 0 && panel.grid.h >= 5;
  return (
    <div className="ts-body">
      <div className="ts-chart" ref={ref}>
        {state ??
          (size.height > 40 && (
            <TimeSeriesChart
              data={data}
              hidden={hidden}
              height={size.height}
              stacked={o.stacked}
              log={o.log}
              unit={o.unit}
              decimals={o.decimals}
              min={o.min}
              max={o.max}
              onZoom={ctx.onZoom}
            />
          ))}
      </div>
      {!state && showLegend && (
        <Legend series={data.series} hidden={hidden} onChange={setHidden} unit={o.unit} />
      )}
    </div>
  );
}
