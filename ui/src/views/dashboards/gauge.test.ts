import { describe, expect, it } from 'vitest';
import { arcPath, fraction, gaugeBounds, thresholdBands } from './gauge.ts';

describe('fraction', () => {
  it.each([
    [50, 0, 100, 0.5],
    [-5, 0, 100, 0],
    [150, 0, 100, 1],
    [5, 10, 10, 0],
    [NaN, 0, 1, 0],
  ])('%s in [%s, %s] → %s', (v, lo, hi, want) => {
    expect(fraction(v, lo, hi)).toBe(want);
  });
});

describe('arcPath', () => {
  it('starts bottom-left and uses the large-arc flag past 180°', () => {
    const full = arcPath(50, 50, 40, 0, 1);
    expect(full.startsWith('M 21.72 78.28 A 40 40 0 1 1 78.28 78.28')).toBe(true);
    expect(arcPath(50, 50, 40, 0, 0.5)).toContain(' 0 0 1 ');
    expect(arcPath(50, 50, 40, 0.3, 0.3)).toBe('');
  });
});

describe('thresholdBands', () => {
  it('colours the arc from min to max by threshold', () => {
    expect(
      thresholdBands(
        [
          { value: 90, color: 'red' },
          { value: 70, color: 'orange' },
        ],
        0,
        100,
      ),
    ).toEqual([
      { from: 0, to: 0.7, color: 'var(--ok)' },
      { from: 0.7, to: 0.9, color: 'var(--warn)' },
      { from: 0.9, to: 1, color: 'var(--bad)' },
    ]);
  });
  it('clamps thresholds outside the range and has no bands without thresholds', () => {
    expect(thresholdBands([{ value: -10, color: 'red' }], 0, 100)).toEqual([
      { from: 0, to: 1, color: 'var(--bad)' },
    ]);
    expect(thresholdBands([], 0, 100)).toEqual([]);
    expect(thresholdBands(undefined, 0, 100)).toEqual([]);
  });
});

describe('gaugeBounds', () => {
  it('defaults to 0–100, 0–1 for ratios, and grows to fit a value without an explicit max', () => {
    expect(gaugeBounds({}, [5])).toEqual({ min: 0, max: 100 });
    expect(gaugeBounds({ unit: 'percentunit' }, [0.5])).toEqual({ min: 0, max: 1 });
    expect(gaugeBounds({}, [250])).toEqual({ min: 0, max: 250 });
    expect(gaugeBounds({ max: 10 }, [250])).toEqual({ min: 0, max: 10 });
    expect(gaugeBounds({ min: 5, max: 5 }, [])).toEqual({ min: 5, max: 6 });
  });
});
