import { describe, expect, it } from 'vitest';
import { fitForecast, secondsToReach } from './forecast.ts';
import { dailyPattern, seededNormal } from './synthetic.ts';

const HOUR = 3600;
const DAY = 86_400;
/** 2026-03-02T09:00:00Z: mid-morning, while the daily pattern rises. */
const NOW = 1_772_409_600 + 9 * HOUR;

/** Points every 5 minutes over `days` before NOW. */
function series(days: number, f: (t: number) => number, seed = 3, noise = 3) {
  const n = seededNormal(seed);
  const times: number[] = [];
  const values: number[] = [];
  for (let t = NOW - days * DAY; t <= NOW; t += 300) {
    times.push(t);
    values.push(f(t) + noise * n());
  }
  return { times, values };
}

/** First time after NOW the noiseless curve reaches `limit` (1-second resolution). */
function trueCrossing(f: (t: number) => number, limit: number): number {
  for (let t = NOW; t < NOW + 10 * DAY; t += 1) if (f(t) >= limit) return t - NOW;
  return Infinity;
}

describe('fitForecast + secondsToReach', () => {
  const cases: {
    name: string;
    f: (t: number) => number;
    daily: boolean;
    days: number;
    expect: 'cross' | 'none';
  }[] = [
    { name: 'linear fill', f: (t) => 800 + (10 * (t - NOW)) / HOUR, daily: true, days: 3, expect: 'cross' },
    {
      name: 'fill with a daily pattern',
      f: (t) => 780 + (10 * (t - NOW)) / HOUR + dailyPattern(t, 0, 40),
      daily: true,
      days: 4,
      expect: 'cross',
    },
    {
      name: 'linear fill, no season asked',
      f: (t) => 600 + (20 * (t - NOW)) / HOUR,
      daily: false,
      days: 1,
      expect: 'cross',
    },
    { name: 'flat', f: () => 900, daily: true, days: 3, expect: 'none' },
    { name: 'shrinking', f: (t) => 900 - (5 * (t - NOW)) / HOUR, daily: true, days: 3, expect: 'none' },
    {
      name: 'flat with a daily peak below capacity, in the rising morning',
      f: (t) => dailyPattern(t, 600, 250),
      daily: true,
      days: 4,
      expect: 'none',
    },
  ];
  it.each(cases)('$name', ({ f, daily, days, expect: want }) => {
    const { times, values } = series(days, f);
    const m = fitForecast(times, values, { daily })!;
    expect(m).toBeDefined();
    const got = secondsToReach(m, NOW, DAY, 1000, values[values.length - 1]!);
    if (want === 'none') expect(got).toBeUndefined();
    else {
      const truth = trueCrossing(f, 1000);
      expect(truth).toBeLessThan(DAY);
      // Within 5% of the remaining time, or 30 minutes.
      expect(Math.abs(got! - truth)).toBeLessThan(Math.max(1800, 0.05 * truth));
    }
  });

  it('a trend line over the last hours alone would alarm at the daily peak; the seasonal fit does not', () => {
    const f = (t: number) => dailyPattern(t, 600, 250);
    const recent = series(0.2, f);
    const naive = fitForecast(recent.times, recent.values, { daily: false })!;
    expect(secondsToReach(naive, NOW, DAY, 1000, recent.values.at(-1)!)).toBeDefined();
  });

  it('returns 0 when the limit is already reached, and no model for too few or timeless points', () => {
    const { times, values } = series(1, () => 1001);
    expect(secondsToReach(fitForecast(times, values, { daily: false })!, NOW, DAY, 1000, 1001)).toBe(0);
    expect(fitForecast([1, 2, 3], [1, 2, 3], { daily: false })).toBeUndefined();
    expect(fitForecast(Array(20).fill(5), Array(20).fill(1), { daily: false })).toBeUndefined();
    expect(
      fitForecast(
        times,
        values.map(() => NaN),
        { daily: false },
      ),
    ).toBeUndefined();
  });
});
