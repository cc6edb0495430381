/** The latest value of each series, big, coloured by thresholds, over a sparkline of the range. */
import { useMemo } from 'react';
import { Sparkline } from '../../../components/Sparkline.tsx';
import { formatValue, legendFor } from '../../../lib/format.ts';
import { useRangeQueries } from '../../../lib/queries.ts';
import { thresholdColor } from '../model.ts';
import { useReport, useSize, type BodyProps, type QueryError } from '../panelData.ts';
import { fitFontSize, lastValue, tileGrid } from '../panelMath.ts';
import { emptyState } from './common.tsx';

const MAX_TILES = 24;

export function StatPanel({ panel, prepared, ctx, enabled, report }: BodyProps) {
  const r = useRangeQueries(prepared.queries, ctx.range, { points: prepared.points, enabled });
  const [ref, size] = useSize<HTMLDivElement>();
  const o = panel.options ?? {};
  const errors: QueryError[] = [];
  r.errors.forEach(
    (e, i) => e !== undefined && errors.push({ index: prepared.queries[i]?.index ?? i, error: e }),
  );
  useReport(report, { ready: r.ready, loading: r.loading, errors, warnings: r.warnings });

  const legends = prepared.queries.map((q) => q.legend ?? '').join('\u0000');
  const tiles = useMemo(
    () =>
      r.data.series.slice(0, MAX_TILES).map((s) => ({
        key: s.key,
        label: legendFor(prepared.queries[s.query]?.legend, s.metric),
        values: s.values,
        last: lastValue(s.values),
      })),
    [r.data, legends],
  );
  const state = emptyState({
    hasQueries: prepared.queries.length > 0,
    waiting: prepared.waiting,
    ready: r.ready,
    errors,
    dataCount: tiles.length,
    queryCount: prepared.queries.length,
  });
  const { cols, rows } = tileGrid(tiles.length, size.width, size.height);
  const tileW = size.width / cols;
  const tileH = size.height / rows;
  const showLabel = tiles.length > 1;
  return (
    <div
      className="stat-body"
      ref={ref}
      style={{ gridTemplateColumns: `repeat(${cols}, 1fr)`, gridTemplateRows: `repeat(${rows}, 1fr)` }}
    >
      {state ??
        (size.width > 0 &&
          tiles.map((t) => {
            const text = formatValue(t.last, o.unit, o.decimals);
            const color = thresholdColor(t.last, o.thresholds);
            const fs = fitFontSize(text.length, tileW - 16, (tileH - (showLabel ? 18 : 0)) * 0.9, 12, 64);
            return (
              <div className="stat-tile" key={t.key} data-value={t.last ?? ''}>
                {showLabel && (
                  <span className="stat-label" title={t.label}>
                    {t.label}
                  </span>
                )}
                <span className="stat-value" style={{ fontSize: fs, color }}>
                  {text}
                </span>
                {tileH > 70 && (
                  <span className="stat-spark">
                    <Sparkline
                      values={t.values}
                      width={Math.max(20, Math.floor(tileW - 8))}
                      height={Math.max(16, Math.min(40, Math.floor(tileH * 0.28)))}
                      color={color ?? 'var(--accent)'}
                    />
                  </span>
                )}
              </div>
            );
          }))}
    </div>
  );
}
