/** An in-memory SpanStore: the reference implementation for tests and for handlers tested without chDB. */
import type {
  Operation,
  ServiceCount,
  ServiceEdge,
  ServiceGraph,
  ServiceNode,
  SpanRow,
  TraceQuery,
  TraceSummary,
} from './model.ts';
import { DEPENDENCY_PARENT_SLACK_NS, SpanStoreClosedError, spanPredicate, type SpanStore } from './store.ts';

/** The q-quantile of sorted values, interpolating linearly between the closest ranks (as ClickHouse's `quantile`). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const h = q * (sorted.length - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

const byNumber = (a: number, b: number) => a - b;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class MemorySpanStore implements SpanStore {
  private readonly spans: SpanRow[] = [];
  private closed = false;
  /** When set, the next write fails with it (to test how callers handle storage failures). */
  failNextWrite: Error | undefined;

  async write(spans: readonly SpanRow[]): Promise<void> {
    this.check();
    if (this.failNextWrite) {
      const err = this.failNextWrite;
      this.failNextWrite = undefined;
      throw err;
    }
    this.spans.push(...spans);
  }

  async trace(traceId: string): Promise<SpanRow[]> {
    this.check();
    return this.spans
      .filter((s) => s.traceId === traceId)
      .sort((a, b) =>
        a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.spanId < b.spanId ? -1 : 1,
      );
  }

  async traces(traceIds: readonly string[]): Promise<SpanRow[][]> {
    const out: SpanRow[][] = [];
    for (const id of new Set(traceIds)) {
      const spans = await this.trace(id);
      if (spans.length) out.push(spans);
    }
    return out;
  }

  async services(): Promise<string[]> {
    this.check();
    return [...new Set(this.spans.map((s) => s.service))].sort();
  }

  async operations(service: string): Promise<Operation[]> {
    this.check();
    const seen = new Map<string, Operation>();
    for (const s of this.spans)
      if (s.service === service) seen.set(`${s.name}\u0000${s.kind}`, { name: s.name, kind: s.kind });
    return [...seen.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.kind, b.kind));
  }

  async findTraceIds(q: TraceQuery): Promise<string[]> {
    this.check();
    const matches = spanPredicate(q);
    const newest = new Map<string, bigint>();
    for (const s of this.spans) {
      if (!matches(s)) continue;
      const t = newest.get(s.traceId);
      if (t === undefined || s.startNs > t) newest.set(s.traceId, s.startNs);
    }
    return [...newest.entries()]
      .sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : a[0] < b[0] ? -1 : 1))
      .slice(0, q.limit)
      .map(([id]) => id);
  }

  async summaries(traceIds: readonly string[]): Promise<TraceSummary[]> {
    this.check();
    const wanted = new Set(traceIds);
    const byTrace = new Map<string, SpanRow[]>();
    for (const s of this.spans) {
      if (!wanted.has(s.traceId)) continue;
      let list = byTrace.get(s.traceId);
      if (!list) byTrace.set(s.traceId, (list = []));
      list.push(s);
    }
    const out: TraceSummary[] = [];
    for (const id of new Set(traceIds)) {
      const spans = byTrace.get(id);
      if (!spans) continue;
      // Root: spans without a parent first, then the earliest, then the smallest span ID.
      const rank = (s: SpanRow) => [s.parentSpanId === '' ? 0 : 1, s.startNs, s.spanId] as const;
      let root = spans[0]!;
      let start = root.startNs;
      let end = root.endNs;
      const services = new Map<string, { spanCount: number; errorCount: number }>();
      let errors = 0;
      for (const s of spans) {
        const [ra, sa, ia] = rank(s);
        const [rb, sb, ib] = rank(root);
        if (ra < rb || (ra === rb && (sa < sb || (sa === sb && ia < ib)))) root = s;
        if (s.startNs < start) start = s.startNs;
        if (s.endNs > end) end = s.endNs;
        const c = services.get(s.service) ?? { spanCount: 0, errorCount: 0 };
        c.spanCount++;
        if (s.statusCode === 'error') {
          c.errorCount++;
          errors++;
        }
        services.set(s.service, c);
      }
      out.push({
        traceId: id,
        rootService: root.service,
        rootName: root.name,
        startNs: start,
        durationNs: end - start,
        spanCount: spans.length,
        errorCount: errors,
        services: [...services.entries()]
          .sort((a, b) => cmp(a[0], b[0]))
          .map(([service, c]): ServiceCount => ({ service, ...c })),
      });
    }
    return out;
  }

  async dependencies(startNs: bigint, endNs: bigint): Promise<ServiceGraph> {
    this.check();
    const parents = new Map<string, SpanRow>();
    const inWindow: SpanRow[] = [];
    for (const s of this.spans) {
      if (s.startNs < startNs - DEPENDENCY_PARENT_SLACK_NS || s.startNs > endNs) continue;
      const key = `${s.traceId}/${s.spanId}`;
      if (!parents.has(key)) parents.set(key, s);
      if (s.startNs >= startNs) inWindow.push(s);
    }
    const edges = new Map<string, { parent: string; child: string; errors: number; durations: number[] }>();
    const nodes = new Map<string, { spans: number; errors: number; entry: number[]; all: number[] }>();
    for (const c of inWindow) {
      const d = Number(c.endNs - c.startNs);
      const n = nodes.get(c.service) ?? { spans: 0, errors: 0, entry: [], all: [] };
      n.spans++;
      if (c.statusCode === 'error') n.errors++;
      n.all.push(d);
      if (c.kind === 'server' || c.kind === 'consumer' || c.parentSpanId === '') n.entry.push(d);
      nodes.set(c.service, n);
      if (c.parentSpanId === '') continue;
      const p = parents.get(`${c.traceId}/${c.parentSpanId}`);
      if (!p || p.service === c.service) continue;
      const key = `${p.service}\u0000${c.service}`;
      const e = edges.get(key) ?? { parent: p.service, child: c.service, errors: 0, durations: [] };
      if (c.statusCode === 'error') e.errors++;
      e.durations.push(d);
      edges.set(key, e);
    }
    return {
      nodes: [...nodes.entries()]
        .sort((a, b) => cmp(a[0], b[0]))
        .map(([service, n]): ServiceNode => {
          const pool = (n.entry.length ? n.entry : n.all).sort(byNumber);
          return { service, spans: n.spans, errors: n.errors, p95Ns: quantileSorted(pool, 0.95) };
        }),
      edges: [...edges.values()]
        .sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child))
        .map((e): ServiceEdge => {
          const sorted = e.durations.sort(byNumber);
          return {
            parent: e.parent,
            child: e.child,
            calls: sorted.length,
            errors: e.errors,
            p50Ns: quantileSorted(sorted, 0.5),
            p95Ns: quantileSorted(sorted, 0.95),
            p99Ns: quantileSorted(sorted, 0.99),
          };
        }),
    };
  }

  async linkingTraces(traceId: string, startNs: bigint, endNs: bigint, limit: number): Promise<string[]> {
    this.check();
    const ids = new Set<string>();
    for (const s of this.spans)
      if (
        s.traceId !== traceId &&
        s.startNs >= startNs &&
        s.startNs <= endNs &&
        s.links.some((l) => l.traceId === traceId)
      )
        ids.add(s.traceId);
    return [...ids].sort().slice(0, limit);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new SpanStoreClosedError('span store is closed');
  }
}
