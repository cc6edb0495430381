import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../../state/open.ts';
import type { KvRepo } from '../../state/interface.ts';
import { ManualClock } from '../../rules/clock.ts';
import { MemoryIntegration } from '../../notify/memory.ts';
import { registry } from '../../self/metrics.ts';
import { loadAlertmanagerConfigText } from '../config/load.ts';
import { AlertPipeline } from '../pipeline.ts';
import type { PostableAlert } from '../sink.ts';
import type { StormOptions } from './stage.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const S = 1000;

const running: AlertPipeline[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

async function setup(
  groupBy: string,
  storm: Partial<StormOptions>,
  wait = '30s',
  interval = '5m',
  kv?: KvRepo,
  clock = new ManualClock(T0),
) {
  const config = loadAlertmanagerConfigText(
    `route:\n  receiver: oncall\n  group_by: ${groupBy}\n  group_wait: ${wait}\n  group_interval: ${interval}\nreceivers:\n  - name: oncall\n`,
    'am.yml',
  );
  const sink = new MemoryIntegration(() => clock.now());
  const p = await AlertPipeline.start({
    config,
    clock,
    externalURL: 'http://vigil',
    integrations: new Map([['oncall', [sink]]]),
    storm,
    kv,
  });
  running.push(p);
  const post = async (...alerts: PostableAlert[]) => {
    expect((await p.receive(alerts, 'test')).rejected).toEqual([]);
    await clock.settle(clock.sleeping);
  };
  return { clock, p, post, sink, at: (ms: number) => clock.advanceTo(T0 + ms) };
}

const quiet: Partial<StormOptions> = { threshold: 1000, ratePerMinute: 0, flapMaxFires: 0, gatherMs: 0 };

describe('storm protection in the pipeline', () => {
  it('collapses a storm into one summary per correlated group', async () => {
    const { post, sink, at, p } = await setup('[alertname, pod]', { ...quiet, threshold: 3 });
    await post(
      ...[1, 2, 3, 4, 5].map((i) => ({
        labels: { alertname: 'KubePodNotReady', pod: `web-${i}`, node: 'node-7', severity: 'warning' },
      })),
    );
    await at(31 * S);
    await at(45 * S);
    expect(sink.sent.map((s) => s.msg.groupLabels)).toEqual([
      { vigil_storm: 'true', vigil_storm_group: expect.any(String) },
    ]);
    expect(sink.sent[0]!.msg.alerts).toHaveLength(5);
    expect(p.notifications().map((r) => [r.groupKey.startsWith('{}/vigil-storm:'), r.ok])).toEqual([
      [true, true],
    ]);
  });

  it('defers notifications over the rate limit, records and counts them, and sends them later', async () => {
    const { post, sink, at, p } = await setup('[alertname]', { ...quiet, ratePerMinute: 1, burst: 1 });
    await post(
      { labels: { alertname: 'A' } },
      { labels: { alertname: 'B' } },
      { labels: { alertname: 'C' } },
    );
    await at(31 * S);
    expect(sink.sent).toHaveLength(1);
    const deferred = p.notifications().filter((r) => !r.ok);
    expect(deferred).toHaveLength(2);
    expect(deferred.map((r) => [r.attempts, r.error])).toEqual([
      [0, expect.stringContaining('rate limited: deferred by storm protection')],
      [0, expect.stringContaining('rate limited: deferred by storm protection')],
    ]);
    const metrics = await registry.getSingleMetricAsString('vigil_notifications_rate_limited_total');
    expect(metrics).toMatch(/vigil_notifications_rate_limited_total\{receiver="oncall"\} [2-9]/);
    await at(95 * S);
    expect(sink.sent).toHaveLength(2);
    await at(155 * S);
    // Nothing dropped: every group notified once, the deferred ones when the bucket had a token again.
    expect(sink.sent.map((s) => s.msg.alerts.map((a) => a.labels.alertname).join()).sort()).toEqual([
      'A',
      'B',
      'C',
    ]);
    expect(sink.sent.map((s) => Math.round((s.at - T0) / S))).toEqual([30, 90, 150]);
  });

  it('holds a flapping alert, marks it, and notifies its final state once it is stable', async () => {
    const { post, sink, at, p } = await setup(
      '[alertname]',
      { ...quiet, flapMaxFires: 2, flapWindowMs: 3_600_000, flapStableMs: 600_000 },
      '1s',
      '10s',
    );
    const labels = { alertname: 'HighLatency', service: 'search' };
    const iso = (s: number) => new Date(T0 + s * S).toISOString();
    for (const start of [0, 40, 80]) {
      await at(start * S);
      await post({ labels, startsAt: iso(start) });
      await at((start + 20) * S);
      await post({ labels, startsAt: iso(start), endsAt: iso(start + 20) });
    }
    // The third firing within the window: flapping, shown as an annotation (API v2 reads the store).
    expect(p.store.list().map((a) => a.annotations.vigil_flapping)).toEqual(['true']);
    await at(650 * S);
    const before = sink.summary().map((s) => s.split(' ').slice(1).join(' '));
    expect(before).toEqual([
      'firing HighLatency',
      'resolved HighLatency(r)',
      'firing HighLatency',
      'resolved HighLatency(r)',
    ]);
    await at(720 * S);
    expect(
      sink
        .summary()
        .slice(4)
        .map((s) => s.split(' ').slice(1).join(' ')),
    ).toEqual(['resolved HighLatency(r)']);
  });

  it('keeps its state across a restart: a flapping alert stays held, a summary keeps its members', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-storm-'));
    const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
    try {
      const opts = { ...quiet, flapMaxFires: 2, flapWindowMs: 3_600_000, flapStableMs: 600_000 };
      const first = await setup('[alertname]', opts, '1s', '10s', state.kv);
      const labels = { alertname: 'HighLatency', service: 'search' };
      const iso = (s: number) => new Date(T0 + s * S).toISOString();
      for (const start of [0, 40, 80]) {
        await first.at(start * S);
        await first.post({ labels, startsAt: iso(start) });
        await first.at((start + 20) * S);
        await first.post({ labels, startsAt: iso(start), endsAt: iso(start + 20) });
      }
      expect(first.p.storm!.flaps.isFlapping(first.p.store.list()[0]!.fingerprint)).toBe(true);
      await first.p.stop();
      running.splice(running.indexOf(first.p), 1);

      // A new pipeline on the same state store, as after a restart: the alert fires again and is held.
      const clock = new ManualClock(T0 + 120 * S);
      const second = await setup('[alertname]', opts, '1s', '10s', state.kv, clock);
      const fp = first.p.store.list()[0]!.fingerprint;
      expect(second.p.storm!.flaps.isFlapping(fp)).toBe(true);
      await second.post({ labels, startsAt: iso(120) });
      await second.at(200 * S);
      expect(second.sink.sent).toHaveLength(0);

      // A snapshot that is not one is logged and ignored.
      await state.kv.set('alerting.storm', 'state', { version: 7 });
      const logs: string[] = [];
      const config = loadAlertmanagerConfigText('route:\n  receiver: r\nreceivers:\n  - name: r\n', 'am.yml');
      const third = await AlertPipeline.start({
        config,
        externalURL: 'http://vigil',
        storm: opts,
        kv: state.kv,
        log: (m) => logs.push(m),
      });
      running.push(third);
      expect(logs).toContain(
        'storm protection: saved state not used, starting fresh: not a storm-protection snapshot of version 1',
      );
    } finally {
      for (const p of running.splice(0)) await p.stop();
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes no state while nothing is worth keeping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-storm-'));
    const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
    try {
      const { p, post, at } = await setup('[alertname]', { flapMaxFires: 3 }, '1s', '10s', state.kv);
      await post({ labels: { alertname: 'DiskFull', instance: 'db-1' } });
      await at(20 * S);
      await p.stop();
      running.splice(running.indexOf(p), 1);
      expect(await state.kv.list('alerting.storm')).toEqual([]);
    } finally {
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
