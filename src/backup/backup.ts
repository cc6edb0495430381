/**
 * Backup and restore of everything a Vigil holds: telemetry (ClickHouse tables, see telemetry.ts) and the
 * operational state (state.ts), into a folder with a manifest (manifest.ts). A backup runs against a live
 * Vigil (through its admin API, src/backup/handler.ts) or a stopped one's folder (`vigil backup` without
 * --url); a restore fills a stopped Vigil's empty data folder (or, with force, replaces its content).
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SqlTransport } from '../store/clickhouse/transport.ts';
import type { StateStoreConfig } from '../state/interface.ts';
import { VERSION } from '../version.ts';
import { checkFile, prepareBackupDir, writeAtomic } from './files.ts';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BackupError,
  BackupFailedError,
  MANIFEST_FILE,
  manifestFiles,
  parseManifest,
  type BackupManifest,
} from './manifest.ts';
import { exportState, restoreState, stateRows } from './state.ts';
import { exportTelemetry, extraSchemaVersions, loadTelemetry, schemaVersion } from './telemetry.ts';

/** What a backup reads from. */
export interface BackupSource {
  readonly sql: SqlTransport;
  readonly database: string;
  readonly state: StateStoreConfig;
  readonly online: boolean;
  /** Waits for commits in flight (a running Vigil), so the backup holds everything acknowledged before it. */
  readonly flushed?: () => Promise<void>;
}

/** Writes a complete backup into `dir` (which must not exist or be empty) and returns its manifest. */
export async function createBackup(
  src: BackupSource,
  dir: string,
  log: (msg: string) => void = () => {},
): Promise<BackupManifest> {
  if (src.sql.kind !== 'chdb')
    throw new BackupError(
      'vigil backup covers the embedded chDB storage; with a ClickHouse server, back up its database with ' +
        "ClickHouse's own BACKUP DATABASE … TO Disk(…) and the state store with the database's tools",
    );
  const target = resolve(dir);
  await prepareBackupDir(target);
  try {
    await src.flushed?.();
    const schema_version = await schemaVersion(src.sql, src.database);
    const schema_versions = await extraSchemaVersions(src.sql, src.database);
    const tables = await exportTelemetry(src.sql, src.database, target, log);
    const state = await exportState(src.state, target);
    for (const t of state.tables) log(`state: ${t.name}: ${t.rows} rows`);
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      created_at: new Date().toISOString(),
      vigil_version: VERSION,
      source: src.online ? 'online' : 'offline',
      telemetry: {
        engine: 'chdb',
        database: src.database,
        schema_version,
        schema_versions,
        format: 'Native+zstd',
        tables,
      },
      state,
    };
    await writeAtomic(join(target, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  } catch (err) {
    // The folder was new or empty: remove the partial backup rather than leave something that looks like one.
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof BackupError) throw err;
    throw new BackupFailedError(`backup into ${target} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads and checks a backup folder: the manifest, and every file's size and checksum. */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BackupError(
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${dir} has no ${MANIFEST_FILE}: not a Vigil backup, or an unfinished one`
        : `cannot read ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const m = parseManifest(text, path);
  const problems: string[] = [];
  for (const f of manifestFiles(m)) {
    const p = await checkFile(dir, f);
    if (p) problems.push(p);
  }
  if (problems.length) throw new BackupError(`backup ${dir} is damaged: ${problems.join('; ')}`);
  return m;
}

/** Where a restore writes. */
export interface RestoreTarget {
  /** The data folder; telemetry goes to `<dataDir>/clickhouse`. */
  readonly dataDir: string;
  readonly database: string;
  readonly state: StateStoreConfig;
  readonly retentionMs: number;
  /** Opens the embedded ClickHouse of the data folder (after any wipe). */
  readonly openSql: () => SqlTransport;
}

export interface RestoreReport {
  readonly manifest: BackupManifest;
  readonly samples: number;
  /** Restored samples older than the target's retention: retention removes them soon. */
  readonly olderThanRetention: number;
}

/** Vigil's own entries in a data folder: what a forced restore removes. */
function ownedEntries(t: RestoreTarget): string[] {
  const out = [join(t.dataDir, 'clickhouse')];
  if (t.state.driver === 'sqlite') out.push(t.state.path, `${t.state.path}-wal`, `${t.state.path}-shm`);
  return out;
}

/**
 * Restores a backup into a stopped Vigil's data folder. Everything is checked before anything changes: the
 * manifest, every checksum, and that the target is empty (else `force` is required; the target's telemetry
 * and state are then replaced).
 */
export async function restoreBackup(
  dir: string,
  target: RestoreTarget,
  opts: { force?: boolean; log?: (msg: string) => void } = {},
): Promise<RestoreReport> {
  const log = opts.log ?? (() => {});
  const from = resolve(dir);
  const m = await verifyBackup(from);
  log(`backup of ${m.created_at} (Vigil ${m.vigil_version}) verified`);

  let entries: string[] = [];
  try {
    entries = await readdir(target.dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const stateBusy = [...(await stateRows(target.state)).values()].some((n) => n > 0);
  if ((entries.length > 0 || stateBusy) && !opts.force)
    throw new BackupError(
      `the data folder ${target.dataDir} is not empty` +
        (stateBusy && target.state.driver === 'postgres' ? ' (nor is the PostgreSQL state store)' : '') +
        '; restore into an empty one, or use --force to replace its telemetry and state',
    );
  if (opts.force) for (const p of ownedEntries(target)) await rm(p, { recursive: true, force: true });

  const sql = target.openSql();
  let olderThanRetention: number;
  try {
    olderThanRetention = await loadTelemetry(
      sql,
      target.database,
      from,
      m.telemetry.tables,
      m.telemetry.schema_version,
      target.retentionMs,
      log,
      m.telemetry.schema_versions,
    );
  } finally {
    await sql.close();
  }
  await restoreState(target.state, from, m.state, opts.force ?? false, log);
  const samples = m.telemetry.tables.find((t) => t.name === 'samples')?.rows ?? 0;
  return { manifest: m, samples, olderThanRetention };
}
