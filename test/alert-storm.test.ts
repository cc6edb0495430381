/**
 * Storm protection in a running Vigil: a node goes down and a storm of related alerts is posted to
 * /api/v2/alerts. Each alert is its own Alertmanager aggregation group, but the local webhook receiver gets one
 * storm summary for the correlated group (root-cause candidate first) instead of one notification per group,
 * while an unrelated critical alert posted with the storm still gets a notification of its own. A flapping alert
 * is marked `vigil_flapping` in API v2 and its notifications are held.
 */
import { createServer, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

interface Payload {
  status: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

const dir = tempDir('alert-storm');
const payloads: Payload[] = [];
let hook: Server;
let vigil: TestVigil;

beforeAll(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      payloads.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Payload);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
  const am = join(dir, 'am.yml');
  writeFileSync(
    am,
    [
      'route:',
      '  receiver: oncall',
      "  group_by: ['...']", // every alert its own group: without storm protection, one notification each
      '  group_wait: 1s',
      '  group_interval: 2s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: oncall',
      `    webhook_configs: [{url: "${hookUrl}/oncall", send_resolved: false}]`,
      '',
    ].join('\n'),
  );
  vigil = await startTestVigil(
    [
      'alerting:',
      `  config_file: ${JSON.stringify(am)}`,
      '  storm:',
      '    threshold: 10',
      '    window: 1m',
      '    flapping: {max_fires: 2, window: 1h, stable_for: 1h}',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await vigil?.stop();
  await new Promise<void>((r) => hook.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

async function postAlerts(alerts: unknown[]): Promise<void> {
  const res = await fetch(`${vigil.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  expect(res.status, await res.text()).toBe(200);
}

const node = 'node-7';
const pods = Array.from({ length: 14 }, (_, i) => ({
  labels: {
    alertname: 'KubePodNotReady',
    pod: `checkout-${i}`,
    node,
    namespace: 'prod',
    service: 'checkout',
    severity: 'warning',
  },
  annotations: { summary: `Pod prod/checkout-${i} on ${node} has been in a non-ready state` },
}));
const nodeDown = {
  labels: {
    alertname: 'NodeDown',
    node,
    instance: `${node}:9100`,
    job: 'node-exporter',
    severity: 'critical',
  },
  annotations: { summary: `Node ${node} is unreachable` },
};
const unrelated = {
  labels: { alertname: 'BatchJobFailed', job: 'nightly-export', severity: 'critical' },
  annotations: { summary: 'Job nightly-export failed its last 3 runs' },
};

describe('storm protection', () => {
  it('sends one storm summary for a storm of related alerts, and an unrelated critical alert on its own', async () => {
    await postAlerts([nodeDown, ...pods, unrelated]);
    const summary = await waitFor(
      'a storm summary with every alert of the storm',
      async () =>
        payloads.find((p) => p.groupLabels.vigil_storm === 'true' && p.alerts.length === pods.length + 1),
      60_000,
    );
    expect(summary.commonLabels).toMatchObject({ vigil_storm: 'true', node });
    expect(summary.commonAnnotations.vigil_storm_summary).toMatch(
      /^Alert storm: 15 alerts in one correlated group \(15 firing\); probable root cause NodeDown/,
    );
    expect(summary.alerts[0]!.labels.alertname).toBe('NodeDown');
    expect(summary.groupKey).toContain('vigil-storm');
    const own = await waitFor('the unrelated critical alert’s own notification', async () =>
      payloads.find((p) => p.groupLabels.alertname === 'BatchJobFailed'),
    );
    expect(own.alerts.map((a) => a.labels.alertname)).toEqual(['BatchJobFailed']);
    expect(own.groupLabels.vigil_storm).toBeUndefined();
    // No pod got a notification of its own aggregation group.
    expect(payloads.filter((p) => p.groupLabels.alertname === 'KubePodNotReady')).toEqual([]);
    const summaries = payloads.filter((p) => p.groupLabels.vigil_storm === 'true');
    // The first summary and at most a few updates (groups flushing late join at group_interval), never one per alert.
    expect(summaries.length).toBeLessThan(pods.length);

    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toMatch(/vigil_storm_summaries_total\{receiver="oncall"\} [1-9]/);
    expect(metrics).toMatch(/vigil_storm_absorbed_alerts_total\{receiver="oncall"\} \d+/);
  });

  it('marks an alert that keeps firing and resolving as flapping and holds its notifications', async () => {
    const labels = { alertname: 'HighLatency', service: 'search', severity: 'warning' };
    const t = Date.now();
    // Three episodes: fired, resolved, fired again... more than max_fires (2) within the window.
    for (let i = 0; i < 3; i++) {
      const startsAt = new Date(t - (30 - i * 10) * 60_000).toISOString();
      const endsAt = new Date(t - (25 - i * 10) * 60_000).toISOString();
      await postAlerts([{ labels, startsAt, endsAt }]);
      await postAlerts([{ labels, startsAt }]);
    }
    const shown = await waitFor('the alert marked flapping in API v2', async () => {
      const list = (await (
        await fetch(`${vigil.url}/api/v2/alerts?filter=alertname="HighLatency"`)
      ).json()) as {
        annotations: Record<string, string>;
      }[];
      return list.find((a) => a.annotations.vigil_flapping === 'true');
    });
    expect(shown.annotations.vigil_flapping).toBe('true');
    // Its aggregation group flushes every 2 s; while flapping, the held alert is not notified.
    const flushes = payloads.length;
    await new Promise((r) => setTimeout(r, 5000));
    expect(
      payloads.slice(flushes).filter((p) => p.alerts.some((a) => a.labels.alertname === 'HighLatency')),
    ).toEqual([]);
  });
});
