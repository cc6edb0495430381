/**
 * Pure functions behind the tracing views: search state in the URL, input checks, the waterfall's visible
 * rows, time ticks, the flame graph, trace comparison, the service map layout and exemplar markers. Tested
 * under Node (model.test.ts); nothing here touches the DOM.
 */
import { PALETTE } from '../../lib/series.ts';
import { formatValue } from '../../lib/format.ts';
import type { ExemplarSeries, MapEdge, MapNode, TraceSearch, TraceSpan } from '../../lib/traces.ts';

// ---- colours and numbers -----------------------------------------------------------------------------------

/** A stable colour per service name, the same in every view (search chips, waterfall, map). */
export function serviceColor(service: string): string {
  let h = 2166136261;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

/** A duration in microseconds as people read it (`850 µs`, `12.5 ms`, `3.2 s`). */
export function formatUs(us: number): string {
  return formatValue(us / 1e6, 's');
}

/** A signed difference in microseconds (`+12.5 ms`, `−3 ms`, `±0`). */
export function formatDeltaUs(us: number): string {
  if (us === 0) return '±0';
  return `${us > 0 ? '+' : '−'}${formatUs(Math.abs(us))}`;
}

export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

// ---- search state in the URL ------------------------------------------------------------------------------

export interface SearchForm {
  service: string;
  operation: string;
  kind: string;
  status: string;
  attr: string[];
  minDuration: string;
  maxDuration: string;
  limit: string;
}

export const DEFAULT_LIMIT = '50';
const FORM_KEYS = ['service', 'operation', 'kind', 'status', 'minDuration', 'maxDuration', 'limit'] as const;

export function searchFromParams(p: URLSearchParams): SearchForm {
  return {
    service: p.get('service') ?? '',
    operation: p.get('operation') ?? '',
    kind: p.get('kind') ?? '',
    status: p.get('status') ?? '',
    attr: p.getAll('attr'),
    minDuration: p.get('minDuration') ?? '',
    maxDuration: p.get('maxDuration') ?? '',
    limit: p.get('limit') ?? DEFAULT_LIMIT,
  };
}

/** The URL parameters for a search, keeping the others (time range, refresh) as they are. */
export function withSearch(prev: URLSearchParams, f: SearchForm): URLSearchParams {
  const next = new URLSearchParams(prev);
  for (const k of FORM_KEYS) next.delete(k);
  next.delete('attr');
  for (const k of FORM_KEYS) {
    const v = f[k].trim();
    if (v !== '' && !(k === 'limit' && v === DEFAULT_LIMIT)) next.set(k, v);
  }
  for (const a of f.attr) if (a.trim() !== '') next.append('attr', a.trim());
  return next;
}

/** The API request for a form and a time range in milliseconds. */
export function toSearch(f: SearchForm, range: { start: number; end: number }): TraceSearch {
  return {
    service: f.service || undefined,
    operation: f.operation || undefined,
    kind: f.kind || undefined,
    status: f.status || undefined,
    attr: f.attr.filter((a) => a.trim() !== '').map((a) => a.trim()),
    minDuration: f.minDuration.trim() || undefined,
    maxDuration: f.maxDuration.trim() || undefined,
    start: Math.floor(range.start / 1000),
    end: Math.ceil(range.end / 1000),
    limit: Number(f.limit) || Number(DEFAULT_LIMIT),
  };
}

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Problems with a form, by field, in words a user can act on; empty when it can be sent. */
export function checkForm(f: SearchForm): Partial<Record<keyof SearchForm, string>> {
  const out: Partial<Record<keyof SearchForm, string>> = {};
  for (const k of ['minDuration', 'maxDuration'] as const) {
    const v = f[k].trim();
    if (v !== '' && !GO_DURATION.test(v)) out[k] = `"${v}" is not a duration: use e.g. 250ms, 1.5s or 2m`;
  }
  const bad = f.attr.map(checkAttr).find((e) => e !== undefined);
  if (bad) out.attr = bad;
  const limit = f.limit.trim();
  if (limit !== '' && !(/^\d+$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 1000))
    out.limit = 'the limit must be a whole number from 1 to 1000';
  return out;
}

/** `key op value` with the operators the search understands; undefined when fine or empty. */
export function checkAttr(cond: string): string | undefined {
  const c = cond.trim();
  if (c === '') return undefined;
  const m = /^([^\s=!<>~]+)\s*(=~|!~|!=|>=|<=|=|>|<)\s*(.*)$/.exec(c);
  if (!m) return `"${c}" is not a condition: write key=value, key!=value, key=~regex, key>number …`;
  const [, , op, value] = m;
  if (['>', '>=', '<', '<='].includes(op!) && !Number.isFinite(Number(value)))
    return `"${c}": ${op} compares numbers, and "${value}" is not one`;
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(value!);
    } catch {
      return `"${c}": "${value}" is not a valid regular expression`;
    }
  }
  return undefined;
}

// ---- the waterfall ------------------------------------------------------------------------------------------

/** Whether each span (display order, depth-first) has children: the next span is deeper. */
export function childFlags(spans: readonly Pick<TraceSpan, 'depth'>[]): boolean[] {
  return spans.map((s, i) => (spans[i + 1]?.depth ?? -1) > s.depth);
}

/** Indices of the spans shown when the spans in `collapsed` hide their descendants. */
export function visibleRows(
  spans: readonly Pick<TraceSpan, 'depth' | 'spanId'>[],
  collapsed: ReadonlySet<string>,
): number[] {
  const out: number[] = [];
  let hideBelow = Infinity;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    if (s.depth > hideBelow) continue;
    hideBelow = Infinity;
    out.push(i);
    if (collapsed.has(s.spanId)) hideBelow = s.depth;
  }
  return out;
}

/** The display index of each span's parent in depth-first order (-1 for roots). */
export function parentIndices(spans: readonly Pick<TraceSpan, 'depth'>[]): number[] {
  const stack: number[] = [];
  return spans.map((s, i) => {
    while (stack.length > 0 && spans[stack.at(-1)!]!.depth >= s.depth) stack.pop();
    const parent = stack.at(-1) ?? -1;
    stack.push(i);
    return parent;
  });
}

/** About `n` evenly spaced ticks at round values over [0, totalUs]. */
export function timeTicks(totalUs: number, n = 5): number[] {
  if (!(totalUs > 0)) return [0];
  const raw = totalUs / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = 0; t <= totalUs + 1e-9; t += step) out.push(Math.round(t * 1000) / 1000);
  return out;
}

// ---- the flame graph ----------------------------------------------------------------------------------------

export interface FlameFrame {
  readonly service: string;
  readonly name: string;
  readonly depth: number;
  /** Horizontal extent as fractions of the whole width. */
  readonly x0: number;
  readonly x1: number;
  /** Summed duration and self time of the spans merged into this frame. */
  readonly totalUs: number;
  readonly selfUs: number;
  readonly count: number;
  /** The first span merged here (selecting the frame selects it). */
  readonly spanId: string;
}

interface FlameNode {
  service: string;
  name: string;
  totalUs: number;
  selfUs: number;
  count: number;
  spanId: string;
  children: Map<string, FlameNode>;
}

/**
 * A flame graph of one trace: spans with the same call path (service and operation at every level) merge
 * into one frame whose width is their summed duration; a frame's children share its width in proportion
 * to theirs (squeezed when concurrent children add up to more than the parent). Self time is kept per
 * frame so the view can show where time is spent in the span itself rather than below it.
 */
export function flameFrames(
  spans: readonly Pick<TraceSpan, 'spanId' | 'service' | 'name' | 'depth' | 'durationUs' | 'selfTimeUs'>[],
): FlameFrame[] {
  const root: FlameNode = {
    service: '',
    name: '',
    totalUs: 0,
    selfUs: 0,
    count: 0,
    spanId: '',
    children: new Map(),
  };
  const stack: { depth: number; node: FlameNode }[] = [];
  for (const s of spans) {
    while (stack.length > 0 && stack.at(-1)!.depth >= s.depth) stack.pop();
    const parent = stack.at(-1)?.node ?? root;
    const key = `${s.service}\u0000${s.name}`;
    let node = parent.children.get(key);
    if (!node) {
      node = {
        service: s.service,
        name: s.name,
        totalUs: 0,
        selfUs: 0,
        count: 0,
        spanId: s.spanId,
        children: new Map(),
      };
      parent.children.set(key, node);
    }
    node.totalUs += Math.max(0, s.durationUs);
    node.selfUs += Math.max(0, s.selfTimeUs);
    node.count++;
    stack.push({ depth: s.depth, node });
  }
  const out: FlameFrame[] = [];
  const place = (nodes: Iterable<FlameNode>, x0: number, width: number, own: number, depth: number) => {
    const list = [...nodes];
    const sum = list.reduce((a, n) => a + n.totalUs, 0);
    const scale = sum > 0 ? width / Math.max(own, sum) : 0;
    let x = x0;
    for (const n of list) {
      const w = n.totalUs * scale;
      out.push({
        service: n.service,
        name: n.name,
        depth,
        x0: x,
        x1: x + w,
        totalUs: n.totalUs,
        selfUs: n.selfUs,
        count: n.count,
        spanId: n.spanId,
      });
      place(n.children.values(), x, w, n.totalUs, depth + 1);
      x += w;
    }
  };
  place(root.children.values(), 0, 1, 0, 0);
  return out;
}

// ---- comparing two traces ------------------------------------------------------------------------------------

export interface CompareSide {
  count: number;
  totalUs: number;
  selfUs: number;
  errors: number;
}

export interface CompareRow {
  readonly service: string;
  readonly name: string;
  /** Shallowest depth the operation appears at (for indentation). */
  readonly depth: number;
  readonly a?: CompareSide;
  readonly b?: CompareSide;
  /** b − a of the summed durations; undefined when the operation is in one trace only. */
  readonly deltaUs?: number;
  readonly only?: 'a' | 'b';
}

type CompareSpan = Pick<TraceSpan, 'spanId' | 'service' | 'name' | 'depth' | 'durationUs' | 'selfTimeUs'> & {
  status: { code: string };
};

function groupByOperation(spans: readonly CompareSpan[]) {
  const m = new Map<string, { service: string; name: string; depth: number; side: CompareSide }>();
  for (const s of spans) {
    if (s.spanId === 'synthetic-root') continue;
    const key = `${s.service}\u0000${s.name}`;
    let g = m.get(key);
    if (!g) {
      g = {
        service: s.service,
        name: s.name,
        depth: s.depth,
        side: { count: 0, totalUs: 0, selfUs: 0, errors: 0 },
      };
      m.set(key, g);
    }
    g.depth = Math.min(g.depth, s.depth);
    g.side.count++;
    g.side.totalUs += s.durationUs;
    g.side.selfUs += s.selfTimeUs;
    if (s.status.code === 'error') g.side.errors++;
  }
  return m;
}

/**
 * Aligns two traces by (service, operation): one row per operation in either, in the order it first
 * appears in A and then in B, with summed durations on each side and their difference.
 */
export function compareTraces(a: readonly CompareSpan[], b: readonly CompareSpan[]): CompareRow[] {
  const ga = groupByOperation(a);
  const gb = groupByOperation(b);
  const rows: CompareRow[] = [];
  for (const [key, x] of ga) {
    const y = gb.get(key);
    rows.push({
      service: x.service,
      name: x.name,
      depth: y ? Math.min(x.depth, y.depth) : x.depth,
      a: x.side,
      b: y?.side,
      deltaUs: y ? y.side.totalUs - x.side.totalUs : undefined,
      only: y ? undefined : 'a',
    });
  }
  for (const [key, y] of gb) {
    if (ga.has(key)) continue;
    rows.push({ service: y.service, name: y.name, depth: y.depth, b: y.side, only: 'b' });
  }
  return rows;
}

// ---- the service map -----------------------------------------------------------------------------------------

export interface PlacedNode {
  readonly node: MapNode;
  readonly layer: number;
  readonly x: number;
  readonly y: number;
}

export interface PlacedEdge {
  readonly edge: MapEdge;
  /** SVG path from the source's right side to the target's left side. */
  readonly path: string;
  /** Where the edge's label goes. */
  readonly labelX: number;
  readonly labelY: number;
  /** True for calls that go back to an earlier (or the same) layer, e.g. in a cycle. */
  readonly back: boolean;
}

export interface MapLayout {
  readonly nodes: PlacedNode[];
  readonly edges: PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

export const MAP_NODE_W = 180;
export const MAP_NODE_H = 64;
const GAP_X = 210;
const GAP_Y = 36;
const PAD = 24;

/**
 * Lays the map out left to right by call depth: a service sits one layer right of the deepest service that
 * calls it (edges closing a cycle are ignored for this), services in a layer are ordered by the average
 * position of their callers so edges cross less.
 */
export function layoutServiceMap(nodes: readonly MapNode[], edges: readonly MapEdge[]): MapLayout {
  const byName = new Map<string, MapNode>();
  for (const n of nodes) byName.set(n.service, n);
  // Edges may name services without a node entry (e.g. a peer without spans): give them one.
  for (const e of edges)
    for (const s of [e.source, e.target])
      if (!byName.has(s))
        byName.set(s, { service: s, spans: 0, errors: 0, ratePerSecond: 0, errorRate: 0, p95Ms: 0 });
  const names = [...byName.keys()].sort();
  const out = new Map<string, string[]>();
  const indeg = new Map<string, number>(names.map((n) => [n, 0]));
  for (const e of edges) {
    if (e.source === e.target) continue;
    (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e.target);
    indeg.set(e.target, (indeg.get(e.target) ?? 0) + 1);
  }
  // Depth-first from sources (then from whatever is left, for pure cycles) to find edges closing cycles.
  const state = new Map<string, 1 | 2>();
  const backEdges = new Set<string>();
  const visit = (n: string) => {
    state.set(n, 1);
    for (const t of out.get(n) ?? []) {
      const st = state.get(t);
      if (st === 1) backEdges.add(`${n}\u0000${t}`);
      else if (st === undefined) visit(t);
    }
    state.set(n, 2);
  };
  for (const n of names) if (indeg.get(n) === 0 && !state.has(n)) visit(n);
  for (const n of names) if (!state.has(n)) visit(n);

  const layer = new Map<string, number>();
  const layerOf = (n: string, seen = new Set<string>()): number => {
    const known = layer.get(n);
    if (known !== undefined) return known;
    seen.add(n);
    let l = 0;
    for (const e of edges) {
      if (e.target !== n || e.source === n || backEdges.has(`${e.source}\u0000${n}`) || seen.has(e.source))
        continue;
      l = Math.max(l, layerOf(e.source, seen) + 1);
    }
    layer.set(n, l);
    return l;
  };
  for (const n of names) layerOf(n);

  const layers: string[][] = [];
  for (const n of names) (layers[layer.get(n)!] ??= []).push(n);
  const pos = new Map<string, number>();
  layers.forEach((ns, li) => {
    if (li > 0) {
      const bary = (n: string) => {
        const ps = edges.filter((e) => e.target === n && pos.has(e.source)).map((e) => pos.get(e.source)!);
        return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : Infinity;
      };
      const keyed = ns.map((n) => ({ n, b: bary(n) }));
      keyed.sort((x, y) => x.b - y.b || x.n.localeCompare(y.n));
      ns.splice(0, ns.length, ...keyed.map((k) => k.n));
    }
    ns.forEach((n, i) => pos.set(n, i));
  });

  const tallest = Math.max(1, ...layers.map((l) => l?.length ?? 0));
  const height = PAD * 2 + tallest * MAP_NODE_H + (tallest - 1) * GAP_Y;
  const width = PAD * 2 + layers.length * MAP_NODE_W + Math.max(0, layers.length - 1) * GAP_X;
  const placed = new Map<string, PlacedNode>();
  layers.forEach((ns, li) => {
    const colH = ns.length * MAP_NODE_H + (ns.length - 1) * GAP_Y;
    const top = (height - colH) / 2;
    ns.forEach((n, i) =>
      placed.set(n, {
        node: byName.get(n)!,
        layer: li,
        x: PAD + li * (MAP_NODE_W + GAP_X),
        y: top + i * (MAP_NODE_H + GAP_Y),
      }),
    );
  });

  const outCount = new Map<string, number>();
  for (const e of edges) if (e.source !== e.target) outCount.set(e.source, (outCount.get(e.source) ?? 0) + 1);
  const placedEdges: PlacedEdge[] = edges.map((e) => {
    const s = placed.get(e.source)!;
    const t = placed.get(e.target)!;
    if (e.source === e.target) {
      const x = s.x + MAP_NODE_W - 24;
      const y = s.y;
      return {
        edge: e,
        path: `M ${x} ${y} C ${x + 10} ${y - 40}, ${x + 50} ${y - 20}, ${s.x + MAP_NODE_W} ${y + 14}`,
        labelX: x + 30,
        labelY: y - 24,
        back: true,
      };
    }
    const x1 = s.x + MAP_NODE_W;
    const y1 = s.y + MAP_NODE_H / 2;
    const x2 = t.x;
    const y2 = t.y + MAP_NODE_H / 2;
    if (t.layer > s.layer) {
      const dx = (x2 - x1) / 2;
      // Labels of calls fanning out from one service sit nearer their targets, where the curves have parted.
      const k = (outCount.get(e.source) ?? 0) > 1 ? 0.72 : 0.5;
      const bez = (a: number, b: number, c: number, d: number) =>
        (1 - k) ** 3 * a + 3 * (1 - k) ** 2 * k * b + 3 * (1 - k) * k ** 2 * c + k ** 3 * d;
      return {
        edge: e,
        path: `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`,
        labelX: bez(x1, x1 + dx, x2 - dx, x2),
        labelY: bez(y1, y1, y2, y2),
        back: false,
      };
    }
    // Back to an earlier layer: leave from the bottom, loop underneath, enter from the bottom.
    const sx = s.x + MAP_NODE_W / 2;
    const sy = s.y + MAP_NODE_H;
    const tx = t.x + MAP_NODE_W / 2;
    const ty = t.y + MAP_NODE_H;
    const low = Math.max(sy, ty) + GAP_Y;
    return {
      edge: e,
      path: `M ${sx} ${sy} C ${sx} ${low}, ${tx} ${low}, ${tx} ${ty}`,
      labelX: (sx + tx) / 2,
      labelY: low - 6,
      back: true,
    };
  });
  const lowest = Math.max(height, ...placedEdges.map((e) => e.labelY + 20));
  return { nodes: [...placed.values()], edges: placedEdges, width: Math.max(width, 320), height: lowest };
}

// ---- exemplars -----------------------------------------------------------------------------------------------

export interface ExemplarPoint {
  /** Seconds since the epoch. */
  readonly t: number;
  readonly v: number;
  readonly traceId: string;
  readonly series: string;
}

const TRACE_ID_LABELS = ['trace_id', 'traceID', 'traceId', 'trace-id'];

/** Exemplars that carry a trace ID, as chart markers. */
export function exemplarPoints(data: readonly ExemplarSeries[]): ExemplarPoint[] {
  const out: ExemplarPoint[] = [];
  for (const s of data) {
    const name = s.seriesLabels.__name__ ?? '';
    for (const ex of s.exemplars ?? []) {
      const id = TRACE_ID_LABELS.map((k) => ex.labels?.[k]).find((x) => x);
      const v = Number(ex.value);
      if (!id || !Number.isFinite(v) || !Number.isFinite(ex.timestamp)) continue;
      out.push({ t: ex.timestamp, v, traceId: id, series: name });
    }
  }
  return out;
}

/** Queries whose series can carry exemplars: histograms and span metrics. */
export function mayHaveExemplars(expr: string): boolean {
  return /_bucket\b|histogram_quantile|traces_span_metrics_|_duration|_latency/.test(expr);
}
