/**
 * Trace reconstruction: turns the spans of one trace, in any order and possibly incomplete, into a tree that
 * the other analyses (self time, critical path, error propagation, journeys) and the trace API read.
 *
 * - Spans whose parent is not in the trace hang, marked `orphan`, under one synthetic root; nothing is dropped.
 * - A span ID received more than once is kept once (the most complete copy), except a Zipkin-style shared
 *   span (a client and a server copy from different services), which becomes two spans, server under client.
 * - Parent links that form a cycle are cut at the earliest span of the cycle, which becomes an orphan.
 * - Clock skew: a child recorded on another clock (host, or service when no host is known) than its parent
 *   that lies outside its parent's window is shifted, with its same-clock subtree, into that window (Jaeger's
 *   adjuster: centred within the parent's latency budget). Every shift is kept per span (`skewNs`).
 *
 * All walks are iterative (a 10,000-deep chain does not overflow the stack). Times are nanosecond offsets
 * from `baseNs` held in plain numbers, exact for traces shorter than 104 days.
 */
import type { SpanRow } from '../model.ts';

export const SYNTHETIC_ROOT_ID = 'synthetic-root';
export const SYNTHETIC_ROOT_NAME = 'missing parent spans';

/** One span of a reconstructed trace, or the synthetic root (`span === null`). */
export interface TraceNode {
  readonly index: number;
  /** The stored span; null for the synthetic root that holds orphans. */
  readonly span: SpanRow | null;
  /** The span's ID, `SYNTHETIC_ROOT_ID`, or `<id>-server` for the server half of a shared span. */
  readonly spanId: string;
  /** The parent's index, or -1 for a root (a real root or the synthetic root). */
  readonly parent: number;
  /** Children's indexes, ordered by (adjusted) start, then span ID. */
  readonly children: readonly number[];
  /** Adjusted start and end as nanoseconds after `TraceTree.baseNs`. */
  readonly startNs: number;
  readonly endNs: number;
  /** How far clock-skew adjustment moved this span, in ns (0 when not moved). */
  readonly skewNs: number;
  readonly depth: number;
  /** Whether the span's parent is missing from the trace (or was cut to break a cycle). */
  readonly orphan: boolean;
}

export interface TraceTree {
  readonly traceId: string;
  /** The earliest stored start of any span (before adjustment), ns since the epoch. */
  readonly baseNs: bigint;
  /** `baseNs` split into whole microseconds and the nanoseconds left over, for cheap conversions. */
  readonly baseUs: number;
  readonly baseRemNs: number;
  readonly nodes: readonly TraceNode[];
  /** Indexes of top-level nodes in display order: real roots by start, then the synthetic root if any. */
  readonly roots: readonly number[];
  /** The root whose span defines the trace's latency: the longest real root, else the synthetic root. */
  readonly primaryRoot: number;
  /** Every node index, depth first, children by start time. */
  readonly order: readonly number[];
  /** Index by span ID. */
  readonly byId: ReadonlyMap<string, number>;
  /** What reconstruction had to repair, in words a user can act on. */
  readonly warnings: readonly string[];
}

interface MutableNode {
  index: number;
  span: SpanRow | null;
  spanId: string;
  parentId: string;
  parent: number;
  children: number[];
  startNs: number;
  endNs: number;
  skewNs: number;
  depth: number;
  orphan: boolean;
}

/** Groups examples of one kind of repair into one warning. */
class WarningList {
  private readonly groups = new Map<string, { count: number; examples: string[] }>();
  add(kind: string, example: string): void {
    let g = this.groups.get(kind);
    if (!g) this.groups.set(kind, (g = { count: 0, examples: [] }));
    g.count++;
    if (g.examples.length < 3) g.examples.push(example);
  }
  count(kind: string): number {
    return this.groups.get(kind)?.count ?? 0;
  }
  examples(kind: string): string[] {
    return this.groups.get(kind)?.examples ?? [];
  }
}

/** The clock a span was timed by: its host when the resource names one, else its service. */
export function clockOf(s: SpanRow): string {
  const r = s.resourceAttributes;
  const host = r['host.id'] || r['host.name'];
  return host ? `host:${host}` : `service:${s.service}`;
}

/** Messaging hand-offs, where the child may legitimately start after its parent ends. */
function isAsyncEdge(parent: SpanRow, child: SpanRow): boolean {
  return parent.kind === 'producer' || child.kind === 'consumer';
}

function richness(s: SpanRow): number {
  return Object.keys(s.attributes).length + s.events.length + s.links.length;
}

/** Picks the copy to keep among copies of one span ID: the latest end, then the richest, then the first. */
function mostComplete(copies: SpanRow[]): SpanRow {
  let best = copies[0]!;
  for (const c of copies.slice(1)) {
    if (c.endNs > best.endNs || (c.endNs === best.endNs && richness(c) > richness(best))) best = c;
  }
  return best;
}

function isSharedSpan(copies: SpanRow[]): boolean {
  if (copies.length !== 2) return false;
  const [a, b] = copies as [SpanRow, SpanRow];
  const kinds = new Set([a.kind, b.kind]);
  return kinds.has('client') && kinds.has('server') && a.service !== b.service;
}

/** Reconstructs one trace from its spans (any order, any completeness). `spans` may be empty. */
export function reconstruct(spans: readonly SpanRow[]): TraceTree {
  const warnings = new WarningList();
  const traceId = spans[0]?.traceId ?? '';
  let baseNs = spans.length ? spans[0]!.startNs : 0n;
  for (const s of spans) if (s.startNs < baseNs) baseNs = s.startNs;

  // 1. One node per span ID.
  const copiesById = new Map<string, SpanRow[]>();
  for (const s of spans) {
    const c = copiesById.get(s.spanId);
    if (c) c.push(s);
    else copiesById.set(s.spanId, [s]);
  }
  const nodes: MutableNode[] = [];
  const byId = new Map<string, number>();
  /** Shared span ID → index of its server half, for re-pointing the server's children. */
  const serverHalf = new Map<string, number>();
  const addNode = (span: SpanRow, spanId: string, parentId: string) => {
    const start = Number(span.startNs - baseNs);
    const end = Number(span.endNs - baseNs);
    const index = nodes.length;
    nodes.push({
      index,
      span,
      spanId,
      parentId,
      parent: -1,
      children: [],
      startNs: start,
      endNs: end,
      skewNs: 0,
      depth: 0,
      orphan: false,
    });
    byId.set(spanId, index);
    return index;
  };
  for (const [id, copies] of copiesById) {
    if (copies.length === 1) {
      addNode(copies[0]!, id, copies[0]!.parentSpanId);
    } else if (isSharedSpan(copies)) {
      const client = copies.find((c) => c.kind === 'client')!;
      const server = copies.find((c) => c.kind === 'server')!;
      addNode(client, id, client.parentSpanId);
      serverHalf.set(id, addNode(server, `${id}-server`, id));
      warnings.add('shared', `${id} (${client.service} → ${server.service})`);
    } else {
      const best = mostComplete(copies);
      addNode(best, id, best.parentSpanId);
      warnings.add('duplicate', `${id} ×${copies.length}`);
    }
  }

  // 2. Parent links; missing parents make orphans.
  const realCount = nodes.length;
  const orphans: number[] = [];
  for (const n of nodes) {
    if (n.parentId === '') continue;
    let p = byId.get(n.parentId);
    const half = serverHalf.get(n.parentId);
    // Children of a shared span recorded by the server's service belong to the server half.
    if (half !== undefined && half !== n.index && nodes[half]!.span!.service === n.span!.service) p = half;
    if (p === undefined) {
      n.orphan = true;
      orphans.push(n.index);
      warnings.add('orphan', `${n.spanId} (parent ${n.parentId})`);
    } else {
      n.parent = p;
      nodes[p]!.children.push(n.index);
    }
  }

  // 3. Break cycles: whatever is not reachable from a root or an orphan hangs on a parent loop.
  const visited = new Uint8Array(realCount);
  const stack: number[] = [];
  const markFrom = (i: number) => {
    stack.push(i);
    while (stack.length) {
      const j = stack.pop()!;
      if (visited[j]) continue;
      visited[j] = 1;
      for (const c of nodes[j]!.children) if (!visited[c]) stack.push(c);
    }
  };
  for (const n of nodes) if (n.parentId === '' || n.orphan) markFrom(n.index);
  const unreached = nodes.filter((n) => !visited[n.index]);
  if (unreached.length) {
    unreached.sort((a, b) => a.startNs - b.startNs || (a.spanId < b.spanId ? -1 : 1));
    for (const n of unreached) {
      if (visited[n.index]) continue;
      const p = nodes[n.parent]!;
      p.children = p.children.filter((c) => c !== n.index);
      n.parent = -1;
      n.orphan = true;
      orphans.push(n.index);
      warnings.add('cycle', `${n.spanId} (parent ${n.parentId})`);
      markFrom(n.index);
    }
  }

  // 4. The synthetic root holding orphans.
  let synthetic = -1;
  if (orphans.length) {
    synthetic = nodes.length;
    nodes.push({
      index: synthetic,
      span: null,
      spanId: SYNTHETIC_ROOT_ID,
      parentId: '',
      parent: -1,
      children: orphans,
      startNs: 0,
      endNs: 0,
      skewNs: 0,
      depth: 0,
      orphan: false,
    });
    for (const o of orphans) nodes[o]!.parent = synthetic;
    byId.set(SYNTHETIC_ROOT_ID, synthetic);
  }
  const realRoots = nodes.filter((n) => n.span !== null && n.parent === -1).map((n) => n.index);

  // 5. Clock skew, parents before children. `skewNs` is each span's absolute shift.
  const shifted = new Map<string, { example: string; count: number }>();
  const pre: number[] = [...realRoots, ...orphans];
  const clocks: string[] = new Array<string>(nodes.length);
  while (pre.length) {
    const i = pre.pop()!;
    const n = nodes[i]!;
    const span = n.span!;
    const clock = clockOf(span);
    clocks[i] = clock;
    const p = n.parent >= 0 ? nodes[n.parent]! : undefined;
    if (p && p.span) {
      const pClock = clocks[p.index]!;
      const shift = pClock === clock ? p.skewNs : skewFor(p, n, isAsyncEdge(p.span, span));
      if (shift !== 0) {
        n.startNs += shift;
        n.endNs += shift;
        n.skewNs = shift;
        if (shift !== p.skewNs) {
          const s = shifted.get(span.service);
          if (s) s.count++;
          else
            shifted.set(span.service, {
              count: 1,
              example: `span ${n.spanId} moved ${formatShift(shift)} into its parent ${p.spanId} (${p.span.service})`,
            });
        }
      }
    }
    for (const c of n.children) pre.push(c);
  }

  // 6. The synthetic root spans its orphans' adjusted windows.
  if (synthetic >= 0) {
    const s = nodes[synthetic]!;
    s.startNs = Infinity;
    s.endNs = -Infinity;
    for (const o of orphans) {
      s.startNs = Math.min(s.startNs, nodes[o]!.startNs);
      s.endNs = Math.max(s.endNs, nodes[o]!.endNs);
    }
  }

  // 7. Display order: depth first, children by adjusted start.
  const byStart = (a: number, b: number) => {
    const x = nodes[a]!;
    const y = nodes[b]!;
    return x.startNs - y.startNs || (x.spanId < y.spanId ? -1 : x.spanId > y.spanId ? 1 : 0);
  };
  for (const n of nodes) if (n.children.length > 1) n.children.sort(byStart);
  realRoots.sort(byStart);
  const roots = synthetic >= 0 ? [...realRoots, synthetic] : realRoots;
  const order: number[] = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push(roots[r]!);
  while (stack.length) {
    const i = stack.pop()!;
    const n = nodes[i]!;
    n.depth = n.parent >= 0 ? nodes[n.parent]!.depth + 1 : 0;
    order.push(i);
    for (let c = n.children.length - 1; c >= 0; c--) stack.push(n.children[c]!);
  }

  let primaryRoot = synthetic;
  for (const r of realRoots) {
    const n = nodes[r]!;
    if (primaryRoot === synthetic || primaryRoot < 0) primaryRoot = r;
    else if (n.endNs - n.startNs > nodes[primaryRoot]!.endNs - nodes[primaryRoot]!.startNs) primaryRoot = r;
  }

  return {
    traceId,
    baseNs,
    baseUs: Number(baseNs / 1000n),
    baseRemNs: Number(baseNs % 1000n),
    nodes,
    roots,
    primaryRoot,
    order,
    byId,
    warnings: describe(warnings, shifted),
  };
}

/**
 * The shift that moves `child` (times as stored) into `parent`'s adjusted window, 0 when it fits. A child
 * longer than its parent is aligned at the parent's start; otherwise it is centred, assuming the network
 * took as long each way. Across an asynchronous hand-off only a child that starts before its parent is moved
 * (to the parent's start): a consumer may run long after its producer ended.
 */
function skewFor(parent: MutableNode, child: MutableNode, async: boolean): number {
  const cs = child.startNs;
  const ce = child.endNs;
  if (async) return cs < parent.startNs ? parent.startNs - cs : 0;
  if (cs >= parent.startNs && ce <= parent.endNs) return 0;
  const pd = parent.endNs - parent.startNs;
  const cd = ce - cs;
  if (cd > pd) return parent.startNs - cs;
  return Math.round(parent.startNs + (pd - cd) / 2 - cs);
}

function formatShift(ns: number): string {
  const sign = ns < 0 ? '-' : '+';
  const a = Math.abs(ns);
  if (a >= 1e9) return `${sign}${(a / 1e9).toFixed(3)} s`;
  if (a >= 1e6) return `${sign}${(a / 1e6).toFixed(3)} ms`;
  return `${sign}${(a / 1e3).toFixed(3)} µs`;
}

function more(n: number, shown: number): string {
  return n > shown ? ` and ${n - shown} more` : '';
}

function describe(w: WarningList, shifted: Map<string, { example: string; count: number }>): string[] {
  const out: string[] = [];
  const orphans = w.count('orphan');
  if (orphans)
    out.push(
      `${orphans} span(s) reference a parent span that is not in the trace (it may not have arrived yet, or was ` +
        `not sampled): ${w.examples('orphan').join(', ')}${more(orphans, w.examples('orphan').length)}; ` +
        `they are shown under "${SYNTHETIC_ROOT_NAME}"`,
    );
  const dups = w.count('duplicate');
  if (dups)
    out.push(
      `${dups} span ID(s) were received more than once: ${w.examples('duplicate').join(', ')}` +
        `${more(dups, w.examples('duplicate').length)}; the most complete copy of each is shown`,
    );
  const shared = w.count('shared');
  if (shared)
    out.push(
      `${shared} span ID(s) are shared by a client and a server span (Zipkin style): ` +
        `${w.examples('shared').join(', ')}${more(shared, w.examples('shared').length)}; the server half is ` +
        `shown as "<id>-server" under the client half`,
    );
  const cycles = w.count('cycle');
  if (cycles)
    out.push(
      `parent links form a cycle; it was cut at ${w.examples('cycle').join(', ')}` +
        `${more(cycles, w.examples('cycle').length)}, shown under "${SYNTHETIC_ROOT_NAME}"`,
    );
  for (const [service, s] of shifted)
    out.push(
      `clock skew: ${s.count} span(s) of ${service} lay outside their parent span and were moved into it with ` +
        `their subtree (${s.example}${s.count > 1 ? ', …' : ''}); moved spans carry their shift (skewUs)`,
    );
  return out;
}

/** Microseconds since the epoch of a node-relative time, truncated. */
export function epochUs(tree: TraceTree, relNs: number): number {
  return tree.baseUs + Math.floor((tree.baseRemNs + relNs) / 1000);
}
