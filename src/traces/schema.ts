/**
 * The ClickHouse schema for spans, versioned apart from the metrics schema: each migration runs once per
 * database and is recorded in `trace_schema_versions`; migrations only ever append. Layout and the reasons
 * for it: docs/format/trace-tables.md.
 */
import { sqlIdent, type SqlTransport } from '../store/clickhouse/transport.ts';

export interface TraceMigration {
  readonly version: number;
  readonly name: string;
  readonly statements: (db: string) => string[];
}

const ATTRS = 'Map(LowCardinality(String), String) CODEC(ZSTD(1))';
const TYPES = 'Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1))';
const TIME = "DateTime64(9, 'UTC')";

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
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.trace_id_ts_mv TO ${db}.trace_id_ts AS
        SELECT trace_id, min(s.start) AS start, max(addNanoseconds(s.start, toInt64(s.duration_ns))) AS end
        FROM ${db}.spans AS s GROUP BY trace_id`,
    ],
  },
];

/** Creates the database and applies pending migrations. Returns the schema version now in place. */
export async function migrateTraces(sql: SqlTransport, database: string): Promise<number> {
  const db = sqlIdent(database);
  await sql.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await sql.exec(
    `CREATE TABLE IF NOT EXISTS ${db}.trace_schema_versions (version UInt32, name String, applied_at DateTime DEFAULT now())
     ENGINE = MergeTree ORDER BY version`,
  );
  const rows = await sql.queryRows<{ v: number | string }>(
    `SELECT max(version) AS v FROM ${db}.trace_schema_versions`,
  );
  let current = Number(rows[0]?.v ?? 0);
  for (const m of TRACE_MIGRATIONS) {
    if (m.version <= current) continue;
    for (const stmt of m.statements(db)) await sql.exec(stmt);
    await sql.exec(
      `INSERT INTO ${db}.trace_schema_versions (version, name) VALUES (${m.version}, '${m.name}')`,
    );
    current = m.version;
  }
  return current;
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
