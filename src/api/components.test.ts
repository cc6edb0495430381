import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { healthChecksSchema } from '../health/checks/config.ts';
import { HealthChecker } from '../health/checks/scheduler.ts';
import { componentsSchema } from '../health/components/config.ts';
import { MemoryStorage } from '../store/memory.ts';
import { span } from '../traces/store.cases.ts';
import { MemorySpanStore } from '../traces/store.memory.ts';
import { componentsApi, type ComponentsApiDeps } from './components.ts';
import { createServer } from './server.ts';

const MS = 1_000_000n;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 20));
}

async function app(deps: ComponentsApiDeps) {
  const server = createServer({ bodyLimit: 1024 * 1024 });
  await server.register(componentsApi(deps));
  cleanups.push(() => server.close());
  return server;
}

describe('GET /api/vigil/v1/components', () => {
  it('combines checks, scrape freshness, alerts and the trace graph, problems first', async () => {
    const now = Date.now();
    const storage = new MemoryStorage();
    const app1 = storage.appender();
    // payments was scraped every 15 s until two minutes ago; queue is current.
    for (let t = now - 600_000; t <= now - 120_000; t += 15_000)
      app1.append({ __name__: 'up', job: 'payments', instance: 'pay-1:9000' }, t, 1);
    app1.append({ __name__: 'up', job: 'queue', instance: 'q-1:9000' }, now - 20_000, 1);
    app1.append({ __name__: 'up', job: 'queue', instance: 'q-1:9000' }, now - 5_000, 1);
    await app1.commit();

    const port = await closedPort();
    const checks = healthChecksSchema.parse([{ name: 'db-port', kind: 'tcp', target: `127.0.0.1:${port}` }]);
    const checker = new HealthChecker({ storage, checks });
    checker.start();
    cleanups.push(() => checker.stop());
    await until(() => checker.status()[0]!.up !== undefined);

    const spans = new MemorySpanStore();
    cleanups.push(() => spans.close());
    const start = BigInt(now - 60_000) * MS;
    await spans.write([
      span({ spanId: '0000000000000001', service: 'frontend', startNs: start, endNs: start + 5n * MS }),
      span({
        spanId: '0000000000000002',
        parentSpanId: '0000000000000001',
        service: 'checkout',
        kind: 'client',
        startNs: start + MS,
        endNs: start + 4n * MS,
      }),
    ]);

    const server = await app({
      storage,
      declared: componentsSchema.parse([
        { name: 'database', checks: ['db-port'] },
        { name: 'checkout', depends_on: ['database'] },
      ]),
      checks: () => checker.status(),
      checkConfigs: checks,
      alerts: () => [{ labels: { alertname: 'QueueBacklog', job: 'queue', severity: 'warning' } }],
      spans,
      now: () => now,
    });
    const res = await server.inject({ method: 'GET', url: '/api/vigil/v1/components' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.warnings).toEqual([]);
    expect(body.components.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['database', 'down'],
      ['checkout', 'degraded'],
      ['frontend', 'degraded'],
      ['payments', 'degraded'],
      ['queue', 'degraded'],
    ]);
    const [database, checkout, frontend, payments, queue] = body.components;
    expect(database.reasons).toEqual([
      {
        source: 'check',
        detail: `check db-port (127.0.0.1:${port}) is failing: connect ECONNREFUSED 127.0.0.1:${port}`,
        status: 'down',
      },
    ]);
    expect(checkout).toMatchObject({
      kind: 'declared',
      dependsOn: ['database'],
      impactedBy: [{ component: 'database', status: 'down', via: [] }],
    });
    expect(frontend).toMatchObject({
      kind: 'service',
      dependsOn: ['checkout'],
      impactedBy: [{ component: 'database', status: 'down', via: ['checkout'] }],
    });
    expect(payments.reasons).toEqual([
      {
        source: 'freshness',
        detail: 'target pay-1:9000 (up): newest sample is 120s old, more than 3 × its 15s interval',
        status: 'degraded',
      },
    ]);
    expect(queue.reasons).toEqual([
      { source: 'alert', detail: 'alert QueueBacklog is firing (severity warning)', status: 'degraded' },
    ]);

    const one = await server.inject({ method: 'GET', url: '/api/vigil/v1/components/checkout' });
    expect(one.statusCode).toBe(200);
    expect(one.json().component).toEqual(checkout);
  });

  it('answers 404 with the way to list components for an unknown name', async () => {
    const server = await app({ storage: new MemoryStorage(), declared: [] });
    const res = await server.inject({ method: 'GET', url: '/api/vigil/v1/components/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: 'no component named "nope": GET /api/vigil/v1/components lists the known ones',
    });
  });

  it('answers without a source that fails, and names it in warnings', async () => {
    const spans = new MemorySpanStore();
    await spans.close();
    const server = await app({
      storage: new MemoryStorage(),
      declared: componentsSchema.parse([{ name: 'api' }]),
      spans,
    });
    const res = await server.inject({ method: 'GET', url: '/api/vigil/v1/components' });
    expect(res.statusCode).toBe(200);
    expect(res.json().components).toMatchObject([{ name: 'api', status: 'unknown', reasons: [] }]);
    expect(res.json().warnings).toEqual([
      expect.stringMatching(/^the trace service graph could not be read: /),
    ]);
  });
});
