/**
 * End to end: the real OpenTelemetry tracing SDK exports spans of two services over OTLP/HTTP protobuf to a
 * running Vigil (chDB), and they are read back through the Jaeger query API and Vigil's trace endpoints.
 */
import { SpanKind, SpanStatusCode, trace, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, type TestVigil } from './helpers.ts';

let vigil: TestVigil;
let traceId: string;
let batchTraceId: string;
/** Start of the checkout request, ms since the epoch (whole ms, so microsecond figures are exact). */
const T = Math.floor(Date.now() / 1000) * 1000 - 10_000;

function provider(service: string, url: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'e2e' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url }))],
  });
}

beforeAll(async () => {
  vigil = await startTestVigil();
  const url = `${vigil.url}/v1/traces`;
  const checkout = provider('checkout', url);
  const payments = provider('payments', url);
  const shop = checkout.getTracer('shop-lib', '1.4.0');
  const pay = payments.getTracer('payments-lib', '0.9.0');

  // A separate batch trace the payment span links to.
  const batch = pay.startSpan('settle-batch', { kind: SpanKind.INTERNAL, startTime: T - 5000 });
  batch.end(T - 4000);
  batchTraceId = batch.spanContext().traceId;

  const root = shop.startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    startTime: T,
    attributes: { 'http.status_code': 502, 'retry.ratio': 0.5, vip: true, 'cart.items': ['a', 'b'] },
  });
  const inRoot = trace.setSpan(ROOT_CONTEXT, root);
  const charge = shop.startSpan('charge', { kind: SpanKind.CLIENT, startTime: T + 10 }, inRoot);
  const authorize: Span = pay.startSpan(
    'authorize',
    {
      kind: SpanKind.SERVER,
      startTime: T + 20,
      attributes: { 'payment.amount': 1999, channel: 'card' },
      links: [{ context: batch.spanContext() }],
    },
    trace.setSpan(ROOT_CONTEXT, charge),
  );
  authorize.addEvent('exception', { 'exception.type': 'CardDeclined' }, T + 50);
  authorize.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  authorize.end(T + 80);
  charge.setStatus({ code: SpanStatusCode.OK });
  charge.end(T + 90);
  root.end(T + 100);
  traceId = root.spanContext().traceId;
  await checkout.forceFlush();
  await payments.forceFlush();
  await checkout.shutdown();
  await payments.shutdown();
}, 60_000);

afterAll(async () => {
  await vigil?.stop();
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(vigil.url + path);
  return { status: res.status, body: await res.json() };
}

const us = (ms: number) => ms * 1000;

describe('Jaeger query API over spans from the OpenTelemetry SDK', () => {
  it('lists services and operations', async () => {
    expect((await get('/api/services')).body).toEqual({
      data: ['checkout', 'payments'],
      total: 2,
      limit: 0,
      offset: 0,
      errors: null,
    });
    expect((await get('/api/services/checkout/operations')).body.data).toEqual(['POST /checkout', 'charge']);
    expect((await get('/api/operations?service=payments&spanKind=server')).body).toEqual({
      data: [{ name: 'authorize', spanKind: 'server' }],
      total: 1,
      limit: 0,
      offset: 0,
      errors: null,
    });
  });

  it('returns the trace in the Jaeger UI model', async () => {
    const res = await get(`/api/traces/${traceId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 0, limit: 0, offset: 0, errors: null });
    const t = res.body.data[0];
    expect(t.traceID).toBe(traceId);
    expect(t.warnings).toBeNull();
    expect(t.spans.map((s: any) => s.operationName)).toEqual(['POST /checkout', 'charge', 'authorize']);
    const pids = Object.keys(t.processes).sort();
    expect(pids).toEqual(['p1', 'p2']);
    const byService = Object.fromEntries(
      Object.entries(t.processes).map(([id, p]: [string, any]) => [p.serviceName, { id, ...p }]),
    ) as Record<string, any>;
    expect(byService.checkout.tags).toContainEqual({
      key: 'deployment.environment',
      type: 'string',
      value: 'e2e',
    });
    expect(byService.checkout.tags.map((k: any) => k.key)).not.toContain('service.name');

    const [root, charge, authorize] = t.spans;
    expect(root).toMatchObject({
      traceID: traceId,
      flags: 1,
      references: [],
      startTime: us(T),
      duration: us(100),
      processID: byService.checkout.id,
      logs: [],
      warnings: null,
    });
    expect(root.tags).toEqual([
      { key: 'http.status_code', type: 'int64', value: 502 },
      { key: 'retry.ratio', type: 'float64', value: 0.5 },
      { key: 'vip', type: 'bool', value: true },
      { key: 'cart.items', type: 'string', value: '["a","b"]' },
      { key: 'otel.scope.name', type: 'string', value: 'shop-lib' },
      { key: 'otel.scope.version', type: 'string', value: '1.4.0' },
      { key: 'span.kind', type: 'string', value: 'server' },
    ]);
    expect(charge.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: root.spanID }]);
    expect(charge.tags).toContainEqual({ key: 'otel.status_code', type: 'string', value: 'OK' });
    expect(authorize).toMatchObject({
      startTime: us(T + 20),
      duration: us(60),
      processID: byService.payments.id,
      references: [
        { refType: 'CHILD_OF', traceID: traceId, spanID: charge.spanID },
        { refType: 'FOLLOWS_FROM', traceID: batchTraceId, spanID: expect.any(String) },
      ],
      logs: [
        {
          timestamp: us(T + 50),
          fields: [
            { key: 'event', type: 'string', value: 'exception' },
            { key: 'exception.type', type: 'string', value: 'CardDeclined' },
          ],
        },
      ],
    });
    expect(authorize.tags).toEqual([
      { key: 'payment.amount', type: 'int64', value: 1999 },
      { key: 'channel', type: 'string', value: 'card' },
      { key: 'otel.scope.name', type: 'string', value: 'payments-lib' },
      { key: 'otel.scope.version', type: 'string', value: '0.9.0' },
      { key: 'span.kind', type: 'string', value: 'server' },
      { key: 'otel.status_code', type: 'string', value: 'ERROR' },
      { key: 'error', type: 'bool', value: true },
      { key: 'otel.status_description', type: 'string', value: 'card declined' },
    ]);
  });

  it('searches as the Jaeger UI and Grafana do', async () => {
    const start = us(T - 60_000);
    const end = us(T + 60_000);
    const ids = async (params: string) => {
      const r = await get(`/api/traces?${params}&start=${start}&end=${end}&limit=20&lookback=custom`);
      expect(r.status).toBe(200);
      return r.body.data.map((t: any) => t.traceID);
    };
    expect(await ids('service=checkout')).toEqual([traceId]);
    expect(await ids('service=payments')).toEqual([traceId, batchTraceId]);
    expect(await ids('service=payments&operation=authorize&minDuration=50ms&maxDuration=1s')).toEqual([
      traceId,
    ]);
    expect(await ids('service=payments&operation=authorize&minDuration=61ms')).toEqual([]);
    expect(await ids(`service=checkout&tags=${encodeURIComponent('{"http.status_code":"502"}')}`)).toEqual([
      traceId,
    ]);
    expect(await ids('service=payments&tag=deployment.environment:e2e&tag=channel:card')).toEqual([traceId]);
    expect(await ids('service=payments&tag=channel:cash')).toEqual([]);
  });

  it('reports dependencies between the services', async () => {
    const r = await get(`/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual([{ parent: 'checkout', child: 'payments', callCount: 1 }]);
  });

  it("refuses bad input in Jaeger's error shape and keeps serving", async () => {
    const missing = await get('/api/traces/0123456789abcdef0123456789abcdef');
    expect(missing.status).toBe(404);
    expect(missing.body.errors).toEqual([{ code: 404, msg: 'trace not found' }]);
    const bad = await get('/api/traces?service=checkout&minDuration=fast');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ data: null, total: 0, limit: 0, offset: 0 });
    expect(bad.body.errors[0].msg).toContain("unable to parse param 'minDuration'");
    expect((await get('/api/traces/zz')).status).toBe(400);
    expect((await get('/api/services')).status).toBe(200);
  });
});

describe("Vigil's trace endpoints over the same spans", () => {
  const window = `start=${(T - 60_000) / 1000}&end=${(T + 60_000) / 1000}`;

  it('searches with attribute conditions and answers summaries', async () => {
    const r = await get(
      `/api/vigil/v1/traces?${window}&attr=${encodeURIComponent('http.status_code>=500')}&attr=vip=true`,
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      traces: [
        {
          traceId,
          rootService: 'checkout',
          rootName: 'POST /checkout',
          startUs: us(T),
          durationUs: us(100),
          spanCount: 3,
          errorCount: 1,
          services: [
            { service: 'checkout', spanCount: 2, errorCount: 0 },
            { service: 'payments', spanCount: 1, errorCount: 1 },
          ],
        },
      ],
    });
    const errs = await get(`/api/vigil/v1/traces?${window}&service=payments&status=error`);
    expect(errs.body.traces.map((t: any) => t.traceId)).toEqual([traceId]);
    const regex = await get(
      `/api/vigil/v1/traces?${window}&attr=${encodeURIComponent('channel=~card|cash')}&kind=server`,
    );
    expect(regex.body.traces.map((t: any) => t.traceId)).toEqual([traceId]);
    const none = await get(
      `/api/vigil/v1/traces?${window}&attr=${encodeURIComponent('payment.amount>2000')}`,
    );
    expect(none.body.traces).toEqual([]);
    const bad = await get(`/api/vigil/v1/traces?attr=${encodeURIComponent('payment.amount>lots')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('"payment.amount>lots"');
  });

  it('draws the service map and lists services', async () => {
    const r = await get(`/api/vigil/v1/service-map?${window}`);
    expect(r.status).toBe(200);
    expect(r.body.edges).toEqual([
      {
        source: 'checkout',
        target: 'payments',
        calls: 1,
        errors: 1,
        ratePerSecond: 1 / 120,
        errorRate: 1,
        p50Ms: 60,
        p95Ms: 60,
        p99Ms: 60,
      },
    ]);
    // Entry spans: checkout's server span (100 ms); payments' server span (60 ms) and its batch root (1 s),
    // p95 = 60 + 0.95 × 940.
    expect(r.body.nodes.map((n: any) => ({ ...n, p95Ms: Math.round(n.p95Ms * 1000) / 1000 }))).toEqual([
      { service: 'checkout', spans: 2, errors: 0, ratePerSecond: 2 / 120, errorRate: 0, p95Ms: 100 },
      { service: 'payments', spans: 2, errors: 1, ratePerSecond: 2 / 120, errorRate: 0.5, p95Ms: 953 },
    ]);
    expect((await get('/api/vigil/v1/services')).body).toEqual({
      services: [
        {
          service: 'checkout',
          operations: [
            { name: 'POST /checkout', kind: 'server' },
            { name: 'charge', kind: 'client' },
          ],
        },
        {
          service: 'payments',
          operations: [
            { name: 'authorize', kind: 'server' },
            { name: 'settle-batch', kind: 'internal' },
          ],
        },
      ],
    });
  });
});
