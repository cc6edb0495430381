/**
 * Data-flow validation end to end: a real Vigil (chDB storage, PromQL engine, alert pipeline) with two flows
 * configured in YAML. Counters are written through the storage; the notifications flow loses items between
 * its ingest and router stages and its SMS queue ages, the billing flow is clean. The right alerts must
 * appear in the Alertmanager API and the flows API, and none for billing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/config.ts';
import { startTestVigil, waitFor, type TestVigil } from './helpers.ts';

const CONFIG = `
flows:
  - name: notifications
    interval: 1s
    tolerance: 0.02
    stages:
      - name: ingest
        in: sum(rate(ingest_received_total[2m]))
        out: sum(rate(ingest_passed_total[2m]))
        dropped: sum(rate(ingest_rejected_total[2m]))
        freshness: {series: ingest_received_total, max_age: 2m}
      - name: router
        in: sum(rate(router_received_total[2m]))
        out: sum(rate(router_sent_total[2m]))
    channels:
      - name: sms
        stage: router
        in: sum(rate(sms_received_total[2m]))
        out: sum(rate(sms_delivered_total[2m]))
        lag: {expr: 'max(queue_oldest_age_seconds{queue="sms"})', max: 60s}
  - name: billing
    interval: 1s
    stages:
      - name: collect
        in: sum(rate(billing_in_total[2m]))
        out: sum(rate(billing_out_total[2m]))
        freshness: {series: billing_in_total, max_age: 2m}
        lag: {expr: 'max(queue_oldest_age_seconds{queue="billing"})', max: 60s}
`;

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil(CONFIG);
  // Ten minutes of counters up to now, one sample every 15 s.
  const end = Date.now();
  const app = vigil.storage.appender();
  for (let t = end - 600_000; t <= end; t += 15_000) {
    const s = (t - (end - 600_000)) / 1000;
    const c = (name: string, perSecond: number, extra: Record<string, string> = {}) =>
      app.append({ __name__: name, job: 'pipeline', ...extra }, t, 1000 + perSecond * s);
    c('ingest_received_total', 100);
    c('ingest_passed_total', 95);
    c('ingest_rejected_total', 5);
    // 95/s leave ingest, only 80/s reach the router: 15.8% lost on the way.
    c('router_received_total', 80);
    c('router_sent_total', 80);
    c('sms_received_total', 30);
    c('sms_delivered_total', 30);
    // The oldest SMS waits longer and longer: the queue is stuck.
    app.append({ __name__: 'queue_oldest_age_seconds', queue: 'sms' }, t, s);
    c('billing_in_total', 20);
    c('billing_out_total', 20);
    app.append({ __name__: 'queue_oldest_age_seconds', queue: 'billing' }, t, 3);
  }
  await app.commit();
}, 120_000);

afterAll(async () => {
  await vigil?.stop();
});

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

describe('data-flow validation', () => {
  it('raises FlowConservation for the lost hand-off and FlowLag for the stuck channel, nothing for a clean flow', async () => {
    const alerts = await waitFor('flow alerts', async () => {
      const res = await fetch(`${vigil.url}/api/v2/alerts`);
      const list = (await res.json()) as ApiAlert[];
      return list.length >= 2 ? list : undefined;
    });
    // Let billing be evaluated again after this point, then look once more: still only these two.
    const seen = Date.now();
    await waitFor('another billing evaluation', async () => {
      const b = (await (await fetch(`${vigil.url}/api/vigil/v1/flows`)).json()) as { flows: any[] };
      return b.flows[1].lastEvaluation > seen;
    });
    const again = (await (await fetch(`${vigil.url}/api/v2/alerts`)).json()) as ApiAlert[];
    const brief = (list: ApiAlert[]) =>
      list.map((a) => ({ ...a.labels })).sort((a, b) => (a.alertname! < b.alertname! ? -1 : 1));
    expect(brief(again)).toEqual(brief(alerts));
    expect(brief(alerts)).toEqual([
      {
        alertname: 'FlowConservation',
        flow: 'notifications',
        stage: 'router',
        check: 'handoff',
        severity: 'critical',
      },
      {
        alertname: 'FlowLag',
        flow: 'notifications',
        stage: 'router',
        channel: 'sms',
        check: 'lag',
        severity: 'warning',
      },
    ]);
    const loss = alerts.find((a) => a.labels.alertname === 'FlowConservation')!;
    expect(loss.status.state).toBe('active');
    expect(loss.annotations).toMatchObject({ out: '95', in: '80', gap: '15' });
    expect(Number(loss.annotations.gap_percent)).toBeCloseTo(15.79, 1);
    expect(loss.annotations.summary).toBe(
      'Items lost on the way into stage router of flow notifications: 15.79% gap',
    );
    const lag = alerts.find((a) => a.labels.alertname === 'FlowLag')!;
    expect(Number(lag.annotations.lag)).toBeGreaterThan(60);
    expect(lag.annotations.summary).toContain('channel sms (from stage router) of flow notifications');
  });

  it('shows every stage and channel with its checks in the flows API', async () => {
    const body = await waitFor('flow results', async () => {
      const b = (await (await fetch(`${vigil.url}/api/vigil/v1/flows`)).json()) as { flows: any[] };
      return b.flows.every((f) => f.lastEvaluation !== null) ? b : undefined;
    });
    const [notifications, billing] = body.flows;
    expect(notifications.stages.map((s: any) => [s.name, s.status])).toEqual([
      ['ingest', expect.stringMatching(/^(ok|unknown)$/)],
      ['router', 'violated'],
    ]);
    const ingest = notifications.stages[0];
    for (const kind of ['conservation', 'freshness'])
      expect(ingest.checks.find((c: any) => c.kind === kind).status).toBe('ok');
    expect(ingest.rates.in).toBeCloseTo(100);
    expect(ingest.rates.dropped).toBeCloseTo(5);
    expect(notifications.channels[0]).toMatchObject({ name: 'sms', stage: 'router', status: 'violated' });
    // Throughput is unknown while its baseline is learned; everything else in billing passes.
    expect(billing.stages[0].status).not.toBe('violated');
    for (const c of billing.stages[0].checks)
      expect(c.status === 'ok' || (c.kind === 'throughput' && c.status === 'unknown')).toBe(true);
  });

  it('refuses a bad flow definition with file, line and what is wrong', () => {
    expect(() =>
      loadConfigText(
        'flows:\n  - name: f\n    stages:\n      - name: a\n        in: sum(rate(x[5m])\n        out: y\n',
        'vigil.yml',
      ),
    ).toThrow(/vigil\.yml:5.*flows\[0\]\.stages\[0\]\.in.*not valid PromQL/s);
  });
});
