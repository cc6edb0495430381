/** Pieces every panel body uses: the no-data, waiting and error states, sized for a small panel. */
import type { ReactNode } from 'react';
import { ApiError } from '../../../lib/api.ts';
import type { QueryError } from '../panelData.ts';

export function PanelState({
  children,
  kind = 'empty',
}: {
  children: ReactNode;
  kind?: 'empty' | 'error' | 'wait';
}) {
  return (
    <div className={`panel-state ${kind}`} role={kind === 'error' ? 'alert' : undefined}>
      {children}
    </div>
  );
}

/** The query failures of a panel; query letters (A, B...) say which query failed when there are several. */
export function PanelErrors({ errors, count }: { errors: readonly QueryError[]; count: number }) {
  return (
    <PanelState kind="error">
      {errors.slice(0, 3).map((e, i) => (
        <span key={i} className="panel-error-line">
          {count > 1 && <strong>{queryLetter(e.index)}: </strong>}
          {e.error instanceof ApiError || e.error instanceof Error ? e.error.message : String(e.error)}
        </span>
      ))}
    </PanelState>
  );
}

/** A, B, C... for query indexes, as Grafana names them. */
export function queryLetter(i: number): string {
  return i < 26 ? String.fromCharCode(65 + i) : `#${i + 1}`;
}

/** The common "nothing to show yet" answers, or undefined when the body should draw. */
export function emptyState(props: {
  hasQueries: boolean;
  waiting: readonly string[];
  ready: boolean;
  errors: readonly QueryError[];
  dataCount: number;
  queryCount: number;
}): ReactNode | undefined {
  if (!props.hasQueries) return <PanelState>No query yet. Edit the panel to add one.</PanelState>;
  if (props.waiting.length > 0)
    return <PanelState kind="wait">Waiting for the values of ${props.waiting.join(', $')}…</PanelState>;
  if (props.dataCount === 0 && props.errors.length > 0)
    return <PanelErrors errors={props.errors} count={props.queryCount} />;
  if (!props.ready) return <PanelState kind="wait">Loading…</PanelState>;
  if (props.dataCount === 0) return <PanelState>No data in this time range</PanelState>;
  return undefined;
}
