/**
 * Span-derived RED metrics end to end: the real OpenTelemetry tracing SDK exports spans over OTLP/HTTP
 * protobuf to a running Vigil (chDB); the span metrics it flushes answer PromQL over /api/v1/query, and
 * /api/v1/query_exemplars points at traces that are in the span store.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJSON, queryURL, startTestVigil, waitFor, type TestVigil } from './helpers.ts';

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil(
    'otlp:\n  grpc_port: 0\ntraces:\n  span_metrics:\n    flush_interval: 500ms\n',
  );
});
afterAll(async () => {
  await vigil?.stop();
});

interface Sent {
  traceId: string;
  spanId: string;
  ms: number;
}

/** Exports spans of one service with given durations (ms) and statuses through the SDK; returns their IDs. */
async function send(
  service: string,
  name: string,
  kind: SpanKind,
  spans: { ms: number; error?: boolean }[],
): Promise<Sent[]> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${vigil.url}/v1/traces` }))],
  });
  const tracer = provider.getTracer('spanmetrics-test', '1.0.0');
  const end = Date.now();
  const sent: Sent[] = [];
  for (const s of spans) {
    const span = tracer.startSpan(name, { kind, startTime: new Date(end - s.ms) });
    if (s.error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
    span.end(new Date(end));
    sent.push({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, ms: s.ms });
  }
  await provider.forceFlush();
  await provider.shutdown();
  return sent;
}

async function instant(query: string): Promise<Record<string, number>> {
  const { status, body } = await getJSON(queryURL(vigil.url, '/api/v1/query', { query }));
  expect(status).toBe(200);
  const out: Record<string, number> = {};
  for (const r of body.data.result) out[r.metric.service_name] = Number(r.value[1]);
  return out;
}

describe('span metrics from the OpenTelemetry SDK', () => {
  let checkout: Sent[];
  let inventory: Sent[];

  beforeAll(async () => {
    checkout = await send('checkout', 'POST /checkout', SpanKind.SERVER, [
      ...Array.from({ length: 18 }, () => ({ ms: 5 })),
      { ms: 3000, error: true },
      { ms: 3000, error: true },
    ]);
    inventory = await send(
      'inventory',
      'SELECT stock',
      SpanKind.CLIENT,
      Array.from({ length: 10 }, () => ({ ms: 40 })),
    );
  });

  it('answers the error rate per service over /api/v1/query', async () => {
    const query =
      'sum by (service_name) (rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[5m]))';
    const errors = await waitFor('error rate of span metrics', async () => {
      const r = await instant(query);
      return Object.keys(r).length ? r : undefined;
    });
    expect(Object.keys(errors)).toEqual(['checkout']);
    expect(errors.checkout).toBeGreaterThan(0);
    // Both services' spans may land in different flushes: wait for the second one too.
    const calls = await waitFor('calls of both services', async () => {
      const r = await instant('sum by (service_name) (traces_span_metrics_calls_total)');
      return r.inventory !== undefined && r.checkout !== undefined ? r : undefined;
    });
    expect(calls).toEqual({ checkout: 20, inventory: 10 });
  });

  it('answers histogram_quantile over the duration buckets within the right bucket', async () => {
    const query =
      'histogram_quantile(0.95, sum by (le, service_name) (rate(traces_span_metrics_duration_seconds_bucket[5m])))';
    const p95 = await waitFor('p95 of span durations', async () => {
      const r = await instant(query);
      return r.checkout !== undefined && r.inventory !== undefined ? r : undefined;
    });
    // 18 spans of 5 ms and 2 of 3 s: the 95th percentile lies in the (2s, 5s] bucket.
    expect(p95.checkout).toBeGreaterThan(2);
    expect(p95.checkout).toBeLessThanOrEqual(5);
    // Ten spans of 40 ms: the (10ms, 50ms] bucket.
    expect(p95.inventory).toBeGreaterThan(0.01);
    expect(p95.inventory).toBeLessThanOrEqual(0.05);
    const labels = await getJSON(
      queryURL(vigil.url, '/api/v1/series', {
        'match[]': 'traces_span_metrics_calls_total{service_name="inventory"}',
      }),
    );
    expect(labels.body.data).toEqual([
      {
        __name__: 'traces_span_metrics_calls_total',
        instance: expect.any(String),
        job: 'vigil-spanmetrics',
        service_name: 'inventory',
        span_kind: 'SPAN_KIND_CLIENT',
        span_name: 'SELECT stock',
        status_code: 'STATUS_CODE_UNSET',
      },
    ]);
  });

  it('returns exemplars whose trace IDs are in the span store', async () => {
    const now = Date.now() / 1000;
    const url = queryURL(vigil.url, '/api/v1/query_exemplars', {
      query:
        'histogram_quantile(0.95, sum by (le, service_name) (rate(traces_span_metrics_duration_seconds_bucket[5m])))',
      start: now - 600,
      end: now + 60,
    });
    const data = await waitFor('exemplars of span metrics', async () => {
      const { body } = await getJSON(url);
      return body.data.length >= 3 ? (body.data as any[]) : undefined;
    });
    const sent = new Map([...checkout, ...inventory].map((s) => [s.spanId, s]));
    const seen: [string, string, string][] = [];
    for (const series of data) {
      expect(series.seriesLabels.__name__).toBe('traces_span_metrics_duration_seconds_bucket');
      for (const e of series.exemplars) {
        expect(Object.keys(e).sort()).toEqual(['labels', 'timestamp', 'value']);
        expect(typeof e.value).toBe('string');
        expect(typeof e.timestamp).toBe('number');
        const s = sent.get(e.labels.span_id)!;
        expect(s.traceId).toBe(e.labels.trace_id);
        expect(Number(e.value)).toBeCloseTo(s.ms / 1000, 6);
        const stored = await vigil.spans.trace(e.labels.trace_id);
        expect(stored.map((x) => x.spanId)).toContain(e.labels.span_id);
        seen.push([
          series.seriesLabels.service_name,
          series.seriesLabels.le,
          series.seriesLabels.status_code,
        ]);
      }
    }
    expect(seen.sort()).toEqual([
      ['checkout', '0.006', 'STATUS_CODE_UNSET'],
      ['checkout', '5', 'STATUS_CODE_ERROR'],
      ['inventory', '0.05', 'STATUS_CODE_UNSET'],
    ]);
  });
});
