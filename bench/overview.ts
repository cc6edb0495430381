/**
 * Overview benchmark: how long `GET /api/vigil/v1/overview` takes with a few hundred components.
 *
 *   npx tsx bench/overview.ts [--scrape 200] [--otlp 80] [--hosts 20] [--range 1h] [--runs 5] [--seed 7]
 *
 * Fills an in-memory storage (the reference implementation shipped in src/) with one hour of seeded data per
 * component: scrape targets (up, scrape report, process and HTTP metrics with a latency histogram, every
 * 15 s), OTLP services (target_info and the OTel HTTP server histogram, every 30 s) and hosts (what the host
 * collector writes: 4 CPUs × 8 modes, memory, every 10 s). Then serves the overview through a real Fastify
 * (`inject`) and prints the median and worst time of --runs after one warm-up, and what the answer held.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { overviewApi, type Overview } from '../src/api/overview.ts';
import type { Labels } from '../src/model/labels.ts';
import { parseDuration } from '../src/model/duration.ts';
import { Engine } from '../src/query/promql/index.ts';
import { MemoryStorage } from '../src/store/memory.ts';
import { mulberry32 } from './lib/dataset.ts';
import { num, textTable } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    scrape: { type: 'string', default: '200' },
    otlp: { type: 'string', default: '80' },
    hosts: { type: 'string', default: '20' },
    range: { type: 'string', default: '1h' },
    runs: { type: 'string', default: '5' },
    seed: { type: 'string', default: '7' },
  },
});

// The same seed writes the same data on every run.
const random = mulberry32(Number(args.seed));
const NOW = Math.floor(Date.now() / 1000) * 1000;
const HOUR = 3_600_000;
const storage = new MemoryStorage();
let samples = 0;

/** A counter or gauge every `every` ms over the last hour; counters grow by `rate` per second ± 50 %. */
function series(labels: Labels, every: number, kind: 'counter' | 'gauge', level: number): void {
  let v = kind === 'counter' ? 0 : level;
  for (let t = NOW - HOUR; t <= NOW; t += every) {
    v = kind === 'counter' ? v + level * (every / 1000) * (0.5 + random()) : level * (0.9 + 0.2 * random());
    storage.add(labels, t, v);
    samples++;
  }
}

const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
function histogram(name: string, id: Labels, every: number, rps: number, extra: Labels = {}): void {
  BUCKETS.forEach((le, i) =>
    series(
      { __name__: `${name}_bucket`, le, ...extra, ...id },
      every,
      'counter',
      (rps * (i + 1)) / BUCKETS.length,
    ),
  );
}

const nScrape = Number(args.scrape);
const nOtlp = Number(args.otlp);
const nHosts = Number(args.hosts);
const t0 = performance.now();
for (let i = 0; i < nScrape; i++) {
  const id = { job: `svc${i % 20}`, instance: `10.0.${Math.floor(i / 250)}.${i % 250}:8080` };
  series({ __name__: 'up', ...id }, 15_000, 'gauge', 1);
  series({ __name__: 'scrape_samples_scraped', ...id }, 15_000, 'gauge', 400);
  series({ __name__: 'process_cpu_seconds_total', ...id }, 15_000, 'counter', 0.3);
  series({ __name__: 'process_resident_memory_bytes', ...id }, 15_000, 'gauge', 2e8);
  for (const code of ['200', '404', '500'])
    series({ __name__: 'http_requests_total', code, ...id }, 15_000, 'counter', code === '200' ? 50 : 1);
  histogram('http_request_duration_seconds', id, 15_000, 52);
}
for (let i = 0; i < nOtlp; i++) {
  const id = { job: `shop/api${i}`, instance: `pod-${i}` };
  series({ __name__: 'target_info', k8s_namespace_name: 'shop', ...id }, 30_000, 'gauge', 1);
  for (const code of ['200', '500']) {
    const extra = { http_response_status_code: code };
    series(
      { __name__: 'http_server_request_duration_seconds_count', ...extra, ...id },
      30_000,
      'counter',
      20,
    );
    histogram('http_server_request_duration_seconds', id, 30_000, 20, extra);
  }
}
for (let i = 0; i < nHosts; i++) {
  const id = { job: 'node', instance: `host-${i}` };
  series({ __name__: 'node_time_seconds', ...id }, 10_000, 'gauge', NOW / 1000);
  for (let cpu = 0; cpu < 4; cpu++)
    for (const mode of ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'])
      series(
        { __name__: 'node_cpu_seconds_total', cpu: String(cpu), mode, ...id },
        10_000,
        'counter',
        mode === 'idle' ? 0.7 : 0.04,
      );
  series({ __name__: 'node_memory_MemAvailable_bytes', ...id }, 10_000, 'gauge', 6e9);
  series({ __name__: 'node_memory_MemTotal_bytes', ...id }, 10_000, 'gauge', 16e9);
}
const stats = await storage.stats();
console.log(
  `data: ${num(stats.series)} series, ${num(samples)} samples over 1 h, ${nScrape} scrape targets + ${nOtlp} OTLP ` +
    `services + ${nHosts} hosts, generated in ${num(performance.now() - t0)} ms`,
);

const app = Fastify();
await app.register(overviewApi({ storage, engine: new Engine(), now: () => NOW }));
const url = `/api/vigil/v1/overview?range=${args.range}`;
const runs = Number(args.runs);
const times: number[] = [];
let last: Overview | undefined;
for (let i = 0; i <= runs; i++) {
  const start = performance.now();
  const res = await app.inject({ method: 'GET', url });
  const ms = performance.now() - start;
  if (res.statusCode !== 200) throw new Error(`overview answered ${res.statusCode}: ${res.body}`);
  last = res.json();
  if (i > 0) times.push(ms); // the first run warms up the JIT
}
await app.close();
times.sort((a, b) => a - b);
const figures = last!.components.reduce((n, c) => n + c.figures.length, 0);
const byStatus = (s: string) => last!.components.filter((c) => c.status === s).length;
console.log(
  textTable(
    ['range', 'components', 'figures', 'up/down/stale', 'median ms', 'worst ms', 'runs'],
    [
      [
        args.range!,
        last!.components.length,
        figures,
        `${byStatus('up')}/${byStatus('down')}/${byStatus('stale')}`,
        num(times[Math.floor(times.length / 2)]!),
        num(times.at(-1)!),
        runs,
      ],
    ],
  ),
);
console.log(
  `(range parsed as ${parseDuration(args.range!)} ms; spark ${last!.spark.points} points of ${last!.spark.step} ms)`,
);
