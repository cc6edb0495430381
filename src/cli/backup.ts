/**
 * `vigil backup DIR` and `vigil restore DIR`. A backup is taken from a running Vigil through its admin API
 * (`--url`; DIR is then a folder on the Vigil host) or from a stopped Vigil's data folder. A restore goes into
 * a stopped Vigil's data folder, which must be empty unless --force.
 * Exit codes: 0 done, 1 failed, 2 usage error.
 */
import { resolve } from 'node:path';
import { formatDuration as formatPromDuration } from '../model/duration.ts';
import { createBackup, restoreBackup } from '../backup/backup.ts';
import { stateConfigOf } from '../backup/handler.ts';
import { BackupError, type BackupManifest } from '../backup/manifest.ts';
import { formatBytes, formatDuration } from '../import/progress.ts';
import {
  CliError,
  CliUsageError,
  assertDataFolderFree,
  failureExitCode,
  loadCliConfig,
  openTransport,
  parseCommandLine,
} from './offline.ts';

export const BACKUP_USAGE = `Usage:
  vigil backup DIR --url URL          back up a running Vigil (DIR is a folder on the Vigil host)
  vigil backup DIR [--config FILE] [--data-dir DIR]
                                      back up a stopped Vigil's data folder
  vigil restore DIR [--config FILE] [--data-dir DIR] [--force]
                                      restore into a stopped Vigil's data folder

A backup holds the telemetry (ClickHouse tables: series, samples, metadata, settings) and the state store
(dashboards, settings; SQLite or PostgreSQL), with a manifest of checksums and row counts. DIR must not exist
or be empty. Restore checks the manifest and every checksum first, and refuses a data folder (or a
PostgreSQL state store) that is not empty unless --force, which replaces its telemetry and state.
`;

function summary(m: BackupManifest): string {
  const rows = (name: string) => m.telemetry.tables.find((t) => t.name === name)?.rows ?? 0;
  const bytes =
    m.telemetry.tables.reduce((s, t) => s + t.file.bytes, 0) +
    (m.state.database?.bytes ?? 0) +
    m.state.tables.reduce((s, t) => s + (t.file?.bytes ?? 0), 0);
  const state = m.state.tables.map((t) => `${t.name} ${t.rows}`).join(', ');
  return (
    `${rows('samples')} samples, ${rows('series')} series rows, ${rows('metadata')} metadata rows; ` +
    `state (${m.state.driver}): ${state || 'no tables'}; ${formatBytes(bytes)}`
  );
}

async function backupOnline(dir: string, url: string): Promise<BackupManifest> {
  let endpoint: string;
  try {
    endpoint = new URL('/api/vigil/v1/admin/backup', url).toString();
  } catch {
    throw new CliUsageError(`--url: ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:9400)`);
  }
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dir }),
      signal: AbortSignal.timeout(24 * 3600_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${endpoint}: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string; manifest?: BackupManifest };
  if (!res.ok || !body.manifest)
    throw new CliError(`${endpoint} answered ${res.status}: ${body.error ?? 'no manifest'}`);
  return body.manifest;
}

export async function backupCommand(cmd: 'backup' | 'restore', argv: string[]): Promise<number> {
  const out = process.stderr;
  const parsed = parseCommandLine(cmd, argv, { force: { type: 'boolean' } }, BACKUP_USAGE);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const log = (msg: string) => out.write(`${msg}\n`);
  const started = Date.now();
  try {
    if (positionals.length !== 1) throw new CliUsageError(`${cmd} needs exactly one DIR`);
    const dir = resolve(positionals[0]!);

    if (cmd === 'backup') {
      if (values.force) throw new CliUsageError('--force belongs to restore');
      let manifest: BackupManifest;
      if (values.url !== undefined) {
        if (values.config !== undefined || values['data-dir'] !== undefined)
          throw new CliUsageError(
            '--url backs up a running Vigil; do not combine it with --config or --data-dir',
          );
        manifest = await backupOnline(dir, values.url);
      } else {
        const cfg = loadCliConfig(values);
        assertDataFolderFree(cfg, 'back it up through it with --url http://HOST:PORT');
        if (cfg.storage.engine !== 'chdb')
          throw new CliError(
            "vigil backup covers the embedded chDB storage; use ClickHouse's BACKUP for a server",
          );
        const sql = openTransport(cfg);
        try {
          manifest = await createBackup(
            {
              sql,
              database: cfg.storage.clickhouse?.database ?? 'vigil',
              state: stateConfigOf(cfg),
              online: false,
            },
            dir,
            log,
          );
        } finally {
          await sql.close();
        }
      }
      out.write(
        `backup written to ${dir} in ${formatDuration(Date.now() - started)}: ${summary(manifest)}\n`,
      );
      return 0;
    }

    if (values.url !== undefined)
      throw new CliUsageError(
        "restore works on a stopped Vigil's data folder; stop Vigil and leave out --url",
      );
    const cfg = loadCliConfig(values);
    if (cfg.storage.engine !== 'chdb')
      throw new CliError(
        "vigil restore fills the embedded chDB storage; use ClickHouse's RESTORE for a server",
      );
    assertDataFolderFree(cfg, 'stop it before restoring');
    const report = await restoreBackup(
      dir,
      {
        dataDir: cfg.data_dir,
        database: cfg.storage.clickhouse?.database ?? 'vigil',
        state: stateConfigOf(cfg),
        retentionMs: cfg.storage.retention,
        openSql: () => openTransport(cfg),
      },
      { force: values.force, log },
    );
    out.write(
      `restored the backup of ${report.manifest.created_at} into ${cfg.data_dir} in ${formatDuration(Date.now() - started)}: ` +
        `${summary(report.manifest)}\n`,
    );
    if (report.olderThanRetention > 0)
      out.write(
        `warning: ${report.olderThanRetention} restored samples are older than the configured retention ` +
          `(${formatPromDuration(cfg.storage.retention)}) and will be removed by it; to keep them, set storage.retention ` +
          '(0 keeps everything) in the configuration and restore again with --force\n',
      );
    return 0;
  } catch (err) {
    return failureExitCode(cmd, err, BACKUP_USAGE, [BackupError]);
  }
}
