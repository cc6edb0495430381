/**
 * The ClickHouse schema for metrics, versioned. Each migration runs once per database and is recorded in
 * `schema_versions`; migrations only ever append. The layout is documented in docs/format/metrics-tables.md.
 */
import { sqlIdent, type SqlTransport } from './transport.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (db: string) => string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'series_samples_metadata',
    statements: (db) => [
      // One row per series. ReplacingMergeTree: re-inserting a known series (after a restart) is harmless.
      `CREATE TABLE IF NOT EXISTS ${db}.series (
        series_id UInt64,
        metric LowCardinality(String),
        labels Map(LowCardinality(String), String) CODEC(ZSTD(3)),
        created_at DateTime DEFAULT now()
      ) ENGINE = ReplacingMergeTree
      ORDER BY (metric, series_id)`,
      // Samples: ordered by series then time so a range read of a series is one contiguous scan; delta-of-delta
      // timestamps and Gorilla-XOR values, then ZSTD, is what makes ~1 byte per sample possible.
      `CREATE TABLE IF NOT EXISTS ${db}.samples (
        series_id UInt64 CODEC(Delta, ZSTD(1)),
        ts Int64 CODEC(DoubleDelta, ZSTD(1)),
        value Float64 CODEC(Gorilla, ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(intDiv(ts, 1000))
      ORDER BY (series_id, ts)
      SETTINGS ttl_only_drop_parts = 1, materialize_ttl_after_modify = 0`,
      `CREATE TABLE IF NOT EXISTS ${db}.metadata (
        metric String,
        type LowCardinality(String),
        help String,
        unit String,
        updated_at DateTime64(3) DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree(updated_at)
      ORDER BY metric`,
      `CREATE TABLE IF NOT EXISTS ${db}.settings (
        key String, value String, updated_at DateTime64(3) DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree(updated_at)
      ORDER BY key`,
    ],
  },
];

/** Creates the database and applies every migration not yet recorded. Returns the resulting version. */
export async function migrate(sql: SqlTransport, database: string): Promise<number> {
  const db = sqlIdent(database);
  await sql.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await sql.exec(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_versions (version UInt32, name String, applied_at DateTime DEFAULT now())
     ENGINE = MergeTree ORDER BY version`,
  );
  const rows = await sql.queryRows<{ v: number }>(`SELECT max(version) AS v FROM ${db}.schema_versions`);
  let current = Number(rows[0]?.v ?? 0);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    for (const stmt of m.statements(db)) await sql.exec(stmt);
    await sql.exec(`INSERT INTO ${db}.schema_versions (version, name) VALUES (${m.version}, '${m.name}')`);
    current = m.version;
  }
  return current;
}

/**
 * Applies the retention period (0 = unlimited) as a TTL on samples. TTL is only rewritten when it changes,
 * and existing parts are not rewritten (materialize_ttl_after_modify = 0): expired whole parts are dropped.
 */
export async function applyRetention(
  sql: SqlTransport,
  database: string,
  retentionMs: number,
): Promise<void> {
  const db = sqlIdent(database);
  const want = String(Math.max(0, Math.floor(retentionMs / 1000)));
  const rows = await sql.queryRows<{ value: string }>(
    `SELECT argMax(value, updated_at) AS value FROM ${db}.settings WHERE key = 'retention_seconds'`,
  );
  const have = rows[0]?.value || '0';
  if (have === want) return;
  if (want === '0') await sql.exec(`ALTER TABLE ${db}.samples REMOVE TTL`);
  else
    await sql.exec(
      `ALTER TABLE ${db}.samples MODIFY TTL toDateTime(intDiv(ts, 1000)) + INTERVAL ${want} SECOND`,
    );
  await sql.exec(`INSERT INTO ${db}.settings (key, value) VALUES ('retention_seconds', '${want}')`);
}
