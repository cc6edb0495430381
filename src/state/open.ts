/**
 * Opens the operational-state store for a configuration: builds the Kysely dialect, applies every pending
 * migration (safe when several nodes start at once), and returns a ready StateStore.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { InvalidInputError, StateStoreError } from './errors.ts';
import type { StateStore, StateStoreConfig } from './interface.ts';
import { migrationProvider } from './migrations/index.ts';
import type { StateDatabase } from './schema.ts';
import { KyselyStateStore } from './store.ts';

/**
 * How long a SQLite writer waits for another process's write lock before failing with SQLITE_BUSY.
 * better-sqlite3 waits synchronously, so this also bounds how long the event loop can stall.
 */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
const PG_POOL_SIZE = 10;
const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The URL without its password, for error messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function openSqlite(path: string): Kysely<StateDatabase> {
  let database: Database.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    database = new Database(path);
  } catch (err) {
    throw new StateStoreError(`state store: cannot open SQLite database ${path}: ${message(err)}`, {
      cause: err,
    });
  }
  try {
    // WAL lets readers proceed while one writer commits, and survives a killed process.
    const mode = database.pragma('journal_mode = WAL', { simple: true });
    if (path !== ':memory:' && String(mode).toLowerCase() !== 'wal')
      throw new Error(`journal_mode is ${String(mode)}; the file system of ${path} does not support WAL`);
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database.close();
    throw new StateStoreError(`state store: cannot configure SQLite database ${path}: ${message(err)}`, {
      cause: err,
    });
  }
  return new Kysely<StateDatabase>({ dialect: new SqliteDialect({ database }) });
}

function openPostgres(url: string, schema: string | undefined): Kysely<StateDatabase> {
  if (schema !== undefined && !SCHEMA_RE.test(schema))
    throw new InvalidInputError(
      `invalid PostgreSQL schema name ${JSON.stringify(schema)}: use letters, digits and "_" (at most 63), ` +
        'not starting with a digit',
    );
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString: url, max: PG_POOL_SIZE });
  } catch (err) {
    throw new StateStoreError(`state store: invalid PostgreSQL URL ${redactUrl(url)}: ${message(err)}`, {
      cause: err,
    });
  }
  // An idle client losing its connection emits 'error' on the pool, which would otherwise crash the process;
  // the pool drops that client and the next query opens a fresh one.
  pool.on('error', () => undefined);
  const db = new Kysely<StateDatabase>({ dialect: new PostgresDialect({ pool }) });
  return schema === undefined ? db : db.withSchema(schema);
}

/**
 * Opens the store and migrates its schema to the latest version. Opening an up-to-date database changes
 * nothing. Throws InvalidInputError for a bad configuration and StateStoreError when the database cannot be
 * reached or migrated (the message names the database and the failing migration).
 */
export async function openStateStore(cfg: StateStoreConfig): Promise<StateStore> {
  const where =
    cfg.driver === 'sqlite' ? `SQLite database ${cfg.path}` : `PostgreSQL database ${redactUrl(cfg.url)}`;
  let db: Kysely<StateDatabase>;
  let beginSql: string;
  let migrationTableSchema: string | undefined;
  switch (cfg.driver) {
    case 'sqlite':
      db = openSqlite(cfg.path);
      beginSql = 'begin immediate';
      break;
    case 'postgres':
      db = openPostgres(cfg.url, cfg.schema);
      beginSql = 'begin';
      migrationTableSchema = cfg.schema;
      break;
    default:
      throw new InvalidInputError(
        `unknown state store driver ${JSON.stringify((cfg as { driver: unknown }).driver)}: use "sqlite" or "postgres"`,
      );
  }

  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await db.destroy().catch(() => undefined);
    const failed = results?.find((r) => r.status === 'Error');
    const what = failed ? `migration ${failed.migrationName} failed` : 'cannot run migrations';
    throw new StateStoreError(`state store: ${where}: ${what}: ${message(error)}`, { cause: error });
  }
  return new KyselyStateStore(db, { beginSql });
}
