/**
 * Alert history end to end: alerts posted to a real Vigil over Alertmanager's API v2 fire, are delivered to a
 * local webhook and resolve; the history endpoints then show the state changes and the notifications, read
 * back from chDB. An alert accepted right before shutdown is in the history after a restart.
 */
import { createServer, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { tempDir, waitFor } from './helpers.ts';

const dir = tempDir('alert-history');
const received: { status: string; alerts: { labels: Record<string, string> }[] }[] = [];
let hook: Server;
let vigil: RunningVigil;
let url = '';

/** Vigil on this test's data folder (chDB: one per process), so a restart finds what was written. */
async function start(): Promise<void> {
  const cfg = loadConfigText(
    [
      'self_monitoring: {enabled: false}',
      `alerting: {config_file: ${JSON.stringify(join(dir, 'am.yml'))}, history_retention: 30d}`,
    ].join('\n'),
    join(dir, 'vigil.yml'),
    { dataDir: join(dir, 'data'), port: 0, otlpHttpPort: 0, otlpGrpcPort: 0, listenAddress: '127.0.0.1' },
  );
  vigil = await startVigil(cfg);
  url = `http://127.0.0.1:${vigil.port}`;
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
  writeFileSync(
    join(dir, 'am.yml'),
    [
      'route:',
      '  receiver: hook',
      '  group_by: [alertname]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${hookUrl}`,
      '',
    ].join('\n'),
  );
  await start();
});

afterAll(async () => {
  await vigil?.close();
  await new Promise<void>((r) => hook?.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

async function post(alerts: unknown[]): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  expect(res.status).toBe(200);
}

async function history(query = ''): Promise<any> {
  const res = await fetch(`${url}/api/vigil/v1/alerting/history${query}`);
  expect(res.status).toBe(200);
  return res.json();
}

describe('alert history', () => {
  it('records alerts firing and resolving, and their notifications', async () => {
    const labels = { alertname: 'CheckoutErrors', service: 'checkout', severity: 'critical' };
    const other = { alertname: 'QueueBacklog', service: 'worker', severity: 'warning' };
    const startsAt = new Date(Date.now() - 5000).toISOString();
    await post([
      { labels, annotations: { summary: 'errors above 5%' }, startsAt },
      { labels: other, startsAt },
    ]);
    await waitFor('the firing notification', async () =>
      received.some((p) => p.status === 'firing' && p.alerts[0]!.labels.alertname === 'CheckoutErrors'),
    );
    await post([{ labels, startsAt, endsAt: new Date().toISOString() }]);
    await waitFor('the resolved notification', async () =>
      received.some((p) => p.status === 'resolved' && p.alerts[0]!.labels.alertname === 'CheckoutErrors'),
    );

    const events = await waitFor('the resolved event in the history', async () => {
      const body = await history('?matcher=alertname%3D"CheckoutErrors"');
      return body.events.length === 2 && body.events;
    });
    expect(events.map((e: any) => e.event)).toEqual(['resolved', 'firing']);
    expect(events[1]).toMatchObject({
      alertname: 'CheckoutErrors',
      source: 'api',
      severity: 'critical',
      labels,
      annotations: { summary: 'errors above 5%' },
      startsAt,
    });
    expect(events[0].fingerprint).toBe(events[1].fingerprint);

    const all = await history(`?start=${encodeURIComponent(startsAt)}&event=firing`);
    expect(all.events.map((e: any) => e.alertname).sort()).toEqual(['CheckoutErrors', 'QueueBacklog']);
    expect((await history('?matcher={severity="warning"}')).events.map((e: any) => e.alertname)).toEqual([
      'QueueBacklog',
    ]);

    const notes = await waitFor('both CheckoutErrors notifications in the history', async () => {
      const res = await fetch(`${url}/api/vigil/v1/alerting/history/notifications?receiver=hook&ok=true`);
      const body: any = await res.json();
      const mine = body.notifications.filter((n: any) => n.fingerprints.includes(events[0].fingerprint));
      return mine.length >= 2 && mine;
    });
    expect(notes[0]).toMatchObject({
      receiver: 'hook',
      integration: 'webhook[0]',
      status: 'resolved',
      ok: true,
      attempts: 1,
      error: '',
    });
    expect(notes.at(-1).status).toBe('firing');
    expect(notes[0].groupKey).toContain('alertname="CheckoutErrors"');
  });

  it('answers a bad parameter with 400 naming it', async () => {
    const res = await fetch(`${url}/api/vigil/v1/alerting/history?matcher=%7Bbroken`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/invalid parameter "matcher"/);
    const res2 = await fetch(`${url}/api/vigil/v1/alerting/history/notifications?ok=maybe`);
    expect(res2.status).toBe(400);
    expect(((await res2.json()) as { error: string }).error).toMatch(/invalid parameter "ok"/);
  });

  it('writes what is queued at shutdown, so it is there after a restart', async () => {
    const labels = { alertname: 'JustBeforeShutdown', service: 'edge' };
    await post([{ labels }]);
    // No waiting for the periodic write: closing Vigil writes the queue.
    await vigil.close();
    await start();
    const body = await history('?matcher=alertname%3D"JustBeforeShutdown"');
    expect(body.events.map((e: any) => `${e.alertname} ${e.event} ${e.source}`)).toEqual([
      'JustBeforeShutdown firing api',
    ]);
    // What was written before is still there too.
    expect((await history('?matcher=alertname%3D"CheckoutErrors"')).events).toHaveLength(2);
  });
});
