/**
 * The operational-state store to and from a backup folder.
 * - SQLite: better-sqlite3's online backup API copies the database page by page into `state/state.db`
 *   through its own connection; it is consistent even while a running Vigil writes (the copy restarts when
 *   another connection changes the database meanwhile).
 * - PostgreSQL: every table of the store is exported as JSON lines inside one REPEATABLE READ, READ ONLY
 *   transaction, so all tables come from one snapshot.
 * Restore migrates the target to this Vigil's schema first, then loads the rows. Either kind of backup
 * restores into either driver: a SQLite copy into SQLite is the file itself; any other combination goes
 * through rows.
 */
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStateStore } from '../state/open.ts';
import type { StateStoreConfig } from '../state/interface.ts';
import { migrationProvider } from '../state/migrations/index.ts';
import { describeFile } from './files.ts';
import { BackupError, BackupFailedError, type StateManifest, type StateTableEntry } from './manifest.ts';

/** Kysely's bookkeeping tables: recreated by migrations, never restored as data. */
const MIGRATION_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);
const SQLITE_FILE = 'state/state.db';
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Row = Record<string, unknown>;

function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new BackupError(`unexpected table or column name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function where(cfg: StateStoreConfig): string {
  if (cfg.driver === 'sqlite') return `SQLite database ${cfg.path}`;
  try {
    const u = new URL(cfg.url);
    if (u.password) u.password = '***';
    return `PostgreSQL database ${u.toString()}`;
  } catch {
    return 'PostgreSQL database';
  }
}

async function withPg<T>(
  cfg: { url: string; schema?: string },
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: cfg.url });
  try {
    await client.connect();
  } catch (err) {
    throw new BackupError(`cannot connect to the state store's PostgreSQL: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    if (cfg.schema !== undefined) await client.query(`SET search_path TO ${quoteIdent(cfg.schema)}`);
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function sqliteTables(db: Database.Database): string[] {
  return db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
}

function sqliteMigrations(db: Database.Database): string[] {
  const has = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'")
    .get();
  return has ? (db.prepare('SELECT name FROM kysely_migration ORDER BY name').pluck().all() as string[]) : [];
}

async function pgTables(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return r.rows.map((x) => x.table_name);
}

async function pgMigrations(c: pg.Client): Promise<string[]> {
  if (!(await pgTables(c)).includes('kysely_migration')) return [];
  return (await c.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')).rows.map(
    (r) => r.name,
  );
}

/** Exports the state store into `dir/state/`. */
export async function exportState(cfg: StateStoreConfig, dir: string): Promise<StateManifest> {
  await mkdir(join(dir, 'state'), { recursive: true });
  if (cfg.driver === 'sqlite') {
    if (!existsSync(cfg.path)) throw new BackupError(`there is no state store at ${cfg.path}`);
    const src = new Database(cfg.path, { fileMustExist: true });
    try {
      await src.backup(join(dir, SQLITE_FILE));
    } catch (err) {
      throw new BackupFailedError(`cannot back up ${where(cfg)}: ${(err as Error).message}`, { cause: err });
    } finally {
      src.close();
    }
    const copy = new Database(join(dir, SQLITE_FILE), { readonly: true });
    let tables: StateTableEntry[];
    let migrations: string[];
    try {
      migrations = sqliteMigrations(copy);
      tables = sqliteTables(copy)
        .filter((t) => !MIGRATION_TABLES.has(t))
        .map((name) => ({
          name,
          rows: Number(
            copy
              .prepare(`SELECT count(*) FROM ${quoteIdent(name)}`)
              .pluck()
              .get(),
          ),
        }));
    } finally {
      copy.close();
    }
    return { driver: 'sqlite', migrations, database: await describeFile(dir, SQLITE_FILE), tables };
  }
  return withPg(cfg, async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const migrations = await pgMigrations(c);
      const tables: StateTableEntry[] = [];
      for (const name of await pgTables(c)) {
        if (MIGRATION_TABLES.has(name)) continue;
        const rows = (await c.query<Row>(`SELECT * FROM ${quoteIdent(name)}`)).rows;
        const path = `state/${name}.jsonl`;
        await writeFile(join(dir, path), rows.map((r) => JSON.stringify(r) + '\n').join(''));
        tables.push({ name, rows: rows.length, file: await describeFile(dir, path) });
      }
      await c.query('COMMIT');
      return { driver: 'postgres' as const, migrations, tables };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** Rows in the store's tables, by table (empty when the store does not exist yet). */
export async function stateRows(cfg: StateStoreConfig): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (cfg.driver === 'sqlite') {
    if (!existsSync(cfg.path)) return out;
    const db = new Database(cfg.path, { readonly: true, fileMustExist: true });
    try {
      for (const t of sqliteTables(db))
        if (!MIGRATION_TABLES.has(t))
          out.set(
            t,
            Number(
              db
                .prepare(`SELECT count(*) FROM ${quoteIdent(t)}`)
                .pluck()
                .get(),
            ),
          );
    } finally {
      db.close();
    }
    return out;
  }
  return withPg(cfg, async (c) => {
    for (const t of await pgTables(c))
      if (!MIGRATION_TABLES.has(t))
        out.set(
          t,
          Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(t)}`)).rows[0]!.n),
        );
    return out;
  });
}

/** Reads the rows of one backed-up table, whichever driver made the backup. */
async function* backupRows(dir: string, m: StateManifest, table: StateTableEntry): AsyncGenerator<Row> {
  if (table.file) {
    const lines = createInterface({
      input: createReadStream(join(dir, table.file.path)),
      crlfDelay: Infinity,
    });
    for await (const line of lines) if (line) yield JSON.parse(line) as Row;
    return;
  }
  if (!m.database) throw new BackupError(`the manifest lists table ${table.name} without a file`);
  const db = new Database(join(dir, m.database.path), { readonly: true, fileMustExist: true });
  try {
    for (const row of db.prepare(`SELECT * FROM ${quoteIdent(table.name)}`).iterate()) yield row as Row;
  } finally {
    db.close();
  }
}

/** A value from either driver as SQLite binds it (no booleans, no objects). */
function sqliteValue(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v;
}

/** Every migration the backup's source had applied must be one this Vigil knows. */
async function checkMigrations(m: StateManifest): Promise<void> {
  const known = new Set(Object.keys(await migrationProvider.getMigrations()));
  const unknown = m.migrations.filter((x) => !known.has(x));
  if (unknown.length)
    throw new BackupError(
      `the backup's state store has migrations this Vigil does not know (${unknown.join(', ')}): restore with a newer Vigil`,
    );
}

/**
 * Restores the state store. The target must be empty unless `force` (then its rows are replaced). Verifies
 * the row count of every table afterwards.
 */
export async function restoreState(
  cfg: StateStoreConfig,
  dir: string,
  m: StateManifest,
  force: boolean,
  log: (msg: string) => void = () => {},
): Promise<void> {
  await checkMigrations(m);
  const tables = m.tables.filter((t) => !MIGRATION_TABLES.has(t.name));
  if (cfg.driver === 'sqlite') {
    if (force) for (const ext of ['', '-wal', '-shm']) await rm(cfg.path + ext, { force: true });
    else if (existsSync(cfg.path))
      throw new BackupError(`${where(cfg)} exists; restore with --force to replace it`);
    await mkdir(dirname(cfg.path), { recursive: true });
    if (m.driver === 'sqlite' && m.database) {
      await copyFile(join(dir, m.database.path), cfg.path);
      // Brings the copy to this Vigil's schema (and WAL mode) when it is older.
      await (await openStateStore(cfg)).close();
    } else {
      await (await openStateStore(cfg)).close();
      const db = new Database(cfg.path, { fileMustExist: true });
      try {
        db.exec('BEGIN');
        for (const t of tables) {
          let insert: Database.Statement | undefined;
          let cols: string[] = [];
          for await (const row of backupRows(dir, m, t)) {
            if (!insert) {
              cols = Object.keys(row);
              insert = db.prepare(
                `INSERT INTO ${quoteIdent(t.name)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
              );
            }
            insert.run(cols.map((c) => sqliteValue(row[c])));
          }
        }
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw new BackupFailedError(
          `cannot load the state rows into ${where(cfg)}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      } finally {
        db.close();
      }
    }
  } else {
    const before = await stateRows(cfg);
    const busy = tables.filter((t) => (before.get(t.name) ?? 0) > 0);
    if (busy.length && !force)
      throw new BackupError(
        `${where(cfg)} is not empty (${busy.map((t) => `${t.name}: ${before.get(t.name)} rows`).join(', ')}); restore with --force to replace its rows`,
      );
    await (await openStateStore(cfg)).close();
    await withPg(cfg, async (c) => {
      await c.query('BEGIN');
      try {
        for (const t of tables) {
          await c.query(`DELETE FROM ${quoteIdent(t.name)}`);
          let batch: Row[] = [];
          const flush = async () => {
            if (!batch.length) return;
            const cols = Object.keys(batch[0]!);
            const values: unknown[] = [];
            const tuples = batch.map(
              (row) => `(${cols.map((col) => `$${values.push(row[col])}`).join(', ')})`,
            );
            await c.query(
              `INSERT INTO ${quoteIdent(t.name)} (${cols.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')}`,
              values,
            );
            batch = [];
          };
          for await (const row of backupRows(dir, m, t)) {
            batch.push(row);
            if (batch.length >= 500) await flush();
          }
          await flush();
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw new BackupFailedError(
          `cannot load the state rows into ${where(cfg)}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    });
  }
  const after = await stateRows(cfg);
  for (const t of tables) {
    if ((after.get(t.name) ?? 0) !== t.rows)
      throw new BackupError(
        `after restoring, state table ${t.name} has ${after.get(t.name) ?? 0} rows, the backup ${t.rows}`,
      );
    log(`state: ${t.name}: ${t.rows} rows`);
  }
}
