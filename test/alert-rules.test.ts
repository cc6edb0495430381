/**
 * Alerting rules in a running Vigil: a sample crossing a threshold, posted over OTLP/HTTP, makes the rule fire
 * and the alert reach the NotifyFn without waiting for the group's (hourly) schedule; the alert shows in
 * /api/v1/alerts and /api/v1/rules in Prometheus's shapes, ALERTS / ALERTS_FOR_STATE are queryable, a falling
 * sample resolves it, and POST /-/reload swaps rules (keeping the old ones when the new files are invalid).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import type { NotifiedAlert } from '../src/rules/notify.ts';
import { getJSON, queryURL, tempDir, waitFor } from './helpers.ts';

const dir = tempDir('alert-rules');
const rulesFile = join(dir, 'alerts.yml');
const RULES = [
  'groups:',
  '  - name: queues',
  '    interval: 1h', // evaluation on ingestion, not the schedule, makes these fire
  '    labels: {team: ops}',
  '    rules:',
  '      - alert: QueueTooDeep',
  '        expr: queue_depth > 10',
  '        labels: {severity: critical}',
  '        annotations:',
  '          summary: "Queue of {{ $labels.job }} holds {{ $value | humanize }} messages"',
  '      - alert: QueueNotEmpty',
  '        expr: queue_depth > 0',
  '        for: 1h',
];
writeFileSync(rulesFile, RULES.join('\n') + '\n');

const notified: NotifiedAlert[][] = [];
let vigil: RunningVigil;
let url: string;

beforeAll(async () => {
  const cfg = loadConfigText(
    [
      'self_monitoring: {enabled: false}',
      'global: {external_labels: {cluster: test}}',
      'alerting: {external_url: "https://vigil.example.com/"}',
      `rule_files: [${rulesFile}]`,
    ].join('\n'),
    join(dir, 'vigil.yml'),
    { dataDir: join(dir, 'data'), port: 0, otlpHttpPort: 0, otlpGrpcPort: 0, listenAddress: '127.0.0.1' },
  );
  vigil = await startVigil(cfg, { notifyAlerts: async (alerts) => void notified.push(alerts) });
  url = `http://127.0.0.1:${vigil.port}`;
});
afterAll(async () => {
  await vigil?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Posts one gauge point of `queue_depth` for service `svc` over OTLP/HTTP JSON, timestamped now. */
async function postDepth(svc: string, value: number): Promise<void> {
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'queue_depth',
                gauge: { dataPoints: [{ asDouble: value, timeUnixNano: `${Date.now()}000000` }] },
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

const firingOf = (name: string) =>
  notified.flat().filter((a) => a.labels.alertname === name && Date.parse(a.endsAt) > Date.now());

describe('alerting rules in a running Vigil', () => {
  it('fires on the crossing sample and hands the alert to the NotifyFn as Prometheus sends it', async () => {
    await postDepth('billing', 3);
    await postDepth('billing', 25);
    const [alert] = await waitFor(
      'a firing notification',
      async () => firingOf('QueueTooDeep')[0] && firingOf('QueueTooDeep'),
    );
    expect(alert).toEqual({
      labels: {
        alertname: 'QueueTooDeep',
        job: 'billing',
        severity: 'critical',
        team: 'ops',
        cluster: 'test',
      },
      annotations: { summary: 'Queue of billing holds 25 messages' },
      startsAt: expect.any(String),
      endsAt: expect.any(String),
      generatorURL: 'https://vigil.example.com/explore?q=queue_depth+%3E+10&mode=table',
    });
    // endsAt = send time + 4 × max(resend_delay 1m, interval 1h).
    expect(Date.parse(alert!.endsAt) - Date.parse(alert!.startsAt)).toBe(4 * 3_600_000);
    // The rule's for: 1h keeps the other one pending: never notified.
    expect(notified.flat().some((a) => a.labels.alertname === 'QueueNotEmpty')).toBe(false);
  });

  it('lists the alerts in /api/v1/alerts and the rules with their state in /api/v1/rules', async () => {
    // The group's second rule may still be evaluating when the first rule's alert has been notified.
    const { status, body } = await waitFor('both alerts', async () => {
      const r = await getJSON(`${url}/api/v1/alerts`);
      return r.body.data.alerts.length === 2 && r;
    });
    expect(status).toBe(200);
    expect(body.status).toBe('success');
    const byName = Object.fromEntries(
      body.data.alerts.map((a: { labels: { alertname: string } }) => [a.labels.alertname, a]),
    );
    expect(byName.QueueTooDeep).toEqual({
      labels: { alertname: 'QueueTooDeep', job: 'billing', severity: 'critical', team: 'ops' },
      annotations: { summary: 'Queue of billing holds 25 messages' },
      state: 'firing',
      activeAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      value: '2.5e+01',
    });
    expect(byName.QueueNotEmpty).toMatchObject({ state: 'pending', value: '2.5e+01' });

    const rules = await getJSON(`${url}/api/v1/rules?type=alert`);
    const [group] = rules.body.data.groups;
    expect(group).toMatchObject({ name: 'queues', file: rulesFile, interval: 3600, limit: 0 });
    expect(group.rules[0]).toMatchObject({
      state: 'firing',
      name: 'QueueTooDeep',
      query: 'queue_depth > 10',
      duration: 0,
      keepFiringFor: 0,
      labels: { severity: 'critical', team: 'ops' },
      annotations: { summary: 'Queue of {{ $labels.job }} holds {{ $value | humanize }} messages' },
      health: 'ok',
      type: 'alerting',
    });
    expect(group.rules[0].lastEvaluation).not.toBe('0001-01-01T00:00:00Z');
    expect(group.rules[0].alerts).toHaveLength(1);
    expect(group.rules[1]).toMatchObject({ state: 'pending', name: 'QueueNotEmpty', duration: 3600 });
    const filtered = await getJSON(`${url}/api/v1/rules?type=alert&rule_name[]=QueueNotEmpty`);
    expect(filtered.body.data.groups[0].rules.map((r: { name: string }) => r.name)).toEqual([
      'QueueNotEmpty',
    ]);
    expect((await getJSON(`${url}/api/v1/rules?type=record`)).body.data.groups).toEqual([]);
  });

  it('writes ALERTS and ALERTS_FOR_STATE to storage', async () => {
    // The notification of the first rule can arrive while the second rule's samples are still being written.
    const states = await waitFor('both ALERTS series', async () => {
      const { body } = await getJSON(queryURL(url, '/api/v1/query', { query: 'ALERTS' }));
      const found: string[] = body.data.result
        .map((r: { metric: Record<string, string> }) => `${r.metric.alertname}:${r.metric.alertstate}`)
        .sort();
      return found.length === 2 && found;
    });
    expect(states).toEqual(['QueueNotEmpty:pending', 'QueueTooDeep:firing']);
    const forState = await getJSON(
      queryURL(url, '/api/v1/query', { query: 'ALERTS_FOR_STATE{alertname="QueueTooDeep"}' }),
    );
    const activeAt = (await getJSON(`${url}/api/v1/alerts`)).body.data.alerts.find(
      (a: { labels: { alertname: string } }) => a.labels.alertname === 'QueueTooDeep',
    ).activeAt;
    expect(Number(forState.body.data.result[0].value[1])).toBeCloseTo(Date.parse(activeAt) / 1000, 3);
  });

  it('resolves on the falling sample and sends the alert with endsAt = resolution time', async () => {
    const before = notified.length;
    await postDepth('billing', 0);
    const resolved = await waitFor('a resolved notification', async () =>
      notified
        .slice(before)
        .flat()
        .find((a) => a.labels.alertname === 'QueueTooDeep'),
    );
    expect(Date.parse(resolved.endsAt)).toBeLessThanOrEqual(Date.now());
    expect((await getJSON(`${url}/api/v1/alerts`)).body.data.alerts).toEqual([]);
    const { body } = await getJSON(queryURL(url, '/api/v1/query', { query: 'ALERTS' }));
    expect(body.data.result).toEqual([]); // stale markers end the series at once
  });

  it('reloads rule files on POST /-/reload, keeping the previous rules when the new ones are invalid', async () => {
    writeFileSync(rulesFile, RULES.join('\n').replace('queue_depth > 10', 'queue_depth > ') + '\n');
    const bad = await fetch(`${url}/-/reload`, { method: 'POST' });
    expect(bad.status).toBe(500);
    expect(await bad.text()).toMatch(
      /^failed to reload config: .*alerts\.yml:\d+:\d+: group "queues", rule 1/,
    );
    let names = (await getJSON(`${url}/api/v1/rules`)).body.data.groups[0].rules.map(
      (r: { name: string }) => r.name,
    );
    expect(names).toEqual(['QueueTooDeep', 'QueueNotEmpty']);

    writeFileSync(
      rulesFile,
      [...RULES, '      - record: job:queue_depth:max', '        expr: max by (job) (queue_depth)'].join(
        '\n',
      ),
    );
    const ok = await fetch(`${url}/-/reload`, { method: 'POST' });
    expect(ok.status).toBe(200);
    names = (await getJSON(`${url}/api/v1/rules`)).body.data.groups[0].rules.map(
      (r: { name: string }) => r.name,
    );
    expect(names).toEqual(['QueueTooDeep', 'QueueNotEmpty', 'job:queue_depth:max']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('vigil_rules_last_reload_successful 1');
  });
});
