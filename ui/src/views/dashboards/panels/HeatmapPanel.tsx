/**
 * Classic histogram buckets over time: one column per step, one row per bucket, each cell coloured by the
 * number of observations in that bucket (de-cumulated from the `le` series). Drawn on a plain canvas; the
 * tooltip names the bucket range, time and count.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTheme } from '../../../app/theme.tsx';
import { formatValue } from '../../../lib/format.ts';
import { useRangeQueries } from '../../../lib/queries.ts';
import { buildHeatmap, formatBound, intensity, type HeatmapData } from '../heatmap.ts';
import { useReport, useSize, type BodyProps, type QueryError } from '../panelData.ts';
import { emptyState, PanelState } from './common.tsx';

const PAD = { left: 58, right: 8, top: 6, bottom: 22 };

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function rgba(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function timeLabel(sec: number, spanS: number): string {
  const d = new Date(sec * 1000);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  return spanS > 2 * 86400 ? `${d.getMonth() + 1}/${d.getDate()} ${hm}` : hm;
}

function draw(canvas: HTMLCanvasElement, h: HeatmapData, width: number, height: number, unit?: string) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  if (!g) return;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  const accent = cssVar('--accent', '#2f6fd1');
  const muted = cssVar('--fg-muted', '#777');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const nT = h.times.length;
  const nB = h.buckets.length;
  if (plotW <= 0 || plotH <= 0 || nT === 0 || nB === 0) return;
  const cw = plotW / nT;
  const rh = plotH / nB;
  g.fillStyle = grid;
  g.fillRect(PAD.left, PAD.top, plotW, plotH);
  for (let b = 0; b < nB; b++) {
    const row = h.counts[b]!;
    const y = PAD.top + plotH - (b + 1) * rh;
    for (let t = 0; t < nT; t++) {
      const c = row[t];
      if (c === null || c === undefined || c <= 0) continue;
      g.fillStyle = rgba(accent, 0.12 + 0.88 * intensity(c, h.max));
      // Cells overlap by a pixel fraction so no hairline gaps appear between them.
      g.fillRect(PAD.left + t * cw, y, Math.max(1, cw + 0.5), Math.max(1, rh + 0.5));
    }
  }
  g.font = `11px ${cssVar('--font', 'sans-serif')}`;
  g.fillStyle = muted;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  const every = Math.max(1, Math.ceil(14 / rh));
  for (let b = 0; b < nB; b += every) {
    const y = PAD.top + plotH - b * rh - rh / 2;
    g.fillText(formatBoundUnit(h.buckets[b]!.hi, unit), PAD.left - 6, y);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const spanS = (h.times[nT - 1] ?? 0) - (h.times[0] ?? 0);
  const labels = Math.max(2, Math.floor(plotW / 90));
  for (let i = 0; i < labels; i++) {
    const t = Math.round((i / (labels - 1)) * (nT - 1));
    const x = Math.min(width - 24, Math.max(PAD.left + 16, PAD.left + t * cw + cw / 2));
    g.fillText(timeLabel(h.times[t]!, spanS), x, PAD.top + plotH + 6);
  }
}

function formatBoundUnit(v: number, unit?: string): string {
  return Number.isFinite(v) && unit ? formatValue(v, unit) : formatBound(v);
}

export function HeatmapPanel({ panel, prepared, ctx, enabled, report }: BodyProps) {
  const r = useRangeQueries(prepared.queries, ctx.range, { points: prepared.points, enabled });
  const errors: QueryError[] = [];
  r.errors.forEach(
    (e, i) => e !== undefined && errors.push({ index: prepared.queries[i]?.index ?? i, error: e }),
  );
  useReport(report, { ready: r.ready, loading: r.loading, errors, warnings: r.warnings });
  const heat = useMemo(() => buildHeatmap(r.data), [r.data]);
  const [ref, size] = useSize<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const { theme } = useTheme();
  const unit = panel.options?.unit;
  const [tip, setTip] = useState<{ x: number; y: number; t: number; b: number }>();

  useEffect(() => {
    if (canvas.current && size.width > 0 && size.height > 0)
      draw(canvas.current, heat, size.width, size.height, unit);
  }, [heat, size.width, size.height, theme, unit]);

  const state = emptyState({
    hasQueries: prepared.queries.length > 0,
    waiting: prepared.waiting,
    ready: r.ready,
    errors,
    dataCount: r.data.series.length,
    queryCount: prepared.queries.length,
  });
  const noBuckets = !state && heat.buckets.length === 0;

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - rect.left - PAD.left;
    const y = e.clientY - rect.top - PAD.top;
    const plotW = size.width - PAD.left - PAD.right;
    const plotH = size.height - PAD.top - PAD.bottom;
    if (x < 0 || y < 0 || x >= plotW || y >= plotH || heat.times.length === 0 || heat.buckets.length === 0) {
      setTip(undefined);
      return;
    }
    const t = Math.floor((x / plotW) * heat.times.length);
    const b = heat.buckets.length - 1 - Math.floor((y / plotH) * heat.buckets.length);
    setTip({ x: e.clientX - rect.left, y: e.clientY - rect.top, t, b });
  };

  const tipBucket = tip ? heat.buckets[tip.b] : undefined;
  const tipCount = tip ? heat.counts[tip.b]?.[tip.t] : undefined;
  return (
    <div className="heatmap-body" ref={ref}>
      {state ??
        (noBuckets ? (
          <PanelState>
            A heatmap needs classic histogram buckets: series with an <code>le</code> label, for example{' '}
            <code>sum by (le) (rate(http_request_duration_seconds_bucket[$__rate_interval]))</code>.
          </PanelState>
        ) : (
          <>
            <canvas
              ref={canvas}
              className="heatmap-canvas"
              data-buckets={heat.buckets.length}
              data-steps={heat.times.length}
              onMouseMove={onMove}
              onMouseLeave={() => setTip(undefined)}
              aria-label={`Heatmap of ${heat.buckets.length} buckets over ${heat.times.length} steps`}
              role="img"
            />
            {tip && tipBucket && (
              <div
                className="chart-tip heatmap-tip"
                style={{
                  left: tip.x + 14 + 200 > size.width ? Math.max(0, tip.x - 214) : tip.x + 14,
                  top: Math.max(0, Math.min(tip.y - 10, size.height - 76)),
                }}
              >
                <div className="tip-time">{new Date(heat.times[tip.t]! * 1000).toLocaleString()}</div>
                <div className="tip-row">
                  <span className="tip-name">Bucket</span>
                  <span className="tip-val">
                    ({formatBoundUnit(tipBucket.lo, unit)}, {formatBoundUnit(tipBucket.hi, unit)}]
                  </span>
                </div>
                <div className="tip-row">
                  <span className="tip-name">Count</span>
                  <span className="tip-val">
                    {tipCount === null || tipCount === undefined ? '–' : formatValue(tipCount)}
                  </span>
                </div>
              </div>
            )}
          </>
        ))}
      {heat.ignored > 0 && !state && !noBuckets && (
        <span className="heatmap-note warning">{heat.ignored} series without an le label were left out</span>
      )}
    </div>
  );
}
