import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { span } from '../traces/store.cases.ts';
import { MemorySpanStore } from '../traces/store.memory.ts';
import { useSpanApi } from './span-api.testbed.ts';
import type { SpanRow } from '../traces/model.ts';
import { formatJaegerTraceId, jaegerApi, jaegerJson, parseJaegerTags, parseJaegerTraceId } from './jaeger.ts';

const MS = 1_000_000n;
/** A fixed "now": 2026-03-01T00:00:00Z. */
const NOW_MS = 1_772_323_200_000;
const T = BigInt(NOW_MS - 60_000) * MS;

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SHORT = '00000000000000000000000000abcdef';

const rows: SpanRow[] = [
  span({
    traceId: TRACE,
    spanId: '00f067aa0ba902b7',
    name: 'GET /cart',
    kind: 'server',
    service: 'frontend',
    startNs: T + 1234n,
    endNs: T + 20n * MS + 5678n,
    statusCode: 'ok',
    traceState: 'vendor=1',
    resourceAttributes: { 'service.name': 'frontend', 'host.name': 'web-1', 'process.pid': '42' },
    resourceAttributeTypes: { 'process.pid': 'int' },
    scopeName: 'http',
    scopeVersion: '1.0.0',
    attributes: {
      'http.method': 'GET',
      'http.status_code': '200',
      big: '9007199254740993',
      ratio: '0.5',
      nan: 'NaN',
      cached: 'false',
      list: '["a","b"]',
      blob: 'AAEC',
    },
    attributeTypes: {
      'http.status_code': 'int',
      big: 'int',
      ratio: 'double',
      nan: 'double',
      cached: 'bool',
      list: 'array',
      blob: 'bytes',
    },
  }),
  span({
    traceId: TRACE,
    spanId: '00f067aa0ba902b8',
    parentSpanId: '00f067aa0ba902b7',
    name: 'cart.get',
    kind: 'client',
    service: 'cart',
    startNs: T + 2n * MS,
    endNs: T + 12n * MS,
    statusCode: 'error',
    statusMessage: 'timeout',
    flags: 0,
    resourceAttributes: { 'service.name': 'cart' },
    resourceAttributeTypes: {},
    scopeName: '',
    scopeVersion: '',
    attributes: { 'db.system': 'redis' },
    attributeTypes: {},
    events: [
      { timeNs: T + 5n * MS + 7n, name: 'exception', attributes: { 'exception.type': 'Timeout', a: '1' } },
      { timeNs: T + 6n * MS, name: 'retry', attributes: { event: 'custom' } },
    ],
    links: [{ traceId: SHORT, spanId: '0000000000000001', traceState: '', attributes: {} }],
  }),
  span({
    traceId: SHORT,
    spanId: '0000000000000001',
    name: 'send',
    kind: 'unspecified',
    service: 'mailer',
    startNs: T + 30_000n * MS,
    endNs: T + 30_001n * MS,
    resourceAttributes: { 'service.name': 'mailer' },
    attributes: { channel: 'email' },
    attributeTypes: {},
  }),
];

const { get } = useSpanApi(rows, (spans) => jaegerApi({ spans, now: () => NOW_MS }));

const us = (ns: bigint) => Number(ns / 1000n);

describe('Jaeger trace IDs', () => {
  it('parses IDs as Jaeger does and prints high-zero IDs with 16 digits', () => {
    expect(parseJaegerTraceId(TRACE.toUpperCase())).toBe(TRACE);
    expect(parseJaegerTraceId('abcdef')).toBe(SHORT);
    expect(parseJaegerTraceId('1' + '0'.repeat(16))).toBe('0'.repeat(15) + '1' + '0'.repeat(16));
    expect(() => parseJaegerTraceId('x'.repeat(33))).toThrow(/cannot be longer than 32 hex characters/);
    expect(() => parseJaegerTraceId('xyz')).toThrow('strconv.ParseUint: parsing "xyz": invalid syntax');
    expect(() => parseJaegerTraceId('')).toThrow(/invalid syntax/);
    expect(formatJaegerTraceId(SHORT)).toBe('0000000000abcdef');
    expect(formatJaegerTraceId(TRACE)).toBe(TRACE);
  });

  it('parses tag and tags parameters', () => {
    expect(parseJaegerTags(['a:b', 'url:http://x'], ['{"c":"d"}', 'e:f'])).toEqual({
      a: 'b',
      url: 'http://x',
      c: 'd',
      e: 'f',
    });
    expect({ ...parseJaegerTags(['__proto__:x'], []) }).toEqual(JSON.parse('{"__proto__":"x"}'));
    expect(() => parseJaegerTags(['novalue'], [])).toThrow(
      "malformed 'tag' parameter, expecting key:value, received: novalue",
    );
    expect(() => parseJaegerTags([], ['{"a":1}'])).toThrow(/cannot unmarshal JSON.*"a" must be a string/);
    expect(() => parseJaegerTags([], ['{bad'])).toThrow(/malformed 'tags' parameter, cannot unmarshal JSON/);
  });

  it('writes int64 values beyond 2^53 exactly', () => {
    expect(jaegerJson({ a: 9007199254740993n, b: [-5n], c: 'x' })).toBe(
      '{"a":9007199254740993,"b":[-5],"c":"x"}',
    );
  });
});

describe('GET /api/traces/{id}', () => {
  it("answers Jaeger's UI model field by field", async () => {
    const res = await get(`/api/traces/${TRACE}`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['data', 'total', 'limit', 'offset', 'errors']);
    expect(res.body).toMatchObject({ total: 0, limit: 0, offset: 0, errors: null });
    expect(res.body.data).toHaveLength(1);
    const trace = res.body.data[0];
    expect(Object.keys(trace)).toEqual(['traceID', 'spans', 'processes', 'warnings']);
    expect(trace.traceID).toBe(TRACE);
    expect(trace.warnings).toBeNull();
    expect(trace.processes).toEqual({
      p1: {
        serviceName: 'frontend',
        tags: [
          { key: 'host.name', type: 'string', value: 'web-1' },
          { key: 'process.pid', type: 'int64', value: 42 },
        ],
      },
      p2: { serviceName: 'cart', tags: [] },
    });
    const [root, child] = trace.spans;
    expect(Object.keys(root)).toEqual([
      'traceID',
      'spanID',
      'flags',
      'operationName',
      'references',
      'startTime',
      'duration',
      'tags',
      'logs',
      'processID',
      'warnings',
    ]);
    expect(root).toEqual({
      traceID: TRACE,
      spanID: '00f067aa0ba902b7',
      flags: 1,
      operationName: 'GET /cart',
      references: [],
      startTime: us(T + 1234n),
      duration: 20_004,
      tags: [
        { key: 'http.method', type: 'string', value: 'GET' },
        { key: 'http.status_code', type: 'int64', value: 200 },
        { key: 'big', type: 'int64', value: 9007199254740993 },
        { key: 'ratio', type: 'float64', value: 0.5 },
        { key: 'nan', type: 'string', value: 'NaN' },
        { key: 'cached', type: 'bool', value: false },
        { key: 'list', type: 'string', value: '["a","b"]' },
        { key: 'blob', type: 'binary', value: 'AAEC' },
        { key: 'otel.scope.name', type: 'string', value: 'http' },
        { key: 'otel.scope.version', type: 'string', value: '1.0.0' },
        { key: 'span.kind', type: 'string', value: 'server' },
        { key: 'otel.status_code', type: 'string', value: 'OK' },
        { key: 'w3c.tracestate', type: 'string', value: 'vendor=1' },
      ],
      logs: [],
      processID: 'p1',
      warnings: null,
    });
    // The int64 beyond 2^53 is exact in the text.
    expect(res.text).toContain('"value":9007199254740993');
    expect(child).toEqual({
      traceID: TRACE,
      spanID: '00f067aa0ba902b8',
      operationName: 'cart.get',
      references: [
        { refType: 'CHILD_OF', traceID: TRACE, spanID: '00f067aa0ba902b7' },
        { refType: 'FOLLOWS_FROM', traceID: '0000000000abcdef', spanID: '0000000000000001' },
      ],
      startTime: us(T + 2n * MS),
      duration: 10_000,
      tags: [
        { key: 'db.system', type: 'string', value: 'redis' },
        { key: 'span.kind', type: 'string', value: 'client' },
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'timeout' },
      ],
      logs: [
        {
          timestamp: us(T + 5n * MS + 7n),
          fields: [
            { key: 'event', type: 'string', value: 'exception' },
            { key: 'a', type: 'string', value: '1' },
            { key: 'exception.type', type: 'string', value: 'Timeout' },
          ],
        },
        // An `event` attribute wins over the event's name.
        { timestamp: us(T + 6n * MS), fields: [{ key: 'event', type: 'string', value: 'custom' }] },
      ],
      processID: 'p2',
      warnings: null,
    });
  });

  it('accepts short IDs left-padded, and prints them as Jaeger does', async () => {
    const res = await get('/api/traces/ABCDEF');
    expect(res.status).toBe(200);
    expect(res.body.data[0].traceID).toBe('0000000000abcdef');
    // Kind unspecified: no span.kind tag; status unset: no status tags.
    expect(res.body.data[0].spans[0].tags).toEqual([
      { key: 'channel', type: 'string', value: 'email' },
      { key: 'otel.scope.name', type: 'string', value: 'http' },
      { key: 'otel.scope.version', type: 'string', value: '1.0.0' },
    ]);
  });

  it("answers 404 and 400 in Jaeger's error shape", async () => {
    const missing = await get('/api/traces/ffffffffffffffffffffffffffffffff');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      data: null,
      total: 0,
      limit: 0,
      offset: 0,
      errors: [{ code: 404, msg: 'trace not found' }],
    });
    const bad = await get('/api/traces/not-hex');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      data: null,
      total: 0,
      limit: 0,
      offset: 0,
      errors: [{ code: 400, msg: 'strconv.ParseUint: parsing "not-hex": invalid syntax' }],
    });
    expect((await get(`/api/traces/${'a'.repeat(33)}`)).status).toBe(400);
  });
});

describe('GET /api/traces (search)', () => {
  const search = (params: string) => get(`/api/traces?${params}`);

  it('finds traces by service, operation, tags and duration within start/end', async () => {
    const start = us(T - 1000n * MS);
    const end = us(T + 60_000n * MS);
    const win = `start=${start}&end=${end}`;
    const ids = async (p: string) => {
      const r = await search(`${p}&${win}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ total: 0, limit: 0, offset: 0, errors: null });
      return (r.body.data as { traceID: string }[]).map((t) => t.traceID);
    };
    expect(await ids('service=frontend')).toEqual([TRACE]);
    expect(await ids('service=cart&operation=cart.get')).toEqual([TRACE]);
    expect(await ids('service=cart&operation=nope')).toEqual([]);
    expect(await ids(`service=frontend&tags=${encodeURIComponent('{"http.method":"GET"}')}`)).toEqual([
      TRACE,
    ]);
    expect(await ids(`service=frontend&tags=${encodeURIComponent('{"http.method":"POST"}')}`)).toEqual([]);
    expect(await ids('service=frontend&tag=host.name:web-1')).toEqual([TRACE]);
    expect(await ids('service=frontend&tags=host.name:web-2')).toEqual([]);
    expect(await ids('service=frontend&minDuration=20ms')).toEqual([TRACE]);
    expect(await ids('service=frontend&minDuration=20.005ms')).toEqual([]);
    expect(await ids('service=frontend&maxDuration=1.5s&minDuration=1us')).toEqual([TRACE]);
    expect(await ids('service=mailer&limit=1')).toEqual(['0000000000abcdef']);
    // Tags Jaeger derives from the span's status and kind.
    expect(await ids('service=cart&tag=error:true')).toEqual([TRACE]);
    expect(await ids('service=frontend&tag=error:true')).toEqual([]);
    expect(await ids('service=frontend&tag=otel.status_code:OK&tag=span.kind:server')).toEqual([TRACE]);
    expect(await ids('service=frontend&tag=span.kind:client')).toEqual([]);
    expect(await ids('service=cart&tag=error:true&tag=otel.status_code:OK')).toEqual([]);
    // Whole traces come back, not only the matching span.
    const r = await search(`service=cart&${win}`);
    expect(r.body.data[0].spans).toHaveLength(2);
  });

  it('defaults to the last two days, or the lookback the UI sends', async () => {
    expect((await search('service=mailer')).body.data).toHaveLength(1);
    // The mailer span starts 30 s before "now": outside a 10 s lookback.
    expect((await search('service=mailer&lookback=10s')).body.data).toHaveLength(0);
    expect((await search('service=mailer&lookback=1h')).body.data).toHaveLength(1);
    expect((await search('service=mailer&lookback=custom')).body.data).toHaveLength(1);
  });

  it('fetches traces by traceID, reporting the missing ones', async () => {
    const r = await search(`traceID=${TRACE}&traceID=ffff`);
    expect(r.status).toBe(200);
    expect(r.body.data.map((t: { traceID: string }) => t.traceID)).toEqual([TRACE]);
    expect(r.body.errors).toEqual([{ msg: 'trace not found', traceID: '000000000000ffff' }]);
  });

  it.each([
    ['', "parameter 'service' is required"],
    ['service=a&minDuration=abc', 'unable to parse param \'minDuration\': invalid duration "abc"'],
    ['service=a&maxDuration=5', 'unable to parse param \'maxDuration\': invalid duration "5"'],
    ['service=a&minDuration=2s&maxDuration=1s', "'maxDuration' should be greater than 'minDuration'"],
    ['service=a&start=yesterday', 'unable to parse param \'start\': strconv.ParseInt: parsing "yesterday"'],
    ['service=a&end=1.5', "unable to parse param 'end': strconv.ParseInt"],
    ['service=a&limit=x', "unable to parse param 'limit'"],
    ['service=a&limit=-1', "unable to parse param 'limit': must be between 0"],
    ['service=a&tag=nocolon', "malformed 'tag' parameter, expecting key:value, received: nocolon"],
    ['service=a&tags=%7Bbad', "malformed 'tags' parameter, cannot unmarshal JSON"],
    ['service=a&lookback=forever', "unable to parse param 'lookback'"],
    ['traceID=zz', 'cannot parse traceID param: strconv.ParseUint'],
  ])('refuses %s with 400', async (params, msg) => {
    const r = await search(params);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ data: null, total: 0, limit: 0, offset: 0 });
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors[0].code).toBe(400);
    expect(r.body.errors[0].msg).toContain(msg);
  });
});

describe('services, operations and dependencies', () => {
  it('lists services and operations', async () => {
    expect((await get('/api/services')).body).toEqual({
      data: ['cart', 'frontend', 'mailer'],
      total: 3,
      limit: 0,
      offset: 0,
      errors: null,
    });
    expect((await get('/api/services/frontend/operations')).body).toEqual({
      data: ['GET /cart'],
      total: 1,
      limit: 0,
      offset: 0,
      errors: null,
    });
    expect((await get('/api/services/nobody/operations')).body.data).toEqual([]);
    expect((await get('/api/operations?service=cart')).body).toEqual({
      data: [{ name: 'cart.get', spanKind: 'client' }],
      total: 1,
      limit: 0,
      offset: 0,
      errors: null,
    });
    expect((await get('/api/operations?service=cart&spanKind=server')).body.data).toEqual([]);
    expect((await get('/api/operations?service=mailer')).body.data).toEqual([{ name: 'send', spanKind: '' }]);
    const noService = await get('/api/operations');
    expect(noService.status).toBe(400);
    expect(noService.body.errors).toEqual([{ code: 400, msg: "parameter 'service' is required" }]);
    expect((await get('/api/operations?service=cart&spanKind=sideways')).status).toBe(400);
  });

  it('lists dependencies over endTs and lookback in ms', async () => {
    const r = await get(`/api/dependencies?endTs=${NOW_MS}&lookback=3600000`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      data: [{ parent: 'frontend', child: 'cart', callCount: 1 }],
      total: 0,
      limit: 0,
      offset: 0,
      errors: null,
    });
    expect((await get('/api/dependencies')).body.data).toEqual([
      { parent: 'frontend', child: 'cart', callCount: 1 },
    ]);
    expect((await get('/api/dependencies?service=mailer')).body.data).toEqual([]);
    expect((await get(`/api/dependencies?endTs=${NOW_MS - 3_600_000}&lookback=60000`)).body.data).toEqual([]);
    const bad = await get('/api/dependencies?endTs=now');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].msg).toContain("unable to parse param 'endTs'");
    expect((await get('/api/dependencies?lookback=1h')).status).toBe(400);
  });
});

describe('storage failures', () => {
  it("answer 500 in Jaeger's error shape", async () => {
    const store = new MemorySpanStore();
    await store.close();
    const failing = Fastify();
    await failing.register(jaegerApi({ spans: store, now: () => NOW_MS }));
    const res = await failing.inject({ method: 'GET', url: '/api/services' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      data: null,
      total: 0,
      limit: 0,
      offset: 0,
      errors: [{ code: 500, msg: 'span store is closed' }],
    });
    await failing.close();
  });
});
