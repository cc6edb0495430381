import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { TargetStatus } from '../ingest/scrape/index.ts';
import { STALE_NAN, type Labels } from '../model/labels.ts';
import { Engine } from '../query/promql/index.ts';
import type { Queryable } from '../store/interface.ts';
import { MemoryStorage } from '../store/memory.ts';
import {
  OverviewCache,
  buildOverview,
  overviewApi,
  type Overview,
  type OverviewComponent,
} from './overview.ts';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const engine = new Engine();

/** Writes `fn(t)` every `every` ms over [from, to]. */
function fill(
  s: MemoryStorage,
  labels: Labels,
  every: number,
  from: number,
  to: number,
  fn: (t: number, i: number) => number,
) {
  for (let t = from, i = 0; t <= to; t += every, i++) s.add(labels, t, fn(t, i));
}

function target(
  job: string,
  instance: string,
  health: 'up' | 'down' | 'unknown',
  lastError = '',
): TargetStatus {
  return {
    discoveredLabels: {},
    labels: { job, instance },
    scrapePool: job,
    scrapeUrl: `http://${instance}/metrics`,
    globalUrl: `http://${instance}/metrics`,
    lastError,
    lastScrape: new Date(NOW - 5000).toISOString(),
    lastScrapeDuration: 0.01,
    health,
    scrapeInterval: '15s',
    scrapeTimeout: '10s',
  };
}

/** A scrape target with up, scrape_samples_scraped, process and HTTP metrics, scraped every 15 s. */
function scraped(s: MemoryStorage, job: string, instance: string, from = NOW - HOUR, to = NOW, up = 1) {
  const id = { job, instance };
  fill(s, { __name__: 'up', ...id }, 15_000, from, to, () => up);
  fill(s, { __name__: 'scrape_samples_scraped', ...id }, 15_000, from, to, () => 150);
  fill(s, { __name__: 'process_cpu_seconds_total', ...id }, 15_000, from, to, (_t, i) => i * 3); // 0.2 cores
  fill(s, { __name__: 'process_resident_memory_bytes', ...id }, 15_000, from, to, () => 64e6);
  fill(s, { __name__: 'http_requests_total', code: '200', ...id }, 15_000, from, to, (_t, i) => i * 30); // 2/s
  fill(s, { __name__: 'http_requests_total', code: '503', ...id }, 15_000, from, to, (_t, i) => i * 3); // 0.2/s
}

/** What the host collector writes, every 10 s. */
function host(s: MemoryStorage, instance: string, from = NOW - HOUR, to = NOW) {
  const id = { job: 'node', instance };
  fill(s, { __name__: 'node_time_seconds', ...id }, 10_000, from, to, (t) => t / 1000);
  fill(
    s,
    { __name__: 'node_cpu_seconds_total', cpu: '0', mode: 'idle', ...id },
    10_000,
    from,
    to,
    (_t, i) => i * 7.5,
  );
  fill(
    s,
    { __name__: 'node_cpu_seconds_total', cpu: '0', mode: 'user', ...id },
    10_000,
    from,
    to,
    (_t, i) => i * 2.5,
  ); // 25 %
  fill(s, { __name__: 'node_memory_MemAvailable_bytes', ...id }, 10_000, from, to, () => 3e9);
  fill(s, { __name__: 'node_memory_MemTotal_bytes', ...id }, 10_000, from, to, () => 4e9); // 25 % used
}

/** What OTLP ingestion writes for a service with the OTel HTTP server histogram, every 30 s. */
function otlp(s: MemoryStorage, job: string, instance: string, attrs: Record<string, string> = {}) {
  const id = { job, instance };
  const from = NOW - HOUR;
  fill(s, { __name__: 'target_info', ...id, ...attrs }, 30_000, from, NOW, () => 1);
  const count = '__name__';
  fill(
    s,
    { [count]: 'http_server_request_duration_seconds_count', http_response_status_code: '200', ...id },
    30_000,
    from,
    NOW,
    (_t, i) => i * 30,
  );
  fill(
    s,
    { [count]: 'http_server_request_duration_seconds_count', http_response_status_code: '500', ...id },
    30_000,
    from,
    NOW,
    (_t, i) => i * 10,
  );
  // All requests take between 0.1 and 0.5 s.
  for (const code of ['200', '500'])
    for (const [le, share] of [
      ['0.1', 0],
      ['0.5', 1],
      ['+Inf', 1],
    ] as const)
      fill(
        s,
        {
          __name__: 'http_server_request_duration_seconds_bucket',
          http_response_status_code: code,
          le,
          ...id,
        },
        30_000,
        from,
        NOW,
        (_t, i) => i * (code === '200' ? 30 : 10) * share,
      );
}

function fixture(): { storage: MemoryStorage; targets: TargetStatus[] } {
  const storage = new MemoryStorage();
  scraped(storage, 'api', 'api-1:8080');
  scraped(storage, 'db', 'db-1:5432', NOW - HOUR, NOW, 0);
  scraped(storage, 'old', 'old-1:9000', NOW - HOUR, NOW - 30 * 60_000);
  scraped(storage, 'gone', 'gone-1:9000', NOW - HOUR, NOW - 4 * 60_000);
  storage.add({ __name__: 'up', job: 'gone', instance: 'gone-1:9000' }, NOW - 4 * 60_000 + 15_000, STALE_NAN);
  scraped(storage, 'vigil', '127.0.0.1:9400');
  host(storage, 'host-1');
  host(storage, 'host-2', NOW - HOUR, NOW - 10 * 60_000);
  otlp(storage, 'shop/checkout', 'abc-123');
  otlp(storage, 'cart', 'pod-7', { k8s_namespace_name: 'prod' });
  const targets = [
    target('api', 'api-1:8080', 'up'),
    target('db', 'db-1:5432', 'down', 'Get "http://db-1:5432/metrics": dial tcp: connection refused'),
    target('old', 'old-1:9000', 'up'),
    target('new', 'new-1:9100', 'unknown'),
    target('vigil', '127.0.0.1:9400', 'up'),
  ];
  return { storage, targets };
}

async function overviewOf(storage: Queryable, targets: TargetStatus[], rangeMs = HOUR): Promise<Overview> {
  return buildOverview(
    { storage, engine, targets: () => targets, now: () => NOW },
    rangeMs,
    new AbortController().signal,
  );
}

function byJob(o: Overview): Map<string, OverviewComponent> {
  return new Map(o.components.map((c) => [`${c.job}/${c.instance}`, c]));
}

const figure = (c: OverviewComponent, key: string) => c.figures.find((f) => f.key === key);

describe('overview', () => {
  it('lists every component with kind, name, namespace, status and reason', async () => {
    const { storage, targets } = fixture();
    const o = await overviewOf(storage, targets);
    const summary = o.components.map((c) => ({
      id: c.id,
      kind: c.kind,
      name: c.name,
      ns: c.namespace,
      status: c.status,
      reason: c.reason,
    }));
    const c = byJob(o);
    expect([...c.keys()]).toEqual([
      'api/api-1:8080',
      'cart/pod-7',
      'db/db-1:5432',
      'gone/gone-1:9000',
      'new/new-1:9100',
      'node/host-1',
      'node/host-2',
      'old/old-1:9000',
      'shop/checkout/abc-123',
      'vigil/127.0.0.1:9400',
    ]);
    expect(summary.find((s) => s.id === 'vigil/127.0.0.1%3A9400')).toMatchObject({
      kind: 'vigil',
      status: 'up',
    });
    expect(c.get('api/api-1:8080')).toMatchObject({
      kind: 'scrape',
      name: 'api-1:8080',
      status: 'up',
      lastSeen: NOW,
    });
    expect(c.get('api/api-1:8080')!.reason).toBeUndefined();
    expect(c.get('db/db-1:5432')).toMatchObject({
      status: 'down',
      reason: 'Get "http://db-1:5432/metrics": dial tcp: connection refused',
    });
    expect(c.get('old/old-1:9000')).toMatchObject({
      status: 'stale',
      lastSeen: NOW - 30 * 60_000,
      reason: `no sample since ${new Date(NOW - 30 * 60_000).toISOString()} (expected every 15s)`,
    });
    expect(c.get('gone/gone-1:9000')).toMatchObject({
      status: 'stale',
      reason: expect.stringMatching(/^stopped reporting at .* \(the target was removed or went away\)$/),
    });
    expect(c.get('new/new-1:9100')).toMatchObject({
      status: 'stale',
      reason: 'not scraped yet',
      lastSeen: null,
    });
    expect(c.get('node/host-1')).toMatchObject({ kind: 'host', name: 'host-1', status: 'up' });
    // The host writes every 10 s: silent for 10 minutes is stale.
    expect(c.get('node/host-2')).toMatchObject({
      kind: 'host',
      status: 'stale',
      reason: `no sample since ${new Date(NOW - 10 * 60_000).toISOString()} (expected every 10s)`,
    });
    expect(c.get('shop/checkout/abc-123')).toMatchObject({
      kind: 'otlp',
      name: 'checkout',
      namespace: 'shop',
      status: 'up',
    });
    expect(c.get('cart/pod-7')).toMatchObject({
      kind: 'otlp',
      name: 'cart',
      namespace: 'prod',
      status: 'up',
    });
  });

  it('reports up == 0 as down even without the scrape manager knowing the target', async () => {
    const { storage } = fixture();
    const o = await overviewOf(storage, []);
    expect(byJob(o).get('db/db-1:5432')).toMatchObject({
      status: 'down',
      reason: 'the last scrape failed (up is 0)',
    });
  });

  it('computes figures with sparklines and per-component queries', async () => {
    const { storage, targets } = fixture();
    const o = await overviewOf(storage, targets);
    expect(o.generatedAt).toBe(NOW);
    expect(o.spark).toEqual({ start: NOW - HOUR, step: 60_000, points: 61 });
    const c = byJob(o);

    const api = c.get('api/api-1:8080')!;
    expect(api.figures.map((f) => f.key)).toEqual(['samples', 'requests', 'errors', 'cpu', 'memory']);
    for (const f of api.figures) expect(f.spark).toHaveLength(61);
    expect(figure(api, 'samples')!.value).toBeCloseTo(10, 5); // 150 samples every 15 s
    expect(figure(api, 'requests')).toMatchObject({ unit: 'req/s', label: 'Request rate' });
    expect(figure(api, 'requests')!.value).toBeCloseTo(2.2, 5);
    expect(figure(api, 'errors')!.value).toBeCloseTo((100 * 0.2) / 2.2, 5);
    expect(figure(api, 'cpu')).toMatchObject({ unit: 'cores' });
    expect(figure(api, 'cpu')!.value).toBeCloseTo(0.2, 5);
    expect(figure(api, 'memory')).toMatchObject({ unit: 'bytes', value: 64e6 });
    expect(figure(api, 'requests')!.query).toBe(
      'sum(rate(http_requests_total{job="api",instance="api-1:8080"}[75s]))',
    );

    const h = c.get('node/host-1')!;
    expect(h.figures.map((f) => f.key)).toEqual(['samples', 'cpu', 'memory']);
    expect(figure(h, 'cpu')).toMatchObject({ unit: 'percent' });
    expect(figure(h, 'cpu')!.value).toBeCloseTo(25, 5);
    expect(figure(h, 'memory')!.value).toBeCloseTo(25, 5);
    expect(figure(h, 'samples')!.value).toBeCloseTo(0.5, 5); // 5 series every 10 s
    expect(figure(h, 'samples')!.query).toBe('count({job="node",instance="host-1"}) / 10');

    const svc = c.get('shop/checkout/abc-123')!;
    expect(svc.figures.map((f) => f.key)).toEqual(['samples', 'requests', 'errors', 'latency_p95']);
    expect(figure(svc, 'requests')!.value).toBeCloseTo(40 / 30, 5);
    // 9 series (target_info, 2 counts, 6 buckets) written every 30 s.
    expect(figure(svc, 'samples')!.value).toBeCloseTo(9 / 30, 5);
    expect(figure(svc, 'samples')!.query).toBe('count({job="shop/checkout",instance="abc-123"}) / 30');
    expect(figure(svc, 'errors')!.value).toBeCloseTo(25, 5);
    expect(figure(svc, 'latency_p95')!.value).toBeCloseTo(0.1 + 0.4 * 0.95, 5);
    expect(figure(svc, 'latency_p95')!.query).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{job="shop/checkout",instance="abc-123"}[75s])))',
    );

    // A component that stopped half an hour ago has a sparkline that ends there.
    const old = figure(c.get('old/old-1:9000')!, 'memory')!;
    expect(old.value).toBeNull();
    expect(old.spark[0]).toBe(64e6);
    expect(old.spark.at(-1)).toBeNull();
    expect(o.warnings).toEqual([]);
  });

  it('shows 0 % errors for a service without errors', async () => {
    const storage = new MemoryStorage();
    scraped(storage, 'ok', 'ok-1:80');
    await storage.deleteSeries([[{ name: 'code', type: '=', value: '503' }]], -Infinity, Infinity);
    const o = await overviewOf(storage, []);
    expect(figure(o.components[0]!, 'errors')!.value).toBe(0);
  });

  it('escapes label values in queries', async () => {
    const storage = new MemoryStorage();
    scraped(storage, 'we"ird\\job', 'a\nb');
    const o = await overviewOf(storage, []);
    expect(figure(o.components[0]!, 'memory')!.query).toBe(
      'sum(process_resident_memory_bytes{job="we\\"ird\\\\job",instance="a\\nb"})',
    );
    expect(o.components[0]!.id).toBe('we%22ird%5Cjob/a%0Ab');
  });

  it('runs the same number of storage reads for 3 or 60 components', async () => {
    const reads = async (n: number) => {
      const storage = new MemoryStorage();
      for (let i = 0; i < n; i++) scraped(storage, `job${i % 3}`, `i${i}:80`, NOW - 10 * 60_000);
      let selects = 0;
      const counting: Queryable = {
        querier: (mint, maxt) => {
          const q = storage.querier(mint, maxt);
          return { ...q, select: (m, h) => (selects++, q.select(m, h)) };
        },
      };
      const o = await overviewOf(counting, []);
      expect(o.components).toHaveLength(n);
      return selects;
    };
    expect(await reads(3)).toBe(await reads(60));
  });

  it('serves GET /api/vigil/v1/overview and checks the range', async () => {
    const { storage, targets } = fixture();
    const app = Fastify();
    await app.register(overviewApi({ storage, engine, targets: () => targets, now: () => NOW }));
    try {
      const res = await app.inject({ method: 'GET', url: '/api/vigil/v1/overview?range=6h' });
      expect(res.statusCode).toBe(200);
      const body = res.json() as Overview;
      expect(body.spark).toEqual({ start: NOW - 6 * HOUR, step: 360_000, points: 61 });
      expect(body.components).toHaveLength(10);

      const dflt = (await app.inject({ method: 'GET', url: '/api/vigil/v1/overview' })).json() as Overview;
      expect(dflt.spark.step).toBe(60_000);

      for (const [range, msg] of [
        ['banana', /invalid parameter "range": not a valid duration string/],
        ['10s', /outside 1m\.\.1w/],
        ['30d', /outside 1m\.\.1w/],
      ] as const) {
        const bad = await app.inject({ method: 'GET', url: `/api/vigil/v1/overview?range=${range}` });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error).toMatch(msg);
      }
    } finally {
      await app.close();
    }
  });
});

describe('OverviewCache', () => {
  const make = () => {
    let clock = 0;
    let calls = 0;
    let fail = false;
    const cache = new OverviewCache(
      async () => {
        calls++;
        if (fail) throw new Error('boom');
        return { generatedAt: clock, spark: { start: 0, step: 1, points: 1 }, components: [], warnings: [] };
      },
      10_000,
      60_000,
      () => clock,
    );
    return {
      cache,
      calls: () => calls,
      tick: (ms: number) => (clock += ms),
      setFail: (f: boolean) => (fail = f),
    };
  };

  it('shares one computation between concurrent callers and serves it while fresh', async () => {
    const c = make();
    const [a, b] = await Promise.all([c.cache.get(1), c.cache.get(1)]);
    expect(a).toBe(b);
    c.tick(5_000);
    expect(await c.cache.get(1)).toBe(a);
    expect(c.calls()).toBe(1);
  });

  it('serves a stale answer at once and refreshes it in the background', async () => {
    const c = make();
    const first = await c.cache.get(1);
    c.tick(20_000);
    expect(await c.cache.get(1)).toBe(first);
    await new Promise((r) => setTimeout(r, 0));
    expect(c.calls()).toBe(2);
    expect((await c.cache.get(1)).generatedAt).toBe(20_000);
  });

  it('computes while the caller waits once the answer is too old, and keeps the last good one on failure', async () => {
    const c = make();
    await c.cache.get(1);
    c.tick(120_000);
    c.setFail(true);
    await expect(c.cache.get(1)).rejects.toThrow('boom');
    c.setFail(false);
    expect((await c.cache.get(1)).generatedAt).toBe(120_000);
  });
});
