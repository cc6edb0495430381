/**
 * Span storage behind one narrow interface. Implementations: ClickHouseSpanStore (chDB or a ClickHouse
 * server, store.clickhouse.ts) and MemorySpanStore (store.memory.ts), both run by the shared suite in
 * store.cases.ts.
 */
import type { Operation, SpanRow, TraceQuery } from './model.ts';

export interface SpanStore {
  /**
   * Stores spans. Resolves once they are durable, which is when an ingest request is acknowledged; rejects
   * when they are not stored (nothing of a rejected call is visible). Safe to call concurrently: calls that
   * arrive while a write is in flight are committed together in the next one. Rejects at once with
   * SpanStoreOverloadedError when too many spans are waiting. The store keeps no reference to `spans`.
   */
  write(spans: readonly SpanRow[]): Promise<void>;
  /** Every stored span of a trace, ordered by start then span ID; [] when the trace is unknown. */
  trace(traceId: string): Promise<SpanRow[]>;
  /** Service names with at least one stored span, sorted. */
  services(): Promise<string[]>;
  /** Distinct (span name, kind) of a service, sorted by name then kind. */
  operations(service: string): Promise<Operation[]>;
  /**
   * IDs of traces with at least one span matching every condition of `q` (one span must match all of them,
   * as in Jaeger), newest matching span first, at most `q.limit`.
   */
  findTraceIds(q: TraceQuery): Promise<string[]>;
  /** Waits for writes in flight, then releases resources. Later calls reject. */
  close(): Promise<void>;
}

/** Too many spans are waiting to be written; the sender should retry after `retryAfterSeconds`. */
export class SpanStoreOverloadedError extends Error {
  override name = 'SpanStoreOverloadedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export class SpanStoreClosedError extends Error {
  override name = 'SpanStoreClosedError';
}

/** Whether a span matches every condition of a query (the reference semantics of findTraceIds). */
export function spanMatches(s: SpanRow, q: TraceQuery): boolean {
  if (s.startNs < q.startNs || s.startNs > q.endNs) return false;
  if (q.service !== undefined && s.service !== q.service) return false;
  if (q.operation !== undefined && s.name !== q.operation) return false;
  const d = s.endNs - s.startNs;
  if (q.minDurationNs !== undefined && d < q.minDurationNs) return false;
  if (q.maxDurationNs !== undefined && d > q.maxDurationNs) return false;
  for (const [k, v] of Object.entries(q.tags ?? {})) {
    if (s.attributes[k] !== v && s.resourceAttributes[k] !== v) return false;
  }
  return true;
}
