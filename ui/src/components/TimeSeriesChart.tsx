/**
 * A time-series chart on uPlot's canvas renderer: fast with hundreds of series and tens of thousands of
 * points. Gaps (null) are never bridged; drag to zoom; a tooltip lists the values under the cursor.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from '../lib/format.ts';
import { colorFor, stack, type ChartData } from '../lib/series.ts';
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
  opts: () => ChartOptions & { hidden?: ReadonlySet<string> },
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
        const rows: { label: string; v: number; color: string }[] = [];
        data.series.forEach((s, i) => {
          if (o.hidden?.has(s.key)) return;
          const v = s.values[idx];
          if (v === null || v === undefined) return;
          rows.push({ label: s.label, v, color: (u.series[i + 1]?.stroke as () => string)?.() ?? '#888' });
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

export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const { data, hidden, height, stacked, log, unit, decimals, min, max } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
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
    const series: uPlot.Series[] = [
      {},
      ...data.series.map((s, i) => {
        const color = colorFor(pick(s.key, i));
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
              range: (_u, dmin, dmax) => [
                min ?? (dmin === dmax ? dmin - 1 : Math.min(0, dmin)),
                max ?? (dmin === dmax ? dmax + 1 : dmax),
              ],
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
        tooltipPlugin(
          () => latest.current.data,
          () => ({ ...latest.current.props, hidden: latest.current.props.hidden }),
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

  useEffect(() => {
    plot.current?.setData(columns);
  }, [columns]);

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
