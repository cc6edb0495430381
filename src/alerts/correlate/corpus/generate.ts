/**
 * A seeded, labelled alert-storm corpus for measuring correlation (docs/correlation.md, bench/alert-correlation.ts).
 *
 * The world is a message pipeline and a shop behind one gateway, with a call graph like the one traces give.
 * Each case mixes scenarios over 90 minutes; every alert carries the ID of the ground-truth incident it belongs
 * to, and each incident names its true root-cause alert:
 *
 * - cascade: a failing dependency, then alerts on the services that call it (1–3 hops up), some of which
 *   fire before the cause (shorter `for:`), one of them flapping while the cause lasts;
 * - storm: a node goes down and every pod on it alerts (20–50 alerts from one cause);
 * - two causes: two cascades in different parts of the graph starting within a minute of each other;
 * - re-fire: a cascade that resolves and fires again 20–30 minutes later (same incident);
 * - flapping: one alert firing and resolving every few minutes on its own;
 * - unrelated: small incidents at the same time (a disk filling, a certificate expiring, a critical job down).
 */
import { fingerprint } from '../../model.ts';
import type { Labels } from '../../../model/labels.ts';
import type { Topology, TopologyEdge } from '../model.ts';

/** One firing period of an alert, ms. */
export interface Episode {
  readonly start: number;
  readonly end: number;
}

export interface CorpusAlert {
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly episodes: readonly Episode[];
  /** Ground truth: the incident this alert belongs to. */
  readonly incident: string;
}

export interface CorpusIncident {
  readonly id: string;
  readonly scenario: string;
  /** Fingerprint of the alert that is the true cause. */
  readonly root: string;
}

export interface CorpusCase {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly topology: Topology;
  readonly alerts: readonly CorpusAlert[];
  readonly incidents: readonly CorpusIncident[];
}

/** Calls per hour between services (parent calls child). */
export const CORPUS_EDGES: readonly TopologyEdge[] = [
  ['frontend', 'api-gateway', 90_000],
  ['api-gateway', 'checkout', 18_000],
  ['api-gateway', 'search', 40_000],
  ['api-gateway', 'accounts', 12_000],
  ['checkout', 'payments', 9_000],
  ['checkout', 'orders', 9_500],
  ['checkout', 'cart', 15_000],
  ['cart', 'redis-cache', 30_000],
  ['accounts', 'redis-cache', 20_000],
  ['accounts', 'accounts-db', 11_000],
  ['payments', 'payments-db', 8_000],
  ['payments', 'card-gateway', 8_800],
  ['orders', 'orders-db', 12_000],
  ['orders', 'kafka', 9_000],
  ['search', 'search-index', 39_000],
  ['ingest-api', 'validator', 120_000],
  ['validator', 'enricher', 118_000],
  ['enricher', 'profile-db', 100_000],
  ['enricher', 'kafka', 117_000],
  ['router', 'kafka', 116_000],
  ['router', 'email-sender', 40_000],
  ['router', 'sms-sender', 30_000],
  ['router', 'push-sender', 46_000],
  ['email-sender', 'smtp-relay', 39_000],
  ['sms-sender', 'sms-provider', 29_000],
].map(([parent, child, calls]) => ({
  parent: parent as string,
  child: child as string,
  calls: calls as number,
}));

const SERVICES = [...new Set(CORPUS_EDGES.flatMap((e) => [e.parent, e.child]))].sort();
const DATASTORES = [
  'redis-cache',
  'accounts-db',
  'payments-db',
  'orders-db',
  'kafka',
  'search-index',
  'profile-db',
];
const LEAVES = [...DATASTORES, 'card-gateway', 'smtp-relay', 'sms-provider'];

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIN = 60_000;

class CaseBuilder {
  readonly alerts = new Map<
    string,
    { labels: Labels; annotations: Labels; episodes: Episode[]; incident: string }
  >();
  readonly incidents: CorpusIncident[] = [];
  private used = new Set<string>();
  constructor(
    readonly r: () => number,
    readonly start: number,
    readonly end: number,
    readonly base: Labels,
  ) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  between(a: number, b: number): number {
    return a + this.r() * (b - a);
  }
  /** A service not used by another scenario of this case (independent incidents stay apart). */
  fresh(from: readonly string[]): string | undefined {
    const free = from.filter((s) => !this.used.has(s));
    return free.length ? this.pick(free) : undefined;
  }
  claim(...s: string[]): void {
    for (const x of s) this.used.add(x);
  }

  add(incident: string, labels: Labels, summary: string, episodes: Episode[]): string {
    const l = { ...this.base, ...labels };
    const fp = fingerprint(l);
    const prev = this.alerts.get(fp);
    const eps = episodes.map((e) => ({
      start: Math.round(e.start),
      end: Math.round(Math.min(e.end, this.end)),
    }));
    if (prev) prev.episodes.push(...eps);
    else this.alerts.set(fp, { labels: l, annotations: { summary }, episodes: eps, incident });
    return fp;
  }
}

/** Services calling `s` (directly), sorted. */
function callers(s: string): string[] {
  return CORPUS_EDGES.filter((e) => e.child === s)
    .map((e) => e.parent)
    .sort();
}

/** Services calling `s` within `hops`, with their distance. */
function upstreamOf(s: string, hops: number): Map<string, number> {
  const out = new Map<string, number>();
  let frontier = [s];
  for (let h = 1; h <= hops; h++) {
    const next: string[] = [];
    for (const f of frontier)
      for (const c of callers(f))
        if (!out.has(c) && c !== s) {
          out.set(c, h);
          next.push(c);
        }
    frontier = next;
  }
  return out;
}

const CAUSE_ALERTS: Record<string, [string, string]> = {
  db: ['PostgresDown', 'PostgreSQL instance {s} is not responding to connections'],
  cache: ['RedisDown', 'Redis {s} refuses connections'],
  queue: [
    'KafkaUnderReplicatedPartitions',
    'Kafka cluster {s} has under-replicated partitions, producers block',
  ],
  index: ['SearchIndexUnavailable', 'Search index {s} shards are unassigned'],
  external: ['UpstreamProviderErrors', 'Calls from Vigil-monitored services to {s} fail with 5xx'],
};

function causeKind(s: string): [string, string] {
  if (s.endsWith('-db')) return CAUSE_ALERTS.db!;
  if (s === 'redis-cache') return CAUSE_ALERTS.cache!;
  if (s === 'kafka') return CAUSE_ALERTS.queue!;
  if (s === 'search-index') return CAUSE_ALERTS.index!;
  return CAUSE_ALERTS.external!;
}

const SYMPTOMS: readonly [string, string, string][] = [
  ['HighErrorRate', 'error', '{s}: 5xx responses above 5% of requests for 5 minutes'],
  ['HighLatency', 'warning', '{s}: p99 request latency above 2s'],
  ['SLOBurnRateHigh', 'error', '{s}: error budget burning 14x faster than allowed'],
  ['QueueBacklogGrowing', 'warning', '{s}: consumer lag keeps growing'],
];

/** A failing dependency and its symptoms; returns the cause's service and the incident ID. */
function cascade(
  b: CaseBuilder,
  id: string,
  scenario: string,
  at: number,
  duration: number,
  cause: string,
): void {
  const [name, text] = causeKind(cause);
  const end = at + duration;
  const root = b.add(
    id,
    { alertname: name, service: cause, severity: 'critical', instance: `${cause}-0` },
    text.replace('{s}', cause),
    [{ start: at, end }],
  );
  b.incidents.push({ id, scenario, root });
  const up = upstreamOf(cause, 3);
  b.claim(cause, ...up.keys());
  let flapped = false;
  for (const [svc, hops] of [...up].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))) {
    if (b.r() > (hops === 1 ? 0.95 : hops === 2 ? 0.7 : 0.45)) continue;
    const kinds = 1 + Math.floor(b.r() * 2);
    for (let k = 0; k < kinds; k++) {
      const [alertname, severity, t] = SYMPTOMS[(k + Math.floor(b.r() * SYMPTOMS.length)) % SYMPTOMS.length]!;
      // Symptoms follow the cause by a delay per hop; some fire first (their rule has a shorter `for:`).
      const start = at + hops * b.between(0, 2.5 * MIN) - b.between(0, 2 * MIN);
      const sev = hops === 1 && b.r() < 0.3 ? 'critical' : severity;
      const labels = { alertname, service: svc, severity: sev, job: svc };
      if (!flapped && hops === 1 && b.r() < 0.5) {
        flapped = true;
        const eps: Episode[] = [];
        for (let t0 = start; t0 < end;) {
          const on = b.between(1.5, 4) * MIN;
          eps.push({ start: t0, end: t0 + on });
          t0 += on + b.between(1, 3) * MIN;
        }
        b.add(id, labels, t.replace('{s}', svc), eps);
      } else b.add(id, labels, t.replace('{s}', svc), [{ start, end: end + b.between(0, 3 * MIN) }]);
    }
  }
}

function storm(b: CaseBuilder, id: string, at: number): void {
  const node = `node-${1 + Math.floor(b.r() * 40)}`;
  const duration = b.between(15, 40) * MIN;
  const root = b.add(
    id,
    { alertname: 'NodeDown', node, severity: 'critical', instance: `${node}:9100`, job: 'node-exporter' },
    `Node ${node} is unreachable: kubelet and node exporter stopped responding`,
    [{ start: at, end: at + duration }],
  );
  b.incidents.push({ id, scenario: 'storm', root });
  const pods = 20 + Math.floor(b.r() * 31);
  for (let i = 0; i < pods; i++) {
    const svc = b.pick(SERVICES);
    b.claim(svc); // incidents elsewhere in the case stay off the services whose pods fail here
    const pod = `${svc}-${Math.floor(b.r() * 1e6).toString(36)}`;
    const start = at + b.between(-0.5, 4) * MIN;
    const which = b.r();
    if (which < 0.6)
      b.add(
        id,
        { alertname: 'KubePodNotReady', pod, node, namespace: 'prod', service: svc, severity: 'warning' },
        `Pod prod/${pod} on ${node} has been in a non-ready state`,
        [{ start, end: at + duration + b.between(0, 2) * MIN }],
      );
    else
      b.add(
        id,
        { alertname: 'TargetDown', job: svc, instance: `${pod}:8080`, node, severity: 'warning' },
        `Target ${pod}:8080 of job ${svc} on ${node} is down`,
        [{ start, end: at + duration + b.between(0, 2) * MIN }],
      );
  }
}

function unrelated(b: CaseBuilder, id: string, at: number): void {
  const kind = Math.floor(b.r() * 4);
  const host = `backup-${1 + Math.floor(b.r() * 9)}`;
  const svc = b.fresh(SERVICES.filter((s) => !LEAVES.includes(s))) ?? 'reporting';
  b.claim(svc);
  const end = at + b.between(10, 50) * MIN;
  const spec: [Labels, string] =
    kind === 0
      ? [
          {
            alertname: 'DiskWillFillIn4Hours',
            instance: `${host}:9100`,
            device: '/dev/sdb1',
            severity: 'warning',
          },
          `Filesystem /dev/sdb1 on ${host} will fill within 4 hours at the current rate`,
        ]
      : kind === 1
        ? [
            { alertname: 'CertificateExpiringSoon', service: svc, severity: 'warning' },
            `The TLS certificate served by ${svc} expires in 6 days`,
          ]
        : kind === 2
          ? [
              { alertname: 'BatchJobFailed', job: 'nightly-export', severity: 'critical' },
              'Job nightly-export failed its last 3 runs',
            ]
          : [
              { alertname: 'HighMemoryUsage', service: svc, instance: `${svc}-2`, severity: 'critical' },
              `${svc}-2 uses 96% of its memory limit`,
            ];
  // The same small incident twice in one case would be one alert: skip the second.
  if (b.alerts.has(fingerprint({ ...b.base, ...spec[0] }))) return;
  const root = b.add(id, spec[0], spec[1], [{ start: at, end }]);
  b.incidents.push({ id, scenario: 'unrelated', root });
}

function flapper(b: CaseBuilder, id: string, at: number): void {
  const svc = b.fresh(SERVICES.filter((s) => !LEAVES.includes(s))) ?? 'reporting';
  b.claim(svc);
  const eps: Episode[] = [];
  const stop = at + b.between(30, 70) * MIN;
  for (let t = at; t < stop;) {
    const on = b.between(1, 4) * MIN;
    eps.push({ start: t, end: t + on });
    t += on + b.between(1, 5) * MIN;
  }
  const root = b.add(
    id,
    { alertname: 'HighLatency', service: svc, severity: 'warning', job: svc },
    `${svc}: p99 request latency above 2s`,
    eps,
  );
  b.incidents.push({ id, scenario: 'flapping', root });
}

export interface CorpusOptions {
  readonly seed?: number;
  readonly cases?: number;
}

/** Generates the corpus: deterministic for a seed. */
export function generateCorpus(opts: CorpusOptions = {}): CorpusCase[] {
  const seed = opts.seed ?? 42;
  const r = rng(seed);
  const out: CorpusCase[] = [];
  const T0 = Date.parse('2026-11-02T08:00:00Z');
  for (let c = 0; c < (opts.cases ?? 40); c++) {
    const start = T0 + c * 86_400_000;
    const end = start + 90 * MIN;
    const base = { env: 'prod', cluster: r() < 0.5 ? 'eu-1' : 'us-1' };
    const b = new CaseBuilder(r, start, end, base);
    const t = start + 10 * MIN;
    const kind = c % 5;
    let scenario: string;
    let n = 0;
    const next = () => `c${c}-i${n++}`;
    if (kind === 0) {
      scenario = 'cascade';
      cascade(b, next(), 'cascade', t, b.between(20, 50) * MIN, b.pick(LEAVES));
    } else if (kind === 1) {
      scenario = 'storm';
      storm(b, next(), t);
    } else if (kind === 2) {
      scenario = 'two-causes';
      const first = b.pick(['payments-db', 'orders-db', 'card-gateway', 'search-index']);
      cascade(b, next(), 'two-causes', t, b.between(20, 40) * MIN, first);
      const second = b.fresh(['profile-db', 'smtp-relay', 'sms-provider']) ?? 'sms-provider';
      cascade(b, next(), 'two-causes', t + b.between(0, 1) * MIN, b.between(20, 40) * MIN, second);
    } else if (kind === 3) {
      scenario = 're-fire';
      const id = next();
      const cause = b.pick(LEAVES);
      cascade(b, id, 're-fire', t, b.between(10, 15) * MIN, cause);
      const before = b.incidents.length;
      cascade(b, id, 're-fire', t + b.between(35, 45) * MIN, b.between(10, 20) * MIN, cause);
      b.incidents.splice(before); // one incident: the same cause fired again
    } else {
      scenario = 'flapping';
      cascade(b, next(), 'cascade', t + b.between(0, 10) * MIN, b.between(20, 40) * MIN, b.pick(DATASTORES));
      flapper(b, next(), t + b.between(-5, 5) * MIN);
    }
    const extra = 1 + Math.floor(r() * 3);
    for (let k = 0; k < extra; k++)
      if (r() < 0.3) flapper(b, next(), t + b.between(-5, 20) * MIN);
      else unrelated(b, next(), t + b.between(-5, 10) * MIN);
    const alerts: CorpusAlert[] = [...b.alerts].map(([fp, a]) => ({
      fingerprint: fp,
      labels: a.labels,
      annotations: a.annotations,
      episodes: mergeEpisodes(a.episodes),
      incident: a.incident,
    }));
    alerts.sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1));
    const topology: Topology = {
      edges: CORPUS_EDGES.map((e) => ({ ...e, calls: Math.round(e.calls * b.between(0.8, 1.2)) })),
      windowMs: 3_600_000,
    };
    out.push({ name: `${c}-${scenario}`, start, end, topology, alerts, incidents: b.incidents });
  }
  return out;
}

function mergeEpisodes(eps: readonly Episode[]): Episode[] {
  const s = [...eps].sort((a, b) => a.start - b.start);
  const out: Episode[] = [];
  for (const e of s) {
    const last = out[out.length - 1];
    if (last && e.start <= last.end)
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, e.end) };
    else out.push(e);
  }
  return out;
}
