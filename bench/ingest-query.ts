/**
 * Ingestion and query benchmark: Vigil side by side with Prometheus and VictoriaMetrics.
 *
 *   npx tsx bench/ingest-query.ts [--hours 24] [--interval 30] [--concurrency 8] [--runs 7]
 *                                 [--out docs/benchmarks.md] [--systems vigil,prometheus,victoriametrics]
 *                                 [--batch 2000] [--seed 42] [--vigil-config 'storage:\n  rollups: []']
 *
 * 1. Generates a seeded dataset (~10k series of a multi-service pipeline) and pre-encodes every
 *    remote-write 1.0 request (protobuf + snappy) before any clock starts.
 * 2. Per system: fresh data folder and port, sends the requests slice by slice in time order, measures
 *    samples/s, then flushes and measures bytes per sample on disk.
 * 3. Runs five dashboard range queries (median of --runs after one warm-up) and checks that Vigil and
 *    Prometheus agree on the answers.
 * 4. Prints the figures and writes them into a section of --out ("-" to skip).
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import snappy from 'snappy';
import { WriteRequest } from '../src/ingest/remotewrite/proto.ts';
import { compareMatrices, VALUE_TOLERANCE, type Matrix } from './lib/compare.ts';
import { Dataset } from './lib/dataset.ts';
import { encodeLabels, encodeWriteRequest } from './lib/remote-write.ts';
import {
  bytes,
  describeMachine,
  markdownTable,
  num,
  ratio,
  textTable,
  wrap,
  writeSection,
  type Cell,
} from './lib/report.ts';
import {
  du,
  inspectChdb,
  killAllChildren,
  peakRss,
  request,
  startPrometheus,
  startVictoriaMetrics,
  startVigil,
  tail,
  which,
  type DiskFigure,
  type StartContext,
  type System,
} from './lib/systems.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEADING = '## Ingestion and query (bench/ingest-query.ts)';

// ---------------------------------------------------------------------------------------------------
// Options

const { values: argv } = parseArgs({
  options: {
    hours: { type: 'string', default: '24' },
    interval: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '8' },
    runs: { type: 'string', default: '7' },
    out: { type: 'string', default: 'docs/benchmarks.md' },
    systems: { type: 'string', default: 'vigil,prometheus,victoriametrics' },
    batch: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '42' },
    'vigil-config': { type: 'string', default: '' },
  },
  strict: true,
});

function positive(name: string, v: string, integer = true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    process.stderr.write(
      `--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}\n`,
    );
    process.exit(2);
  }
  return n;
}

const HOURS = positive('hours', argv.hours, false);
const INTERVAL_S = positive('interval', argv.interval);
const CONCURRENCY = positive('concurrency', argv.concurrency);
const RUNS = positive('runs', argv.runs);
const BATCH = positive('batch', argv.batch);
const SEED = positive('seed', argv.seed);
const OUT = argv.out === '-' ? undefined : resolve(REPO, argv.out);
const KNOWN = ['vigil', 'prometheus', 'victoriametrics'];
const SYSTEMS = argv.systems
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
for (const s of SYSTEMS)
  if (!KNOWN.includes(s)) {
    process.stderr.write(`--systems: unknown system ${JSON.stringify(s)}; choose from ${KNOWN.join(', ')}\n`);
    process.exit(2);
  }
const COMMAND = ['npx tsx bench/ingest-query.ts', ...process.argv.slice(2)].join(' ');
/** YAML appended to Vigil's configuration, `\n` escapes allowed: `--vigil-config 'storage:\n  rollups: []'`. */
const VIGIL_CONFIG = argv['vigil-config'].replace(/\\n/g, '\n') + (argv['vigil-config'] ? '\n' : '');

// ---------------------------------------------------------------------------------------------------
// Clean-up: children and temp folders go away on every exit path.

const TMP = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
process.on('exit', () => {
  killAllChildren();
  rmSync(TMP, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping children and removing ${TMP}\n`);
    process.exit(130);
  });

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// Dataset and pre-encoded requests

interface Encoded {
  readonly dataset: Dataset;
  readonly endMs: number;
  readonly startMs: number;
  readonly steps: number;
  readonly stepsPerSlice: number;
  readonly seriesPerRequest: number;
  /** Requests per time slice; every slice only holds samples newer than the previous slice's. */
  readonly slices: Buffer[][];
  readonly samples: number;
  readonly rawBytes: number;
  readonly compressedBytes: number;
  readonly seconds: number;
}

function buildRequests(): Encoded {
  const t0 = performance.now();
  const intervalMs = INTERVAL_S * 1000;
  const endMs = Math.floor(Date.now() / intervalMs) * intervalMs;
  const steps = Math.max(2, Math.floor((HOURS * 3_600_000) / intervalMs));
  const startMs = endMs - (steps - 1) * intervalMs;
  const dataset = new Dataset({ seed: SEED, steps, intervalMs, startMs });
  const nSeries = dataset.series.length;
  // Several timestamps per slice so that one slice has enough requests to keep --concurrency busy;
  // each series appears in exactly one request per slice, so no sample can overtake an older one.
  const stepsPerSlice = Math.min(steps, Math.max(1, Math.ceil((2 * CONCURRENCY * BATCH) / nSeries)));
  const seriesPerRequest = Math.max(1, Math.floor(BATCH / stepsPerSlice));
  const labelBlocks = dataset.series.map(encodeLabels);
  const slices: Buffer[][] = [];
  let rawBytes = 0;
  let compressedBytes = 0;
  for (let first = 0; first < steps; first += stepsPerSlice) {
    const timestamps: number[] = [];
    const values: Float64Array[] = [];
    for (let k = first; k < Math.min(steps, first + stepsPerSlice); k++) {
      dataset.next();
      timestamps.push(startMs + k * intervalMs);
      values.push(Float64Array.from(dataset.values));
    }
    const slice: Buffer[] = [];
    for (let from = 0; from < nSeries; from += seriesPerRequest) {
      const raw = encodeWriteRequest(
        labelBlocks,
        from,
        Math.min(nSeries, from + seriesPerRequest),
        timestamps,
        values,
      );
      const body = snappy.compressSync(raw, { copyOutputData: true });
      rawBytes += raw.length;
      compressedBytes += body.length;
      slice.push(body);
    }
    slices.push(slice);
  }
  return {
    dataset,
    endMs,
    startMs,
    steps,
    stepsPerSlice,
    seriesPerRequest,
    slices,
    samples: nSeries * steps,
    rawBytes,
    compressedBytes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Decodes a request with Vigil's protobufjs definition to prove the hand-written encoder right. */
function checkAgainstProtobufjs(enc: Encoded): void {
  const body = enc.slices[0]![0]!;
  const raw = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
  const msg = WriteRequest.toObject(WriteRequest.decode(raw), { longs: Number }) as {
    timeseries: {
      labels: { name: string; value: string }[];
      samples: { value: number; timestamp: number }[];
    }[];
  };
  const first = msg.timeseries[0]!;
  const want = enc.dataset.series[0]!;
  const labelsOk = JSON.stringify(first.labels.map((l) => [l.name, l.value])) === JSON.stringify(want);
  const nSamples = msg.timeseries.reduce((a, ts) => a + ts.samples.length, 0);
  const wantSamples =
    Math.min(enc.seriesPerRequest, enc.dataset.series.length) * Math.min(enc.stepsPerSlice, enc.steps);
  const tsOk = first.samples[0]!.timestamp === enc.startMs;
  if (!labelsOk || nSamples !== wantSamples || !tsOk)
    throw new Error(
      `encoder self-check failed: labels ${labelsOk ? 'ok' : 'differ'}, samples ${nSamples}/${wantSamples}, first timestamp ${first.samples[0]!.timestamp} (want ${enc.startMs})`,
    );
}

// ---------------------------------------------------------------------------------------------------
// Ingestion

interface IngestResult {
  readonly seconds: number;
  readonly samplesPerSec: number;
  readonly requests: number;
  readonly failed: number;
  readonly retried: number;
  readonly failures: string[];
  readonly statusCounts: Record<string, number>;
}

const WRITE_HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
  'User-Agent': 'vigil-bench/ingest-query',
};

/**
 * Sends every slice in time order, the requests of one slice with `CONCURRENCY` in flight. Like a
 * Prometheus sender, retries 429/5xx answers (honouring Retry-After) up to 5 times; those count as
 * retried, and a request that never gets a 2xx counts as failed.
 */
async function ingest(sys: System, enc: Encoded, path: string): Promise<IngestResult> {
  const url = `${sys.baseUrl}${path}`;
  let failed = 0;
  let retried = 0;
  let requests = 0;
  const failures: string[] = [];
  const statusCounts: Record<string, number> = {};
  const sendOne = async (body: Buffer) => {
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let text = '';
      let retryAfterMs = 500 * 2 ** attempt;
      try {
        const r = await request(url, { method: 'POST', headers: WRITE_HEADERS, body, timeoutMs: 120_000 });
        status = r.status;
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        if (status >= 200 && status < 300) return;
        text = r.body.toString('utf8').trim().slice(0, 300);
        const ra = Number(r.headers['retry-after']);
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = Math.min(10_000, ra * 1000);
      } catch (err) {
        statusCounts['error'] = (statusCounts['error'] ?? 0) + 1;
        text = (err as Error).message;
      }
      if (!sys.running()) throw new Error(`${sys.name} exited during ingestion; see ${sys.logFile}`);
      const retryable = status === 0 || status === 429 || status >= 500;
      if (retryable && attempt < 5) {
        retried++;
        await sleep(retryAfterMs);
        continue;
      }
      failed++;
      if (failures.length < 5) failures.push(`HTTP ${status || 'error'}: ${text}`);
      return;
    }
  };
  const total = enc.slices.length;
  let nextReport = 0.1;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const slice = enc.slices[i]!;
    let next = 0;
    const worker = async () => {
      while (next < slice.length) {
        const body = slice[next++]!;
        requests++;
        await sendOne(body);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, slice.length) }, worker));
    if ((i + 1) / total >= nextReport) {
      const secs = (performance.now() - t0) / 1000;
      const done = ((i + 1) / total) * enc.samples;
      log(
        `  ${sys.name}: ${Math.round(((i + 1) / total) * 100)}% in ${secs.toFixed(1)} s (${num(done / secs)} samples/s so far)`,
      );
      nextReport += 0.1;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, samplesPerSec: enc.samples / seconds, requests, failed, retried, failures, statusCounts };
}

// ---------------------------------------------------------------------------------------------------
// Queries

const QUERIES = [
  'rate(http_requests_total{service="router"}[5m])',
  'sum by (service) (rate(http_requests_total[5m]))',
  'histogram_quantile(0.99, sum by (le, service) (rate(request_duration_seconds_bucket[5m])))',
  'topk(5, sum by (service, instance) (rate(http_requests_total[5m])))',
  'sum(rate(http_requests_total{code=~"5..", path=~"/api/.*"}[5m]))',
];

/**
 * Queries end 7.5 s after the last sample, as a dashboard's "now" would. Evaluation times and window bounds
 * then never coincide with a sample timestamp (samples sit on whole seconds), so Prometheus 2's closed
 * windows `[t - range, t]` and Prometheus 3's left-open ones `(t - range, t]` select the same samples and the
 * answers can be compared exactly whichever semantics a system follows.
 */
const QUERY_OFFSET_MS = 7_500;

interface RangeDef {
  readonly label: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepS: number;
}

function ranges(enc: Encoded): RangeDef[] {
  // The data covers `steps` intervals ending at endMs (its first sample sits one interval after the start).
  const span = enc.steps * INTERVAL_S * 1000;
  const fmt = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)}m`);
  return [
    { wantMs: 3_600_000, stepS: 15 },
    { wantMs: 86_400_000, stepS: 300 },
  ].map(({ wantMs, stepS }) => {
    const ms = Math.min(wantMs, span);
    const label =
      ms === wantMs ? `${fmt(ms)}, step ${stepS}s` : `${fmt(ms)} (of ${fmt(wantMs)}), step ${stepS}s`;
    const endMs = enc.endMs + QUERY_OFFSET_MS;
    return { label, startMs: endMs - ms, endMs, stepS };
  });
}

interface QueryFigure {
  readonly ms: number;
  readonly series: number;
  readonly result: Matrix[];
  readonly error?: string;
}

async function promQuery(
  sys: System,
  path: string,
  params: Record<string, string>,
): Promise<{ ms: number; body: string; status: number }> {
  const url = `${sys.baseUrl}${path}?${new URLSearchParams(params).toString()}`;
  const t0 = performance.now();
  const r = await request(url, { timeoutMs: 300_000 });
  const ms = performance.now() - t0;
  return { ms, body: r.body.toString('utf8'), status: r.status };
}

async function rangeQuery(sys: System, query: string, rg: RangeDef): Promise<QueryFigure> {
  const params = {
    query,
    start: String(rg.startMs / 1000),
    end: String(rg.endMs / 1000),
    step: String(rg.stepS),
  };
  const times: number[] = [];
  let last: { ms: number; body: string; status: number } | undefined;
  for (let i = 0; i <= RUNS; i++) {
    last = await promQuery(sys, '/api/v1/query_range', params);
    if (last.status !== 200) break;
    if (i > 0) times.push(last.ms); // run 0 is the warm-up
  }
  let parsed: { status?: string; error?: string; data?: { resultType?: string; result?: Matrix[] } } = {};
  try {
    parsed = JSON.parse(last!.body) as typeof parsed;
  } catch {
    // Reported below.
  }
  if (last!.status !== 200 || parsed.status !== 'success')
    return {
      ms: NaN,
      series: NaN,
      result: [],
      error: `HTTP ${last!.status}: ${parsed.error ?? last!.body.slice(0, 300)}`,
    };
  times.sort((a, b) => a - b);
  const result = parsed.data?.result ?? [];
  return { ms: times[Math.floor(times.length / 2)]!, series: result.length, result };
}

async function instantValue(sys: System, query: string, timeMs: number): Promise<number> {
  const r = await promQuery(sys, '/api/v1/query', { query, time: String(timeMs / 1000) });
  const body = JSON.parse(r.body) as {
    status: string;
    error?: string;
    data?: { result: { value: [number, string] }[] };
  };
  if (body.status !== 'success')
    throw new Error(`${sys.name}: ${query}: ${body.error ?? r.body.slice(0, 200)}`);
  const v = body.data?.result[0]?.value[1];
  return v === undefined ? 0 : Number(v);
}

// ---------------------------------------------------------------------------------------------------
// Per-system run

interface SystemRun {
  readonly name: string;
  readonly version: string;
  /** 1-minute load average just before sending: other work on the machine shows here. */
  readonly loadBefore: number;
  readonly ingest?: IngestResult;
  readonly disk?: DiskFigure;
  readonly peakRss?: number;
  /** Peak RSS reached by the end of ingestion (before any query). */
  readonly peakRssIngest?: number;
  readonly storedSeries?: number;
  readonly routerSamples?: number;
  readonly queries: Map<string, QueryFigure>;
  readonly notes: string[];
}

const qkey = (q: string, rg: RangeDef) => `${q}\u0000${rg.label}`;

async function runSystem(kind: string, enc: Encoded): Promise<SystemRun | { skipped: string; name: string }> {
  const ctx: StartContext = { dir: join(TMP, kind), repoRoot: REPO, log };
  const notes: string[] = [];
  const names: Record<string, string> = {
    vigil: 'Vigil',
    prometheus: 'Prometheus',
    victoriametrics: 'VictoriaMetrics',
  };
  let sys: System;
  try {
    if (kind === 'vigil') {
      sys = await startVigil(ctx, VIGIL_CONFIG);
    } else if (kind === 'prometheus') {
      const bin = which('prometheus');
      if (!bin)
        return {
          name: 'Prometheus',
          skipped: 'binary `prometheus` not on PATH (apt-get install -y prometheus)',
        };
      sys = await startPrometheus(ctx, bin);
    } else {
      const bin = which('victoria-metrics');
      if (!bin)
        return {
          name: 'VictoriaMetrics',
          skipped: 'binary `victoria-metrics` not on PATH (apt-get install -y victoria-metrics)',
        };
      sys = await startVictoriaMetrics(ctx, bin);
    }
  } catch (err) {
    const msg = (err as Error).message;
    log(`\n${names[kind]}: could not start: ${msg}`);
    return { name: names[kind]!, skipped: `could not start: ${msg.split('\n')[0]}` };
  }
  log(`\n${sys.name} ${sys.version} at ${sys.baseUrl} (data in ${sys.dataDir})`);
  const queries = new Map<string, QueryFigure>();
  try {
    const writePath = '/api/v1/write';
    const loadBefore = loadavg()[0]!;
    const result = await ingest(sys, enc, writePath);
    const peakRssIngest = peakRss(sys.pid);
    log(
      `  ${sys.name}: ${num(enc.samples)} samples in ${result.seconds.toFixed(1)} s = ${num(result.samplesPerSec)} samples/s; ` +
        `${result.requests} requests, ${result.failed} failed, ${result.retried} retried; statuses ${JSON.stringify(result.statusCounts)}`,
    );
    for (const f of result.failures) log(`  ${sys.name} failure: ${f}`);

    let disk = await sys.flushAndMeasure();
    log(`  ${sys.name}: ${bytes(disk.bytes)} on disk (${disk.method})`);
    for (const [k, v] of Object.entries(disk.extra ?? {})) log(`    ${k}: ${bytes(v)}`);

    // Everything sent should be there: every series now, and every router request-counter sample.
    const windowS = Math.round(enc.steps * INTERVAL_S);
    const storedSeries = await instantValue(sys, 'count({__name__=~".+"})', enc.endMs);
    const routerSamples = await instantValue(
      sys,
      `sum(count_over_time(http_requests_total{service="router"}[${windowS}s]))`,
      enc.endMs,
    );
    const routerSeries = enc.dataset.series.filter(
      (s) => s[0]![1] === 'http_requests_total' && s.some(([n, v]) => n === 'service' && v === 'router'),
    ).length;
    log(
      `  ${sys.name}: ${num(storedSeries)} of ${num(enc.dataset.series.length)} series present at the end; ` +
        `${num(routerSamples)} of ${num(routerSeries * enc.steps)} router request-counter samples`,
    );
    if (storedSeries !== enc.dataset.series.length)
      notes.push(
        `${sys.name}: count({__name__=~".+"}) = ${storedSeries}, expected ${enc.dataset.series.length}`,
      );
    if (routerSamples !== routerSeries * enc.steps)
      notes.push(
        `${sys.name}: router counter samples = ${routerSamples}, expected ${routerSeries * enc.steps}`,
      );

    for (const rg of ranges(enc))
      for (const q of QUERIES) {
        const fig = await rangeQuery(sys, q, rg);
        queries.set(qkey(q, rg), fig);
        if (fig.error) {
          log(`  ${sys.name}: ERROR ${q} [${rg.label}]: ${fig.error}`);
          notes.push(`${sys.name}: \`${q}\` over ${rg.label} failed: ${fig.error}`);
        } else
          log(
            `  ${sys.name}: ${fig.ms.toFixed(1).padStart(8)} ms  ${String(fig.series).padStart(4)} series  ${q} [${rg.label}]`,
          );
      }

    const rss = peakRss(sys.pid);
    await sys.stop();
    if (sys.name === 'Vigil') {
      // After a clean stop nothing is pending: read what ClickHouse counts as live parts.
      try {
        const chdb = join(sys.dataDir, 'clickhouse');
        const parts = inspectChdb(REPO, chdb);
        const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
        const extra = { ...disk.extra };
        for (const [t, b] of Object.entries(parts.active)) extra[`active parts, table ${t}`] = b;
        extra['all tables after OPTIMIZE FINAL'] = sum(parts.optimized);
        extra['du clickhouse/store after stop'] = du(join(chdb, 'store'));
        disk = {
          bytes: sum(parts.active),
          method:
            'after a clean stop, sum of bytes_on_disk of active parts of every table in the vigil database (system.parts, read with chDB)',
          extra,
        };
        log(
          `  Vigil after stop: ${bytes(disk.bytes)} in active parts of all tables; ${bytes(sum(parts.optimized))} after OPTIMIZE FINAL`,
        );
      } catch (err) {
        notes.push(
          `Vigil: reading system.parts after stop failed (${(err as Error).message.split('\n')[0]}); kept the du figure`,
        );
      }
    }
    return {
      name: sys.name,
      version: sys.version,
      loadBefore,
      ingest: result,
      disk,
      peakRss: rss,
      peakRssIngest,
      storedSeries,
      routerSamples,
      queries,
      notes,
    };
  } catch (err) {
    log(`  ${sys.name}: FAILED: ${(err as Error).stack ?? String(err)}`);
    log(`  last log lines of ${sys.name} (${sys.logFile}):\n${tail(sys.logFile, 30)}`);
    await sys.stop().catch(() => {});
    return { name: sys.name, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Wraps prose lines and list items at 110 columns; leaves headings, tables and code blocks alone. */
function wrapMarkdown(md: string): string {
  let fenced = false;
  return md
    .split('\n')
    .map((line) => {
      if (line.startsWith('```')) fenced = !fenced;
      if (
        fenced ||
        line.startsWith('```') ||
        line.startsWith('|') ||
        line.startsWith('#') ||
        line.length <= 110
      )
        return line;
      const item = /^(\s*- )/.exec(line)?.[1];
      if (!item) return wrap(line);
      const indent = ' '.repeat(item.length);
      return wrap(line.slice(item.length), 110 - item.length)
        .split('\n')
        .map((l, i) => (i === 0 ? item : indent) + l)
        .join('\n');
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const machine = describeMachine();
  const date = new Date().toISOString();
  log(`Vigil ingestion and query benchmark, ${date}`);
  log(
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memory} RAM, Node ${machine.node}, ${machine.os}`,
  );
  log(`Command: ${COMMAND}`);

  const enc = buildRequests();
  checkAgainstProtobufjs(enc);
  const nSeries = enc.dataset.series.length;
  const requestsTotal = enc.slices.reduce((a, s) => a + s.length, 0);
  const datasetLine =
    `${num(nSeries)} series × ${num(enc.steps)} timestamps (every ${INTERVAL_S} s over ${HOURS} h, ending ` +
    `${new Date(enc.endMs).toISOString()}) = ${num(enc.samples)} samples, seed ${SEED}`;
  const requestLine =
    `${num(requestsTotal)} remote-write 1.0 requests of ≤${num(enc.seriesPerRequest * enc.stepsPerSlice)} samples ` +
    `(${enc.seriesPerRequest} series × ${enc.stepsPerSlice} timestamps) in ${num(enc.slices.length)} time slices; ` +
    `${bytes(enc.rawBytes)} protobuf, ${bytes(enc.compressedBytes)} snappy; encoded in ${enc.seconds.toFixed(1)} s before timing`;
  log(`Dataset: ${datasetLine}`);
  log(`Requests: ${requestLine}`);

  const runs: SystemRun[] = [];
  const skipped: { name: string; skipped: string }[] = [];
  for (const kind of SYSTEMS) {
    const r = await runSystem(kind, enc);
    if ('skipped' in r) {
      log(`\n${r.name}: skipped — ${r.skipped}`);
      skipped.push(r);
    } else runs.push(r);
  }

  const vigil = runs.find((r) => r.name === 'Vigil');
  const prom = runs.find((r) => r.name === 'Prometheus');
  const vm = runs.find((r) => r.name === 'VictoriaMetrics');
  const notes = runs.flatMap((r) => r.notes);

  // Ingestion table.
  const ingestHeader = [
    'system',
    'samples/s',
    'seconds',
    'failed req.',
    'retried',
    'on disk',
    'bytes/sample',
    'peak RSS ingest',
    'peak RSS',
    'load before',
  ];
  const ingestRows: Cell[][] = runs.map((r) => [
    `${r.name} ${r.version}`,
    num(r.ingest!.samplesPerSec),
    r.ingest!.seconds.toFixed(1),
    `${r.ingest!.failed}/${r.ingest!.requests}`,
    r.ingest!.retried,
    bytes(r.disk?.bytes),
    r.disk ? (r.disk.bytes / enc.samples).toFixed(2) : '–',
    bytes(r.peakRssIngest),
    bytes(r.peakRss),
    r.loadBefore.toFixed(2),
  ]);
  const ratioLines: string[] = [];
  if (vigil)
    for (const peer of [prom, vm])
      if (peer)
        ratioLines.push(
          `Vigil / ${peer.name}: samples/s ${ratio(vigil.ingest!.samplesPerSec, peer.ingest!.samplesPerSec)}, ` +
            `bytes/sample ${ratio(vigil.disk?.bytes, peer.disk?.bytes)}, peak RSS ${ratio(vigil.peakRss, peer.peakRss)}`,
        );
  for (const r of runs)
    if (r.ingest!.failed)
      notes.push(`${r.name}: ${r.ingest!.failed} request(s) failed: ${r.ingest!.failures[0]}`);

  // Query table.
  const rgs = ranges(enc);
  const queryHeader = [
    'query',
    'range',
    'Vigil ms',
    'Prometheus ms',
    'VictoriaMetrics ms',
    'Vigil/Prometheus',
    'series V/P/VM',
  ];
  const queryRows: Cell[][] = [];
  /** Vigil-vs-Prometheus value differences below VALUE_TOLERANCE. */
  const smallDiffs: string[] = [];
  for (const rg of rgs)
    for (const q of QUERIES) {
      const f = (r: SystemRun | undefined) => r?.queries.get(qkey(q, rg));
      const [fv, fp, fm] = [f(vigil), f(prom), f(vm)];
      const ms = (x: QueryFigure | undefined) =>
        x === undefined ? '–' : x.error ? 'error' : x.ms.toFixed(1);
      const n = (x: QueryFigure | undefined) => (x === undefined || x.error ? '–' : String(x.series));
      queryRows.push([
        q,
        rg.label,
        ms(fv),
        ms(fp),
        ms(fm),
        ratio(fv?.ms, fp?.ms),
        `${n(fv)}/${n(fp)}/${n(fm)}`,
      ]);
      if (fv && fp && !fv.error && !fp.error) {
        if (fv.series !== fp.series)
          notes.push(
            `series counts differ for \`${q}\` over ${rg.label}: Vigil ${fv.series}, Prometheus ${fp.series}`,
          );
        const cmp = compareMatrices(fv.result, fp.result);
        if (cmp.problems) notes.push(`Vigil vs Prometheus, \`${q}\` over ${rg.label}: ${cmp.problems}`);
        else if (cmp.maxRel > 1e-9)
          smallDiffs.push(
            `\`${q}\` over ${rg.label}: up to ${(cmp.maxRel * 100).toPrecision(2)}% (${cmp.worst})`,
          );
      }
    }
  const medians = (r: SystemRun | undefined) =>
    r ? [...r.queries.values()].filter((x) => !x.error).map((x) => x.ms) : [];
  const geo = (xs: number[]) =>
    xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : NaN;
  const allOk = (r: SystemRun | undefined) =>
    r !== undefined && [...r.queries.values()].every((x) => !x.error);
  const geoLine =
    vigil && prom && allOk(vigil) && allOk(prom)
      ? `Geometric mean of the medians: Vigil ${geo(medians(vigil)).toFixed(1)} ms, Prometheus ${geo(medians(prom)).toFixed(1)} ms (${ratio(geo(medians(vigil)), geo(medians(prom)))})` +
        (vm && allOk(vm) ? `, VictoriaMetrics ${geo(medians(vm)).toFixed(1)} ms` : '')
      : undefined;

  // Stdout.
  log('\n== Ingestion ==');
  log(textTable(ingestHeader, ingestRows));
  for (const l of ratioLines) log(l);
  log(`\n== Query latency (median of ${RUNS} runs after one warm-up) ==`);
  log(textTable(queryHeader, queryRows));
  if (geoLine) log(geoLine);
  for (const s of skipped) log(`${s.name}: skipped — ${s.skipped}`);
  const smallNote =
    "Differences this small are listed, not warned about: Debian's Prometheus is 2.42, while Vigil follows " +
    "Prometheus 3 (including 2.52's change to where rate() stops extrapolating towards a counter's zero point), " +
    'which can move points where a counter starts or resets inside a window';
  if (smallDiffs.length) {
    log(`Small value differences (below ${VALUE_TOLERANCE * 100}%, see note):`);
    for (const d of smallDiffs) log(`  ${d}`);
    log(`  Note: ${smallNote}.`);
  }
  for (const n of notes) log(`WARNING: ${n}`);

  if (!OUT) return;
  const diskLines = runs.flatMap((r) => [
    `- ${r.name}: ${r.disk?.method ?? 'not measured'}.`,
    ...Object.entries(r.disk?.extra ?? {}).map(([k, v]) => `  - ${k}: ${bytes(v)}`),
  ]);
  const md = [
    HEADING,
    '',
    `Run on ${date.slice(0, 16).replace('T', ' ')} UTC with:`,
    '',
    '```',
    COMMAND,
    '```',
    '',
    `Machine: ${machine.cores} cores (\`nproc\`), ${machine.cpu}, ${machine.memory} RAM, Node ${machine.node}, ${machine.os}. ` +
      'Each system ran alone on loopback with a fresh data folder, one after the other, on the same pre-encoded requests; the ' +
      'benchmark client ran on the same cores. "load before" is the 1-minute load average just before sending; other ' +
      'work on the machine during a run shows there and makes figures less comparable.',
    '',
    `Dataset: ${datasetLine}. Ten services (ingest, validate, enrich, router, email, sms, push, webhook, gateway, monitor) ` +
      `× 6 instances; per instance \`http_requests_total{service,instance,path,method,code}\` (4 paths × 2 methods × 6 codes), ` +
      'classic histograms `request_duration_seconds_bucket{le}` (12 buckets) with `_sum` and `_count` per path and method, ' +
      'and gauges (`queue_depth`, `process_resident_memory_bytes`, `process_open_fds`, `worker_utilization_ratio`, ' +
      '`cache_hit_ratio`) plus `process_cpu_seconds_total`. Counters grow by Poisson increments following a daily ' +
      'curve, with one 30-minute incident per service (more 5xx, slower) and some instance restarts (counter resets); ' +
      'gauges random-walk with 2 decimals; buckets are cumulative and match `_count`.',
    '',
    `Requests: ${requestLine}. Sent slice by slice in time order, ${CONCURRENCY} requests in flight, to \`/api/v1/write\`; ` +
      'a 429/5xx answer is retried like a Prometheus sender would (counted as retried).',
    '',
    '### Ingestion',
    '',
    markdownTable(ingestHeader, ingestRows),
    '',
    ...ratioLines.map((l) => `- ${l}`),
    '',
    'Bytes on disk, measured after flushing:',
    '',
    ...diskLines,
    '',
    `### Query latency (median of ${RUNS} runs after one warm-up)`,
    '',
    `Range queries ending ${QUERY_OFFSET_MS / 1000} s after the last sample, so that no window bound falls on a sample ` +
      '(Prometheus 2.x windows include their lower bound, Prometheus 3.x and Vigil exclude it). ' +
      'VictoriaMetrics ran with `-search.latencyOffset=0 -search.disableCache`; ' +
      "its `rate` does not extrapolate like Prometheus's, so only its timings and series counts are comparable.",
    '',
    markdownTable(
      queryHeader,
      queryRows.map(([q, ...rest]) => [`\`${q}\``, ...rest]),
      2,
    ),
    '',
    ...(geoLine ? [geoLine + '.', ''] : []),
    ...(skipped.length ? ['Skipped:', '', ...skipped.map((s) => `- ${s.name}: ${s.skipped}`), ''] : []),
    ...(smallDiffs.length
      ? [
          `Vigil and Prometheus answers differ slightly (below ${VALUE_TOLERANCE * 100}%) in: ${smallDiffs.join('; ')}. ${smallNote}.`,
          '',
        ]
      : []),
    ...(notes.length
      ? ['Warnings from this run:', '', ...notes.map((n) => `- ${n}`), '']
      : [
          `No warnings: all requests got 2xx and all series and samples were found${vigil && prom ? `; Vigil's answers matched Prometheus's (same series and points, values within ${VALUE_TOLERANCE * 100}%)` : ''}.`,
          '',
        ]),
  ].join('\n');
  writeSection(OUT, HEADING, wrapMarkdown(md));
  log(`\nWrote section "${HEADING.slice(3)}" of ${OUT}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
