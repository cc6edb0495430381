/** The alert history endpoints over HTTP, on a chDB-backed history store. */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseAlertHistoryStore } from '../alerts/history/clickhouse.ts';
import { event, notification, T0 } from '../alerts/history/store.cases.ts';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import { alertHistoryApi } from './alert-history.ts';
import { createServer } from './server.ts';

const dir = join(tmpdir(), `vigil-alert-history-api-${process.pid}`);
const sql = new ChdbTransport(dir);
let store: ClickHouseAlertHistoryStore;
let app: FastifyInstance;
let base = '';

beforeAll(async () => {
  store = await ClickHouseAlertHistoryStore.open(sql, { database: 'history_api', retentionMs: 0 });
  await store.append(
    [
      event({ at: T0 }),
      event({ at: T0 + 1000, event: 'resolved', endsAt: T0 + 1000 }),
      event({
        at: T0 + 500,
        fingerprint: 'b000000000000000',
        alertname: 'DiskFull',
        labels: { alertname: 'DiskFull', severity: 'warning', mount: '/var' },
        severity: 'warning',
        source: 'api',
      }),
    ],
    [
      notification({ at: T0 + 100 }),
      notification({ at: T0 + 200, id: 'n2', receiver: 'team-b', ok: false, attempts: 3, error: 'HTTP 500' }),
    ],
  );
  app = createServer({ bodyLimit: 1 << 20 });
  await app.register(alertHistoryApi({ history: store }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/vigil/v1/alerting/history`;
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  await sql.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path);
  return { status: res.status, body: await res.json() };
}

const secs = (ms: number) => String(ms / 1000);

describe('GET /api/vigil/v1/alerting/history', () => {
  it('returns every event newest first with times in RFC 3339', async () => {
    const { status, body } = await get('');
    expect(status).toBe(200);
    expect(body.events.map((e: any) => `${e.alertname} ${e.event}`)).toEqual([
      'HighLatency resolved',
      'DiskFull firing',
      'HighLatency firing',
    ]);
    expect(body.events[2]).toEqual({
      time: new Date(T0).toISOString(),
      fingerprint: 'a1b2c3d4e5f60718',
      alertname: 'HighLatency',
      event: 'firing',
      source: 'rules',
      severity: 'critical',
      labels: { alertname: 'HighLatency', severity: 'critical', service: 'cart' },
      annotations: { summary: 'p99 above 2s' },
      startsAt: new Date(T0 - 60_000).toISOString(),
      endsAt: new Date(T0 + 240_000).toISOString(),
    });
  });

  it.each([
    [`?start=${secs(T0 + 1)}&end=${secs(T0 + 1000)}`, ['HighLatency resolved', 'DiskFull firing']],
    [`?end=${new Date(T0 + 500).toISOString()}`, ['DiskFull firing', 'HighLatency firing']],
    ['?matcher=alertname%3D"DiskFull"', ['DiskFull firing']],
    ['?matcher={severity=~"crit.*"}&event=firing', ['HighLatency firing']],
    ['?matcher=severity!%3Dwarning&matcher=service%3Dcart', ['HighLatency resolved', 'HighLatency firing']],
    ['?event=firing,resolved&event=resolved&limit=1', ['HighLatency resolved']],
    ['?event=suppressed', []],
  ])('filters: %s', async (query, want) => {
    const { status, body } = await get(query);
    expect(status).toBe(200);
    expect(body.events.map((e: any) => `${e.alertname} ${e.event}`)).toEqual(want);
  });

  it.each([
    ['?start=yesterday', /invalid parameter "start": cannot parse "yesterday"/],
    ['?end=2026-13-45T00:00:00Z', /invalid parameter "end"/],
    ['?start=10&end=5', /"start" and "end": start is after end/],
    ['?start=1&start=2', /invalid parameter "start": given 2 times/],
    ['?matcher=alertname', /invalid parameter "matcher" \(#1, "alertname"\): bad matcher format/],
    ['?matcher=a%3Db&matcher=x%3D~"("', /invalid parameter "matcher" \(#2/],
    ['?matcher=service%3D~"a(%3F%3Db).*"', /uses lookaround or a backreference, which RE2/],
    ['?matcher=service!~"(a)%5C%5C1"', /uses lookaround or a backreference/],
    [
      '?event=fired',
      /invalid parameter "event": "fired" is not one of firing, resolved, suppressed, unsuppressed/,
    ],
    ['?limit=0', /invalid parameter "limit": "0" is not a whole number from 1 to 10000/],
    ['?limit=abc', /invalid parameter "limit"/],
    ['?limit=10001', /invalid parameter "limit"/],
  ])('answers 400 for %s', async (query, message) => {
    const { status, body } = await get(query);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });
});

describe('GET /api/vigil/v1/alerting/history/notifications', () => {
  it('returns notifications newest first, filtered by receiver and outcome', async () => {
    const all = await get('/notifications');
    expect(all.status).toBe(200);
    expect(all.body.notifications.map((n: any) => n.id)).toEqual(['n2', notification().id]);
    expect(all.body.notifications[0]).toEqual({
      time: new Date(T0 + 200).toISOString(),
      id: 'n2',
      groupId: 'f'.repeat(64),
      groupKey: '{}:{alertname="HighLatency"}',
      receiver: 'team-b',
      integration: 'webhook[0]',
      status: 'firing',
      fingerprints: ['a1b2c3d4e5f60718'],
      ok: false,
      attempts: 3,
      error: 'HTTP 500',
    });
    expect((await get('/notifications?receiver=oncall')).body.notifications.map((n: any) => n.id)).toEqual([
      notification().id,
    ]);
    expect((await get('/notifications?ok=false')).body.notifications.map((n: any) => n.id)).toEqual(['n2']);
    expect((await get(`/notifications?start=${secs(T0 + 150)}&limit=5`)).body.notifications).toHaveLength(1);
  });

  it.each([
    ['?ok=yes', /invalid parameter "ok": "yes" is not true or false/],
    ['?receiver=a&receiver=b', /invalid parameter "receiver": given 2 times/],
    ['?limit=-1', /invalid parameter "limit"/],
    ['?start=x', /invalid parameter "start"/],
  ])('answers 400 for %s', async (query, message) => {
    const { status, body } = await get('/notifications' + query);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });
});
