/**
 * POST /api/vigil/v1/admin/backup {"dir": "/absolute/path"}: backs up the running Vigil into a folder on its
 * own host (the folder must not exist or be empty). Answers 200 with the manifest when the backup is
 * complete; 400 for a bad folder, 409 while another backup runs, 501 for a storage engine it cannot back up.
 * Like Prometheus's admin API (snapshot, delete_series) it is meant for operators: put it behind the same
 * access control as the rest of Vigil's admin endpoints.
 */
import { isAbsolute, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { VigilConfig } from '../config/config.ts';
import type { ClickHouseStorage } from '../store/clickhouse/storage.ts';
import type { StateStoreConfig } from '../state/interface.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler, installJsonParser } from '../api/vigil-api.ts';
import { createBackup } from './backup.ts';
import { BackupError, BackupFailedError } from './manifest.ts';

export interface BackupApiDeps {
  readonly storage: ClickHouseStorage;
  readonly config: VigilConfig;
  /** Waits until every acknowledged span is in ClickHouse (the span write-ahead log drained). */
  readonly spansFlushed?: () => Promise<void>;
  readonly log?: (msg: string) => void;
}

/** The state store a configuration uses, as src/app.ts opens it. */
export function stateConfigOf(cfg: VigilConfig): StateStoreConfig {
  return cfg.state.driver === 'postgres'
    ? { driver: 'postgres', url: cfg.state.url! }
    : { driver: 'sqlite', path: cfg.state.path ?? join(cfg.data_dir, 'state.db') };
}

export function backupApi(deps: BackupApiDeps): FastifyPluginAsync {
  let running: string | undefined;
  return async (app) => {
    installErrorHandler(app);
    installJsonParser(app);
    app.post(`${VIGIL_API_PREFIX}/admin/backup`, async (req, reply) => {
      const dir = (req.body as { dir?: unknown } | undefined)?.dir;
      if (typeof dir !== 'string' || !isAbsolute(dir))
        throw new HttpError(
          400,
          'send {"dir": "/absolute/path"}: the folder on the Vigil host to back up into',
        );
      if (running) throw new HttpError(409, `a backup into ${running} is running; try again when it is done`);
      if (deps.storage.sql.kind !== 'chdb')
        throw new HttpError(
          501,
          "backup covers the embedded chDB storage; back up a ClickHouse server with ClickHouse's BACKUP DATABASE",
        );
      running = dir;
      const started = Date.now();
      try {
        const manifest = await createBackup(
          {
            sql: deps.storage.sql,
            database: deps.storage.db,
            state: stateConfigOf(deps.config),
            online: true,
            flushed: async () => {
              await deps.storage.flushed();
              await deps.spansFlushed?.();
            },
          },
          dir,
        );
        deps.log?.(`backup into ${dir} done in ${Date.now() - started} ms`);
        return reply.send({ dir, manifest });
      } catch (err) {
        if (err instanceof BackupFailedError) throw new HttpError(500, err.message);
        if (err instanceof BackupError) throw new HttpError(400, err.message);
        throw err;
      } finally {
        running = undefined;
      }
    });
  };
}
