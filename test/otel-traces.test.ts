/**
 * The real OpenTelemetry JS tracing SDK exporting to a running Vigil over OTLP/HTTP, JSON and protobuf, on
 * the OTLP port and the main port; spans are read back from the span store.
 *
 * node_modules has no @opentelemetry/exporter-trace-otlp-http/-proto, so the exporter is assembled from the
 * same SDK parts those packages are made of: OTLPExporterBase with the node HTTP export delegate
 * (@opentelemetry/otlp-exporter-base) and the SDK's own OTLP trace serializers (@opentelemetry/otlp-transformer).
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { freePort, tempDir } from './helpers.ts';

let vigil: RunningVigil;
let dataDir: string;

// Started directly rather than with startTestVigil, which turns the separate OTLP listener off.
beforeAll(async () => {
  dataDir = tempDir('traces');
  const yaml = 'self_monitoring:\n  enabled: false\ntraces:\n  max_attribute_value_size: 32\n';
  const cfg = loadConfigText(yaml, 'test.yml', {
    dataDir,
    port: 0,
    otlpHttpPort: await freePort(),
    otlpGrpcPort: 0,
    listenAddress: '127.0.0.1',
  });
  vigil = await startVigil(cfg);
});
afterAll(async () => {
  await vigil?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

type Encoding = 'json' | 'protobuf';

function exporter(url: string, encoding: Encoding): OTLPExporterBase<ReadableSpan[]> {
  const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  const options = convertLegacyHttpOptions({ url, compression: 'gzip' as never }, 'TRACES', 'v1/traces', {
    'Content-Type': contentType,
  });
  const serializer = encoding === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      options,
      serializer,
      'otlp_http_span_exporter',
      TraceExporterMetricsHelper,
      undefined,
    ),
  );
}

describe.each([
  ['json', 'otlp'],
  ['protobuf', 'otlp'],
  ['json', 'main'],
  ['protobuf', 'main'],
] as const)('OpenTelemetry tracing SDK over OTLP/HTTP %s to the %s port', (encoding, port) => {
  it('stores the spans with parents, attributes, events, links and status', async () => {
    const base = `http://127.0.0.1:${port === 'otlp' ? vigil.otlpPort : vigil.port}`;
    const service = `shop-${encoding}-${port}`;
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test' }),
      spanProcessors: [new BatchSpanProcessor({ exporter: exporter(`${base}/v1/traces`, encoding) })],
    });
    const tracer = provider.getTracer('checkout-lib', '2.0.1');
    let traceId = '';
    let linkTarget = '';
    tracer.startActiveSpan('batch', (b) => {
      linkTarget = b.spanContext().spanId;
      b.end();
    });
    tracer.startActiveSpan('POST /checkout', { kind: SpanKind.SERVER }, (root) => {
      traceId = root.spanContext().traceId;
      root.setAttributes({
        'http.method': 'POST',
        'http.status_code': 500,
        ratio: 0.5,
        cached: false,
        items: ['a', 'b'],
        'long.value': 'x'.repeat(100),
      });
      const child = tracer.startSpan(
        'charge card',
        {
          kind: SpanKind.CLIENT,
          links: [{ context: { traceId: root.spanContext().traceId, spanId: linkTarget, traceFlags: 1 } }],
        },
        // No global context manager is installed, so the parent is passed explicitly.
        trace.setSpan(context.active(), root),
      );
      child.addEvent('retry', { attempt: 2 });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
      child.end();
      root.end();
    });
    await provider.forceFlush();
    await provider.shutdown();

    // Acknowledged means stored: no polling needed.
    const spans = await vigil.spans.trace(traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(['POST /checkout', 'charge card']);
    const root = spans.find((s) => s.name === 'POST /checkout')!;
    const child = spans.find((s) => s.name === 'charge card')!;
    expect(root.parentSpanId).toBe('');
    expect(child.parentSpanId).toBe(root.spanId);
    expect(root.service).toBe(service);
    expect(root.kind).toBe('server');
    expect(child.kind).toBe('client');
    expect(root.resourceAttributes['deployment.environment']).toBe('test');
    expect([root.scopeName, root.scopeVersion]).toEqual(['checkout-lib', '2.0.1']);
    expect(root.attributes).toMatchObject({
      'http.method': 'POST',
      'http.status_code': '500',
      ratio: '0.5',
      cached: 'false',
      items: '["a","b"]',
      'long.value': 'x'.repeat(32) + '…[truncated]',
    });
    expect(root.attributeTypes).toMatchObject({ 'http.status_code': 'int', ratio: 'double', cached: 'bool' });
    expect(root.endNs).toBeGreaterThanOrEqual(root.startNs);
    expect(child.statusCode).toBe('error');
    expect(child.statusMessage).toBe('card declined');
    expect(child.events.map((e) => [e.name, e.attributes])).toEqual([['retry', { attempt: '2' }]]);
    expect(child.links.map((l) => l.spanId)).toEqual([linkTarget]);

    expect(await vigil.spans.services()).toContain(service);
    const ops = await vigil.spans.operations(service);
    expect(ops).toEqual([
      { name: 'POST /checkout', kind: 'server' },
      { name: 'batch', kind: 'internal' },
      { name: 'charge card', kind: 'client' },
    ]);
  });
});
