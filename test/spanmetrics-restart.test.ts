/**
 * Span metrics counted since the last flush are written when Vigil stops, and they and their exemplars are
 * there after a restart on the same data folder.
 */
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { getJSON, queryURL, tempDir } from './helpers.ts';

const dataDir = tempDir('spanmetrics-restart');
let vigil: RunningVigil | undefined;
afterAll(async () => {
  await vigil?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<RunningVigil> {
  // A flush interval far beyond the test: only the flush at stop can write the metrics.
  const yaml =
    'self_monitoring:\n  enabled: false\notlp:\n  http_port: 0\n  grpc_port: 0\ntraces:\n  span_metrics:\n    flush_interval: 1h\n';
  return startVigil(loadConfigText(yaml, 'test.yml', { dataDir, port: 0, listenAddress: '127.0.0.1' }));
}

describe('span metrics across a restart', () => {
  it('writes the last interval at stop and keeps metrics and exemplars', async () => {
    vigil = await start();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'billing' }),
      spanProcessors: [
        new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${vigil.port}/v1/traces` })),
      ],
    });
    const tracer = provider.getTracer('restart-test');
    const end = Date.now();
    const span = tracer.startSpan('charge', { kind: SpanKind.SERVER, startTime: new Date(end - 120) });
    span.end(new Date(end));
    const { traceId, spanId } = span.spanContext();
    await provider.forceFlush();
    await provider.shutdown();
    await vigil.close();

    vigil = await start();
    const base = `http://127.0.0.1:${vigil.port}`;
    const calls = await getJSON(
      queryURL(base, '/api/v1/query', { query: 'traces_span_metrics_calls_total{service_name="billing"}' }),
    );
    expect(calls.body.data.result.map((r: any) => r.value[1])).toEqual(['1']);
    const now = Date.now() / 1000;
    const ex = await getJSON(
      queryURL(base, '/api/v1/query_exemplars', {
        query: 'traces_span_metrics_duration_seconds_bucket{service_name="billing"}',
        start: now - 300,
        end: now,
      }),
    );
    expect(ex.body.data).toEqual([
      {
        seriesLabels: expect.objectContaining({ le: '0.2', service_name: 'billing', span_name: 'charge' }),
        exemplars: [{ labels: { trace_id: traceId, span_id: spanId }, value: '0.12', timestamp: end / 1000 }],
      },
    ]);
    expect((await vigil.spans.trace(traceId)).map((s) => s.spanId)).toEqual([spanId]);
  });
});
