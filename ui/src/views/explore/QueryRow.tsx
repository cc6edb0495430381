/** One query of the Explore page: letter, PromQL editor, legend template, history, hide and remove. */
import { memo } from 'react';
import { PromQLEditor, type EditorError } from '../../components/PromQLEditor.tsx';
import { HistoryMenu } from './HistoryMenu.tsx';
import { EyeIcon, TrashIcon } from './icons.tsx';
import type { QueryDraft } from './exploreState.ts';

export interface QueryRowProps {
  readonly index: number;
  readonly letter: string;
  readonly query: QueryDraft;
  readonly error?: EditorError;
  /** Series (graph) or rows (table) the query returned, when it has run. */
  readonly count?: number;
  readonly canRemove: boolean;
  readonly autoFocus: boolean;
  readonly history: readonly string[];
  onChange(index: number, patch: Partial<QueryDraft>): void;
  onRun(): void;
  onPick(index: number, expr: string): void;
  onToggleHidden(index: number): void;
  onRemove(index: number): void;
  onClearHistory(): void;
}

export const QueryRow = memo(function QueryRow(props: QueryRowProps) {
  const { index, letter, query, error, count, canRemove, autoFocus, history } = props;
  return (
    <div
      className={`query-row ${query.hidden ? 'is-hidden' : ''}`}
      data-testid="query-row"
      data-query={letter}
    >
      <span className="query-letter" aria-hidden>
        {letter}
      </span>
      <PromQLEditor
        value={query.expr}
        onChange={(expr) => props.onChange(index, { expr })}
        onRun={props.onRun}
        error={error}
        autoFocus={autoFocus}
        ariaLabel={`Query ${letter}`}
        placeholder="Enter a PromQL expression, e.g. rate(http_requests_total[5m])   (Enter runs, Shift+Enter adds a line)"
      />
      <input
        className="legend-input"
        value={query.legend}
        placeholder="Legend {{label}}"
        aria-label={`Legend template for query ${letter}`}
        title="Legend template: {{label}} is replaced by the label's value; empty shows the full series name"
        spellCheck={false}
        onChange={(e) => props.onChange(index, { legend: e.target.value })}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            props.onRun();
          }
        }}
      />
      <div className="query-actions">
        <span
          className="query-count"
          title={count === undefined ? undefined : `Query ${letter} returned ${count} series`}
        >
          {count === undefined ? '' : `${count.toLocaleString()} series`}
        </span>
        <HistoryMenu
          history={history}
          onPick={(expr) => props.onPick(index, expr)}
          onClear={props.onClearHistory}
        />
        <button
          type="button"
          className={`btn icon ${query.hidden ? 'toggled' : ''}`}
          aria-pressed={query.hidden}
          aria-label={query.hidden ? `Show query ${letter}` : `Hide query ${letter}`}
          title={query.hidden ? 'Hidden: not run. Click to show' : 'Hide (do not run this query)'}
          data-testid="hide-query"
          onClick={() => props.onToggleHidden(index)}
        >
          <EyeIcon off={query.hidden} />
        </button>
        <button
          type="button"
          className="btn icon"
          aria-label={`Remove query ${letter}`}
          title="Remove query"
          disabled={!canRemove}
          data-testid="remove-query"
          onClick={() => props.onRemove(index)}
        >
          <TrashIcon />
        </button>
      </div>
    </div>
  );
});
