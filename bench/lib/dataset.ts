/**
 * A seeded, deterministic metrics dataset shaped like a multi-service notification pipeline: request
 * counters, classic histograms and gauges per service instance. The same seed and grid always give the
 * same series and values, so figures from different runs and different systems describe the same data.
 */

/** mulberry32: a tiny 32-bit PRNG, good enough for synthetic data and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type LabelPairs = readonly (readonly [string, string])[];

export const SERVICES = [
  'ingest',
  'validate',
  'enrich',
  'router',
  'email',
  'sms',
  'push',
  'webhook',
  'gateway',
  'monitor',
] as const;

export const INSTANCES_PER_SERVICE = 6;
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const METHODS = ['GET', 'POST'] as const;
/** Status codes and their share of traffic in normal operation. */
const CODES: readonly (readonly [string, number])[] = [
  ['200', 0.9],
  ['204', 0.04],
  ['400', 0.03],
  ['404', 0.02],
  ['500', 0.007],
  ['503', 0.003],
];
/** Requests per second per service across all its instances, at the daily mean. */
const SERVICE_RATE: Record<(typeof SERVICES)[number], number> = {
  ingest: 300,
  validate: 280,
  enrich: 260,
  router: 250,
  email: 60,
  sms: 40,
  push: 120,
  webhook: 80,
  gateway: 400,
  monitor: 20,
};
/** Services that call third parties and are slower. */
const SLOW = new Set<string>(['email', 'sms', 'webhook']);

/** Standard normal CDF (Abramowitz & Stegun 7.1.26; error < 1.5e-7, ample for bucket shares). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Formats a bucket bound the way Prometheus client libraries do. */
function formatLe(le: number): string {
  return Number.isFinite(le) ? String(le) : '+Inf';
}

interface PathDef {
  readonly path: string;
  /** Share of the instance's traffic. */
  readonly share: number;
  /** Share of GET among GET/POST. */
  readonly getShare: number;
  /** Median latency in seconds. */
  readonly median: number;
}

function pathsOf(service: string): PathDef[] {
  const slow = SLOW.has(service) ? 3 : 1;
  return [
    { path: `/api/v1/${service}`, share: 0.6, getShare: 0.3, median: 0.04 * slow },
    { path: `/api/v1/${service}/batch`, share: 0.3, getShare: 0.1, median: 0.25 * slow },
    { path: '/healthz', share: 0.05, getShare: 0.98, median: 0.002 },
    { path: '/metrics', share: 0.05, getShare: 0.98, median: 0.01 },
  ];
}

/** One request stream (service, instance, path, method): its counters by code and its histogram. */
interface Stream {
  readonly service: number;
  readonly instance: number;
  /** Mean requests per second per code. */
  readonly codeRates: Float64Array;
  readonly codeSeries: Int32Array;
  /** Series of the buckets in `BUCKETS` order followed by `+Inf`. */
  readonly bucketSeries: Int32Array;
  readonly sumSeries: number;
  readonly countSeries: number;
  /** log of the median latency. */
  readonly mu: number;
}

type GaugeKind = 'queue' | 'rss' | 'fds' | 'util' | 'cache' | 'cpu';

interface Gauge {
  readonly instance: number;
  readonly series: number;
  readonly kind: GaugeKind;
  readonly mean: number;
  readonly sigma: number;
}

interface Instance {
  readonly service: number;
  /** Step at which the process restarts (counters and memory reset), or -1. */
  readonly restartStep: number;
}

export interface DatasetOptions {
  readonly seed: number;
  /** Number of scrape timestamps. */
  readonly steps: number;
  readonly intervalMs: number;
  /** Timestamp of the first step, milliseconds. */
  readonly startMs: number;
  /**
   * Timestamps of all steps when they are not evenly spaced (a coarse history followed by recent data, say):
   * counters then grow by the time since the previous step. `steps` and `startMs` must agree with it.
   */
  readonly times?: Float64Array;
}

/** Series and a step-by-step value generator. Call `next()` once per timestamp, in time order. */
export class Dataset {
  readonly series: LabelPairs[] = [];
  readonly values: Float64Array;
  private readonly rand: () => number;
  private readonly streams: Stream[] = [];
  private readonly gauges: Gauge[] = [];
  private readonly instances: Instance[] = [];
  /** Per service: the step range of its incident (more 5xx, slower), inclusive start, exclusive end. */
  private readonly incidents: [number, number][] = [];
  private step = 0;
  private spare: number | undefined;

  constructor(readonly opts: DatasetOptions) {
    this.rand = mulberry32(opts.seed);
    const add = (labels: Record<string, string>): number => {
      const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.series.push(pairs);
      return this.series.length - 1;
    };
    const incidentSteps = Math.max(1, Math.round((30 * 60_000) / opts.intervalMs));
    SERVICES.forEach((service, si) => {
      const start = Math.floor(this.rand() * opts.steps);
      this.incidents.push([start, start + incidentSteps]);
      for (let i = 0; i < INSTANCES_PER_SERVICE; i++) {
        const inst = this.instances.length;
        const instance = `${service}-${i}:8080`;
        this.instances.push({
          service: si,
          restartStep: this.rand() < 0.3 ? 1 + Math.floor(this.rand() * (opts.steps - 1)) : -1,
        });
        const skew = 0.7 + 0.6 * this.rand();
        const instRate = (SERVICE_RATE[service] / INSTANCES_PER_SERVICE) * skew;
        for (const p of pathsOf(service)) {
          for (const method of METHODS) {
            const methodShare = method === 'GET' ? p.getShare : 1 - p.getShare;
            const codeRates = new Float64Array(CODES.length);
            const codeSeries = new Int32Array(CODES.length);
            CODES.forEach(([code, share], ci) => {
              codeRates[ci] = instRate * p.share * methodShare * share;
              codeSeries[ci] = add({
                __name__: 'http_requests_total',
                service,
                instance,
                path: p.path,
                method,
                code,
              });
            });
            const bucketSeries = new Int32Array(BUCKETS.length + 1);
            [...BUCKETS, Infinity].forEach((le, bi) => {
              bucketSeries[bi] = add({
                __name__: 'request_duration_seconds_bucket',
                service,
                instance,
                path: p.path,
                method,
                le: formatLe(le),
              });
            });
            const sumSeries = add({
              __name__: 'request_duration_seconds_sum',
              service,
              instance,
              path: p.path,
              method,
            });
            const countSeries = add({
              __name__: 'request_duration_seconds_count',
              service,
              instance,
              path: p.path,
              method,
            });
            this.streams.push({
              service: si,
              instance: inst,
              codeRates,
              codeSeries,
              bucketSeries,
              sumSeries,
              countSeries,
              mu: Math.log(p.median * (0.8 + 0.4 * this.rand())),
            });
          }
        }
        const gauge = (labels: Record<string, string>, kind: GaugeKind, mean: number, sigma: number) =>
          this.gauges.push({
            instance: inst,
            series: add({ ...labels, service, instance }),
            kind,
            mean,
            sigma,
          });
        for (const queue of ['inbound', 'retry', 'dead_letter']) {
          const mean = queue === 'inbound' ? 200 : queue === 'retry' ? 30 : 5;
          gauge({ __name__: 'queue_depth', queue }, 'queue', mean * (0.5 + this.rand()), mean * 0.05);
        }
        gauge(
          { __name__: 'process_resident_memory_bytes' },
          'rss',
          (150 + 600 * this.rand()) * 2 ** 20,
          2 ** 20,
        );
        gauge({ __name__: 'process_open_fds' }, 'fds', 40 + Math.floor(200 * this.rand()), 2);
        gauge({ __name__: 'worker_utilization_ratio' }, 'util', 0.2 + 0.6 * this.rand(), 0.02);
        gauge({ __name__: 'cache_hit_ratio' }, 'cache', 0.7 + 0.25 * this.rand(), 0.01);
        gauge({ __name__: 'process_cpu_seconds_total' }, 'cpu', 0.3 + 1.2 * this.rand(), 0.05);
      }
    });
    this.values = new Float64Array(this.series.length);
    for (const g of this.gauges) this.values[g.series] = g.kind === 'cpu' ? 1000 * this.rand() : g.mean;
    for (const s of this.streams) {
      // Counters start from a plausible uptime rather than zero.
      let total = 0;
      s.codeRates.forEach((r, ci) => {
        const v = Math.round(r * 3600 * (1 + 10 * this.rand()));
        this.values[s.codeSeries[ci]!] = v;
        total += v;
      });
      this.fillHistogram(s, total, s.mu, true);
    }
  }

  private normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.rand();
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * this.rand();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Poisson for small means (Knuth), rounded normal approximation above. */
  private poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = this.rand();
    while (p > l) {
      k++;
      p *= this.rand();
    }
    return k;
  }

  /** Adds n observations from a log-normal latency distribution to a histogram (cumulative buckets). */
  private fillHistogram(s: Stream, n: number, mu: number, reset: boolean): void {
    const sigma = 0.6;
    const v = this.values;
    for (let b = 0; b < BUCKETS.length; b++) {
      const share = normalCdf((Math.log(BUCKETS[b]!) - mu) / sigma);
      const add = Math.round(n * share);
      const id = s.bucketSeries[b]!;
      v[id] = (reset ? 0 : v[id]!) + add;
    }
    const inf = s.bucketSeries[BUCKETS.length]!;
    v[inf] = (reset ? 0 : v[inf]!) + n;
    v[s.countSeries] = (reset ? 0 : v[s.countSeries]!) + n;
    const mean = Math.exp(mu + (sigma * sigma) / 2);
    const sum = Math.round(n * mean * (0.95 + 0.1 * this.rand()) * 1e6) / 1e6;
    v[s.sumSeries] = (reset ? 0 : v[s.sumSeries]!) + sum;
  }

  /** Advances to the next timestamp and updates `values` in place. */
  next(): void {
    const step = this.step++;
    const { intervalMs, startMs, times } = this.opts;
    const t = times ? times[step]! : startMs + step * intervalMs;
    const hourOfDay = (t / 3_600_000) % 24;
    const diurnal = 1 + 0.35 * Math.sin((2 * Math.PI * (hourOfDay - 9)) / 24);
    const secs = times && step > 0 ? (t - times[step - 1]!) / 1000 : intervalMs / 1000;
    const v = this.values;
    for (const s of this.streams) {
      const inc = this.incidents[s.service]!;
      const inIncident = step >= inc[0] && step < inc[1];
      const reset = this.instances[s.instance]!.restartStep === step;
      let n = 0;
      for (let ci = 0; ci < CODES.length; ci++) {
        const code = CODES[ci]![0];
        const boost = inIncident && code.startsWith('5') ? 15 : 1;
        const add = this.poisson(s.codeRates[ci]! * diurnal * boost * secs);
        const id = s.codeSeries[ci]!;
        v[id] = (reset ? 0 : v[id]!) + add;
        n += add;
      }
      const mu = s.mu + 0.1 * this.normal() + (inIncident ? 0.7 : 0);
      this.fillHistogram(s, n, mu, reset);
    }
    for (const g of this.gauges) {
      const reset = this.instances[g.instance]!.restartStep === step;
      const id = g.series;
      const x = v[id]!;
      // Mean-reverting random walk.
      const walk = x + 0.05 * (g.mean - x) + g.sigma * this.normal();
      switch (g.kind) {
        case 'queue':
          v[id] = Math.max(0, Math.round(walk * 100) / 100);
          break;
        case 'rss':
          v[id] = reset
            ? Math.round(g.mean / 2 / 4096) * 4096
            : Math.max(4096, Math.round(walk / 4096) * 4096);
          break;
        case 'fds':
          v[id] = Math.max(8, Math.round(walk));
          break;
        case 'util':
        case 'cache':
          v[id] = Math.min(1, Math.max(0, Math.round(walk * 100) / 100));
          break;
        case 'cpu':
          // A counter of CPU seconds; `mean` is the average number of busy cores.
          v[id] =
            (reset ? 0 : x) + Math.round(Math.max(0, g.mean * (1 + 0.2 * this.normal())) * secs * 100) / 100;
          break;
      }
    }
  }
}
