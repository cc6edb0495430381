import { describe, expect, it } from 'vitest';
import { isStaleNaN } from '../model/labels.ts';
import { Engine } from '../query/promql/index.ts';
import { MemoryStorage } from '../store/memory.ts';
import { AlertingRule, type SavedAlert } from './alerting.ts';
import { parseRuleFile, type AlertingRuleDef } from './file.ts';
import { RuleGroup, selectedMetricNames } from './group.ts';
import { generatorURL, type NotifiedAlert } from './notify.ts';
import { engineQueryFn, storageAppendFn } from './rule.ts';

const MIN = 60_000;
const CTX = { externalLabels: {}, externalURL: 'http://vigil:9400' };

function ruleDef(yaml: string): AlertingRuleDef {
  const r = parseRuleFile(yaml, 'a.yml');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const def = r.groups[0]!.rules[0]!;
  if (def.kind !== 'alerting') throw new Error('not an alerting rule');
  return def;
}

/** An alerting rule over a storage whose `x` series is set per evaluation. */
function setup(rule: string) {
  const storage = new MemoryStorage();
  const r = new AlertingRule(ruleDef(`groups:\n  - name: g\n    rules:\n${rule}`));
  const query = engineQueryFn(new Engine(), storage);
  return {
    storage,
    rule: r,
    /** Writes x=v at t (v undefined: nothing) and evaluates at t. */
    async at(t: number, v?: number) {
      if (v !== undefined) storage.add({ __name__: 'x', job: 'j' }, t, v);
      return r.eval(t, 0, query, 0, CTX);
    },
  };
}

const THRESHOLD = [
  '      - alert: High',
  '        expr: x > 10',
  '        for: 2m',
  '        labels: {severity: page}',
  '        annotations: {summary: "x is {{ $value }} on {{ $labels.job }}"}',
].join('\n');

describe('AlertingRule.alertsToSend', () => {
  it('sends firing alerts, re-sends them after resend_delay, and sends resolved ones for 15 minutes', async () => {
    const { rule, at } = setup(THRESHOLD);
    await at(0, 20);
    expect(rule.activeAlerts()[0]!.state).toBe('pending');
    expect(rule.alertsToSend(0, MIN, MIN)).toEqual([]); // pending alerts are never sent
    await at(MIN, 20);
    await at(2 * MIN, 20);
    expect(rule.activeAlerts()[0]!.state).toBe('firing');
    const [first] = rule.alertsToSend(2 * MIN, MIN, 30_000);
    expect(first).toMatchObject({
      labels: { alertname: 'High', job: 'j', severity: 'page' },
      annotations: { summary: 'x is 20 on j' },
      activeAt: 0,
      firedAt: 2 * MIN,
      lastSentAt: 2 * MIN,
      validUntil: 2 * MIN + 4 * MIN, // 4 × max(resend_delay, interval)
    });
    // Within resend_delay nothing is sent again; strictly after it, the alert is re-sent.
    await at(3 * MIN, 20);
    expect(rule.alertsToSend(3 * MIN, MIN, 30_000)).toEqual([]);
    await at(3 * MIN + 1, 20);
    expect(rule.alertsToSend(3 * MIN + 1, MIN, 30_000).map((a) => a.validUntil)).toEqual([7 * MIN + 1]);
    // The series goes away: resolved, sent at once even though resend_delay has not passed.
    await at(3 * MIN + 10_000, 5);
    const [resolved] = rule.alertsToSend(3 * MIN + 10_000, MIN, 30_000);
    expect(resolved).toMatchObject({ state: 'inactive', resolvedAt: 3 * MIN + 10_000 });
    expect(rule.activeAlerts()).toEqual([]);
    // Resolved alerts are re-sent every resend_delay while kept (15 minutes), then forgotten.
    const sentAt: number[] = [];
    for (let t = 4 * MIN; t <= 20 * MIN; t += MIN) {
      await at(t, 5);
      for (const a of rule.alertsToSend(t, MIN, MIN)) sentAt.push(a.lastSentAt! / MIN);
    }
    // Due once resend_delay has passed strictly (as Prometheus): every second one-minute evaluation.
    expect(sentAt).toEqual([5, 7, 9, 11, 13, 15, 17]);
    expect(rule.hasAlerts).toBe(false);
  });

  it('uses the group interval when it is longer than resend_delay', async () => {
    const { rule, at } = setup('      - alert: A\n        expr: x > 0\n');
    await at(0, 1);
    expect(rule.alertsToSend(0, MIN, 5 * MIN)[0]!.validUntil).toBe(20 * MIN);
  });
});

describe('AlertingRule restore', () => {
  const base: SavedAlert = {
    labels: { alertname: 'High', job: 'j' },
    annotations: { summary: 's' },
    state: 'firing',
    value: '20',
    activeAt: 0,
    firedAt: 2 * MIN,
    resolvedAt: null,
    keepFiringSince: null,
    lastSentAt: 5 * MIN,
    validUntil: 9 * MIN,
  };
  const opts = { outageToleranceMs: 60 * MIN, gracePeriodMs: 10 * MIN };

  function restored(forLine: string, saved: unknown[], savedAt: number, now: number) {
    const r = new AlertingRule(
      ruleDef(`groups:\n  - name: g\n    rules:\n      - alert: High\n        expr: x > 10\n${forLine}`),
    );
    r.restore(saved, { ...opts, savedAt, now });
    return r;
  }

  it('round-trips firing alerts, re-sent once after the restart with their original times', async () => {
    const { rule, at } = setup(THRESHOLD);
    for (let t = 0; t <= 2 * MIN; t += MIN) await at(t, 20);
    rule.alertsToSend(2 * MIN, MIN, MIN);
    const snap = JSON.parse(JSON.stringify(rule.snapshot())) as unknown[];
    const r = restored('        for: 2m\n', snap, 2 * MIN, 2 * MIN + 20_000);
    const strip = (a: object) => ({ ...a, lastSentAt: undefined });
    expect(r.activeAlerts()).toEqual(rule.activeAlerts().map(strip));
    // The in-process pipeline forgot it: sent again at the first evaluation, as the same firing episode.
    expect(r.alertsToSend(2 * MIN + 30_000, MIN, MIN)).toMatchObject([{ activeAt: 0, firedAt: 2 * MIN }]);
    expect(r.alertsToSend(2 * MIN + 40_000, MIN, MIN)).toEqual([]);
  });

  it('keeps firing alerts after any outage, so a condition that cleared is sent as resolved', () => {
    const r = restored('        for: 2m\n', [base], 5 * MIN, 5 * 60 * MIN);
    expect(r.state).toBe('firing');
  });

  it('restores pending alerts as Prometheus restores the for state', () => {
    const pending = { ...base, state: 'pending', firedAt: null, lastSentAt: null, validUntil: null };
    // Down 5 minutes, 20 of 60 minutes spent pending: the outage does not count.
    let r = restored('        for: 1h\n', [{ ...pending, activeAt: 0 }], 20 * MIN, 25 * MIN);
    expect(r.activeAlerts()[0]!.activeAt).toBe(5 * MIN);
    // 55 of 60 minutes spent: it fires no sooner than the grace period after the restart.
    r = restored('        for: 1h\n', [{ ...pending, activeAt: 0 }], 55 * MIN, 56 * MIN);
    expect(r.activeAlerts()[0]!.activeAt).toBe(56 * MIN + 10 * MIN - 60 * MIN);
    // Already due: kept as it was, it fires at the first evaluation.
    r = restored('        for: 1h\n', [{ ...pending, activeAt: 0 }], 61 * MIN, 62 * MIN);
    expect(r.activeAlerts()[0]!.activeAt).toBe(0);
    // Outage longer than the tolerance, or `for` shorter than the grace period: pending starts over.
    expect(restored('        for: 1h\n', [pending], 20 * MIN, 90 * MIN).hasAlerts).toBe(false);
    expect(restored('        for: 5m\n', [pending], 1 * MIN, 2 * MIN).hasAlerts).toBe(false);
  });

  it('skips saved entries that do not have the expected shape', () => {
    const r = restored('', [null, 3, { labels: 'x' }, { ...base, state: 'weird' }, base], 0, MIN);
    expect(r.activeAlerts()).toHaveLength(1);
  });
});

describe('RuleGroup with alerting rules', () => {
  const YAML = [
    'groups:',
    '  - name: g',
    '    interval: 1m',
    '    rules:',
    '      - record: x:max',
    '        expr: max by (job) (x)',
    '      - alert: High',
    '        expr: x:max > 10',
    '        labels: {team: "{{ $labels.job }}-team"}',
    '        annotations: {value: "{{ $value | humanize }}"}',
  ].join('\n');

  function group() {
    const r = parseRuleFile(YAML, 'g.yml');
    if (!r.ok) throw new Error('bad rules');
    const storage = new MemoryStorage();
    const sent: NotifiedAlert[][] = [];
    const g = new RuleGroup(r.groups[0]!, {
      query: engineQueryFn(new Engine(), storage),
      append: storageAppendFn(storage),
      defaultIntervalMs: MIN,
      evaluateAlerts: true,
      alertContext: { externalLabels: { dc: 'eu', team: 'ignored' }, externalURL: 'http://vigil:9400/' },
      notify: async (alerts) => void sent.push(alerts),
    });
    return { g, storage, sent };
  }

  it('writes ALERTS and ALERTS_FOR_STATE, notifies as Prometheus, and marks resolved series stale', async () => {
    const { g, storage, sent } = group();
    storage.add({ __name__: 'x', job: 'api' }, 0, 50);
    await g.evaluate(MIN);
    expect(sent).toEqual([
      [
        {
          labels: { alertname: 'High', job: 'api', team: 'api-team', dc: 'eu' },
          annotations: { value: '50' },
          startsAt: new Date(MIN).toISOString(),
          endsAt: new Date(MIN + 4 * MIN).toISOString(),
          generatorURL: 'http://vigil:9400/explore?q=x%3Amax+%3E+10&mode=table',
        },
      ],
    ]);
    const q = storage.querier(-1e15, 1e15);
    const alerts = await q.select([{ type: '=', name: '__name__', value: 'ALERTS' }]);
    expect(alerts.map((s) => [s.labels, Array.from(s.v)])).toEqual([
      [{ __name__: 'ALERTS', alertname: 'High', alertstate: 'firing', job: 'api', team: 'api-team' }, [1]],
    ]);
    const forState = await q.select([{ type: '=', name: '__name__', value: 'ALERTS_FOR_STATE' }]);
    expect(Array.from(forState[0]!.v)).toEqual([MIN / 1000]);

    storage.add({ __name__: 'x', job: 'api' }, MIN + 1, 1);
    await g.evaluate(2 * MIN);
    expect(sent[1]).toMatchObject([{ endsAt: new Date(2 * MIN).toISOString() }]);
    const after = await storage
      .querier(-1e15, 1e15)
      .select([{ type: '=', name: '__name__', value: 'ALERTS' }]);
    expect(isStaleNaN(after[0]!.v.at(-1)!)).toBe(true);
  });

  it('skips an alerting rule at a timestamp older than its last evaluation', async () => {
    const { g, storage, sent } = group();
    storage.add({ __name__: 'x', job: 'api' }, Date.now(), 50);
    await g.evaluateTriggered();
    const t = g.rules[1]!.status.lastTimestamp!;
    await g.evaluate(t - 1000);
    expect(g.rules[1]!.status.lastTimestamp).toBe(t);
    expect(sent).toHaveLength(1);
  });

  it('knows which metrics its rules read', () => {
    expect(group().g.metricNames()).toEqual(new Set(['x', 'x:max']));
    const names = (e: string) => {
      const r = parseRuleFile(
        `groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '${e}'\n`,
        'f',
      );
      if (!r.ok) throw new Error('bad');
      return selectedMetricNames(r.groups[0]!.rules[0]!.query);
    };
    expect(names('sum(rate(a[5m])) / sum(b offset 1m) > scalar(max_over_time(c[5m:1m]))')).toEqual(
      new Set(['a', 'b', 'c']),
    );
    expect(names('vector(1)')).toEqual(new Set());
    expect(names('{job="x"}')).toBeUndefined();
    expect(names('{__name__=~"a|b"}')).toBeUndefined();
  });
});

describe('generatorURL', () => {
  it('links to the Explore page with the expression as a table', () => {
    expect(generatorURL('https://vigil.example/', 'up == 0')).toBe(
      'https://vigil.example/explore?q=up+%3D%3D+0&mode=table',
    );
  });
});
