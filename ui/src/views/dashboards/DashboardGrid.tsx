/**
 * The panels on a 24-column grid (react-grid-layout). In view mode the layout is static; in edit mode
 * panels are dragged by their header and resized from their corner, and the new positions are written back
 * when a drag or resize ends. Narrow screens stack the panels at full width.
 */
import { useMemo } from 'react';
import ReactGridLayout, { useContainerWidth, type Layout, type LayoutItem } from 'react-grid-layout';
import 'react-grid-layout/css/styles.css';
import { GRID_COLUMNS, type Panel } from './model.ts';
import type { PanelContext, PanelStatus } from './panelData.ts';
import { PanelView } from './PanelView.tsx';

export const ROW_HEIGHT = 30;
const MARGIN = 8;
const NARROW = 720;

export interface DashboardGridProps {
  readonly panels: readonly Panel[];
  readonly ctx: PanelContext;
  readonly editing: boolean;
  readonly onLayout: (layout: Layout) => void;
  readonly onEdit: (id: string) => void;
  readonly onDuplicate: (id: string) => void;
  readonly onRemove: (id: string) => void;
  readonly onStatus: (id: string, s: PanelStatus) => void;
}

export function DashboardGrid(props: DashboardGridProps) {
  const { panels, ctx, editing } = props;
  const { width, containerRef, mounted } = useContainerWidth({ initialWidth: 1200 });
  const narrow = width < NARROW;
  const layout = useMemo<LayoutItem[]>(() => {
    if (narrow) {
      let y = 0;
      return [...panels]
        .sort((a, b) => a.grid.y - b.grid.y || a.grid.x - b.grid.x)
        .map((p) => {
          const item = { i: p.id, x: 0, y, w: GRID_COLUMNS, h: p.grid.h };
          y += p.grid.h;
          return item;
        });
    }
    return panels.map((p) => ({ i: p.id, ...p.grid, minW: 2, minH: 3 }));
  }, [panels, narrow]);
  const canEdit = editing && !narrow;
  return (
    <div ref={containerRef} className={`dash-grid ${canEdit ? 'editing' : ''}`}>
      {mounted && (
        <ReactGridLayout
          width={width}
          layout={layout}
          gridConfig={{
            cols: GRID_COLUMNS,
            rowHeight: ROW_HEIGHT,
            margin: [MARGIN, MARGIN],
            containerPadding: [0, 0],
          }}
          dragConfig={{
            enabled: canEdit,
            handle: '.panel-drag',
            cancel: '.no-drag',
            bounded: false,
            threshold: 3,
          }}
          resizeConfig={{ enabled: canEdit, handles: ['se'] }}
          onDragStop={(l) => canEdit && props.onLayout(l)}
          onResizeStop={(l) => canEdit && props.onLayout(l)}
        >
          {panels.map((p) => (
            <div key={p.id} className="grid-item">
              <PanelView
                panel={p}
                ctx={ctx}
                editing={canEdit}
                onEdit={props.onEdit}
                onDuplicate={props.onDuplicate}
                onRemove={props.onRemove}
                onStatus={props.onStatus}
              />
            </div>
          ))}
        </ReactGridLayout>
      )}
    </div>
  );
}
