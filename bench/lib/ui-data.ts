/**
 * Data for the web UI's benchmark and screenshots: the seeded pipeline dataset with a `job` label per
 * service and an `up` series per instance, loaded over remote-write, and a 12-panel dashboard over it.
 */
import snappy from 'snappy';
import { Dataset, type LabelPairs } from './dataset.ts';
import { encodeLabels, encodeWriteRequest } from './remote-write.ts';
import { num } from './report.ts';
import { request } from './systems.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadOptions {
  readonly hours: number;
  readonly intervalS: number;
  readonly seed: number;
  readonly log: (msg: string) => void;
}

/** The dataset's series with `job` set to their service, so components group as they would in production. */
function withJob(series: LabelPairs[]): LabelPairs[] {
  return series.map((pairs) => {
    const service = pairs.find(([k]) => k === 'service')?.[1];
    if (!service) return pairs;
    return [...pairs, ['job', service] as const].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  });
}

export async function loadPipeline(
  baseUrl: string,
  o: LoadOptions,
): Promise<{ series: number; samples: number; seconds: number }> {
  const intervalMs = o.intervalS * 1000;
  const endMs = Math.floor(Date.now() / intervalMs) * intervalMs;
  const steps = Math.max(2, Math.floor((o.hours * 3_600_000) / intervalMs));
  const startMs = endMs - (steps - 1) * intervalMs;
  const dataset = new Dataset({ seed: o.seed, steps, intervalMs, startMs });
  const series = withJob(dataset.series);
  // One `up` series per instance, always 1: the instances are healthy scrape targets.
  const instances = new Map<string, string>();
  for (const pairs of series) {
    const l = Object.fromEntries(pairs);
    if (l.instance && l.job) instances.set(l.instance, l.job);
  }
  const upStart = series.length;
  for (const [instance, job] of instances)
    series.push([
      ['__name__', 'up'],
      ['instance', instance],
      ['job', job],
    ]);
  const blocks = series.map(encodeLabels);
  const stepsPerSlice = 10;
  const perRequest = 200;
  const t0 = performance.now();
  let sent = 0;
  for (let first = 0; first < steps; first += stepsPerSlice) {
    const timestamps: number[] = [];
    const values: Float64Array[] = [];
    for (let k = first; k < Math.min(steps, first + stepsPerSlice); k++) {
      dataset.next();
      const v = new Float64Array(series.length);
      v.set(dataset.values);
      v.fill(1, upStart);
      timestamps.push(startMs + k * intervalMs);
      values.push(v);
    }
    const bodies: Buffer[] = [];
    for (let from = 0; from < series.length; from += perRequest)
      bodies.push(
        snappy.compressSync(
          encodeWriteRequest(blocks, from, Math.min(series.length, from + perRequest), timestamps, values),
          { copyOutputData: true },
        ),
      );
    let next = 0;
    const worker = async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        for (let attempt = 0; ; attempt++) {
          const r = await request(`${baseUrl}/api/v1/write`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-protobuf',
              'content-encoding': 'snappy',
              'x-prometheus-remote-write-version': '0.1.0',
            },
            body,
            timeoutMs: 120_000,
          });
          if (r.status < 300) break;
          if (attempt > 5 || (r.status < 500 && r.status !== 429))
            throw new Error(`remote-write answered ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
          await sleep(500 * 2 ** attempt);
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    sent += timestamps.length * series.length;
    if (first % (stepsPerSlice * 30) === 0) o.log(`  loaded ${num(sent)} samples`);
  }
  return { series: series.length, samples: sent, seconds: (performance.now() - t0) / 1000 };
}

export function dashboard12() {
  const ts = (
    id: string,
    title: string,
    expr: string,
    legend: string,
    x: number,
    y: number,
    unit = 'short',
  ) => ({
    id,
    title,
    kind: 'timeseries',
    queries: [{ expr, legend }],
    grid: { x, y, w: 8, h: 8 },
    options: { unit },
  });
  return {
    schemaVersion: 1,
    uid: 'bench-12',
    title: 'Pipeline (12 panels)',
    tags: ['bench'],
    time: { from: 'now-24h', to: 'now' },
    variables: [
      { name: 'job', query: 'label_values(up, job)', multi: true, includeAll: true, current: ['$__all'] },
    ],
    panels: [
      ts(
        'p1',
        'Requests/s by service',
        'sum by (job) (rate(http_requests_total{job=~"$job"}[5m]))',
        '{{job}}',
        0,
        0,
        'reqps',
      ),
      ts(
        'p2',
        'Errors/s by service',
        'sum by (job) (rate(http_requests_total{job=~"$job",code=~"5.."}[5m]))',
        '{{job}}',
        8,
        0,
        'reqps',
      ),
      ts(
        'p3',
        'p95 latency',
        'histogram_quantile(0.95, sum by (job, le) (rate(request_duration_seconds_bucket{job=~"$job"}[5m])))',
        '{{job}}',
        16,
        0,
        's',
      ),
      ts(
        'p4',
        'Memory by instance',
        'process_resident_memory_bytes{job=~"$job"}',
        '{{instance}}',
        0,
        8,
        'bytes',
      ),
      ts(
        'p5',
        'CPU by service',
        'sum by (job) (rate(process_cpu_seconds_total{job=~"$job"}[5m]))',
        '{{job}}',
        8,
        8,
      ),
      ts('p6', 'Queue depth', 'sum by (job, queue) (queue_depth{job=~"$job"})', '{{job}} {{queue}}', 16, 8),
      ts(
        'p7',
        'Requests by code',
        'sum by (code) (rate(http_requests_total{job=~"$job"}[5m]))',
        '{{code}}',
        0,
        16,
        'reqps',
      ),
      ts('p8', 'Open file descriptors', 'sum by (job) (process_open_fds{job=~"$job"})', '{{job}}', 8, 16),
      {
        id: 'p9',
        title: 'Total requests/s',
        kind: 'stat',
        queries: [{ expr: 'sum(rate(http_requests_total{job=~"$job"}[5m]))' }],
        grid: { x: 16, y: 16, w: 4, h: 4 },
        options: { unit: 'reqps' },
      },
      {
        id: 'p10',
        title: 'Cache hit ratio',
        kind: 'gauge',
        queries: [{ expr: 'avg(cache_hit_ratio{job=~"$job"})' }],
        grid: { x: 20, y: 16, w: 4, h: 4 },
        options: { unit: 'percentunit', min: 0, max: 1 },
      },
      {
        id: 'p11',
        title: 'Busiest instances',
        kind: 'bar',
        queries: [
          {
            expr: 'topk(10, sum by (instance) (rate(http_requests_total{job=~"$job"}[5m])))',
            legend: '{{instance}}',
          },
        ],
        grid: { x: 16, y: 20, w: 8, h: 4 },
        options: { unit: 'reqps' },
      },
      {
        id: 'p12',
        title: 'Latency heatmap',
        kind: 'heatmap',
        queries: [{ expr: 'sum by (le) (rate(request_duration_seconds_bucket{job=~"$job"}[5m]))' }],
        grid: { x: 0, y: 24, w: 24, h: 8 },
      },
    ],
  };
}
