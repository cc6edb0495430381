import { describe, expect, it } from 'vitest';
import { DeltaToCumulative } from './delta.ts';

describe('DeltaToCumulative', () => {
  it('accumulates consecutive deltas per series', () => {
    const d = new DeltaToCumulative();
    expect(d.addNumber('a', 0, 10, 5)).toEqual({ ok: true, value: 5 });
    expect(d.addNumber('a', 10, 20, 3)).toEqual({ ok: true, value: 8 });
    expect(d.addNumber('b', 0, 20, 1)).toEqual({ ok: true, value: 1 });
    expect(d.addNumber('a', 20, 30, 0)).toEqual({ ok: true, value: 8 });
    expect(d.addNumber('a', 30, 40, -2)).toEqual({ ok: true, value: 6 });
  });

  it('starts again when the start time goes backwards', () => {
    const d = new DeltaToCumulative();
    d.addNumber('a', 100, 110, 5);
    d.addNumber('a', 110, 120, 5);
    expect(d.addNumber('a', 50, 130, 2)).toEqual({ ok: true, value: 2 });
    expect(d.addNumber('a', 130, 140, 1)).toEqual({ ok: true, value: 3 });
  });

  it('refuses a point at or before the last one instead of counting it twice', () => {
    const d = new DeltaToCumulative();
    d.addNumber('a', 0, 10, 5);
    d.addNumber('a', 10, 20, 5);
    const r = d.addNumber('a', 10, 20, 5);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/not after the last point/);
    expect(d.addNumber('a', 20, 30, 1)).toEqual({ ok: true, value: 11 });
  });

  it('accumulates histograms and restarts when bounds change', () => {
    const d = new DeltaToCumulative();
    expect(d.addHistogram('h', 0, 10, 3, 6, [1, 5], [1, 1, 1])).toEqual({
      ok: true,
      value: { count: 3, sum: 6, buckets: [1, 1, 1] },
    });
    expect(d.addHistogram('h', 10, 20, 2, 1, [1, 5], [2, 0, 0])).toEqual({
      ok: true,
      value: { count: 5, sum: 7, buckets: [3, 1, 1] },
    });
    expect(d.addHistogram('h', 20, 30, 1, 2, [1, 2, 5], [0, 1, 0, 0])).toEqual({
      ok: true,
      value: { count: 1, sum: 2, buckets: [0, 1, 0, 0] },
    });
  });

  it('forgets series beyond maxSeries, least recently updated first', () => {
    const d = new DeltaToCumulative({ maxSeries: 2 });
    d.addNumber('a', 0, 10, 1);
    d.addNumber('b', 0, 10, 1);
    d.addNumber('a', 10, 20, 1);
    d.addNumber('c', 0, 20, 1);
    expect(d.size).toBe(2);
    expect(d.addNumber('a', 20, 30, 1)).toEqual({ ok: true, value: 3 });
    expect(d.addNumber('b', 10, 30, 1)).toEqual({ ok: true, value: 1 });
  });

  it('forgets series idle for longer than idleMs', () => {
    const d = new DeltaToCumulative({ idleMs: 1000 });
    d.addNumber('old', 0, 10, 1);
    d.addNumber('new', 0, 5000, 1);
    expect(d.size).toBe(1);
    expect(d.addNumber('old', 10, 5001, 1)).toEqual({ ok: true, value: 1 });
  });

  it('forget drops one series', () => {
    const d = new DeltaToCumulative();
    d.addNumber('a', 0, 10, 4);
    d.forget('a');
    expect(d.addNumber('a', 10, 20, 1)).toEqual({ ok: true, value: 1 });
  });
});
