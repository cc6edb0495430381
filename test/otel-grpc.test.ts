/**
 * The real OpenTelemetry JS SDK exporting traces and metrics to a running Vigil over OTLP/gRPC (gzip), Zipkin
 * v2 JSON sent with curl to the main port and the Zipkin port, malformed gRPC input, and the OTLP/HTTP
 * exporter's retry after a 429 with Retry-After.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { TRACE_EXPORT_PATH } from '../src/ingest/grpc/server.ts';
import { otlpTracesPlugin } from '../src/traces/otlp/handler.ts';
import { MemorySpanStore } from '../src/traces/store.memory.ts';
import { SpanStoreOverloadedError } from '../src/traces/store.ts';
import { freePort, getJSON, queryURL, tempDir } from './helpers.ts';

const run = promisify(execFile);
let vigil: RunningVigil;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('grpc');
  const zipkinPort = await freePort();
  const cfg = loadConfigText(
    `self_monitoring:\n  enabled: false\nzipkin:\n  port: ${zipkinPort}\n`,
    'test.yml',
    { dataDir, port: 0, otlpHttpPort: 0, otlpGrpcPort: await freePort(), listenAddress: '127.0.0.1' },
  );
  vigil = await startVigil(cfg);
});
afterAll(async () => {
  await vigil?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function emit(exporter: SpanExporter, service: string): Promise<{ traceId: string; rootId: string }> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('orders', '1.0.0');
  let traceId = '';
  let rootId = '';
  tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, (root) => {
    traceId = root.spanContext().traceId;
    rootId = root.spanContext().spanId;
    root.setAttribute('order.items', 3);
    const child = tracer.startSpan(
      'INSERT orders',
      { kind: SpanKind.CLIENT },
      trace.setSpan(context.active(), root),
    );
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' });
    child.end();
    root.end();
  });
  await provider.forceFlush();
  await provider.shutdown();
  return { traceId, rootId };
}

describe('OpenTelemetry SDK over OTLP/gRPC', () => {
  it('stores traces sent with gzip compression', async () => {
    const exporter = new GrpcTraceExporter({
      url: `http://127.0.0.1:${vigil.otlpGrpcPort}`,
      compression: CompressionAlgorithm.GZIP,
    });
    const { traceId, rootId } = await emit(exporter, 'orders-grpc');
    // Acknowledged means stored.
    const spans = (await vigil.spans.trace(traceId)).sort((a, b) => b.name.localeCompare(a.name));
    expect(spans.map((s) => [s.name, s.kind, s.service, s.parentSpanId === rootId])).toEqual([
      ['POST /orders', 'server', 'orders-grpc', false],
      ['INSERT orders', 'client', 'orders-grpc', true],
    ]);
    expect(spans[0]!.attributes['order.items']).toBe('3');
    expect([spans[1]!.statusCode, spans[1]!.statusMessage]).toEqual(['error', 'deadlock']);
    expect([spans[0]!.scopeName, spans[0]!.scopeVersion]).toEqual(['orders', '1.0.0']);
  });

  it('stores metrics under Prometheus names', async () => {
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({
        url: `http://127.0.0.1:${vigil.otlpGrpcPort}`,
        compression: CompressionAlgorithm.GZIP,
      }),
      exportIntervalMillis: 60_000,
    });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'billing-grpc' }),
      readers: [reader],
    });
    const counter = provider.getMeter('billing').createCounter('invoices.sent');
    counter.add(4, { channel: 'email' });
    await reader.forceFlush();
    await provider.shutdown();
    const { body } = await getJSON(
      queryURL(`http://127.0.0.1:${vigil.port}`, '/api/v1/query', {
        query: 'invoices_sent_total{job="billing-grpc"}',
      }),
    );
    expect(body.data.result.map((r: any) => [r.metric.channel, r.value[1]])).toEqual([['email', '4']]);
  });

  it('refuses an undecodable message with INVALID_ARGUMENT and keeps serving', async () => {
    const client = new grpc.Client(`127.0.0.1:${vigil.otlpGrpcPort}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        TRACE_EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0x05, 0x01]),
        (e) => resolve(e),
      ),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/OTLP traces: .*ExportTraceServiceRequest/);
    const again = await emit(
      new GrpcTraceExporter({ url: `http://127.0.0.1:${vigil.otlpGrpcPort}` }),
      'orders-after-bad',
    );
    expect(await vigil.spans.trace(again.traceId)).toHaveLength(2);
  });
});

describe('Zipkin v2 JSON with curl', () => {
  const traceId = 'a1b2c3d4e5f60718';
  const spans = [
    {
      traceId,
      id: '0000000000000a01',
      kind: 'CLIENT',
      name: 'get /stock',
      timestamp: Date.now() * 1000,
      duration: 1500,
      localEndpoint: { serviceName: 'shop' },
      remoteEndpoint: { serviceName: 'stock', ipv4: '10.0.0.7', port: 8080 },
      tags: { 'http.path': '/stock' },
    },
    {
      traceId,
      id: '0000000000000a01',
      kind: 'SERVER',
      shared: true,
      name: 'get /stock',
      timestamp: Date.now() * 1000 + 100,
      duration: 1000,
      localEndpoint: { serviceName: 'stock' },
      annotations: [{ timestamp: Date.now() * 1000 + 200, value: 'cache miss' }],
      tags: { error: 'timeout' },
    },
  ];

  it.each(['main', 'zipkin'])('stores spans posted to the %s port, plain and gzip', async (which) => {
    const port = which === 'main' ? vigil.port : vigil.zipkinPort;
    const id = which === 'main' ? '1' : '2';
    const body = JSON.stringify(spans.map((s) => ({ ...s, traceId: traceId + traceId.slice(0, 15) + id })));
    const url = `http://127.0.0.1:${port}/api/v2/spans`;
    const plain = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      url,
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      body,
    ]);
    expect(plain.stdout).toBe('202');
    const stored = await vigil.spans.trace(traceId + traceId.slice(0, 15) + id);
    expect(stored.map((s) => [s.service, s.kind, s.parentSpanId === '0000000000000a01'])).toEqual([
      ['shop', 'client', false],
      ['stock', 'server', true],
    ]);
    expect(stored[0]!.attributes).toMatchObject({ 'peer.service': 'stock', 'net.peer.port': '8080' });
    expect(stored[1]!.statusCode).toBe('error');
    expect(stored[1]!.events.map((e) => e.name)).toEqual(['cache miss']);

    const gz = gzipSync(JSON.stringify([{ ...spans[0], traceId: '0'.repeat(15) + id + traceId }]));
    const res = await run(
      'sh',
      [
        '-c',
        `printf '%s' "$GZ" | base64 -d | curl -s -w '%{http_code}' -X POST ${url} -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary @-`,
      ],
      {
        env: { ...process.env, GZ: gz.toString('base64') },
      },
    );
    expect(res.stdout).toBe('202');
    expect(await vigil.spans.trace('0'.repeat(15) + id + traceId)).toHaveLength(1);
  });

  it('answers 400 naming the span and field when nothing can be stored', async () => {
    const res = await run('curl', [
      '-s',
      '-w',
      '\n%{http_code}',
      '-X',
      'POST',
      `http://127.0.0.1:${vigil.port}/api/v2/spans`,
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      JSON.stringify([{ ...spans[0], timestamp: 'yesterday' }]),
    ]);
    expect(res.stdout).toBe(
      'Zipkin: no span could be stored; 1 of 1 refused:\n' +
        'spans[0].timestamp: expected a non-negative number of microseconds, got string "yesterday"\n\n400',
    );
  });
});

describe('backpressure over OTLP/HTTP', () => {
  it('the OTLP exporter retries after 429 + Retry-After and the spans are then stored once', async () => {
    const store = new MemorySpanStore();
    const app = Fastify();
    await app.register(otlpTracesPlugin({ store, maxAttributeValueBytes: 1024 }));
    const statuses: number[] = [];
    app.addHook('onResponse', async (_req, reply) => void statuses.push(reply.statusCode));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    store.failNextWrite = new SpanStoreOverloadedError('too many spans waiting', 1);
    const { traceId } = await emit(
      new ProtoTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` }),
      'retry-demo',
    );
    // One export per span (SimpleSpanProcessor): the first is refused once, then retried.
    expect(statuses).toEqual([429, 200, 200]);
    expect(await store.trace(traceId)).toHaveLength(2);
    await app.close();
  });
});
