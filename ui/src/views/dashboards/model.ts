/**
 * The dashboard document (schemaVersion 1) as the UI handles it, and pure helpers to change it: new panels
 * and where they go, duplicates, layout updates, copies for "save as" and export. The server validates the
 * same shape (src/dashboards/model.ts, docs/format/dashboard.md); these types mirror it so the browser
 * bundle does not pull in the server's schema library.
 */

export const SCHEMA_VERSION = 1;
export const GRID_COLUMNS = 24;

export type PanelKind = 'timeseries' | 'stat' | 'gauge' | 'table' | 'bar' | 'heatmap';

export const PANEL_KINDS: readonly {
  readonly id: PanelKind;
  readonly label: string;
  readonly hint: string;
}[] = [
  { id: 'timeseries', label: 'Time series', hint: 'Lines over the time range' },
  { id: 'stat', label: 'Stat', hint: 'The latest value, big, with a sparkline' },
  { id: 'gauge', label: 'Gauge', hint: 'The value at the end of the range on an arc between min and max' },
  { id: 'table', label: 'Table', hint: 'The value at the end of the range, labels as columns' },
  { id: 'bar', label: 'Bar', hint: 'The value at the end of the range as sorted horizontal bars' },
  { id: 'heatmap', label: 'Heatmap', hint: 'Classic histogram buckets (le) over time' },
];

export interface Threshold {
  value: number;
  color: string;
}

export interface PanelOptions {
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  stacked?: boolean;
  log?: boolean;
  thresholds?: Threshold[];
}

export interface PanelQuery {
  expr: string;
  legend?: string;
  hidden?: boolean;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Panel {
  id: string;
  title: string;
  kind: PanelKind;
  description?: string;
  queries: PanelQuery[];
  grid: GridPos;
  options?: PanelOptions;
}

export interface Variable {
  name: string;
  label?: string;
  query: string;
  multi: boolean;
  includeAll: boolean;
  current?: string[];
}

export interface DashboardDoc {
  schemaVersion: 1;
  uid?: string;
  title: string;
  tags?: string[];
  description?: string;
  time?: { from: string; to: string };
  refresh?: string;
  variables: Variable[];
  panels: Panel[];
}

/** One entry of `GET /api/vigil/v1/dashboards`. */
export interface DashboardListItem {
  uid: string;
  title: string;
  tags: string[];
  version: number;
  updatedAt: number;
  createdBy: string | null;
  provisioned?: boolean;
}

/** `GET /api/vigil/v1/dashboards/:uid`, and the answer of a create or update. */
export interface DashboardResponse {
  dashboard: DashboardDoc & { uid: string };
  version: number;
  updatedAt: number;
  createdBy?: string | null;
  provisioned: boolean;
}

/** The bottom edge of the layout in grid rows (0 for no panels). */
export function layoutBottom(panels: readonly Panel[]): number {
  let bottom = 0;
  for (const p of panels) bottom = Math.max(bottom, p.grid.y + p.grid.h);
  return bottom;
}

/** A panel id not used yet: `p1`, `p2`... (ids only need to be unique inside one dashboard). */
export function nextPanelId(panels: readonly Panel[]): string {
  const used = new Set(panels.map((p) => p.id));
  let n = panels.length + 1;
  while (used.has(`p${n}`)) n++;
  return `p${n}`;
}

/** The first spot of size w×h, scanning rows top to bottom and columns left to right, that overlaps nothing. */
export function findFreeSpot(panels: readonly Panel[], w: number, h: number): GridPos {
  const width = Math.min(GRID_COLUMNS, Math.max(1, w));
  const bottom = layoutBottom(panels);
  const overlaps = (x: number, y: number) =>
    panels.some(
      (p) => x < p.grid.x + p.grid.w && p.grid.x < x + width && y < p.grid.y + p.grid.h && p.grid.y < y + h,
    );
  for (let y = 0; y <= bottom; y++)
    for (let x = 0; x + width <= GRID_COLUMNS; x++) if (!overlaps(x, y)) return { x, y, w: width, h };
  return { x: 0, y: bottom, w: width, h };
}

/** A new, empty panel placed in the first free spot of the layout. */
export function newPanel(panels: readonly Panel[], kind: PanelKind = 'timeseries'): Panel {
  return {
    id: nextPanelId(panels),
    title: 'New panel',
    kind,
    queries: [{ expr: '' }],
    grid: findFreeSpot(panels, 12, 8),
  };
}

/** A copy of a panel with a new id, placed in the first free spot that fits it. */
export function duplicatePanel(panels: readonly Panel[], id: string): Panel[] {
  const src = panels.find((p) => p.id === id);
  if (!src) return [...panels];
  const copy: Panel = structuredClone(src);
  copy.id = nextPanelId(panels);
  copy.title = src.title ? `${src.title} (copy)` : '';
  copy.grid = findFreeSpot(panels, src.grid.w, src.grid.h);
  const at = panels.indexOf(src);
  return [...panels.slice(0, at + 1), copy, ...panels.slice(at + 1)];
}

/** Applies grid positions from the layout engine; returns the same array when nothing moved. */
export function applyLayout(
  panels: Panel[],
  layout: readonly { i: string; x: number; y: number; w: number; h: number }[],
): Panel[] {
  const byId = new Map(layout.map((l) => [l.i, l]));
  let changed = false;
  const next = panels.map((p) => {
    const l = byId.get(p.id);
    if (!l || (l.x === p.grid.x && l.y === p.grid.y && l.w === p.grid.w && l.h === p.grid.h)) return p;
    changed = true;
    return { ...p, grid: { x: l.x, y: l.y, w: l.w, h: l.h } };
  });
  return changed ? next : panels;
}

/** The document a new dashboard starts with: one empty time-series panel. */
export function newDashboardDoc(title: string): DashboardDoc {
  return { schemaVersion: SCHEMA_VERSION, title, tags: [], variables: [], panels: [newPanel([])] };
}

/** A copy to create under a new uid (save as, duplicate): the uid is left for the server to choose. */
export function copyOf(doc: DashboardDoc, title: string): DashboardDoc {
  const { uid: _uid, ...rest } = structuredClone(doc);
  return { ...rest, title };
}

/** JSON text for export, with fields in the documented order and two-space indentation. */
export function exportJson(doc: DashboardDoc): string {
  const { schemaVersion, uid, title, tags, description, time, refresh, variables, panels, ...rest } = doc;
  const ordered: Record<string, unknown> = {
    schemaVersion,
    uid,
    title,
    tags,
    description,
    time,
    refresh,
    variables,
    panels,
    ...rest,
  };
  for (const k of Object.keys(ordered)) if (ordered[k] === undefined) delete ordered[k];
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** A file name for an exported dashboard: its title made safe for file systems. */
export function exportFileName(doc: DashboardDoc): string {
  const base = doc.title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${base || doc.uid || 'dashboard'}.json`;
}

/** Key-order-independent JSON, to tell whether a draft differs from what was loaded. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
}

export function sameDoc(a: DashboardDoc, b: DashboardDoc): boolean {
  return canonical(a) === canonical(b);
}

/**
 * Makes a server problem path readable with the names the user sees: `dashboard.panels[2].grid.w` on a
 * document whose third panel is "CPU" becomes `panel "CPU" (panels[2]): grid.w`.
 */
export function describeProblemPath(doc: DashboardDoc | undefined, path: string): string {
  const p = path.replace(/^dashboard\.?/, '');
  const m = /^(panels|variables)\[(\d+)\]\.?(.*)$/.exec(p);
  if (!m || !doc) return p || '(document)';
  const [, list, idx, rest] = m;
  const i = Number(idx);
  if (list === 'panels') {
    const panel = doc.panels[i];
    const name = panel?.title ? `panel "${panel.title}"` : `panel ${i + 1}`;
    return `${name} (panels[${i}])${rest ? `: ${rest}` : ''}`;
  }
  const v = doc.variables[i];
  const name = v?.name ? `variable "${v.name}"` : `variable ${i + 1}`;
  return `${name} (variables[${i}])${rest ? `: ${rest}` : ''}`;
}

/** Splits the comma-separated tag field of the settings form into tags (trimmed, no empties, no repeats). */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    ),
  ];
}

/** `3 min ago`, `2 h ago`, `5 d ago`; a date beyond a month. */
export function ago(ms: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 30 * 86400) return `${Math.round(s / 86400)} d ago`;
  return new Date(ms).toLocaleDateString();
}

/** Theme-aware CSS colours for the names a threshold may use; other valid CSS colours pass through. */
const NAMED: Record<string, string> = {
  green: 'var(--ok)',
  ok: 'var(--ok)',
  yellow: 'var(--warn)',
  orange: 'var(--warn)',
  warn: 'var(--warn)',
  red: 'var(--bad)',
  bad: 'var(--bad)',
  blue: 'var(--accent)',
  accent: 'var(--accent)',
};

export const THRESHOLD_COLORS = ['green', 'orange', 'red', 'blue', 'purple', 'gray'] as const;

/** A CSS colour for a threshold colour name; undefined when it is not a colour (never raw CSS). */
export function cssColor(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  if (NAMED[n]) return NAMED[n];
  if (/^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.test(n)) return n;
  if (/^(?:rgb|rgba|hsl|hsla)\([\d\s.,%/]+\)$/.test(n)) return n;
  if (/^[a-z]{3,20}$/.test(n)) return n;
  return undefined;
}

/**
 * The colour of a value under thresholds: the colour of the highest threshold at or below the value.
 * Below every threshold the base colour applies (`ok` when thresholds exist, otherwise undefined so the
 * caller uses its default).
 */
export function thresholdColor(
  value: number | null | undefined,
  thresholds: readonly Threshold[] | undefined,
): string | undefined {
  if (!thresholds || thresholds.length === 0 || value === null || value === undefined || Number.isNaN(value))
    return undefined;
  const sorted = [...thresholds].sort((a, b) => a.value - b.value);
  let color: string | undefined = 'var(--ok)';
  for (const t of sorted) if (value >= t.value) color = cssColor(t.color) ?? color;
  return color;
}
