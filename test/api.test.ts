/**
 * The Prometheus HTTP API of a running Vigil: shapes, parameters, and every kind of bad input answered in
 * Prometheus's error shape without taking the process down or losing accepted data.
 */
import snappy from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteRequest } from '../src/ingest/remotewrite/proto.ts';
import { getJSON, queryURL, startTestVigil, type TestVigil } from './helpers.ts';

let vigil: TestVigil;
const T0 = 1_700_000_000; // seconds

function rw(series: { labels: Record<string, string>; samples: [number, number][] }[]): Buffer {
  const timeseries = series.map((s) => ({
    labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
    samples: s.samples.map(([t, v]) => ({ timestamp: t, value: v })),
  }));
  return snappy.compressSync(
    Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish()),
  );
}

async function write(body: Buffer, headers: Record<string, string> = {}) {
  return fetch(`${vigil.url}/api/v1/write`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers },
    body: new Uint8Array(body),
  });
}

beforeAll(async () => {
  // Retention 0: the fixtures are from 2023 and would otherwise be past the default 15 days.
  vigil = await startTestVigil(
    'storage:\n  retention: 0\nquery:\n  max_samples: 5000\nserver:\n  max_body_size: 1MiB\n',
  );
  const series = [];
  for (let i = 0; i < 20; i++)
    series.push({
      labels: { __name__: 'api_requests_total', job: 'api', instance: `i${i}`, code: i % 5 ? '200' : '500' },
      samples: Array.from({ length: 61 }, (_, k) => [(T0 + k * 15) * 1000, k * (i + 1)] as [number, number]),
    });
  const res = await write(rw(series));
  expect(res.status).toBe(204);
});
afterAll(async () => {
  await vigil?.stop();
});

const q = (path: string, params: Record<string, string | number>) =>
  getJSON(queryURL(vigil.url, path, params));

describe('Prometheus API shapes', () => {
  it('answers an instant vector query', async () => {
    const { status, body } = await q('/api/v1/query', { query: 'sum(api_requests_total)', time: T0 + 900 });
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, value: [T0 + 900, String(60 * 210)] }] },
    });
  });

  it('answers scalar and string queries', async () => {
    expect((await q('/api/v1/query', { query: '1 + 2', time: T0 })).body.data).toEqual({
      resultType: 'scalar',
      result: [T0, '3'],
    });
    expect((await q('/api/v1/query', { query: '"hi"', time: T0 })).body.data).toEqual({
      resultType: 'string',
      result: [T0, 'hi'],
    });
  });

  it('answers a range query as a matrix with RFC 3339 and float times', async () => {
    const { body } = await q('/api/v1/query_range', {
      query: 'sum by (code) (rate(api_requests_total[1m]))',
      start: new Date((T0 + 300) * 1000).toISOString(),
      end: T0 + 600,
      step: '150',
    });
    expect(body.data.resultType).toBe('matrix');
    expect(body.data.result.map((s: any) => s.metric.code).sort()).toEqual(['200', '500']);
    expect(body.data.result[0].values.map((v: any) => v[0])).toEqual([T0 + 300, T0 + 450, T0 + 600]);
  });

  it('accepts POSTed form bodies (Grafana) ', async () => {
    const res = await fetch(`${vigil.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'count(api_requests_total)', time: String(T0 + 60) }),
    });
    expect(((await res.json()) as any).data.result[0].value[1]).toBe('20');
  });

  it('lists series, labels, label values and metadata', async () => {
    const range = { start: T0, end: T0 + 900 };
    const series = await q('/api/v1/series', { 'match[]': 'api_requests_total{code="500"}', ...range });
    expect(series.body.data).toHaveLength(4);
    expect((await q('/api/v1/labels', range)).body.data).toEqual(['__name__', 'code', 'instance', 'job']);
    expect((await q('/api/v1/label/code/values', range)).body.data).toEqual(['200', '500']);
    expect((await q('/api/v1/label/code/values', { ...range, 'match[]': '{code="500"}' })).body.data).toEqual(
      ['500'],
    );
    expect((await q('/api/v1/label/instance/values', { ...range, limit: 3 })).body).toMatchObject({
      data: ['i0', 'i1', 'i10'],
      warnings: ['results truncated due to limit'],
    });
    expect((await q('/api/v1/labels', { start: T0 + 100_000, end: T0 + 100_001 })).body.data).toEqual([]);
    expect((await q('/api/v1/status/buildinfo', {})).body.data).toMatchObject({
      version: expect.any(String),
      revision: expect.any(String),
    });
  });

  it('deletes series and cleans tombstones', async () => {
    const w = await write(rw([{ labels: { __name__: 'to_delete', a: 'x' }, samples: [[T0 * 1000, 1]] }]));
    expect(w.status).toBe(204);
    expect((await q('/api/v1/query', { query: 'to_delete', time: T0 })).body.data.result).toHaveLength(1);
    const del = await fetch(
      queryURL(vigil.url, '/api/v1/admin/tsdb/delete_series', { 'match[]': 'to_delete' }),
      { method: 'POST' },
    );
    expect(del.status).toBe(204);
    expect((await q('/api/v1/query', { query: 'to_delete', time: T0 })).body.data.result).toHaveLength(0);
    const clean = await fetch(`${vigil.url}/api/v1/admin/tsdb/clean_tombstones`, { method: 'POST' });
    expect(clean.status).toBe(204);
  });

  it('serves health, readiness, its own metrics and the web application', async () => {
    expect((await fetch(`${vigil.url}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${vigil.url}/-/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toContain('vigil_ingest_samples_total{protocol="remote_write"}');
    const page = await fetch(`${vigil.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<div id="root">');
    // Client-side routes load the application too, so shared links survive a reload.
    const deep = await fetch(`${vigil.url}/d/some-dashboard?from=now-6h`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toContain('text/html');
    // Unknown API paths still answer in their API's error shape.
    const api = await fetch(`${vigil.url}/api/v1/nope`);
    expect(api.status).toBe(404);
    expect((await api.json()).status).toBe('error');
  });
});

describe('bad input', () => {
  const bad = async (
    path: string,
    params: Record<string, string | number>,
    status: number,
    errorType: string,
    re: RegExp,
  ) => {
    const res = await q(path, params);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.status).toBe('error');
    expect(res.body.errorType).toBe(errorType);
    expect(res.body.error).toMatch(re);
  };

  it('PromQL syntax errors name the position', () =>
    bad('/api/v1/query', { query: 'sum(rate(x[5m])' }, 400, 'bad_data', /^1:\d+: parse error/));
  it('unknown functions are named', () =>
    bad('/api/v1/query', { query: 'frobnicate(x)' }, 400, 'bad_data', /frobnicate/));
  it('an empty query is refused', () => bad('/api/v1/query', { query: '' }, 400, 'bad_data', /query/));
  it('a selector matching everything is refused', () =>
    bad('/api/v1/query', { query: '{job=~".*"}' }, 400, 'bad_data', /non-empty matcher/));
  it('bad timestamps are named', () =>
    bad('/api/v1/query', { query: 'up', time: 'yesterday' }, 400, 'bad_data', /"time"/));
  it('end before start is refused', () =>
    bad(
      '/api/v1/query_range',
      { query: 'up', start: 100, end: 50, step: 1 },
      400,
      'bad_data',
      /end timestamp must not be before start time/,
    ));
  it('zero step is refused', () =>
    bad(
      '/api/v1/query_range',
      { query: 'up', start: 0, end: 50, step: 0 },
      400,
      'bad_data',
      /zero or negative query resolution/,
    ));
  it('too many points are refused', () =>
    bad(
      '/api/v1/query_range',
      { query: 'up', start: 0, end: 100_000, step: 1 },
      400,
      'bad_data',
      /11,000 points/,
    ));
  it('series without match[] is refused', () =>
    bad('/api/v1/series', {}, 400, 'bad_data', /no match\[\] parameter provided/));
  it('a bad match[] is refused', () =>
    bad('/api/v1/series', { 'match[]': 'rate(x[5m])' }, 400, 'bad_data', /match\[\]/));
  it('a query over the sample limit fails with 422 execution', () =>
    bad(
      '/api/v1/query_range',
      { query: 'api_requests_total', start: T0, end: T0 + 900, step: 1 },
      422,
      'execution',
      /too many samples/,
    ));
  it('a query over the time limit fails with 503 timeout', () =>
    bad(
      '/api/v1/query_range',
      {
        query: 'sum(rate(api_requests_total[1m])) by (code)',
        start: T0 - 10_000,
        end: T0 + 900,
        step: 1,
        timeout: '0.000001',
      },
      503,
      'timeout',
      /timeout|timed out/i,
    ));

  it('remote-write: wrong content type is 415, bad snappy is 400, over the size limit is 413', async () => {
    const wrongType = await write(Buffer.from('x'), { 'content-type': 'application/json' });
    expect(wrongType.status).toBe(415);
    expect(await wrongType.text()).toMatch(/application\/json/);
    const badSnappy = await write(Buffer.from('not snappy at all'));
    expect(badSnappy.status).toBe(400);
    expect(await badSnappy.text()).toMatch(/snappy/i);
    const big = await write(Buffer.alloc(2 * 1024 * 1024, 1));
    expect(big.status).toBe(413);
  });

  it('remote-write: invalid series are refused with 400, valid ones in the same request are stored', async () => {
    const res = await write(
      rw([
        { labels: { __name__: 'ok_metric', a: '1' }, samples: [[T0 * 1000, 1]] },
        { labels: { __name__: '0bad', a: '1' }, samples: [[T0 * 1000, 1]] },
        { labels: { __name__: 'future', a: '1' }, samples: [[Date.now() + 86_400_000, 1]] },
        {
          labels: { __name__: 'special', a: '1' },
          samples: [
            [T0 * 1000, NaN],
            [T0 * 1000 + 1000, Infinity],
          ],
        },
      ]),
    );
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toMatch(/0bad/);
    expect(text).toMatch(/future/);
    expect((await q('/api/v1/query', { query: 'ok_metric', time: T0 })).body.data.result).toHaveLength(1);
    const special = await q('/api/v1/query_range', { query: 'special', start: T0, end: T0 + 1, step: 1 });
    expect(special.body.data.result[0].values.map((v: any) => v[1])).toEqual(['NaN', '+Inf']);
  });

  it('keeps serving and keeps earlier data after all of the above', async () => {
    const { body } = await q('/api/v1/query', { query: 'count(api_requests_total)', time: T0 + 60 });
    expect(body.data.result[0].value[1]).toBe('20');
  });
});
