import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../query/promql/index.ts';
import { openStateStore } from '../state/open.ts';
import { MemoryStorage } from '../store/memory.ts';
import { ManualClock } from './clock.ts';
import { parseRuleFile } from './file.ts';
import { ALERTS_NAMESPACE, RuleManager, STATE_NAMESPACE } from './manager.ts';
import type { NotifiedAlert } from './notify.ts';
import { engineQueryFn, engineRangeQueryFn, storageAppendFn } from './rule.ts';
import type { AnomalyRule } from '../anomaly/rule.ts';
import { decodeState } from '../anomaly/state.ts';
import { IngestedNames } from './trigger.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RULES = parseRuleFile(
  [
    'groups:',
    '  - name: fast',
    '    interval: 10s',
    '    rules:',
    '      - record: fast:one',
    '        expr: vector(1)',
    '  - name: slow',
    '    interval: 30s',
    '    rules:',
    '      - record: slow:one',
    '        expr: vector(1)',
  ].join('\n'),
  '/etc/vigil/rules.yml',
);

async function timestamps(storage: MemoryStorage, name: string): Promise<number[]> {
  const [s] = await storage.querier(-1e15, 1e15).select([{ type: '=', name: '__name__', value: name }]);
  return s ? Array.from(s.t) : [];
}

describe('RuleManager', () => {
  it('resumes after a restart without gaps or repeated timestamps', async () => {
    if (!RULES.ok) throw new Error('bad rules');
    const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
    const storage = new MemoryStorage();
    const clock = new ManualClock(1_700_000_000_000);
    const opts = {
      query: engineQueryFn(new Engine(), storage),
      append: storageAppendFn(storage),
      kv: state.kv,
      defaultIntervalMs: 60_000,
      clock,
    };
    const start = clock.now();

    const first = new RuleManager(RULES.groups, opts);
    await first.start();
    await clock.settle(2);
    await clock.advanceTo(start + 65_000);
    await first.stop();
    const saved = await state.kv.list(STATE_NAMESPACE);
    expect(saved.map((e) => e.key)).toEqual(['/etc/vigil/rules.yml;fast', '/etc/vigil/rules.yml;slow']);
    const fastBefore = await timestamps(storage, 'fast:one');
    expect(saved[0]!.value).toEqual({ lastEvaluation: fastBefore.at(-1) });

    // Down for 45 s, then started again.
    clock.set(start + 110_000);
    const second = new RuleManager(RULES.groups, opts);
    await second.start();
    await clock.settle(2);
    await clock.advanceTo(start + 150_000);
    await second.stop();

    for (const [name, interval] of [
      ['fast:one', 10_000],
      ['slow:one', 30_000],
    ] as const) {
      const ts = await timestamps(storage, name);
      expect(ts.length).toBeGreaterThan(3);
      // Every aligned timestamp from the first to the last exactly once.
      for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(interval);
      expect(ts.at(-1)).toBeGreaterThan(start + 150_000 - interval - 1);
    }
    await state.close();
  });

  it('starts with no groups and without a state store', async () => {
    const m = new RuleManager([], {
      query: async () => [],
      append: async () => {},
      defaultIntervalMs: 60_000,
    });
    await m.start();
    expect(m.groups).toEqual([]);
    await m.stop();
  });
});

const ALERT_RULES = parseRuleFile(
  [
    'groups:',
    '  - name: alerts',
    '    interval: 10s',
    '    rules:',
    '      - alert: High',
    '        expr: x > 10',
    '        annotations: {summary: "x={{ $value }}"}',
    '      - alert: Slow',
    '        expr: x > 10',
    '        for: 1h',
  ].join('\n'),
  '/etc/vigil/alerts.yml',
);

describe('RuleManager with alerting rules', () => {
  it('restores firing and pending alerts after a restart as the same firing episode', async () => {
    if (!ALERT_RULES.ok) throw new Error('bad rules');
    const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'alerts.db') });
    const storage = new MemoryStorage();
    const clock = new ManualClock(1_700_000_000_000);
    const sent: NotifiedAlert[][] = [];
    const opts = {
      query: engineQueryFn(new Engine(), storage),
      append: storageAppendFn(storage),
      notify: async (a: NotifiedAlert[]) => void sent.push(a),
      kv: state.kv,
      defaultIntervalMs: 60_000,
      clock,
    };
    const start = clock.now();
    storage.add({ __name__: 'x', job: 'j' }, start, 20);

    const first = new RuleManager(ALERT_RULES.groups, opts);
    await first.start();
    await clock.settle(1);
    await clock.advanceTo(start + 25_000);
    await first.stop();
    expect(sent).toHaveLength(1);
    const firedAt = sent[0]![0]!.startsAt;
    const [saved] = await state.kv.list(ALERTS_NAMESPACE);
    expect(saved!.key).toBe('/etc/vigil/alerts.yml;alerts');
    const before = first.groups[0]!.rules.map((r) => (r.kind === 'alerting' ? r.activeAlerts() : []));

    // Down 20 s; the condition still holds.
    clock.set(start + 45_000);
    storage.add({ __name__: 'x', job: 'j' }, start + 45_000, 20);
    const second = new RuleManager(ALERT_RULES.groups, opts);
    await second.start();
    await clock.settle(1);
    await clock.advanceTo(start + 75_000);
    const rules = second.groups[0]!.rules;
    const [high, slow] = rules.map((r) => (r.kind === 'alerting' ? r.activeAlerts() : []));
    expect(high!.map((a) => [a.state, a.activeAt, a.firedAt])).toEqual(
      before[0]!.map((a) => ['firing', a.activeAt, a.firedAt]),
    );
    // The pending alert kept its time spent pending (the outage does not count).
    expect(slow![0]!.state).toBe('pending');
    const savedAt = (saved!.value as { savedAt: number }).savedAt;
    expect(slow![0]!.activeAt).toBe(before[1]![0]!.activeAt + (start + 45_000 - savedAt));
    // Re-sent once to the (restarted, in-process) pipeline as the same firing episode, then not again.
    expect(sent.map((s) => s.map((a) => [a.labels.alertname, a.startsAt]))).toEqual([
      [['High', firedAt]],
      [['High', firedAt]],
    ]);

    // The condition clears: one resolved notification, with the original start.
    storage.add({ __name__: 'x', job: 'j' }, start + 76_000, 0);
    await clock.advanceTo(start + 90_000);
    await second.stop();
    expect(sent).toHaveLength(3);
    expect(sent[2]![0]).toMatchObject({ startsAt: firedAt, labels: { alertname: 'High', job: 'j' } });
    expect(Date.parse(sent[2]![0]!.endsAt)).toBeLessThanOrEqual(start + 90_000);
    await state.close();
  });

  it('leaves alerting rules out of catch-up evaluations after a restart, but the newest', async () => {
    if (!ALERT_RULES.ok) throw new Error('bad rules');
    const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'catchup.db') });
    const storage = new MemoryStorage();
    const clock = new ManualClock(1_700_000_000_000);
    const sent: NotifiedAlert[][] = [];
    const opts = {
      query: engineQueryFn(new Engine(), storage),
      append: storageAppendFn(storage),
      notify: async (a: NotifiedAlert[]) => void sent.push(a),
      kv: state.kv,
      defaultIntervalMs: 60_000,
      clock,
    };
    const start = clock.now();
    const first = new RuleManager(ALERT_RULES.groups, opts);
    await first.start();
    await clock.settle(1);
    await clock.advanceTo(start + 25_000);
    await first.stop();
    // While Vigil is down, x crosses the threshold; it restarts 60 s later and catches up 6 evaluations.
    storage.add({ __name__: 'x', job: 'j' }, start + 30_000, 50);
    clock.set(start + 85_000);
    const second = new RuleManager(ALERT_RULES.groups, opts);
    await second.start();
    await clock.settle(1);
    await clock.advanceTo(start + 86_000);
    await second.stop();
    expect(sent).toHaveLength(1);
    expect(Date.parse(sent[0]![0]!.startsAt)).toBeGreaterThan(start + 85_000 - 10_000);
    const recorded = await storage
      .querier(-1e15, 1e15)
      .select([{ type: '=', name: '__name__', value: 'ALERTS' }]);
    expect(Array.from(recorded[0]!.t).every((t) => t > start + 85_000 - 10_000)).toBe(true);
    await state.close();
  });

  it('evaluates a group as soon as a metric it reads is ingested', async () => {
    if (!ALERT_RULES.ok) throw new Error('bad rules');
    const storage = new MemoryStorage();
    const ingested = new IngestedNames();
    const written = ingested.wrap(storage);
    let notified!: (a: NotifiedAlert[]) => void;
    const firing = new Promise<NotifiedAlert[]>((r) => (notified = r));
    const m = new RuleManager(
      ALERT_RULES.groups.map((g) => ({ ...g, intervalMs: 3_600_000 })),
      {
        query: engineQueryFn(new Engine(), storage),
        append: storageAppendFn(storage),
        notify: async (a) => notified(a),
        defaultIntervalMs: 3_600_000,
        ingest: { subscribe: ingested.subscribe, delayMs: 10, minIntervalMs: 10 },
      },
    );
    await m.start();
    // Another metric: no evaluation. Then x crosses the threshold: the hourly group evaluates at once.
    const other = written.appender();
    other.append({ __name__: 'y' }, Date.now(), 100);
    await other.commit();
    const app = written.appender();
    app.append({ __name__: 'x', job: 'j' }, Date.now(), 50);
    await app.commit();
    const alerts = await firing;
    await m.stop();
    expect(alerts.map((a) => a.labels)).toEqual([{ alertname: 'High', job: 'j' }]);
  });

  it('turns a burst of writes into one evaluation, and evaluates groups reading any metric too', async () => {
    const parsed = parseRuleFile(
      [
        'groups:',
        '  - name: named',
        '    interval: 1h',
        '    rules:',
        '      - alert: A',
        '        expr: x > 10',
        '  - name: any',
        '    interval: 1h',
        '    rules:',
        '      - alert: B',
        '        expr: \'{job="j"} > 1000\'',
        '  - name: recording-only',
        '    interval: 1h',
        '    rules:',
        '      - record: r',
        '        expr: x',
      ].join('\n'),
      'f.yml',
    );
    if (!parsed.ok) throw new Error('bad rules');
    const storage = new MemoryStorage();
    const ingested = new IngestedNames();
    const written = ingested.wrap(storage);
    const engine = engineQueryFn(new Engine(), storage);
    const queries: string[] = [];
    let done!: () => void;
    const evaluated = new Promise<void>((r) => (done = r));
    const m = new RuleManager(parsed.groups, {
      query: async (expr, t, signal) => {
        queries.push(expr);
        if (queries.length === 2) setTimeout(done, 50);
        return engine(expr, t, signal);
      },
      append: storageAppendFn(storage),
      defaultIntervalMs: 3_600_000,
      ingest: { subscribe: ingested.subscribe, delayMs: 20, minIntervalMs: 60_000 },
    });
    await m.start();
    for (let i = 0; i < 5; i++) {
      const app = written.appender();
      app.append({ __name__: 'x', job: 'j' }, Date.now(), i);
      await app.commit();
    }
    await evaluated;
    await m.stop();
    // One evaluation of each alerting group; the recording-only group waits for its schedule.
    expect(queries.sort()).toEqual(['x > 10', '{job="j"} > 1000']);
  });

  it('evaluates a second write soon after the first without waiting for the minimum interval', async () => {
    if (!ALERT_RULES.ok) throw new Error('bad rules');
    const storage = new MemoryStorage();
    const ingested = new IngestedNames();
    const written = ingested.wrap(storage);
    const engine = engineQueryFn(new Engine(), storage);
    let evaluations = 0; // queries run
    const waiters: [number, () => void][] = [];
    const m = new RuleManager(
      ALERT_RULES.groups.map((g) => ({ ...g, intervalMs: 3_600_000 })),
      {
        query: async (expr, t, signal) => {
          const out = await engine(expr, t, signal);
          evaluations++;
          for (const [n, done] of waiters) if (evaluations >= n) done();
          return out;
        },
        append: storageAppendFn(storage),
        defaultIntervalMs: 3_600_000,
        // A minute between triggered evaluations: only the allowance of two lets the second write through.
        ingest: { subscribe: ingested.subscribe, delayMs: 10, minIntervalMs: 60_000 },
      },
    );
    const evaluated = (n: number) => new Promise<void>((r) => waiters.push([n, r]));
    await m.start();
    // The group has two alerting rules: one evaluation is two queries.
    for (const [i, v] of [50, 0].entries()) {
      const app = written.appender();
      app.append({ __name__: 'x', job: 'j' }, Date.now(), v);
      await app.commit();
      await evaluated(2 * (i + 1));
    }
    await m.stop();
    expect(evaluations).toBeGreaterThanOrEqual(4);
  });

  it('reloads: unchanged groups keep running with their alerts, changed ones keep matching alerts', async () => {
    const yaml = (extra: string) =>
      [
        'groups:',
        '  - name: a',
        '    rules:',
        '      - alert: A',
        '        expr: vector(1)',
        '  - name: b',
        '    rules:',
        '      - alert: B',
        '        expr: vector(1)',
        extra,
      ].join('\n');
    const parse = (y: string) => {
      const r = parseRuleFile(y, '/r.yml');
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.groups;
    };
    const storage = new MemoryStorage();
    const clock = new ManualClock(1_700_000_000_000);
    const m = new RuleManager(parse(yaml('')), {
      query: engineQueryFn(new Engine(), storage),
      append: storageAppendFn(storage),
      defaultIntervalMs: 10_000,
      clock,
    });
    await m.start();
    await clock.settle(2);
    await clock.advanceTo(clock.now() + 10_000);
    const [a, b] = m.groups;
    const bAlert = b!.rules[0]!.kind === 'alerting' ? b!.rules[0]!.activeAlerts()[0] : undefined;
    expect(bAlert?.state).toBe('firing');

    await m.reload(parse(yaml('      - record: c\n        expr: vector(2)')));
    expect(m.groups[0]).toBe(a); // unchanged: the same running group
    expect(m.groups[1]).not.toBe(b);
    const kept = m.groups[1]!.rules[0]!;
    expect(kept.kind === 'alerting' && kept.activeAlerts()[0]).toBe(bAlert);
    expect(m.groups[1]!.rules).toHaveLength(2);

    await m.reload(parse('groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: vector(1)\n'));
    expect(m.groups).toEqual([a]);
    await m.stop();
  });
});

describe('RuleManager with anomaly rules', () => {
  it('saves detectors on stop, restores them at start and drops them with their group', async () => {
    const rules = parseRuleFile(
      [
        'groups:',
        '  - name: a',
        '    interval: 10s',
        '    rules:',
        '      - anomaly: load',
        '        expr: load',
        '        season: none',
      ].join('\n'),
      '/etc/vigil/anomaly.yml',
    );
    if (!rules.ok) throw new Error('bad rules');
    const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'anomaly.db') });
    const storage = new MemoryStorage();
    const clock = new ManualClock(1_700_000_000_000);
    const start = clock.now();
    for (let t = start - 3_600_000; t <= start + 200_000; t += 10_000)
      storage.add({ __name__: 'load', host: 'a' }, t, 10 + ((t / 10_000) % 3));
    const opts = {
      query: engineQueryFn(new Engine(), storage),
      rangeQuery: engineRangeQueryFn(new Engine(), storage),
      append: storageAppendFn(storage),
      kv: state.kv,
      defaultIntervalMs: 60_000,
      clock,
    };
    const first = new RuleManager(rules.groups, opts);
    await first.start();
    await clock.settle(2);
    await clock.advanceTo(start + 65_000);
    await first.stop();
    const saved = await state.kv.get('anomaly', '/etc/vigil/anomaly.yml;a;load');
    expect(saved).toMatchObject({ chunks: 1 });
    const chunk = (await state.kv.get('anomaly', '/etc/vigil/anomaly.yml;a;load#0')) as { labels: object }[];
    expect(chunk.map((s) => s.labels)).toEqual([{ anomaly: 'load', host: 'a' }]);

    // Restarted over a storage holding only newer samples: the detector keeps its history from before.
    const later = new MemoryStorage();
    for (let t = start + 70_000; t <= start + 200_000; t += 10_000)
      later.add({ __name__: 'load', host: 'a' }, t, 10 + ((t / 10_000) % 3));
    const second = new RuleManager(rules.groups, {
      ...opts,
      query: engineQueryFn(new Engine(), later),
      rangeQuery: engineRangeQueryFn(new Engine(), later),
      append: storageAppendFn(later),
    });
    await second.start();
    await clock.settle(2);
    await clock.advanceTo(start + 100_000);
    const rule = second.groups[0]!.rules[0]!;
    expect([rule.kind, rule.status.health]).toEqual(['anomaly', 'ok']);
    const [series] = (rule as AnomalyRule).snapshot(0).series;
    const t0 = decodeState(series!.state)![1]!; // the detector's first sample time
    expect(t0).toBeLessThan((start - 3_000_000) / 1000);
    // Removing the group removes its saved detectors.
    await second.reload([]);
    await second.stop();
    expect(await state.kv.list('anomaly')).toEqual([]);
    await state.close();
  });
});
