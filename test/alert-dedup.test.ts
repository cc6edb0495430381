/**
 * De-duplication across sources with a real Vigil: two Prometheus "replicas" posting the same alert through
 * API v2 give one notification at a local webhook receiver; a tool posting its own JSON to a webhook source and
 * an API v2 alert for the same condition become one alert under an equivalence rule, showing both sources
 * (annotation, merges listing, amtool); severity spellings are normalised and routed on; bad webhook input is
 * answered 400 with item and field while the good items are kept.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

const run = promisify(execFile);
const hasAmtool = spawnSync('amtool', ['--version']).status === 0;
const dir = tempDir('alert-dedup');

interface Payload {
  receiver: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}
interface AmAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  receivers: { name: string }[];
}

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
      '  receiver: team',
      '  group_by: [alertname]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  routes:',
      '    - receiver: pager',
      '      matchers: [severity="critical"]',
      'receivers:',
      '  - name: team',
      `    webhook_configs: [{url: "${hookUrl}/team"}]`,
      '  - name: pager',
      `    webhook_configs: [{url: "${hookUrl}/pager"}]`,
      '',
    ].join('\n'),
  );
  const rules = join(dir, 'rules.yml');
  writeFileSync(
    rules,
    [
      'groups:',
      '  - name: queues',
      '    rules:',
      '      - alert: QueueBacklog',
      '        expr: vector(1)',
      '        labels: {queue: orders, severity: warn}',
      '',
    ].join('\n'),
  );
  vigil = await startTestVigil(
    [
      'global: {evaluation_interval: 1s}',
      `rule_files: [${JSON.stringify(rules)}]`,
      'alerting:',
      `  config_file: ${JSON.stringify(am)}`,
      '  severity_classes: true',
      '  severity_map: {disaster: critical}',
      '  dedup:',
      '    rules:',
      '      - match: {alertname: ChannelDown}',
      '        equal: [channel, severity]',
      '      - match: {alertname: QueueBacklog}',
      '        equal: [queue, severity]',
      '  webhooks:',
      '    - name: channel-monitor',
      '      alerts: data.items',
      '      labels: {alertname: check, channel: channel.name, host: host}',
      '      annotations: {summary: message}',
      '      status: {path: state, firing: [down], resolved: [up]}',
      '      starts_at: since',
      '      ends_at: until',
      '      severity: level',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await vigil?.stop();
  await new Promise<void>((r) => hook.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(vigil.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function alerts(filter: string): Promise<AmAlert[]> {
  const res = await fetch(`${vigil.url}/api/v2/alerts?filter=${encodeURIComponent(filter)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AmAlert[];
}

describe('de-duplication across sources', () => {
  it('gives one notification for an alert two HA replicas send', async () => {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    for (const replica of ['prom-a', 'prom-b'])
      expect(
        (
          await post('/api/v2/alerts', [
            { labels: { alertname: 'DiskFull', instance: 'db1', severity: 'crit', replica }, startsAt },
          ])
        ).status,
      ).toBe(200);
    const p = await waitFor('the DiskFull notification', async () =>
      payloads.find((x) => x.alerts.some((a) => a.labels.alertname === 'DiskFull')),
    );
    // Routed by the normalised class; the replica label is gone and both replicas are named as sources.
    expect(p.receiver).toBe('pager');
    expect(p.alerts).toHaveLength(1);
    expect(p.alerts[0]!.labels).toEqual({
      alertname: 'DiskFull',
      instance: 'db1',
      severity: 'critical',
      severity_original: 'crit',
    });
    const [a, ...more] = await alerts('alertname="DiskFull"');
    expect(more).toEqual([]);
    expect(a!.startsAt).toBe(startsAt);
    expect(a!.annotations.vigil_sources).toBe('api{replica="prom-a"}, api{replica="prom-b"}');
    // One notification for the group: the second replica did not add an alert to it.
    const res = await fetch(`${vigil.url}/api/vigil/v1/alerting/notifications?receiver=pager`);
    const { notifications } = (await res.json()) as { notifications: { alerts: unknown[] }[] };
    expect(notifications.filter((n) => JSON.stringify(n).includes(a!.fingerprint))).toHaveLength(1);
    // A second instance joins the group at the next group_interval: the notification lists two alerts, not
    // three, although both replicas keep re-posting the first one.
    for (const replica of ['prom-a', 'prom-b'])
      await post('/api/v2/alerts', [
        { labels: { alertname: 'DiskFull', instance: 'db1', severity: 'crit', replica }, startsAt },
        { labels: { alertname: 'DiskFull', instance: 'db2', severity: 'crit', replica }, startsAt },
      ]);
    const next = await waitFor('the second DiskFull notification', async () =>
      payloads.find((x) => x.alerts.some((y) => y.labels.instance === 'db2')),
    );
    expect(next.alerts.map((y) => y.labels.instance).sort()).toEqual(['db1', 'db2']);
    expect(payloads.filter((x) => x.alerts.some((y) => y.labels.alertname === 'DiskFull'))).toHaveLength(2);
  });

  it('merges a webhook-source alert and an API v2 alert under an equivalence rule', async () => {
    expect(
      (
        await post('/api/v2/alerts', [
          {
            labels: { alertname: 'ChannelDown', channel: 'orders', job: 'pipeline', severity: 'critical' },
            annotations: { summary: 'orders channel has no consumers' },
          },
        ])
      ).status,
    ).toBe(200);
    const since = new Date(Date.now() - 120_000).toISOString();
    const res = await post('/api/vigil/v1/alerts/webhook/channel-monitor', {
      data: {
        items: [
          {
            check: 'ChannelDown',
            channel: { name: 'orders' },
            host: 'mq1',
            state: 'down',
            since,
            level: 'disaster',
            message: 'no messages for 2m',
          },
        ],
      },
    });
    expect(res).toEqual({ status: 200, body: { accepted: 1 } });

    const list = await alerts('alertname="ChannelDown"');
    expect(list).toHaveLength(1);
    expect(list[0]!.labels).toEqual({ alertname: 'ChannelDown', channel: 'orders', severity: 'critical' });
    expect(list[0]!.startsAt).toBe(since);
    expect(list[0]!.annotations.vigil_sources).toBe(
      'api{job="pipeline"}, webhook/channel-monitor{host="mq1", severity="disaster"}',
    );

    const merges = (await (await fetch(`${vigil.url}/api/vigil/v1/alerting/merges`)).json()) as {
      merges: { fingerprint: string; sources: { source: string; labels: Record<string, string> }[] }[];
    };
    const m = merges.merges.find((x) => x.fingerprint === list[0]!.fingerprint)!;
    expect(m.sources.map((s) => [s.source, s.labels])).toEqual([
      ['api', { alertname: 'ChannelDown', channel: 'orders', job: 'pipeline', severity: 'critical' }],
      [
        'webhook/channel-monitor',
        { alertname: 'ChannelDown', channel: 'orders', host: 'mq1', severity: 'disaster' },
      ],
    ]);

    // Vigil's listing puts the most severe first and exposes the rank.
    const vl = (await (await fetch(`${vigil.url}/api/vigil/v1/alerting/alerts`)).json()) as {
      alerts: { severity: string; severityOrder: number; sources: unknown[] }[];
    };
    expect(vl.alerts.length).toBeGreaterThanOrEqual(2);
    expect(vl.alerts[0]).toMatchObject({ severity: 'critical', severityOrder: 3 });

    // The webhook source resolving leaves the alert firing: the API v2 source has not resolved.
    const resolved = await post('/api/vigil/v1/alerts/webhook/channel-monitor', {
      data: {
        items: [
          { check: 'ChannelDown', channel: { name: 'orders' }, host: 'mq1', state: 'up', level: 'disaster' },
        ],
      },
    });
    expect(resolved.status).toBe(200);
    expect(await alerts('alertname="ChannelDown"')).toHaveLength(1);
  });

  it("merges Vigil's own rule and a Prometheus alert for the same condition", async () => {
    await waitFor('the rule to fire', async () => (await alerts('alertname="QueueBacklog"')).length === 1);
    expect(
      (
        await post('/api/v2/alerts', [
          {
            labels: {
              alertname: 'QueueBacklog',
              queue: 'orders',
              severity: 'warning',
              job: 'rabbitmq',
              prometheus: 'monitoring/k8s',
            },
          },
        ])
      ).status,
    ).toBe(200);
    const list = await alerts('alertname="QueueBacklog"');
    expect(list.map((a) => a.labels)).toEqual([
      { alertname: 'QueueBacklog', queue: 'orders', severity: 'warning' },
    ]);
    expect(list[0]!.annotations.vigil_sources).toBe(
      'rules{severity="warn"}, api{job="rabbitmq", prometheus="monitoring/k8s"}',
    );
  });

  it.skipIf(!hasAmtool)('shows merged alerts to amtool', async () => {
    const { stdout } = await run('amtool', [
      `--alertmanager.url=${vigil.url}`,
      'alert',
      'query',
      '-o',
      'json',
      'alertname=DiskFull',
      'instance=db1',
    ]);
    const list = JSON.parse(stdout) as AmAlert[];
    expect(list.map((a) => [a.labels.severity, a.annotations.vigil_sources])).toEqual([
      ['critical', 'api{replica="prom-a"}, api{replica="prom-b"}'],
    ]);
  });
});

describe('webhook source input', () => {
  it('answers 400 naming item and field, and keeps the good items', async () => {
    const res = await post('/api/vigil/v1/alerts/webhook/channel-monitor', {
      data: {
        items: [
          { check: 'QueueFull', channel: { name: 'billing' }, state: 'down' },
          { channel: { name: 'billing' }, state: 'down' },
          { check: 'QueueFull', channel: { name: 'audit' }, state: 'maybe' },
          {
            check: 'QueueFull',
            channel: { name: 'audit' },
            state: 'down',
            since: '2026-01-02T00:00:00Z',
            until: '2026-01-01T00:00:00Z',
          },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      '3 of 4 alerts rejected, 1 accepted: item 1: labels.alertname: path check has no value; ' +
        'item 2: status: "maybe" at path state is not one of "down", "up"; ' +
        'item 3: start time must be before end time',
    );
    expect(res.body.details.map((d: { path: string }) => d.path)).toEqual([
      'data.items[1]',
      'data.items[2]',
      'data.items[3]',
    ]);
    expect((await alerts('alertname="QueueFull"')).map((a) => a.labels.channel)).toEqual(['billing']);
  });

  it.each([
    ['not JSON', '{"data": ', 'request body is not valid JSON'],
    ['no alerts array', { data: { item: [] } }, 'the payload has nothing at data.items'],
    ['alerts not an array', { data: { items: 'x' } }, 'data.items in the payload must be an array'],
  ])('answers 400 for a body with %s', async (_what, body, message) => {
    const res = await post('/api/vigil/v1/alerts/webhook/channel-monitor', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toContain(message);
  });

  it('answers 404 for an unknown webhook name', async () => {
    const res = await post('/api/vigil/v1/alerts/webhook/nagios', { data: { items: [] } });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe(
      'no webhook source named "nagios": configure it under alerting.webhooks (configured: channel-monitor)',
    );
  });
});
