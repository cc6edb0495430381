/**
 * The query history dropdown of a query row: a filter box over the last 50 queries run, usable with the
 * keyboard (arrows move, Enter picks, Escape closes and returns focus to the button).
 */
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { filterHistory } from './history.ts';
import { HistoryIcon } from './icons.tsx';

export function HistoryMenu({
  history,
  onPick,
  onClear,
}: {
  history: readonly string[];
  onPick(expr: string): void;
  onClear(): void;
}) {
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState('');
  const [active, setActive] = useState(0);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  const shown = useMemo(() => filterHistory(history, filter), [history, filter]);

  useEffect(() => {
    if (!open) return undefined;
    setFilter('');
    setActive(0);
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  useEffect(() => {
    list.current
      ?.querySelector<HTMLElement>(`[data-index="${active}"]`)
      ?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const pick = (expr: string) => {
    setOpen(false);
    onPick(expr);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        setActive((a) => Math.min(shown.length - 1, a + 1));
        break;
      case 'ArrowUp':
        e.preventDefault();
        setActive((a) => Math.max(0, a - 1));
        break;
      case 'Home':
        e.preventDefault();
        setActive(0);
        break;
      case 'End':
        e.preventDefault();
        setActive(Math.max(0, shown.length - 1));
        break;
      case 'Enter': {
        e.preventDefault();
        const expr = shown[active];
        if (expr !== undefined) pick(expr);
        break;
      }
      case 'Escape':
        e.preventDefault();
        close();
        break;
    }
  };

  return (
    <div className="history" ref={root}>
      <button
        ref={button}
        type="button"
        className="btn icon"
        title="Query history"
        aria-label="Query history"
        aria-haspopup="listbox"
        aria-expanded={open}
        data-testid="history-button"
        onClick={() => setOpen((o) => !o)}
      >
        <HistoryIcon />
      </button>
      {open && (
        <div className="popover history-pop" role="dialog" aria-label="Query history">
          <input
            autoFocus
            className="history-filter"
            placeholder={history.length ? 'Filter history' : 'No queries run yet'}
            value={filter}
            role="combobox"
            aria-expanded
            aria-controls={`${id}-list`}
            aria-activedescendant={shown.length ? `${id}-${active}` : undefined}
            aria-autocomplete="list"
            aria-label="Filter query history"
            onChange={(e) => {
              setFilter(e.target.value);
              setActive(0);
            }}
            onKeyDown={onKeyDown}
          />
          <ul
            className="history-list"
            role="listbox"
            id={`${id}-list`}
            ref={list}
            aria-label="Recent queries"
          >
            {shown.map((expr, i) => (
              <li
                key={expr}
                id={`${id}-${i}`}
                data-index={i}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : ''}
                title={expr}
                onMouseEnter={() => setActive(i)}
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(expr);
                }}
              >
                {expr}
              </li>
            ))}
            {shown.length === 0 && (
              <li className="history-none" aria-disabled>
                {history.length ? 'No query in the history matches.' : 'Queries you run appear here.'}
              </li>
            )}
          </ul>
          {history.length > 0 && (
            <div className="history-foot">
              <span className="muted">
                {history.length} recent {history.length === 1 ? 'query' : 'queries'} · ↑↓ Enter
              </span>
              <button
                type="button"
                className="btn small"
                onClick={() => {
                  onClear();
                  close();
                }}
              >
                Clear
              </button>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
