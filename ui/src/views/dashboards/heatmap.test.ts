import { describe, expect, it } from 'vitest';
import { buildHeatmap, formatBound, intensity } from './heatmap.ts';
import type { ChartData } from '../../lib/series.ts';

const series = (le: string | undefined, values: (number | null)[], extra: Record<string, string> = {}) => ({
  key: `${le}${JSON.stringify(extra)}`,
  label: String(le),
  metric: { ...(le === undefined ? {} : { le }), ...extra },
  query: 0,
  values,
});

describe('buildHeatmap', () => {
  it('de-cumulates buckets per step, sorted by le whatever the input order', () => {
    const data: ChartData = {
      times: [10, 20],
      series: [series('+Inf', [10, 12]), series('0.1', [2, 3]), series('0.5', [7, 3])],
    };
    const h = buildHeatmap(data);
    expect(h.buckets).toEqual([
      { lo: 0, hi: 0.1 },
      { lo: 0.1, hi: 0.5 },
      { lo: 0.5, hi: Infinity },
    ]);
    expect(h.counts).toEqual([
      [2, 3],
      [5, 0],
      [3, 9],
    ]);
    expect(h.max).toBe(9);
    expect(h.ignored).toBe(0);
  });

  it('sums series with the same le and ignores series without one', () => {
    const data: ChartData = {
      times: [1],
      series: [
        series('1', [1], { instance: 'a' }),
        series('1', [2], { instance: 'b' }),
        series('+Inf', [4], { instance: 'a' }),
        series('+Inf', [5], { instance: 'b' }),
        series(undefined, [100]),
        series('nope', [100]),
      ],
    };
    const h = buildHeatmap(data);
    expect(h.counts).toEqual([[3], [6]]);
    expect(h.ignored).toBe(2);
  });

  it('keeps gaps as null and never goes negative', () => {
    const data: ChartData = { times: [1, 2], series: [series('1', [null, 5]), series('2', [null, 4])] };
    expect(buildHeatmap(data).counts).toEqual([
      [null, 5],
      [null, 0],
    ]);
  });

  it('starts the first bucket at -Inf when its bound is not positive', () => {
    const h = buildHeatmap({ times: [1], series: [series('-1', [1]), series('0', [1])] });
    expect(h.buckets[0]).toEqual({ lo: -Infinity, hi: -1 });
  });
});

describe('intensity and bounds', () => {
  it('scales by square root within [0, 1]', () => {
    expect(intensity(0, 10)).toBe(0);
    expect(intensity(10, 10)).toBe(1);
    expect(intensity(2.5, 10)).toBeCloseTo(0.5);
    expect(intensity(5, 0)).toBe(0);
  });
  it('formats bounds', () => {
    expect(formatBound(Infinity)).toBe('+Inf');
    expect(formatBound(0.1 + 0.2)).toBe('0.3');
    expect(formatBound(2.5)).toBe('2.5');
  });
});
