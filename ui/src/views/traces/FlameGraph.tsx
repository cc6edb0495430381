/**
 * A flame graph of one trace (see flameFrames): frames merge spans with the same call path; the darker
 * part of each frame is its self time. Beside it, the operations that spend the most self time. Clicking
 * a frame selects its first span; frames are buttons, so the keyboard reaches them too.
 */
import { memo, useMemo } from 'react';
import type { TraceSpan } from '../../lib/traces.ts';
import { flameFrames, formatPercent, formatUs, serviceColor } from './model.ts';

const FRAME_H = 22;
/** Frames narrower than this fraction of the width are not drawn (they would be under two pixels). */
const MIN_WIDTH = 0.002;

export const FlameGraph = memo(function FlameGraph({
  spans,
  selected,
  onSelect,
}: {
  spans: readonly TraceSpan[];
  selected?: string;
  onSelect(spanId: string): void;
}) {
  const frames = useMemo(() => flameFrames(spans), [spans]);
  const shown = useMemo(() => frames.filter((f) => f.x1 - f.x0 >= MIN_WIDTH), [frames]);
  const depth = Math.max(1, ...shown.map((f) => f.depth + 1));
  const totalSelf = useMemo(() => spans.reduce((a, s) => a + Math.max(0, s.selfTimeUs), 0), [spans]);
  const top = useMemo(() => {
    const m = new Map<string, { service: string; name: string; selfUs: number; count: number }>();
    for (const s of spans) {
      if (s.spanId === 'synthetic-root') continue;
      const k = `${s.service}\u0000${s.name}`;
      const e = m.get(k) ?? { service: s.service, name: s.name, selfUs: 0, count: 0 };
      e.selfUs += Math.max(0, s.selfTimeUs);
      e.count++;
      m.set(k, e);
    }
    return [...m.values()].sort((a, b) => b.selfUs - a.selfUs).slice(0, 12);
  }, [spans]);

  return (
    <div className="flame-wrap">
      <div
        className="flame"
        data-testid="flame"
        data-frames={shown.length}
        style={{ height: depth * FRAME_H }}
        role="group"
        aria-label="Flame graph"
      >
        {shown.map((f, i) => {
          const w = (f.x1 - f.x0) * 100;
          return (
            <button
              key={i}
              type="button"
              className={`flame-frame ${f.spanId === selected ? 'selected' : ''}`}
              style={{
                left: `${f.x0 * 100}%`,
                width: `${w}%`,
                top: f.depth * FRAME_H,
                background: f.service ? serviceColor(f.service) : 'var(--fg-muted)',
              }}
              title={`${f.service}: ${f.name}\n${f.count} span(s), total ${formatUs(f.totalUs)}, self ${formatUs(f.selfUs)}`}
              onClick={() => onSelect(f.spanId)}
            >
              <span
                className="flame-self"
                style={{ width: `${f.totalUs > 0 ? Math.min(100, (f.selfUs / f.totalUs) * 100) : 0}%` }}
              />
              <span className="flame-text">
                {f.service}: {f.name}
              </span>
            </button>
          );
        })}
      </div>
      <div className="self-top">
        <h3>Most self time</h3>
        <table className="table compact" data-testid="self-time">
          <thead>
            <tr>
              <th>Operation</th>
              <th className="num">Spans</th>
              <th className="num">Self</th>
              <th className="num">Share</th>
            </tr>
          </thead>
          <tbody>
            {top.map((t) => (
              <tr key={`${t.service}\u0000${t.name}`}>
                <td>
                  <span className="swatch" style={{ background: serviceColor(t.service) }} /> {t.service}:{' '}
                  {t.name}
                </td>
                <td className="num">{t.count}</td>
                <td className="num">{formatUs(t.selfUs)}</td>
                <td className="num">{formatPercent(totalSelf > 0 ? t.selfUs / totalSelf : 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
});
