/**
 * The ClickHouse schema for spans, versioned apart from the metrics schema: each migration runs once per
 * database and is recorded in `trace_schema_versions`; migrations only ever append. Layout and the reasons
 * for it: docs/format/trace-tables.md.
 */
import { applyMigrations, type Migration } from '../store/clickhouse/migrate.ts';
import { sqlIdent, type SqlTransport } from '../store/clickhouse/transport.ts';

export type TraceMigration = Migration;

const ATTRS = 'Map(LowCardinality(String), String) CODEC(ZSTD(1))';
const TYPES = 'Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1))';
const TIME = "DateTime64(9, 'UTC')";

/**
 * Width of the time buckets of the spans sort key (version 3): within one service and bucket, spans are
 * sorted by trace ID, so one trace's spans of one service lie in one or two granules.
 */
export const SPAN_BUCKET = 'toStartOfInterval(start, INTERVAL 10 MINUTE)';

/**
 * The columns of `spans` in table order, with the types a RowBinary insert carries (the table's types
 * without codecs; LowCardinality is written as its plain type). Writers send rows in exactly this order.
 */
export const SPAN_COLUMNS: readonly (readonly [string, string])[] = [
  ['start', TIME],
  ['service', 'LowCardinality(String)'],
  ['name', 'LowCardinality(String)'],
  ['kind', 'LowCardinality(String)'],
  ['trace_id', 'String'],
  ['span_id', 'String'],
  ['parent_span_id', 'String'],
  ['trace_state', 'String'],
  ['flags', 'UInt8'],
  ['duration_ns', 'UInt64'],
  ['status_code', 'LowCardinality(String)'],
  ['status_message', 'String'],
  ['resource_attributes', 'Map(LowCardinality(String), String)'],
  ['resource_attribute_types', 'Map(LowCardinality(String), LowCardinality(String))'],
  ['scope_name', 'LowCardinality(String)'],
  ['scope_version', 'LowCardinality(String)'],
  ['attributes', 'Map(LowCardinality(String), String)'],
  ['attribute_types', 'Map(LowCardinality(String), LowCardinality(String))'],
  ['event_times', `Array(${TIME})`],
  ['event_names', 'Array(LowCardinality(String))'],
  ['event_attributes', 'Array(Map(LowCardinality(String), String))'],
  ['link_trace_ids', 'Array(String)'],
  ['link_span_ids', 'Array(String)'],
  ['link_trace_states', 'Array(String)'],
  ['link_attributes', 'Array(Map(LowCardinality(String), String))'],
];

/** `name type, ...` of SPAN_COLUMNS: the structure of a RowBinary insert into `spans`. */
export const SPAN_STRUCTURE = SPAN_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ');
const SPAN_COLUMN_LIST = SPAN_COLUMNS.map(([n]) => n).join(', ');

/** The materialized view that fills `trace_id_ts` from every insert into `spans`. */
const traceIdView = (db: string) =>
  `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.trace_id_ts_mv TO ${db}.trace_id_ts AS
    SELECT trace_id, min(s.start) AS start, max(addNanoseconds(s.start, toInt64(s.duration_ns))) AS end
    FROM ${db}.spans AS s GROUP BY trace_id`;

export const TRACE_MIGRATIONS: readonly TraceMigration[] = [
  {
    version: 1,
    name: 'spans_trace_id_ts',
    statements: (db) => [
      // Search table: spans of one service and operation sit together in time order, so the Jaeger search
      // (service, operation, time range) reads a narrow range of the primary key.
      `CREATE TABLE IF NOT EXISTS ${db}.spans (
        start ${TIME} CODEC(DoubleDelta, ZSTD(1)),
        service LowCardinality(String) CODEC(ZSTD(1)),
        name LowCardinality(String) CODEC(ZSTD(1)),
        kind LowCardinality(String) CODEC(ZSTD(1)),
        trace_id String CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        parent_span_id String CODEC(ZSTD(1)),
        trace_state String CODEC(ZSTD(1)),
        flags UInt8 CODEC(ZSTD(1)),
        duration_ns UInt64 CODEC(T64, ZSTD(1)),
        status_code LowCardinality(String) CODEC(ZSTD(1)),
        status_message String CODEC(ZSTD(1)),
        resource_attributes ${ATTRS},
        resource_attribute_types ${TYPES},
        scope_name LowCardinality(String) CODEC(ZSTD(1)),
        scope_version LowCardinality(String) CODEC(ZSTD(1)),
        attributes ${ATTRS},
        attribute_types ${TYPES},
        event_times Array(${TIME}) CODEC(ZSTD(1)),
        event_names Array(LowCardinality(String)) CODEC(ZSTD(1)),
        event_attributes Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
        link_trace_ids Array(String) CODEC(ZSTD(1)),
        link_span_ids Array(String) CODEC(ZSTD(1)),
        link_trace_states Array(String) CODEC(ZSTD(1)),
        link_attributes Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
        INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1,
        INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_attr_values mapValues(attributes) TYPE bloom_filter(0.01) GRANULARITY 1
      ) ENGINE = MergeTree
      PARTITION BY toDate(start)
      ORDER BY (service, name, start)
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, materialize_ttl_after_modify = 0,
        fsync_after_insert = 1`,
      // Trace-ID lookup: where in time a trace's spans are, so fetching a trace reads one or two day
      // partitions of spans and lets the trace_id bloom filter skip the rest.
      `CREATE TABLE IF NOT EXISTS ${db}.trace_id_ts (
        trace_id String CODEC(ZSTD(1)),
        start ${TIME} CODEC(DoubleDelta, ZSTD(1)),
        end ${TIME} CODEC(DoubleDelta, ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(start)
      ORDER BY (trace_id, start)
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, materialize_ttl_after_modify = 0,
        fsync_after_insert = 1`,
      traceIdView(db),
    ],
  },
  {
    version: 2,
    name: 'spans_search_indexes',
    statements: (db) => [
      // Attribute conditions hold on span OR resource attributes; ClickHouse cannot skip granules on an OR over
      // two indexes, so one bloom filter covers the keys, another the values, of both maps together. Kind and
      // status are nearly constant within a granule of the (service, name, start) order: small set indexes.
      `ALTER TABLE ${db}.spans
        ADD INDEX IF NOT EXISTS idx_all_attr_keys arrayConcat(mapKeys(attributes), mapKeys(resource_attributes))
          TYPE bloom_filter(0.01) GRANULARITY 1,
        ADD INDEX IF NOT EXISTS idx_all_attr_values arrayConcat(mapValues(attributes), mapValues(resource_attributes))
          TYPE bloom_filter(0.01) GRANULARITY 1,
        ADD INDEX IF NOT EXISTS idx_kind kind TYPE set(8) GRANULARITY 1,
        ADD INDEX IF NOT EXISTS idx_status status_code TYPE set(4) GRANULARITY 1`,
      // Parts written before this migration get the indexes in the background.
      `ALTER TABLE ${db}.spans MATERIALIZE INDEX idx_all_attr_keys`,
      `ALTER TABLE ${db}.spans MATERIALIZE INDEX idx_all_attr_values`,
      `ALTER TABLE ${db}.spans MATERIALIZE INDEX idx_kind`,
      `ALTER TABLE ${db}.spans MATERIALIZE INDEX idx_status`,
    ],
  },
  {
    version: 3,
    name: 'spans_sorted_by_trace_in_buckets',
    // The spans table is rebuilt with the sort key (service, 10-minute bucket, trace_id, start): search by
    // service and time still reads a narrow key range, and fetching a trace by ID reads about one granule per
    // service and bucket the trace touches instead of one per operation. Compressed blocks of 16-64 KiB (not
    // 64 KiB-1 MiB) keep what is decompressed for those few granules small. Existing rows are copied over.
    // Every step can run again after a crash part way: a leftover copy is dropped first and rebuilt from
    // whichever table is `spans` at that point.
    statements: (db) => [
      `DROP TABLE IF EXISTS ${db}.spans_v3 SYNC`,
      `CREATE TABLE ${db}.spans_v3 (
        start ${TIME} CODEC(Delta, ZSTD(1)),
        service LowCardinality(String) CODEC(ZSTD(1)),
        name LowCardinality(String) CODEC(ZSTD(1)),
        kind LowCardinality(String) CODEC(ZSTD(1)),
        trace_id String CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        parent_span_id String CODEC(ZSTD(1)),
        trace_state String CODEC(ZSTD(1)),
        flags UInt8 CODEC(ZSTD(1)),
        duration_ns UInt64 CODEC(T64, ZSTD(1)),
        status_code LowCardinality(String) CODEC(ZSTD(1)),
        status_message String CODEC(ZSTD(1)),
        resource_attributes ${ATTRS},
        resource_attribute_types ${TYPES},
        scope_name LowCardinality(String) CODEC(ZSTD(1)),
        scope_version LowCardinality(String) CODEC(ZSTD(1)),
        attributes ${ATTRS},
        attribute_types ${TYPES},
        event_times Array(${TIME}) CODEC(ZSTD(1)),
        event_names Array(LowCardinality(String)) CODEC(ZSTD(1)),
        event_attributes Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
        link_trace_ids Array(String) CODEC(ZSTD(1)),
        link_span_ids Array(String) CODEC(ZSTD(1)),
        link_trace_states Array(String) CODEC(ZSTD(1)),
        link_attributes Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
        INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1,
        INDEX idx_all_attr_keys arrayConcat(mapKeys(attributes), mapKeys(resource_attributes))
          TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_all_attr_values arrayConcat(mapValues(attributes), mapValues(resource_attributes))
          TYPE bloom_filter(0.01) GRANULARITY 1
      ) ENGINE = MergeTree
      PARTITION BY toDate(start)
      PRIMARY KEY (service, ${SPAN_BUCKET}, trace_id)
      ORDER BY (service, ${SPAN_BUCKET}, trace_id, start)
      SETTINGS index_granularity = 1024, min_compress_block_size = 16384, max_compress_block_size = 65536,
        ttl_only_drop_parts = 1, materialize_ttl_after_modify = 0, fsync_after_insert = 1`,
      `INSERT INTO ${db}.spans_v3 (${SPAN_COLUMN_LIST}) SELECT ${SPAN_COLUMN_LIST} FROM ${db}.spans
        SETTINGS max_partitions_per_insert_block = 0`,
      // trace_id_ts already covers the copied rows; the view is re-created on the new table after the swap.
      `DROP VIEW IF EXISTS ${db}.trace_id_ts_mv`,
      `EXCHANGE TABLES ${db}.spans AND ${db}.spans_v3`,
      traceIdView(db),
      `DROP TABLE ${db}.spans_v3 SYNC`,
    ],
  },
  {
    version: 4,
    name: 'spans_insert_deduplication',
    // A block inserted again (same rows in the same order) is skipped, in both tables: an insert that a crash
    // interrupted after ClickHouse committed it but before the write-ahead log segment was removed is replayed
    // at start as the same blocks, and does not store those spans twice. The window is the number of recent
    // insert blocks remembered per table.
    statements: (db) => [
      `ALTER TABLE ${db}.spans MODIFY SETTING non_replicated_deduplication_window = 1000`,
      `ALTER TABLE ${db}.trace_id_ts MODIFY SETTING non_replicated_deduplication_window = 1000`,
    ],
  },
];

/** Creates the database and applies pending migrations. Returns the schema version now in place. */
export function migrateTraces(sql: SqlTransport, database: string): Promise<number> {
  return applyMigrations(sql, database, 'trace_schema_versions', TRACE_MIGRATIONS);
}

/**
 * Applies the retention period (ms; 0 keeps spans forever) as a TTL on both tables. Existing parts are not
 * rewritten: whole expired day parts are dropped.
 */
export async function applyTraceRetention(
  sql: SqlTransport,
  database: string,
  retentionMs: number,
): Promise<void> {
  const db = sqlIdent(database);
  const seconds = Math.ceil(retentionMs / 1000);
  for (const table of ['spans', 'trace_id_ts']) {
    const rows = await sql.queryRows<{ q: string }>(
      `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = '${table}'`,
    );
    const hasTtl = /\bTTL\b/.test(rows[0]?.q ?? '');
    if (seconds > 0)
      await sql.exec(`ALTER TABLE ${db}.${table} MODIFY TTL toDateTime(start) + INTERVAL ${seconds} SECOND`);
    else if (hasTtl) await sql.exec(`ALTER TABLE ${db}.${table} REMOVE TTL`);
  }
}
