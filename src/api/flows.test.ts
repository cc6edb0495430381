import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_ALERTMANAGER_CONFIG_YAML, loadAlertmanagerConfigText } from '../alerts/config/load.ts';
import { AlertPipeline } from '../alerts/pipeline.ts';
import { flowsSchema } from '../health/flows/config.ts';
import { FlowMonitor } from '../health/flows/monitor.ts';
import { Engine } from '../query/promql/index.ts';
import { ManualClock } from '../rules/clock.ts';
import { engineQueryFn } from '../rules/rule.ts';
import { MemoryStorage } from '../store/memory.ts';
import { createServer } from './server.ts';
import { flowsApi } from './flows.ts';

const T0 = 1_700_000_000_000;
const clock = new ManualClock(T0);
const storage = new MemoryStorage();
let pipeline: AlertPipeline;
let monitor: FlowMonitor;
let app: FastifyInstance;

/** Writes counters for 10 minutes up to `end`: ingest passes `rate`/s on, the router receives `routerRate`/s. */
async function write(from: number, end: number, rate: number, routerRate: number) {
  const a = storage.appender();
  for (let t = from; t <= end; t += 15_000) {
    const s = (t - T0 + 3_600_000) / 1000;
    a.append({ __name__: 'received_total', stage: 'ingest' }, t, rate * s);
    a.append({ __name__: 'sent_total', stage: 'ingest' }, t, rate * s);
    a.append({ __name__: 'received_total', stage: 'router' }, t, routerRate * s);
    a.append({ __name__: 'sent_total', stage: 'router' }, t, routerRate * s);
  }
  await a.commit();
}

beforeAll(async () => {
  pipeline = await AlertPipeline.start({
    config: loadAlertmanagerConfigText(DEFAULT_ALERTMANAGER_CONFIG_YAML, 'am.yml'),
    clock,
    externalURL: 'http://vigil.example',
  });
  monitor = new FlowMonitor({
    flows: flowsSchema.parse([
      {
        name: 'notifications',
        stages: ['ingest', 'router'].map((s) => ({
          name: s,
          in: `sum(rate(received_total{stage="${s}"}[2m]))`,
          out: `sum(rate(sent_total{stage="${s}"}[2m]))`,
          throughput: false,
        })),
        channels: [{ name: 'sms', stage: 'router', in: 'sum(rate(sms_in_total[2m]))', out: 'vector(0)' }],
      },
    ]),
    query: engineQueryFn(new Engine(), storage),
    sink: pipeline,
    now: () => clock.now(),
  });
  app = createServer({ bodyLimit: 1 << 20 });
  await app.register(flowsApi({ flows: () => monitor.status() }));
});
afterAll(async () => {
  await monitor.stop();
  await pipeline.stop();
  await app.close();
});

const get = async () => (await app.inject({ method: 'GET', url: '/api/vigil/v1/flows' })).json();

describe('GET /api/vigil/v1/flows', () => {
  it('lists flows before their first evaluation', async () => {
    expect(await get()).toEqual({
      flows: [
        {
          name: 'notifications',
          intervalMs: 60_000,
          lastEvaluation: null,
          stages: ['ingest', 'router'].map((name) => ({
            name,
            status: 'unknown',
            checks: [],
            rates: { in: null, out: null, dropped: null },
          })),
          channels: [
            {
              name: 'sms',
              stage: 'router',
              status: 'unknown',
              checks: [],
              rates: { in: null, out: null, dropped: null },
            },
          ],
        },
      ],
    });
  });

  it('shows a loss between stages, raises an alert naming the stage, and resolves it', async () => {
    await write(T0 - 600_000, T0, 10, 6);
    await monitor.runOnce('notifications');
    const body = await get();
    const [ingest, router] = body.flows[0].stages;
    expect(ingest.status).toBe('ok');
    expect(router.status).toBe('violated');
    expect(router.rates.in).toBeCloseTo(6);
    expect(router.rates.out).toBeCloseTo(6);
    expect(router.rates.dropped).toBe(0);
    const handoff = router.checks.find((c: { kind: string }) => c.kind === 'handoff');
    expect(handoff).toMatchObject({ status: 'violated', expected: 0.01 });
    expect(handoff.value).toBeCloseTo(0.4);
    expect(handoff.reason).toContain('40.00% lost between ingest and this stage');
    const sms = body.flows[0].channels[0];
    expect(sms.status).toBe('unknown');
    expect(sms.checks[0]).toMatchObject({ kind: 'conservation', status: 'unknown', value: null });
    expect(sms.checks[0].reason).toContain('no series for "sum(rate(sms_in_total[2m]))"');

    const firing = pipeline.activeAlerts();
    expect(firing.map((a) => a.labels)).toEqual([
      {
        alertname: 'FlowConservation',
        flow: 'notifications',
        stage: 'router',
        check: 'handoff',
        severity: 'critical',
      },
    ]);
    expect(firing[0]!.annotations).toMatchObject({ out: '10', in: '6', gap: '4', gap_percent: '40' });

    // The router catches up: from here on it receives all 10/s (its counter jumps once, then keeps pace).
    await write(T0 + 15_000, T0 + 300_000, 10, 10);
    clock.set(T0 + 300_000);
    await monitor.runOnce('notifications');
    expect((await get()).flows[0].stages[1].status).toBe('ok');
    expect(pipeline.activeAlerts()).toEqual([]);
  });
});
