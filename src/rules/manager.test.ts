import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../query/promql/index.ts';
import { openStateStore } from '../state/open.ts';
import { MemoryStorage } from '../store/memory.ts';
import { ManualClock } from './clock.ts';
import { parseRuleFile } from './file.ts';
import { RuleManager, STATE_NAMESPACE } from './manager.ts';
import { engineQueryFn, storageAppendFn } from './rule.ts';

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
