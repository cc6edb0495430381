/**
 * One panel: a header with its title and state (loading, failures), edit actions in edit mode, and the body
 * for its kind. The panel's queries are prepared here (variables substituted) and its first answer is
 * reported up, so the page knows when every panel is filled.
 */
import { memo, useCallback, useMemo, useState } from 'react';
import { ApiError } from '../../lib/api.ts';
import type { Panel, PanelKind } from './model.ts';
import { preparePanel, type BodyProps, type PanelContext, type PanelStatus } from './panelData.ts';
import { queryLetter } from './panels/common.tsx';
import { CopyIcon, DragIcon, PencilIcon, TrashIcon } from './icons.tsx';
import { TimeSeriesPanel } from './panels/TimeSeriesPanel.tsx';
import { StatPanel } from './panels/StatPanel.tsx';
import { GaugePanel } from './panels/GaugePanel.tsx';
import { TablePanel } from './panels/TablePanel.tsx';
import { BarPanel } from './panels/BarPanel.tsx';
import { HeatmapPanel } from './panels/HeatmapPanel.tsx';

const BODIES: Record<PanelKind, (p: BodyProps) => React.ReactNode> = {
  timeseries: TimeSeriesPanel,
  stat: StatPanel,
  gauge: GaugePanel,
  table: TablePanel,
  bar: BarPanel,
  heatmap: HeatmapPanel,
};

export interface PanelViewProps {
  readonly panel: Panel;
  readonly ctx: PanelContext;
  readonly editing?: boolean;
  /** Shown without the frame's drag handle and edit actions (panel editor preview). */
  readonly preview?: boolean;
  readonly onEdit?: (id: string) => void;
  readonly onDuplicate?: (id: string) => void;
  readonly onRemove?: (id: string) => void;
  readonly onStatus?: (id: string, status: PanelStatus) => void;
}

/** An icon button of the panel header in edit mode, named by its tooltip. */
function PanelAction({
  label,
  danger,
  onClick,
  children,
}: {
  label: string;
  danger?: boolean;
  onClick: () => void;
  children: React.ReactNode;
}) {
  return (
    <button
      type="button"
      className={`btn icon small${danger ? ' danger' : ''}`}
      title={label}
      aria-label={label}
      onClick={onClick}
    >
      {children}
    </button>
  );
}

const INITIAL: PanelStatus = { ready: false, loading: false, errors: [], warnings: [] };

function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

export const PanelView = memo(function PanelView({
  panel,
  ctx,
  editing,
  preview,
  onEdit,
  onDuplicate,
  onRemove,
  onStatus,
}: PanelViewProps) {
  const prepared = useMemo(
    () => preparePanel(panel, ctx),
    [panel.kind, panel.grid.w, panel.queries, ctx.range, ctx.values, ctx.pending],
  );
  const [status, setStatus] = useState<PanelStatus>(INITIAL);
  const noQueries = prepared.queries.length === 0;
  const report = useCallback(
    (s: PanelStatus) => {
      setStatus(s);
      onStatus?.(panel.id, s);
    },
    [panel.id, onStatus],
  );
  const Body = BODIES[panel.kind] ?? TimeSeriesPanel;
  const ready = status.ready || noQueries;
  const problems = [
    ...status.errors.map(
      (e) => `${prepared.queries.length > 1 ? `${queryLetter(e.index)}: ` : ''}${message(e.error)}`,
    ),
    ...status.warnings,
  ];
  return (
    <section
      className={`card dash-panel kind-${panel.kind} ${editing && !preview ? 'editing' : ''}`}
      data-panel-id={panel.id}
      data-kind={panel.kind}
      data-ready={ready ? 'true' : 'false'}
      aria-label={panel.title || 'Untitled panel'}
    >
      <header className={`panel-head ${editing && !preview ? 'panel-drag' : ''}`}>
        {editing && !preview && (
          <span className="drag-grip" title="Drag to move">
            <DragIcon />
          </span>
        )}
        <h3 className="panel-title" title={panel.title}>
          {panel.title || <span className="muted">Untitled</span>}
        </h3>
        {panel.description && (
          <span className="panel-info" title={panel.description} aria-label={`About: ${panel.description}`}>
            i
          </span>
        )}
        {status.loading && <span className="spinner small" aria-label="Loading" />}
        {problems.length > 0 && (
          <span
            className={`panel-flag ${status.errors.length > 0 ? 'bad' : 'warn'}`}
            title={problems.join('\n')}
            aria-label={status.errors.length > 0 ? 'Query failed' : 'Warnings'}
            data-testid="panel-flag"
          >
            !
          </span>
        )}
        {editing && !preview && (
          <span className="panel-actions no-drag">
            <PanelAction label="Edit panel" onClick={() => onEdit?.(panel.id)}>
              <PencilIcon />
            </PanelAction>
            <PanelAction label="Duplicate panel" onClick={() => onDuplicate?.(panel.id)}>
              <CopyIcon />
            </PanelAction>
            <PanelAction label="Remove panel" danger onClick={() => onRemove?.(panel.id)}>
              <TrashIcon />
            </PanelAction>
          </span>
        )}
      </header>
      <div className="panel-body">
        <Body
          panel={panel}
          prepared={prepared}
          ctx={ctx}
          enabled={prepared.waiting.length === 0}
          report={report}
        />
      </div>
    </section>
  );
});
