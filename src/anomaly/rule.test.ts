import { describe, expect, it } from 'vitest';
import type { Labels } from '../model/labels.ts';
import { Engine } from '../query/promql/index.ts';
import { parseRuleFile } from '../rules/file.ts';
import { RuleGroup } from '../rules/group.ts';
import { engineQueryFn, engineRangeQueryFn, storageAppendFn } from '../rules/rule.ts';
import { MemoryStorage } from '../store/memory.ts';
import type { AnomalyRule } from './rule.ts';
import { MemoryAnomalyStore } from './state.ts';
import { dailyPattern, seededNormal } from './synthetic.ts';

const DAY_MS = 86_400_000;
/** 2026-03-02T00:00:00Z */
const T = 1_772_409_600_000;

const RULES = `
groups:
  - name: g
    interval: 1m
    rules:
      - anomaly: x_anom
        expr: x
        season: daily
        labels: {team: web}
      - alert: XAnomaly
        expr: anomaly:score{anomaly="x_anom"} > 0.8
`;

function setup(yaml = RULES, store = new MemoryAnomalyStore(), storage = new MemoryStorage()) {
  const r = parseRuleFile(yaml, 'a.yml');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const engine = new Engine();
  const logs: string[] = [];
  const group = new RuleGroup(r.groups[0]!, {
    query: engineQueryFn(engine, storage),
    rangeQuery: engineRangeQueryFn(engine, storage),
    append: storageAppendFn(storage),
    anomalyStore: store,
    defaultIntervalMs: 60_000,
    evaluateAlerts: true,
    log: (m) => logs.push(m),
  });
  const latest = async (expr: string, t: number) => {
    const v = await engineQueryFn(engine, storage)(expr, t);
    return new Map(v.map((s) => [s.labels.job ?? '', s.value]));
  };
  return { storage, group, store, latest, logs };
}

/** Clean daily-seasonal samples every minute for two jobs over [from, to). */
function backfill(storage: MemoryStorage, from: number, to: number, seed = 1): void {
  const a = seededNormal(seed);
  const b = seededNormal(seed + 100);
  for (let t = from; t < to; t += 60_000) {
    storage.add({ __name__: 'x', job: 'a' }, t, dailyPattern(t / 1000) + 2 * a());
    storage.add({ __name__: 'x', job: 'b' }, t, dailyPattern(t / 1000, 500, 50) + 5 * b());
  }
}

function firing(group: RuleGroup): Labels[] {
  return group.rules.flatMap((r) =>
    r.kind === 'alerting'
      ? r
          .activeAlerts()
          .filter((a) => a.state === 'firing')
          .map((a) => a.labels)
      : [],
  );
}

describe('AnomalyRule in a rule group', () => {
  it('warms up from history, stays quiet on clean data, fires on a spike and writes the band', async () => {
    const { storage, group, latest } = setup();
    backfill(storage, T - 3 * DAY_MS, T + 2 * 3600_000);
    let maxScore = 0;
    for (let t = T; t < T + 2 * 3600_000; t += 60_000) {
      await group.evaluate(t);
      for (const v of (await latest('anomaly:score', t)).values()) maxScore = Math.max(maxScore, v);
      expect(firing(group)).toEqual([]);
    }
    expect(group.rules[0]!.status.health).toBe('ok');
    expect(maxScore).toBeLessThan(0.5);
    const t1 = T + 2 * 3600_000;
    const lower = await latest('anomaly:lower{anomaly="x_anom",team="web"}', t1 - 60_000);
    const upper = await latest('anomaly:upper{anomaly="x_anom",team="web"}', t1 - 60_000);
    const expected = await latest('anomaly:expected', t1 - 60_000);
    const actual = await latest('x', t1 - 60_000);
    for (const job of ['a', 'b']) {
      expect(lower.get(job)!).toBeLessThan(actual.get(job)!);
      expect(upper.get(job)!).toBeGreaterThan(actual.get(job)!);
      expect(Math.abs(expected.get(job)! - actual.get(job)!)).toBeLessThan(upper.get(job)! - lower.get(job)!);
    }
    // A spike on job a only.
    storage.add({ __name__: 'x', job: 'a' }, t1, dailyPattern(t1 / 1000) + 60);
    storage.add({ __name__: 'x', job: 'b' }, t1, dailyPattern(t1 / 1000, 500, 50));
    await group.evaluate(t1);
    const score = await latest('anomaly:score', t1);
    expect(score.get('a')!).toBeGreaterThan(0.9);
    expect(score.get('b')!).toBeLessThan(0.5);
    expect(firing(group)).toEqual([{ alertname: 'XAnomaly', anomaly: 'x_anom', job: 'a', team: 'web' }]);
  });

  it('scores a sample once: the same value seen again within 5 minutes is not learnt again', async () => {
    const { storage, group } = setup();
    backfill(storage, T - DAY_MS, T);
    await group.evaluate(T);
    const rule = group.rules[0] as AnomalyRule;
    const before = rule.snapshot(T).series.map((s) => s.state);
    await group.evaluate(T + 60_000); // no new sample: x still shows the one at T - 1m
    expect(rule.snapshot(T).series.map((s) => s.state)).toEqual(before);
  });

  it('checkpoints detectors and a new group resumes from them; other settings start afresh', async () => {
    const { storage, group, store } = setup();
    backfill(storage, T - 3 * DAY_MS, T + 3600_000);
    for (let t = T; t < T + 3600_000; t += 60_000) await group.evaluate(t);
    await group.checkpointAnomalies();
    const saved = store.saved.get('a.yml;g;x_anom')!;
    expect(saved.series).toHaveLength(2);

    // Restarted: the detectors come back and warm-up reads only what came after the checkpoint.
    const again = setup(RULES, store, storage);
    backfill(storage, T + 3600_000, T + 3600_000 + 1);
    await again.group.evaluate(T + 3600_000);
    const rule = again.group.rules[0] as AnomalyRule;
    expect(rule.seriesCount).toBe(2);
    const restored = rule.snapshot(0).series.find((s) => s.labels.job === 'a')!;
    const orig = (group.rules[0] as AnomalyRule).snapshot(0).series.find((s) => s.labels.job === 'a')!;
    expect(restored.lastFedT).toBe((T + 3600_000) / 1000);
    expect(orig.lastFedT).toBe((T + 3600_000 - 60_000) / 1000);

    // A different season makes the saved state unusable: it is ignored, not misread.
    const other = setup(RULES.replace('season: daily', 'season: none'), store, storage);
    await other.group.evaluate(T + 3600_000);
    const fresh = (other.group.rules[0] as AnomalyRule).snapshot(0).series[0]!;
    expect(fresh.state.length).toBeLessThan(restored.state.length);
  });

  it('trains a series that appears later from its history too', async () => {
    const { storage, group, latest } = setup();
    backfill(storage, T - 3 * DAY_MS, T);
    await group.evaluate(T);
    // Job c arrives with three days of history at once (a backfill), after the first warm-up.
    const n = seededNormal(9);
    for (let t = T - 3 * DAY_MS; t <= T + 11 * 60_000; t += 60_000)
      storage.add({ __name__: 'x', job: 'c' }, t, dailyPattern(t / 1000) + 2 * n());
    await group.evaluate(T + 11 * 60_000);
    const rule = group.rules[0] as AnomalyRule;
    expect(rule.seriesCount).toBe(3);
    storage.add({ __name__: 'x', job: 'c' }, T + 12 * 60_000, dailyPattern(T / 1000 + 720) + 60);
    await group.evaluate(T + 12 * 60_000);
    expect((await latest('anomaly:score', T + 12 * 60_000)).get('c')!).toBeGreaterThan(0.9);
  });

  it('drops a detector once its series has been absent for forget_after', async () => {
    const yaml = RULES.replace('season: daily', 'season: none\n        forget_after: 10m');
    const { storage, group } = setup(yaml);
    backfill(storage, T - 3600_000, T);
    storage.add({ __name__: 'x', job: 'a' }, T + 60_000, 100);
    await group.evaluate(T);
    const rule = group.rules[0] as AnomalyRule;
    expect(rule.seriesCount).toBe(2);
    // From T + 6m on, job b has no sample within the 5-minute lookback; a keeps one coming.
    for (let t = T + 60_000; t <= T + 20 * 60_000; t += 60_000) {
      storage.add({ __name__: 'x', job: 'a' }, t, 100 + (t % 7));
      await group.evaluate(t);
    }
    expect(rule.seriesCount).toBe(1);
  });

  it('keeps scores defined (0) for constant and very short series', async () => {
    const yaml = RULES.replace('season: daily', 'season: none');
    const { storage, group, latest } = setup(yaml);
    for (let t = T - 3600_000; t < T + 600_000; t += 60_000) storage.add({ __name__: 'x', job: 'c' }, t, 42);
    storage.add({ __name__: 'x', job: 's' }, T - 60_000, 7);
    for (let t = T; t < T + 600_000; t += 60_000) {
      await group.evaluate(t);
      const s = await latest('anomaly:score', t);
      expect(s.get('c')).toBe(0);
      if (t < T + 240_000) expect(s.get('s')).toBe(0);
    }
  });

  it('does not score counter resets inside rate()', async () => {
    const yaml = RULES.replace('expr: x', 'expr: rate(c_total[5m])').replace('season: daily', 'season: none');
    const { storage, group, latest } = setup(yaml);
    let c = 0;
    const n = seededNormal(7);
    for (let t = T - DAY_MS; t < T + 3 * 3600_000; t += 15_000) {
      c += 150 + 10 * n();
      if (t === T + 3600_000 || t === T + 2 * 3600_000) c = 0; // restarts
      storage.add({ __name__: 'c_total', job: 'a' }, t, c);
    }
    let max = 0;
    for (let t = T; t < T + 3 * 3600_000; t += 60_000) {
      await group.evaluate(t);
      max = Math.max(max, (await latest('anomaly:score', t)).get('a') ?? 0);
    }
    expect(max).toBeLessThan(0.5);
  });
});
