/**
 * The panel editor: a live preview on top, the queries (PromQL editor with completion) below, and the
 * panel's options at the side. Every change goes straight into the dashboard draft (so it is kept in the
 * draft storage like any other edit); the preview re-runs the queries on Enter or after a pause in typing.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { PromQLEditor } from '../../components/PromQLEditor.tsx';
import { editorErrorFrom, type EditorError } from '../../lib/promqlPosition.ts';
import { UNITS } from '../../lib/format.ts';
import {
  PANEL_KINDS,
  THRESHOLD_COLORS,
  cssColor,
  type Panel,
  type PanelKind,
  type PanelOptions,
  type PanelQuery,
} from './model.ts';
import type { PanelContext, PanelStatus } from './panelData.ts';
import { PanelView } from './PanelView.tsx';
import { queryLetter } from './panels/common.tsx';

const MAX_QUERIES = 10;
const RUN_DELAY_MS = 900;

export interface PanelEditorProps {
  readonly panel: Panel;
  readonly ctx: PanelContext;
  readonly variableNames: readonly string[];
  readonly onChange: (p: Panel) => void;
  readonly onRevert: () => void;
  readonly onClose: () => void;
  readonly canRevert: boolean;
}

/** The y-axis bounds, each a number input left empty for "auto". */
const AXIS_BOUNDS = [
  ['min', 'Min'],
  ['max', 'Max'],
] as const;

function numberOrUndefined(s: string): number | undefined {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function PanelEditor({
  panel,
  ctx,
  variableNames,
  onChange,
  onRevert,
  onClose,
  canRevert,
}: PanelEditorProps) {
  // The preview runs the queries as they were at the last run (Enter) or after a pause in typing.
  const [ran, setRan] = useState<PanelQuery[]>(panel.queries);
  const latest = useRef(panel);
  latest.current = panel;
  const runNow = useCallback(() => setRan(latest.current.queries), []);
  useEffect(() => {
    const id = setTimeout(runNow, RUN_DELAY_MS);
    return () => clearTimeout(id);
  }, [panel.queries, runNow]);
  const previewPanel = useMemo(() => ({ ...panel, queries: ran }), [panel, ran]);

  const [status, setStatus] = useState<PanelStatus>();
  const onStatus = useCallback((_id: string, s: PanelStatus) => setStatus(s), []);

  const o = panel.options ?? {};
  const set = (patch: Partial<Panel>) => onChange({ ...panel, ...patch });
  const setOpt = (patch: Partial<PanelOptions>) => {
    const next: PanelOptions = { ...o, ...patch };
    for (const k of Object.keys(next) as (keyof PanelOptions)[]) if (next[k] === undefined) delete next[k];
    set({ options: Object.keys(next).length > 0 ? next : undefined });
  };
  const setQuery = (i: number, patch: Partial<PanelQuery>) => {
    const queries = panel.queries.map((q, j) => {
      if (j !== i) return q;
      const next = { ...q, ...patch };
      if (next.legend === '') delete next.legend;
      if (!next.hidden) delete next.hidden;
      return next;
    });
    set({ queries });
  };

  const errorFor = (i: number): EditorError | undefined => {
    const e = status?.errors.find((x) => x.index === i);
    if (!e) return undefined;
    const err = editorErrorFrom(e.error);
    if (!err) return undefined;
    // Positions refer to the expression after variables were substituted; only trust them without any.
    const q = ran[i];
    const substituted = q && /\$/.test(q.expr);
    return substituted ? { message: err.message } : err;
  };

  const thresholds = o.thresholds ?? [];
  const kind = PANEL_KINDS.find((k) => k.id === panel.kind);
  const isTimeseries = panel.kind === 'timeseries';

  return (
    <div className="panel-editor" data-testid="panel-editor">
      <div className="pe-main">
        <div className="pe-preview" style={{ height: Math.max(220, Math.min(380, panel.grid.h * 38)) }}>
          <PanelView panel={previewPanel} ctx={ctx} preview onStatus={onStatus} />
        </div>
        <section className="card pe-queries" aria-label="Queries">
          <div className="card-head">
            <h2>Queries</h2>
            <span className="muted pe-hint">
              Enter runs, Shift+Enter adds a line.
              {variableNames.length > 0 && (
                <>
                  {' '}
                  Variables: {variableNames.map((n) => `$${n}`).join(', ')}; also $__interval,
                  $__rate_interval, $__range.
                </>
              )}
              {variableNames.length === 0 && ' Built-ins: $__interval, $__rate_interval, $__range.'}
            </span>
          </div>
          <div className="card-body pe-query-list">
            {panel.queries.map((q, i) => (
              <div className={`pe-query ${q.hidden ? 'hidden' : ''}`} key={i} data-testid={`query-${i}`}>
                <span className="pe-letter" aria-hidden>
                  {queryLetter(i)}
                </span>
                <div className="pe-query-fields">
                  <PromQLEditor
                    value={q.expr}
                    onChange={(expr) => setQuery(i, { expr })}
                    onRun={runNow}
                    placeholder={
                      'PromQL, for example rate(http_requests_total{job=~"$job"}[$__rate_interval])'
                    }
                    error={errorFor(i)}
                    autoFocus={i === 0 && q.expr === ''}
                    ariaLabel={`Query ${queryLetter(i)}`}
                    compact
                    lint={false}
                  />
                  <div className="pe-query-row">
                    <label className="field inline grow">
                      <span>Legend</span>
                      <input
                        value={q.legend ?? ''}
                        placeholder="{{job}} {{instance}} (empty: the series name)"
                        onChange={(e) => setQuery(i, { legend: e.target.value })}
                        aria-label={`Legend of query ${queryLetter(i)}`}
                      />
                    </label>
                    <label className="check">
                      <input
                        type="checkbox"
                        checked={!!q.hidden}
                        onChange={(e) => setQuery(i, { hidden: e.target.checked })}
                      />
                      Hide
                    </label>
                    <button
                      type="button"
                      className="btn small danger"
                      disabled={panel.queries.length <= 1}
                      onClick={() => set({ queries: panel.queries.filter((_q, j) => j !== i) })}
                    >
                      Remove
                    </button>
                  </div>
                </div>
              </div>
            ))}
            <div>
              <button
                type="button"
                className="btn"
                disabled={panel.queries.length >= MAX_QUERIES}
                onClick={() => set({ queries: [...panel.queries, { expr: '' }] })}
              >
                + Add query
              </button>
            </div>
          </div>
        </section>
      </div>

      <aside className="card pe-side" aria-label="Panel options">
        <div className="card-body pe-options">
          <label className="field">
            <span>Title</span>
            <input
              value={panel.title}
              maxLength={200}
              onChange={(e) => set({ title: e.target.value })}
              data-testid="panel-title"
            />
          </label>
          <label className="field">
            <span>Description</span>
            <textarea
              rows={2}
              value={panel.description ?? ''}
              onChange={(e) => set({ description: e.target.value === '' ? undefined : e.target.value })}
            />
          </label>
          <div className="field">
            <span id="pe-kind">Visualization</span>
            <div className="kind-grid" role="radiogroup" aria-labelledby="pe-kind">
              {PANEL_KINDS.map((k) => (
                <button
                  type="button"
                  role="radio"
                  aria-checked={panel.kind === k.id}
                  key={k.id}
                  className={`kind-option ${panel.kind === k.id ? 'on' : ''}`}
                  title={k.hint}
                  onClick={() => set({ kind: k.id as PanelKind })}
                  data-kind={k.id}
                >
                  <KindIcon kind={k.id} />
                  {k.label}
                </button>
              ))}
            </div>
            {kind && <span className="muted small-text">{kind.hint}.</span>}
          </div>

          <h3 className="pe-section">Values</h3>
          <div className="pe-row">
            <label className="field grow">
              <span>Unit</span>
              <select
                className="select"
                value={o.unit ?? 'short'}
                onChange={(e) => setOpt({ unit: e.target.value === 'short' ? undefined : e.target.value })}
              >
                {UNITS.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.label}
                  </option>
                ))}
                {o.unit && !UNITS.some((u) => u.id === o.unit) && <option value={o.unit}>{o.unit}</option>}
              </select>
            </label>
            <label className="field narrow">
              <span>Decimals</span>
              <input
                type="number"
                min={0}
                max={10}
                placeholder="auto"
                value={o.decimals ?? ''}
                onChange={(e) => {
                  const n = numberOrUndefined(e.target.value);
                  setOpt({
                    decimals: n === undefined ? undefined : Math.max(0, Math.min(10, Math.round(n))),
                  });
                }}
              />
            </label>
          </div>
          <div className="pe-row">
            {AXIS_BOUNDS.map(([key, label]) => (
              <label key={key} className="field grow">
                <span>{label}</span>
                <input
                  type="number"
                  placeholder="auto"
                  value={o[key] ?? ''}
                  onChange={(e) => setOpt({ [key]: numberOrUndefined(e.target.value) })}
                />
              </label>
            ))}
          </div>
          {o.min !== undefined && o.max !== undefined && o.min >= o.max && (
            <p className="inline-error">Max must be greater than min.</p>
          )}
          {isTimeseries && (
            <div className="pe-row">
              <label className="check">
                <input
                  type="checkbox"
                  checked={!!o.stacked}
                  onChange={(e) => setOpt({ stacked: e.target.checked || undefined })}
                />
                Stacked
              </label>
              <label className="check">
                <input
                  type="checkbox"
                  checked={!!o.log}
                  onChange={(e) => setOpt({ log: e.target.checked || undefined })}
                />
                Logarithmic scale
              </label>
            </div>
          )}

          <h3 className="pe-section">Thresholds</h3>
          <p className="muted small-text">
            {panel.kind === 'timeseries' || panel.kind === 'heatmap'
              ? 'Used by stat, gauge, table and bar panels.'
              : 'A value takes the colour of the highest threshold at or below it; below all of them it is green.'}
          </p>
          {thresholds.map((t, i) => (
            <div className="pe-row threshold" key={i}>
              <span
                className="swatch big"
                style={{ background: cssColor(t.color) ?? 'transparent' }}
                aria-hidden
              />
              <select
                className="select"
                aria-label="Threshold colour"
                value={t.color}
                onChange={(e) =>
                  setOpt({
                    thresholds: thresholds.map((x, j) => (j === i ? { ...x, color: e.target.value } : x)),
                  })
                }
              >
                {THRESHOLD_COLORS.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
                {!(THRESHOLD_COLORS as readonly string[]).includes(t.color) && (
                  <option value={t.color}>{t.color}</option>
                )}
              </select>
              <input
                type="number"
                aria-label="Threshold value"
                value={Number.isFinite(t.value) ? t.value : ''}
                onChange={(e) => {
                  const n = numberOrUndefined(e.target.value);
                  if (n === undefined) return;
                  setOpt({ thresholds: thresholds.map((x, j) => (j === i ? { ...x, value: n } : x)) });
                }}
              />
              <button
                type="button"
                className="btn icon small"
                aria-label="Remove threshold"
                title="Remove threshold"
                onClick={() => {
                  const next = thresholds.filter((_x, j) => j !== i);
                  setOpt({ thresholds: next.length > 0 ? next : undefined });
                }}
              >
                ✕
              </button>
            </div>
          ))}
          <div>
            <button
              type="button"
              className="btn small"
              disabled={thresholds.length >= 20}
              onClick={() => {
                const last = thresholds.at(-1);
                const value = last ? last.value + (Math.abs(last.value) || 10) : 80;
                const color = THRESHOLD_COLORS[Math.min(thresholds.length + 1, 2)]!;
                setOpt({ thresholds: [...thresholds, { value, color }] });
              }}
            >
              + Add threshold
            </button>
          </div>
        </div>
        <div className="pe-foot">
          <button
            type="button"
            className="btn"
            disabled={!canRevert}
            onClick={onRevert}
            title="Undo every change made since this editor opened"
          >
            Revert panel
          </button>
          <button type="button" className="btn primary" onClick={onClose} data-testid="panel-editor-close">
            Back to dashboard
          </button>
        </div>
      </aside>
    </div>
  );
}

/** Tiny pictures of each visualization for the kind picker. */
function KindIcon({ kind }: { kind: PanelKind }) {
  const common = {
    width: 22,
    height: 16,
    viewBox: '0 0 22 16',
    'aria-hidden': true,
    className: 'kind-icon',
  } as const;
  switch (kind) {
    case 'timeseries':
      return (
        <svg {...common}>
          <path d="M1 12 L6 7 L10 10 L15 3 L21 6" fill="none" stroke="currentColor" strokeWidth="1.6" />
        </svg>
      );
    case 'stat':
      return (
        <svg {...common}>
          <text x="11" y="12" textAnchor="middle" fontSize="11" fontWeight="700" fill="currentColor">
            42
          </text>
        </svg>
      );
    case 'gauge':
      return (
        <svg {...common}>
          <path d="M3 14 A8 8 0 1 1 19 14" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M11 14 L15 7" stroke="currentColor" strokeWidth="1.6" />
        </svg>
      );
    case 'table':
      return (
        <svg {...common}>
          <path
            d="M2 2 H20 V14 H2 Z M2 6 H20 M2 10 H20 M9 2 V14"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.3"
          />
        </svg>
      );
    case 'bar':
      return (
        <svg {...common}>
          <path d="M2 3 H18 M2 8 H13 M2 13 H8" stroke="currentColor" strokeWidth="3" />
        </svg>
      );
    case 'heatmap':
      return (
        <svg {...common}>
          {[0, 1, 2, 3].map((x) =>
            [0, 1, 2].map((y) => (
              <rect
                key={`${x}${y}`}
                x={2 + x * 5}
                y={1 + y * 5}
                width="4.2"
                height="4.2"
                fill="currentColor"
                opacity={0.25 + ((x * 3 + y * 5) % 7) / 9}
              />
            )),
          )}
        </svg>
      );
  }
}
