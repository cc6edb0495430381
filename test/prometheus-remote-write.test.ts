/**
 * Debian's Prometheus scrapes a live target and remote-writes everything to Vigil; the same PromQL then
 * gives the same answers from both, because both hold the very same samples.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getJSON,
  queryURL,
  startPrometheus,
  startTestVigil,
  waitFor,
  type Peer,
  type TestVigil,
} from './helpers.ts';

let vigil: TestVigil;
let prom: Peer;
let target: Server;
let hits = 0;

function page(): string {
  hits++;
  const lines = [
    '# HELP demo_requests_total Requests served.',
    '# TYPE demo_requests_total counter',
    `demo_requests_total{path="/a",code="200"} ${hits * 7}`,
    `demo_requests_total{path="/a",code="500"} ${hits}`,
    `demo_requests_total{path="/b",code="200"} ${hits * 3 + (hits % 4)}`,
    '# HELP demo_latency_seconds Request latency.',
    '# TYPE demo_latency_seconds histogram',
  ];
  let cum = 0;
  for (const [le, per] of [
    ['0.05', 5],
    ['0.1', 3],
    ['0.5', 2],
    ['1', 1],
    ['+Inf', 1],
  ] as const) {
    cum += per * hits;
    lines.push(`demo_latency_seconds_bucket{le="${le}"} ${cum}`);
  }
  lines.push(`demo_latency_seconds_sum ${hits * 1.75}`, `demo_latency_seconds_count ${cum}`);
  lines.push(
    '# TYPE demo_temperature_celsius gauge',
    `demo_temperature_celsius{room="x"} ${20 + Math.sin(hits)}`,
  );
  return lines.join('\n') + '\n';
}

beforeAll(async () => {
  // Debian's Prometheus is 2.x: compare with Vigil in its Prometheus 2 window mode.
  vigil = await startTestVigil('query:\n  compatibility: prometheus2\n');
  target = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(page());
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const tport = (target.address() as { port: number }).port;
  prom = await startPrometheus(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ['127.0.0.1:${tport}']
remote_write:
  - url: ${vigil.url}/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
`);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await new Promise((r) => target?.close(r));
  await vigil?.stop();
});

type Vec = { metric: Record<string, string>; value: [number, string] }[];
type Mat = { metric: Record<string, string>; values: [number, string][] }[];

const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());

function close(a: string, b: string): boolean {
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  return x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

describe('Prometheus remote_write into Vigil', () => {
  let evalTime = 0;

  it('receives the samples Prometheus scraped', async () => {
    // Wait for 15 s of data in Vigil, then evaluate a few seconds back so both sides hold the same samples.
    const first = Date.now();
    await waitFor(
      'remote-written samples in Vigil',
      async () => {
        if (Date.now() - first < 15_000) return false;
        const { body } = await getJSON<{ result: Vec }>(
          queryURL(vigil.url, '/api/v1/query', { query: 'count_over_time(demo_temperature_celsius[15s])' }),
        );
        return body.status === 'success' && Number(body.data.result[0]?.value[1] ?? 0) >= 10;
      },
      60_000,
    );
    // Remote-write trails the scrape by a few seconds: evaluate where Vigil already has every sample.
    evalTime = Math.round(Date.now() - 5000) / 1000;
    await waitFor(
      'Vigil to hold samples past the evaluation time',
      async () => {
        const { body } = await getJSON<{ result: Vec }>(
          queryURL(vigil.url, '/api/v1/query', { query: 'min(timestamp(demo_temperature_celsius))' }),
        );
        return Number(body.data.result[0]?.value[1] ?? 0) > evalTime + 1;
      },
      30_000,
    );
    const { body } = await getJSON(
      queryURL(vigil.url, '/api/v1/query', { query: 'up{job="demo"}', time: evalTime }),
    );
    expect(body.data.result).toEqual([
      { metric: { __name__: 'up', instance: expect.any(String), job: 'demo' }, value: [evalTime, '1'] },
    ]);
  }, 90_000);

  const instantQueries = [
    'demo_requests_total',
    'demo_requests_total{path=~"/a|/c", code!="500"}',
    'rate(demo_requests_total[5s])',
    'sum by (code) (rate(demo_requests_total[10s]))',
    'sum without (instance) (increase(demo_requests_total[10s]))',
    'histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[10s])))',
    'topk(2, demo_requests_total)',
    'avg_over_time(demo_temperature_celsius[10s])',
    'max_over_time(demo_temperature_celsius[10s]) - min_over_time(demo_temperature_celsius[10s])',
    'demo_requests_total / on (instance, job, path) group_left sum by (instance, job, path) (demo_requests_total)',
    'count(up) by (job)',
    'irate(demo_latency_seconds_count[5s]) > bool 0',
    'deriv(demo_temperature_celsius[10s])',
  ];

  it.each(instantQueries)('instant query %s matches Prometheus', async (query) => {
    expect(evalTime).toBeGreaterThan(0);
    const params = { query, time: evalTime };
    const [a, b] = await Promise.all([
      getJSON<{ resultType: string; result: Vec }>(queryURL(prom.url, '/api/v1/query', params)),
      getJSON<{ resultType: string; result: Vec }>(queryURL(vigil.url, '/api/v1/query', params)),
    ]);
    expect(a.body.status).toBe('success');
    expect(b.body).toMatchObject({ status: 'success', data: { resultType: a.body.data.resultType } });
    const want = new Map(a.body.data.result.map((s) => [key(s.metric), s.value]));
    const got = new Map(b.body.data.result.map((s) => [key(s.metric), s.value]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    expect(want.size).toBeGreaterThan(0);
    for (const [k, [t, v]] of want) {
      const [gt, gv] = got.get(k)!;
      expect(gt).toBe(t);
      expect(close(gv, v), `${query} ${k}: vigil ${gv}, prometheus ${v}`).toBe(true);
    }
  });

  it.each([
    'rate(demo_requests_total[5s])',
    'sum(demo_latency_seconds_bucket) by (le)',
    'demo_temperature_celsius * 2',
  ])('range query %s matches Prometheus', async (query) => {
    const params = { query, start: evalTime - 10, end: evalTime, step: 1 };
    const [a, b] = await Promise.all([
      getJSON<{ result: Mat }>(queryURL(prom.url, '/api/v1/query_range', params)),
      getJSON<{ result: Mat }>(queryURL(vigil.url, '/api/v1/query_range', params)),
    ]);
    expect(b.body.status).toBe('success');
    const want = new Map(a.body.data.result.map((s) => [key(s.metric), s.values]));
    const got = new Map(b.body.data.result.map((s) => [key(s.metric), s.values]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, values] of want) {
      const g = got.get(k)!;
      expect(g.map((p) => p[0])).toEqual(values.map((p) => p[0]));
      values.forEach(([, v], i) => expect(close(g[i]![1], v), `${query} ${k} @${values[i]![0]}`).toBe(true));
    }
  });

  it('answers series, labels and label values like Prometheus', async () => {
    const p = { 'match[]': 'demo_requests_total', start: evalTime - 10, end: evalTime };
    const [a, b] = await Promise.all([
      getJSON(queryURL(prom.url, '/api/v1/series', p)),
      getJSON(queryURL(vigil.url, '/api/v1/series', p)),
    ]);
    expect(new Set(b.body.data.map(key))).toEqual(new Set(a.body.data.map(key)));
    const [la, lb] = await Promise.all([
      getJSON(queryURL(prom.url, '/api/v1/label/path/values', p)),
      getJSON(queryURL(vigil.url, '/api/v1/label/path/values', p)),
    ]);
    expect(lb.body.data).toEqual(la.body.data);
    const [na, nb] = await Promise.all([
      getJSON(queryURL(prom.url, '/api/v1/labels', p)),
      getJSON(queryURL(vigil.url, '/api/v1/labels', p)),
    ]);
    expect(nb.body.data).toEqual(na.body.data);
  });
});
