import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../query/promql/index.ts';
import { MemoryStorage } from '../store/memory.ts';
import { startTestVigil, type TestVigil } from '../../test/helpers.ts';
import {
  MAX_SERIES,
  anomalyApi,
  defaultWarmup,
  parseBandParams,
  warmupGrid,
  type BandData,
} from './anomaly.ts';
import { createServer } from './server.ts';

const MIN = 60_000;
const DAY = 86_400_000;
/** A fixed "now" on a 5-minute boundary, so the grid meets the samples. */
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const SPIKE_AT = NOW - 30 * MIN;

/** A deterministic pseudo-random sequence (xorshift32), so the noise is the same on every run. */
function noise(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0xffffffff - 0.5;
  };
}

/** A daily sine around 100 (±30) with ±1 noise every 5 minutes over `days`, and a +40 spike at SPIKE_AT. */
function seed(storage: MemoryStorage, days: number, labels: Record<string, string>, spike = true) {
  const app = storage.appender();
  const r = noise(7);
  for (let t = NOW - days * DAY; t <= NOW; t += 5 * MIN) {
    const base = 100 + 30 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + 2 * r();
    app.append(labels, t, spike && t === SPIKE_AT ? base + 40 : base);
  }
  return app.commit();
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function api(storage: MemoryStorage) {
  const server = createServer({ bodyLimit: 1024 * 1024 });
  await server.register(anomalyApi({ storage, engine: new Engine(), queryTimeoutMs: 30_000 }));
  cleanups.push(() => server.close());
  return server;
}

const qs = (o: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();

const range = { start: (NOW - 2 * 3600_000) / 1000, end: NOW / 1000, step: 300 };

describe('parseBandParams', () => {
  const base = { query: 'm', start: '100', end: '200', step: '10' };
  const p = (o: Record<string, string>) => (name: string) => (o[name] === undefined ? [] : [o[name]!]);

  it('applies defaults: daily season, its warm-up, threshold 0.8', () => {
    expect(parseBandParams(p(base))).toEqual({
      query: 'm',
      start: 100_000,
      end: 200_000,
      step: 10_000,
      season: 'daily',
      warmup: 7 * DAY,
      warmupGiven: false,
      threshold: 0.8,
    });
    expect(parseBandParams(p({ ...base, season: 'daily,weekly' })).season).toBe('weekly');
    expect(parseBandParams(p({ ...base, season: 'none', warmup: '2h', threshold: '0.5' }))).toMatchObject({
      season: 'none',
      warmup: 2 * 3600_000,
      warmupGiven: true,
      threshold: 0.5,
    });
  });

  it.each([
    [{ query: '' }, 'invalid parameter "query": query must not be empty'],
    [{ query: 'sum(' }, 'invalid parameter "query": '],
    [{ start: 'yesterday' }, 'invalid parameter "start": cannot parse "yesterday"'],
    [{ end: '50' }, 'invalid parameter "end": end timestamp must not be before start time'],
    [{ step: '0' }, 'invalid parameter "step": zero or negative'],
    [{ step: 'fast' }, 'invalid parameter "step": cannot parse "fast"'],
    [{ end: '200000', step: '1' }, 'exceeded maximum resolution of 11,000 points'],
    [{ season: 'hourly' }, 'invalid parameter "season": "hourly" is not one of daily, weekly, none'],
    [{ warmup: '-3600' }, 'invalid parameter "warmup": "-3600" is negative'],
    [{ warmup: '61d' }, 'invalid parameter "warmup": "61d" is longer than the maximum of 60d'],
    [{ warmup: 'long' }, 'invalid parameter "warmup": cannot parse "long"'],
    [{ threshold: '0' }, 'invalid parameter "threshold": "0" is not a number in (0, 1]'],
    [{ threshold: '1.5' }, 'invalid parameter "threshold": "1.5" is not a number in (0, 1]'],
    [{ threshold: 'high' }, 'invalid parameter "threshold": "high" is not a number in (0, 1]'],
  ])('rejects %j', (patch, message) => {
    expect(() => parseBandParams(p({ ...base, ...patch }))).toThrow(message);
  });
});

describe('warm-up', () => {
  it.each([
    // [season, step, expected default]
    ['daily', 60_000, 7 * DAY],
    ['weekly', 60_000, 14 * DAY],
    ['none', 60_000, DAY],
    ['none', 3600_000, 84 * 3600_000],
  ] as const)('defaults for %s at step %d ms', (season, step, want) => {
    expect(defaultWarmup(season, step)).toBe(want);
  });

  it.each([
    // A short warm-up runs at the chart's step; a long one at a multiple of it, at most WARMUP_POINTS points.
    [60_000, 3600_000, { step: 60_000, points: 60 }],
    [15_000, 7 * DAY, { step: 300_000, points: 2016 }],
    [7_000, 7 * DAY, { step: 301_000, points: 2009 }],
  ])('step %d ms, warm-up %d ms', (step, warmup, want) => {
    const g = warmupGrid(1_000_000_000, step, warmup);
    expect(g).toMatchObject(want);
    // The grid ends exactly one of its steps before the start.
    expect(g.start + g.points * g.step).toBe(1_000_000_000);
  });
});

describe('GET /api/vigil/v1/anomaly/band', () => {
  it('draws a band that holds the daily pattern and marks the injected spike', async () => {
    const storage = new MemoryStorage();
    await seed(storage, 9, { __name__: 'load', job: 'a' });
    const server = await api(storage);
    const res = await server.inject(`/api/vigil/v1/anomaly/band?${qs({ query: 'load', ...range })}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { status: string; data: BandData; warnings?: string[] };
    expect(body.status).toBe('success');
    expect(body.warnings).toBeUndefined();
    const d = body.data;
    expect(d.timestamps).toHaveLength(25);
    expect(d.timestamps[0]).toBe(range.start);
    expect(d.warmup).toEqual({ start: (NOW - 2 * 3600_000 - 7 * DAY) / 1000, step: 300, points: 2016 });
    expect(d.series).toHaveLength(1);
    const s = d.series[0]!;
    expect(s.metric).toEqual({ __name__: 'load', job: 'a' });
    for (const k of ['values', 'expected', 'lower', 'upper', 'score'] as const)
      expect(s[k]).toHaveLength(d.timestamps.length);
    // The spike is the one anomaly; every other point lies inside the band.
    expect(s.anomalies.map((a) => a.t)).toEqual([SPIKE_AT / 1000]);
    expect(s.anomalies[0]!.score).toBeGreaterThanOrEqual(0.8);
    d.timestamps.forEach((t, i) => {
      if (t === SPIKE_AT / 1000) {
        expect(s.values[i]!).toBeGreaterThan(s.upper[i]!);
        return;
      }
      expect(s.lower[i]!).toBeLessThan(s.values[i]!);
      expect(s.values[i]!).toBeLessThan(s.upper[i]!);
      expect(s.score[i]).toBeLessThan(0.8);
    });
  });

  it('a lower threshold, and POST with a form body, are accepted', async () => {
    const storage = new MemoryStorage();
    await seed(storage, 9, { __name__: 'load', job: 'a' });
    const server = await api(storage);
    const res = await server.inject({
      method: 'POST',
      url: '/api/vigil/v1/anomaly/band',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: qs({ query: 'load', ...range, threshold: 0.05 }),
    });
    expect(res.statusCode).toBe(200);
    const d = (res.json() as { data: BandData }).data;
    expect(d.threshold).toBe(0.05);
    expect(d.series[0]!.anomalies.length).toBeGreaterThanOrEqual(1);
  });

  it('warns when the history is shorter than the detector needs', async () => {
    const storage = new MemoryStorage();
    await seed(storage, 0.1, { __name__: 'young' }, false);
    const server = await api(storage);
    const res = await server.inject(`/api/vigil/v1/anomaly/band?${qs({ query: 'young', ...range })}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { data: BandData; warnings: string[] };
    expect(body.warnings).toEqual([
      '1 of 1 series have less history than the detector needs (12 samples over at least a day): their scores are 0 until then',
    ]);
    expect(body.data.series[0]!.anomalies).toEqual([]);
  });

  it(`scores at most ${MAX_SERIES} series and says so`, async () => {
    const storage = new MemoryStorage();
    const app = storage.appender();
    for (let i = 0; i < 60; i++)
      for (let t = NOW - 3 * 3600_000; t <= NOW; t += 5 * MIN)
        app.append({ __name__: 'many', i: String(i).padStart(2, '0') }, t, i);
    await app.commit();
    const server = await api(storage);
    const res = await server.inject(
      `/api/vigil/v1/anomaly/band?${qs({ query: 'many', ...range, season: 'none' })}`,
    );
    expect(res.statusCode).toBe(200);
    const body = res.json() as { data: BandData; warnings: string[] };
    expect(body.data.series).toHaveLength(MAX_SERIES);
    expect(body.data.seriesTotal).toBe(60);
    expect(body.warnings[0]).toMatch(/returned 60 series: bands are computed for the first 50 only/);
  });

  it('skips a warm-up over the sample limit with a warning', async () => {
    const storage = new MemoryStorage();
    await seed(storage, 9, { __name__: 'load', job: 'a' });
    const server = createServer({ bodyLimit: 1024 * 1024 });
    // The requested range (25 points) fits the limit; the 2,016-point warm-up does not.
    await server.register(
      anomalyApi({ storage, engine: new Engine({ maxSamples: 1000 }), queryTimeoutMs: 30_000 }),
    );
    cleanups.push(() => server.close());
    const res = await server.inject(`/api/vigil/v1/anomaly/band?${qs({ query: 'load', ...range })}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { data: BandData; warnings: string[] };
    expect(body.warnings[0]).toMatch(
      /^warm-up skipped: .*sample.*; the band learns from the requested range only/,
    );
    expect(body.data.series[0]!.warmingUp).toBeGreaterThan(0);
  });

  it.each([
    [{ query: 'load' }, 400, 'bad_data', 'invalid parameter "start"'],
    [{ ...range, query: 'rate(' }, 400, 'bad_data', 'invalid parameter "query"'],
    [{ ...range, query: 'load[5m]' }, 400, 'bad_data', 'invalid parameter "query": invalid expression type'],
    [{ ...range, query: 'load', season: 'yearly' }, 400, 'bad_data', 'invalid parameter "season"'],
  ])('answers %j with %d in Prometheus error shape', async (params, status, errorType, message) => {
    const server = await api(new MemoryStorage());
    const res = await server.inject(`/api/vigil/v1/anomaly/band?${qs(params)}`);
    expect(res.statusCode).toBe(status);
    const body = res.json() as { status: string; errorType: string; error: string };
    expect(body.status).toBe('error');
    expect(body.errorType).toBe(errorType);
    expect(body.error).toContain(message);
  });
});

describe('anomaly band in a running Vigil (chDB)', () => {
  let vigil: TestVigil;
  beforeAll(async () => {
    vigil = await startTestVigil();
    const app = vigil.storage.appender();
    const r = noise(3);
    for (let t = NOW - 8 * DAY; t <= NOW; t += 5 * MIN) {
      const v = 50 + 20 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + r();
      app.append({ __name__: 'queue_depth', job: 'router' }, t, t === SPIKE_AT ? v - 35 : v);
    }
    await app.commit();
  }, 120_000);
  afterAll(async () => {
    await vigil?.stop();
  });

  it('marks a dip in stored data and survives bad input', async () => {
    const bad = await fetch(
      `${vigil.url}/api/vigil/v1/anomaly/band?${qs({ query: 'queue_depth', ...range, step: -1 })}`,
    );
    expect(bad.status).toBe(400);
    const res = await fetch(
      `${vigil.url}/api/vigil/v1/anomaly/band?${qs({ query: 'queue_depth', ...range })}`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: BandData };
    const s = body.data.series[0]!;
    expect(s.metric).toEqual({ __name__: 'queue_depth', job: 'router' });
    expect(s.anomalies.map((a) => a.t)).toEqual([SPIKE_AT / 1000]);
    expect(s.anomalies[0]!.value).toBeLessThan(s.anomalies[0]!.lower!);
  });
});
