/**
 * Journeys: one message followed across traces and delivery channels. A message fanned out to several
 * channels (email, SMS, push, webhooks) may continue in other traces, joined to it by span links (a consumer
 * linking to the producer that sent the message, or a producer linking to the trace it started).
 *
 * `collectJourneyTraces` loads the traces reachable through links found in loaded spans, in both directions
 * (the store cannot be searched by linked trace ID, so a trace is found only when a loaded span links to it).
 * `assembleJourney` joins them into one graph: parent → child within a trace, and cause → effect for each link
 * (producer → consumer; otherwise the earlier span is the cause). The journey starts at the root of the trace
 * nothing else caused. Spans that mark a channel hand-off (a `messaging.destination.name` or `channel`
 * attribute, a producer or consumer span, or a span joined by a link) are the branch markers; the fan-out
 * point is the span with the most successors leading to a marker, and each such successor starts a branch.
 */
import type { SpanRow } from '../model.ts';
import { epochUs, reconstruct, type TraceTree } from './tree.ts';

export interface JourneyBranch {
  /** `messaging.destination.name` or `channel` of the branch's first span that has one, else a service. */
  readonly channel: string;
  /** Where the branch continues in another trace than the fan-out point, its first span there; else its head. */
  readonly traceId: string;
  readonly spanId: string;
  /** 'error' when any span of the branch failed. */
  readonly status: 'ok' | 'error';
  /** From the start of the branch's head to the end of its last span, µs. */
  readonly durationUs: number;
}

export interface Journey {
  /** The origin trace first, then the others by start. */
  readonly traces: readonly string[];
  readonly fanOut: { readonly traceId: string; readonly spanId: string } | null;
  readonly branches: readonly JourneyBranch[];
}

/** Most traces one journey loads. */
export const MAX_JOURNEY_TRACES = 50;

/** How far around a loaded trace's spans `linking` looks for traces that link back to it. */
export const JOURNEY_LINK_WINDOW_NS = 3_600_000_000_000n;

/**
 * Loads `traceId` and every trace reachable from it through span links (breadth first, at most `maxTraces`):
 * links that loaded spans carry, and, with `linking`, traces whose spans link to a loaded trace (consumers that
 * started their own trace), looked for within JOURNEY_LINK_WINDOW_NS of it. Returns the loaded traces by ID;
 * empty when `traceId` itself has no spans. Linked traces with no stored spans are left out.
 */
export async function collectJourneyTraces(
  traceId: string,
  load: (traceId: string) => Promise<SpanRow[]>,
  maxTraces = MAX_JOURNEY_TRACES,
  linking?: (traceId: string, startNs: bigint, endNs: bigint, limit: number) => Promise<string[]>,
): Promise<Map<string, SpanRow[]>> {
  const loaded = new Map<string, SpanRow[]>();
  const seen = new Set([traceId]);
  let level = [traceId];
  while (level.length && loaded.size < maxTraces) {
    const batch = level.slice(0, maxTraces - loaded.size);
    const results = await Promise.all(batch.map((id) => load(id)));
    const back = await Promise.all(
      batch.map((id, i) => {
        const spans = results[i]!;
        if (!linking || spans.length === 0) return [];
        let lo = spans[0]!.startNs;
        let hi = spans[0]!.endNs;
        for (const s of spans) {
          if (s.startNs < lo) lo = s.startNs;
          if (s.endNs > hi) hi = s.endNs;
        }
        return linking(id, lo - JOURNEY_LINK_WINDOW_NS, hi + JOURNEY_LINK_WINDOW_NS, maxTraces);
      }),
    );
    const next: string[] = [];
    const visit = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      next.push(id);
    };
    batch.forEach((id, i) => {
      const spans = results[i]!;
      if (spans.length === 0) return;
      loaded.set(id, spans);
      for (const s of spans) for (const l of s.links) visit(l.traceId);
      for (const other of back[i]!) visit(other);
    });
    if (!loaded.has(traceId)) return loaded;
    level = next;
  }
  return loaded;
}

const CHANNEL_KEYS = ['messaging.destination.name', 'channel'];

function channelAttribute(s: SpanRow): string | undefined {
  for (const k of CHANNEL_KEYS) {
    const v = s.attributes[k];
    if (v) return v;
  }
  return undefined;
}

interface GNode {
  readonly tree: TraceTree;
  readonly idx: number;
  readonly span: SpanRow | null;
  readonly startUs: number;
  readonly endUs: number;
  /** Successors: tree children, then link effects. */
  readonly next: number[];
  linked: boolean;
}

/** Joins loaded traces (from collectJourneyTraces) into the journey of `traceId`. */
export function assembleJourney(traceId: string, traces: ReadonlyMap<string, readonly SpanRow[]>): Journey {
  const trees = [...traces.values()].map((spans) => reconstruct(spans)).filter((t) => t.nodes.length);
  const g: GNode[] = [];
  const firstOf = new Map<TraceTree, number>();
  const key = new Map<string, number>();
  for (const t of trees) {
    firstOf.set(t, g.length);
    for (const n of t.nodes) {
      key.set(`${t.traceId}/${n.spanId}`, g.length);
      g.push({
        tree: t,
        idx: n.index,
        span: n.span,
        startUs: epochUs(t, n.startNs),
        endUs: epochUs(t, n.endNs),
        next: [],
        linked: false,
      });
    }
  }
  for (const t of trees) {
    const base = firstOf.get(t)!;
    for (const n of t.nodes) for (const c of n.children) g[base + n.index]!.next.push(base + c);
  }

  // Link edges, cause → effect; count traces that are effects of another trace.
  const caused = new Set<TraceTree>();
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    for (const l of a.span?.links ?? []) {
      const j = key.get(`${l.traceId}/${l.spanId}`);
      if (j === undefined || j === i) continue;
      const b = g[j]!;
      const aCauses =
        a.span!.kind === 'producer' && b.span!.kind === 'consumer'
          ? true
          : a.span!.kind === 'consumer' && b.span!.kind === 'producer'
            ? false
            : a.startUs < b.startUs;
      const [from, to] = aCauses ? [i, j] : [j, i];
      g[from]!.next.push(to);
      g[to]!.linked = true;
      if (g[from]!.tree !== g[to]!.tree) caused.add(g[to]!.tree);
    }
  }

  const requested = trees.find((t) => t.traceId === traceId);
  if (!requested) return { traces: [], fanOut: null, branches: [] };
  const startOf = (t: TraceTree) => g[firstOf.get(t)! + t.primaryRoot]!.startUs;
  const uncaused = trees.filter((t) => !caused.has(t)).sort((x, y) => startOf(x) - startOf(y));
  const origin = uncaused[0] ?? requested;
  const traceOrder = [origin, ...trees.filter((t) => t !== origin).sort((x, y) => startOf(x) - startOf(y))];

  // Reach: whether a marker is at or below each node (iterative post-order; a link cycle is not followed twice).
  const isMarker = (n: GNode) =>
    n.span !== null &&
    (n.linked ||
      n.span.kind === 'producer' ||
      n.span.kind === 'consumer' ||
      channelAttribute(n.span) !== undefined);
  const reach = new Uint8Array(g.length);
  const state = new Uint8Array(g.length); // 0 new, 1 open, 2 done
  const preorder: number[] = [];
  const rootIdx = firstOf.get(origin)! + origin.primaryRoot;
  const stack: number[] = [rootIdx];
  while (stack.length) {
    const i = stack[stack.length - 1]!;
    if (state[i] === 0) {
      state[i] = 1;
      preorder.push(i);
      const nx = g[i]!.next;
      for (let k = nx.length - 1; k >= 0; k--) if (state[nx[k]!] === 0) stack.push(nx[k]!);
      continue;
    }
    stack.pop();
    if (state[i] === 2) continue;
    state[i] = 2;
    let r = isMarker(g[i]!) ? 1 : 0;
    for (const c of g[i]!.next) if (reach[c]) r = 1;
    reach[i] = r;
  }

  // Fan-out: the node with the most successors that lead to a marker (the shallowest on ties).
  let fan = -1;
  let fanCount = 1;
  for (const i of preorder) {
    let count = 0;
    for (const c of g[i]!.next) if (reach[c]) count++;
    if (count > fanCount) {
      fan = i;
      fanCount = count;
    }
  }
  let heads: number[];
  if (fan >= 0) heads = g[fan]!.next.filter((c) => reach[c]);
  else {
    const first = preorder.find((i) => isMarker(g[i]!));
    heads = first === undefined ? [] : [first];
  }
  const fanSpan = fan >= 0 ? g[fan]! : undefined;
  const fanTree = fanSpan?.tree ?? origin;

  const branches = heads.map((h) => branch(g, h, fanTree, fanSpan?.span?.service));
  return {
    traces: traceOrder.map((t) => t.traceId),
    fanOut: fanSpan
      ? { traceId: fanSpan.tree.traceId, spanId: fanSpan.tree.nodes[fanSpan.idx]!.spanId }
      : null,
    branches,
  };
}

function branch(g: GNode[], head: number, fanTree: TraceTree, fanService: string | undefined): JourneyBranch {
  const seen = new Set([head]);
  const queue = [head];
  let error = false;
  let end = g[head]!.endUs;
  let channel: string | undefined;
  let consumerService: string | undefined;
  let otherService: string | undefined;
  let elsewhere: number | undefined;
  for (let q = 0; q < queue.length; q++) {
    const n = g[queue[q]!]!;
    if (n.span) {
      if (n.span.statusCode === 'error') error = true;
      channel ??= channelAttribute(n.span);
      if (n.span.kind === 'consumer') consumerService ??= n.span.service;
      if (fanService !== undefined && n.span.service !== fanService) otherService ??= n.span.service;
      if (n.tree !== fanTree) elsewhere ??= queue[q]!;
    }
    end = Math.max(end, n.endUs);
    for (const c of n.next)
      if (!seen.has(c)) {
        seen.add(c);
        queue.push(c);
      }
  }
  const h = g[head]!;
  const at = g[elsewhere ?? head]!;
  return {
    channel: channel ?? consumerService ?? otherService ?? h.span?.service ?? '',
    traceId: at.tree.traceId,
    spanId: at.tree.nodes[at.idx]!.spanId,
    status: error ? 'error' : 'ok',
    durationUs: end - h.startUs,
  };
}
