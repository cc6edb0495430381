import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { OverloadedError, StorageError } from '../../store/interface.ts';
import { FailingStorage, MemoryStorage } from '../../store/memory.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { otlpHttpPlugin } from './handler.ts';
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse, RpcStatus } from './proto.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const T = `${BigInt(NOW - 1000) * 1_000_000n}`;

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(storage: MemoryStorage, bodyLimit = 1024 * 1024): Promise<FastifyInstance> {
  app = Fastify({ bodyLimit });
  await app.register(otlpHttpPlugin({ storage, limits: DEFAULT_INGEST_LIMITS, now: () => NOW }));
  await app.ready();
  return app;
}

function request(points: unknown[]) {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeMetrics: [
          {
            metrics: [{ name: 'queue.depth', description: 'Items waiting.', gauge: { dataPoints: points } }],
          },
        ],
      },
    ],
  };
}
const proto = (req: object) =>
  Buffer.from(ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(req)).finish());

async function names(storage: MemoryStorage) {
  const got = await storage.querier(0, NOW).select([{ name: '__name__', type: '=~', value: '.+' }]);
  return got.map((s) => `${s.labels.__name__}{job=${s.labels.job ?? ''}} ${[...s.v].join(',')}`);
}

describe('POST /v1/metrics', () => {
  it('stores a protobuf request and answers an empty protobuf ExportMetricsServiceResponse', async () => {
    const storage = new MemoryStorage();
    const res = await (
      await serve(storage)
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: proto(request([{ timeUnixNano: T, asInt: 3 }])),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    expect(
      ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(res.rawPayload)),
    ).toEqual({});
    expect(await names(storage)).toEqual(['queue_depth{job=api} 3']);
    expect(await storage.metadata('queue_depth')).toEqual(
      new Map([['queue_depth', [{ type: 'gauge', help: 'Items waiting.', unit: '' }]]]),
    );
  });

  it('stores a gzip-compressed JSON request and answers JSON', async () => {
    const storage = new MemoryStorage();
    const res = await (
      await serve(storage)
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' },
      payload: gzipSync(JSON.stringify(request([{ timeUnixNano: T, asDouble: 1.5 }]))),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
    expect(await names(storage)).toEqual(['queue_depth{job=api} 1.5']);
  });

  it('reports refused points in partialSuccess (protobuf) and stores the rest', async () => {
    const storage = new MemoryStorage();
    const res = await (
      await serve(storage)
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: proto(
        request([
          { timeUnixNano: T, asInt: 1 },
          { timeUnixNano: `${BigInt(NOW + 86_400_000) * 1_000_000n}`, asInt: 2 },
        ]),
      ),
    });
    expect(res.statusCode).toBe(200);
    const body = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(res.rawPayload), {
      longs: Number,
    });
    expect(body.partialSuccess.rejectedDataPoints).toBe(1);
    expect(body.partialSuccess.errorMessage).toMatch(
      /dataPoints\[1\]: timestamp .* in the future \[too_far_in_future\]/,
    );
    expect(await names(storage)).toEqual(['queue_depth{job=api} 1']);
  });

  it('reports refused points in partialSuccess (JSON)', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(request([{ asInt: 2 }])),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      partialSuccess: {
        rejectedDataPoints: '1',
        errorMessage: expect.stringContaining('timeUnixNano is missing'),
      },
    });
  });

  it('answers 200 to an empty request', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
  });

  it('answers 400 with a JSON Status to malformed JSON', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: '{"resourceMetrics": [',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 3,
      message: expect.stringMatching(/^OTLP metrics: OTLP JSON body is not valid JSON/),
    });
  });

  it('answers 400 with a protobuf Status to malformed protobuf', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: Buffer.from([0x0a, 0x64, 0x01]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const status = RpcStatus.toObject(RpcStatus.decode(res.rawPayload));
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/not a valid ExportMetricsServiceRequest/);
  });

  it('answers 400 to a body that is not gzip despite Content-Encoding gzip', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/Content-Encoding gzip: cannot decompress body/);
  });

  it.each(['text/plain', 'application/protobuf-but-not', ''])(
    'answers 415 to Content-Type %j',
    async (type) => {
      const res = await (
        await serve(new MemoryStorage())
      ).inject({
        method: 'POST',
        url: '/v1/metrics',
        headers: type ? { 'content-type': type } : {},
        payload: 'x',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json().message).toContain(`unsupported Content-Type ${JSON.stringify(type)}`);
    },
  );

  it('answers 415 to an unsupported Content-Encoding', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().message).toContain('unsupported Content-Encoding "br"');
  });

  it('answers 413 with a clear message to a body over the limit', async () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ timeUnixNano: T, asInt: i }));
    const res = await (
      await serve(new MemoryStorage(), 256)
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(request(points)),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toContain("request body is larger than the server's limit of 256 bytes");
  });

  it('answers 413 to a gzip body that inflates beyond the decompressed limit', async () => {
    app = Fastify();
    await app.register(
      otlpHttpPlugin({
        storage: new MemoryStorage(),
        limits: DEFAULT_INGEST_LIMITS,
        maxDecompressedBytes: 1000,
      }),
    );
    const res = await app.inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(' '.repeat(100_000)),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toContain('decompresses to more than 1000 bytes');
  });

  it('answers 429 with Retry-After when storage is overloaded', async () => {
    const res = await (
      await serve(new FailingStorage(new OverloadedError('queue full', 3)))
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(request([{ timeUnixNano: T, asInt: 1 }])),
    });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.json()).toEqual({ code: 8, message: expect.stringContaining('storage is overloaded') });
  });

  it('answers 503 with Retry-After when storage fails', async () => {
    const res = await (
      await serve(new FailingStorage(new StorageError('disk full')))
    ).inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: proto(request([{ timeUnixNano: T, asInt: 1 }])),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(RpcStatus.toObject(RpcStatus.decode(res.rawPayload))).toEqual({
      code: 14,
      message: expect.stringContaining('storage write failed, retry later: disk full'),
    });
  });
});
