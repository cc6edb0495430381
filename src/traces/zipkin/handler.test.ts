import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SpanRow } from '../model.ts';
import { MemorySpanStore } from '../store.memory.ts';
import { SpanStoreOverloadedError } from '../store.ts';
import { zipkinPlugin } from './handler.ts';

const TRACE = '463ac35c9f6413ad48485a3953bb6124';
let app: FastifyInstance;
let store: MemorySpanStore;
let stored: SpanRow[] = [];

beforeAll(async () => {
  store = new MemorySpanStore();
  app = Fastify();
  await app.register(
    zipkinPlugin({ store, maxAttributeValueBytes: 1024, onStored: (s) => stored.push(...s) }),
  );
});
beforeEach(() => {
  stored = [];
});
afterAll(async () => {
  await app.close();
});

const span = (id: string, extra: object = {}) => ({
  traceId: TRACE,
  id,
  name: 'get',
  timestamp: 1_700_000_000_000_000,
  duration: 10,
  localEndpoint: { serviceName: 'web' },
  ...extra,
});

const post = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  app.inject({
    method: 'POST',
    url: '/api/v2/spans',
    payload: Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    headers,
  });

describe('POST /api/v2/spans', () => {
  it('stores spans and answers 202 with an empty body', async () => {
    const res = await post([
      span('0000000000000001'),
      span('0000000000000002', { parentId: '0000000000000001' }),
    ]);
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    const got = await store.trace(TRACE);
    expect(got.map((s) => [s.spanId, s.parentSpanId, s.service])).toEqual([
      ['0000000000000001', '', 'web'],
      ['0000000000000002', '0000000000000001', 'web'],
    ]);
    expect(stored.map((s) => s.spanId)).toEqual(['0000000000000001', '0000000000000002']);
  });

  it('accepts gzip bodies', async () => {
    const res = await post(gzipSync(JSON.stringify([span('0000000000000003')])), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(res.statusCode).toBe(202);
    expect((await store.trace(TRACE)).map((s) => s.spanId)).toContain('0000000000000003');
  });

  it('stores the good spans of a mixed batch and lists the refused ones with 202', async () => {
    const res = await post([
      span('0000000000000004'),
      span('xyz'),
      span('0000000000000005', { timestamp: null }),
    ]);
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe(
      'Zipkin: stored 1 of 3 spans; 2 refused:\n' +
        'spans[1].id: "xyz" is not 1 to 16 hex digits\n' +
        'spans[2].timestamp: missing; a span needs its start time in microseconds since the epoch\n',
    );
    expect(stored.map((s) => s.spanId)).toEqual(['0000000000000004']);
  });

  it('answers 400 with every refused span when none could be stored', async () => {
    const res = await post([span('xyz'), { id: 1 }]);
    expect(res.statusCode).toBe(400);
    expect(res.body).toBe(
      'Zipkin: no span could be stored; 2 of 2 refused:\n' +
        'spans[0].id: "xyz" is not 1 to 16 hex digits\n' +
        'spans[1].traceId: expected a hex string, got nothing\n',
    );
    expect(stored).toEqual([]);
  });

  it('answers 202 to an empty array', async () => {
    expect((await post([])).statusCode).toBe(202);
  });

  it.each([
    ['not JSON', Buffer.from('[{'), { 'content-type': 'application/json' }, 400, /body is not valid JSON/],
    ['an object', { spans: [] }, { 'content-type': 'application/json' }, 400, /must be a JSON array/],
    ['protobuf', Buffer.from([1]), { 'content-type': 'application/x-protobuf' }, 415, /Zipkin v2 JSON/],
    [
      'brotli',
      [],
      { 'content-type': 'application/json', 'content-encoding': 'br' },
      415,
      /Content-Encoding "br"/,
    ],
    [
      'bad gzip',
      Buffer.from('nope'),
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      400,
      /gzip/,
    ],
  ])('refuses %s', async (_, payload, headers, status, message) => {
    const res = await post(payload, headers as Record<string, string>);
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatch(message);
  });

  it('answers 429 or 503 with Retry-After when storage cannot take the spans', async () => {
    store.failNextWrite = new SpanStoreOverloadedError('too many spans waiting', 2);
    const over = await post([span('0000000000000006')]);
    expect(over.statusCode).toBe(429);
    expect(over.headers['retry-after']).toBe('2');
    store.failNextWrite = new Error('disk full');
    const failed = await post([span('0000000000000007')]);
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('5');
    expect(failed.body).toBe('Zipkin: storage write failed, retry later: disk full\n');
    expect(stored).toEqual([]);
    expect((await store.trace(TRACE)).map((s) => s.spanId)).not.toContain('0000000000000007');
  });
});
