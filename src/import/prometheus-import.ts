/**
 * Migration from a running Prometheus through its remote-read API (POST /api/v1/read). Vigil asks for
 * STREAMED_XOR_CHUNKS first (frames of XOR chunks, decoded as they arrive: far less memory and bandwidth than
 * one big SAMPLES response on Prometheus's side) and takes SAMPLES when the server answers with that. The time range is read in windows (2 h by default, like Prometheus's blocks), each window's samples are
 * appended and committed, and a checkpoint records the next window so that `resume` continues there.
 * Metric metadata (TYPE, HELP, UNIT) comes from /api/v1/metadata.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { labelsKey, METRIC_NAME, type Labels } from '../model/labels.ts';
import type { Matcher } from '../model/matcher.ts';
import { isMetricType } from '../model/metric-type.ts';
import type { Appender, MetricMetadata } from '../store/interface.ts';
import { VERSION } from '../version.ts';
import { readCheckpoint, removeCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { ImportError } from './file-import.ts';
import type { ProgressReporter } from './progress.ts';
import {
  RemoteReadProtocolError,
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadResponse,
  encodeReadRequest,
  snappyCompress,
  snappyDecompress,
  type ReadSeries,
} from './remoteread/codec.ts';
import { ChunkedResponseDecoder } from './remoteread/chunked.ts';

export interface PrometheusImportOptions {
  /** Base URL of Prometheus, e.g. http://127.0.0.1:9090. */
  readonly url: string;
  /** Inclusive range in ms. */
  readonly start: number;
  readonly end: number;
  /** Series selectors as written (recorded in the checkpoint) and as matcher lists. */
  readonly selectors: readonly string[];
  readonly matcherSets: readonly (readonly Matcher[])[];
  /** Window length in ms. Default 2 h. */
  readonly windowMs?: number;
  readonly appender: () => Appender;
  readonly target: string;
  /** Default: vigil-import-<hash of the parameters>.checkpoint.json in the working directory. */
  readonly checkpointPath?: string;
  readonly resume?: boolean;
  readonly progress?: ProgressReporter;
  readonly report?: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** Largest decompressed response accepted (for streamed responses: the whole body). Default 1 GiB. */
  readonly maxResponseBytes?: number;
  /** Response types asked for, in order of preference. Default STREAMED_XOR_CHUNKS, then SAMPLES. */
  readonly responseTypes?: readonly number[];
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PrometheusImportResult {
  readonly status: 'done' | 'interrupted';
  readonly samples: number;
  readonly samplesThisRun: number;
  readonly series: number;
  readonly windows: number;
  readonly checkpoint?: string;
}

const DEFAULT_WINDOW = 2 * 3600_000;
const ATTEMPTS = 5;
/** Largest frame of a streamed response accepted (Prometheus's own client allows 50 MB; frames are ~1 MiB). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export function defaultMigrationCheckpoint(
  url: string,
  start: number,
  end: number,
  selectors: readonly string[],
) {
  const h = createHash('sha256')
    .update(JSON.stringify([url, start, end, selectors]))
    .digest('hex')
    .slice(0, 12);
  return resolve(`vigil-import-${h}.checkpoint.json`);
}

export async function importFromPrometheus(opts: PrometheusImportOptions): Promise<PrometheusImportResult> {
  const windowMs = opts.windowMs ?? DEFAULT_WINDOW;
  const cpPath = resolve(
    opts.checkpointPath ?? defaultMigrationCheckpoint(opts.url, opts.start, opts.end, opts.selectors),
  );
  const fetchFn = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const report = opts.report ?? ((l: string) => opts.progress?.message(l));
  const readUrl = new URL('/api/v1/read', opts.url).toString();

  const existing = await readCheckpoint(cpPath);
  if (existing && existing.kind !== 'prometheus')
    throw new ImportError(`${cpPath} is the checkpoint of a file import, not of a migration from Prometheus`);
  if (existing && !opts.resume)
    throw new ImportError(
      `an unfinished migration with these parameters left a checkpoint (${cpPath}: ${existing.samples} samples, ` +
        `continuing at ${new Date(existing.next).toISOString()}). Continue it with --resume, or delete the checkpoint to start over.`,
    );
  if (!existing && opts.resume)
    throw new ImportError(`--resume: there is no checkpoint ${cpPath}, so there is nothing to resume`);
  if (existing) {
    const same =
      existing.url === opts.url &&
      existing.start === opts.start &&
      existing.end === opts.end &&
      existing.window_ms === windowMs &&
      JSON.stringify(existing.selectors) === JSON.stringify(opts.selectors);
    if (!same)
      throw new ImportError(
        `checkpoint ${cpPath} was written for other parameters (${existing.url}, ${new Date(existing.start).toISOString()} ` +
          `to ${new Date(existing.end).toISOString()}, window ${existing.window_ms} ms, selectors ${existing.selectors.join(' ')})`,
      );
    if (existing.target !== opts.target)
      throw new ImportError(
        `checkpoint ${cpPath} was written for an import into ${existing.target}, not ${opts.target}`,
      );
  }

  const metadata = await fetchMetadata(opts.url, fetchFn).catch((err: Error) => {
    report(
      `warning: cannot read metric metadata from ${opts.url}/api/v1/metadata (${err.message}); importing samples without TYPE/HELP`,
    );
    return new Map<string, MetricMetadata>();
  });

  const total = Math.max(1, Math.ceil((opts.end - opts.start + 1) / windowMs));
  const samplesBefore = existing?.samples ?? 0;
  let next = existing?.next ?? opts.start;
  let samples = 0;
  /** One label object per series across windows: storage appenders recognise a series by it. */
  const known = new Map<string, Labels>();
  const windowIndex = (t: number) => Math.floor((t - opts.start) / windowMs);
  const progress = () =>
    opts.progress?.update({
      done: Math.min(total, windowIndex(next)),
      total,
      unit: 'windows',
      samples: samplesBefore + samples,
      note: next <= opts.end ? `at ${new Date(next).toISOString()}` : undefined,
    });
  progress();

  while (next <= opts.end) {
    if (opts.signal?.aborted)
      return {
        status: 'interrupted',
        samples: samplesBefore + samples,
        samplesThisRun: samples,
        series: known.size,
        windows: windowIndex(next),
        checkpoint: cpPath,
      };
    const wEnd = Math.min(next + windowMs - 1, opts.end);
    const results = await readWindow(next, wEnd);
    const app = opts.appender();
    const seen = new Set<string>();
    const names = new Set<string>();
    let n = 0;
    for (const series of results.flat()) {
      const key = labelsKey(series.labels);
      if (seen.has(key)) continue; // matched by more than one selector
      seen.add(key);
      let labels = known.get(key);
      if (!labels) known.set(key, (labels = series.labels));
      names.add(labels[METRIC_NAME] ?? '');
      for (let i = 0; i < series.t.length; i++) app.append(labels, series.t[i]!, series.v[i]!);
      n += series.t.length;
    }
    // Metadata of the families in this window (storage skips entries it already has unchanged).
    for (const [metric, m] of familiesOf(names, metadata)) app.appendMetadata(metric, m);
    try {
      await app.commit();
    } catch (err) {
      throw new ImportError(
        `writing the samples of ${new Date(next).toISOString()} to ${new Date(wEnd).toISOString()} failed: ${(err as Error).message}. ` +
          `Earlier windows are imported; continue with --resume (checkpoint ${cpPath})`,
        { cause: err },
      );
    }
    samples += n;
    next = wEnd + 1;
    await writeCheckpoint(cpPath, {
      kind: 'prometheus',
      version: 1,
      url: opts.url,
      selectors: [...opts.selectors],
      start: opts.start,
      end: opts.end,
      window_ms: windowMs,
      target: opts.target,
      next,
      samples: samplesBefore + samples,
      updated_at: new Date().toISOString(),
    });
    progress();
  }
  await removeCheckpoint(cpPath);
  return {
    status: 'done',
    samples: samplesBefore + samples,
    samplesThisRun: samples,
    series: known.size,
    windows: total,
  };

  async function readWindow(start: number, end: number): Promise<ReadSeries[][]> {
    const queries = opts.matcherSets.map((matchers) => ({ start, end, matchers }));
    const body = snappyCompress(
      encodeReadRequest(queries, opts.responseTypes ?? [STREAMED_XOR_CHUNKS, SAMPLES]),
    );
    const what = `remote read of ${new Date(start).toISOString()} to ${new Date(end).toISOString()} from ${readUrl}`;
    let lastErr = '';
    let delay = 500;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let res: Response;
      try {
        res = await fetchFn(readUrl, {
          method: 'POST',
          body: new Uint8Array(body),
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'accept-encoding': 'snappy',
            'x-prometheus-remote-read-version': '0.1.0',
            'user-agent': `vigil-import/${VERSION}`,
          },
        });
      } catch (err) {
        lastErr = `cannot reach ${readUrl}: ${(err as Error).message}`;
        await sleep(delay);
        delay *= 2;
        continue;
      }
      const maxResponseBytes = opts.maxResponseBytes ?? 1 << 30;
      const ct = res.headers.get('content-type') ?? '';
      if (res.ok && ct.startsWith('application/x-streamed-protobuf')) {
        if (!ct.includes('proto=prometheus.ChunkedReadResponse'))
          throw new ImportError(
            `${what}: unexpected Content-Type ${JSON.stringify(ct)} (expected proto=prometheus.ChunkedReadResponse)`,
          );
        const decoder = new ChunkedResponseDecoder(queries, {
          maxFrameBytes: MAX_FRAME_BYTES,
          maxBytes: maxResponseBytes,
        });
        const reader = res.body?.getReader();
        try {
          if (reader)
            for (let r = await reader.read(); !r.done; r = await reader.read()) decoder.push(r.value);
        } catch (err) {
          await reader?.cancel().catch(() => {}); // close the connection rather than drain a bad stream
          if (err instanceof RemoteReadProtocolError)
            throw new ImportError(`${what}: streamed response: ${err.message}`, { cause: err });
          // The connection broke mid-stream: the window is read again.
          lastErr = `the streamed response broke off: ${(err as Error).message}`;
          await sleep(delay);
          delay *= 2;
          continue;
        }
        try {
          return decoder.finish();
        } catch (err) {
          throw new ImportError(`${what}: streamed response: ${(err as Error).message}`, { cause: err });
        }
      }
      const raw = new Uint8Array(await res.arrayBuffer());
      if (!res.ok) {
        const text = Buffer.from(raw).toString('utf8').trim();
        if (res.status < 500 && res.status !== 429)
          throw new ImportError(
            `${what}: Prometheus answered ${res.status}: ${text}` +
              (/limit|more than|too many/i.test(text) ? ' (use a smaller --window)' : ''),
          );
        lastErr = `Prometheus answered ${res.status}: ${text}`;
        await sleep(delay);
        delay *= 2;
        continue;
      }
      if (!ct.startsWith('application/x-protobuf'))
        throw new ImportError(
          `${what}: unexpected Content-Type ${JSON.stringify(ct)} (expected application/x-protobuf or application/x-streamed-protobuf); is ${opts.url} a Prometheus server?`,
        );
      let results: ReadSeries[][];
      try {
        results = decodeReadResponse(snappyDecompress(raw, maxResponseBytes, 'response'));
      } catch (err) {
        throw new ImportError(`${what}: ${(err as Error).message}`, { cause: err });
      }
      if (results.length !== queries.length)
        throw new ImportError(`${what}: ${results.length} results for ${queries.length} queries`);
      return results;
    }
    throw new ImportError(`${what}: ${lastErr} (gave up after ${ATTEMPTS} attempts)`);
  }
}

const SUFFIXES = ['', '_total', '_bucket', '_count', '_sum', '_created', '_info', '_gcount', '_gsum'];

/** Metric metadata as Prometheus's /api/v1/metadata reports it (first entry per name). */
async function fetchMetadata(url: string, fetchFn: typeof fetch): Promise<Map<string, MetricMetadata>> {
  const res = await fetchFn(new URL('/api/v1/metadata', url).toString());
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = (await res.json()) as {
    data?: Record<string, { type?: string; help?: string; unit?: string }[]>;
  };
  const out = new Map<string, MetricMetadata>();
  for (const [name, list] of Object.entries(body.data ?? {})) {
    const m = list[0];
    if (!m) continue;
    const type = m.type !== undefined && isMetricType(m.type) ? m.type : 'unknown';
    out.set(name, { type, help: m.help ?? '', unit: m.unit ?? '' });
  }
  return out;
}

/** The metadata of the families the imported metric names belong to. */
function familiesOf(names: Set<string>, metadata: Map<string, MetricMetadata>): [string, MetricMetadata][] {
  const out: [string, MetricMetadata][] = [];
  for (const [family, m] of metadata) if (SUFFIXES.some((s) => names.has(family + s))) out.push([family, m]);
  return out;
}
