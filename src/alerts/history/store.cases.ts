/**
 * The shared AlertHistoryStore suite, run against every implementation (store.test.ts). Each test gets a
 * fresh, empty store from `open`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent, AlertEventQuery, AlertHistoryStore, NotificationEntry } from './store.ts';

/** An hour ago at a whole second: inside any retention the tests set. */
export const T0 = (Math.floor(Date.now() / 1000) - 3600) * 1000;

export function event(over: Partial<AlertEvent> = {}): AlertEvent {
  return {
    at: T0,
    fingerprint: 'a1b2c3d4e5f60718',
    alertname: 'HighLatency',
    labels: { alertname: 'HighLatency', severity: 'critical', service: 'cart' },
    annotations: { summary: 'p99 above 2s' },
    event: 'firing',
    source: 'rules',
    startsAt: T0 - 60_000,
    endsAt: T0 + 240_000,
    severity: 'critical',
    ...over,
  };
}

export function notification(over: Partial<NotificationEntry> = {}): NotificationEntry {
  return {
    at: T0,
    id: '00000000-0000-4000-8000-000000000001',
    groupId: 'f'.repeat(64),
    groupKey: '{}:{alertname="HighLatency"}',
    receiver: 'oncall',
    integration: 'webhook[0]',
    status: 'firing',
    fingerprints: ['a1b2c3d4e5f60718'],
    ok: true,
    attempts: 1,
    error: '',
    ...over,
  };
}

const ALL: AlertEventQuery = {
  start: T0 - 86_400_000,
  end: T0 + 86_400_000,
  matchers: [],
  events: [],
  limit: 100,
};

export function alertHistoryStoreTests(name: string, open: () => Promise<AlertHistoryStore>): void {
  describe(`AlertHistoryStore (${name})`, () => {
    const opened: AlertHistoryStore[] = [];
    const fresh = async () => {
      const s = await open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('returns what was appended, exactly, newest first', async () => {
      const s = await fresh();
      const fired = event({ at: T0 + 1 });
      const resolved = event({ at: T0 + 300_123, event: 'resolved', endsAt: T0 + 300_000 });
      const other = event({
        at: T0 + 5000,
        fingerprint: '0000000000000001',
        alertname: '',
        labels: { job: 'node', 'weird label': 'línea\n"dos"' },
        annotations: {},
        severity: '',
        source: 'webhook/grafana',
      });
      await s.append([fired, other], []);
      await s.append([resolved], []);
      expect(await s.events(ALL)).toEqual([resolved, other, fired]);
    });

    it('filters events by time range (inclusive), kind, label matchers, and limits', async () => {
      const s = await fresh();
      const evs = [
        event({ at: T0, event: 'firing' }),
        event({ at: T0 + 1000, event: 'suppressed' }),
        event({ at: T0 + 2000, event: 'unsuppressed' }),
        event({ at: T0 + 3000, event: 'resolved' }),
        event({
          at: T0 + 1500,
          fingerprint: 'b000000000000000',
          alertname: 'DiskFull',
          labels: { alertname: 'DiskFull', severity: 'warning', mount: '/var' },
          severity: 'warning',
        }),
      ];
      await s.append(evs, []);
      const at = async (q: Partial<AlertEventQuery>) =>
        (await s.events({ ...ALL, ...q })).map((e) => e.at - T0);
      expect(await at({ start: T0 + 1000, end: T0 + 2000 })).toEqual([2000, 1500, 1000]);
      expect(await at({ events: ['firing', 'resolved'] })).toEqual([3000, 1500, 0]);
      expect(await at({ matchers: [{ name: 'alertname', type: '=', value: 'DiskFull' }] })).toEqual([1500]);
      expect(await at({ matchers: [{ name: 'severity', type: '!=', value: 'warning' }] })).toEqual([
        3000, 2000, 1000, 0,
      ]);
      expect(await at({ matchers: [{ name: 'service', type: '=~', value: 'ca.*' }] })).toEqual([
        3000, 2000, 1000, 0,
      ]);
      // Anchored: a partial match does not count.
      expect(await at({ matchers: [{ name: 'service', type: '=~', value: 'ca' }] })).toEqual([]);
      // An absent label matches as the empty string.
      expect(await at({ matchers: [{ name: 'mount', type: '=', value: '' }] })).toEqual([
        3000, 2000, 1000, 0,
      ]);
      expect(await at({ matchers: [{ name: 'mount', type: '!~', value: '' }] })).toEqual([1500]);
      expect(
        await at({
          matchers: [
            { name: 'alertname', type: '=~', value: 'HighLatency|DiskFull' },
            { name: 'severity', type: '=', value: 'critical' },
          ],
          events: ['unsuppressed'],
        }),
      ).toEqual([2000]);
      expect(await at({ limit: 2 })).toEqual([3000, 2000]);
      expect(await at({ start: T0 + 5000, end: T0 })).toEqual([]);
    });

    it('stores and filters notifications', async () => {
      const s = await fresh();
      const ok = notification({ at: T0 + 10 });
      const failed = notification({
        at: T0 + 20,
        id: '00000000-0000-4000-8000-000000000002',
        receiver: 'team-b',
        integration: 'email[1]',
        status: 'resolved',
        fingerprints: ['a1b2c3d4e5f60718', 'b000000000000000'],
        ok: false,
        attempts: 7,
        error: 'dial tcp 127.0.0.1:25: connection refused',
      });
      await s.append([], [ok, failed]);
      const q = { start: T0, end: T0 + 1000, limit: 10 };
      expect(await s.notifications(q)).toEqual([failed, ok]);
      expect(await s.notifications({ ...q, receiver: 'oncall' })).toEqual([ok]);
      expect(await s.notifications({ ...q, ok: false })).toEqual([failed]);
      expect(await s.notifications({ ...q, ok: true, receiver: 'team-b' })).toEqual([]);
      expect(await s.notifications({ ...q, start: T0 + 11 })).toEqual([failed]);
      expect(await s.notifications({ ...q, limit: 1 })).toEqual([failed]);
    });

    it('orders ties by fingerprint and id', async () => {
      const s = await fresh();
      await s.append(
        [event({ fingerprint: 'ffff000000000000' }), event({ fingerprint: '0000ffff00000000' })],
        [notification({ id: 'b' }), notification({ id: 'a' })],
      );
      expect((await s.events(ALL)).map((e) => e.fingerprint)).toEqual([
        '0000ffff00000000',
        'ffff000000000000',
      ]);
      expect((await s.notifications({ start: T0, end: T0, limit: 10 })).map((n) => n.id)).toEqual(['a', 'b']);
    });

    it("shows one alert's changes in the same millisecond latest step first", async () => {
      const s = await fresh();
      await s.append(
        (['resolved', 'firing', 'unsuppressed', 'suppressed'] as const).map((k) => event({ event: k })),
        [],
      );
      expect((await s.events(ALL)).map((e) => e.event)).toEqual([
        'resolved',
        'unsuppressed',
        'suppressed',
        'firing',
      ]);
    });

    it('accepts empty appends and fails clearly after close', async () => {
      const s = await fresh();
      await s.append([], []);
      expect(await s.events(ALL)).toEqual([]);
      await s.close();
      await expect(s.events(ALL)).rejects.toThrow(/closed/);
      await expect(s.append([event()], [])).rejects.toThrow(/closed/);
    });
  });
}
