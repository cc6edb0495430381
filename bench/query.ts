/**
 * Dashboard query benchmark: Vigil side by side with Prometheus on the same data.
 *
 *   npx tsx bench/query.ts [--days 30] [--history-interval 300] [--recent-hours 24] [--interval 15]
 *                          [--runs 9] [--seed 42] [--out docs/benchmarks.md] [--systems vigil,prometheus]
 *                          [--baseline] [--baseline-runs 3] [--keep] [--head-window 2h]
 *                          [--vigil-data <dir> --now <ms>]
 *
 * 1. Builds one seeded dataset (~10k series of a multi-service pipeline): the last `--recent-hours` at
 *    `--interval` seconds, and before that, back to `--days`, a coarser history at `--history-interval`.
 *    Samples sit 7.5 s off the 15 s grid, so no window bound of the aligned queries falls on a sample
 *    (Prometheus 2.x windows include their start, Prometheus 3.x and Vigil exclude it).
 * 2. Vigil: writes it through Vigil's storage into a data folder (a child process), then starts Vigil there
 *    (rollups are created and backfilled at that start); Prometheus: sends it over remote-write in time order.
 * 3. Runs ten dashboard queries over 1 h, 24 h and 7 d, and over 30 d, aligned to their step as Grafana sends
 *    them: one warm-up, then `--runs` timed runs each; reports median and p95 (nearest rank) per system, and
 *    checks that Vigil's answers match Prometheus's. With `--baseline`, also runs Vigil with
 *    `query.pushdown: false` (every sample read and evaluated in JS, as before pushdown and rollups).
 * 4. Prints the figures and writes them into a section of --out ("-" to skip).
 *
 * `--head-window` is Vigil's `storage.head_window` (recent samples held in memory; 0 for none).
 * `--vigil-data` reuses the Vigil data folder of an earlier run kept with `--keep` (its `vigil-data` folder),
 * with that run's `--now` (printed as "ending ..."), instead of loading the dataset again.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import snappy from 'snappy';
import { compareMatrices, type Matrix } from './lib/compare.ts';
import { Dataset } from './lib/dataset.ts';
import { scheduleTimes, type TimeSegment } from './lib/load-vigil.ts';
import { encodeLabels, encodeWriteRequest } from './lib/remote-write.ts';
import {
  bytes,
  describeMachine,
  markdownTable,
  num,
  ratio,
  textTable,
  writeSection,
  type Cell,
} from './lib/report.ts';
import {
  killAllChildren,
  peakRss,
  request,
  startPrometheus,
  startVigil,
  tail,
  which,
  type System,
} from './lib/systems.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEADING = '## Dashboard queries (bench/query.ts)';

const { values: argv } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    'history-interval': { type: 'string', default: '300' },
    'recent-hours': { type: 'string', default: '24' },
    interval: { type: 'string', default: '15' },
    runs: { type: 'string', default: '9' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: 'docs/benchmarks.md' },
    systems: { type: 'string', default: 'vigil,prometheus' },
    baseline: { type: 'boolean', default: false },
    'baseline-runs': { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    'head-window': { type: 'string', default: '2h' },
    'vigil-data': { type: 'string' },
    now: { type: 'string' },
  },
  strict: true,
});

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`--${name} must be a positive integer, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

const DAYS = positive('days', argv.days);
const HISTORY_S = positive('history-interval', argv['history-interval']);
const RECENT_H = positive('recent-hours', argv['recent-hours']);
const INTERVAL_S = positive('interval', argv.interval);
const RUNS = positive('runs', argv.runs);
const SEED = positive('seed', argv.seed);
const BASELINE_RUNS = positive('baseline-runs', argv['baseline-runs']);
const OUT = argv.out === '-' ? undefined : resolve(REPO, argv.out);
const SYSTEMS = argv.systems.split(',').map((s) => s.trim().toLowerCase());
for (const s of SYSTEMS)
  if (s !== 'vigil' && s !== 'prometheus') {
    process.stderr.write(`--systems: unknown system ${JSON.stringify(s)}; choose from vigil, prometheus\n`);
    process.exit(2);
  }
if (RECENT_H >= DAYS * 24) {
  process.stderr.write('--recent-hours must be shorter than --days\n');
  process.exit(2);
}
const COMMAND = ['npx tsx bench/query.ts', ...process.argv.slice(2)].join(' ');

const TMP = mkdtempSync(join(tmpdir(), 'vigil-bench-query-'));
process.on('exit', () => {
  killAllChildren();
  if (!argv.keep) rmSync(TMP, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping children\n`);
    process.exit(130);
  });

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const HOUR = 3_600_000;
/** Vigil's rollups in this benchmark (rollups are off by default): in its configuration and for the loader. */
const ROLLUPS = ['5m, retention: 90d', '1h, retention: 2y'];
const ROLLUP_SPECS = [
  { resolutionMs: 300_000, retentionMs: 90 * 86_400_000 },
  { resolutionMs: HOUR, retentionMs: 730 * 86_400_000 },
];

// ---------------------------------------------------------------------------------------------------
// Data

/** The query "now": a whole hour, so that every range below starts and ends on its step. */
const NOW = argv.now !== undefined ? positive('now', argv.now) : Math.floor(Date.now() / HOUR) * HOUR;
if (NOW % HOUR !== 0) {
  process.stderr.write(`--now must be a whole hour in milliseconds, got ${argv.now}\n`);
  process.exit(2);
}
if (argv['vigil-data'] !== undefined && argv.now === undefined) {
  process.stderr.write('--vigil-data needs the --now of the run that loaded it\n');
  process.exit(2);
}
const HEAD_WINDOW = argv['head-window'];
if (!/^(0|\d+[smhd])$/.test(HEAD_WINDOW)) {
  process.stderr.write(
    `--head-window must be a duration like 2h, or 0, got ${JSON.stringify(HEAD_WINDOW)}\n`,
  );
  process.exit(2);
}
/** Samples sit 7.5 s before the 15 s grid points (and the 5 min ones of the history). */
const OFFSET_MS = 7_500;

function segments(): TimeSegment[] {
  const recentStart = NOW - RECENT_H * HOUR;
  const historyStart = NOW - DAYS * 24 * HOUR;
  const h = HISTORY_S * 1000;
  const r = INTERVAL_S * 1000;
  const historySteps = Math.floor((recentStart - historyStart) / h);
  const recentSteps = Math.floor((NOW - recentStart) / r);
  return [
    { startMs: historyStart + h - OFFSET_MS, intervalMs: h, steps: historySteps },
    { startMs: recentStart + r - OFFSET_MS, intervalMs: r, steps: recentSteps },
  ];
}

const SEGMENTS = segments();
const TIMES = scheduleTimes(SEGMENTS);
const probe = new Dataset({ seed: SEED, steps: 1, intervalMs: INTERVAL_S * 1000, startMs: TIMES[0]! });
const SERIES = probe.series.length;
const SAMPLES = SERIES * TIMES.length;

// ---------------------------------------------------------------------------------------------------
// Queries

/** Ten dashboard panels; `$w` is the rate/aggregation window of the range they are shown over. */
const PANELS = [
  'sum by (service) (rate(http_requests_total[$w]))',
  'sum by (service) (rate(http_requests_total{code=~"5.."}[$w])) / sum by (service) (rate(http_requests_total[$w]))',
  'histogram_quantile(0.99, sum by (le, service) (rate(request_duration_seconds_bucket[$w])))',
  'sum by (service) (rate(request_duration_seconds_sum[$w])) / sum by (service) (rate(request_duration_seconds_count[$w]))',
  'topk(5, sum by (service, instance) (rate(http_requests_total[$w])))',
  'sum(rate(http_requests_total{code=~"5..", path=~"/api/.*"}[$w]))',
  'max by (service) (queue_depth{queue="inbound"})',
  'avg by (service) (avg_over_time(worker_utilization_ratio[$w]))',
  'sum by (service) (process_resident_memory_bytes)',
  'max by (service) (max_over_time(process_open_fds[$w]))',
];

interface RangeDef {
  readonly label: string;
  readonly spanMs: number;
  readonly stepS: number;
  readonly window: string;
}

const RANGES: RangeDef[] = [
  { label: '1h', spanMs: HOUR, stepS: 15, window: '5m' },
  { label: '24h', spanMs: 24 * HOUR, stepS: 300, window: '5m' },
  { label: '7d', spanMs: 7 * 24 * HOUR, stepS: 3600, window: '1h' },
  { label: '30d', spanMs: 30 * 24 * HOUR, stepS: 6 * 3600, window: '6h' },
].filter((r) => r.spanMs <= DAYS * 24 * HOUR);

interface Timing {
  readonly median: number;
  readonly p95: number;
  readonly series: number;
  readonly result: Matrix[];
  readonly error?: string;
}

const key = (q: string, r: RangeDef) => `${r.label}\u0000${q}`;

async function timeQuery(sys: System, query: string, r: RangeDef, runs: number): Promise<Timing> {
  const params = new URLSearchParams({
    query,
    start: String((NOW - r.spanMs) / 1000),
    end: String(NOW / 1000),
    step: String(r.stepS),
  });
  const url = `${sys.baseUrl}/api/v1/query_range?${params.toString()}`;
  const times: number[] = [];
  let body = '';
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const res = await request(url, { timeoutMs: 600_000 });
    const ms = performance.now() - t0;
    body = res.body.toString('utf8');
    if (res.status !== 200)
      return {
        median: NaN,
        p95: NaN,
        series: NaN,
        result: [],
        error: `HTTP ${res.status}: ${body.slice(0, 300)}`,
      };
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const result = (JSON.parse(body) as { data: { result: Matrix[] } }).data.result;
  return {
    median: times[Math.floor((times.length - 1) / 2)]!,
    p95: times[Math.ceil(0.95 * times.length) - 1]!,
    series: result.length,
    result,
  };
}

// ---------------------------------------------------------------------------------------------------
// Systems

interface Run {
  readonly name: string;
  readonly version: string;
  readonly timings: Map<string, Timing>;
  readonly loadSeconds: number;
  readonly startSeconds: number;
  readonly peakRss?: number;
  readonly loadBefore: number;
  readonly notes: string[];
}

async function runQueries(
  sys: System,
  name: string,
  runs = RUNS,
  ranges = RANGES,
): Promise<Map<string, Timing>> {
  const timings = new Map<string, Timing>();
  for (const r of ranges)
    for (const panel of PANELS) {
      const q = panel.replaceAll('$w', r.window);
      const t = await timeQuery(sys, q, r, runs);
      timings.set(key(q, r), t);
      log(
        t.error
          ? `  ${name}: ERROR [${r.label}] ${q}: ${t.error}`
          : `  ${name}: ${t.median.toFixed(1).padStart(8)} ms median, ${t.p95.toFixed(1).padStart(8)} ms p95, ${String(t.series).padStart(3)} series  [${r.label}] ${q}`,
      );
    }
  return timings;
}

/** Runs the child that writes the dataset into a Vigil data folder and backfills the rollups. */
function loadVigil(dataDir: string): Promise<{ seconds: number; rollupSeconds: number }> {
  return new Promise((res, rej) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO, 'bench/lib/load-vigil.ts'),
        JSON.stringify({ dataDir, seed: SEED, times: SEGMENTS, rollups: ROLLUP_SPECS }),
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let last = '';
    child.stdout.on('data', (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n').filter(Boolean)) {
        if (line.startsWith('{')) last = line;
        else log(`  Vigil load:${line}`);
      }
    });
    child.on('exit', (code) => {
      if (code !== 0) rej(new Error(`loading Vigil's data failed (exit code ${code})`));
      else res(JSON.parse(last) as { seconds: number; rollupSeconds: number });
    });
  });
}

async function runVigil(dataDir: string, baseline: boolean, loadSeconds: number): Promise<Run> {
  const name = baseline ? 'Vigil (no pushdown)' : 'Vigil';
  const dir = join(TMP, baseline ? 'vigil-baseline' : 'vigil');
  const loadBefore = loadavg()[0]!;
  const t0 = performance.now();
  const sys = await startVigil(
    { dir, repoRoot: REPO, log },
    `storage:\n  retention: ${DAYS + 10}d\n${HEAD_WINDOW === '0' ? '' : `  head_window: ${HEAD_WINDOW}\n`}  rollups:\n${ROLLUPS.map((r) => `    - {resolution: ${r}}\n`).join('')}` +
      (baseline ? 'query:\n  pushdown: false\n' : ''),
    { dataDir, readyTimeoutMs: 1_800_000 },
  );
  const startSeconds = (performance.now() - t0) / 1000;
  log(`\n${name} ${sys.version} at ${sys.baseUrl}: started in ${startSeconds.toFixed(1)} s`);
  for (const line of tail(sys.logFile, 20).split('\n'))
    if (line.includes('rollups:')) log(`  ${line.trim()}`);
  try {
    // Reading every sample of 30 days takes minutes a query: the baseline stops at 7 days, with fewer runs.
    const timings = baseline
      ? await runQueries(
          sys,
          name,
          BASELINE_RUNS,
          RANGES.filter((r) => r.spanMs <= 7 * 24 * HOUR),
        )
      : await runQueries(sys, name);
    return {
      name,
      version: sys.version,
      timings,
      loadSeconds,
      startSeconds,
      peakRss: peakRss(sys.pid),
      loadBefore,
      notes: [],
    };
  } finally {
    await sys.stop();
  }
}

async function runPrometheus(): Promise<Run | undefined> {
  const bin = which('prometheus');
  if (!bin) {
    log('Prometheus: skipped, `prometheus` is not on PATH (apt-get install -y prometheus)');
    return undefined;
  }
  const sys = await startPrometheus(
    { dir: join(TMP, 'prometheus'), repoRoot: REPO, log },
    bin,
    `${DAYS + 10}d`,
  );
  log(`\nPrometheus ${sys.version} at ${sys.baseUrl}`);
  try {
    const t0 = performance.now();
    const ds = new Dataset({
      seed: SEED,
      steps: TIMES.length,
      intervalMs: INTERVAL_S * 1000,
      startMs: TIMES[0]!,
      times: TIMES,
    });
    const blocks = ds.series.map(encodeLabels);
    const perRequest = 500;
    const stepsPerRequest = 4;
    let next = 0.1;
    for (let k = 0; k < TIMES.length; k += stepsPerRequest) {
      const ts: number[] = [];
      const vals: Float64Array[] = [];
      for (let j = k; j < Math.min(TIMES.length, k + stepsPerRequest); j++) {
        ds.next();
        ts.push(TIMES[j]!);
        vals.push(Float64Array.from(ds.values));
      }
      const inflight: Promise<void>[] = [];
      for (let f = 0; f < SERIES; f += perRequest) {
        const body = snappy.compressSync(
          encodeWriteRequest(blocks, f, Math.min(SERIES, f + perRequest), ts, vals),
          {
            copyOutputData: true,
          },
        );
        inflight.push(
          request(`${sys.baseUrl}/api/v1/write`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/x-protobuf',
              'Content-Encoding': 'snappy',
              'X-Prometheus-Remote-Write-Version': '0.1.0',
            },
            body,
          }).then((r) => {
            if (r.status >= 300)
              throw new Error(`remote-write answered ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
          }),
        );
        if (inflight.length >= 8) await Promise.all(inflight.splice(0));
      }
      await Promise.all(inflight);
      if (k / TIMES.length >= next) {
        log(
          `  Prometheus load: ${Math.round((k / TIMES.length) * 100)}% in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
        );
        next += 0.1;
      }
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    log(`  Prometheus: loaded ${num(SAMPLES)} samples in ${loadSeconds.toFixed(0)} s`);
    const loadBefore = loadavg()[0]!;
    const timings = await runQueries(sys, 'Prometheus');
    return {
      name: 'Prometheus',
      version: sys.version,
      timings,
      loadSeconds,
      startSeconds: 0,
      peakRss: peakRss(sys.pid),
      loadBefore,
      notes: [],
    };
  } finally {
    await sys.stop();
  }
}

// ---------------------------------------------------------------------------------------------------
// Main

/** How long backfilling and merging Vigil's rollups took after loading. */
let rollupSeconds = 0;

async function main(): Promise<void> {
  const machine = describeMachine();
  const date = new Date().toISOString();
  const datasetLine =
    `${num(SERIES)} series; ${DAYS * 24 - RECENT_H} h of history every ${HISTORY_S} s, then the last ${RECENT_H} h every ${INTERVAL_S} s, ` +
    `ending ${new Date(NOW).toISOString()} (${num(TIMES.length)} timestamps, ${num(SAMPLES)} samples per system), seed ${SEED}`;
  log(`Vigil dashboard query benchmark, ${date}`);
  log(
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memory} RAM, Node ${machine.node}, ${machine.os}`,
  );
  log(`Command: ${COMMAND}`);
  log(`Dataset: ${datasetLine}`);

  const runs: Run[] = [];
  if (SYSTEMS.includes('vigil')) {
    const reuse = argv['vigil-data'];
    const dataDir = reuse ? resolve(reuse) : join(TMP, 'vigil-data');
    if (reuse) log(`\nVigil: reusing the data folder ${dataDir}`);
    else log('\nVigil: writing the dataset through its storage');
    const load = reuse ? { seconds: NaN, rollupSeconds: NaN } : await loadVigil(dataDir);
    rollupSeconds = load.rollupSeconds;
    log(
      `  Vigil: loaded ${num(SAMPLES)} samples in ${load.seconds.toFixed(0)} s (including generating them and OPTIMIZE); ` +
        `rollups backfilled and merged in ${load.rollupSeconds.toFixed(0)} s`,
    );
    runs.push(await runVigil(dataDir, false, load.seconds));
    if (argv.baseline) runs.push(await runVigil(dataDir, true, load.seconds));
  }
  if (SYSTEMS.includes('prometheus')) {
    const p = await runPrometheus();
    if (p) runs.push(p);
  }

  const vigil = runs.find((r) => r.name === 'Vigil');
  const prom = runs.find((r) => r.name === 'Prometheus');
  const notes: string[] = [];
  const header = [
    'query',
    'range',
    ...runs.flatMap((r) => [`${r.name} median`, `${r.name} p95`]),
    'Vigil/Prom. median',
    'series',
  ];
  const rows: Cell[][] = [];
  let atOrBelow = 0;
  let total = 0;
  const slower: string[] = [];
  for (const r of RANGES)
    for (const panel of PANELS) {
      const q = panel.replaceAll('$w', r.window);
      const ts = runs.map((x) => x.timings.get(key(q, r)));
      const fv = vigil?.timings.get(key(q, r));
      const fp = prom?.timings.get(key(q, r));
      const ms = (t: Timing | undefined, f: 'median' | 'p95') =>
        !t ? '–' : t.error ? 'error' : t[f].toFixed(1);
      rows.push([
        q,
        `${r.label}, step ${r.stepS >= 3600 ? `${r.stepS / 3600}h` : r.stepS >= 60 ? `${r.stepS / 60}m` : `${r.stepS}s`}`,
        ...ts.flatMap((t) => [ms(t, 'median'), ms(t, 'p95')]),
        ratio(fv?.median, fp?.median),
        ts.map((t) => (t && !t.error ? String(t.series) : '–')).join('/'),
      ]);
      if (fv && fp && !fv.error && !fp.error) {
        total++;
        if (fv.median <= fp.median) atOrBelow++;
        else slower.push(`\`${q}\` over ${r.label} (${ratio(fv.median, fp.median)})`);
        const c = compareMatrices(fv.result, fp.result);
        if (c.problems) notes.push(`Vigil vs Prometheus, \`${q}\` over ${r.label}: ${c.problems}`);
      }
      for (const t of ts) if (t?.error) notes.push(`\`${q}\` over ${r.label}: ${t.error}`);
    }
  const geo = (run: Run | undefined, label?: string) => {
    if (!run) return NaN;
    const xs = [...run.timings.entries()]
      .filter(([k, t]) => !t.error && (label === undefined || k.startsWith(`${label}\u0000`)))
      .map(([, t]) => t.median);
    return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  };
  const geoLines = RANGES.map(
    (r) =>
      `${r.label}: ` +
      runs
        .filter((run) => Number.isFinite(geo(run, r.label)))
        .map((run) => `${run.name} ${geo(run, r.label).toFixed(1)} ms`)
        .join(', ') +
      (vigil && prom ? ` (Vigil/Prometheus ${ratio(geo(vigil, r.label), geo(prom, r.label))})` : ''),
  );
  const summary =
    vigil && prom
      ? `Vigil's median was at or below Prometheus's for ${atOrBelow} of ${total} queries.` +
        (slower.length ? ` Slower: ${slower.join('; ')}.` : '')
      : '';
  const sysLines = runs.map(
    (r) =>
      `${r.name} ${r.version}: data loaded in ${r.loadSeconds.toFixed(0)} s` +
      (r.name.startsWith('Vigil')
        ? ` through its storage (rollups backfilled and merged afterwards in ${rollupSeconds.toFixed(0)} s), started in ${r.startSeconds.toFixed(0)} s`
        : ' over remote-write') +
      `; peak RSS ${bytes(r.peakRss)}; load average before queries ${r.loadBefore.toFixed(2)}.`,
  );

  log('\n== Dashboard queries (ms) ==');
  log(textTable(header, rows));
  log('\nGeometric means of the medians:');
  for (const l of geoLines) log(`  ${l}`);
  if (summary) log(summary);
  for (const l of sysLines) log(l);
  for (const n of notes) log(`WARNING: ${n}`);

  if (!OUT) return;
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
      'Each system ran alone on loopback, one after the other; other work on the machine shows in the load averages below.',
    '',
    `Dataset: ${datasetLine}. Vigil's data was written through its own storage (appender and tables as in a running Vigil, then ` +
      '`OPTIMIZE`), its rollups of 5 m and 1 h backfilled and merged, then Vigil was started on it with the same `storage.rollups`; ' +
      'Prometheus received the same samples over remote-write in time order. Samples sit 7.5 s off the 15 s grid, so no window ' +
      'bound falls on a sample and Prometheus 2.42 (closed windows) and Vigil (Prometheus 3 windows) select the same samples.',
    '',
    `Queries: ten dashboard panels over each range, sent as Grafana sends them (start and end aligned to the step), with \`$w\` the ` +
      `window of the range (${RANGES.map((r) => `${r.label}: ${r.window}`).join(', ')}); one warm-up, then ${RUNS} timed runs; ` +
      'median and p95 (nearest rank) in milliseconds, measured by the client.' +
      (HEAD_WINDOW === '0'
        ? ' Vigil ran without a head (`storage.head_window: 0`).'
        : ` Vigil ran with \`storage.head_window: ${HEAD_WINDOW}\` (recent samples held in memory).`) +
      (argv.baseline
        ? ` "Vigil (no pushdown)" is the same Vigil with \`query.pushdown: false\`: every sample read and evaluated in JS, as before pushdown and rollups (${BASELINE_RUNS} timed runs, ranges up to 7 d).`
        : ''),
    '',
    markdownTable(
      header,
      rows.map(([q, ...rest]) => [`\`${q}\``, ...rest]),
      2,
    ),
    '',
    'Geometric means of the medians:',
    '',
    ...geoLines.map((l) => `- ${l}`),
    '',
    ...(summary ? [summary, ''] : []),
    ...sysLines.map((l) => `- ${l}`),
    '',
    ...(notes.length
      ? ['Warnings from this run:', '', ...notes.map((n) => `- ${n}`), '']
      : vigil && prom
        ? ["Vigil's answers matched Prometheus's (same series and points, values within 0.1%).", '']
        : []),
  ].join('\n');
  writeSection(OUT, HEADING, md);
  log(`\nWrote section "${HEADING.slice(3)}" of ${OUT}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
