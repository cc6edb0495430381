/**
 * /api/v1/query_exemplars over a real HTTP server with the in-memory storages: Prometheus' response shape,
 * series chosen by the vector selectors inside the query, time bounds, and bad input.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, parse } from '../query/promql/index.ts';
import { MemoryExemplarStore } from '../store/exemplars.memory.ts';
import { MemoryStorage } from '../store/memory.ts';
import { exemplarSelectors, prometheusApi } from './prometheus.ts';
import { createServer } from './server.ts';

const T0 = 1_700_000_000; // seconds
const TRACE = (n: number) => n.toString(16).padStart(32, '0');
let app: FastifyInstance;
let base = '';

const bucket = (le: string, service = 'checkout') => ({
  __name__: 'traces_span_metrics_duration_seconds_bucket',
  service_name: service,
  le,
});

beforeAll(async () => {
  const exemplars = new MemoryExemplarStore();
  await exemplars.append([
    {
      seriesLabels: bucket('0.1'),
      t: T0 * 1000 + 500,
      value: 0.0625,
      labels: { trace_id: TRACE(1), span_id: 'a'.repeat(16) },
    },
    {
      seriesLabels: bucket('5'),
      t: (T0 + 30) * 1000,
      value: 3.25,
      labels: { trace_id: TRACE(2), span_id: 'b'.repeat(16) },
    },
    {
      seriesLabels: bucket('5', 'cart'),
      t: (T0 + 60) * 1000,
      value: 1e-7,
      labels: { trace_id: TRACE(3), span_id: 'c'.repeat(16) },
    },
    {
      seriesLabels: { __name__: 'rpc_total', job: 'x' },
      t: (T0 + 10) * 1000,
      value: 1,
      labels: { trace_id: TRACE(4) },
    },
  ]);
  app = createServer({ bodyLimit: 1 << 20 });
  await app.register(
    prometheusApi({
      storage: new MemoryStorage(),
      engine: new Engine({ maxSamples: 100_000 }),
      buildInfo: { version: 'test', revision: '', branch: '', buildUser: '', buildDate: '', goVersion: '' },
      queryTimeoutMs: 10_000,
      exemplars,
    }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app?.close();
});

async function get(params: Record<string, string | number>) {
  const res = await fetch(
    `${base}/api/v1/query_exemplars?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`,
  );
  return { status: res.status, body: (await res.json()) as any };
}

describe('exemplarSelectors', () => {
  it('collects the matchers of every vector selector, in query order', () => {
    const sets = exemplarSelectors(
      parse(
        'histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="1"}[5m]))) / on() group_left b + -max_over_time((c offset 5m)[10m:1m]) > bool scalar(d)',
      ),
    );
    expect(sets.map((ms) => ms.map((m) => `${m.name}${m.type}${m.value}`).sort())).toEqual([
      ['__name__=a_bucket', 'x=1'],
      ['__name__=b'],
      ['__name__=c'],
      ['__name__=d'],
    ]);
    expect(exemplarSelectors(parse('1 + 2'))).toEqual([]);
  });
});

describe('/api/v1/query_exemplars', () => {
  it("answers in Prometheus' shape for the series a histogram_quantile query reads", async () => {
    const res = await get({
      query:
        'histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_seconds_bucket{service_name="checkout"}[5m])))',
      start: T0,
      end: T0 + 600,
    });
    expect(res).toEqual({
      status: 200,
      body: {
        status: 'success',
        data: [
          {
            seriesLabels: bucket('0.1'),
            exemplars: [
              {
                labels: { span_id: 'a'.repeat(16), trace_id: TRACE(1) },
                value: '0.0625',
                timestamp: T0 + 0.5,
              },
            ],
          },
          {
            seriesLabels: bucket('5'),
            exemplars: [
              { labels: { span_id: 'b'.repeat(16), trace_id: TRACE(2) }, value: '3.25', timestamp: T0 + 30 },
            ],
          },
        ],
      },
    });
  });

  it('takes the series of every selector, restricted to the time range, values in plain decimal', async () => {
    const res = await get({
      query: 'sum(rate(traces_span_metrics_duration_seconds_bucket{le="5"}[1m])) + sum(rpc_total)',
      start: T0 + 5,
      end: T0 + 60,
    });
    expect(
      res.body.data.map((s: any) => [
        s.seriesLabels.__name__,
        s.seriesLabels.service_name,
        s.exemplars[0].value,
      ]),
    ).toEqual([
      ['rpc_total', undefined, '1'],
      ['traces_span_metrics_duration_seconds_bucket', 'cart', '0.0000001'],
      ['traces_span_metrics_duration_seconds_bucket', 'checkout', '3.25'],
    ]);
    const post = await fetch(`${base}/api/v1/query_exemplars`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'rpc_total', start: String(T0), end: String(T0 + 5) }).toString(),
    });
    expect(await post.json()).toEqual({ status: 'success', data: [] });
  });

  it('answers an empty list for a query without selectors or series without exemplars', async () => {
    expect((await get({ query: 'vector(1)' })).body).toEqual({ status: 'success', data: [] });
    expect((await get({ query: 'nothing_here' })).body).toEqual({ status: 'success', data: [] });
  });

  it('refuses bad input with bad_data naming the parameter', async () => {
    const cases: [Record<string, string | number>, RegExp][] = [
      [{}, /^invalid parameter "query": query must not be empty$/],
      [{ query: 'rate(x[5m]' }, /^invalid parameter "query": .*parse error/],
      [
        { query: 'x', start: 'yesterday' },
        /^invalid parameter "start": cannot parse "yesterday" to a valid timestamp$/,
      ],
      [
        { query: 'x', start: 10, end: 5 },
        /^invalid parameter "end": end timestamp must not be before start time$/,
      ],
    ];
    for (const [params, msg] of cases) {
      const res = await get(params);
      expect(res.status).toBe(400);
      expect(res.body.errorType).toBe('bad_data');
      expect(res.body.error).toMatch(msg);
    }
  });
});
