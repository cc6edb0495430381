import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { span } from '../traces/store.cases.ts';
import { MemorySpanStore } from '../traces/store.memory.ts';
import { useSpanApi } from './span-api.testbed.ts';
import type { SpanRow } from '../traces/model.ts';
import { tracesApi } from './traces.ts';

const MS = 1_000_000n;
const NOW_MS = 1_772_323_200_000;
/** Ten minutes ago. */
const T = BigInt(NOW_MS - 600_000) * MS;
const us = (ns: bigint) => Number(ns / 1000n);

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

const rows: SpanRow[] = [
  // Trace A: frontend (server, 100 ms) → sms (server, 40 ms, error, channel=sms).
  span({
    traceId: A,
    spanId: 'a000000000000001',
    service: 'frontend',
    name: 'POST /notify',
    kind: 'server',
    startNs: T,
    endNs: T + 100n * MS,
    resourceAttributes: { 'service.name': 'frontend' },
    attributes: { 'http.status_code': '502' },
    attributeTypes: { 'http.status_code': 'int' },
  }),
  span({
    traceId: A,
    spanId: 'a000000000000002',
    parentSpanId: 'a000000000000001',
    service: 'sms',
    name: 'deliver',
    kind: 'server',
    statusCode: 'error',
    startNs: T + 10n * MS,
    endNs: T + 50n * MS,
    resourceAttributes: { 'service.name': 'sms' },
    attributes: { channel: 'sms' },
    attributeTypes: {},
  }),
  // Trace B, a minute later: frontend (server, 30 ms) → email (consumer, 20 ms).
  span({
    traceId: B,
    spanId: 'b000000000000001',
    service: 'frontend',
    name: 'POST /notify',
    kind: 'server',
    startNs: T + 60_000n * MS,
    endNs: T + 60_030n * MS,
    resourceAttributes: { 'service.name': 'frontend' },
    attributes: { 'http.status_code': '200' },
    attributeTypes: { 'http.status_code': 'int' },
  }),
  span({
    traceId: B,
    spanId: 'b000000000000002',
    parentSpanId: 'b000000000000001',
    service: 'email',
    name: 'send',
    kind: 'consumer',
    startNs: T + 60_005n * MS,
    endNs: T + 60_025n * MS,
    resourceAttributes: { 'service.name': 'email' },
    attributes: { channel: 'email' },
    attributeTypes: {},
  }),
];

const { get } = useSpanApi(rows, (spans) => tracesApi({ spans, now: () => NOW_MS }));
const search = (params: Record<string, string | string[]>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
  return get(`/api/vigil/v1/traces?${u}`);
};
const ids = async (params: Record<string, string | string[]>) => {
  const r = await search(params);
  expect(r.status).toBe(200);
  return (r.body.traces as { traceId: string }[]).map((t) => t.traceId);
};

describe('GET /api/vigil/v1/traces', () => {
  it('answers summaries newest first, with times in microseconds', async () => {
    const r = await search({});
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      traces: [
        {
          traceId: B,
          rootService: 'frontend',
          rootName: 'POST /notify',
          startUs: us(T + 60_000n * MS),
          durationUs: 30_000,
          spanCount: 2,
          errorCount: 0,
          services: [
            { service: 'email', spanCount: 1, errorCount: 0 },
            { service: 'frontend', spanCount: 1, errorCount: 0 },
          ],
        },
        {
          traceId: A,
          rootService: 'frontend',
          rootName: 'POST /notify',
          startUs: us(T),
          durationUs: 100_000,
          spanCount: 2,
          errorCount: 1,
          services: [
            { service: 'frontend', spanCount: 1, errorCount: 0 },
            { service: 'sms', spanCount: 1, errorCount: 1 },
          ],
        },
      ],
    });
  });

  it('filters by service, operation, kind, status, attributes, duration, time and limit', async () => {
    expect(await ids({ service: 'sms' })).toEqual([A]);
    expect(await ids({ operation: 'send' })).toEqual([B]);
    expect(await ids({ kind: 'consumer' })).toEqual([B]);
    expect(await ids({ status: 'error' })).toEqual([A]);
    expect(await ids({ attr: 'http.status_code>=500' })).toEqual([A]);
    expect(await ids({ attr: 'channel=~sms|email' })).toEqual([B, A]);
    expect(await ids({ attr: ['channel=~sms|email', 'channel!=sms'] })).toEqual([B]);
    expect(await ids({ attr: 'channel=~sms', status: 'ok' })).toEqual([]);
    expect(await ids({ minDuration: '35ms' })).toEqual([A]);
    expect(await ids({ maxDuration: '20ms' })).toEqual([B]);
    expect(await ids({ minDuration: '1.5ms', maxDuration: '0.02s' })).toEqual([B]);
    expect(await ids({ limit: '1' })).toEqual([B]);
    const end = String((NOW_MS - 590_000) / 1000);
    expect(await ids({ end })).toEqual([A]);
    expect(await ids({ start: new Date(NOW_MS - 300_000).toISOString() })).toEqual([]);
    expect(await ids({ start: String((NOW_MS - 7_200_000) / 1000), end: String(NOW_MS / 1000) })).toEqual([
      B,
      A,
    ]);
  });

  it.each([
    [{ attr: 'nooperator' }, 'invalid parameter "attr" #1: condition "nooperator" has no operator'],
    [{ attr: ['a=b', 'x>high'] }, 'invalid parameter "attr" #2: condition "x>high": ">" compares numbers'],
    [{ attr: 'x=~(' }, 'invalid regular expression'],
    [
      { kind: 'sideways' },
      'invalid parameter "kind": "sideways" is not one of unspecified, internal, server',
    ],
    [{ status: 'bad' }, 'invalid parameter "status": "bad" is not one of error, ok, unset'],
    [{ minDuration: '5' }, 'invalid parameter "minDuration": invalid duration "5"'],
    [{ maxDuration: '-1s' }, 'invalid parameter "maxDuration": "-1s" is negative'],
    [{ minDuration: '2s', maxDuration: '1s' }, '"maxDuration" is less than "minDuration"'],
    [{ start: 'yesterday' }, 'invalid parameter "start": "yesterday" is not a time'],
    [{ start: '2000', end: '1000' }, '"start" is after "end"'],
    [{ limit: '0' }, 'invalid parameter "limit": "0" is not a whole number from 1 to 1000'],
    [{ limit: 'ten' }, 'invalid parameter "limit"'],
    [{ service: ['a', 'b'] }, 'parameter "service" is given 2 times'],
  ])('refuses %j with 400 {error}', async (params, msg) => {
    const r = await search(params);
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(r.body.error).toContain(msg);
  });
});

describe('GET /api/vigil/v1/service-map', () => {
  it('answers nodes and edges with RED figures over the window', async () => {
    const r = await get('/api/vigil/v1/service-map');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      nodes: [
        { service: 'email', spans: 1, errors: 0, ratePerSecond: 1 / 3600, errorRate: 0, p95Ms: 20 },
        // Two server spans of 100 and 30 ms: p95 = 30 + 0.95 × 70.
        { service: 'frontend', spans: 2, errors: 0, ratePerSecond: 2 / 3600, errorRate: 0, p95Ms: 96.5 },
        { service: 'sms', spans: 1, errors: 1, ratePerSecond: 1 / 3600, errorRate: 1, p95Ms: 40 },
      ],
      edges: [
        {
          source: 'frontend',
          target: 'email',
          calls: 1,
          errors: 0,
          ratePerSecond: 1 / 3600,
          errorRate: 0,
          p50Ms: 20,
          p95Ms: 20,
          p99Ms: 20,
        },
        {
          source: 'frontend',
          target: 'sms',
          calls: 1,
          errors: 1,
          ratePerSecond: 1 / 3600,
          errorRate: 1,
          p50Ms: 40,
          p95Ms: 40,
          p99Ms: 40,
        },
      ],
    });
    const since = await get(
      `/api/vigil/v1/service-map?start=${(NOW_MS - 580_000) / 1000}&end=${new Date(NOW_MS).toISOString()}`,
    );
    expect(since.body.edges.map((e: { target: string }) => e.target)).toEqual(['email']);
    expect(since.body.nodes[0].ratePerSecond).toBeCloseTo(1 / 580);
    const bad = await get('/api/vigil/v1/service-map?end=soon');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('invalid parameter "end"');
  });
});

describe('GET /api/vigil/v1/services', () => {
  it('lists services with their operations and kinds', async () => {
    expect((await get('/api/vigil/v1/services')).body).toEqual({
      services: [
        { service: 'email', operations: [{ name: 'send', kind: 'consumer' }] },
        { service: 'frontend', operations: [{ name: 'POST /notify', kind: 'server' }] },
        { service: 'sms', operations: [{ name: 'deliver', kind: 'server' }] },
      ],
    });
  });
});

describe('storage failures', () => {
  it('answer 500 {error}', async () => {
    const store = new MemorySpanStore();
    await store.close();
    const failing = Fastify();
    await failing.register(tracesApi({ spans: store, now: () => NOW_MS }));
    const res = await failing.inject({ method: 'GET', url: '/api/vigil/v1/service-map' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal error: span store is closed' });
    await failing.close();
  });
});
