import { describe, expect, it } from 'vitest';
import { AnomalyDetector, Z_HALF, scoreOfZ, type AnomalyPoint, type DetectorOptions } from './detector.ts';

const DAY = 86_400;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z, a Thursday

/** Seeded normal noise (mulberry32 + Box-Muller), so every run sees the same series. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

/** Busy days, quiet nights, 10 lower at weekends (fading in over two hours around midnight). */
function seasonal(t: number): number {
  const days = (t - T0) / DAY + 4;
  const weekend = (d: number) => (Math.floor(d) % 7 === 0 || Math.floor(d) % 7 === 6 ? 1 : 0);
  const frac = days - Math.floor(days);
  let w = weekend(days);
  if (frac < 1 / 24) w = (weekend(days - 1) + w) / 2 + (w - weekend(days - 1)) * frac * 12;
  if (frac > 23 / 24) w = (w + weekend(days + 1)) / 2 + (w - weekend(days + 1)) * (1 - frac) * 12;
  return daily(t) - 10 * w;
}

function daily(t: number): number {
  const x = (2 * Math.PI * (t % DAY)) / DAY;
  return 100 + 20 * Math.sin(x - Math.PI / 2) + 8 * Math.sin(2 * x);
}

function feed(d: AnomalyDetector, ts: number[], f: (t: number, i: number) => number): AnomalyPoint[] {
  return ts.map((t, i) => d.push(t, f(t, i)));
}

function times(days: number, step: number, start = T0): number[] {
  const out: number[] = [];
  for (let t = start; t < start + days * DAY; t += step) out.push(t);
  return out;
}

const maxScore = (ps: AnomalyPoint[]) => Math.max(0, ...ps.map((p) => p.score));

describe('scoreOfZ', () => {
  it.each([
    [0, 0],
    [1.9, 0],
    [-2, 0],
    [Z_HALF, 0.5],
    [-Z_HALF, 0.5],
  ])('z=%d gives %d', (z, want) => expect(scoreOfZ(z)).toBeCloseTo(want, 9));

  it('rises monotonically to 1 and is 0 for NaN', () => {
    let prev = 0;
    for (let z = 0; z < 20; z += 0.25) {
      const s = scoreOfZ(z);
      expect(s).toBeGreaterThanOrEqual(prev);
      expect(s).toBeLessThanOrEqual(1);
      prev = s;
    }
    expect(scoreOfZ(12)).toBeGreaterThan(0.999);
    expect(scoreOfZ(NaN)).toBe(0);
  });
});

describe('AnomalyDetector', () => {
  it('keeps scores defined and 0 for an empty history, a single sample and a short series', () => {
    const d = new AnomalyDetector();
    expect(d.forecast(T0).expected).toBeNaN();
    const first = d.push(T0, 5);
    expect(first).toMatchObject({ score: 0, value: 5, note: 'warmup' });
    const more = feed(d, [T0 + 60, T0 + 120, T0 + 180], () => 500);
    for (const p of more) {
      expect(p.score).toBe(0);
      expect(Number.isFinite(p.expected)).toBe(true);
      expect(p.lower).toBeLessThanOrEqual(p.upper);
    }
  });

  it.each<[string, Partial<DetectorOptions>]>([
    ['no seasonality', { seasons: [] }],
    ['daily and weekly', {}],
  ])('scores a constant series 0 and flags its first change (%s)', (_, opts) => {
    const d = new AnomalyDetector(opts);
    const ts = times(3, 60);
    const flat = feed(d, ts, () => 42);
    expect(maxScore(flat)).toBe(0);
    const last = flat[flat.length - 1]!;
    expect(last.expected).toBeCloseTo(42, 9);
    expect(last.upper).toBeGreaterThan(42);
    expect(last.lower).toBeLessThan(42);
    expect(d.push(T0 + 3 * DAY, 43).score).toBe(1);
  });

  it('warms up on samples alone without seasonality', () => {
    const d = new AnomalyDetector({ seasons: [] });
    const n = noise(1);
    const ps = feed(d, times(1, 60).slice(0, 40), () => 10 + n());
    expect(ps.slice(0, 11).every((p) => p.note === 'warmup')).toBe(true);
    expect(ps[12]!.note).toBeUndefined();
    expect(d.push(T0 + 40 * 60, 30).score).toBeGreaterThan(0.99);
  });

  it('learns daily and weekly seasonality: no alarms on a clean series, a spike is caught', () => {
    const d = new AnomalyDetector();
    const n = noise(2);
    const ts = times(28, 300);
    const ps = feed(d, ts, (t) => seasonal(t) + n());
    const late = ps.filter((p) => p.t >= T0 + 21 * DAY); // weekly patterns take about three weeks
    expect(maxScore(late)).toBeLessThan(0.5);
    // Weekend mornings are 10 lower than weekday ones, and the model expects most of it by the fourth week.
    const sat = ps.find((p) => p.t >= T0 + 23 * DAY + 10 * 3600)!; // Saturday 2026-01-24, 10:00
    const fri = ps.find((p) => p.t >= T0 + 22 * DAY + 10 * 3600)!;
    expect(Math.abs(sat.expected - seasonal(sat.t))).toBeLessThan(2);
    expect(Math.abs(fri.expected - seasonal(fri.t))).toBeLessThan(2);
    expect(fri.expected - sat.expected).toBeGreaterThan(7);
    const t = ts[ts.length - 1]! + 300;
    expect(d.push(t, seasonal(t) + 8).score).toBeGreaterThan(0.9);
  });

  it('is not poisoned by outliers: the baseline after a burst of spikes stays where it was', () => {
    const d = new AnomalyDetector({ seasons: ['daily'] });
    const n = noise(3);
    const ts = times(10, 300);
    const spikes = new Set([2500, 2501, 2502, 2503, 2504, 2505]);
    const ps = feed(d, ts, (t, i) => daily(t) + n() + (spikes.has(i) ? 500 : 0));
    for (const i of spikes) expect(ps[i]!.score).toBe(1);
    const after = ps.slice(2506, 2506 + 288);
    expect(maxScore(after)).toBeLessThan(0.5);
    const i = 2506;
    expect(Math.abs(ps[i]!.expected - daily(ts[i]!))).toBeLessThan(3);
  });

  it('flags a level shift at its start and adopts it within two days', () => {
    const d = new AnomalyDetector({ seasons: ['daily'] });
    const n = noise(4);
    const ts = times(12, 300);
    const shiftAt = T0 + 7 * DAY + 3 * 3600;
    const ps = feed(
      d,
      ts,
      (t) => 50 + 10 * Math.sin((2 * Math.PI * t) / DAY) + n() + (t >= shiftAt ? 15 : 0),
    );
    const first = ps.findIndex((p) => p.t >= shiftAt);
    expect(ps[first]!.score).toBeGreaterThan(0.9);
    expect(maxScore(ps.filter((p) => p.t >= shiftAt + 2 * DAY))).toBeLessThan(0.5);
  });

  it('follows a steady trend without alarms, and catches a drift that departs from it', () => {
    const d = new AnomalyDetector({ seasons: [] });
    const n = noise(5);
    const ts = times(6, 60);
    const driftAt = T0 + 5 * DAY;
    const ps = feed(
      d,
      ts,
      // 20 σ a day, then a drift of 4 σ an hour more
      (t) => 100 + (t - T0) * (20 / DAY) + n() + (t >= driftAt ? ((t - driftAt) / 3600) * 4 : 0),
    );
    expect(maxScore(ps.filter((p) => p.t >= T0 + DAY && p.t < driftAt))).toBeLessThan(0.5);
    expect(maxScore(ps.filter((p) => p.t >= driftAt && p.t < driftAt + 3 * 3600))).toBeGreaterThan(0.5);
  });

  it('handles irregular sample intervals', () => {
    const d = new AnomalyDetector({ seasons: ['daily'] });
    const n = noise(6);
    const u = noise(7);
    const ts: number[] = [];
    for (let t = T0; t < T0 + 8 * DAY; t += Math.round(30 + 570 * Math.abs(u()) ** 2)) ts.push(t);
    const ps = feed(d, ts, (t) => daily(t) + n());
    // At most one false alarm in five days of ~2,500 samples.
    expect(ps.filter((p) => p.t >= T0 + 3 * DAY && p.score >= 0.5).length).toBeLessThanOrEqual(1);
    const t = ts[ts.length - 1]! + 3600; // after a gap of an hour
    expect(d.push(t, daily(t) + 0.5).score).toBeLessThan(0.5);
    expect(d.push(t + 10, daily(t + 10) - 12).score).toBeGreaterThan(0.9);
  });

  it('in counter mode scores the rate, and treats a drop as a reset, not an anomaly', () => {
    const d = new AnomalyDetector({ seasons: [], counter: true });
    const n = noise(8);
    let c = 1000;
    const ts = times(1, 15);
    const out = feed(d, ts, (t, i) => {
      if (i === 3000)
        c = 7; // a restart
      else c += 15 * (20 + n());
      return c;
    });
    expect(out[0]).toMatchObject({ score: 0, note: 'first-counter-sample' });
    expect(out[3000]).toMatchObject({ score: 0, note: 'counter-reset' });
    expect(maxScore(out)).toBeLessThan(0.5);
    expect(Math.abs(out[3001]!.value - 20)).toBeLessThan(5); // the rate after the restart
    expect(Math.abs(out[3002]!.expected - 20)).toBeLessThan(1);
    // The rate doubles: that is an anomaly.
    const t = ts[ts.length - 1]! + 15;
    expect(d.push(t, c + 15 * 40).score).toBeGreaterThan(0.9);
  });

  it('does not learn from out-of-order, duplicate-time or non-finite samples', () => {
    const d = new AnomalyDetector({ seasons: [] });
    feed(d, times(1, 60).slice(0, 50), () => 10);
    const before = d.forecast(T0 + 50 * 60);
    expect(d.push(T0, 1e9)).toMatchObject({ score: 0, note: 'out-of-order' });
    expect(d.push(T0 + 50 * 60, NaN)).toMatchObject({ score: 0, note: 'not-finite' });
    expect(d.push(Infinity, 10)).toMatchObject({ score: 0, note: 'not-finite' });
    expect(d.forecast(T0 + 50 * 60)).toEqual(before);
  });

  it('holds a few KB per series', () => {
    expect(new AnomalyDetector().approximateBytes).toBeLessThan(4096);
    expect(new AnomalyDetector({ seasons: [] }).approximateBytes).toBeLessThan(512);
  });
});
