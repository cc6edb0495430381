/**
 * SpanStore on ClickHouse (chDB in-process or a server) through the shared SqlTransport. Every write is encoded
 * as RowBinary rows at once. With `walDir`, a write is acknowledged once its rows are synced to a write-ahead
 * log and inserted in the background in big batches (store.clickhouse.wal.ts); reads first wait (up to 1 s)
 * for every acknowledged span to be inserted.
 *
 * Without it, writes are group-committed straight into ClickHouse: while one insert is in flight, later writes
 * queue and go out together in the next insert, so many small export requests cost few data parts. After an
 * insert, the next one waits a little (at most 20 ms and half the last insert's duration) for as many spans as
 * the last insert carried, since the senders just answered usually send again at once. A write resolves once
 * its insert has returned, i.e. ClickHouse has written (and, by the table setting fsync_after_insert, synced)
 * the part.
 */
import { createHash } from 'node:crypto';
import { sqlIdent, sqlString, type SqlTransport } from '../store/clickhouse/transport.ts';
import type {
  AttributeCondition,
  AttributeType,
  AttributeTypes,
  Attributes,
  Operation,
  ServiceGraph,
  SpanKind,
  SpanRow,
  StatusCode,
  TraceQuery,
  TraceSummary,
} from './model.ts';
import { applyTraceRetention, migrateTraces, SPAN_STRUCTURE } from './schema.ts';
import { checkCondition, isInteger, isNumber } from './search/condition.ts';
import { READ_WAIT_MS, WalSpanWriter } from './store.clickhouse.wal.ts';
import {
  DEPENDENCY_PARENT_SLACK_NS,
  SpanStoreClosedError,
  SpanStoreOverloadedError,
  type SpanStore,
} from './store.ts';

export interface ClickHouseSpanStoreOptions {
  readonly database: string;
  /** Retention in ms; 0 keeps spans forever. */
  readonly retentionMs: number;
  /**
   * Most spans queued, in flight or (with `walDir`) acknowledged and not yet inserted before writes are refused
   * as overloaded. Default 1,000,000; 300,000 with `walDir`.
   */
  readonly maxPendingSpans?: number;
  /**
   * With `walDir`: bytes of acknowledged rows waiting for ClickHouse (held in memory until inserted) beyond
   * which writes are refused as overloaded, so that a few huge spans cannot exhaust memory. Default 256 MiB.
   */
  readonly maxPendingBytes?: number;
  /**
   * Folder of the span write-ahead log; when set, writes resolve once synced there and ClickHouse is written in
   * the background (see store.clickhouse.wal.ts). Whatever an earlier process left there is inserted at open.
   */
  readonly walDir?: string;
  /** With `walDir`: longest wait before acknowledged spans are inserted. Default 500 ms. */
  readonly flushIntervalMs?: number;
  /** Receives WAL replay reports and background insert failures. */
  readonly log?: (msg: string) => void;
}

interface Waiter {
  readonly rows: Buffer;
  readonly spans: number;
  resolve(): void;
  reject(err: unknown): void;
}

const NS = 1_000_000_000n;
const HEX = /^[0-9a-f]*$/;
/** A block inserted again is skipped in `trace_id_ts` too (schema version 4), not only in `spans`. */
const INSERT_SETTINGS = {
  max_partitions_per_insert_block: 0,
  deduplicate_blocks_in_dependent_materialized_views: 1,
};
/** Longest wait for more writes after an insert, and its share of that insert's duration. */
const MAX_LINGER_MS = 20;
const LINGER_SHARE = 0.5;
/** Memory a dependency self-join may use for its hash table before ClickHouse switches to a merge join. */
const MAX_JOIN_BYTES = 1 << 30;

/** Nanoseconds → the `seconds.fraction` text ClickHouse reads into DateTime64(9). */
function dt64(ns: bigint): string {
  return `${ns / NS}.${(ns % NS).toString().padStart(9, '0')}`;
}

function timeLiteral(ns: bigint): string {
  return `toDateTime64(${sqlString(dt64(ns))}, 9, 'UTC')`;
}

/**
 * The SQL of one attribute condition on one map pair (span or resource attributes), with the semantics of
 * compileCondition in search/condition.ts: numbers compare numerically by the stored type, regular expressions
 * are anchored, a missing key never matches.
 */
function conditionOnMap(c: AttributeCondition, map: string, types: string): string {
  const key = sqlString(c.key);
  const v = `${map}[${key}]`;
  const t = `${types}[${key}]`;
  const num = c.value.trim().replace(/^\+/, '');
  const asInt = `toInt64(${sqlString(num)})`;
  const asFloat = `toFloat64(${sqlString(num)})`;
  const numericCmp = (op: string) =>
    isInteger(num)
      ? `if(${t} = 'int', toInt64OrNull(${v}) ${op} ${asInt}, toFloat64OrNull(${v}) ${op} ${asFloat})`
      : `toFloat64OrNull(${v}) ${op} ${asFloat}`;
  let pred: string;
  if (c.op === '=' || c.op === '!=') {
    const eq = isNumber(c.value)
      ? `if(${t} IN ('int', 'double'), ifNull(${numericCmp('=')}, 0), ${v} = ${sqlString(c.value)})`
      : `${v} = ${sqlString(c.value)}`;
    pred = c.op === '=' ? eq : `NOT (${eq})`;
  } else if (c.op === '=~' || c.op === '!~') {
    const m = `match(${v}, ${sqlString(`^(?:${c.value})$`)})`;
    pred = c.op === '=~' ? m : `NOT ${m}`;
  } else {
    pred = `${t} IN ('int', 'double') AND ifNull(${numericCmp(c.op)}, 0)`;
  }
  return `(mapContains(${map}, ${key}) AND ${pred})`;
}

/** The SQL of one condition on span or resource attributes. */
export function conditionSql(c: AttributeCondition): string {
  checkCondition(c);
  return `(${conditionOnMap(c, 'attributes', 'attribute_types')} OR ${conditionOnMap(c, 'resource_attributes', 'resource_attribute_types')})`;
}

/**
 * A condition every matching span also meets, stated on the combined key and value arrays that the
 * `idx_all_attr_keys`/`idx_all_attr_values` bloom filters index, so ClickHouse can skip granules (it cannot
 * with the OR of two maps). Values are only used when a match implies the stored text equals the wanted one.
 */
function indexHints(c: AttributeCondition): string[] {
  const hints = [`has(arrayConcat(mapKeys(attributes), mapKeys(resource_attributes)), ${sqlString(c.key)})`];
  const canonical =
    !isNumber(c.value) ||
    (isInteger(c.value) ? BigInt(c.value).toString() === c.value : String(Number(c.value)) === c.value);
  if (c.op === '=' && canonical)
    hints.push(
      `has(arrayConcat(mapValues(attributes), mapValues(resource_attributes)), ${sqlString(c.value)})`,
    );
  return hints;
}

/** Jaeger's tag search: the text of a span or resource attribute equals the value. */
function tagSql(k: string, v: string): string {
  const key = sqlString(k);
  const val = sqlString(v);
  return (
    `((mapContains(attributes, ${key}) AND attributes[${key}] = ${val}) OR ` +
    `(mapContains(resource_attributes, ${key}) AND resource_attributes[${key}] = ${val}))`
  );
}

function tagHints(key: string, value: string): string[] {
  return [
    `has(arrayConcat(mapKeys(attributes), mapKeys(resource_attributes)), ${sqlString(key)})`,
    `has(arrayConcat(mapValues(attributes), mapValues(resource_attributes)), ${sqlString(value)})`,
  ];
}

/**
 * Encodes spans as RowBinary rows of the spans table (column order and types: SPAN_COLUMNS), straight from
 * SpanRow into one growing buffer: no intermediate objects or text, and ClickHouse parses fixed-width numbers
 * and length-prefixed strings several times faster than JSON.
 */
export class SpanRowBinaryEncoder {
  private buf: Buffer;
  private off = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.off;
  }

  /** The rows written so far (a view of the internal buffer; the encoder must not be used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** LEB128, as RowBinary length prefixes are. */
  private varint(n: number): void {
    this.ensure(10);
    const b = this.buf;
    while (n >= 0x80) {
      b[this.off++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    b[this.off++] = n;
  }

  private str(s: string): void {
    const n = s.length;
    // Most strings are short ASCII (IDs, names, keys): copy the code units with a one-byte length.
    if (n < 128) {
      this.ensure(n + 1);
      const b = this.buf;
      const o = this.off + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[o + i] = c;
      }
      if (i === n) {
        b[this.off] = n;
        this.off = o + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.off += this.buf.write(s, this.off, bytes, 'utf8');
  }

  private map(m: Readonly<Record<string, string>>): void {
    const keys = Object.keys(m);
    this.varint(keys.length);
    for (const k of keys) {
      this.str(k);
      this.str(m[k]!);
    }
  }

  private i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v, this.off);
    this.off += 8;
  }

  span(s: SpanRow): void {
    this.i64(s.startNs);
    this.str(s.service);
    this.str(s.name);
    this.str(s.kind);
    this.str(s.traceId);
    this.str(s.spanId);
    this.str(s.parentSpanId);
    this.str(s.traceState);
    this.ensure(9);
    this.buf[this.off++] = s.flags & 0xff;
    this.buf.writeBigUInt64LE(s.endNs - s.startNs, this.off);
    this.off += 8;
    this.str(s.statusCode);
    this.str(s.statusMessage);
    this.map(s.resourceAttributes);
    this.map(s.resourceAttributeTypes);
    this.str(s.scopeName);
    this.str(s.scopeVersion);
    this.map(s.attributes);
    this.map(s.attributeTypes);
    const events = s.events;
    this.varint(events.length);
    for (const e of events) this.i64(e.timeNs);
    this.varint(events.length);
    for (const e of events) this.str(e.name);
    this.varint(events.length);
    for (const e of events) this.map(e.attributes);
    const links = s.links;
    this.varint(links.length);
    for (const l of links) this.str(l.traceId);
    this.varint(links.length);
    for (const l of links) this.str(l.spanId);
    this.varint(links.length);
    for (const l of links) this.str(l.traceState);
    this.varint(links.length);
    for (const l of links) this.map(l.attributes);
  }
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
  private readonly maxPendingBytes: number;
  private queue: Waiter[] = [];
  /** Spans queued or in flight. */
  private pending = 0;
  /** Spans queued and not yet handed to an insert. */
  private queuedSpans = 0;
  private flushing: Promise<void> | undefined;
  /** Set while the flush loop lingers: called when a write is queued or the store closes. */
  private wake: (() => void) | undefined;
  private closed = false;
  /** Set with `walDir`: the write path through the write-ahead log. */
  private wal: WalSpanWriter | undefined;

  private constructor(
    private readonly sql: SqlTransport,
    opts: ClickHouseSpanStoreOptions,
  ) {
    this.db = sqlIdent(opts.database);
    // With the WAL, acknowledged spans wait in memory for ClickHouse: the limit bounds that backlog (and how far
    // reads can lag) to ~10 s of inserts here, where the direct path bounds queued requests.
    this.maxPending = opts.maxPendingSpans ?? (opts.walDir !== undefined ? 300_000 : 1_000_000);
    this.maxPendingBytes = opts.maxPendingBytes ?? 256 * 1024 * 1024;
  }

  /**
   * Migrates the schema, applies retention, replays the write-ahead log (with `walDir`) and returns a ready
   * store. The transport stays the caller's.
   */
  static async open(sql: SqlTransport, opts: ClickHouseSpanStoreOptions): Promise<ClickHouseSpanStore> {
    await migrateTraces(sql, opts.database);
    await applyTraceRetention(sql, opts.database, opts.retentionMs);
    const store = new ClickHouseSpanStore(sql, opts);
    if (opts.walDir !== undefined)
      store.wal = await WalSpanWriter.open({
        dir: opts.walDir,
        structure: SPAN_STRUCTURE,
        insert: (rows, _spans, structure) => store.insertRows(rows, structure),
        flushIntervalMs: opts.flushIntervalMs,
        log: opts.log,
      });
    return store;
  }

  private insertRows(rows: Buffer, structure = SPAN_STRUCTURE): Promise<void> {
    // Spans of a backfill may span many daily partitions in one insert. The token names the rows by their
    // content, so inserting the same rows again (a WAL segment replayed after a crash that came after
    // ClickHouse had committed it) is skipped by block deduplication (schema version 4).
    const token = createHash('md5').update(rows).digest('hex');
    // Rows of an earlier structure (a WAL segment an older Vigil left) go into the columns they name.
    const table =
      structure === SPAN_STRUCTURE
        ? `${this.db}.spans`
        : `${this.db}.spans (${columnsOf(structure).join(', ')})`;
    return this.sql.insertRowBinary(table, structure, rows, {
      ...INSERT_SETTINGS,
      insert_deduplication_token: token,
    });
  }

  /**
   * Resolves once every span acknowledged so far is in ClickHouse (at once without a WAL), e.g. before reading
   * the tables directly or backing them up.
   */
  async flush(): Promise<void> {
    await this.wal?.flush();
  }

  write(spans: readonly SpanRow[]): Promise<void> {
    if (this.closed) return Promise.reject(new SpanStoreClosedError('span store is closed'));
    if (spans.length === 0) return Promise.resolve();
    const pending = this.wal ? this.wal.pending : this.pending;
    if (pending > 0 && pending + spans.length > this.maxPending)
      return Promise.reject(
        new SpanStoreOverloadedError(
          `${pending} spans are waiting to be written (limit ${this.maxPending})`,
          2,
        ),
      );
    const enc = new SpanRowBinaryEncoder(spans.length * 512);
    for (let i = 0; i < spans.length; i++) {
      try {
        enc.span(spans[i]!);
      } catch (err) {
        // Only times outside the 64-bit range or an end before the start get here; nothing is queued.
        return Promise.reject(
          new Error(`span ${i} (trace ${spans[i]!.traceId}) cannot be stored: ${(err as Error).message}`, {
            cause: err,
          }),
        );
      }
    }
    const rows = enc.finish();
    if (this.wal) {
      const waiting = this.wal.pendingBytes;
      if (waiting > 0 && waiting + rows.length > this.maxPendingBytes)
        return Promise.reject(
          new SpanStoreOverloadedError(
            `${waiting} bytes of spans are waiting to be written (limit ${this.maxPendingBytes})`,
            2,
          ),
        );
      // Held until inserted. The encoder's first guess (512 bytes a span) is close, so the rows are copied out
      // only when its buffer had to grow past twice their size (spans much smaller than guessed).
      return this.wal.write(
        rows.buffer.byteLength > rows.length * 2 ? Buffer.from(rows) : rows,
        spans.length,
      );
    }
    this.pending += spans.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, spans: spans.length, resolve, reject });
      this.queuedSpans += spans.length;
      this.flushing ??= this.flushLoop();
      this.wake?.();
    });
  }

  /**
   * Writes queued batches until the queue is empty; every waiter of one insert shares its outcome. After each
   * insert the loop lingers briefly for the senders it just answered: concurrent senders otherwise split into
   * groups that alternate between inserts (1 and 3 requests of 4), each paying an insert's fixed cost.
   */
  private async flushLoop(): Promise<void> {
    try {
      let lingerFor = 0;
      let lingerMs = 0;
      for (;;) {
        if (lingerFor > 0 && !this.closed) await this.linger(this.queuedSpans + lingerFor, lingerMs);
        if (!this.queue.length) break;
        const batch = this.queue;
        this.queue = [];
        const count = batch.reduce((n, w) => n + w.spans, 0);
        this.queuedSpans -= count;
        const started = performance.now();
        try {
          const body = batch.length === 1 ? batch[0]!.rows : Buffer.concat(batch.map((w) => w.rows));
          await this.insertRows(body);
          for (const w of batch) w.resolve();
        } catch (err) {
          const e = new Error(`writing ${count} spans failed: ${(err as Error).message}`, { cause: err });
          for (const w of batch) w.reject(e);
        } finally {
          this.pending -= count;
        }
        lingerFor = count;
        lingerMs = Math.min(MAX_LINGER_MS, (performance.now() - started) * LINGER_SHARE);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Resolves once `target` spans are queued, after `ms`, or when the store closes, whichever comes first. */
  private linger(target: number, ms: number): Promise<void> {
    if (this.queuedSpans >= target || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        // Nothing is in flight while lingering, so `pending` is what is queued; never hold back a near-full queue.
        if (this.closed || this.queuedSpans >= target || this.pending * 2 >= this.maxPending) done();
      };
    });
  }

  async trace(traceId: string): Promise<SpanRow[]> {
    await this.check();
    if (!HEX.test(traceId)) return [];
    const id = sqlString(traceId);
    const w = await this.timeWindow(id);
    if (!w) return [];
    const rows = await this.sql.queryRows<DbSpan>(
      `SELECT ${SELECT_COLUMNS} FROM ${this.db}.spans
       WHERE trace_id = ${id}
         AND start BETWEEN toDateTime64(${sqlString(w.lo)}, 9, 'UTC') AND toDateTime64(${sqlString(w.hi)}, 9, 'UTC')
       ORDER BY start, span_id`,
    );
    return rows.map(fromDb);
  }

  /**
   * From the trace-ID lookup table: the span start window of the traces in `list` (SQL string literals, comma
   * separated), or undefined when none is stored.
   */
  private async timeWindow(list: string): Promise<{ lo: string; hi: string } | undefined> {
    const rows = await this.sql.queryRows<{ n: string; lo: string; hi: string }>(
      `SELECT toString(count()) AS n, toString(min(start)) AS lo, toString(max(end)) AS hi
       FROM ${this.db}.trace_id_ts WHERE trace_id IN (${list})`,
    );
    const w = rows[0];
    return !w || w.n === '0' ? undefined : w;
  }

  async traces(traceIds: readonly string[]): Promise<SpanRow[][]> {
    await this.check();
    const ids = [...new Set(traceIds.filter((id) => HEX.test(id) && id !== ''))];
    if (ids.length === 0) return [];
    const list = ids.map(sqlString).join(', ');
    const w = await this.timeWindow(list);
    if (!w) return [];
    const rows = await this.sql.queryRows<DbSpan>(
      `SELECT ${SELECT_COLUMNS} FROM ${this.db}.spans
       WHERE trace_id IN (${list})
         AND start BETWEEN toDateTime64(${sqlString(w.lo)}, 9, 'UTC') AND toDateTime64(${sqlString(w.hi)}, 9, 'UTC')
       ORDER BY trace_id, start, span_id`,
    );
    const byId = new Map<string, SpanRow[]>();
    for (const r of rows) {
      let list = byId.get(r.trace_id);
      if (!list) byId.set(r.trace_id, (list = []));
      list.push(fromDb(r));
    }
    return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  }

  async services(): Promise<string[]> {
    await this.check();
    const rows = await this.sql.queryRows<{ service: string }>(
      `SELECT DISTINCT service FROM ${this.db}.spans ORDER BY service`,
    );
    return rows.map((r) => r.service);
  }

  async operations(service: string): Promise<Operation[]> {
    await this.check();
    const rows = await this.sql.queryRows<{ name: string; kind: string }>(
      `SELECT DISTINCT name, kind FROM ${this.db}.spans WHERE service = ${sqlString(service)} ORDER BY name, kind`,
    );
    return rows.map((r) => ({ name: r.name, kind: r.kind as SpanKind }));
  }

  async findTraceIds(q: TraceQuery): Promise<string[]> {
    await this.check();
    const cond = [`start BETWEEN ${timeLiteral(q.startNs)} AND ${timeLiteral(q.endNs)}`];
    if (q.service !== undefined) cond.push(`service = ${sqlString(q.service)}`);
    if (q.operation !== undefined) cond.push(`name = ${sqlString(q.operation)}`);
    if (q.kind !== undefined) cond.push(`kind = ${sqlString(q.kind)}`);
    if (q.status !== undefined) cond.push(`status_code = ${sqlString(q.status)}`);
    if (q.minDurationNs !== undefined) cond.push(`duration_ns >= ${BigInt(q.minDurationNs)}`);
    if (q.maxDurationNs !== undefined) cond.push(`duration_ns <= ${BigInt(q.maxDurationNs)}`);
    // Jaeger tags compare text exactly, whatever the stored type.
    for (const [key, value] of Object.entries(q.tags ?? {}))
      cond.push(...tagHints(key, value), tagSql(key, value));
    for (const c of q.conditions ?? []) cond.push(...indexHints(c), conditionSql(c));
    if (q.minDurationNs !== undefined && q.maxDurationNs !== undefined && q.minDurationNs > q.maxDurationNs)
      return [];
    const rows = await this.sql.queryRows<{ trace_id: string }>(
      `SELECT trace_id, max(start) AS newest FROM ${this.db}.spans WHERE ${cond.join(' AND ')}
       GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT ${Math.max(0, Math.floor(q.limit))}`,
    );
    return rows.map((r) => r.trace_id);
  }

  async summaries(traceIds: readonly string[]): Promise<TraceSummary[]> {
    await this.check();
    const ids = [...new Set(traceIds.filter((id) => HEX.test(id) && id !== ''))];
    if (ids.length === 0) return [];
    const list = ids.map(sqlString).join(', ');
    const w = await this.timeWindow(list);
    if (!w) return [];
    const rows = await this.sql.queryRows<{
      trace_id: string;
      span_count: number;
      error_count: number;
      start_ns: string;
      end_ns: string;
      root_service: string;
      root_name: string;
      services: [string, number, number][];
    }>(
      `SELECT trace_id, toUInt32(sum(n)) AS span_count, toUInt32(sum(e)) AS error_count,
         toString(min(first_ns)) AS start_ns, toString(max(last_ns)) AS end_ns,
         argMin(service, root_rank) AS root_service, argMin(root_name, root_rank) AS root_name,
         arraySort(x -> x.1, groupArray(tuple(service, toUInt32(n), toUInt32(e)))) AS services
       FROM (
         SELECT trace_id, service, count() AS n, countIf(status_code = 'error') AS e,
           min(toUnixTimestamp64Nano(start)) AS first_ns,
           max(toUnixTimestamp64Nano(start) + toInt64(duration_ns)) AS last_ns,
           min(tuple(parent_span_id != '', start, span_id)) AS root_rank,
           argMin(name, tuple(parent_span_id != '', start, span_id)) AS root_name
         FROM ${this.db}.spans
         WHERE trace_id IN (${list})
           AND start BETWEEN toDateTime64(${sqlString(w.lo)}, 9, 'UTC') AND toDateTime64(${sqlString(w.hi)}, 9, 'UTC')
         GROUP BY trace_id, service)
       GROUP BY trace_id`,
    );
    const byId = new Map(rows.map((r) => [r.trace_id, r]));
    const out: TraceSummary[] = [];
    for (const id of ids) {
      const r = byId.get(id);
      if (!r) continue;
      const startNs = BigInt(r.start_ns);
      out.push({
        traceId: id,
        rootService: r.root_service,
        rootName: r.root_name,
        startNs,
        durationNs: BigInt(r.end_ns) - startNs,
        spanCount: Number(r.span_count),
        errorCount: Number(r.error_count),
        services: r.services.map(([service, spanCount, errorCount]) => ({
          service,
          spanCount: Number(spanCount),
          errorCount: Number(errorCount),
        })),
      });
    }
    return out;
  }

  async dependencies(startNs: bigint, endNs: bigint): Promise<ServiceGraph> {
    await this.check();
    const window = `start BETWEEN ${timeLiteral(startNs)} AND ${timeLiteral(endNs)}`;
    const parentWindow = `start BETWEEN ${timeLiteral(startNs - DEPENDENCY_PARENT_SLACK_NS)} AND ${timeLiteral(endNs)}`;
    // Hashing (trace ID, span ID) to 64 bits keeps the join's hash table at a few bytes per span. LEFT ANY
    // pairs each child with one parent even when a span was stored twice (INNER ANY would also use each parent
    // only once); children without a parent in the window get an empty service and are dropped.
    const edges = await this.sql.queryRows<{
      parent: string;
      child: string;
      calls: number;
      errors: number;
      q: number[];
    }>(
      `SELECT p.service AS parent, c.service AS child, toUInt32(count()) AS calls,
         toUInt32(countIf(c.error)) AS errors, quantiles(0.5, 0.95, 0.99)(c.duration_ns) AS q
       FROM (SELECT cityHash64(trace_id, parent_span_id) AS pk, service, status_code = 'error' AS error,
               duration_ns
             FROM ${this.db}.spans WHERE ${window} AND parent_span_id != '') AS c
       LEFT ANY JOIN (SELECT cityHash64(trace_id, span_id) AS k, service
             FROM ${this.db}.spans WHERE ${parentWindow}) AS p
       ON c.pk = p.k
       WHERE p.service != '' AND p.service != c.service
       GROUP BY parent, child ORDER BY parent, child
       SETTINGS join_algorithm = 'auto', max_bytes_in_join = ${MAX_JOIN_BYTES}`,
    );
    const nodes = await this.sql.queryRows<{
      service: string;
      spans: number;
      errors: number;
      entries: number;
      p95_entry: number;
      p95_all: number;
    }>(
      `SELECT service, toUInt32(count()) AS spans, toUInt32(countIf(status_code = 'error')) AS errors,
         toUInt32(countIf(kind IN ('server', 'consumer') OR parent_span_id = '')) AS entries,
         quantileIf(0.95)(duration_ns, kind IN ('server', 'consumer') OR parent_span_id = '') AS p95_entry,
         quantile(0.95)(duration_ns) AS p95_all
       FROM ${this.db}.spans WHERE ${window} GROUP BY service ORDER BY service`,
    );
    return {
      nodes: nodes.map((n) => ({
        service: n.service,
        spans: Number(n.spans),
        errors: Number(n.errors),
        p95Ns: Number(Number(n.entries) > 0 ? n.p95_entry : n.p95_all),
      })),
      edges: edges.map((e) => ({
        parent: e.parent,
        child: e.child,
        calls: Number(e.calls),
        errors: Number(e.errors),
        p50Ns: Number(e.q[0] ?? 0),
        p95Ns: Number(e.q[1] ?? 0),
        p99Ns: Number(e.q[2] ?? 0),
      })),
    };
  }

  async linkingTraces(traceId: string, startNs: bigint, endNs: bigint, limit: number): Promise<string[]> {
    await this.check();
    if (!HEX.test(traceId) || limit <= 0) return [];
    const id = sqlString(traceId);
    const rows = await this.sql.queryRows<{ trace_id: string }>(
      `SELECT DISTINCT trace_id FROM ${this.db}.spans
       WHERE start BETWEEN ${timeLiteral(startNs)} AND ${timeLiteral(endNs)}
         AND has(link_trace_ids, ${id}) AND trace_id != ${id}
       ORDER BY trace_id LIMIT ${Math.floor(limit)}`,
    );
    return rows.map((r) => r.trace_id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    while (this.flushing) await this.flushing;
    await this.wal?.close();
  }

  /** Throws once closed; otherwise waits (at most READ_WAIT_MS) until every acknowledged span is readable. */
  private async check(): Promise<void> {
    if (this.closed) throw new SpanStoreClosedError('span store is closed');
    await this.wal?.visible(READ_WAIT_MS);
  }
}

/** The column names of a RowBinary structure (`name Type, …`; types may hold commas inside parentheses). */
export function columnsOf(structure: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let from = 0;
  const take = (to: number) => {
    const part = structure.slice(from, to).trim();
    if (part) names.push(part.split(/\s+/, 1)[0]!);
  };
  for (let i = 0; i < structure.length; i++) {
    const c = structure[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      take(i);
      from = i + 1;
    }
  }
  take(structure.length);
  return names;
}
