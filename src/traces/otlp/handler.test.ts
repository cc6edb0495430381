import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcStatus } from '../../ingest/otlp/proto.ts';
import { spansIngested, spansRejected } from '../../self/metrics.ts';
import { MemorySpanStore } from '../store.memory.ts';
import { SpanStoreOverloadedError } from '../store.ts';
import { otlpTracesPlugin } from './handler.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from './proto.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
let app: FastifyInstance;
let store: MemorySpanStore;

beforeAll(async () => {
  store = new MemorySpanStore();
  app = Fastify();
  await app.register(otlpTracesPlugin({ store, maxAttributeValueBytes: 1024 }));
});
afterAll(async () => {
  await app.close();
});

function body(spanIds: string[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            spans: spanIds.map((spanId) => ({
              traceId: TRACE,
              spanId,
              name: 'op',
              startTimeUnixNano: '1000',
              endTimeUnixNano: '2000',
            })),
          },
        ],
      },
    ],
  };
}

function protoBody(spanIds: string[]): Buffer {
  const b = body(spanIds);
  const spans = b.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => ({
    ...s,
    traceId: Buffer.from(s.traceId, 'hex'),
    spanId: Buffer.from(s.spanId, 'hex'),
  }));
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{ ...b.resourceSpans[0], scopeSpans: [{ spans }] }],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
}

const post = (payload: Buffer | string, headers: Record<string, string>) =>
  app.inject({ method: 'POST', url: '/v1/traces', payload, headers });

describe('POST /v1/traces', () => {
  it('stores JSON spans and answers with an empty JSON response', async () => {
    const res = await post(JSON.stringify(body(['0000000000000001'])), {
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
    expect((await store.trace(TRACE)).map((s) => s.spanId)).toContain('0000000000000001');
  });

  it('stores gzip protobuf spans and reports refused spans as partial success', async () => {
    const res = await post(gzipSync(protoBody(['0000000000000002', '00'])), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const out = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(res.rawPayload), {
      longs: String,
    });
    expect(out).toEqual({
      partialSuccess: {
        rejectedSpans: '1',
        errorMessage: 'resourceSpans[0].scopeSpans[0].spans[1]: spanId 00 has 1 bytes; expected 8',
      },
    });
    expect((await store.trace(TRACE)).map((s) => s.spanId)).toContain('0000000000000002');
  });

  it("counts stored and refused spans in Vigil's own metrics", async () => {
    const count = async (
      c: { get(): Promise<{ values: { labels: object; value: number }[] }> },
      want: object,
    ) =>
      (await c.get()).values.find((v) =>
        Object.entries(want).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
      )?.value ?? 0;
    const stored = await count(spansIngested, { protocol: 'otlp_traces' });
    const refused = await count(spansRejected, { protocol: 'otlp_traces', reason: 'invalid' });
    await post(protoBody(['00000000000000a3', '00000000000000a4', '00']), {
      'content-type': 'application/x-protobuf',
    });
    expect(await count(spansIngested, { protocol: 'otlp_traces' })).toBe(stored + 2);
    expect(await count(spansRejected, { protocol: 'otlp_traces', reason: 'invalid' })).toBe(refused + 1);
  });

  it('answers partial success in OTLP/JSON form', async () => {
    const res = await post(JSON.stringify(body(['0000000000000000'])), {
      'content-type': 'application/json',
    });
    expect(res.json()).toEqual({
      partialSuccess: {
        rejectedSpans: '1',
        errorMessage: 'resourceSpans[0].scopeSpans[0].spans[0]: spanId is all zeros, which is invalid',
      },
    });
  });

  it('refuses malformed bodies with 400 and a google.rpc.Status', async () => {
    const res = await post('{"resourceSpans": 3}', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 3,
      message: 'OTLP traces: resourceSpans: expected an array, got number 3',
    });
    const pb = await post(Buffer.from([0x0a, 0xff]), { 'content-type': 'application/x-protobuf' });
    expect(pb.statusCode).toBe(400);
    expect(RpcStatus.decode(pb.rawPayload).toJSON().message).toMatch(/not a valid ExportTraceServiceRequest/);
  });

  it('refuses other content types and encodings with 415', async () => {
    expect((await post('x', { 'content-type': 'text/plain' })).statusCode).toBe(415);
    const res = await post('x', { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(res.statusCode).toBe(415);
    expect(res.json().message).toMatch(/unsupported Content-Encoding "br"/);
  });

  it('answers 503 with Retry-After when storage fails, and 429 when it is overloaded', async () => {
    store.failNextWrite = new Error('disk full');
    const res = await post(JSON.stringify(body(['0000000000000003'])), {
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({
      code: 14,
      message: 'OTLP traces: storage write failed, retry later: disk full',
    });
    store.failNextWrite = new SpanStoreOverloadedError('too many spans waiting', 2);
    const over = await post(JSON.stringify(body(['0000000000000004'])), {
      'content-type': 'application/json',
    });
    expect(over.statusCode).toBe(429);
    expect(over.headers['retry-after']).toBe('2');
    expect((await store.trace(TRACE)).map((s) => s.spanId)).not.toContain('0000000000000003');
  });
});

describe('onStored hook', () => {
  it('sees stored spans only, and a throwing hook does not fail the request', async () => {
    const seen: string[] = [];
    const hookErrors: unknown[] = [];
    const s = new MemorySpanStore();
    const hooked = Fastify();
    let throwOnce = true;
    await hooked.register(
      otlpTracesPlugin({
        store: s,
        maxAttributeValueBytes: 1024,
        onStored: (spans) => {
          seen.push(...spans.map((x) => x.spanId));
          if (throwOnce) {
            throwOnce = false;
            throw new Error('hook broke');
          }
        },
        onStoredError: (err) => hookErrors.push(err),
      }),
    );
    const send = (ids: string[]) =>
      hooked.inject({
        method: 'POST',
        url: '/v1/traces',
        payload: JSON.stringify(body(ids)),
        headers: { 'content-type': 'application/json' },
      });
    expect((await send(['0000000000000011', '0000000000000000'])).statusCode).toBe(200);
    expect(hookErrors.map((e) => (e as Error).message)).toEqual(['hook broke']);
    s.failNextWrite = new Error('disk full');
    expect((await send(['0000000000000012'])).statusCode).toBe(503);
    expect((await send(['0000000000000013'])).statusCode).toBe(200);
    expect(seen).toEqual(['0000000000000011', '0000000000000013']);
    await hooked.close();
  });
});
