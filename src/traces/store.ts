/**
 * Span storage behind one narrow interface. Implementations: ClickHouseSpanStore (chDB or a ClickHouse
 * server, store.clickhouse.ts) and MemorySpanStore (store.memory.ts), both run by the shared suite in
 * store.cases.ts.
 */
import type {
  AttributeType,
  AttributeTypes,
  Operation,
  ServiceGraph,
  SpanRow,
  TraceQuery,
  TraceSummary,
} from './model.ts';
import { compileCondition, type ValueTest } from './search/condition.ts';

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
  /**
   * The spans of several traces at once, each ordered as by `trace`, in the order of `traceIds` (duplicates
   * once); unknown or malformed IDs are left out. For one page of search results.
   */
  traces(traceIds: readonly string[]): Promise<SpanRow[][]>;
  /** Service names with at least one stored span, sorted. */
  services(): Promise<string[]>;
  /** Distinct (span name, kind) of a service, sorted by name then kind. */
  operations(service: string): Promise<Operation[]>;
  /**
   * IDs of traces with at least one span matching every condition of `q` (one span must match all of them,
   * as in Jaeger), newest matching span first, at most `q.limit`.
   */
  findTraceIds(q: TraceQuery): Promise<string[]>;
  /**
   * Summaries of the given traces over all their stored spans, in the order of `traceIds`; unknown IDs are
   * left out. Meant for one page of search results (tens to a few hundred IDs).
   */
  summaries(traceIds: readonly string[]): Promise<TraceSummary[]>;
  /**
   * The service graph of spans starting in [startNs, endNs]: a child span in the window whose parent span
   * (same trace, started at most DEPENDENCY_PARENT_SLACK_NS before the window, or within it) belongs to another
   * service is one call parent → child. Nodes are every service with a span in the window.
   */
  dependencies(startNs: bigint, endNs: bigint): Promise<ServiceGraph>;
  /**
   * IDs of other traces with a span starting in [startNs, endNs] that links to a span of `traceId` (a consumer
   * that started its own trace for a message, for example), sorted, at most `limit`. Unbounded by an index:
   * callers keep the window short.
   */
  linkingTraces(traceId: string, startNs: bigint, endNs: bigint, limit: number): Promise<string[]>;
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

/** How long before a dependency window a parent span may start and still pair with a child in it. */
export const DEPENDENCY_PARENT_SLACK_NS = 15n * 60n * 1_000_000_000n;

/** Compiles the conditions of a query into one predicate over spans (the reference semantics of findTraceIds). */
export function spanPredicate(q: TraceQuery): (s: SpanRow) => boolean {
  const conds: { key: string; test: ValueTest }[] = [
    ...Object.entries(q.tags ?? {}).map(([key, value]) => ({ key, test: (v: string) => v === value })),
    ...(q.conditions ?? []).map((c) => ({ key: c.key, test: compileCondition(c) })),
  ];
  return (s) => {
    if (s.startNs < q.startNs || s.startNs > q.endNs) return false;
    if (q.service !== undefined && s.service !== q.service) return false;
    if (q.operation !== undefined && s.name !== q.operation) return false;
    if (q.kind !== undefined && s.kind !== q.kind) return false;
    if (q.status !== undefined && s.statusCode !== q.status) return false;
    const d = s.endNs - s.startNs;
    if (q.minDurationNs !== undefined && d < q.minDurationNs) return false;
    if (q.maxDurationNs !== undefined && d > q.maxDurationNs) return false;
    for (const { key, test } of conds) {
      const ok =
        (Object.hasOwn(s.attributes, key) && test(s.attributes[key]!, typeOf(s.attributeTypes, key))) ||
        (Object.hasOwn(s.resourceAttributes, key) &&
          test(s.resourceAttributes[key]!, typeOf(s.resourceAttributeTypes, key)));
      if (!ok) return false;
    }
    return true;
  };
}

function typeOf(types: AttributeTypes, key: string): AttributeType | undefined {
  return Object.hasOwn(types, key) ? types[key] : undefined;
}

/** Whether a span matches every condition of a query. */
export function spanMatches(s: SpanRow, q: TraceQuery): boolean {
  return spanPredicate(q)(s);
}
