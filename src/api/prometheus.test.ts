/**
 * The Prometheus HTTP API over a real HTTP server (Fastify on an ephemeral port) with the in-memory storage and
 * the real PromQL engine: the endpoints Grafana's Prometheus data source calls and their bad-input answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Engine } from '../query/promql/index.ts';
import { MemoryStorage } from '../store/memory.ts';
import { prometheusApi } from './prometheus.ts';
import { createServer } from './server.ts';

const T0 = 1_700_000_000; // seconds
let app: FastifyInstance;
let base = '';

beforeAll(async () => {
  const storage = new MemoryStorage();
  for (let k = 0; k <= 60; k++) {
    const t = (T0 + k * 15) * 1000;
    storage.add({ __name__: 'req_total', job: 'api', instance: 'a' }, t, k * 10);
    storage.add({ __name__: 'req_total', job: 'api', instance: 'b' }, t, k * 20);
    storage.add({ __name__: 'temp_celsius', job: 'node', instance: 'a' }, t, 20 + (k % 3));
  }
  // A series that only exists late, to check time bounds of labels and series.
  storage.add({ __name__: 'late_metric', job: 'batch', zone: 'eu' }, (T0 + 3600) * 1000, 1);
  app = createServer({ bodyLimit: 1 << 20 });
  await app.register(
    prometheusApi({
      storage,
      engine: new Engine({ maxSamples: 100_000 }),
      buildInfo: {
        version: 'test',
        revision: '',
        branch: '',
        buildUser: '',
        buildDate: '',
        goVersion: '',
      },
      queryTimeoutMs: 10_000,
    }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app?.close();
});

type Body = any;

async function get(path: string, params: Record<string, string | number | string[]> = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
  }
  const res = await fetch(`${base}${path}?${qs}`);
  return { status: res.status, body: (await res.json()) as Body };
}

async function post(path: string, params: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

describe('/api/v1/format_query', () => {
  it('prints a short query on one line in canonical form', async () => {
    const res = await get('/api/v1/format_query', {
      query: 'sum(rate(req_total{job="api",instance=~"a|b"}[5m])) by (job) > bool 0.5',
    });
    expect(res).toEqual({
      status: 200,
      body: {
        status: 'success',
        data: 'sum by (job) (rate(req_total{instance=~"a|b",job="api"}[5m])) > bool 0.5',
      },
    });
  });

  it('splits a query longer than 100 characters, indenting each level by two spaces', async () => {
    const query =
      'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket{job="api", code=~"5.."}[5m]))) / on (job) group_left () max by (job) (up)';
    const res = await post('/api/v1/format_query', { query });
    expect(res.status).toBe(200);
    expect(res.body.data).toBe(
      [
        '  histogram_quantile(',
        '    0.99,',
        '    sum by (le, job) (rate(http_request_duration_seconds_bucket{code=~"5..",job="api"}[5m]))',
        '  )',
        '/ on (job) group_left ()',
        '  max by (job) (up)',
      ].join('\n'),
    );
  });

  it('refuses an invalid query with bad_data naming the position', async () => {
    const res = await get('/api/v1/format_query', { query: 'sum(rate(x[5m])' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect(res.body.error).toMatch(
      /^invalid parameter "query": 1:16: parse error: unclosed left parenthesis$/,
    );
  });

  it('refuses a missing query', async () => {
    const res = await get('/api/v1/format_query');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid parameter "query": query must not be empty');
  });
});

describe('/api/v1/parse_query', () => {
  it('returns the syntax tree as JSON', async () => {
    const res = await get('/api/v1/parse_query', {
      query: 'sum by (job) (rate(req_total[5m] offset 1m)) * 2',
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      type: 'binaryExpr',
      op: '*',
      bool: false,
      matching: null,
      lhs: {
        type: 'aggregation',
        op: 'sum',
        grouping: ['job'],
        without: false,
        param: null,
        expr: {
          type: 'call',
          func: { name: 'rate', argTypes: ['matrix'], variadic: 0, returnType: 'vector' },
          args: [
            {
              type: 'matrixSelector',
              name: 'req_total',
              range: 300_000,
              offset: 60_000,
              matchers: [{ name: '__name__', type: '=', value: 'req_total' }],
              timestamp: null,
              startOrEnd: null,
            },
          ],
        },
      },
      rhs: { type: 'numberLiteral', val: '2' },
    });
  });

  it('describes vector matching, subqueries and @ modifiers', async () => {
    const res = await post('/api/v1/parse_query', {
      query: 'a / on (x) group_left (y) max_over_time(b[10m:1m] @ end())',
    });
    expect(res.body.data.matching).toEqual({ card: 'many-to-one', labels: ['x'], on: true, include: ['y'] });
    expect(res.body.data.rhs.args[0]).toMatchObject({
      type: 'subquery',
      range: 600_000,
      step: 60_000,
      offset: 0,
      timestamp: null,
      startOrEnd: 'end',
      expr: { type: 'vectorSelector', name: 'b' },
    });
  });

  it('refuses an invalid query', async () => {
    const res = await get('/api/v1/parse_query', { query: 'frobnicate(x)' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      'invalid parameter "query": 1:1: parse error: unknown function with name "frobnicate"',
    );
  });
});

describe('/api/v1/query_exemplars', () => {
  it('answers a valid query with no exemplars', async () => {
    const res = await get('/api/v1/query_exemplars', { query: 'req_total', start: T0, end: T0 + 900 });
    expect(res).toEqual({ status: 200, body: { status: 'success', data: [] } });
    expect((await post('/api/v1/query_exemplars', { query: 'rate(req_total[5m])' })).body).toEqual({
      status: 'success',
      data: [],
    });
  });

  it('refuses an invalid query and bad bounds', async () => {
    const bad = await get('/api/v1/query_exemplars', { query: 'req_total{' });
    expect(bad.status).toBe(400);
    expect(bad.body.errorType).toBe('bad_data');
    expect(bad.body.error).toMatch(/^invalid parameter "query": 1:11: parse error/);
    const reversed = await get('/api/v1/query_exemplars', { query: 'req_total', start: 10, end: 5 });
    expect(reversed.body.error).toBe('invalid parameter "end": end timestamp must not be before start time');
  });
});

describe('/api/v1/query_range', () => {
  it('evaluates at start, start+step, ... up to end, whatever their alignment', async () => {
    const res = await get('/api/v1/query_range', {
      query: 'req_total{instance="a"}',
      start: T0 + 7,
      end: T0 + 52,
      step: '15s',
    });
    expect(res.body.data.result[0].values).toEqual([
      [T0 + 7, '0'],
      [T0 + 22, '10'],
      [T0 + 37, '20'],
      [T0 + 52, '30'],
    ]);
  });

  it('accepts Grafana-aligned bounds and fractional steps', async () => {
    const res = await get('/api/v1/query_range', {
      query: 'sum(req_total)',
      start: T0 + 30,
      end: T0 + 31,
      step: '0.25',
    });
    expect(res.body.data.result[0].values.map((p: [number, string]) => p[0])).toEqual([
      T0 + 30,
      T0 + 30.25,
      T0 + 30.5,
      T0 + 30.75,
      T0 + 31,
    ]);
  });

  it('allows exactly 11,000 steps and refuses one more', async () => {
    const ok = await get('/api/v1/query_range', { query: '1', start: 0, end: 11_000, step: 1 });
    expect(ok.status).toBe(200);
    expect(ok.body.data.result[0].values).toHaveLength(11_001);
    const tooMany = await get('/api/v1/query_range', { query: '1', start: 0, end: 11_001, step: 1 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toBe(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  });

  it('names the parameter that is wrong', async () => {
    const cases: [Record<string, string | number>, string][] = [
      [{ query: 'up', end: 10, step: 1 }, 'invalid parameter "start": cannot parse "" to a valid timestamp'],
      [{ query: 'up', start: 0, end: 10 }, 'invalid parameter "step": cannot parse "" to a valid duration'],
      [
        { query: 'up', start: 0, end: 10, step: -1 },
        'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
      ],
      [
        { query: 'up', start: 0, end: 10, step: '1e300' },
        'invalid parameter "step": cannot parse "1e300" to a valid duration. It overflows int64',
      ],
      [
        { query: 'up', start: 10, end: 0, step: 1 },
        'invalid parameter "end": end timestamp must not be before start time',
      ],
    ];
    for (const [params, error] of cases) {
      const res = await get('/api/v1/query_range', params);
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.body).toEqual({ status: 'error', errorType: 'bad_data', error });
    }
  });

  it('answers a huge step with the points that fit', async () => {
    const res = await get('/api/v1/query_range', { query: 'vector(1)', start: 0, end: 100, step: '10y' });
    expect(res.body.data.result[0].values).toEqual([[0, '1']]);
  });

  it('refuses a subquery with more steps than the sample limit before allocating them', async () => {
    const res = await get('/api/v1/query', { query: 'count_over_time(vector(1)[100y:1s])', time: T0 });
    expect(res.status).toBe(422);
    expect(res.body.errorType).toBe('execution');
    expect(res.body.error).toMatch(/too many samples/);
  });
});

describe('annotations and evaluation errors', () => {
  it('returns warnings with the position they are about', async () => {
    const res = await get('/api/v1/query', { query: 'quantile(1.5, req_total)', time: T0 + 600 });
    expect(res.status).toBe(200);
    expect(res.body.warnings).toEqual([
      'PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:10)',
    ]);
    expect(res.body.data.result[0].value[1]).toBe('+Inf');
  });

  it('returns infos separately', async () => {
    const res = await get('/api/v1/query_range', {
      query: 'rate(temp_celsius[5m])',
      start: T0 + 300,
      end: T0 + 600,
      step: 60,
    });
    expect(res.status).toBe(200);
    expect(res.body.warnings).toBeUndefined();
    expect(res.body.infos).toEqual([
      'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "temp_celsius" (1:6)',
    ]);
  });

  it('answers many-to-many matching with 422 execution naming the expression', async () => {
    const res = await get('/api/v1/query', { query: 'req_total + on(job) req_total', time: T0 + 600 });
    expect(res.status).toBe(422);
    expect(res.body.errorType).toBe('execution');
    expect(res.body.error).toMatch(
      /^found duplicate series for the match group \{job="api"\} on the right hand-side of the operation: .*many-to-many matching not allowed: matching labels must be unique on one side \(1:1\)$/,
    );
  });

  it('answers wrong argument types and counts with bad_data naming the position', async () => {
    const type = await get('/api/v1/query', { query: 'sum(rate(req_total))' });
    expect(type.body).toEqual({
      status: 'error',
      errorType: 'bad_data',
      error: '1:10: parse error: expected type range vector in call to function "rate", got instant vector',
    });
    const count = await get('/api/v1/query', { query: 'clamp(req_total, 1)' });
    expect(count.body.error).toBe('1:1: parse error: expected 3 argument(s) in call to "clamp", got 2');
  });
});

describe('/api/v1/labels and /api/v1/series', () => {
  it('honour match[] and the time bounds', async () => {
    const all = await get('/api/v1/labels');
    expect(all.body.data).toEqual(['__name__', 'instance', 'job', 'zone']);
    const early = await get('/api/v1/labels', { start: T0, end: T0 + 900 });
    expect(early.body.data).toEqual(['__name__', 'instance', 'job']);
    const matched = await get('/api/v1/labels', { 'match[]': 'late_metric' });
    expect(matched.body.data).toEqual(['__name__', 'job', 'zone']);
    const series = await get('/api/v1/series', {
      'match[]': ['req_total{instance="b"}', 'late_metric'],
      start: T0,
      end: T0 + 900,
    });
    expect(series.body.data).toEqual([{ __name__: 'req_total', instance: 'b', job: 'api' }]);
    const late = await post('/api/v1/series', { 'match[]': '{job="batch"}', start: String(T0 + 3000) });
    expect(late.body.data).toEqual([{ __name__: 'late_metric', job: 'batch', zone: 'eu' }]);
  });

  it('honour limit with a warning when results were cut', async () => {
    const labels = await get('/api/v1/labels', { limit: 2 });
    expect(labels.body).toEqual({
      status: 'success',
      data: ['__name__', 'instance'],
      warnings: ['results truncated due to limit'],
    });
    const series = await get('/api/v1/series', { 'match[]': 'req_total', limit: 1 });
    expect(series.body.data).toHaveLength(1);
    expect(series.body.warnings).toEqual(['results truncated due to limit']);
    const exact = await get('/api/v1/series', { 'match[]': 'req_total', limit: 2 });
    expect(exact.body.warnings).toBeUndefined();
    const values = await get('/api/v1/label/job/values', { 'match[]': '{job=~"api|batch"}', limit: 1 });
    expect(values.body).toMatchObject({ data: ['api'], warnings: ['results truncated due to limit'] });
  });

  it('refuse bad match[], bounds and limits', async () => {
    const broad = await get('/api/v1/series', { 'match[]': '{job=~".*"}' });
    expect(broad.status).toBe(400);
    expect(broad.body.error).toMatch(/vector selector must contain at least one non-empty matcher/);
    const bounds = await get('/api/v1/labels', { start: 10, end: 5 });
    expect(bounds.body.error).toBe('invalid parameter "end": end timestamp must not be before start time');
    const limit = await get('/api/v1/labels', { limit: -1 });
    expect(limit.body.error).toBe('invalid parameter "limit": "-1" is not a non-negative integer');
  });
});
