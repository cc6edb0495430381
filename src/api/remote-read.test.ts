import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../model/labels.ts';
import { MemoryStorage } from '../store/memory.ts';
import type { Queryable } from '../store/interface.ts';
import {
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadResponse,
  encodeReadRequest,
  snappyCompress,
  snappyDecompress,
  type ReadQuery,
  type ReadSeries,
} from '../import/remoteread/codec.ts';
import { ChunkedResponseDecoder, FrameReader } from '../import/remoteread/chunked.ts';
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

function decodeStreamed(body: Uint8Array, queries: ReadQuery[]): ReadSeries[][] {
  const decoder = new ChunkedResponseDecoder(queries, { maxFrameBytes: 1 << 20 });
  decoder.push(body);
  return decoder.finish();
}

const simple = (q: ReadSeries[]) =>
  q.map((s) => ({
    labels: s.labels,
    t: [...s.t],
    v: Buffer.from(s.v.buffer, s.v.byteOffset, s.v.byteLength),
  }));

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

  it('answers STREAMED_XOR_CHUNKS with the same series as SAMPLES, in frames of XOR chunks', async () => {
    const queries: ReadQuery[] = [
      { start: 2000, end: 4000, matchers: [{ name: '__name__', type: '=', value: 'up' }] },
      { start: 0, end: 9000, matchers: [{ name: '__name__', type: '=~', value: 'temp|gone' }] },
      { start: 0, end: 9000, matchers: [{ name: '__name__', type: '=', value: 'nothing' }] },
    ];
    const res = await post(request(queries, [STREAMED_XOR_CHUNKS, SAMPLES]));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(
      'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse',
    );
    expect(res.headers['content-encoding']).toBeUndefined();
    const streamed = decodeStreamed(res.rawPayload, queries);
    const plain = await post(request(queries, [SAMPLES]));
    expect(plain.headers['content-type']).toBe('application/x-protobuf');
    const samples = decodeReadResponse(snappyDecompress(plain.rawPayload, 1 << 20, 'response'));
    expect(streamed.map(simple)).toEqual(samples.map(simple));
    expect(streamed[1]!.map((s) => s.labels)).toEqual([
      { __name__: 'gone' },
      { __name__: 'temp', room: 'x' },
    ]);
    expect(isStaleNaN(streamed[1]![0]!.v[0]!)).toBe(true);
  });

  it.each([
    ['no preference', [], 'application/x-protobuf'],
    ['SAMPLES first', [SAMPLES, STREAMED_XOR_CHUNKS], 'application/x-protobuf'],
    ['streamed first', [STREAMED_XOR_CHUNKS, SAMPLES], 'application/x-streamed-protobuf'],
    ['an unknown type, then streamed', [7, STREAMED_XOR_CHUNKS], 'application/x-streamed-protobuf'],
  ])('takes the first response type it supports in the client order: %s', async (_what, types, ct) => {
    const res = await post(
      request([{ start: 0, end: 1000, matchers: [{ name: 'job', type: '=', value: 'a' }] }], types),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(new RegExp('^' + ct.replaceAll('+', '\\+')));
  });

  it('applies the sample limit per query for streamed reads', async () => {
    const three: ReadQuery[] = [
      { start: 0, end: 9000, matchers: [{ name: 'job', type: '=', value: 'a' }] },
      { start: 0, end: 9000, matchers: [{ name: 'job', type: '=', value: 'b' }] },
      { start: 0, end: 9000, matchers: [{ name: 'room', type: '=', value: 'x' }] },
    ];
    // 30 samples in all: too many for one SAMPLES response, fine for streamed queries of 10 each.
    expect((await post(request(three, [SAMPLES]))).statusCode).toBe(422);
    const res = await post(request(three, [STREAMED_XOR_CHUNKS]));
    expect(res.statusCode).toBe(200);
    expect(decodeStreamed(res.rawPayload, three).map((q) => q.length)).toEqual([1, 1, 1]);
    // A first query over the limit is refused before anything is sent.
    const big = await post(
      request(
        [{ start: 0, end: 9000, matchers: [{ name: '__name__', type: '=~', value: 'up|temp' }] }],
        [STREAMED_XOR_CHUNKS],
      ),
    );
    expect(big.statusCode).toBe(422);
    expect(big.body).toMatch(
      /queries\[0\] would return more than 25 samples \(query.max_samples, a limit per query for streamed reads\)/,
    );
  });

  it('refuses a request that accepts only response types it does not know', async () => {
    const res = await post(request([], [5, 9]));
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(
      /none of the accepted response types \(5, 9\) is supported; Vigil answers SAMPLES \(0\) or STREAMED_XOR_CHUNKS \(1\)/,
    );
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

describe('POST /api/v1/read, streamed over real HTTP', () => {
  const big = new MemoryStorage();
  /** Queries on `slow` wait until the request's time is up, as a storage stuck on a long read would. */
  const slow: Queryable = {
    querier: (mint, maxt) => {
      const q = new MemoryStorage().querier(mint, maxt);
      q.select = (_m, hints) =>
        new Promise((_resolve, reject) =>
          hints?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      return q;
    },
  };
  let server: FastifyInstance;
  let slowServer: FastifyInstance;
  let url = '';

  beforeAll(async () => {
    for (let i = 0; i < 5000; i++)
      for (const job of ['a', 'b', 'c']) big.add({ __name__: 'many', job }, i * 15_000, Math.sin(i) * 100);
    server = Fastify();
    await server.register(
      remoteReadPlugin({ storage: big, maxSamples: 10_000, timeoutMs: 5000, maxBytesInFrame: 4096 }),
    );
    await server.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/api/v1/read`;
    slowServer = Fastify();
    await slowServer.register(remoteReadPlugin({ storage: slow, maxSamples: 10, timeoutMs: 50 }));
  });
  afterAll(async () => {
    await server.close();
    await slowServer.close();
  });

  const fetchRead = (queries: ReadQuery[]) =>
    fetch(url, {
      method: 'POST',
      body: new Uint8Array(request(queries, [STREAMED_XOR_CHUNKS])),
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    });

  it('sends frames of at most maxBytesInFrame, decoded as they arrive', async () => {
    const queries: ReadQuery[] = [
      { start: 0, end: 5000 * 15_000, matchers: [{ name: 'job', type: '=~', value: 'a|b' }] },
      { start: 15_000, end: 30_000, matchers: [{ name: 'job', type: '=', value: 'c' }] },
    ];
    const res = await fetchRead(queries);
    expect(res.status).toBe(200);
    const decoder = new ChunkedResponseDecoder(queries, { maxFrameBytes: 4096 });
    const frames = new FrameReader(4096);
    let count = 0;
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      decoder.push(r.value);
      count += frames.push(r.value).length;
    }
    const [ab, c] = decoder.finish();
    expect(count).toBeGreaterThan(10);
    expect(ab!.map((s) => [s.labels, s.t.length])).toEqual([
      [{ __name__: 'many', job: 'a' }, 5000],
      [{ __name__: 'many', job: 'b' }, 5000],
    ]);
    const want = (await big.querier(0, 5000 * 15_000).select([{ name: 'job', type: '=', value: 'a' }]))[0]!;
    expect(Buffer.from(ab![0]!.v.buffer, ab![0]!.v.byteOffset, ab![0]!.v.byteLength)).toEqual(
      Buffer.from(want.v.buffer, want.v.byteOffset, want.v.byteLength),
    );
    expect(c!.map((s) => [...s.t])).toEqual([[15_000, 30_000]]);
  });

  it('cuts the stream short, visibly, when a later query fails', async () => {
    const res = await fetchRead([
      { start: 0, end: 15_000 * 100, matchers: [{ name: 'job', type: '=', value: 'a' }] },
      { start: 0, end: 5000 * 15_000, matchers: [{ name: '__name__', type: '=', value: 'many' }] },
    ]);
    expect(res.status).toBe(200);
    // The chunked transfer never ends properly: the client cannot take the frames sent so far for all.
    await expect(res.arrayBuffer()).rejects.toThrow(/terminated/);
  });

  it('answers 503 when the first query runs out of time', async () => {
    const res = await slowServer.inject({
      method: 'POST',
      url: '/api/v1/read',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      payload: request(
        [{ start: 0, end: 1, matchers: [{ name: 'a', type: '=', value: 'b' }] }],
        [STREAMED_XOR_CHUNKS],
      ),
    });
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/the request took longer than 50 ms/);
  });
});
