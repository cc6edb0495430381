import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryIntegration } from '../../notify/memory.ts';
import { ManualClock } from '../../rules/clock.ts';
import { registry } from '../../self/metrics.ts';
import { ChdbTransport } from '../../store/clickhouse/chdb.ts';
import { loadAlertmanagerConfigText } from '../config/load.ts';
import { dedupConfigSchema } from '../dedup.ts';
import { AlertPipeline } from '../pipeline.ts';
import { ClickHouseAlertHistoryStore } from './clickhouse.ts';
import { MemoryAlertHistoryStore } from './memory.ts';
import { event, notification, T0 } from './store.cases.ts';
import { AlertHistoryWriter } from './writer.ts';

const CONFIG = `
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
receivers:
  - name: default
`;

const ALL = { start: 0, end: 8.64e15, matchers: [], events: [], limit: 100 };
const iso = (ms: number) => new Date(ms).toISOString();

const dir = join(tmpdir(), `vigil-alert-history-writer-${process.pid}`);
const sql = new ChdbTransport(dir);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await sql.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dropped(kind: string): Promise<number> {
  const m = await registry.getSingleMetric('vigil_alert_history_dropped_total')!.get();
  return m.values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

describe('AlertHistoryWriter on a pipeline', () => {
  it('records firing, resolved, suppressed and the notification', async () => {
    const clock = new ManualClock(T0);
    const sink = new MemoryIntegration(() => clock.now());
    const p = await AlertPipeline.start({
      config: loadAlertmanagerConfigText(CONFIG, 'am.yml'),
      clock,
      externalURL: 'http://vigil',
      integrations: new Map([['default', [sink]]]),
    });
    const store = new MemoryAlertHistoryStore();
    const w = new AlertHistoryWriter({ store, flushIntervalMs: 10 });
    w.attach(p);
    cleanups.push(async () => {
      await p.stop();
      await w.close();
    });

    const a = {
      labels: { alertname: 'Down', job: 'api', severity: 'critical' },
      annotations: { summary: 's' },
    };
    await p.receive([a], 'api');
    await p.receive([a], 'api'); // re-sent while firing: no change
    await clock.advanceTo(T0 + 10_000);
    await clock.settle(clock.sleeping);
    await p.silences.set(
      {
        matchers: [{ name: 'alertname', value: 'Muted', isRegex: false, isEqual: true }],
        startsAt: T0,
        endsAt: T0 + 3_600_000,
        createdBy: 'ops',
        comment: 'maintenance',
      },
      clock.now(),
    );
    await p.receive([{ labels: { alertname: 'Muted' } }], 'rules');
    await clock.advanceTo(T0 + 20_000);
    await p.receive([{ ...a, endsAt: iso(T0 + 20_000) }], 'api');
    await w.flush();

    const evs = await store.events(ALL);
    expect(evs.map((e) => `${e.at - T0} ${e.alertname} ${e.event} ${e.source}`)).toEqual([
      '20000 Down resolved api',
      '10000 Muted suppressed rules',
      '10000 Muted firing rules',
      '0 Down firing api',
    ]);
    expect(evs.at(-1)).toMatchObject({
      labels: a.labels,
      annotations: a.annotations,
      severity: 'critical',
      startsAt: T0,
    });
    const notes = await store.notifications({ start: 0, end: 8.64e15, limit: 10 });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      receiver: 'default',
      status: 'firing',
      ok: true,
      attempts: 1,
      error: '',
      fingerprints: [evs.at(-1)!.fingerprint],
    });
  });
});

describe('AlertHistoryWriter with de-duplication', () => {
  it('records one firing for an alert two replicas send, under the merged labels', async () => {
    const clock = new ManualClock(T0);
    const p = await AlertPipeline.start({
      config: loadAlertmanagerConfigText(CONFIG, 'am.yml'),
      clock,
      externalURL: 'http://vigil',
      integrations: new Map([['default', [new MemoryIntegration(() => clock.now())]]]),
      dedup: dedupConfigSchema.parse({ ignore_labels: ['replica'] }),
    });
    const store = new MemoryAlertHistoryStore();
    const w = new AlertHistoryWriter({ store, flushIntervalMs: 3_600_000 });
    w.attach(p);
    cleanups.push(async () => {
      await p.stop();
      await w.close();
    });
    await p.receive([{ labels: { alertname: 'Up', replica: 'a' } }], 'api');
    await p.receive([{ labels: { alertname: 'Up', replica: 'b' } }], 'rules');
    await clock.advanceTo(T0 + 1000);
    await p.receive([{ labels: { alertname: 'Up', replica: 'a' }, endsAt: iso(T0 + 1000) }], 'api');
    // Still firing while the other replica sends it.
    expect(w.queued).toBe(1);
    await clock.advanceTo(T0 + 2000);
    await p.receive([{ labels: { alertname: 'Up', replica: 'b' }, endsAt: iso(T0 + 2000) }], 'rules');
    await w.flush();
    const evs = await store.events(ALL);
    expect(evs.map((e) => `${e.at - T0} ${e.event} ${e.source} ${JSON.stringify(e.labels)}`)).toEqual([
      '2000 resolved rules {"alertname":"Up"}',
      '0 firing api {"alertname":"Up"}',
    ]);
  });
});

describe('AlertHistoryWriter and resolve_timeout', () => {
  it('records an alert resolved by resolve_timeout at the next maintenance, at its endsAt', async () => {
    const clock = new ManualClock(T0);
    const p = await AlertPipeline.start({
      config: loadAlertmanagerConfigText(CONFIG + 'global: {resolve_timeout: 5m}\n', 'am.yml'),
      clock,
      externalURL: 'http://vigil',
      integrations: new Map([['default', [new MemoryIntegration(() => clock.now())]]]),
    });
    const store = new MemoryAlertHistoryStore();
    const w = new AlertHistoryWriter({ store, flushIntervalMs: 10 });
    w.attach(p);
    cleanups.push(async () => {
      await p.stop();
      await w.close();
    });
    // Sent without endsAt: it resolves 5 minutes after it was last received.
    await p.receive([{ labels: { alertname: 'NoEnd' } }], 'webhook/tool');
    // Explicitly resolved alerts are not reported a second time by maintenance.
    await p.receive([{ labels: { alertname: 'Ended' } }], 'api');
    await p.receive([{ labels: { alertname: 'Ended' }, endsAt: iso(T0) }], 'api');
    await clock.advanceTo(T0 + 16 * 60_000);
    await clock.settle(clock.sleeping);
    await w.flush();
    expect(
      (await store.events(ALL)).map((e) => `${(e.at - T0) / 60_000} ${e.alertname} ${e.event} ${e.source}`),
    ).toEqual([
      '5 NoEnd resolved resolve_timeout',
      '0 Ended resolved api',
      '0 Ended firing api',
      '0 NoEnd firing webhook/tool',
    ]);
  });
});

describe('AlertHistoryWriter queue', () => {
  it('drops and counts entries beyond the queue bound, and writes the rest', async () => {
    const store = new MemoryAlertHistoryStore();
    const w = new AlertHistoryWriter({ store, maxQueued: 2, flushIntervalMs: 60_000 });
    cleanups.push(() => w.close());
    const before = { event: await dropped('event'), notification: await dropped('notification') };
    expect(w.addEvent(event({ at: T0 + 1 }))).toBe(true);
    expect(w.addNotification(notification())).toBe(true);
    expect(w.addEvent(event({ at: T0 + 2 }))).toBe(false);
    expect(w.addNotification(notification({ id: 'x' }))).toBe(false);
    expect(await dropped('event')).toBe(before.event + 1);
    expect(await dropped('notification')).toBe(before.notification + 1);
    await w.flush();
    expect(w.queued).toBe(0);
    expect((await store.events(ALL)).map((e) => e.at)).toEqual([T0 + 1]);
    expect(await store.notifications({ start: 0, end: 8.64e15, limit: 10 })).toEqual([notification()]);
  });

  it('writes full batches at once, in order, without waiting for the interval', async () => {
    const store = new MemoryAlertHistoryStore();
    const w = new AlertHistoryWriter({ store, batchSize: 3, flushIntervalMs: 3_600_000 });
    cleanups.push(() => w.close());
    for (let i = 0; i < 7; i++) w.addEvent(event({ at: T0 + i }));
    await w.flush();
    expect((await store.events(ALL)).map((e) => e.at - T0)).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('keeps entries whose write failed and writes them once ClickHouse accepts them again', async () => {
    const store = await ClickHouseAlertHistoryStore.open(sql, { database: 'writer_retry', retentionMs: 0 });
    const logs: string[] = [];
    const w = new AlertHistoryWriter({ store, flushIntervalMs: 3_600_000, log: (m) => logs.push(m) });
    cleanups.push(async () => {
      await w.close();
      await store.close();
    });
    await sql.exec('RENAME TABLE writer_retry.alert_notifications TO writer_retry.away');
    w.addEvent(event());
    w.addNotification(notification());
    await w.flush();
    expect(w.queued).toBe(1);
    expect(logs.join('\n')).toMatch(/alert history: write of 1 notifications failed, kept for retry/);
    await sql.exec('RENAME TABLE writer_retry.away TO writer_retry.alert_notifications');
    await w.flush();
    expect(w.queued).toBe(0);
    // Events and notifications are separate writes: the retry did not write the event a second time.
    expect(await store.events(ALL)).toEqual([event()]);
    expect(await store.notifications({ start: 0, end: 8.64e15, limit: 10 })).toEqual([notification()]);
  });
});
