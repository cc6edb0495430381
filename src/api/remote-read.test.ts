import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../model/labels.ts';
import { MemoryStorage } from '../store/memory.ts';
import {
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadResponse,
  encodeReadRequest,
  snappyCompress,
  snappyDecompress,
  type ReadQuery,
} from '../import/remoteread/codec.ts';
import { remoteReadPlugin } from './remote-read.ts';

const storage = new MemoryStorage();
let app: FastifyInstance;

beforeAll(async () => {
  for (let i = 0; i < 10; i++) {
    storage.add({ __name__: 'up', job: 'a' }, i * 1000, i);
    storage.add({ __name__: 'up', job: 'b' }, i * 1000, 10 + i);
    storage.add({ __name__: 'temp', room: 'x' }, i * 1000, 20 + i);
  }
  storage.add({ __name__: 'gone' }, 5000, STALE_NAN);
  app = Fastify();
  await app.register(remoteReadPlugin({ storage, maxSamples: 25, timeoutMs: 5000 }));
});
afterAll(() => app.close());

function post(body: Buffer | Uint8Array, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/read',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers },
    payload: Buffer.from(body),
  });
}

function request(queries: ReadQuery[], types?: number[]) {
  return snappyCompress(encodeReadRequest(queries, types));
}

describe('POST /api/v1/read', () => {
  it('answers SAMPLES with one result per query, inclusive bounds, sorted series', async () => {
    const res = await post(
      request([
        { start: 2000, end: 4000, matchers: [{ name: '__name__', type: '=', value: 'up' }] },
        { start: 0, end: 9000, matchers: [{ name: 'room', type: '=~', value: 'x|y' }] },
        { start: 0, end: 9000, matchers: [{ name: '__name__', type: '=', value: 'nothing' }] },
      ]),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    expect(res.headers['content-encoding']).toBe('snappy');
    const results = decodeReadResponse(snappyDecompress(res.rawPayload, 1 << 20, 'response'));
    expect(results).toHaveLength(3);
    expect(results[0]!.map((s) => ({ labels: s.labels, t: [...s.t], v: [...s.v] }))).toEqual([
      { labels: { __name__: 'up', job: 'a' }, t: [2000, 3000, 4000], v: [2, 3, 4] },
      { labels: { __name__: 'up', job: 'b' }, t: [2000, 3000, 4000], v: [12, 13, 14] },
    ]);
    expect(results[1]!.map((s) => s.t.length)).toEqual([10]);
    expect(results[2]).toEqual([]);
  });

  it('keeps stale markers bit-exact', async () => {
    const res = await post(
      request([{ start: 0, end: 9000, matchers: [{ name: '__name__', type: '=', value: 'gone' }] }]),
    );
    const results = decodeReadResponse(snappyDecompress(res.rawPayload, 1 << 20, 'response'));
    expect(isStaleNaN(results[0]![0]!.v[0]!)).toBe(true);
  });

  it('answers a request that accepts only streamed chunks with SAMPLES, labelled by its content type', async () => {
    const res = await post(
      request(
        [{ start: 0, end: 1000, matchers: [{ name: 'job', type: '=', value: 'a' }] }],
        [STREAMED_XOR_CHUNKS],
      ),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeReadResponse(snappyDecompress(res.rawPayload, 1 << 20, 'response'))[0]).toHaveLength(1);
    const both = await post(
      request(
        [{ start: 0, end: 1000, matchers: [{ name: 'job', type: '=', value: 'a' }] }],
        [STREAMED_XOR_CHUNKS, SAMPLES],
      ),
    );
    expect(both.statusCode).toBe(200);
  });

  it.each([
    ['not snappy', () => post(Buffer.from('hello')), 400, /remote-read: request: cannot decompress/],
    ['empty', () => post(Buffer.alloc(0)), 400, /request: body is empty/],
    [
      'not protobuf',
      () => post(snappyCompress(Buffer.from([0x0a, 0x7f]))),
      400,
      /not a valid prometheus.ReadRequest/,
    ],
    [
      'wrong type',
      () => post(request([]), { 'content-type': 'application/json' }),
      415,
      /unsupported Content-Type/,
    ],
    [
      'wrong encoding',
      () => post(request([]), { 'content-encoding': 'gzip' }),
      415,
      /unsupported Content-Encoding "gzip"/,
    ],
    [
      'bad regex',
      () => post(request([{ start: 0, end: 1, matchers: [{ name: 'a', type: '=~', value: '(' }] }])),
      400,
      /invalid regular expression in matcher a=~"\("/,
    ],
    [
      'reversed range',
      () => post(request([{ start: 10, end: 1, matchers: [{ name: 'a', type: '=', value: 'b' }] }])),
      400,
      /queries\[0\]: end is before start/,
    ],
    [
      'too many samples',
      () =>
        post(
          request([{ start: 0, end: 9000, matchers: [{ name: '__name__', type: '=~', value: 'up|temp' }] }]),
        ),
      422,
      /more than 25 samples \(query.max_samples\)/,
    ],
  ])('%s → %i', async (_what, send, status, message) => {
    const res = await send();
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatch(message);
  });
});
