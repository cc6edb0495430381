/**
 * The ClickHouse migration runner shared by the metric, exemplar and trace schemas. Each schema keeps its own
 * version table (`schema_versions`, `exemplar_schema_versions`, `trace_schema_versions`): a migration runs
 * once per database, in version order, and is recorded after its last statement, so an interrupted
 * migration runs again from its start (its statements are written to allow that).
 */
import { sqlIdent, type SqlTransport } from './transport.ts';

/** One step of a schema: statements for database `db` (already quoted as an identifier). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (db: string) => string[];
}

/**
 * Creates the database and its version table if needed, then applies every migration whose version is above
 * the highest recorded one, in list order. Returns the schema version now in place. Running it again on an
 * up-to-date database changes nothing. Not safe to run concurrently on one database.
 */
export async function applyMigrations(
  sql: SqlTransport,
  database: string,
  versionTable: string,
  migrations: readonly Migration[],
): Promise<number> {
  const db = sqlIdent(database);
  const table = `${db}.${sqlIdent(versionTable)}`;
  await sql.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await sql.exec(
    `CREATE TABLE IF NOT EXISTS ${table} (version UInt32, name String, applied_at DateTime DEFAULT now())
     ENGINE = MergeTree ORDER BY version`,
  );
  const rows = await sql.queryRows<{ v: number | string }>(`SELECT max(version) AS v FROM ${table}`);
  let current = Number(rows[0]?.v ?? 0);
  for (const m of migrations) {
    if (m.version <= current) continue;
    for (const stmt of m.statements(db)) await sql.exec(stmt);
    await sql.exec(`INSERT INTO ${table} (version, name) VALUES (${m.version}, '${m.name}')`);
    current = m.version;
  }
  return current;
}
