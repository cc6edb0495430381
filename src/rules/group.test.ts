import { describe, expect, it } from 'vitest';
import { isStaleNaN, type Labels } from '../model/labels.ts';
import { Engine } from '../query/promql/index.ts';
import { MemoryStorage } from '../store/memory.ts';
import { ManualClock } from './clock.ts';
import { parseRuleFile, type RuleGroupDef } from './file.ts';
import { RuleGroup } from './group.ts';
import { ruleEvaluationFailures } from './metrics.ts';
import { engineQueryFn, storageAppendFn, type AppendFn, type QueryFn } from './rule.ts';

function groupDef(yaml: string, file = 'g.yml'): RuleGroupDef {
  const r = parseRuleFile(yaml, file);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.groups[0]!;
}

/** Every raw sample (stale markers included) of series whose metric name is `name`. */
async function raw(
  storage: MemoryStorage,
  name: string,
): Promise<{ labels: Labels; points: [number, number | 'stale'][] }[]> {
  const series = await storage.querier(-1e15, 1e15).select([{ type: '=', name: '__name__', value: name }]);
  return series.map((s) => ({
    labels: s.labels,
    points: Array.from(
      s.t,
      (t, i) => [t, isStaleNaN(s.v[i]!) ? 'stale' : s.v[i]!] as [number, number | 'stale'],
    ),
  }));
}

function setup(yaml: string, opts: { query?: QueryFn; append?: AppendFn; clock?: ManualClock } = {}) {
  const storage = new MemoryStorage();
  const query = opts.query ?? engineQueryFn(new Engine(), storage);
  const group = new RuleGroup(groupDef(yaml), {
    query,
    append: opts.append ?? storageAppendFn(storage),
    defaultIntervalMs: 60_000,
    clock: opts.clock,
  });
  return { storage, group };
}

const RECORDING = `
groups:
  - name: g
    labels: {team: web, drop: me}
    rules:
      - record: job:x:sum
        expr: sum by (job) (x)
        labels: {drop: "", tier: one}
      - record: job:x:double
        expr: job:x:sum * 2
`;

describe('RuleGroup.evaluate', () => {
  it('renames results, applies group and rule labels, and later rules see earlier results', async () => {
    const { storage, group } = setup(RECORDING);
    storage.add({ __name__: 'x', job: 'a', i: '1' }, 0, 1);
    storage.add({ __name__: 'x', job: 'a', i: '2' }, 0, 2);
    storage.add({ __name__: 'x', job: 'b' }, 0, 5);
    await group.evaluate(60_000);
    expect(await raw(storage, 'job:x:sum')).toEqual([
      { labels: { __name__: 'job:x:sum', job: 'a', team: 'web', tier: 'one' }, points: [[60_000, 3]] },
      { labels: { __name__: 'job:x:sum', job: 'b', team: 'web', tier: 'one' }, points: [[60_000, 5]] },
    ]);
    expect((await raw(storage, 'job:x:double')).map((s) => s.points)).toEqual([
      [[60_000, 6]],
      [[60_000, 10]],
    ]);
    expect(group.rules.map((r) => r.status.health)).toEqual(['ok', 'ok']);
    expect(group.lastTimestamp).toBe(60_000);
  });

  it('writes stale markers for series that disappeared since the previous evaluation', async () => {
    const { storage, group } = setup(
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: x\n',
    );
    storage.add({ __name__: 'x', s: 'keep' }, 0, 1);
    storage.add({ __name__: 'x', s: 'go' }, 0, 1);
    await group.evaluate(60_000);
    storage.add({ __name__: 'x', s: 'keep' }, 100_000, 2);
    await storage.deleteSeries(
      [
        [
          { type: '=', name: '__name__', value: 'x' },
          { type: '=', name: 's', value: 'go' },
        ],
      ],
      0,
      1e15,
    );
    await group.evaluate(120_000);
    await group.evaluate(180_000);
    expect(await raw(storage, 'r')).toEqual([
      {
        labels: { __name__: 'r', s: 'go' },
        points: [
          [60_000, 1],
          [120_000, 'stale'],
        ],
      },
      {
        labels: { __name__: 'r', s: 'keep' },
        points: [
          [60_000, 1],
          [120_000, 2],
          [180_000, 2],
        ],
      },
    ]);
  });

  it('records a failing rule and carries on with the next; no stale markers after a failure', async () => {
    const storage = new MemoryStorage();
    const engineQuery = engineQueryFn(new Engine(), storage);
    let fail = true;
    const query: QueryFn = async (expr, t) => {
      if (expr === 'x' && fail) throw new Error('storage unavailable');
      return engineQuery(expr, t);
    };
    const { group } = setup(
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: x\n      - record: b\n        expr: vector(1)\n',
      { query },
    );
    (group as unknown as { opts: { append: AppendFn } }).opts.append = storageAppendFn(storage);
    storage.add({ __name__: 'x' }, 0, 1);
    const key = { rule_group: group.key };
    const before =
      (await ruleEvaluationFailures.get()).values.find((v) => v.labels.rule_group === group.key)?.value ?? 0;
    await group.evaluate(60_000);
    const [a, b] = group.rules;
    expect(a!.status).toMatchObject({
      health: 'err',
      lastError: 'storage unavailable',
      lastTimestamp: 60_000,
    });
    expect(b!.status).toMatchObject({ health: 'ok', lastError: '' });
    expect(
      (await ruleEvaluationFailures.get()).values.find((v) => v.labels.rule_group === key.rule_group)?.value,
    ).toBe(before + 1);
    fail = false;
    await group.evaluate(120_000);
    expect(a!.status).toMatchObject({ health: 'ok', lastError: '' });
    expect(await raw(storage, 'a')).toEqual([{ labels: { __name__: 'a' }, points: [[120_000, 1]] }]);
  });

  it.each([
    [
      'the limit',
      'groups:\n  - name: g\n    limit: 1\n    rules:\n      - record: r\n        expr: label_replace({k="v"}, "src", "$1", "__name__", "(.*)")\n',
      'exceeded limit of 1 with 2 series',
    ],
    [
      'duplicate label sets after renaming',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: \'{k="v"}\'\n',
      'vector contains metrics with the same labelset after applying rule labels',
    ],
    [
      'a string result',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: \'"text"\'\n',
      'rule result is not a vector or scalar',
    ],
  ])('fails on %s', async (_name, yaml, message) => {
    const { storage, group } = setup(yaml);
    storage.add({ __name__: 'x', k: 'v' }, 0, 1);
    storage.add({ __name__: 'y', k: 'v' }, 0, 1);
    await group.evaluate(60_000);
    expect(group.rules[0]!.status).toMatchObject({ health: 'err', lastError: message });
    expect(await raw(storage, 'r')).toEqual([]);
  });

  it('evaluates at the query offset and writes samples there', async () => {
    const { storage, group } = setup(
      'groups:\n  - name: g\n    query_offset: 1m\n    rules:\n      - record: r\n        expr: x\n',
    );
    storage.add({ __name__: 'x' }, 0, 1);
    storage.add({ __name__: 'x' }, 60_000, 2);
    await group.evaluate(120_000);
    expect(await raw(storage, 'r')).toEqual([{ labels: { __name__: 'r' }, points: [[60_000, 2]] }]);
  });

  it('leaves alerting rules alone unless asked to evaluate them', async () => {
    const { storage, group } = setup(
      'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n',
    );
    await group.evaluate(60_000);
    expect(group.rules[0]!.status.health).toBe('unknown');
    expect(await raw(storage, 'ALERTS')).toEqual([]);
  });
});

describe('RuleGroup timing', () => {
  it('has a stable offset within its interval, derived from file and name', () => {
    const a = setup('groups:\n  - name: a\n    interval: 1m\n    rules: []\n').group;
    const a2 = setup('groups:\n  - name: a\n    interval: 1m\n    rules: []\n').group;
    const b = setup('groups:\n  - name: b\n    interval: 1m\n    rules: []\n').group;
    expect(a.offsetMs).toBe(a2.offsetMs);
    expect(a.offsetMs).not.toBe(b.offsetMs);
    for (const g of [a, b]) {
      expect(g.offsetMs).toBeGreaterThanOrEqual(0);
      expect(g.offsetMs).toBeLessThan(60_000);
      const t = 1_700_000_012_345;
      const at = g.alignedAtOrBefore(t);
      expect(at).toBeLessThanOrEqual(t);
      expect(t - at).toBeLessThan(60_000);
      expect((at - g.offsetMs) % 60_000).toBe(0);
      expect(g.alignedAfter(at)).toBe(at + 60_000);
      expect(g.alignedAfter(at - 1)).toBe(at);
    }
  });

  it('first evaluates at the next aligned timestamp, then every interval', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { storage, group } = setup(
      'groups:\n  - name: g\n    interval: 10s\n    rules:\n      - record: r\n        expr: vector(1)\n',
      { clock },
    );
    const done: number[] = [];
    const ctl = new AbortController();
    const run = group.run(ctl.signal, { onEvaluated: async (ts) => void done.push(ts) });
    await clock.settle();
    const first = group.alignedAfter(1_700_000_000_000);
    await clock.advanceTo(first + 25_000);
    expect(done).toEqual([first, first + 10_000, first + 20_000]);
    expect((await raw(storage, 'r'))[0]!.points.map((p) => p[0])).toEqual(done);
    ctl.abort();
    await run;
  });

  it('after a restart, catches up what was missed (at most maxCatchUp) and never repeats a timestamp', async () => {
    const clock = new ManualClock(0);
    const { group } = setup('groups:\n  - name: g\n    interval: 10s\n    rules: []\n', { clock });
    const last = group.alignedAtOrBefore(1_700_000_000_000);
    clock.set(last + 35_000);
    const done: number[] = [];
    const ctl = new AbortController();
    const run = group.run(ctl.signal, {
      resumeAfter: last,
      maxCatchUp: 10,
      onEvaluated: async (ts) => void done.push(ts),
    });
    await clock.settle();
    expect(done).toEqual([last + 10_000, last + 20_000, last + 30_000]);
    await clock.advanceTo(last + 40_000);
    expect(done.at(-1)).toBe(last + 40_000);
    ctl.abort();
    await run;

    // Down for longer: only the newest two are caught up.
    const done2: number[] = [];
    clock.set(last + 100_000);
    const ctl2 = new AbortController();
    const run2 = group.run(ctl2.signal, {
      resumeAfter: last,
      maxCatchUp: 2,
      onEvaluated: async (ts) => void done2.push(ts),
    });
    await clock.settle();
    expect(done2).toEqual([last + 90_000, last + 100_000]);
    ctl2.abort();
    await run2;
  });

  it('skips timestamps an overrunning evaluation went past, as Prometheus', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    let slow = true;
    const query: QueryFn = async () => {
      if (slow) clock.set(clock.now() + 35_000);
      slow = false;
      return [];
    };
    const { group } = setup(
      'groups:\n  - name: g\n    interval: 10s\n    rules:\n      - record: r\n        expr: vector(1)\n',
      { clock, query },
    );
    const done: number[] = [];
    const ctl = new AbortController();
    const run = group.run(ctl.signal, { onEvaluated: async (ts) => void done.push(ts) });
    await clock.settle();
    const first = group.alignedAfter(1_700_000_000_000);
    await clock.advanceTo(first + 50_000);
    expect(done).toEqual([first, first + 30_000, first + 40_000, first + 50_000]);
    ctl.abort();
    await run;
  });
});
