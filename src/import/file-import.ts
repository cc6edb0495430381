/**
 * Imports an OpenMetrics or Prometheus text file with timestamps into storage, streaming: the file is read
 * in chunks, split into lines, parsed one line at a time (openmetrics.ts), and appended through an Appender
 * in batches. After each batch commits, a checkpoint records where the next line starts, so an interrupted
 * or stopped import continues with `resume` without writing any committed sample again.
 *
 * Bad lines: with `onError: 'stop'` (the default) everything before the bad line is committed, the
 * checkpoint points at the bad line, and the result says so; with 'skip' each bad line is reported and
 * counted and the import carries on. Nothing is dropped silently.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Appender } from '../store/interface.ts';
import type { IngestLimits } from '../ingest/validate.ts';
import { LineSplitter, LineTooLongError, type Line } from './lines.ts';
import { ImportLineParser, detectFormat, type ImportFormat } from './openmetrics.ts';
import {
  fileFingerprint,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
  type FileCheckpoint,
} from './checkpoint.ts';
import type { ProgressReporter } from './progress.ts';

export interface FileImportOptions {
  readonly file: string;
  /** 'auto' (default): OpenMetrics when the file ends with "# EOF", else Prometheus text. */
  readonly format?: ImportFormat | 'auto';
  /** A fresh appender per batch: storage.appender(), or a RemoteWriteSink's. */
  readonly appender: () => Appender;
  /** Where the samples go, for the checkpoint: a resume must write to the same place. */
  readonly target: string;
  /** Samples per commit. Default 500,000 (fewer, larger inserts are much cheaper for ClickHouse). */
  readonly batchSize?: number;
  /** Default: FILE.vigil-import.json beside the file. */
  readonly checkpointPath?: string;
  readonly resume?: boolean;
  readonly onError?: 'stop' | 'skip';
  readonly limits?: IngestLimits;
  /** Retention of the target (ms, 0 = forever): samples older than it are counted for a warning. */
  readonly retentionMs?: number;
  readonly now?: () => number;
  readonly progress?: ProgressReporter;
  /** Receives each bad line (`FILE:LINE: message`) and warnings. */
  readonly report?: (line: string) => void;
  /** Aborting commits what was parsed, writes the checkpoint and returns 'interrupted'. */
  readonly signal?: AbortSignal;
  readonly chunkBytes?: number;
}

export interface FileImportResult {
  readonly status: 'done' | 'stopped' | 'interrupted';
  readonly format: ImportFormat;
  /** Samples committed by this and earlier (resumed) runs. */
  readonly samples: number;
  readonly samplesThisRun: number;
  readonly series: number;
  /** Bad lines skipped (onError 'skip'), over all runs. */
  readonly skipped: number;
  /** Last line read. */
  readonly lines: number;
  /** The line that stopped the import (status 'stopped'). */
  readonly error?: { readonly line: number; readonly message: string };
  /** A problem with the end of the file (OpenMetrics without "# EOF"); everything before it is imported. */
  readonly endProblem?: string;
  /** Samples older than the target's retention: they will be removed by retention. */
  readonly olderThanRetention: number;
  /** Set when there is something to resume (stopped, interrupted). */
  readonly checkpoint?: string;
  /** Where this run started (line 1 unless resumed). */
  readonly startLine: number;
}

/** A failure that ends the import (I/O, storage, checkpoint); the message says what is imported and how to go on. */
export class ImportError extends Error {
  override name = 'ImportError';
}

const DEFAULT_BATCH = 500_000;

export async function importFile(opts: FileImportOptions): Promise<FileImportResult> {
  const file = resolve(opts.file);
  const cpPath = resolve(opts.checkpointPath ?? `${file}.vigil-import.json`);
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const now = opts.now ?? Date.now;
  const report = opts.report ?? ((l: string) => opts.progress?.message(l));
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new ImportError(`cannot read ${opts.file}: ${(err as Error).message}`, { cause: err });
  }

  const existing = await readCheckpoint(cpPath);
  if (existing && existing.kind !== 'file')
    throw new ImportError(`${cpPath} is the checkpoint of a migration from Prometheus, not of a file import`);
  if (existing && !opts.resume)
    throw new ImportError(
      `an unfinished import of this file left a checkpoint (${cpPath}: ${existing.samples} samples imported, ` +
        `next line ${existing.line}). Continue it with --resume, or delete the checkpoint to start over ` +
        `(samples imported before would be written again).`,
    );
  if (!existing && opts.resume)
    throw new ImportError(`--resume: there is no checkpoint ${cpPath}, so there is nothing to resume`);

  let format: ImportFormat;
  if (existing) {
    if (existing.file !== file)
      throw new ImportError(`checkpoint ${cpPath} belongs to ${existing.file}, not to ${file}`);
    if (existing.target !== opts.target)
      throw new ImportError(
        `checkpoint ${cpPath} was written for an import into ${existing.target}; this run writes into ${opts.target}`,
      );
    if (opts.format && opts.format !== 'auto' && opts.format !== existing.format)
      throw new ImportError(
        `checkpoint ${cpPath} was written for format ${existing.format}, not ${opts.format}`,
      );
    if (size < existing.offset || (await fileFingerprint(file, existing.offset)) !== existing.fingerprint)
      throw new ImportError(
        `${opts.file} differs from the file the checkpoint ${cpPath} was written for in its first ${existing.line - 1} ` +
          `line(s), which are already imported; refusing to resume (delete the checkpoint to start over)`,
      );
    format = existing.format;
  } else if (opts.format && opts.format !== 'auto') format = opts.format;
  else format = detectFormat(await readTail(file, size));

  const parser = new ImportLineParser({ format, limits: opts.limits, now: now() });
  if (existing) parser.restore(existing.parser);
  const startOffset = existing?.offset ?? 0;
  const startLine = existing?.line ?? 1;
  const splitter = new LineSplitter(startOffset, startLine);
  const onError = opts.onError ?? 'stop';
  const tooOldBefore = opts.retentionMs ? now() - opts.retentionMs : -Infinity;

  const samplesBefore = existing?.samples ?? 0;
  let appended = 0; // samples appended by this run (committed or not)
  let skipped = existing?.skipped ?? 0;
  let olderThanRetention = 0;
  let app = opts.appender();
  let batchFirstLine = startLine;
  let inflight: Promise<void> | undefined;
  let inflightLines = '';
  let committedLine = startLine;
  let lastLine = startLine - 1;

  const progress = (done: number) =>
    opts.progress?.update({ done, total: size, unit: 'bytes', samples: samplesBefore + appended });

  let checkpointed = existing !== undefined;
  /** What the user can do after a failure, depending on whether anything is committed yet. */
  const howToGoOn = () =>
    checkpointed
      ? `Lines before ${committedLine} are imported; fix the cause and continue with --resume (checkpoint ${cpPath})`
      : 'Nothing was imported; fix the cause and run the same command again';

  /** Waits for the batch being written; a failure ends the import with what is safe to resume. */
  const settle = async () => {
    if (!inflight) return;
    const p = inflight;
    inflight = undefined;
    try {
      await p;
    } catch (err) {
      throw new ImportError(`writing ${inflightLines} failed: ${(err as Error).message}. ${howToGoOn()}`, {
        cause: err,
      });
    }
  };

  /** Commits the current batch (up to `offset`, the next line being `nextLine`) and then writes the checkpoint. */
  const cut = async (offset: number, nextLine: number) => {
    const batch = app;
    app = opts.appender();
    const cp: Omit<FileCheckpoint, 'fingerprint'> = {
      kind: 'file',
      version: 1,
      file,
      format,
      target: opts.target,
      offset,
      line: nextLine,
      samples: samplesBefore + appended,
      skipped,
      parser: parser.snapshot() as FileCheckpoint['parser'],
      updated_at: new Date(now()).toISOString(),
    };
    const lines = `lines ${batchFirstLine}-${nextLine - 1}`;
    batchFirstLine = nextLine;
    await settle();
    inflightLines = lines;
    inflight = batch.commit().then(async () => {
      await writeCheckpoint(cpPath, { ...cp, fingerprint: await fileFingerprint(file, offset) });
      checkpointed = true;
      committedLine = nextLine;
    });
    // Awaited (and its failure reported) by the next settle(); until then it must not count as unhandled.
    inflight.catch(() => undefined);
  };

  const result = (
    status: FileImportResult['status'],
    extra: Partial<FileImportResult> = {},
  ): FileImportResult => ({
    status,
    format,
    samples: samplesBefore + appended,
    samplesThisRun: appended,
    series: parser.seriesCount,
    skipped,
    lines: lastLine,
    olderThanRetention,
    startLine,
    ...extra,
  });

  /** Handles one line; returns an error message when the import must stop at it. */
  const handle = (line: Line): string | undefined => {
    lastLine = line.no;
    const kind = line.utf8 ? parser.line(line.text, line.no) : 'error';
    if (kind === 'sample') {
      app.append(parser.series.labels, parser.t, parser.v);
      appended++;
      if (parser.t < tooOldBefore) olderThanRetention++;
    } else if (kind === 'metadata') app.appendMetadata(parser.metric, parser.meta);
    else if (kind === 'error') {
      const message = line.utf8 ? parser.error : 'the line is not valid UTF-8';
      if (onError === 'stop') return message;
      skipped++;
      report(`${opts.file}:${line.no}: ${message} (line skipped)`);
    }
    return undefined;
  };

  const stopAt = async (line: Line, message: string) => {
    await cut(line.start, line.no);
    await settle();
    return result('stopped', { error: { line: line.no, message }, checkpoint: cpPath });
  };

  progress(startOffset);
  const stream = createReadStream(file, { start: startOffset, highWaterMark: opts.chunkBytes ?? 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parser.now = now();
      const lines = splitter.push(chunk);
      for (const line of lines) {
        const stop = handle(line);
        if (stop !== undefined) return await stopAt(line, stop);
        if (app.count >= batchSize) await cut(line.end, line.no + 1);
      }
      progress(splitter.position);
      if (opts.signal?.aborted) {
        await cut(splitter.position, splitter.nextLine);
        await settle();
        return result('interrupted', { checkpoint: cpPath });
      }
    }
    const tail = splitter.end();
    if (tail) {
      const stop = handle(tail);
      if (stop !== undefined) return await stopAt(tail, stop);
    }
    await cut(splitter.position, splitter.nextLine);
    await settle();
  } catch (err) {
    // Let the batch being written finish before reporting, so the checkpoint is as far as it can be.
    await settle().catch(() => undefined);
    if (err instanceof ImportError) throw err;
    if (err instanceof LineTooLongError)
      throw new ImportError(`${opts.file}: ${err.message}. ${howToGoOn()}`);
    throw new ImportError(
      `import of ${opts.file} failed near line ${lastLine}: ${(err as Error).message}. ${howToGoOn()}`,
      {
        cause: err,
      },
    );
  } finally {
    stream.destroy();
  }
  progress(size);
  await removeCheckpoint(cpPath);
  return result('done', { endProblem: parser.finish() });
}

/** The last bytes of a file, for format detection. */
async function readTail(path: string, size: number): Promise<string> {
  const n = Math.min(size, 256);
  const buf = Buffer.alloc(n);
  const fh = await open(path, 'r');
  try {
    await fh.read(buf, 0, n, size - n);
  } finally {
    await fh.close();
  }
  return buf.toString('utf8');
}
