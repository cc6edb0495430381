/**
 * `vigil import`: a text exposition file (OpenMetrics or Prometheus text, with timestamps), or a running
 * Prometheus over remote read, into Vigil. Either into the data folder of a stopped Vigil (default, using the
 * same configuration as `vigil start`) or through a running Vigil's remote-write endpoint (`--url`).
 * Exit codes: 0 done, 1 stopped at a bad line or failed, 2 usage error, 130 interrupted (resumable).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { formatDuration as formatPromDuration } from '../model/duration.ts';
import { parseDuration } from '../model/duration.ts';
import type { Matcher } from '../model/matcher.ts';
import { parse as parsePromql } from '../query/promql/parser.ts';
import { DEFAULT_INGEST_LIMITS } from '../ingest/validate.ts';
import type { Appender } from '../store/interface.ts';
import { ImportError, importFile, type FileImportResult } from '../import/file-import.ts';
import { importFromPrometheus } from '../import/prometheus-import.ts';
import { ProgressReporter, formatCount, formatDuration } from '../import/progress.ts';
import { RemoteWriteSink } from '../import/remote-write-sink.ts';
import { CheckpointError } from '../import/checkpoint.ts';
import {
  CliError,
  CliUsageError,
  assertDataFolderFree,
  failureExitCode,
  loadCliConfig,
  openStorage,
  openTransport,
  parseCommandLine,
  shellQuote,
} from './offline.ts';

export const IMPORT_USAGE = `Usage:
  vigil import FILE [destination] [options]
  vigil import --from-prometheus URL --start TIME --end TIME [--match SELECTOR]... [--window 2h]
               [destination] [options]

Imports samples with timestamps from an OpenMetrics or Prometheus text file (streamed; any size), or
migrates them from a running Prometheus through its remote-read API.

Destination (one of):
  --url URL               a running Vigil, e.g. http://127.0.0.1:9400 (sent to its /api/v1/write)
  --config FILE, --data-dir DIR
                          the data folder of a stopped Vigil, configured as for \`vigil start\` (default)

Options:
  --format auto|openmetrics|prometheus
                          file format; auto (default): OpenMetrics when the file ends with "# EOF"
  --on-error stop|skip    at a bad line: stop (default; everything before it is imported and --resume
                          continues at it) or skip it (each one is reported, and counted at the end)
  --batch-size N          samples per commit (default 500000)
  --checkpoint FILE       where progress is recorded (default FILE.vigil-import.json beside the file,
                          or vigil-import-<hash>.checkpoint.json in the working directory for a migration)
  --resume                continue an interrupted or stopped import from its checkpoint
  --no-progress           no progress line (errors and the summary are still printed)
TIME is RFC 3339 (2026-01-02T15:04:05Z), Unix seconds, "now" or "now-DURATION" (now-30d).
`;

function parseTime(s: string, flag: string, now: number): number {
  const rel = /^now(?:-(.+))?$/.exec(s);
  if (rel) {
    try {
      return now - (rel[1] ? parseDuration(rel[1]) : 0);
    } catch (err) {
      throw new CliUsageError(`${flag}: ${(err as Error).message}`);
    }
  }
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = /^\d{4}-\d{2}-\d{2}T/.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(t))
    throw new CliUsageError(
      `${flag}: cannot parse ${JSON.stringify(s)} as a time (RFC 3339, Unix seconds or now-DURATION)`,
    );
  return t;
}

function parseSelector(s: string): Matcher[] {
  let expr;
  try {
    expr = parsePromql(s);
  } catch (err) {
    throw new CliUsageError(`--match ${JSON.stringify(s)}: ${(err as Error).message}`);
  }
  if (expr.type !== 'VectorSelector' || expr.offsetMs !== 0 || expr.at)
    throw new CliUsageError(`--match ${JSON.stringify(s)} is not a series selector (e.g. up{job="node"})`);
  return [...expr.matchers];
}

interface Destination {
  readonly appender: () => Appender;
  readonly target: string;
  readonly retentionMs: number;
  readonly maxFutureMs: number;
  close(): Promise<void>;
}

async function openDestination(values: {
  url?: string;
  config?: string;
  'data-dir'?: string;
}): Promise<Destination> {
  if (values.url !== undefined) {
    if (values.config !== undefined || values['data-dir'] !== undefined)
      throw new CliUsageError(
        '--url writes to a running Vigil; do not combine it with --config or --data-dir',
      );
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new CliUsageError(
        `--url: ${JSON.stringify(values.url)} is not a URL (e.g. http://127.0.0.1:9400)`,
      );
    }
    // Fail fast when the Vigil is not there, rather than after parsing the first batch.
    try {
      const ready = await fetch(new URL('/-/ready', url), { signal: AbortSignal.timeout(10_000) });
      if (!ready.ok) throw new Error(`/-/ready answered ${ready.status}`);
    } catch (err) {
      throw new CliError(`cannot reach a Vigil at ${url.origin}: ${(err as Error).message}`, { cause: err });
    }
    const sink = new RemoteWriteSink({ url: url.toString() });
    return {
      appender: () => sink.appender(),
      target: `Vigil at ${url.origin}`,
      retentionMs: 0, // the running Vigil's retention is not known here
      maxFutureMs: DEFAULT_INGEST_LIMITS.maxFutureMs,
      close: async () => {},
    };
  }
  const cfg = loadCliConfig(values);
  assertDataFolderFree(cfg, 'stop it first, or import through it with --url http://HOST:PORT');
  const sql = openTransport(cfg);
  try {
    const storage = await openStorage(cfg, sql);
    return {
      appender: () => storage.appender(),
      target:
        cfg.storage.engine === 'chdb'
          ? `data folder ${cfg.data_dir}`
          : `ClickHouse ${cfg.storage.clickhouse!.url} database ${cfg.storage.clickhouse!.database}`,
      retentionMs: cfg.storage.retention,
      maxFutureMs: cfg.ingest.max_future,
      close: async () => {
        await storage.close();
        await sql.close();
      },
    };
  } catch (err) {
    await sql.close();
    throw err;
  }
}

/** The command line to continue: the same arguments plus --resume. */
function resumeCommand(argv: string[]): string {
  const args = argv.filter((a) => a !== '--resume');
  return ['vigil', 'import', ...args, '--resume'].map(shellQuote).join(' ');
}

function retentionWarning(n: number, retentionMs: number): string | undefined {
  if (n === 0) return undefined;
  return (
    `warning: ${formatCount(n)} imported samples are older than the retention period (${formatPromDuration(retentionMs)}) ` +
    'and will be removed by retention; raise storage.retention (0 keeps everything) and import them again'
  );
}

export async function importCommand(argv: string[]): Promise<number> {
  const out = process.stderr;
  const parsed = parseCommandLine(
    'import',
    argv,
    {
      format: { type: 'string' },
      'on-error': { type: 'string' },
      'batch-size': { type: 'string' },
      checkpoint: { type: 'string' },
      resume: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      'from-prometheus': { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      match: { type: 'string', multiple: true },
      window: { type: 'string' },
    },
    IMPORT_USAGE,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;

  const ctl = new AbortController();
  const onSigint = () => {
    if (ctl.signal.aborted) process.exit(130);
    out.write('\ninterrupted: committing what was read; press Ctrl-C again to quit at once\n');
    ctl.abort();
  };
  process.on('SIGINT', onSigint);
  let dest: Destination | undefined;
  try {
    const migrating = values['from-prometheus'] !== undefined;
    if (migrating && positionals.length > 0)
      throw new CliUsageError('give either FILE or --from-prometheus URL, not both');
    if (!migrating && positionals.length !== 1) throw new CliUsageError('import needs exactly one FILE');
    if (!migrating && (values.start || values.end || values.match || values.window))
      throw new CliUsageError('--start, --end, --match and --window belong to --from-prometheus');
    if (migrating && (values.format || values['on-error']))
      throw new CliUsageError('--format and --on-error apply to file imports, not to --from-prometheus');
    const format = values.format ?? 'auto';
    if (format !== 'auto' && format !== 'openmetrics' && format !== 'prometheus')
      throw new CliUsageError(
        `--format must be auto, openmetrics or prometheus, not ${JSON.stringify(format)}`,
      );
    const onError = values['on-error'] ?? 'stop';
    if (onError !== 'stop' && onError !== 'skip')
      throw new CliUsageError(`--on-error must be stop or skip, not ${JSON.stringify(onError)}`);
    const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0))
      throw new CliUsageError(
        `--batch-size must be a positive integer, not ${JSON.stringify(values['batch-size'])}`,
      );

    const progress = new ProgressReporter(out, { enabled: !values['no-progress'] });
    const started = Date.now();

    if (migrating) {
      const now = Date.now();
      if (!values.start || !values.end) throw new CliUsageError('--from-prometheus needs --start and --end');
      const start = parseTime(values.start, '--start', now);
      const end = parseTime(values.end, '--end', now);
      if (end < start) throw new CliUsageError('--end is before --start');
      let windowMs = 2 * 3600_000;
      if (values.window !== undefined) {
        try {
          windowMs = parseDuration(values.window);
        } catch (err) {
          throw new CliUsageError(`--window: ${(err as Error).message}`);
        }
        if (windowMs <= 0) throw new CliUsageError('--window must be longer than 0');
      }
      const selectors = values.match ?? ['{__name__=~".+"}'];
      const matcherSets = selectors.map(parseSelector);
      let url: string;
      try {
        url = new URL(values['from-prometheus']!).toString().replace(/\/$/, '');
      } catch {
        throw new CliUsageError(
          `--from-prometheus: ${JSON.stringify(values['from-prometheus'])} is not a URL`,
        );
      }
      dest = await openDestination(values);
      const res = await importFromPrometheus({
        url,
        start,
        end,
        selectors,
        matcherSets,
        windowMs,
        appender: dest.appender,
        target: dest.target,
        checkpointPath: values.checkpoint,
        resume: values.resume,
        progress,
        report: (l) => progress.message(l),
        signal: ctl.signal,
      });
      progress.finish();
      if (res.status === 'interrupted') {
        out.write(
          `interrupted: ${res.samples} samples imported up to ${res.windows} of the time windows; continue with:\n  ` +
            `${resumeCommand(argv)}\n`,
        );
        return 130;
      }
      out.write(
        `imported ${res.samplesThisRun} samples of ${res.series} series from ${url} ` +
          `(${new Date(start).toISOString()} to ${new Date(end).toISOString()}) into ${dest.target} ` +
          `in ${formatDuration(Date.now() - started)}\n`,
      );
      return 0;
    }

    const file = positionals[0]!;
    try {
      await access(file, constants.R_OK);
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    dest = await openDestination(values);
    const res: FileImportResult = await importFile({
      file,
      format,
      appender: dest.appender,
      target: dest.target,
      batchSize,
      checkpointPath: values.checkpoint,
      resume: values.resume,
      onError,
      limits: { ...DEFAULT_INGEST_LIMITS, maxFutureMs: dest.maxFutureMs },
      retentionMs: dest.retentionMs,
      progress,
      report: (l) => progress.message(l),
      signal: ctl.signal,
    });
    progress.finish();
    const from = res.startLine > 1 ? ` (resumed at line ${res.startLine})` : '';
    const lines = `lines ${res.startLine}-${res.lines}${res.startLine > 1 ? ', resumed' : ''}`;
    const warn = retentionWarning(res.olderThanRetention, dest.retentionMs);
    if (warn) out.write(warn + '\n');
    if (res.status === 'stopped') {
      const { line, message } = res.error!;
      out.write(
        `${file}:${line}: ${message}\n` +
          `import stopped at line ${line}: ${res.samples} samples from the lines before it are imported` +
          `${from}, nothing from line ${line} on.\n` +
          `Fix or delete line ${line}, then continue with:\n  ${resumeCommand(argv)}\n` +
          `or skip bad lines with --on-error=skip.\n`,
      );
      return 1;
    }
    if (res.status === 'interrupted') {
      out.write(
        `interrupted after line ${res.lines}: ${res.samples} samples imported; continue with:\n  ${resumeCommand(argv)}\n`,
      );
      return 130;
    }
    out.write(
      `imported ${res.samplesThisRun} samples of ${res.series} series from ${file} (${res.format}, ` +
        `${lines}) into ${dest.target} in ${formatDuration(Date.now() - started)}\n`,
    );
    if (res.skipped > 0) out.write(`${res.skipped} bad line(s) skipped (listed above)\n`);
    if (res.endProblem) {
      out.write(`${file}: ${res.endProblem}; everything before the end is imported\n`);
      return onError === 'stop' ? 1 : 0;
    }
    return 0;
  } catch (err) {
    return failureExitCode('import', err, IMPORT_USAGE, [ImportError, CheckpointError]);
  } finally {
    process.off('SIGINT', onSigint);
    await dest?.close();
  }
}
