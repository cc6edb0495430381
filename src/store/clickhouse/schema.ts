/**
 * The ClickHouse schema for metrics, versioned. Each migration runs once per database and is recorded in
 * `schema_versions`; migrations only ever append. The layout is documented in docs/format/metrics-tables.md.
 */
import { applyMigrations, type Migration } from './migrate.ts';
import { sqlIdent, type SqlTransport } from './transport.ts';

/**
 * Per-sample flags relative to the series' previous sample in time, stale markers skipped (docs/format/metrics-tables.md):
 * bit 0 a counter reset (value below the previous one), bit 1 a change of value. They let SQL compute resets,
 * changes and reset-corrected increases with order-independent sums, which is what makes counter rollups and
 * pushdown exact. FLAG_UNKNOWN marks rows written without them; FLAG_REPEATED a timestamp seen before.
 */
export const FLAG_RESET = 1;
export const FLAG_CHANGED = 2;
export const FLAG_REPEATED = 254;
export const FLAG_UNKNOWN = 255;

/** Stale markers' bits as an unsigned integer, for SQL. */
export const STALE_BITS_SQL = '9218868437227405314';

function samplesTable(name: string): string {
  return `CREATE TABLE ${name} (
        series_id UInt64 CODEC(Delta, ZSTD(1)),
        ts Int64 CODEC(DoubleDelta, ZSTD(1)),
        value Float64 CODEC(Gorilla, ZSTD(1)),
        flags UInt8 DEFAULT ${FLAG_UNKNOWN} CODEC(T64, ZSTD(1)),
        reset_prev Float64 DEFAULT 0 CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(intDiv(ts, 1000))
      ORDER BY (series_id, ts)
      SETTINGS index_granularity = 1024, min_compress_block_size = 8192, ttl_only_drop_parts = 1,
        materialize_ttl_after_modify = 0`;
}

/** Series-id ranges the flag computation is split into, so that each window-function pass sorts a part. */
const COPY_CHUNKS = 16;

/** Copies samples computing their flags with a window over each series, in chunks of the series-id space. */
function copyWithFlags(db: string, from: string, to: string): string[] {
  const out: string[] = [];
  const width = 2n ** 64n / BigInt(COPY_CHUNKS);
  for (let i = 0; i < COPY_CHUNKS; i++) {
    const lo = width * BigInt(i);
    const hi = i === COPY_CHUNKS - 1 ? 2n ** 64n - 1n : width * BigInt(i + 1) - 1n;
    out.push(`INSERT INTO ${db}.${to} (series_id, ts, value, flags, reset_prev)
      SELECT series_id, ts, value,
        multiIf(stale, 0, pts IS NULL, 0, pts = ts, ${FLAG_REPEATED},
          bitOr(if(value < pv, ${FLAG_RESET}, 0), if(value != pv AND NOT (isNaN(value) AND isNaN(pv)), ${FLAG_CHANGED}, 0))),
        if(NOT stale AND pts IS NOT NULL AND value < pv, assumeNotNull(pv), 0)
      FROM (
        SELECT series_id, ts, value, stale,
          lagInFrame(if(stale, NULL, toNullable(value))) OVER w AS pv,
          lagInFrame(if(stale, NULL, toNullable(ts))) OVER w AS pts
        FROM (
          SELECT series_id, ts, value, reinterpretAsUInt64(value) = ${STALE_BITS_SQL} AS stale
          FROM ${db}.${from} WHERE series_id BETWEEN ${lo} AND ${hi}
        )
        WINDOW w AS (PARTITION BY series_id, stale ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
      )
      SETTINGS max_partitions_per_insert_block = 0`);
  }
  return out;
}

export type { Migration };

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
  {
    version: 2,
    name: 'samples_counter_flags',
    statements: (db) => [
      // Series written out of time order (or twice), from which timestamp on: pushdown and rollups read them
      // from raw samples, which reads sort and de-duplicate.
      `CREATE TABLE IF NOT EXISTS ${db}.series_unordered (
        series_id UInt64,
        since Int64,
        recorded_at DateTime DEFAULT now()
      ) ENGINE = MergeTree
      ORDER BY series_id`,
      // Samples are rebuilt: with per-sample counter flags (see SAMPLE_FLAGS), and with 1024-row granules and
      // 8 KiB compression blocks, so that reading a few hours of one series decodes a few thousand rows rather
      // than tens of thousands. A rerun after a crash starts the copy over.
      `DROP TABLE IF EXISTS ${db}.samples_v2`,
      samplesTable(`${db}.samples_v2`),
      ...copyWithFlags(db, 'samples', 'samples_v2'),
      `EXCHANGE TABLES ${db}.samples AND ${db}.samples_v2`,
      `DROP TABLE ${db}.samples_v2`,
      // Series with repeated timestamps in the copied data are marked like the writer marks them.
      `INSERT INTO ${db}.series_unordered (series_id, since)
       SELECT series_id, min(ts) FROM ${db}.samples WHERE flags = ${FLAG_REPEATED} GROUP BY series_id`,
      // Ranges of samples written after rollups had aggregated their buckets, until those are recomputed.
      `CREATE TABLE IF NOT EXISTS ${db}.rollup_repairs (
        seq UInt64,
        from_ts Int64,
        to_ts Int64,
        ids Array(UInt64)
      ) ENGINE = MergeTree
      ORDER BY seq`,
      // The new table has no TTL yet: make applyRetention set it again.
      `INSERT INTO ${db}.settings (key, value) VALUES ('retention_seconds', '0')`,
    ],
  },
];

/** Creates the database and applies every migration not yet recorded. Returns the resulting version. */
export function migrate(sql: SqlTransport, database: string): Promise<number> {
  return applyMigrations(sql, database, 'schema_versions', MIGRATIONS);
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
