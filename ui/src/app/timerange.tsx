/**
 * The time range, refresh interval and live mode of a view. They live in the URL (`from`, `to`, `refresh`,
 * `live`) so every view can be shared as a link; `useTimeRange` resolves them against the clock, and
 * re-resolves on every refresh tick.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import {
  PRESETS,
  REFRESH_INTERVALS,
  describeRange,
  formatDateTime,
  isRelative,
  parseDuration,
  resolveRange,
  resolveTime,
  type RangeSpec,
  type ResolvedRange,
} from '../lib/time.ts';

export interface TimeRangeState {
  readonly spec: RangeSpec;
  /** The range resolved at the last tick; stable between ticks so query keys do not churn. */
  readonly range: ResolvedRange;
  /** A problem with the URL's range (shown to the user; the default range is used meanwhile). */
  readonly error?: string;
  readonly refresh: string;
  readonly refreshMs: number | undefined;
  readonly live: boolean;
  setSpec(spec: RangeSpec): void;
  setRefresh(r: string): void;
  setLive(on: boolean): void;
  /** Absolute zoom, e.g. after dragging on a chart (milliseconds). */
  zoom(startMs: number, endMs: number): void;
  /** Re-resolves a relative range now (the refresh button). */
  refreshNow(): void;
}

export function useTimeRange(defaultFrom = 'now-1h', defaultRefresh = 'off'): TimeRangeState {
  const [params, setParams] = useSearchParams();
  const spec = useMemo<RangeSpec>(
    () => ({ from: params.get('from') ?? defaultFrom, to: params.get('to') ?? 'now' }),
    [params, defaultFrom],
  );
  const refresh = params.get('refresh') ?? defaultRefresh;
  const refreshMs = refresh === 'off' ? undefined : parseDuration(refresh);
  const live = params.get('live') === '1';
  const [now, setNow] = useState(() => Date.now());

  // Re-resolve when the spec changes (a new relative range should end at the current time).
  const specKey = `${spec.from}|${spec.to}`;
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    setNow(Date.now());
  }, [specKey]);

  useEffect(() => {
    if (!refreshMs || live || !isRelative(spec)) return undefined;
    const id = setInterval(() => setNow(Date.now()), refreshMs);
    return () => clearInterval(id);
  }, [refreshMs, live, specKey]);

  const { range, error } = useMemo(() => {
    try {
      return { range: resolveRange(spec, now), error: undefined };
    } catch (err) {
      return { range: resolveRange({ from: defaultFrom, to: 'now' }, now), error: (err as Error).message };
    }
  }, [spec, now, defaultFrom]);

  const update = useCallback(
    (patch: Record<string, string | undefined>) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch)) {
            if (v === undefined) next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace: false },
      ),
    [setParams],
  );

  return {
    spec,
    range,
    error,
    refresh,
    refreshMs,
    live,
    setSpec: (s) => update({ from: s.from, to: s.to }),
    setRefresh: (r) => update({ refresh: r === defaultRefresh ? undefined : r }),
    setLive: (on) => update({ live: on ? '1' : undefined, ...(on ? { to: 'now' } : {}) }),
    zoom: (startMs, endMs) =>
      update({ from: String(Math.floor(startMs)), to: String(Math.ceil(endMs)), live: undefined }),
    refreshNow: () => setNow(Date.now()),
  };
}

/** The range picker: presets, absolute from/to inputs, refresh interval, live toggle. */
export function TimeRangePicker({ tr, allowLive = true }: { tr: TimeRangeState; allowLive?: boolean }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [problem, setProblem] = useState<string>();
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return undefined;
    setFrom(tr.spec.from.startsWith('now') ? tr.spec.from : formatDateTime(tr.range.start));
    setTo(tr.spec.to.startsWith('now') ? tr.spec.to : formatDateTime(tr.range.end));
    setProblem(undefined);
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const apply = (e: React.FormEvent) => {
    e.preventDefault();
    const toSpec = (s: string) =>
      s.trim().startsWith('now') ? s.trim() : String(resolveTime(s, Date.now()));
    try {
      const next = { from: toSpec(from), to: toSpec(to) };
      resolveRange(next, Date.now());
      tr.setSpec(next);
      setOpen(false);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };

  const shift = (dir: -1 | 1) => {
    const len = tr.range.end - tr.range.start;
    const start = tr.range.start + (dir * len) / 2;
    tr.zoom(start, start + len);
  };

  return (
    <div className="timepicker" ref={ref}>
      <button
        type="button"
        className="btn icon"
        title="Earlier"
        aria-label="Earlier"
        onClick={() => shift(-1)}
      >
        ‹
      </button>
      <button
        type="button"
        className="btn"
        aria-haspopup="dialog"
        aria-expanded={open}
        data-testid="time-range"
        onClick={() => setOpen((o) => !o)}
      >
        <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden>
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path
            d="M8 4.5V8l2.5 1.5"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.5"
            strokeLinecap="round"
          />
        </svg>{' '}
        {describeRange(tr.spec, Date.now())}
      </button>
      <button type="button" className="btn icon" title="Later" aria-label="Later" onClick={() => shift(1)}>
        ›
      </button>
      <button
        type="button"
        className="btn icon"
        title="Refresh now"
        aria-label="Refresh now"
        onClick={tr.refreshNow}
      >
        ⟳
      </button>
      <label className="sr-only" htmlFor="refresh-select">
        Auto-refresh
      </label>
      <select
        id="refresh-select"
        className="select"
        value={tr.refresh}
        disabled={tr.live}
        title="Auto-refresh interval"
        onChange={(e) => tr.setRefresh(e.target.value)}
      >
        {REFRESH_INTERVALS.map((r) => (
          <option key={r} value={r}>
            {r === 'off' ? 'Auto-refresh off' : `Every ${r}`}
          </option>
        ))}
      </select>
      {allowLive && (
        <button
          type="button"
          className={`btn live ${tr.live ? 'on' : ''}`}
          aria-pressed={tr.live}
          data-testid="live-toggle"
          title="Live: extend charts as samples arrive"
          onClick={() => tr.setLive(!tr.live)}
        >
          <span className="dot" aria-hidden /> Live
        </button>
      )}
      {tr.error && (
        <span className="inline-error" role="alert">
          {tr.error}
        </span>
      )}
      {open && (
        <div className="popover timepicker-pop" role="dialog" aria-label="Time range">
          <form onSubmit={apply} className="abs">
            <h3>Absolute range</h3>
            <label>
              From
              <input
                value={from}
                onChange={(e) => setFrom(e.target.value)}
                placeholder="now-6h or 2026-11-27 10:00"
              />
            </label>
            <label>
              To
              <input value={to} onChange={(e) => setTo(e.target.value)} placeholder="now" />
            </label>
            {problem && (
              <p className="inline-error" role="alert">
                {problem}
              </p>
            )}
            <button type="submit" className="btn primary">
              Apply
            </button>
          </form>
          <ul className="presets">
            {PRESETS.map((p) => (
              <li key={p.from}>
                <button
                  type="button"
                  className={tr.spec.from === p.from && tr.spec.to === 'now' ? 'active' : ''}
                  onClick={() => {
                    tr.setSpec({ from: p.from, to: 'now' });
                    setOpen(false);
                  }}
                >
                  {p.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
