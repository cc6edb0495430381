/**
 * The real OpenTelemetry JS metrics SDK, exporting over HTTP (OTLP/JSON and OTLP/protobuf exporters) to a
 * listening Fastify server with the OTLP plugin and a MemoryStorage.
 */
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Matcher } from '../../model/matcher.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { otlpHttpPlugin } from './handler.ts';

/** The exporter's compression enum value, typed without importing the transitive otlp-exporter-base package. */
const GZIP = 'gzip' as NonNullable<
  NonNullable<ConstructorParameters<typeof ProtoExporter>[0]>['compression']
>;

let app: FastifyInstance;
let storage: MemoryStorage;
let url: string;

beforeAll(async () => {
  storage = new MemoryStorage();
  app = Fastify();
  await app.register(otlpHttpPlugin({ storage, limits: DEFAULT_INGEST_LIMITS }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  url = `http://127.0.0.1:${addr.port}/v1/metrics`;
});

afterAll(async () => {
  await app.close();
});

async function select(name: string, extra: Record<string, string> = {}) {
  const matchers: Matcher[] = [{ name: '__name__', type: '=', value: name }];
  for (const [k, v] of Object.entries(extra)) matchers.push({ name: k, type: '=', value: v });
  return storage.querier(0, Date.now() + 60_000).select(matchers);
}

/** Last value of the single series matching. */
async function last(name: string, extra: Record<string, string>): Promise<number> {
  const got = await select(name, extra);
  expect(got, `${name} ${JSON.stringify(extra)}`).toHaveLength(1);
  const v = got[0]!.v;
  return v[v.length - 1]!;
}

const cases: [string, (temporality?: AggregationTemporalityPreference) => PushMetricExporter][] = [
  ['http/json', (temporalityPreference) => new JsonExporter({ url, temporalityPreference })],
  ['http/protobuf', (temporalityPreference) => new ProtoExporter({ url, temporalityPreference })],
  [
    'http/protobuf gzip',
    (temporalityPreference) => new ProtoExporter({ url, temporalityPreference, compression: GZIP }),
  ],
];

describe.each(cases)('OpenTelemetry SDK exporting %s', (kind, makeExporter) => {
  for (const temporality of ['cumulative', 'delta'] as const) {
    it(`delivers counters, histograms, gauges, up-down counters and the resource (${temporality})`, async () => {
      const service = `svc-${kind.replace(/\W+/g, '-')}-${temporality}`;
      const exporter = makeExporter(
        temporality === 'delta'
          ? AggregationTemporalityPreference.DELTA
          : AggregationTemporalityPreference.CUMULATIVE,
      );
      const provider = new MeterProvider({
        resource: resourceFromAttributes({
          'service.name': service,
          'service.namespace': 'shop',
          'service.instance.id': 'instance-1',
          'deployment.environment': 'test',
        }),
        readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
      });
      const meter = provider.getMeter('vigil.sdk.test', '2.0.1');
      const orders = meter.createCounter('orders.processed', {
        unit: '{order}',
        description: 'Orders processed.',
      });
      const duration = meter.createHistogram('order.duration', {
        unit: 's',
        advice: { explicitBucketBoundaries: [0.1, 1] },
      });
      const depth = meter.createGauge('queue.depth', { unit: '{item}' });
      const inflight = meter.createUpDownCounter('inflight.requests');
      meter
        .createObservableGauge('memory.used', { unit: 'By' })
        .addCallback((r) => r.observe(2048, { pool: 'heap' }));

      orders.add(5, { channel: 'email' });
      orders.add(2, { channel: 'email' });
      orders.add(1, { channel: 'sms' });
      for (const v of [0.05, 0.5, 2]) duration.record(v, { 'http.route': '/checkout' });
      depth.record(17);
      inflight.add(3);
      inflight.add(-1);
      await provider.forceFlush();

      // A second export: cumulative values must continue (delta points are accumulated by Vigil).
      orders.add(3, { channel: 'email' });
      duration.record(0.2, { 'http.route': '/checkout' });
      inflight.add(4);
      await new Promise((r) => setTimeout(r, 5));
      await provider.forceFlush();
      await provider.shutdown();

      const job = `shop/${service}`;
      const id = { job, instance: 'instance-1' };
      expect(await last('orders_processed_total', { ...id, channel: 'email' })).toBe(10);
      expect(await last('orders_processed_total', { ...id, channel: 'sms' })).toBe(1);
      const series = await select('orders_processed_total', { ...id, channel: 'sms' });
      expect(series[0]!.labels).toMatchObject({
        otel_scope_name: 'vigil.sdk.test',
        otel_scope_version: '2.0.1',
      });

      const h = { ...id, http_route: '/checkout' };
      expect(await last('order_duration_seconds_bucket', { ...h, le: '0.1' })).toBe(1);
      expect(await last('order_duration_seconds_bucket', { ...h, le: '1' })).toBe(3);
      expect(await last('order_duration_seconds_bucket', { ...h, le: '+Inf' })).toBe(4);
      expect(await last('order_duration_seconds_count', h)).toBe(4);
      expect(await last('order_duration_seconds_sum', h)).toBeCloseTo(2.75, 10);

      expect(await last('queue_depth', id)).toBe(17);
      expect(await last('inflight_requests', id)).toBe(6);
      expect(await last('memory_used_bytes', { ...id, pool: 'heap' })).toBe(2048);

      const info = await select('target_info', id);
      expect(info).toHaveLength(1);
      expect(info[0]!.labels).toMatchObject({ deployment_environment: 'test' });
      expect(info[0]!.labels).not.toHaveProperty('service_name');

      const meta = await storage.metadata();
      expect(meta.get('orders_processed_total')).toEqual([
        { type: 'counter', help: 'Orders processed.', unit: '' },
      ]);
      expect(meta.get('order_duration_seconds')).toEqual([{ type: 'histogram', help: '', unit: 'seconds' }]);
      expect(meta.get('inflight_requests')?.[0]?.type).toBe('gauge');
    });
  }
});
