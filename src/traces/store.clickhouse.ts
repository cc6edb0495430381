/**
 * SpanStore on ClickHouse (chDB in-process or a server) through the shared SqlTransport. Writes are
 * group-committed: while one JSONEachRow insert is in flight, later writes queue and go out together in the
 * next insert, so many small export requests cost few data parts. A write resolves once its insert has
 * returned, i.e. ClickHouse has written (and, by the table setting fsync_after_insert, synced) the part.
 */
import { sqlIdent, sqlString, type SqlTransport } from '../store/clickhouse/transport.ts';
import type {
  AttributeType,
  AttributeTypes,
  Attributes,
  Operation,
  SpanKind,
  SpanRow,
  StatusCode,
  TraceQuery,
} from './model.ts';
import { applyTraceRetention, migrateTraces } from './schema.ts';
import { SpanStoreClosedError, SpanStoreOverloadedError, type SpanStore } from './store.ts';

export interface ClickHouseSpanStoreOptions {
  readonly database: string;
  /** Retention in ms; 0 keeps spans forever. */
  readonly retentionMs: number;
  /** Most spans queued or in flight before writes are refused as overloaded. Default 1,000,000. */
  readonly maxPendingSpans?: number;
}

interface Waiter {
  readonly lines: string;
  readonly spans: number;
  resolve(): void;
  reject(err: unknown): void;
}

const NS = 1_000_000_000n;
const HEX = /^[0-9a-f]*$/;

/** Nanoseconds → the `seconds.fraction` text ClickHouse reads into DateTime64(9). */
function dt64(ns: bigint): string {
  return `${ns / NS}.${(ns % NS).toString().padStart(9, '0')}`;
}

/** Serialises one span as a JSONEachRow line of the spans table. */
export function spanJsonLine(s: SpanRow): string {
  return JSON.stringify({
    start: dt64(s.startNs),
    service: s.service,
    name: s.name,
    kind: s.kind,
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    trace_state: s.traceState,
    flags: s.flags,
    duration_ns: (s.endNs - s.startNs).toString(),
    status_code: s.statusCode,
    status_message: s.statusMessage,
    resource_attributes: s.resourceAttributes,
    resource_attribute_types: s.resourceAttributeTypes,
    scope_name: s.scopeName,
    scope_version: s.scopeVersion,
    attributes: s.attributes,
    attribute_types: s.attributeTypes,
    event_times: s.events.map((e) => dt64(e.timeNs)),
    event_names: s.events.map((e) => e.name),
    event_attributes: s.events.map((e) => e.attributes),
    link_trace_ids: s.links.map((l) => l.traceId),
    link_span_ids: s.links.map((l) => l.spanId),
    link_trace_states: s.links.map((l) => l.traceState),
    link_attributes: s.links.map((l) => l.attributes),
  });
}

/** The columns read back, with 64-bit values as text (the transport may return them as lossy numbers). */
const SELECT_COLUMNS = `toString(toUnixTimestamp64Nano(start)) AS start_ns, service, name, kind, trace_id,
  span_id, parent_span_id, trace_state, flags, toString(duration_ns) AS duration, status_code, status_message,
  resource_attributes, resource_attribute_types, scope_name, scope_version, attributes, attribute_types,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), event_times) AS event_ns, event_names, event_attributes,
  link_trace_ids, link_span_ids, link_trace_states, link_attributes`;

interface DbSpan {
  start_ns: string;
  service: string;
  name: string;
  kind: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  trace_state: string;
  flags: number;
  duration: string;
  status_code: string;
  status_message: string;
  resource_attributes: Attributes;
  resource_attribute_types: Record<string, string>;
  scope_name: string;
  scope_version: string;
  attributes: Attributes;
  attribute_types: Record<string, string>;
  event_ns: string[];
  event_names: string[];
  event_attributes: Attributes[];
  link_trace_ids: string[];
  link_span_ids: string[];
  link_trace_states: string[];
  link_attributes: Attributes[];
}

function fromDb(r: DbSpan): SpanRow {
  const startNs = BigInt(r.start_ns);
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    traceState: r.trace_state,
    flags: Number(r.flags),
    name: r.name,
    kind: r.kind as SpanKind,
    startNs,
    endNs: startNs + BigInt(r.duration),
    statusCode: r.status_code as StatusCode,
    statusMessage: r.status_message,
    service: r.service,
    resourceAttributes: r.resource_attributes,
    resourceAttributeTypes: r.resource_attribute_types as AttributeTypes,
    scopeName: r.scope_name,
    scopeVersion: r.scope_version,
    attributes: r.attributes,
    attributeTypes: r.attribute_types as Record<string, AttributeType>,
    events: r.event_ns.map((t, i) => ({
      timeNs: BigInt(t),
      name: r.event_names[i] ?? '',
      attributes: r.event_attributes[i] ?? {},
    })),
    links: r.link_trace_ids.map((t, i) => ({
      traceId: t,
      spanId: r.link_span_ids[i] ?? '',
      traceState: r.link_trace_states[i] ?? '',
      attributes: r.link_attributes[i] ?? {},
    })),
  };
}

export class ClickHouseSpanStore implements SpanStore {
  private readonly db: string;
  private readonly maxPending: number;
  private queue: Waiter[] = [];
  /** Spans queued or in flight. */
  private pending = 0;
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly sql: SqlTransport,
    opts: ClickHouseSpanStoreOptions,
  ) {
    this.db = sqlIdent(opts.database);
    this.maxPending = opts.maxPendingSpans ?? 1_000_000;
  }

  /** Migrates the schema, applies retention and returns a ready store. The transport stays the caller's. */
  static async open(sql: SqlTransport, opts: ClickHouseSpanStoreOptions): Promise<ClickHouseSpanStore> {
    await migrateTraces(sql, opts.database);
    await applyTraceRetention(sql, opts.database, opts.retentionMs);
    return new ClickHouseSpanStore(sql, opts);
  }

  write(spans: readonly SpanRow[]): Promise<void> {
    if (this.closed) return Promise.reject(new SpanStoreClosedError('span store is closed'));
    if (spans.length === 0) return Promise.resolve();
    if (this.pending > 0 && this.pending + spans.length > this.maxPending)
      return Promise.reject(
        new SpanStoreOverloadedError(
          `${this.pending} spans are waiting to be written (limit ${this.maxPending})`,
          2,
        ),
      );
    let lines = '';
    for (const s of spans) lines += spanJsonLine(s) + '\n';
    this.pending += spans.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ lines, spans: spans.length, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Writes queued batches until the queue is empty; every waiter of one insert shares its outcome. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const count = batch.reduce((n, w) => n + w.spans, 0);
        try {
          await this.sql.insertJSON(`${this.db}.spans`, Buffer.from(batch.map((w) => w.lines).join('')));
          for (const w of batch) w.resolve();
        } catch (err) {
          const e = new Error(`writing ${count} spans failed: ${(err as Error).message}`, { cause: err });
          for (const w of batch) w.reject(e);
        } finally {
          this.pending -= count;
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  async trace(traceId: string): Promise<SpanRow[]> {
    this.check();
    if (!HEX.test(traceId)) return [];
    const id = sqlString(traceId);
    const where = await this.sql.queryRows<{ n: string; lo: string; hi: string }>(
      `SELECT toString(count()) AS n, toString(min(start)) AS lo, toString(max(end)) AS hi
       FROM ${this.db}.trace_id_ts WHERE trace_id = ${id}`,
    );
    const w = where[0];
    if (!w || w.n === '0') return [];
    const rows = await this.sql.queryRows<DbSpan>(
      `SELECT ${SELECT_COLUMNS} FROM ${this.db}.spans
       WHERE trace_id = ${id}
         AND start BETWEEN toDateTime64(${sqlString(w.lo)}, 9, 'UTC') AND toDateTime64(${sqlString(w.hi)}, 9, 'UTC')
       ORDER BY start, span_id`,
    );
    return rows.map(fromDb);
  }

  async services(): Promise<string[]> {
    this.check();
    const rows = await this.sql.queryRows<{ service: string }>(
      `SELECT DISTINCT service FROM ${this.db}.spans ORDER BY service`,
    );
    return rows.map((r) => r.service);
  }

  async operations(service: string): Promise<Operation[]> {
    this.check();
    const rows = await this.sql.queryRows<{ name: string; kind: string }>(
      `SELECT DISTINCT name, kind FROM ${this.db}.spans WHERE service = ${sqlString(service)} ORDER BY name, kind`,
    );
    return rows.map((r) => ({ name: r.name, kind: r.kind as SpanKind }));
  }

  async findTraceIds(q: TraceQuery): Promise<string[]> {
    this.check();
    const cond = [
      `start BETWEEN toDateTime64(${sqlString(dt64(q.startNs))}, 9, 'UTC') AND toDateTime64(${sqlString(dt64(q.endNs))}, 9, 'UTC')`,
    ];
    if (q.service !== undefined) cond.push(`service = ${sqlString(q.service)}`);
    if (q.operation !== undefined) cond.push(`name = ${sqlString(q.operation)}`);
    if (q.minDurationNs !== undefined) cond.push(`duration_ns >= ${BigInt(q.minDurationNs)}`);
    if (q.maxDurationNs !== undefined) cond.push(`duration_ns <= ${BigInt(q.maxDurationNs)}`);
    for (const [k, v] of Object.entries(q.tags ?? {})) {
      const key = sqlString(k);
      const val = sqlString(v);
      cond.push(
        `((mapContains(attributes, ${key}) AND attributes[${key}] = ${val}) OR ` +
          `(mapContains(resource_attributes, ${key}) AND resource_attributes[${key}] = ${val}))`,
      );
    }
    const rows = await this.sql.queryRows<{ trace_id: string }>(
      `SELECT trace_id, max(start) AS newest FROM ${this.db}.spans WHERE ${cond.join(' AND ')}
       GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT ${Math.max(0, Math.floor(q.limit))}`,
    );
    return rows.map((r) => r.trace_id);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
  }

  private check(): void {
    if (this.closed) throw new SpanStoreClosedError('span store is closed');
  }
}
