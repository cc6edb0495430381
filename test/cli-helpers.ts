/**
 * Shared by the import, migration and backup end-to-end tests: a generated multi-day OpenMetrics file, the
 * `vigil` command run as a child process (chDB allows one data folder per process, and this is how users
 * run it), Prometheus started on blocks that promtool built from the same file, and query comparison.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { freePort, getJSON, queryURL, startPeer, tempDir, waitFor, type Peer } from './helpers.ts';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');

export interface Dataset {
  readonly file: string;
  /** First and last sample time, ms. */
  readonly start: number;
  readonly end: number;
  readonly samples: number;
  readonly series: number;
}

/**
 * Writes an OpenMetrics file: `days` days at `stepSeconds`, ending an hour before now, with a counter (one
 * series resets half way), a gauge with a unit and escaped label values, and a histogram.
 */
export function writeDataset(dir: string, days = 3, stepSeconds = 60): Dataset {
  const stepMs = stepSeconds * 1000;
  const end = Math.floor((Date.now() - 3600_000) / stepMs) * stepMs;
  const start = end - days * 86_400_000;
  const points = (end - start) / stepMs + 1;
  const lines: string[] = [];
  let samples = 0;
  const sample = (series: string, v: number, t: number) => {
    lines.push(`${series} ${v} ${t / 1000}`);
    samples++;
  };

  lines.push('# TYPE demo_requests counter', '# HELP demo_requests Requests served.');
  const reqSeries: [string, string][] = [];
  for (const code of ['200', '404', '500'])
    for (const path of ['/api', '/login']) reqSeries.push([code, path]);
  const counters = reqSeries.map(() => 0);
  for (let i = 0; i < points; i++)
    reqSeries.forEach(([code, path], s) => {
      counters[s]! += ((i * 7 + s * 3) % 11) + (code === '200' ? 20 : 1);
      if (s === 1 && i === Math.floor(points / 2)) counters[s] = 0; // a restart
      sample(`demo_requests_total{code="${code}",path="${path}"}`, counters[s]!, start + i * stepMs);
    });

  lines.push(
    '# TYPE demo_temperature_celsius gauge',
    '# UNIT demo_temperature_celsius celsius',
    '# HELP demo_temperature_celsius Room temperature, "measured" hourly.',
  );
  const rooms = ['hall \\"A\\"', 'back\\\\office'];
  for (let i = 0; i < points; i++)
    rooms.forEach((room, s) =>
      sample(
        `demo_temperature_celsius{room="${room}"}`,
        Math.round((20 + 3 * Math.sin(i / 90 + s)) * 1000) / 1000,
        start + i * stepMs,
      ),
    );

  lines.push('# TYPE demo_latency_seconds histogram');
  const bounds = ['0.1', '0.5', '+Inf'];
  let count = 0;
  let sum = 0;
  const cum = [0, 0, 0];
  for (let i = 0; i < points; i++) {
    const fast = (i % 13) + 5;
    const mid = (i % 7) + 2;
    const slow = i % 3;
    cum[0]! += fast;
    cum[1]! += fast + mid;
    cum[2]! += fast + mid + slow;
    count += fast + mid + slow;
    sum += fast * 0.05 + mid * 0.3 + slow * 1.2;
    const t = start + i * stepMs;
    bounds.forEach((le, b) => sample(`demo_latency_seconds_bucket{le="${le}"}`, cum[b]!, t));
    sample('demo_latency_seconds_count', count, t);
    sample('demo_latency_seconds_sum', Math.round(sum * 1000) / 1000, t);
  }
  lines.push('# EOF');
  const file = join(dir, 'dataset.om');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, start, end, samples, series: reqSeries.length + rooms.length + bounds.length + 2 };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `vigil ARGS` (bin/vigil.js) in a child process. */
export async function vigilCli(args: string[], opts: { cwd?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'vigil.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

export interface VigilProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * `vigil start` in a child process. Needed where a test restarts Vigil on a folder that another process
 * changed (a restore): chDB keeps state of a data folder in its process even after the session closed.
 */
export async function startVigilProcess(configFile: string, dataDir: string): Promise<VigilProcess> {
  const port = await freePort();
  const args = ['start', '--config', configFile, '--data-dir', dataDir, '--port', String(port)];
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'vigil.js'),
      ...args,
      '--listen-address',
      '127.0.0.1',
      '--otlp-http-port',
      '0',
      '--otlp-grpc-port',
      '0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await waitFor(
      'vigil start',
      async () => {
        if (child.exitCode !== null) throw new Error(`vigil start exited: ${stderr}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      60_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, stop };
}

/** Debian's Prometheus on blocks built by `promtool tsdb create-blocks-from openmetrics` from `file`. */
export async function prometheusFromFile(file: string, extraConfig = ''): Promise<Peer> {
  const dir = tempDir('prom-blocks');
  await promisify(execFile)('promtool', [
    'tsdb',
    'create-blocks-from',
    'openmetrics',
    file,
    join(dir, 'data'),
  ]);
  return prometheusOn(dir, extraConfig);
}

/** Debian's Prometheus with its TSDB in `dir/data`, no scrapes, and the given extra configuration. */
export async function prometheusOn(dir: string, extraConfig = ''): Promise<Peer> {
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1h\n${extraConfig}`);
  const port = await freePort();
  return startPeer(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--storage.tsdb.retention.time=10y',
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    `http://127.0.0.1:${port}`,
    '/-/ready',
    [dir],
  );
}

type Series = { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] };

const keyOf = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());

function close(a: string, b: string): boolean {
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  return x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

/** Runs a query (instant when `params.time` is set, else range) on both and expects the same answer. */
export async function expectSameAnswer(
  want: string,
  got: string,
  query: string,
  params: Record<string, number>,
): Promise<number> {
  const path = 'time' in params ? '/api/v1/query' : '/api/v1/query_range';
  const [a, b] = await Promise.all([
    getJSON<{ resultType: string; result: Series[] }>(queryURL(want, path, { query, ...params })),
    getJSON<{ resultType: string; result: Series[] }>(queryURL(got, path, { query, ...params })),
  ]);
  expect(a.body.status, `${query} on the reference: ${a.body.error}`).toBe('success');
  expect(b.body.status, `${query}: ${b.body.error}`).toBe('success');
  expect(b.body.data.resultType).toBe(a.body.data.resultType);
  const wantMap = new Map(a.body.data.result.map((s) => [keyOf(s.metric), s]));
  const gotMap = new Map(b.body.data.result.map((s) => [keyOf(s.metric), s]));
  expect([...gotMap.keys()].sort(), query).toEqual([...wantMap.keys()].sort());
  let points = 0;
  for (const [k, w] of wantMap) {
    const g = gotMap.get(k)!;
    const wv = w.values ?? (w.value ? [w.value] : []);
    const gv = g.values ?? (g.value ? [g.value] : []);
    expect(
      gv.map((p) => p[0]),
      `${query} ${k} timestamps`,
    ).toEqual(wv.map((p) => p[0]));
    wv.forEach(([t, v], i) =>
      expect(close(gv[i]![1], v), `${query} ${k} @${t}: ${gv[i]![1]} vs ${v}`).toBe(true),
    );
    points += wv.length;
  }
  return points;
}

/** Queries that exercise raw samples, counters (with a reset), gauges and histograms over the dataset. */
export const DATASET_RANGE_QUERIES = [
  'demo_temperature_celsius',
  'rate(demo_requests_total[5m])',
  'sum by (code) (increase(demo_requests_total[1h]))',
  'histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[10m])))',
  'max_over_time(demo_temperature_celsius[2h]) - min_over_time(demo_temperature_celsius[2h])',
  'count_over_time(demo_requests_total[1h])',
  'demo_latency_seconds_sum / demo_latency_seconds_count',
];
