/**
 * Pieces shared by the commands that work on a data folder directly (import, backup, restore) instead of
 * through a running Vigil: their command line and exit codes, loading the configuration the way
 * `vigil start` does, checking that no Vigil has the folder open, and opening storage as src/app.ts does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  loadConfigFile,
  overridesFromEnv,
  type ConfigOverrides,
  type VigilConfig,
} from '../config/config.ts';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import { ClickHouseServerTransport } from '../store/clickhouse/server.ts';
import { ClickHouseStorage } from '../store/clickhouse/storage.ts';
import type { SqlTransport } from '../store/clickhouse/transport.ts';

/** A bad command line; the command prints its usage and exits with 2. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** Any failure the command reports in one message and exits with 1. */
export class CliError extends Error {
  override name = 'CliError';
}

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Options of every data-folder command: a running Vigil (--url) or a configuration and data folder. */
const COMMON_OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/**
 * Parses the arguments of `vigil COMMAND`: its own `options` and the common ones, positionals allowed.
 * Returns the exit code instead when there is nothing to run: 0 after printing `usage` for --help, 2 after
 * printing what is wrong with the arguments and `usage`.
 */
type CommandConfig<T extends ParseArgsOptionsConfig> = {
  args: string[];
  allowPositionals: true;
  strict: true;
  options: typeof COMMON_OPTIONS & T;
};

export function parseCommandLine<T extends ParseArgsOptionsConfig>(
  command: string,
  argv: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<CommandConfig<T>>> | number {
  let parsed;
  try {
    parsed = parseArgs<CommandConfig<T>>({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...COMMON_OPTIONS, ...options },
    });
  } catch (err) {
    process.stderr.write(`vigil ${command}: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage);
    return 0;
  }
  return parsed;
}

/**
 * The exit code of `vigil COMMAND` that failed with `err`: 2 for a CliUsageError (printed with `usage`),
 * 1 for a CliError or one of the `expected` error classes (printed as one message). Anything else is a bug
 * and is thrown on.
 */
export function failureExitCode(
  command: string,
  err: unknown,
  usage: string,
  expected: readonly (abstract new (...args: never[]) => Error)[],
): number {
  if (err instanceof CliUsageError) {
    process.stderr.write(`vigil ${command}: ${err.message}\n\n${usage}`);
    return 2;
  }
  if (err instanceof CliError || expected.some((type) => err instanceof type)) {
    process.stderr.write(`vigil ${command}: ${(err as Error).message}\n`);
    return 1;
  }
  throw err;
}

/** The configuration from --config (or VIGIL_CONFIG), the environment and --data-dir, as for `vigil start`. */
export function loadCliConfig(values: { config?: string; 'data-dir'?: string }): VigilConfig {
  const flags: ConfigOverrides = {};
  if (values['data-dir'] !== undefined) flags.dataDir = values['data-dir'];
  return loadConfigFile(values.config ?? process.env.VIGIL_CONFIG, {
    ...overridesFromEnv(process.env),
    ...flags,
  });
}

/** Folder of the embedded ClickHouse data. */
export function chdbPath(cfg: VigilConfig): string {
  return join(cfg.data_dir, 'clickhouse');
}

/**
 * Throws when a live process holds the embedded ClickHouse data (ClickHouse writes its PID to `status` while
 * the folder is open and removes it on close). Checked before opening: chDB would refuse anyway, but only
 * after our transport has cleared the folder's spool of the running process's in-flight inserts.
 */
export function assertDataFolderFree(cfg: VigilConfig, whatToDo: string): void {
  if (cfg.storage.engine !== 'chdb') return;
  const status = join(chdbPath(cfg), 'status');
  if (!existsSync(status)) return;
  const pid = Number(/PID:\s*(\d+)/.exec(readFileSync(status, 'utf8'))?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return; // left behind by a killed process
  }
  throw new CliError(
    `the data folder ${cfg.data_dir} is in use by process ${pid} (a running Vigil?); ${whatToDo}`,
  );
}

export function openTransport(cfg: VigilConfig): SqlTransport {
  if (cfg.storage.engine === 'clickhouse') {
    const ch = cfg.storage.clickhouse!;
    return new ClickHouseServerTransport({ url: ch.url, username: ch.username, password: ch.password });
  }
  try {
    return new ChdbTransport(chdbPath(cfg));
  } catch (err) {
    throw new CliError(`cannot open the data folder ${cfg.data_dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Storage opened as `vigil start` opens it (schema migrated, retention applied, series index loaded). */
export async function openStorage(cfg: VigilConfig, sql: SqlTransport): Promise<ClickHouseStorage> {
  return ClickHouseStorage.open(sql, {
    database: cfg.storage.clickhouse?.database ?? 'vigil',
    retentionMs: cfg.storage.retention,
    maxPendingSamples: cfg.storage.max_pending_samples,
  });
}

/** Quotes an argument for a shell command line shown to the user. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
