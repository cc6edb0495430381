/**
 * The real OpenTelemetry JS metrics SDK exports to a running Vigil over OTLP/HTTP (protobuf and JSON), and
 * the metrics answer PromQL under Prometheus-compatible names.
 */
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJSON, queryURL, startTestVigil, waitFor, type TestVigil } from './helpers.ts';

let vigil: TestVigil;
beforeAll(async () => {
  vigil = await startTestVigil();
});
afterAll(async () => {
  await vigil?.stop();
});

async function exportWith(exporter: PushMetricExporter, service: string): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'service.namespace': 'pipeline',
      'service.instance.id': 'pod-1',
      'deployment.environment': 'test',
    }),
    readers: [reader],
  });
  const meter = provider.getMeter('delivery', '1.2.3');
  const sent = meter.createCounter('messages.sent', { unit: '{message}', description: 'Messages sent.' });
  const latency = meter.createHistogram('delivery.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
  });
  const queue = meter.createUpDownCounter('queue.depth', { description: 'Messages waiting.' });
  const mem = meter.createObservableGauge('memory.usage', { unit: 'By' });
  mem.addCallback((r) => r.observe(1024, { area: 'heap' }));
  sent.add(5, { channel: 'email' });
  sent.add(2, { channel: 'sms' });
  for (const v of [0.05, 0.3, 0.7, 2]) latency.record(v, { channel: 'email' });
  queue.add(10);
  queue.add(-3);
  await reader.forceFlush();
  await provider.shutdown();
}

async function instant(query: string) {
  const { body } = await getJSON(queryURL(vigil.url, '/api/v1/query', { query }));
  expect(body.status, JSON.stringify(body)).toBe('success');
  return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
}

describe.each([
  ['protobuf', (url: string) => new ProtoExporter({ url })],
  ['JSON', (url: string) => new JsonExporter({ url })],
])('OpenTelemetry SDK over OTLP/HTTP %s', (kind, make) => {
  const service = `svc-${kind.toLowerCase()}`;
  it('stores counters, histograms, up-down counters and gauges under Prometheus names', async () => {
    await exportWith(make(`${vigil.url}/v1/metrics`), service);
    const job = `pipeline/${service}`;
    const sent = await waitFor('messages_sent_total', async () => {
      const r = await instant(`messages_sent_total{job="${job}"}`);
      return r.length === 2 ? r : undefined;
    });
    const byChannel = Object.fromEntries(sent.map((s) => [s.metric.channel, s.value[1]]));
    expect(byChannel).toEqual({ email: '5', sms: '2' });
    expect(sent[0]!.metric).toMatchObject({
      instance: 'pod-1',
      otel_scope_name: 'delivery',
      otel_scope_version: '1.2.3',
    });

    const buckets = await instant(`delivery_duration_seconds_bucket{job="${job}"}`);
    expect(Object.fromEntries(buckets.map((b) => [b.metric.le, b.value[1]]))).toEqual({
      '0.1': '1',
      '0.5': '2',
      '1': '3',
      '+Inf': '4',
    });
    expect((await instant(`delivery_duration_seconds_count{job="${job}"}`))[0]!.value[1]).toBe('4');
    expect(Number((await instant(`delivery_duration_seconds_sum{job="${job}"}`))[0]!.value[1])).toBeCloseTo(
      3.05,
    );
    expect((await instant(`queue_depth{job="${job}"}`))[0]!.value[1]).toBe('7');
    expect((await instant(`memory_usage_bytes{job="${job}", area="heap"}`))[0]!.value[1]).toBe('1024');
    const info = await instant(`target_info{job="${job}"}`);
    expect(info[0]!.metric).toMatchObject({ deployment_environment: 'test', instance: 'pod-1' });
    const hq = await instant(`histogram_quantile(0.5, delivery_duration_seconds_bucket{job="${job}"})`);
    expect(Number(hq[0]!.value[1])).toBeCloseTo(0.5);
  });
});
