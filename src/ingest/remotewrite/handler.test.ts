import Fastify, { type FastifyInstance } from 'fastify';
import { compressSync } from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../../model/labels.ts';
import { samplesIngested, samplesRejected } from '../../self/metrics.ts';
import { OverloadedError, StorageError, type Storage } from '../../store/interface.ts';
import { FailingStorage, MemoryStorage } from '../../store/memory.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { remoteWritePlugin } from './handler.ts';
import { WriteRequest } from './proto.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};

function body(req: object): Buffer {
  return compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject(req)).finish()));
}
function ts(name: string, labels: Record<string, string>, samples: { timestamp: number; value: number }[]) {
  return {
    labels: Object.entries({ __name__: name, ...labels }).map(([n, value]) => ({ name: n, value })),
    samples,
  };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(storage: Storage, bodyLimit = 1024 * 1024): Promise<FastifyInstance> {
  app = Fastify({ bodyLimit });
  await app.register(remoteWritePlugin({ storage, limits: DEFAULT_INGEST_LIMITS, now: () => NOW }));
  await app.ready();
  return app;
}

async function all(storage: MemoryStorage) {
  return storage.querier(0, NOW + 3_600_000).select([{ name: '__name__', type: '=~', value: '.+' }]);
}

async function counter(c: typeof samplesIngested, labels: Record<string, string>): Promise<number> {
  const m = await c.get();
  return (
    m.values.find((v) =>
      Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
    )?.value ?? 0
  );
}

describe('POST /api/v1/write', () => {
  it('stores samples and metadata and answers 204', async () => {
    const storage = new MemoryStorage();
    const before = await counter(samplesIngested, { protocol: 'remote_write' });
    const res = await (
      await serve(storage)
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: body({
        timeseries: [
          ts('http_requests_total', { job: 'api' }, [
            { timestamp: NOW - 1000, value: 5 },
            { timestamp: NOW, value: 7 },
          ]),
          ts('stale_series', {}, [{ timestamp: NOW, value: STALE_NAN }]),
          ts('weird', {}, [
            { timestamp: NOW - 1, value: NaN },
            { timestamp: NOW, value: -Infinity },
          ]),
        ],
        metadata: [{ type: 1, metricFamilyName: 'http_requests_total', help: 'Requests served.', unit: '' }],
      }),
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    const got = await all(storage);
    expect(got.map((s) => s.labels)).toEqual([
      { __name__: 'http_requests_total', job: 'api' },
      { __name__: 'stale_series' },
      { __name__: 'weird' },
    ]);
    expect([...got[0]!.v]).toEqual([5, 7]);
    expect(isStaleNaN(got[1]!.v[0]!)).toBe(true);
    expect(Number.isNaN(got[2]!.v[0])).toBe(true);
    expect(isStaleNaN(got[2]!.v[0]!)).toBe(false);
    expect(got[2]!.v[1]).toBe(-Infinity);
    expect(await storage.metadata('http_requests_total')).toEqual(
      new Map([['http_requests_total', [{ type: 'counter', help: 'Requests served.', unit: '' }]]]),
    );
    expect((await counter(samplesIngested, { protocol: 'remote_write' })) - before).toBe(5);
  });

  it('answers 204 to an empty WriteRequest', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: body({}),
    });
    expect(res.statusCode).toBe(204);
  });

  it('stores the valid series and answers 400 naming the invalid ones', async () => {
    const storage = new MemoryStorage();
    const before = await counter(samplesRejected, { protocol: 'remote_write', reason: 'invalid_label_name' });
    const res = await (
      await serve(storage)
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: body({
        timeseries: [
          ts('good', {}, [{ timestamp: NOW, value: 1 }]),
          ts('bad', { 'bad-label': 'x' }, [{ timestamp: NOW, value: 1 }]),
          ts('bad name', {}, [{ timestamp: NOW, value: 1 }]),
          ts('future', {}, [{ timestamp: NOW + 3_600_000, value: 1 }]),
          ts('good_too', {}, [{ timestamp: NOW, value: 2 }]),
        ],
      }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain(
      '3 invalid part(s), 3 sample(s) refused, 2 sample(s) of the valid series stored',
    );
    expect(res.body).toContain('timeseries[1]: invalid label name "bad-label"');
    expect(res.body).toContain('timeseries[2]: invalid metric name "bad name"');
    expect(res.body).toContain('timeseries[3] (future)');
    expect((await all(storage)).map((s) => s.labels.__name__)).toEqual(['good', 'good_too']);
    expect(
      (await counter(samplesRejected, { protocol: 'remote_write', reason: 'invalid_label_name' })) - before,
    ).toBe(1);
  });

  it('answers 400 to a body that is not snappy', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: Buffer.from('this is not snappy at all'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/^remote-write: snappy: cannot decompress body/);
  });

  it('answers 400 to snappy bytes that are not a WriteRequest', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: compressSync(Buffer.from([0x0a, 0x7f, 0x00])),
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('not a valid prometheus.WriteRequest');
  });

  it('answers 400 to an empty body', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: Buffer.alloc(0),
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('body is empty');
  });

  it.each([
    ['application/json', 'unsupported Content-Type "application/json"'],
    ['text/plain', 'unsupported Content-Type "text/plain"'],
    [
      'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'unsupported protobuf message "io.prometheus.write.v2.Request"',
    ],
  ])('answers 415 to Content-Type %s', async (type, text) => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: { ...HEADERS, 'content-type': type },
      payload: body({}),
    });
    expect(res.statusCode).toBe(415);
    expect(res.body).toContain(text);
  });

  it('accepts the proto parameter naming the 1.0 message', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: { ...HEADERS, 'content-type': 'application/x-protobuf;proto=prometheus.WriteRequest' },
      payload: body({}),
    });
    expect(res.statusCode).toBe(204);
  });

  it('answers 415 to a Content-Encoding other than snappy', async () => {
    const res = await (
      await serve(new MemoryStorage())
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: { ...HEADERS, 'content-encoding': 'gzip' },
      payload: body({}),
    });
    expect(res.statusCode).toBe(415);
    expect(res.body).toContain('unsupported Content-Encoding "gzip"');
  });

  it('answers 413 with a clear message to a body over the limit', async () => {
    const timeseries = [];
    for (let i = 0; i < 200; i++) timeseries.push(ts('m', { i: String(i) }, [{ timestamp: NOW, value: i }]));
    const res = await (
      await serve(new MemoryStorage(), 512)
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: body({ timeseries }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain("request body is larger than the server's limit of 512 bytes");
  });

  it('answers 503 with Retry-After when storage is overloaded', async () => {
    const res = await (
      await serve(new FailingStorage(new OverloadedError('write queue full', 7)))
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: body({ timeseries: [ts('x', {}, [{ timestamp: NOW, value: 1 }])] }),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body).toContain('storage is overloaded, retry later: write queue full');
  });

  it('answers 503 with Retry-After when storage fails', async () => {
    const res = await (
      await serve(new FailingStorage(new StorageError('disk full')))
    ).inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: HEADERS,
      payload: body({ timeseries: [ts('x', {}, [{ timestamp: NOW, value: 1 }])] }),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body).toContain('storage write failed, retry later: disk full');
  });
});
