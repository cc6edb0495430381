import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { OverloadedError, StorageError } from '../../store/interface.ts';
import { FailingStorage, MemoryStorage } from '../../store/memory.ts';
import { MemorySpanStore } from '../../traces/store.memory.ts';
import { SpanStoreOverloadedError } from '../../traces/store.ts';
import type { SpanRow } from '../../traces/model.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../traces/otlp/proto.ts';
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse } from '../otlp/proto.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import {
  METRICS_EXPORT_PATH,
  TRACE_EXPORT_PATH,
  startOtlpGrpcServer,
  type OtlpGrpcServer,
} from './server.ts';
import { decodeStatus } from './status.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const TRACE = '5b8efff798038103d269b633813fc60c';

let server: OtlpGrpcServer | undefined;
let client: grpc.Client | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close();
  server = undefined;
});

interface Setup {
  spans?: MemorySpanStore;
  storage?: MemoryStorage;
  onStored?: (s: readonly SpanRow[]) => void;
  gzip?: boolean;
}

async function start(s: Setup) {
  server = await startOtlpGrpcServer({
    host: '127.0.0.1',
    port: 0,
    traces: s.spans && { store: s.spans, maxAttributeValueBytes: 1024, onStored: s.onStored },
    metrics: s.storage && { storage: s.storage, limits: DEFAULT_INGEST_LIMITS, now: () => NOW },
  });
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), {
    // 2 = gzip in grpc-js's compression algorithm numbering.
    ...(s.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
  });
}

interface CallResult {
  error?: grpc.ServiceError;
  response?: Buffer;
}

function call(path: string, body: Buffer): Promise<CallResult> {
  return new Promise((resolve) => {
    client!.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (error, response) => resolve({ error: error ?? undefined, response }),
    );
  });
}

function traceBody(spanIds: string[]): Buffer {
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            spans: spanIds.map((id) => ({
              traceId: Buffer.from(TRACE, 'hex'),
              spanId: Buffer.from(id, 'hex'),
              name: 'op',
              startTimeUnixNano: '1000',
              endTimeUnixNano: '2000',
            })),
          },
        ],
      },
    ],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
}

function metricsBody(points: unknown[]): Buffer {
  const msg = ExportMetricsServiceRequest.fromObject({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeMetrics: [{ metrics: [{ name: 'queue.depth', gauge: { dataPoints: points } }] }],
      },
    ],
  });
  return Buffer.from(ExportMetricsServiceRequest.encode(msg).finish());
}

const retryInfo = (err: grpc.ServiceError) => {
  const raw = err.metadata.get('grpc-status-details-bin')[0];
  return raw ? decodeStatus(raw as Buffer) : undefined;
};

describe('OTLP/gRPC TraceService/Export', () => {
  it.each([false, true])(
    'stores spans (gzip %s) and reports refused spans as partial success',
    async (gzip) => {
      const spans = new MemorySpanStore();
      const stored: string[] = [];
      await start({ spans, gzip, onStored: (s) => stored.push(...s.map((x) => x.spanId)) });
      const res = await call(TRACE_EXPORT_PATH, traceBody(['0000000000000001', '00']));
      expect(res.error).toBeUndefined();
      const out = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(res.response!), {
        longs: String,
      });
      expect(out).toEqual({
        partialSuccess: {
          rejectedSpans: '1',
          errorMessage: 'resourceSpans[0].scopeSpans[0].spans[1]: spanId 00 has 1 bytes; expected 8',
        },
      });
      expect((await spans.trace(TRACE)).map((s) => s.spanId)).toEqual(['0000000000000001']);
      expect(stored).toEqual(['0000000000000001']);
    },
  );

  it('answers an empty response when everything is stored', async () => {
    await start({ spans: new MemorySpanStore() });
    const res = await call(TRACE_EXPORT_PATH, traceBody(['0000000000000002']));
    expect(res.error).toBeUndefined();
    expect(res.response!.length).toBe(0);
  });

  it('refuses undecodable messages with INVALID_ARGUMENT and no retry delay', async () => {
    const spans = new MemorySpanStore();
    await start({ spans });
    const res = await call(TRACE_EXPORT_PATH, Buffer.from([0x0a, 0xff, 0x01]));
    expect(res.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.error?.details).toMatch(/^OTLP traces: .*not a valid ExportTraceServiceRequest/);
    expect(retryInfo(res.error!)).toBeUndefined();
    // The server carries on.
    expect((await call(TRACE_EXPORT_PATH, traceBody(['0000000000000003']))).error).toBeUndefined();
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo when the store is overloaded, and stores nothing', async () => {
    const spans = new MemorySpanStore();
    const stored: string[] = [];
    await start({ spans, onStored: (s) => stored.push(...s.map((x) => x.spanId)) });
    spans.failNextWrite = new SpanStoreOverloadedError('too many spans waiting', 3);
    const res = await call(TRACE_EXPORT_PATH, traceBody(['0000000000000004']));
    expect(res.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(res.error?.details).toBe(
      'OTLP traces: storage is overloaded, retry later: too many spans waiting',
    );
    expect(retryInfo(res.error!)).toEqual({
      code: grpc.status.RESOURCE_EXHAUSTED,
      message: 'OTLP traces: storage is overloaded, retry later: too many spans waiting',
      retryDelayMs: 3000,
    });
    expect(await spans.trace(TRACE)).toEqual([]);
    expect(stored).toEqual([]);
  });

  it('answers UNAVAILABLE with RetryInfo when storage fails', async () => {
    const spans = new MemorySpanStore();
    await start({ spans });
    spans.failNextWrite = new Error('disk full');
    const res = await call(TRACE_EXPORT_PATH, traceBody(['0000000000000005']));
    expect(res.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(res.error?.details).toBe('OTLP traces: storage write failed, retry later: disk full');
    expect(retryInfo(res.error!)?.retryDelayMs).toBe(5000);
  });

  it('answers UNIMPLEMENTED for metrics when only traces are served', async () => {
    await start({ spans: new MemorySpanStore() });
    const res = await call(METRICS_EXPORT_PATH, metricsBody([]));
    expect(res.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('OTLP/gRPC MetricsService/Export', () => {
  const T = `${BigInt(NOW - 1000) * 1_000_000n}`;

  it.each([false, true])(
    'stores data points (gzip %s) with partial success for refused ones',
    async (gzip) => {
      const storage = new MemoryStorage();
      await start({ storage, gzip });
      const res = await call(
        METRICS_EXPORT_PATH,
        metricsBody([
          { timeUnixNano: T, asInt: 3 },
          { timeUnixNano: `${BigInt(NOW + 86_400_000) * 1_000_000n}`, asInt: 4 },
        ]),
      );
      expect(res.error).toBeUndefined();
      const out = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(res.response!), {
        longs: String,
      });
      expect(out.partialSuccess.rejectedDataPoints).toBe('1');
      expect(out.partialSuccess.errorMessage).toMatch(/future/);
      const got = await storage
        .querier(0, NOW)
        .select([{ name: '__name__', type: '=', value: 'queue_depth' }]);
      expect(got.map((s) => [...s.v])).toEqual([[3]]);
    },
  );

  it('refuses undecodable messages with INVALID_ARGUMENT', async () => {
    await start({ storage: new MemoryStorage() });
    const res = await call(METRICS_EXPORT_PATH, Buffer.from([0x0a, 0xff, 0x01]));
    expect(res.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.error?.details).toMatch(/^OTLP metrics: /);
  });

  it.each([
    ['overloaded', new OverloadedError('too many samples waiting', 4), grpc.status.RESOURCE_EXHAUSTED, 4000],
    ['failing', new StorageError('disk full'), grpc.status.UNAVAILABLE, 5000],
  ])('answers a retryable status with RetryInfo when storage is %s', async (_, failure, code, delay) => {
    await start({ storage: new FailingStorage(failure) });
    const res = await call(METRICS_EXPORT_PATH, metricsBody([{ timeUnixNano: T, asInt: 3 }]));
    expect(res.error?.code).toBe(code);
    expect(retryInfo(res.error!)?.retryDelayMs).toBe(delay);
  });
});
