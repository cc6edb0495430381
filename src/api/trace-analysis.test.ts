/**
 * The trace analysis API over real parts: spans are produced by the OpenTelemetry tracing SDK, exported over
 * OTLP/HTTP to Vigil's trace receiver and stored in chDB; the endpoints are then read over HTTP.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import { ClickHouseSpanStore } from '../traces/store.clickhouse.ts';
import { otlpTracesPlugin } from '../traces/otlp/handler.ts';
import { createServer } from './server.ts';
import { parseTraceId, traceAnalysisApi } from './trace-analysis.ts';
import { HttpError } from './vigil-api.ts';

const dir = join(tmpdir(), `vigil-trace-analysis-${process.pid}`);
const sql = new ChdbTransport(dir);
let store: ClickHouseSpanStore;
let app: FastifyInstance;
let base: string;
const providers: BasicTracerProvider[] = [];

beforeAll(async () => {
  store = await ClickHouseSpanStore.open(sql, { database: 'trace_analysis', retentionMs: 0 });
  app = createServer({ bodyLimit: 16 << 20 });
  await app.register(otlpTracesPlugin({ store, maxAttributeValueBytes: 4096 }));
  await app.register(traceAnalysisApi({ spans: store }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const p of providers) await p.shutdown();
  await app?.close();
  await store?.close();
  await sql.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A tracer for `service` on `host`, exporting over OTLP/HTTP JSON to the server under test. */
function tracerFor(service: string, host: string): { tracer: Tracer; flush: () => Promise<void> } {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': host }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` }))],
  });
  providers.push(provider);
  return { tracer: provider.getTracer('analysis-test', '1.0.0'), flush: () => provider.forceFlush() };
}

/** Whole seconds ago, in ms, so that microsecond expectations are exact. */
const T = (Math.floor(Date.now() / 1000) - 600) * 1000;
const TUS = T * 1000;

interface SpanOpts {
  readonly kind?: SpanKind;
  readonly parent?: Span;
  readonly parentCtx?: Context;
  readonly links?: Link[];
  readonly attributes?: Record<string, string | number>;
  readonly error?: boolean;
}

function span(tracer: Tracer, name: string, startMs: number, endMs: number, o: SpanOpts = {}): Span {
  const ctx = o.parentCtx ?? (o.parent ? trace.setSpan(ROOT_CONTEXT, o.parent) : ROOT_CONTEXT);
  const s = tracer.startSpan(
    name,
    { kind: o.kind ?? SpanKind.INTERNAL, startTime: T + startMs, links: o.links, attributes: o.attributes },
    ctx,
  );
  if (o.error) s.setStatus({ code: SpanStatusCode.ERROR, message: `${name} failed` });
  // Ended by the caller, after children have been started with it as their parent.
  (s as Span & { endAt?: number }).endAt = T + endMs;
  return s;
}

function end(...spans: Span[]): void {
  for (const s of spans) s.end((s as Span & { endAt: number }).endAt);
}

async function get(path: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(base + path);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

describe('GET /api/vigil/v1/traces/:id', () => {
  let traceId = '';
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const frontend = tracerFor('frontend', 'web-1');
    const cart = tracerFor('cart', 'cart-1');
    const worker = tracerFor('worker', 'worker-1');
    const root = span(frontend.tracer, 'GET /checkout', 0, 100, {
      kind: SpanKind.SERVER,
      attributes: { 'http.status_code': 500, 'http.route': '/checkout' },
      links: [{ context: { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: 1 } }],
      error: true,
    });
    traceId = root.spanContext().traceId;
    const call = span(frontend.tracer, 'call cart', 10, 90, {
      kind: SpanKind.CLIENT,
      parent: root,
      error: true,
    });
    // cart's clock runs 5 s ahead of the frontend's.
    const server = span(cart.tracer, 'POST /cart', 5015, 5075, {
      kind: SpanKind.SERVER,
      parent: call,
      error: true,
    });
    const select = span(cart.tracer, 'SELECT cart', 5020, 5070, { kind: SpanKind.CLIENT, parent: server });
    select.recordException(new Error('connection reset'), T + 5030);
    select.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
    // A span whose parent never arrives.
    const lost = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: 'abcdefabcdefabcd',
      traceFlags: 1,
      isRemote: true,
    });
    const late = span(worker.tracer, 'late work', 30, 40, { parentCtx: lost });
    end(select, server, call, root, late);
    for (const [k, s] of Object.entries({ root, call, server, select, late }))
      ids[k] = s.spanContext().spanId;
    await Promise.all([frontend.flush(), cart.flush(), worker.flush()]);
  });

  it('answers the reconstructed trace with skew, self time, critical path and error origins', async () => {
    const { status, body } = await get(`/api/vigil/v1/traces/${traceId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      traceId,
      startUs: TUS,
      durationUs: 100_000,
      services: [
        { service: 'cart', spanCount: 2, errorCount: 2 },
        { service: 'frontend', spanCount: 2, errorCount: 2 },
        { service: 'worker', spanCount: 1, errorCount: 0 },
      ],
      roots: [ids.root, 'synthetic-root'],
      linkedTraces: ['ab'.repeat(16)],
      errorOrigins: [{ spanId: ids.select, propagatedTo: [ids.server, ids.call, ids.root] }],
    });
    expect(body.warnings).toHaveLength(2);
    expect(body.warnings[0]).toContain(`${ids.late} (parent abcdefabcdefabcd)`);
    expect(body.warnings[1]).toMatch(
      /^clock skew: 1 span\(s\) of cart .* \(span \w+ moved -4\.995 s into its parent/,
    );

    const rows = body.spans.map((s: any) => [
      s.name,
      s.parentSpanId,
      s.depth,
      s.startUs - TUS,
      s.durationUs,
      s.selfTimeUs,
      s.skewUs,
      s.orphan,
      s.errorRole,
      s.onCriticalPath,
    ]);
    expect(rows).toEqual([
      ['GET /checkout', '', 0, 0, 100_000, 20_000, 0, false, 'propagated', true],
      ['call cart', ids.root, 1, 10_000, 80_000, 20_000, 0, false, 'propagated', true],
      // Centred within the client's 80 ms: 10 ms of network each way.
      ['POST /cart', ids.call, 2, 20_000, 60_000, 10_000, -4_995_000, false, 'propagated', true],
      ['SELECT cart', ids.server, 3, 25_000, 50_000, 50_000, -4_995_000, false, 'origin', true],
      ['missing parent spans', '', 0, 30_000, 10_000, 0, 0, false, null, false],
      ['late work', 'synthetic-root', 1, 30_000, 10_000, 10_000, 0, true, null, false],
    ]);
    expect(body.criticalPath.map((c: any) => [c.spanId, c.startUs - TUS, c.durationUs])).toEqual([
      [ids.root, 0, 10_000],
      [ids.call, 10_000, 10_000],
      [ids.server, 20_000, 5_000],
      [ids.select, 25_000, 50_000],
      [ids.server, 75_000, 5_000],
      [ids.call, 80_000, 10_000],
      [ids.root, 90_000, 10_000],
    ]);

    const root = body.spans[0];
    expect(root).toMatchObject({
      kind: 'server',
      service: 'frontend',
      status: { code: 'error', message: 'GET /checkout failed' },
      scope: { name: 'analysis-test', version: '1.0.0' },
      links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: [] }],
    });
    expect(root.attributes).toEqual([
      { key: 'http.route', value: '/checkout', type: 'string' },
      { key: 'http.status_code', value: '500', type: 'int' },
    ]);
    expect(root.resource).toContainEqual({ key: 'host.name', value: 'web-1', type: 'string' });
    const select = body.spans[3];
    expect(select.events).toHaveLength(1);
    // The event moved with its span: 5030 ms on cart's clock is 35 ms on the frontend's.
    expect(select.events[0]).toMatchObject({ name: 'exception', timeUs: TUS + 35_000 });
    expect(select.events[0].attributes).toContainEqual({
      key: 'exception.message',
      value: 'connection reset',
      type: 'string',
    });
    const synthetic = body.spans[4];
    expect(synthetic).toMatchObject({
      spanId: 'synthetic-root',
      service: '',
      status: { code: 'unset', message: '' },
      attributes: [],
      events: [],
      links: [],
    });
  });

  it('accepts upper-case IDs and refuses malformed or unknown ones with a message', async () => {
    expect((await get(`/api/vigil/v1/traces/${traceId.toUpperCase()}`)).body.traceId).toBe(traceId);
    const unknown = await get(`/api/vigil/v1/traces/${'7'.repeat(32)}`);
    expect(unknown).toMatchObject({ status: 404, body: { error: `trace ${'7'.repeat(32)} not found` } });
    const bad = await get('/api/vigil/v1/traces/not-a-trace');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^invalid trace ID "not-a-trace": expected up to 32 hexadecimal digits/);
    expect((await get(`/api/vigil/v1/traces/${'f'.repeat(33)}`)).status).toBe(400);
    expect((await get(`/api/vigil/v1/traces/${'0'.repeat(32)}`)).body).toEqual({
      error: 'invalid trace ID: all zeros is not a valid trace ID',
    });
    expect((await get(`/api/vigil/v1/traces/${'0'.repeat(32)}/journey`)).status).toBe(400);
    expect((await get(`/api/vigil/v1/traces/${'7'.repeat(32)}/journey`)).status).toBe(404);
  });
});

/** An OTLP/JSON export request of spans `[spanId, parentSpanId, startMs, endMs]` of one trace. */
function otlpJson(traceId: string, spans: [string, string, number, number][]): string {
  const ns = (ms: number) => String(BigInt(T + ms) * 1_000_000n);
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'late-service' } }] },
        scopeSpans: [
          {
            spans: spans.map(([spanId, parentSpanId, s, e]) => ({
              traceId,
              spanId,
              parentSpanId,
              name: `work ${spanId.slice(-1)}`,
              kind: 1,
              startTimeUnixNano: ns(s),
              endTimeUnixNano: ns(e),
            })),
          },
        ],
      },
    ],
  });
}

async function postOtlp(body: string): Promise<void> {
  const res = await fetch(`${base}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(res.status).toBe(200);
}

describe('spans arriving late or twice', () => {
  it('shows a child as an orphan until its parent arrives, and a span sent twice once', async () => {
    const traceId = '5eed'.repeat(8);
    const [parent, child] = ['00000000000000a1', '00000000000000a2'];
    await postOtlp(otlpJson(traceId, [[child, parent, 10, 20]]));
    const early = (await get(`/api/vigil/v1/traces/${traceId}`)).body;
    expect(early.roots).toEqual(['synthetic-root']);
    expect(early.spans.map((s: any) => [s.spanId, s.orphan, s.depth])).toEqual([
      ['synthetic-root', false, 0],
      [child, true, 1],
    ]);
    expect(early.warnings[0]).toMatch(/^1 span\(s\) reference a parent span that is not in the trace/);

    // The parent arrives later, and the child is sent again (an exporter retry).
    await postOtlp(otlpJson(traceId, [[parent, '', 0, 30]]));
    await postOtlp(otlpJson(traceId, [[child, parent, 10, 20]]));
    const later = (await get(`/api/vigil/v1/traces/${traceId}`)).body;
    expect(later.roots).toEqual([parent]);
    expect(later.spans.map((s: any) => [s.spanId, s.parentSpanId, s.orphan, s.depth])).toEqual([
      [parent, '', false, 0],
      [child, parent, false, 1],
    ]);
    // An identical re-send is not stored twice (insert deduplication, docs/format/trace-tables.md).
    expect(later.warnings).toEqual([]);

    // A second copy that differs is stored, and reconstruction shows the most complete one, with a warning.
    await postOtlp(otlpJson(traceId, [[child, parent, 10, 21]]));
    const again = (await get(`/api/vigil/v1/traces/${traceId}`)).body;
    expect(again.spans.map((s: any) => s.spanId)).toEqual([parent, child]);
    expect(again.warnings).toEqual([
      `1 span ID(s) were received more than once: ${child} ×2; the most complete copy of each is shown`,
    ]);
  });
});

describe('GET /api/vigil/v1/traces/:id/journey', () => {
  it('follows a message from the fan-out into the traces of its channels', async () => {
    const router = tracerFor('router', 'router-1');
    const mailer = tracerFor('mailer', 'mail-1');
    const sms = tracerFor('sms-gateway', 'sms-1');
    const fan = span(router.tracer, 'fan out', 0, 50);
    const email = span(router.tracer, 'publish email', 10, 12, {
      kind: SpanKind.PRODUCER,
      parent: fan,
      attributes: { 'messaging.destination.name': 'email' },
    });
    const text = span(router.tracer, 'publish sms', 12, 14, {
      kind: SpanKind.PRODUCER,
      parent: fan,
      attributes: { 'messaging.destination.name': 'sms' },
    });
    const deliver = span(sms.tracer, 'deliver sms', 20, 80, {
      kind: SpanKind.CONSUMER,
      parent: text,
      error: true,
    });
    // The email consumer starts a trace of its own, linked to the message's producer.
    const consume = span(mailer.tracer, 'process email', 30, 130, {
      kind: SpanKind.CONSUMER,
      links: [{ context: email.spanContext() }],
    });
    const send = span(mailer.tracer, 'smtp send', 40, 120, { kind: SpanKind.CLIENT, parent: consume });
    end(email, deliver, text, fan, send, consume);
    await Promise.all([router.flush(), mailer.flush(), sms.flush()]);
    const I = fan.spanContext().traceId;
    const E = consume.spanContext().traceId;

    const { status, body } = await get(`/api/vigil/v1/traces/${E}/journey`);
    expect(status).toBe(200);
    expect(body).toEqual({
      traces: [I, E],
      fanOut: { traceId: I, spanId: fan.spanContext().spanId },
      branches: [
        {
          channel: 'email',
          traceId: E,
          spanId: consume.spanContext().spanId,
          status: 'ok',
          durationUs: 120_000,
        },
        {
          channel: 'sms',
          traceId: I,
          spanId: text.spanContext().spanId,
          status: 'error',
          durationUs: 68_000,
        },
      ],
    });
    const trace = await get(`/api/vigil/v1/traces/${E}`);
    expect(trace.body.linkedTraces).toEqual([I]);
  });
});

describe('GET /api/vigil/v1/bottlenecks', () => {
  it('ranks the operations that make the slowest requests of an endpoint slow', async () => {
    const shop = tracerFor('shop', 'shop-1');
    const payments = tracerFor('payments', 'pay-1');
    for (let i = 0; i < 20; i++) {
      const at = i * 1000;
      const pay = i >= 18 ? 200 : 20;
      const root = span(shop.tracer, 'GET /pay', at, at + 5 + pay + 5, { kind: SpanKind.SERVER });
      const charge = span(payments.tracer, 'charge', at + 5, at + 5 + pay, { parent: root });
      end(charge, root);
    }
    // Another endpoint of the same service is left out.
    end(span(shop.tracer, 'GET /health', 0, 1000));
    await Promise.all([shop.flush(), payments.flush()]);

    const q = `service=shop&operation=${encodeURIComponent('GET /pay')}&start=${T / 1000 - 1}&end=${T / 1000 + 60}`;
    const { status, body } = await get(`/api/vigil/v1/bottlenecks?${q}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      traces: 20,
      quantile: 0.95,
      thresholdMs: 210,
      operations: [
        {
          service: 'payments',
          operation: 'charge',
          criticalPathShare: 0.9524,
          slowMeanMs: 200,
          fastMeanMs: 20,
          deltaMs: 180,
        },
        {
          service: 'shop',
          operation: 'GET /pay',
          criticalPathShare: 0.0476,
          slowMeanMs: 10,
          fastMeanMs: 10,
          deltaMs: 0,
        },
      ],
    });
    const p50 = await get(`/api/vigil/v1/bottlenecks?${q}&quantile=0.5&limit=10`);
    expect(p50.body.traces).toBe(10);
    const all = await get(
      `/api/vigil/v1/bottlenecks?service=shop&start=${T / 1000 - 1}&end=${T / 1000 + 60}`,
    );
    expect(all.body.traces).toBe(21);
  });

  it.each([
    ['', /^missing parameter "service"/],
    ['service=shop&quantile=1', /^invalid parameter "quantile": "1" is not a number between 0 and 1/],
    ['service=shop&quantile=p95', /^invalid parameter "quantile"/],
    [
      'service=shop&limit=0',
      /^invalid parameter "limit": "0" must be a whole number of traces from 1 to 1000/,
    ],
    ['service=shop&start=yesterday', /^invalid parameter "start": "yesterday" is not a time/],
    ['service=shop&start=20&end=10', /^invalid parameters: "start" is after "end"/],
    ['service=shop&service=cart', /^invalid parameter "service": give it once/],
  ])('refuses ?%s', async (query, message) => {
    const { status, body } = await get(`/api/vigil/v1/bottlenecks?${query}`);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });

  it('accepts RFC 3339 times and answers an empty window with nothing', async () => {
    const { status, body } = await get(
      '/api/vigil/v1/bottlenecks?service=shop&start=2001-01-01T00:00:00Z&end=2001-01-02T00:00:00Z',
    );
    expect([status, body]).toEqual([200, { traces: 0, quantile: 0.95, thresholdMs: null, operations: [] }]);
  });
});

describe('parseTraceId', () => {
  it.each([
    ['4BF92F3577B34DA6A3CE929D0E0E4736', '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['a3ce929d0e0e4736', '0000000000000000a3ce929d0e0e4736'],
    ['1', '00000000000000000000000000000001'],
  ])('reads %s', (raw, id) => {
    expect(parseTraceId(raw)).toBe(id);
  });

  it.each(['', 'xyz', '4bf92f3577b34da6a3ce929d0e0e47361', '00000000', ' 1', '1-2'])('refuses %j', (raw) => {
    expect(() => parseTraceId(raw)).toThrow(HttpError);
  });
});

describe('span store failures', () => {
  it('answers 503 with Retry-After and keeps serving', async () => {
    const broken = await ClickHouseSpanStore.open(sql, { database: 'trace_analysis_closed', retentionMs: 0 });
    await broken.close();
    const api = Fastify();
    await api.register(traceAnalysisApi({ spans: broken }));
    for (const url of [
      `/api/vigil/v1/traces/${'1'.repeat(32)}`,
      `/api/vigil/v1/traces/${'1'.repeat(32)}/journey`,
      '/api/vigil/v1/bottlenecks?service=shop',
    ]) {
      const res = await api.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error).toMatch(
        /the span store did not answer \(span store is closed\); try again shortly$/,
      );
    }
    await api.close();
  });
});
