/** An in-memory SpanStore: the reference implementation for tests and for handlers tested without chDB. */
import type { Operation, SpanRow, TraceQuery } from './model.ts';
import { SpanStoreClosedError, spanMatches, type SpanStore } from './store.ts';

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

  async services(): Promise<string[]> {
    this.check();
    return [...new Set(this.spans.map((s) => s.service))].sort();
  }

  async operations(service: string): Promise<Operation[]> {
    this.check();
    const seen = new Map<string, Operation>();
    for (const s of this.spans)
      if (s.service === service) seen.set(`${s.name}\u0000${s.kind}`, { name: s.name, kind: s.kind });
    return [...seen.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0,
    );
  }

  async findTraceIds(q: TraceQuery): Promise<string[]> {
    this.check();
    const newest = new Map<string, bigint>();
    for (const s of this.spans) {
      if (!spanMatches(s, q)) continue;
      const t = newest.get(s.traceId);
      if (t === undefined || s.startNs > t) newest.set(s.traceId, s.startNs);
    }
    return [...newest.entries()]
      .sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : a[0] < b[0] ? -1 : 1))
      .slice(0, q.limit)
      .map(([id]) => id);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new SpanStoreClosedError('span store is closed');
  }
}
