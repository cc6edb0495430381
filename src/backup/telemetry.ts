/**
 * Telemetry tables to and from files. chDB has no BACKUP/RESTORE here (they need `backups.allowed_path` in a
 * server configuration, which an embedded session cannot set), so each table is exported by ClickHouse
 * itself with `INSERT INTO FUNCTION file(…)` in its Native format, zstd-compressed: the engine streams the
 * rows to the file (no copy through JavaScript), types and float bits are kept exactly, and the files load
 * back with `INSERT … SELECT FROM file(…)`. Every SELECT reads one snapshot of a table's parts, so a backup
 * taken while Vigil writes is consistent per table; samples are exported before series, and a series is
 * always written before its first sample, so every exported sample has its series.
 */
import { join } from 'node:path';
import { migrate, applyRetention, MIGRATIONS } from '../store/clickhouse/schema.ts';
import { EXEMPLAR_MIGRATIONS, migrateExemplars } from '../store/clickhouse/exemplars.ts';
import { TRACE_MIGRATIONS, migrateTraces } from '../traces/schema.ts';
import { ALERT_HISTORY_MIGRATIONS, migrateAlertHistory } from '../alerts/history/clickhouse.ts';
import type { Migration } from '../store/clickhouse/migrate.ts';
import { sqlIdent, sqlString, type SqlTransport } from '../store/clickhouse/transport.ts';
import { describeFile } from './files.ts';
import { BackupError, type TelemetryTableEntry } from './manifest.ts';

/** Tables in export order (samples before series, see above). `schema_versions` is recreated by migrations. */
export const TELEMETRY_TABLES = ['samples', 'series', 'metadata', 'settings'] as const;

/**
 * The other ClickHouse schemas, each with its own migrations and version table. Only base tables are
 * exported: `trace_id_ts` is filled by a materialized view from `spans`, so loading `spans` refills it.
 * Exemplars go before their series for the same reason as samples. A source that never created one of these
 * schemas (a Vigil older than it) simply has none of its tables in the backup.
 */
export interface ExtraSchema {
  readonly name: 'traces' | 'exemplars' | 'alert_history';
  readonly versionTable: string;
  readonly migrations: readonly Migration[];
  readonly migrate: (sql: SqlTransport, database: string) => Promise<number>;
  /** Tables in export order. */
  readonly tables: readonly string[];
  /** Plain MergeTree tables, whose row count after loading must equal the backup's. */
  readonly counted: readonly string[];
}

export const EXTRA_SCHEMAS: readonly ExtraSchema[] = [
  {
    name: 'traces',
    versionTable: 'trace_schema_versions',
    migrations: TRACE_MIGRATIONS,
    migrate: migrateTraces,
    tables: ['spans'],
    counted: ['spans'],
  },
  {
    name: 'exemplars',
    versionTable: 'exemplar_schema_versions',
    migrations: EXEMPLAR_MIGRATIONS,
    migrate: migrateExemplars,
    tables: ['exemplars', 'exemplar_series'],
    counted: ['exemplars'],
  },
  {
    name: 'alert_history',
    versionTable: 'alert_history_schema_versions',
    migrations: ALERT_HISTORY_MIGRATIONS,
    migrate: migrateAlertHistory,
    tables: ['alert_events', 'alert_notifications'],
    counted: ['alert_events', 'alert_notifications'],
  },
];

/** Schema versions of the extra schemas in `database`; a schema that was never created is left out. */
export async function extraSchemaVersions(
  sql: SqlTransport,
  database: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of EXTRA_SCHEMAS) {
    if (!(await tableExists(sql, database, s.versionTable))) continue;
    const rows = await sql.queryRows<{ v: number | string }>(
      `SELECT max(version) AS v FROM ${sqlIdent(database)}.${sqlIdent(s.versionTable)}`,
    );
    out[s.name] = Number(rows[0]?.v ?? 0);
  }
  return out;
}

async function tableExists(sql: SqlTransport, database: string, table: string): Promise<boolean> {
  const rows = await sql.queryRows<{ n: string | number }>(
    `SELECT count() AS n FROM system.tables WHERE database = ${sqlString(database)} AND name = ${sqlString(table)}`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Settings rows that describe the table layout rather than data; restore recreates them for its target. */
const LAYOUT_SETTINGS = ['retention_seconds'];

/**
 * Settings rows a backup leaves out: the layout, which the restoring Vigil's configuration decides, and each
 * rollup's state (`rollup_<N>s`), so that the restored Vigil rebuilds its rollups from the restored samples.
 */
const KEEP_SETTINGS_SQL = `key NOT IN (${LAYOUT_SETTINGS.map(sqlString).join(', ')}) AND NOT startsWith(key, 'rollup_')`;

/** The path of a table's file inside the backup folder. */
export function telemetryFile(table: string): string {
  return `clickhouse/${table}.native.zst`;
}

async function columnsOf(sql: SqlTransport, db: string, table: string) {
  return sql.queryRows<{ name: string; type: string }>(
    `SELECT name, type FROM system.columns WHERE database = ${sqlString(db)} AND table = ${sqlString(table)} ORDER BY position`,
  );
}

export async function schemaVersion(sql: SqlTransport, db: string): Promise<number> {
  const rows = await sql.queryRows<{ v: number }>(
    `SELECT max(version) AS v FROM ${sqlIdent(db)}.schema_versions`,
  );
  return Number(rows[0]?.v ?? 0);
}

/** Exports every telemetry table into `dir` and returns the manifest entries. */
export async function exportTelemetry(
  sql: SqlTransport,
  database: string,
  dir: string,
  log: (msg: string) => void = () => {},
): Promise<TelemetryTableEntry[]> {
  const db = sqlIdent(database);
  const out: TelemetryTableEntry[] = [];
  const optional = new Set(EXTRA_SCHEMAS.flatMap((s) => s.tables));
  for (const table of [...TELEMETRY_TABLES, ...optional]) {
    const columns = await columnsOf(sql, db, table);
    if (!columns.length && optional.has(table)) continue;
    if (!columns.length)
      throw new BackupError(`table ${db}.${table} does not exist; is this a Vigil data folder?`);
    const path = telemetryFile(table);
    const file = join(dir, path);
    const cols = columns.map((c) => sqlIdent(c.name)).join(', ');
    await sql.exec(
      `INSERT INTO FUNCTION file(${sqlString(file)}, 'Native') SELECT ${cols} FROM ${db}.${table}` +
        (table === 'settings' ? ` WHERE ${KEEP_SETTINGS_SQL}` : ''),
    );
    const rows = await countFile(sql, file, columns);
    out.push({ name: table, rows, columns, file: await describeFile(dir, path) });
    log(`telemetry: ${table}: ${rows} rows`);
  }
  return out;
}

function structure(columns: readonly { name: string; type: string }[]): string {
  return columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ');
}

/** Rows in an exported file, read by ClickHouse. */
export async function countFile(
  sql: SqlTransport,
  file: string,
  columns: readonly { name: string; type: string }[],
): Promise<number> {
  const rows = await sql.queryRows<{ n: string }>(
    `SELECT count() AS n FROM file(${sqlString(file)}, 'Native', ${sqlString(structure(columns))})`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Loads exported tables into `database` (migrated to the current schema first) and applies `retentionMs`
 * as `vigil start` would. Checks each file's row count before and each table's after loading. Returns how
 * many restored samples are older than the retention period (retention removes them).
 */
export async function loadTelemetry(
  sql: SqlTransport,
  database: string,
  dir: string,
  tables: readonly TelemetryTableEntry[],
  schemaVersionOfBackup: number,
  retentionMs: number,
  log: (msg: string) => void = () => {},
  extraVersionsOfBackup: Readonly<Record<string, number>> = {},
): Promise<number> {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (schemaVersionOfBackup > latest)
    throw new BackupError(
      `the backup's telemetry schema is version ${schemaVersionOfBackup}, newer than this Vigil's ${latest}: restore with a newer Vigil`,
    );
  for (const s of EXTRA_SCHEMAS) {
    const v = extraVersionsOfBackup[s.name] ?? 0;
    const mine = s.migrations.at(-1)?.version ?? 0;
    if (v > mine)
      throw new BackupError(
        `the backup's ${s.name} schema is version ${v}, newer than this Vigil's ${mine}: restore with a newer Vigil`,
      );
  }
  for (const t of tables) {
    const n = await countFile(sql, join(dir, t.file.path), t.columns);
    if (n !== t.rows) throw new BackupError(`${t.file.path} holds ${n} rows, the manifest says ${t.rows}`);
  }
  const db = sqlIdent(database);
  await migrate(sql, db);
  for (const s of EXTRA_SCHEMAS) await s.migrate(sql, database);
  for (const t of tables) {
    const target = new Set((await columnsOf(sql, db, t.name)).map((c) => c.name));
    if (!target.size) throw new BackupError(`the backup has table ${t.name}, which this Vigil does not know`);
    const missing = t.columns.filter((c) => !target.has(c.name));
    if (missing.length)
      throw new BackupError(
        `table ${t.name}: columns ${missing.map((c) => c.name).join(', ')} no longer exist`,
      );
    const cols = t.columns.map((c) => sqlIdent(c.name)).join(', ');
    const where = t.name === 'settings' ? ` WHERE ${KEEP_SETTINGS_SQL}` : '';
    await sql.exec(
      `INSERT INTO ${db}.${sqlIdent(t.name)} (${cols}) SELECT ${cols} FROM file(${sqlString(join(dir, t.file.path))}, 'Native', ${sqlString(structure(t.columns))})${where}`,
      { max_partitions_per_insert_block: 0 },
    );
    log(`telemetry: ${t.name}: ${t.rows} rows loaded`);
  }
  // Plain MergeTree keeps every row; check the count there (ReplacingMergeTree tables may merge at any time).
  const counted = new Set(['samples', ...EXTRA_SCHEMAS.flatMap((s) => s.counted)]);
  for (const t of tables) {
    if (!counted.has(t.name)) continue;
    const rows = await sql.queryRows<{ n: string }>(`SELECT count() AS n FROM ${db}.${sqlIdent(t.name)}`);
    if (Number(rows[0]?.n) !== t.rows)
      throw new BackupError(`after loading, ${db}.${t.name} holds ${rows[0]?.n} rows, the backup ${t.rows}`);
  }
  // Counted before the TTL is set: ClickHouse drops wholly expired parts within moments of it.
  const expiring = await samplesOlderThan(sql, db, retentionMs);
  await applyRetention(sql, db, retentionMs);
  return expiring;
}

/** Samples older than the retention period (they go at the next merge); 0 when retention is off. */
export async function samplesOlderThan(
  sql: SqlTransport,
  database: string,
  retentionMs: number,
): Promise<number> {
  if (retentionMs <= 0) return 0;
  const rows = await sql.queryRows<{ n: string }>(
    `SELECT count() AS n FROM ${sqlIdent(database)}.samples WHERE ts < ${Date.now() - retentionMs}`,
  );
  return Number(rows[0]?.n ?? 0);
}
