import { describe, expect, it } from 'vitest';
import { barPercent, fitFontSize, lastValue, tileGrid } from './panelMath.ts';

describe('lastValue', () => {
  it('skips trailing gaps', () => {
    expect(lastValue([1, 2, null, null])).toBe(2);
    expect(lastValue([null])).toBeNull();
    expect(lastValue([])).toBeNull();
    expect(lastValue([0])).toBe(0);
  });
});

describe('tileGrid', () => {
  it.each([
    [1, 400, 200, 1, 1],
    [4, 800, 200, 4, 1],
    [4, 200, 800, 1, 4],
    [4, 400, 400, 2, 2],
    [5, 600, 200, 5, 1],
    [6, 600, 400, 3, 2],
  ])('%s tiles in %sx%s → %s cols, %s rows', (n, w, h, cols, rows) => {
    expect(tileGrid(n, w, h)).toEqual({ cols, rows });
  });
});

describe('fitFontSize', () => {
  it('is limited by width, height and bounds', () => {
    expect(fitFontSize(4, 1000, 1000)).toBe(72);
    expect(fitFontSize(10, 124, 1000)).toBe(20);
    expect(fitFontSize(2, 1000, 40)).toBe(20);
    expect(fitFontSize(50, 50, 50)).toBe(12);
  });
});

describe('barPercent', () => {
  it('scales and clamps', () => {
    expect(barPercent(5, 10)).toBe(50);
    expect(barPercent(15, 10)).toBe(100);
    expect(barPercent(-1, 10)).toBe(0);
    expect(barPercent(1, 0)).toBe(0);
    expect(barPercent(NaN, 1)).toBe(0);
  });
});
