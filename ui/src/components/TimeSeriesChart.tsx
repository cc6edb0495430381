/**
 * A time-series chart on uPlot's canvas renderer: fast with hundreds of series and tens of thousands of
 * points. Gaps (null) are never bridged; drag to zoom; a tooltip lists the values under the cursor.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from '../lib/format.ts';
import { colorFor, stack, type ChartData } from '../lib/series.ts';
import type { ChartBands } from '../lib/anomaly.ts';
import { useTheme } from '../app/theme.tsx';

export interface ChartOptions {
  readonly stacked?: boolean;
  readonly log?: boolean;
  readonly unit?: string;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface TimeSeriesChartProps extends ChartOptions {
  readonly data: ChartData;
  /** Keys of series the legend has switched off. */
  readonly hidden?: ReadonlySet<string>;
  readonly height: number;
  /** Called with the dragged range in milliseconds. */
  readonly onZoom?: (startMs: number, endMs: number) => void;
  /** Chart colour index per series key, so the legend and chart agree. */
  readonly colorIndex?: (key: string, i: number) => number;
  /** Points drawn over the lines as buttons (exemplars); those outside the plotted area are not shown. */
  readonly markers?: readonly ChartMarker[];
  readonly onMarker?: (m: ChartMarker) => void;
  /**
   * Anomaly bands by series key: the expected band is filled under the series, anomalous points are red
   * dots over it, and the tooltip gives each point's score. Not drawn on stacked charts.
   */
  readonly bands?: ChartBands;
}

export interface ChartMarker {
  /** Seconds since the epoch. */
  readonly t: number;
  readonly v: number;
  /** Unique among the chart's markers. */
  readonly id: string;
  /** Accessible name and tooltip (text, never markup). */
  readonly label: string;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function tooltipPlugin(
  getData: () => ChartData,
  opts: () => ChartOptions & { hidden?: ReadonlySet<string>; bands?: ChartBands },
): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'chart-tip';
        tip.style.display = 'none';
        u.over.appendChild(tip);
        u.over.addEventListener('mouseleave', () => (tip.style.display = 'none'));
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        const data = getData();
        if (idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
          tip.style.display = 'none';
          return;
        }
        const o = opts();
        const rows: { label: string; v: number; color: string; score?: number | null }[] = [];
        data.series.forEach((s, i) => {
          if (o.hidden?.has(s.key)) return;
          const v = s.values[idx];
          if (v === null || v === undefined) return;
          rows.push({
            label: s.label,
            v,
            color: (u.series[i + 1]?.stroke as () => string)?.() ?? '#888',
            score: o.stacked ? undefined : o.bands?.get(s.key)?.score[idx],
          });
        });
        if (rows.length === 0) {
          tip.style.display = 'none';
          return;
        }
        rows.sort((a, b) => b.v - a.v);
        const shown = rows.slice(0, 12);
        tip.replaceChildren();
        const head = document.createElement('div');
        head.className = 'tip-time';
        head.textContent = new Date(data.times[idx]! * 1000).toLocaleString();
        tip.appendChild(head);
        for (const r of shown) {
          const row = document.createElement('div');
          row.className = 'tip-row';
          const sw = document.createElement('span');
          sw.className = 'swatch';
          sw.style.background = r.color;
          const name = document.createElement('span');
          name.className = 'tip-name';
          name.textContent = r.label; // textContent: label values are data, never markup
          const val = document.createElement('span');
          val.className = 'tip-val';
          val.textContent = formatValue(r.v, o.unit, o.decimals);
          row.append(sw, name, val);
          if (r.score !== undefined && r.score !== null) {
            const sc = document.createElement('span');
            sc.className = 'tip-score';
            sc.textContent = `score ${r.score.toFixed(2)}`;
            // Styled here, like the markers, so every view's charts show it alike.
            Object.assign(sc.style, {
              fontFamily: 'var(--mono)',
              fontSize: '11px',
              color: r.score >= 0.5 ? 'var(--bad)' : 'var(--fg-muted)',
              fontWeight: r.score >= 0.5 ? '600' : '400',
            });
            row.appendChild(sc);
          }
          tip.appendChild(row);
        }
        if (rows.length > shown.length) {
          const more = document.createElement('div');
          more.className = 'tip-more';
          more.textContent = `and ${rows.length - shown.length} more`;
          tip.appendChild(more);
        }
        tip.style.display = 'block';
        const left = u.cursor.left;
        const top = u.cursor.top ?? 0;
        const w = tip.offsetWidth;
        tip.style.left = `${left + 16 + w > u.over.clientWidth ? Math.max(0, left - w - 16) : left + 16}px`;
        tip.style.top = `${Math.max(0, Math.min(top, u.over.clientHeight - tip.offsetHeight))}px`;
      },
    },
  };
}

/** Places one button per marker over the plot; rerun after every redraw (scales or size may change). */
function markersPlugin(get: () => TimeSeriesChartProps): { plugin: uPlot.Plugin; place(u: uPlot): void } {
  let layer: HTMLDivElement | undefined;
  const place = (u: uPlot) => {
    if (!layer) return;
    const { markers = [], onMarker } = get();
    layer.replaceChildren();
    const w = u.over.clientWidth;
    const h = u.over.clientHeight;
    for (const m of markers) {
      const x = u.valToPos(m.t, 'x');
      const y = u.valToPos(m.v, 'y');
      if (!Number.isFinite(x) || !Number.isFinite(y) || x < 0 || x > w || y < 0 || y > h) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'chart-marker';
      // Styled here so any view showing a chart gets the same diamonds without its own stylesheet.
      Object.assign(b.style, {
        position: 'absolute',
        left: `${x}px`,
        top: `${y}px`,
        width: '10px',
        height: '10px',
        padding: '0',
        transform: 'translate(-50%, -50%) rotate(45deg)',
        background: 'var(--accent)',
        border: '1.5px solid var(--panel)',
        borderRadius: '2px',
        cursor: 'pointer',
        zIndex: '5',
      });
      b.title = m.label; // text, never markup
      b.setAttribute('aria-label', m.label);
      b.dataset.marker = m.id;
      b.addEventListener('click', (e) => {
        e.stopPropagation();
        onMarker?.(m);
      });
      // Keep uPlot's drag-to-zoom from starting on a marker.
      b.addEventListener('mousedown', (e) => e.stopPropagation());
      layer.appendChild(b);
    }
    layer.dataset.count = String(layer.childElementCount);
  };
  return {
    place,
    plugin: {
      hooks: {
        init: (u) => {
          layer = document.createElement('div');
          layer.className = 'chart-markers';
          u.over.appendChild(layer);
        },
        draw: (u) => place(u),
      },
    },
  };
}

/** The y extent of the visible bands, so the scale shows a band whole and not only the series. */
function bandExtent(
  data: ChartData,
  bands: ChartBands | undefined,
  hidden: ReadonlySet<string> | undefined,
): [number, number] | undefined {
  if (!bands?.size) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of data.series) {
    const b = bands.get(s.key);
    if (!b || hidden?.has(s.key)) continue;
    for (const v of b.lower) if (v !== null && v < lo) lo = v;
    for (const v of b.upper) if (v !== null && v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/**
 * Draws anomaly bands under the series (uPlot's drawAxes hook runs after the grid, before the lines) and
 * anomalous points over them (draw hook). Canvas only, one path per band: cheap at any number of points.
 * Records what it drew on the chart element (`data-anomaly-bands`, `data-anomalies`) for tests.
 */
function anomalyPlugin(
  get: () => TimeSeriesChartProps,
  el: HTMLElement,
  colors: string[],
  /** Fill opacity: a dark background needs a little more to show the band. */
  alpha: number,
): uPlot.Plugin {
  const visible = (u: uPlot) => {
    const { data, bands, hidden, stacked } = get();
    if (!bands?.size || stacked) return [];
    return data.series
      .map((s, i) => ({ s, i, b: bands.get(s.key) }))
      .filter((x) => x.b && !hidden?.has(x.s.key) && u.series[x.i + 1]?.show !== false);
  };
  const yPos = (u: uPlot, v: number) => {
    const min = u.scales.y.min ?? v;
    // A log scale cannot place zero or less: such a bound sits at the bottom of the plot.
    return u.valToPos(get().log && v <= 0 ? min : v, 'y', true);
  };
  return {
    hooks: {
      drawAxes: (u) => {
        const list = visible(u);
        const { ctx } = u;
        const times = u.data[0] as number[];
        ctx.save();
        ctx.beginPath();
        ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
        ctx.clip();
        for (const { i, b } of list) {
          ctx.fillStyle = withAlpha(colors[i]!, alpha);
          // One closed shape per run of points that have a band; a gap ends the run (never bridged).
          let runStart = -1;
          const flush = (endExcl: number) => {
            if (runStart < 0) return;
            ctx.beginPath();
            for (let k = runStart; k < endExcl; k++) {
              const x = u.valToPos(times[k]!, 'x', true);
              const y = yPos(u, b!.upper[k]!);
              if (k === runStart) ctx.moveTo(x, y);
              else ctx.lineTo(x, y);
            }
            for (let k = endExcl - 1; k >= runStart; k--)
              ctx.lineTo(u.valToPos(times[k]!, 'x', true), yPos(u, b!.lower[k]!));
            ctx.closePath();
            ctx.fill();
            runStart = -1;
          };
          for (let k = 0; k < times.length; k++) {
            const ok = b!.lower[k] !== null && b!.upper[k] !== null;
            if (ok && runStart < 0) runStart = k;
            else if (!ok) flush(k);
          }
          flush(times.length);
        }
        ctx.restore();
        el.dataset.anomalyBands = String(list.length);
      },
      draw: (u) => {
        const list = visible(u);
        const { ctx } = u;
        const times = u.data[0] as number[];
        const red = cssVar('--bad', '#c93b3b');
        const ring = cssVar('--panel', '#fff');
        const r = 4 * devicePixelRatio;
        let drawn = 0;
        ctx.save();
        ctx.lineWidth = 1.5 * devicePixelRatio;
        for (const { s, b } of list) {
          for (const k of b!.anomalies) {
            const v = s.values[k];
            if (v === null || v === undefined) continue;
            const x = u.valToPos(times[k]!, 'x', true);
            const y = yPos(u, v);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            if (y < u.bbox.top - r || y > u.bbox.top + u.bbox.height + r) continue;
            ctx.beginPath();
            ctx.arc(x, y, r, 0, 2 * Math.PI);
            ctx.fillStyle = red;
            ctx.fill();
            ctx.strokeStyle = ring;
            ctx.stroke();
            drawn++;
          }
        }
        ctx.restore();
        el.dataset.anomalies = String(drawn);
      },
    },
  };
}

export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const { data, hidden, height, stacked, log, unit, decimals, min, max } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const placeMarkers = useRef<((u: uPlot) => void) | null>(null);
  const latest = useRef({ data, props });
  latest.current = { data, props };
  const { theme } = useTheme();

  // The chart is rebuilt only when its shape changes; new data for the same series is a cheap setData.
  const shape = useMemo(
    () =>
      `${data.series.map((s) => s.key).join('\u0001')}|${stacked}|${log}|${unit}|${decimals}|${min}|${max}|${theme}|${height}`,
    [data.series, stacked, log, unit, decimals, min, max, theme, height],
  );

  const columns = useMemo(() => {
    const visible = data.series.map((s) => !hidden?.has(s.key));
    let vals = data.series.map((s, i) => (visible[i] ? s.values : s.values.map(() => null)));
    if (log) vals = vals.map((vs) => vs.map((v) => (v !== null && v > 0 ? v : null)));
    if (stacked) vals = stack(vals);
    return [data.times, ...vals] as uPlot.AlignedData;
  }, [data, hidden, stacked, log]);

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const axisColor = cssVar('--fg-muted', '#777');
    const gridColor = cssVar('--grid', 'rgba(128,128,128,0.15)');
    const pick = props.colorIndex ?? ((_k: string, i: number) => i);
    const marks = markersPlugin(() => latest.current.props);
    placeMarkers.current = marks.place;
    const colors = data.series.map((s, i) => colorFor(pick(s.key, i)));
    const series: uPlot.Series[] = [
      {},
      ...data.series.map((s, i) => {
        const color = colors[i]!;
        return {
          label: s.label,
          stroke: color,
          width: 1.25,
          fill: stacked ? withAlpha(color, 0.35) : undefined,
          spanGaps: false,
          points: { show: false },
        } satisfies uPlot.Series;
      }),
    ];
    const bands: uPlot.Band[] = stacked
      ? data.series.slice(1).map((_s, i) => ({ series: [i + 2, i + 1] }))
      : [];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series,
      bands,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: true },
        y: log
          ? { distr: 3, log: 10 }
          : {
              range: (_u, dmin0, dmax0) => {
                // The bands (when shown) count as data, so they are not cut off at the top or bottom.
                const p = latest.current.props;
                const ext = p.stacked ? undefined : bandExtent(p.data, p.bands, p.hidden);
                const dmin = ext && Number.isFinite(dmin0) ? Math.min(dmin0, ext[0]) : dmin0;
                let dmax = ext && Number.isFinite(dmax0) ? Math.max(dmax0, ext[1]) : dmax0;
                // Headroom, so a marked point at the top is drawn whole.
                if (ext && dmax > dmin) dmax += (dmax - Math.min(0, dmin)) * 0.04;
                return [
                  min ?? (dmin === dmax ? dmin - 1 : Math.min(0, dmin)),
                  max ?? (dmin === dmax ? dmax + 1 : dmax),
                ];
              },
            },
      },
      axes: [
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor, width: 1 },
          space: 80,
        },
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor, width: 1 },
          // Wide enough for the longest label ("1.25 GiB", "400 req/s"), so nothing is clipped.
          size: (u, values) => {
            if (!values?.length) return 48;
            u.ctx.font = `${12 * devicePixelRatio}px ${cssVar('--font', 'system-ui')}`;
            const widest = Math.max(...values.map((v) => u.ctx.measureText(v).width)) / devicePixelRatio;
            return Math.ceil(widest) + 18;
          },
          values: (_u, splits) => splits.map((v) => formatValue(v, unit, decimals)),
        },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width > 4) {
              const a = u.posToVal(u.select.left, 'x');
              const b = u.posToVal(u.select.left + u.select.width, 'x');
              latest.current.props.onZoom?.(a * 1000, b * 1000);
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
      },
      plugins: [
        anomalyPlugin(() => latest.current.props, el, colors, theme === 'dark' ? 0.24 : 0.16),
        marks.plugin,
        tooltipPlugin(
          () => latest.current.data,
          () => ({
            ...latest.current.props,
            hidden: latest.current.props.hidden,
            bands: latest.current.props.bands,
          }),
        ),
      ],
    };
    const u = new uPlot(opts, columns, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]); // rebuild on shape change only

  // New bands rescale (they count as data for the y range) and redraw, like new data.
  useEffect(() => {
    plot.current?.setData(columns);
  }, [columns, props.bands]);

  useEffect(() => {
    if (plot.current) placeMarkers.current?.(plot.current);
  }, [props.markers]);

  return (
    <div
      className="chart"
      ref={host}
      style={{ height }}
      data-series={data.series.length}
      data-points={data.times.length}
    />
  );
}
