import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../store/memory.ts';
import {
  creditAt,
  IngestedNames,
  spendTrigger,
  triggerTime,
  TRIGGER_BURST,
  type TriggerBudget,
} from './trigger.ts';

describe('IngestedNames', () => {
  it('reports the metric names of each commit, after the samples are visible', async () => {
    const storage = new MemoryStorage();
    const names = new IngestedNames();
    const seen: string[][] = [];
    const visible: number[] = [];
    const unsubscribe = names.subscribe((n) => {
      seen.push([...n].sort());
      void storage
        .querier(0, 10)
        .select([{ type: '=', name: '__name__', value: 'a' }])
        .then((s) => visible.push(s.length));
    });
    const written = names.wrap(storage);
    const app = written.appender();
    app.append({ __name__: 'b', i: '1' }, 1, 1);
    app.append({ __name__: 'a' }, 1, 1);
    app.append({ __name__: 'b', i: '2' }, 1, 1);
    await app.commit();
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([['a', 'b']]);
    expect(visible).toEqual([1]);

    // A rolled-back appender and an empty commit report nothing.
    const rolled = written.appender();
    rolled.append({ __name__: 'c' }, 1, 1);
    rolled.rollback();
    await written.appender().commit();
    expect(seen).toHaveLength(1);

    unsubscribe();
    const after = written.appender();
    after.append({ __name__: 'd' }, 1, 1);
    await after.commit();
    expect(seen).toHaveLength(1);
  });

  it('never lets a failing listener fail the write', async () => {
    const storage = new MemoryStorage();
    const names = new IngestedNames();
    names.subscribe(() => {
      throw new Error('reader bug');
    });
    const app = names.wrap(storage).appender();
    app.append({ __name__: 'a' }, 1, 1);
    await expect(app.commit()).resolves.toBeUndefined();
    expect(await storage.querier(0, 10).select([{ type: '=', name: '__name__', value: 'a' }])).toHaveLength(
      1,
    );
  });
});

describe('ingest trigger allowance', () => {
  const GAP = 1000;
  const DELAY = 200;
  const T = 1_000_000;
  const spent = (credit: number, lastStart: number): TriggerBudget => ({ credit, at: lastStart, lastStart });

  it.each([
    { name: 'never triggered: at once', b: undefined, now: T, want: T },
    { name: 'idle for long: at once', b: spent(0, T - 60_000), now: T, want: T },
    { name: 'one in hand, previous long past: at once', b: spent(1, T - 900), now: T, want: T },
    {
      name: 'one in hand, previous just started: the burst waits for delay',
      b: spent(1, T - 50),
      now: T,
      want: T + 150,
    },
    { name: 'no credit, half refilled: waits for the rest', b: spent(0, T - 500), now: T, want: T + 500 },
    {
      name: 'no credit, almost refilled: waits at least delay',
      b: spent(0, T - 950),
      now: T,
      want: T + DELAY,
    },
    { name: 'refilled exactly: at once', b: spent(0, T - 1000), now: T, want: T },
  ])('$name', ({ b, now, want }) => {
    expect(triggerTime(b, now, GAP, DELAY)).toBeCloseTo(want, 6);
  });

  it.each([
    { name: 'absent is full', b: undefined, now: T, gap: GAP, want: TRIGGER_BURST },
    { name: 'refills at one per gap', b: spent(0, T - 500), now: T, gap: GAP, want: 0.5 },
    { name: 'refills up to the burst only', b: spent(0, T - 10_000), now: T, gap: GAP, want: TRIGGER_BURST },
    { name: 'a clock going back refills nothing', b: spent(0.5, T + 100), now: T, gap: GAP, want: 0.5 },
    { name: 'no gap: always full', b: spent(0, T), now: T, gap: 0, want: TRIGGER_BURST },
  ])('credit: $name', ({ b, now, gap, want }) => {
    expect(creditAt(b, now, gap)).toBeCloseTo(want, 6);
  });

  it('spends one evaluation and never goes below zero', () => {
    let b = spendTrigger(undefined, T, GAP);
    expect(b).toEqual({ credit: TRIGGER_BURST - 1, at: T, lastStart: T });
    b = spendTrigger(b, T + 1, GAP);
    b = spendTrigger(b, T + 2, GAP);
    expect(b.credit).toBe(0);
    expect(b.lastStart).toBe(T + 2);
  });

  it.each([10, 150, 400, 999, 2500])(
    'writes every %i ms for 60 s: at most one evaluation per gap on average, two within any gap',
    (every) => {
      // Replays the manager's loop: a write schedules an evaluation unless one is pending; it then starts.
      let b: TriggerBudget | undefined;
      let pending: number | undefined;
      const starts: number[] = [];
      for (let now = T; now < T + 60_000; now++) {
        if (pending !== undefined && now >= pending) {
          b = spendTrigger(b, now, GAP);
          starts.push(now);
          pending = undefined;
        }
        if ((now - T) % every === 0 && pending === undefined) pending = triggerTime(b, now, GAP, DELAY);
      }
      expect(starts.length).toBeLessThanOrEqual(60 + TRIGGER_BURST);
      for (let i = 2; i < starts.length; i++) expect(starts[i]! - starts[i - 2]!).toBeGreaterThanOrEqual(GAP);
      for (let i = 1; i < starts.length; i++)
        expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(DELAY);
      // A write never waits longer than the gap for its evaluation.
      expect(starts.length).toBeGreaterThanOrEqual(Math.floor(60_000 / Math.max(every, GAP)) - 1);
    },
  );
});
