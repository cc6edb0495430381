/**
 * The correlation API over real parts: spans come from the OpenTelemetry tracing SDK over OTLP/HTTP into the
 * span store, alerts are posted to the Alertmanager API v2 of a real alert pipeline, and the correlations are
 * read over HTTP.
 */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAlertmanagerConfigText } from '../alerts/config/load.ts';
import { AlertPipeline } from '../alerts/pipeline.ts';
import { spanTopology } from '../incidents/topology.ts';
import { MemorySpanStore } from '../traces/store.memory.ts';
import { otlpTracesPlugin } from '../traces/otlp/handler.ts';
import { alertmanagerApi } from './alertmanager.ts';
import { correlationApi, type CorrelationsJson } from './correlation.ts';
import { createServer } from './server.ts';

let app: FastifyInstance;
let pipeline: AlertPipeline;
let base: string;
const spans = new MemorySpanStore();
const providers: BasicTracerProvider[] = [];

beforeAll(async () => {
  const config = loadAlertmanagerConfigText(
    'route:\n  receiver: default\nreceivers:\n  - name: default\n',
    'am.yml',
  );
  pipeline = await AlertPipeline.start({
    config,
    externalURL: 'http://vigil.example',
    topology: spanTopology(spans, Date.now, 0),
  });
  app = createServer({ bodyLimit: 1 << 20 });
  await app.register(otlpTracesPlugin({ store: spans, maxAttributeValueBytes: 4096 }));
  await app.register(
    alertmanagerApi({
      pipeline,
      versionInfo: {
        version: '0',
        revision: 'r',
        branch: 'b',
        buildUser: 'u',
        buildDate: 'd',
        goVersion: 'node',
      },
    }),
  );
  await app.register(correlationApi({ alerts: pipeline, spans, intervalMs: 0, graphTtlMs: 0 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const p of providers) await p.shutdown();
  await app?.close();
  await pipeline?.stop();
});

function tracer(service: string) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` }))],
  });
  providers.push(provider);
  return provider;
}

/** `calls` requests checkout → payments → payments-db, and frontend → search. */
async function traffic(calls: number): Promise<void> {
  const [checkout, payments, db, frontend, search] = [
    'checkout',
    'payments',
    'payments-db',
    'frontend',
    'search',
  ].map(tracer);
  const t = (p: BasicTracerProvider) => p.getTracer('correlation-test');
  const now = Date.now() - 60_000;
  for (let i = 0; i < calls; i++) {
    const root = t(checkout!).startSpan('POST /checkout', { kind: SpanKind.SERVER, startTime: now });
    const pay = t(payments!).startSpan(
      'charge',
      { kind: SpanKind.SERVER, startTime: now + 1 },
      trace.setSpan(ROOT_CONTEXT, root),
    );
    t(db!)
      .startSpan('SELECT', { kind: SpanKind.SERVER, startTime: now + 2 }, trace.setSpan(ROOT_CONTEXT, pay))
      .end(now + 3);
    pay.end(now + 4);
    root.end(now + 5);
    const f = t(frontend!).startSpan('GET /', { kind: SpanKind.SERVER, startTime: now });
    t(search!)
      .startSpan('search', { kind: SpanKind.SERVER, startTime: now + 1 }, trace.setSpan(ROOT_CONTEXT, f))
      .end(now + 2);
    f.end(now + 3);
  }
  for (const p of providers) await p.forceFlush();
}

async function postAlerts(
  alerts: { labels: Record<string, string>; minutesAgo: number; summary?: string }[],
) {
  const res = await fetch(`${base}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      alerts.map((a) => ({
        labels: a.labels,
        annotations: a.summary ? { summary: a.summary } : {},
        startsAt: new Date(Date.now() - a.minutesAgo * 60_000).toISOString(),
      })),
    ),
  });
  expect(res.status).toBe(200);
}

async function get(query = ''): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/api/vigil/v1/alerting/correlations${query}`);
  return { status: res.status, body: await res.json() };
}

describe('GET /api/vigil/v1/alerting/correlations', () => {
  it('answers no groups without alerts', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    expect((r.body as CorrelationsJson).groups).toEqual([]);
  });

  it('correlates alerts over the service graph from traces, with reasons and a root cause', async () => {
    await traffic(6);
    await postAlerts([
      { labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'error' }, minutesAgo: 4 },
      { labels: { alertname: 'PostgresDown', service: 'payments-db', severity: 'critical' }, minutesAgo: 3 },
      { labels: { alertname: 'HighLatency', service: 'payments', severity: 'warning' }, minutesAgo: 2 },
      {
        labels: { alertname: 'DiskWillFill', instance: 'backup-1:9100', severity: 'critical' },
        minutesAgo: 3,
      },
    ]);
    const r = await get();
    expect(r.status).toBe(200);
    const body = r.body as CorrelationsJson;
    expect(body.warnings).toEqual([]);
    expect(body.graph).toEqual({ services: 5, edges: 3, windowMs: 3_600_000 });
    expect(body.groups).toHaveLength(2);
    const [cascade, disk] = body.groups;
    expect(cascade!.rootCause.labels.alertname).toBe('PostgresDown');
    expect(cascade!.severity).toBe('critical');
    // The root first, then by root-cause score: payments is upstream of checkout.
    expect(cascade!.members.map((m) => m.labels.alertname)).toEqual([
      'PostgresDown',
      'HighLatency',
      'HighErrorRate',
    ]);
    const checkout = cascade!.members.find((m) => m.labels.service === 'checkout')!;
    expect(cascade!.startedAt).toBe(checkout.startsAt);
    expect(checkout.reasons).toContainEqual({
      kind: 'topology',
      detail: 'checkout calls payments-db via payments (0.1 calls/min on the thinnest hop)',
      score: 0.6,
    });
    expect(checkout.reasons.find((x) => x.kind === 'time')!.detail).toBe(
      'started 1m before PostgresDown (payments-db)',
    );
    expect(disk!.members).toHaveLength(1);
    expect(disk!.rootCause.labels.alertname).toBe('DiskWillFill');

    // Stable across evaluations.
    const again = (await get()).body as CorrelationsJson;
    expect(again.groups.map((g) => g.id)).toEqual(body.groups.map((g) => g.id));
  });

  it('answers with the same groups and IDs as the pipeline correlation that incidents and storm protection use', async () => {
    const body = (await get()).body as CorrelationsJson;
    const shared = await pipeline.correlator.current(Date.now());
    expect(body.groups.map((g) => g.id)).toEqual(shared.groups.map((g) => g.id));
  });

  it('still answers, with a warning, when the service graph cannot be read', async () => {
    // The pipeline's own graph read fails.
    const config = loadAlertmanagerConfigText('route:\n  receiver: d\nreceivers:\n  - name: d\n', 'am.yml');
    const failing = await AlertPipeline.start({
      config,
      externalURL: 'http://vigil.example',
      topology: () => Promise.reject(new Error('span store closed')),
    });
    await failing.receive([{ labels: { alertname: 'A', service: 'x' } }], 'test');
    const broken = createServer({ bodyLimit: 1 << 20 });
    await broken.register(
      correlationApi({
        alerts: failing,
        spans: { dependencies: () => Promise.reject(new Error('span store closed')) },
        intervalMs: 0,
      }),
    );
    const warning =
      'service graph unavailable (span store closed): correlated on time, labels and history only';
    // Both the shared correlation and a what-if over another graph window.
    for (const url of [
      '/api/vigil/v1/alerting/correlations',
      '/api/vigil/v1/alerting/correlations?graph_window=2h',
    ]) {
      const res = await broken.inject({ url });
      expect(res.statusCode).toBe(200);
      const body = res.json() as CorrelationsJson;
      expect(body.warnings).toEqual([warning]);
      expect(body.groups).toHaveLength(1);
    }
    await broken.close();
    await failing.stop();
  });

  it.each([
    [
      '?window=soon',
      400,
      'query parameter window: invalid parameter "window": cannot parse "soon" to a valid duration',
    ],
    ['?window=0s', 400, 'query parameter window: "0s" must be above 0 and at most 24h'],
    ['?graph_window=30d', 400, 'query parameter graph_window: "30d" must be above 0 and at most 24h'],
    ['?window=1m&window=2m', 400, 'query parameter window: give it once, as a duration such as 15m'],
    ['?limit=3', 400, 'unknown query parameter "limit": use window or graph_window'],
  ])('rejects %s with %d', async (q, status, error) => {
    const r = await get(q);
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error });
  });

  it('accepts a custom window: a what-if from the shared memory that changes nothing', async () => {
    const before = (await get()).body as CorrelationsJson;
    // With a 30 s window nothing started close enough to join on current evidence, except remembered groups.
    const r = await get('?window=30s&graph_window=2h');
    expect(r.status).toBe(200);
    const body = r.body as CorrelationsJson;
    expect(body.graph.windowMs).toBe(7_200_000);
    expect(body.groups.map((g) => g.id).sort()).toEqual(before.groups.map((g) => g.id).sort());
    const after = (await get()).body as CorrelationsJson;
    expect(after.groups).toEqual(before.groups);
  });
});
