/**
 * The variables of a dashboard as dropdowns. Single-value variables apply a click at once; multi-value ones
 * collect ticks and apply them when the dropdown closes. Values are label values: shown as text only.
 */
import { useEffect, useRef, useState } from 'react';
import { ALL_VALUE } from './interpolate.ts';
import type { VariableState, VariablesResult } from './useVariables.ts';

const MAX_SHOWN = 500;

export function VariablesBar({ vars }: { vars: VariablesResult }) {
  if (vars.states.length === 0) return null;
  return (
    <div className="var-bar" aria-label="Variables" role="group">
      {vars.states.map((s) => (
        <VariablePicker
          key={s.variable.name}
          state={s}
          onSelect={(sel) => vars.select(s.variable.name, sel)}
        />
      ))}
    </div>
  );
}

function summary(s: VariableState): string {
  if (s.selected.includes(ALL_VALUE) && s.variable.includeAll) return 'All';
  if (s.selected.length === 0) return s.loading ? 'Loading…' : 'None';
  if (s.selected.length === 1) return s.selected[0]!;
  return `${s.selected[0]} + ${s.selected.length - 1}`;
}

function VariablePicker({ state, onSelect }: { state: VariableState; onSelect: (sel: string[]) => void }) {
  const v = state.variable;
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState('');
  const [ticked, setTicked] = useState<string[]>([]);
  const ref = useRef<HTMLDivElement>(null);
  const tickedRef = useRef(ticked);
  tickedRef.current = ticked;

  const close = (apply: boolean) => {
    setOpen(false);
    setSearch('');
    if (apply && v.multi) {
      const next = tickedRef.current;
      const same = next.length === state.selected.length && next.every((x) => state.selected.includes(x));
      if (next.length > 0 && !same) onSelect(next);
    }
  };
  const closeRef = useRef(close);
  closeRef.current = close;

  useEffect(() => {
    if (!open) return undefined;
    setTicked([...state.selected]);
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) closeRef.current(true);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') closeRef.current(false);
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const options = state.options ?? [];
  const extra = state.selected.filter((x) => x !== ALL_VALUE && !options.includes(x));
  const q = search.trim().toLowerCase();
  const all = [...extra, ...options].filter((o) => q === '' || o.toLowerCase().includes(q));
  const shown = all.slice(0, MAX_SHOWN);

  const toggle = (value: string) => {
    if (!v.multi) {
      onSelect([value]);
      close(false);
      return;
    }
    setTicked((cur) => {
      if (value === ALL_VALUE) return cur.includes(ALL_VALUE) ? [] : [ALL_VALUE];
      const rest = cur.filter((x) => x !== ALL_VALUE);
      return rest.includes(value) ? rest.filter((x) => x !== value) : [...rest, value];
    });
  };
  const isOn = (value: string) => (v.multi ? ticked : state.selected).includes(value);
  const label = v.label || v.name;
  const err =
    state.error instanceof Error ? state.error.message : state.error ? String(state.error) : undefined;

  return (
    <div className="var-picker" ref={ref} data-variable={v.name}>
      <span className="var-label" id={`var-label-${v.name}`}>
        {label}
      </span>
      <button
        type="button"
        className={`btn var-button ${err ? 'has-error' : ''}`}
        aria-haspopup="listbox"
        aria-expanded={open}
        aria-labelledby={`var-label-${v.name}`}
        title={err ?? state.selected.filter((x) => x !== ALL_VALUE).join(', ')}
        onClick={() => (open ? close(true) : setOpen(true))}
        data-testid={`var-${v.name}`}
      >
        <span className="var-value">{summary(state)}</span>
        <span aria-hidden className="caret">
          ▾
        </span>
      </button>
      {open && (
        <div className="popover var-pop" role="dialog" aria-label={`Values of ${label}`}>
          {options.length > 8 && (
            <input
              className="var-search"
              type="search"
              placeholder="Filter values…"
              value={search}
              autoFocus
              onChange={(e) => setSearch(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !v.multi && shown[0] !== undefined) toggle(shown[0]);
              }}
            />
          )}
          {err && <p className="inline-error">{err}</p>}
          <ul className="var-options" role="listbox" aria-multiselectable={v.multi}>
            {v.includeAll && q === '' && (
              <Option value={ALL_VALUE} text="All" multi={v.multi} on={isOn(ALL_VALUE)} onToggle={toggle} />
            )}
            {shown.map((o) => (
              <Option key={o} value={o} text={o} multi={v.multi} on={isOn(o)} onToggle={toggle} />
            ))}
          </ul>
          {state.options === undefined && state.loading && <p className="muted var-note">Loading values…</p>}
          {state.options !== undefined && all.length === 0 && (
            <p className="muted var-note">{q ? 'No value matches.' : 'No values in this time range.'}</p>
          )}
          {all.length > shown.length && (
            <p className="muted var-note">
              Showing {shown.length} of {all.length}; filter to find others.
            </p>
          )}
          {v.multi && (
            <div className="var-actions">
              <button type="button" className="btn small" onClick={() => close(false)}>
                Cancel
              </button>
              <button
                type="button"
                className="btn small primary"
                disabled={ticked.length === 0}
                onClick={() => close(true)}
                data-testid="var-apply"
              >
                Apply
              </button>
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function Option({
  value,
  text,
  multi,
  on,
  onToggle,
}: {
  value: string;
  text: string;
  multi: boolean;
  on: boolean;
  onToggle: (v: string) => void;
}) {
  return (
    <li role="option" aria-selected={on}>
      <button type="button" className={`var-option ${on ? 'on' : ''}`} onClick={() => onToggle(value)}>
        {multi && <input type="checkbox" checked={on} readOnly tabIndex={-1} aria-hidden />}
        <span className="var-option-text">{text}</span>
      </button>
    </li>
  );
}
