/**
 * The waterfall of one trace: a collapsible span tree beside a time axis, bars coloured by service, the
 * critical path drawn under the bars, error origins and propagated errors marked, orphans, the synthetic
 * root and clock-skew corrections labelled. Only the rows in view are rendered, so 10,000 spans scroll as
 * smoothly as 10. Keyboard: arrows move and fold, Home/End, PageUp/PageDown.
 */
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { TraceDetail, TraceSpan } from '../../lib/traces.ts';
import { childFlags, formatUs, parentIndices, serviceColor, timeTicks, visibleRows } from './model.ts';

const ROW_H = 26;
const OVERSCAN = 12;
export const SYNTHETIC_ROOT = 'synthetic-root';

export interface WaterfallProps {
  readonly trace: TraceDetail;
  readonly selected?: string;
  onSelect(spanId: string): void;
}

export function Waterfall({ trace, selected, onSelect }: WaterfallProps) {
  const spans = trace.spans;
  const hasKids = useMemo(() => childFlags(spans), [spans]);
  const parents = useMemo(() => parentIndices(spans), [spans]);
  const indexOf = useMemo(() => new Map(spans.map((s, i) => [s.spanId, i])), [spans]);
  const critical = useMemo(() => {
    const m = new Map<string, { startUs: number; durationUs: number }[]>();
    for (const seg of trace.criticalPath ?? []) {
      const list = m.get(seg.spanId) ?? [];
      list.push(seg);
      m.set(seg.spanId, list);
    }
    return m;
  }, [trace.criticalPath]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const rows = useMemo(() => visibleRows(spans, collapsed), [spans, collapsed]);
  const rowOf = useMemo(() => new Map(rows.map((r, i) => [r, i])), [rows]);

  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return undefined;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const selIndex = selected !== undefined ? indexOf.get(selected) : undefined;
  // Keys can arrive faster than the URL round trip re-renders: the latest selection is kept here too, and a
  // render for another reason (a fold) with the URL's selection not yet updated does not move it back.
  const cursor = useRef(selIndex);
  const shown = useRef(selIndex);
  if (shown.current !== selIndex) {
    shown.current = selIndex;
    cursor.current = selIndex;
  }
  // A selected span inside a folded subtree unfolds its ancestors so it can be seen.
  useEffect(() => {
    if (selIndex === undefined || rowOf.has(selIndex)) return;
    const open = new Set(collapsed);
    for (let p = parents[selIndex]!; p >= 0; p = parents[p]!) open.delete(spans[p]!.spanId);
    setCollapsed(open);
  }, [selIndex]);

  const scrollToRow = useCallback((row: number) => {
    const el = viewport.current;
    if (!el) return;
    const top = row * ROW_H;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_H - el.clientHeight;
  }, []);
  useEffect(() => {
    const r = selIndex !== undefined ? rowOf.get(selIndex) : undefined;
    if (r !== undefined) scrollToRow(r);
  }, [selIndex, rowOf]);

  const toggle = useCallback(
    (spanId: string) =>
      setCollapsed((cur) => {
        const next = new Set(cur);
        if (next.has(spanId)) next.delete(spanId);
        else next.add(spanId);
        return next;
      }),
    [],
  );
  const setAll = (fold: boolean) =>
    setCollapsed(
      fold
        ? new Set(spans.filter((_s, i) => hasKids[i] && spans[i]!.depth >= 1).map((s) => s.spanId))
        : new Set(),
    );

  const onKey = (e: React.KeyboardEvent) => {
    const selIndex = cursor.current;
    const cur = selIndex !== undefined ? rowOf.get(selIndex) : undefined;
    const go = (row: number) => {
      const r = Math.max(0, Math.min(rows.length - 1, row));
      cursor.current = rows[r]!;
      onSelect(spans[rows[r]!]!.spanId);
    };
    const page = Math.max(1, Math.floor(height / ROW_H) - 1);
    switch (e.key) {
      case 'ArrowDown':
        go(cur === undefined ? 0 : cur + 1);
        break;
      case 'ArrowUp':
        go(cur === undefined ? 0 : cur - 1);
        break;
      case 'PageDown':
        go((cur ?? 0) + page);
        break;
      case 'PageUp':
        go((cur ?? 0) - page);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'ArrowRight':
        if (selIndex !== undefined && hasKids[selIndex]) {
          if (collapsed.has(spans[selIndex]!.spanId)) toggle(spans[selIndex]!.spanId);
          else go((cur ?? 0) + 1);
        }
        break;
      case 'ArrowLeft':
        if (selIndex === undefined) break;
        if (hasKids[selIndex] && !collapsed.has(spans[selIndex]!.spanId)) toggle(spans[selIndex]!.spanId);
        else if (parents[selIndex]! >= 0) onSelect(spans[parents[selIndex]!]!.spanId);
        break;
      case ' ':
      case 'Enter':
        if (selIndex !== undefined && hasKids[selIndex]) toggle(spans[selIndex]!.spanId);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_H) + OVERSCAN);
  const ticks = useMemo(() => timeTicks(trace.durationUs, 6), [trace.durationUs]);
  const total = Math.max(1, trace.durationUs);

  return (
    <div className="waterfall" data-testid="waterfall" data-rows={rows.length} data-spans={spans.length}>
      <div className="wf-head">
        <div className="wf-label-col">
          <button type="button" className="btn small" onClick={() => setAll(true)}>
            Collapse all
          </button>
          <button type="button" className="btn small" onClick={() => setAll(false)}>
            Expand all
          </button>
          <span className="muted wf-count">
            {rows.length.toLocaleString()} of {spans.length.toLocaleString()} spans
          </span>
        </div>
        <div className="wf-axis" aria-hidden>
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${(t / total) * 100}%` }}>
              {formatUs(t)}
            </span>
          ))}
        </div>
      </div>
      <div
        className="wf-viewport"
        ref={viewport}
        style={{ height: rows.length * ROW_H + 2 }}
        role="tree"
        aria-label="Spans"
        tabIndex={0}
        aria-activedescendant={selected ? `span-${selected}` : undefined}
        onKeyDown={onKey}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div className="wf-canvas" style={{ height: rows.length * ROW_H }}>
          {rows.slice(first, last).map((idx, k) => (
            <Row
              key={spans[idx]!.spanId}
              span={spans[idx]!}
              top={(first + k) * ROW_H}
              traceStart={trace.startUs}
              total={total}
              ticks={ticks}
              hasKids={hasKids[idx]!}
              folded={collapsed.has(spans[idx]!.spanId)}
              selected={spans[idx]!.spanId === selected}
              critical={critical.get(spans[idx]!.spanId)}
              onSelect={onSelect}
              onToggle={toggle}
            />
          ))}
        </div>
      </div>
    </div>
  );
}

const Row = memo(function Row(props: {
  span: TraceSpan;
  top: number;
  traceStart: number;
  total: number;
  ticks: number[];
  hasKids: boolean;
  folded: boolean;
  selected: boolean;
  critical?: { startUs: number; durationUs: number }[];
  onSelect(id: string): void;
  onToggle(id: string): void;
}) {
  const { span: s, total, traceStart } = props;
  const synthetic = s.spanId === SYNTHETIC_ROOT;
  const color = synthetic ? 'var(--fg-muted)' : serviceColor(s.service);
  const left = ((s.startUs - traceStart) / total) * 100;
  const width = Math.max(0.15, (s.durationUs / total) * 100);
  const isError = s.status?.code === 'error';
  // The duration goes after the bar when there is room, else before it, else inside its right end.
  const durPlace = left + width <= 85 ? 'after' : left >= 15 ? 'before' : 'inside';
  const cls = [
    'wf-row',
    props.selected ? 'selected' : '',
    isError ? 'error' : '',
    s.onCriticalPath ? 'on-crit' : '',
    synthetic ? 'synthetic' : '',
  ].join(' ');
  return (
    <div
      id={`span-${s.spanId}`}
      className={cls}
      style={{ top: props.top }}
      role="treeitem"
      aria-level={s.depth + 1}
      aria-selected={props.selected}
      aria-expanded={props.hasKids ? !props.folded : undefined}
      data-span={s.spanId}
      onClick={() => props.onSelect(s.spanId)}
    >
      <div className="wf-label-col wf-label" style={{ paddingLeft: 4 + Math.min(s.depth, 30) * 14 }}>
        {props.hasKids ? (
          <button
            type="button"
            className="wf-fold"
            tabIndex={-1}
            aria-label={props.folded ? 'Expand' : 'Collapse'}
            onClick={(e) => {
              e.stopPropagation();
              props.onToggle(s.spanId);
            }}
          >
            {props.folded ? '▸' : '▾'}
          </button>
        ) : (
          <span className="wf-fold" />
        )}
        <span className="swatch" style={{ background: color }} />
        {synthetic ? (
          <span className="wf-name synthetic-name" title="Spans whose parent never arrived are gathered here">
            missing parent
          </span>
        ) : (
          <span className="wf-name" title={`${s.service}: ${s.name}`}>
            <span className="wf-svc">{s.service}</span> {s.name}
          </span>
        )}
        {s.errorRole === 'origin' && (
          <span className="mark err-origin" title="The error starts here">
            error origin
          </span>
        )}
        {s.errorRole === 'propagated' && (
          <span className="mark err-prop" title="An error from a descendant propagated to this span">
            propagated
          </span>
        )}
        {isError && !s.errorRole && <span className="mark err-prop">error</span>}
        {s.orphan && (
          <span className="mark orphan" title="The parent span of this span is missing from the trace">
            orphan
          </span>
        )}
        {s.skewUs !== 0 && s.skewUs !== undefined && (
          <span className="mark skew" title={`Clock skew: start shifted by ${formatUs(Math.abs(s.skewUs))}`}>
            skew {s.skewUs > 0 ? '+' : '−'}
            {formatUs(Math.abs(s.skewUs))}
          </span>
        )}
      </div>
      <div className="wf-track">
        {props.ticks.map((t) => (
          <span key={t} className="wf-grid" style={{ left: `${(t / total) * 100}%` }} />
        ))}
        <span
          className={`wf-bar ${s.errorRole === 'origin' ? 'err-origin' : isError ? 'err' : ''}`}
          style={{ left: `${left}%`, width: `${width}%`, background: color }}
        />
        {props.critical?.map((c, i) => (
          <span
            key={i}
            className="wf-crit"
            title="Critical path"
            style={{
              left: `${((c.startUs - traceStart) / total) * 100}%`,
              width: `${Math.max(0.15, (c.durationUs / total) * 100)}%`,
            }}
          />
        ))}
        <span
          className={`wf-dur ${durPlace === 'inside' ? 'inside' : ''}`}
          style={
            durPlace === 'after'
              ? { left: `${left + width + 0.5}%` }
              : durPlace === 'before'
                ? { right: `${100 - left + 0.5}%` }
                : { right: `${100 - left - width + 0.5}%` }
          }
        >
          {formatUs(s.durationUs)}
        </span>
      </div>
    </div>
  );
});
