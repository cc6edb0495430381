/**
 * Alert state across a real restart: a Vigil process with a firing and a pending alert is stopped and
 * started again on the same data folder. The firing alert comes back firing with its original start, is
 * re-posted to the (restarted, in-process) alert pipeline as the same episode, and the webhook receiver is not
 * notified twice; when its condition clears the receiver gets it as resolved (nothing lost); the pending alert
 * keeps its time spent pending. amtool reads the pipeline's alerts. SIGHUP reloads the rule files.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, getJSON, spawnVigil, tempDir, waitFor } from './helpers.ts';

const dir = tempDir('alert-restart');
const rulesFile = join(dir, 'alerts.yml');
const RULES = [
  'groups:',
  '  - name: queues',
  '    interval: 1s',
  '    rules:',
  '      - alert: QueueTooDeep',
  '        expr: queue_depth > 10',
  '      - alert: QueueNotEmpty',
  '        expr: queue_depth > 0',
  '        for: 1h',
];
writeFileSync(rulesFile, RULES.join('\n') + '\n');

/** What the webhook receiver got: Alertmanager's webhook payload, per delivery. */
const deliveries: { status: string; alerts: { status: string; labels: Record<string, string> }[] }[] = [];
let hook: Server;
beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      deliveries.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as { port: number }).port;
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: hook',
      '  group_by: [alertname]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: http://127.0.0.1:${hookPort}/hook`,
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'vigil.yml'),
    [
      'self_monitoring: {enabled: false}',
      'otlp: {http_port: 0, grpc_port: 0}',
      // Long: any re-send seen after the restart comes from the restart, not from the resend schedule.
      `alerting: {resend_delay: 10m, config_file: ${join(dir, 'alertmanager.yml')}}`,
      `rule_files: [${rulesFile}]`,
    ].join('\n'),
  );
});

const procs: ChildProcess[] = [];
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await new Promise((r) => hook?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function start(port: number): Promise<ChildProcess> {
  const proc = await spawnVigil(join(dir, 'vigil.yml'), join(dir, 'data'), port);
  procs.push(proc);
  return proc;
}

async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

async function postDepth(url: string, value: number): Promise<void> {
  const res = await fetch(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'billing' } }] },
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
    }),
  });
  expect(res.status).toBe(200);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function alerts(url: string): Promise<Record<string, { state: string; activeAt: string }>> {
  const { body } = await getJSON(`${url}/api/v1/alerts`);
  return Object.fromEntries(
    body.data.alerts.map((a: { labels: { alertname: string }; state: string; activeAt: string }) => [
      a.labels.alertname,
      a,
    ]),
  );
}

/** Active alerts in Vigil's alert pipeline, as amtool (Alertmanager's own client) reports them. */
async function amtoolAlerts(url: string): Promise<{ labels: Record<string, string>; startsAt: string }[]> {
  const { stdout } = await promisify(execFile)('amtool', [
    'alert',
    'query',
    '--alertmanager.url',
    url,
    '-o',
    'json',
  ]);
  return JSON.parse(stdout);
}

describe('alerts across a restart', () => {
  it('come back as they were, without duplicate or lost notifications', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let proc = await start(port);
    await postDepth(url, 25);
    const before = await waitFor('the alert to fire', async () => {
      const a = await alerts(url);
      return a.QueueTooDeep?.state === 'firing' && a.QueueNotEmpty && a;
    });
    expect(await metric(url, 'vigil_rule_alerts_sent_total')).toBe(1);
    // The rule's alert reached the alert pipeline, and the webhook receiver.
    const inPipeline = await waitFor('the alert in the pipeline', async () => {
      const list = await amtoolAlerts(url);
      return list.length > 0 && list;
    });
    expect(inPipeline.map((a) => a.labels)).toEqual([{ alertname: 'QueueTooDeep', job: 'billing' }]);
    await waitFor('the webhook notification', async () => deliveries.length > 0);
    expect(deliveries.map((d) => [d.status, d.alerts.map((a) => a.labels.alertname)])).toEqual([
      ['firing', ['QueueTooDeep']],
    ]);
    await stop(proc);

    proc = await start(port);
    // Let the group evaluate, and the pipeline flush its group, several times after the restart.
    await waitFor(
      'evaluations after the restart',
      async () => (await metric(url, 'vigil_rule_group_iterations_total')) >= 8,
    );
    const after = await alerts(url);
    expect(after.QueueTooDeep).toEqual(before.QueueTooDeep);
    expect(after.QueueNotEmpty!.state).toBe('pending');
    // Its pending time excludes the outage: activeAt moves forward by the downtime.
    expect(Date.parse(after.QueueNotEmpty!.activeAt)).toBeGreaterThan(
      Date.parse(before.QueueNotEmpty!.activeAt),
    );
    // Re-posted once to the restarted pipeline as the same firing episode (same startsAt)...
    expect(await metric(url, 'vigil_rule_alerts_sent_total')).toBe(1);
    const afterRestart = await amtoolAlerts(url);
    expect(afterRestart.map((a) => [a.labels.alertname, a.startsAt])).toEqual([
      ['QueueTooDeep', inPipeline[0]!.startsAt],
    ]);
    // ...and the receiver was not notified again.
    expect(deliveries).toHaveLength(1);

    // The condition clears: the restored alert is sent as resolved, and the receiver gets it.
    await postDepth(url, 0);
    await waitFor(
      'the resolved alert',
      async () => (await metric(url, 'vigil_rule_alerts_sent_total')) === 2,
    );
    // Rules run one after the other and each sends its alerts at once, so the pending rule may clear a moment
    // after the firing one was sent resolved.
    await waitFor('no active rule alerts', async () => Object.keys(await alerts(url)).length === 0);
    await waitFor('the pipeline to resolve the alert', async () => (await amtoolAlerts(url)).length === 0);
    await waitFor('the resolved webhook notification', async () => deliveries.length === 2);
    expect(deliveries[1]).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved' }] });

    // SIGHUP reloads the rule files.
    writeFileSync(rulesFile, [...RULES, '      - alert: Extra', '        expr: vector(1)'].join('\n') + '\n');
    proc.kill('SIGHUP');
    await waitFor('the reloaded rules', async () => {
      const { body } = await getJSON(`${url}/api/v1/rules`);
      return body.data.groups[0].rules.length === 3;
    });
    await stop(proc);
  }, 180_000);
});
