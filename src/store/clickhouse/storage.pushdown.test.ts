/**
 * Pushdown equality: every query gives the same result whether ClickHouse evaluates range functions and
 * selectors (Querier.selectRange/selectLast) or the engine does from raw samples. Also runs the PromQL
 * conformance scripts against chDB with pushdown forced.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STALE_NAN, type Labels } from '../../model/labels.ts';
import { Engine, type QueryResult } from '../../query/promql/engine.ts';
import { testCases, type StorageBuilder } from '../../query/promql/promqltest.ts';
import { PUSHDOWN_FUNCTIONS, type Querier, type Queryable } from '../interface.ts';
import { ChdbTransport } from './chdb.ts';
import { ClickHouseStorage } from './storage.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-pushdown-'));
const chdb = new ChdbTransport(dir);
let dbs = 0;
afterAll(async () => {
  await chdb.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A storage that always pushes down (no "is it worth it" estimate). */
const openForced = () =>
  ClickHouseStorage.open(chdb, { database: `pd${++dbs}`, pushdownMinSamplesPerStep: 0 });

/** Counts the pushdown calls that were answered, to prove the pushed-down path really ran. */
function counting(st: Queryable) {
  const calls = { range: 0, last: 0, raw: 0 };
  const q: Queryable = {
    querier(mint, maxt): Querier {
      const inner = st.querier(mint, maxt);
      return {
        mint,
        maxt,
        select: (m, h) => inner.select(m, h),
        series: (s) => inner.series(s),
        labelNames: (s) => inner.labelNames(s),
        labelValues: (n, s) => inner.labelValues(n, s),
        selectRange: async (fn, m, p) => {
          const r = await inner.selectRange!(fn, m, p);
          if (r) {
            calls.range++;
            calls.raw += r.raw.length;
          }
          return r;
        },
        selectLast: async (m, p) => {
          const r = await inner.selectLast!(m, p);
          if (r) calls.last++;
          return r;
        },
      };
    },
  };
  return { q, calls };
}

/** mulberry32: a small seeded generator, so the data is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const HOUR = 3_600_000;
const SPAN = 6 * HOUR;

interface Sample {
  labels: Labels;
  t: number;
  v: number;
}

/**
 * Counters with resets, gauges that go negative, NaN and infinities, jittered and sparse intervals, a gap longer
 * than the lookback, stale markers (mid-series and final), a late starter, and a retried (duplicated) write.
 */
function dataset(): Sample[][] {
  const r = rng(7);
  const out: Sample[] = [];
  const retried: Sample[] = [];
  for (let i = 0; i < 6; i++) {
    const labels = { __name__: 'pd_requests_total', job: i < 3 ? 'api' : 'web', instance: `i${i}` };
    let v = Math.floor(r() * 1000);
    const start = i === 5 ? T0 + 2 * HOUR : T0;
    for (let t = start; t < T0 + SPAN; t += 15_000) {
      const ts = t + (i === 1 ? Math.floor(r() * 4000) - 2000 : 0);
      if (i === 2 && ts > T0 + 3 * HOUR && ts < T0 + 3 * HOUR + 20 * 60_000) continue; // gap
      if (r() < 0.004)
        v = Math.floor(r() * 5); // counter reset
      else v += Math.floor(r() * 50);
      if (i === 3 && Math.abs(ts - (T0 + 4 * HOUR)) < 7_500) {
        out.push({ labels, t: ts, v: STALE_NAN });
        continue;
      }
      if (i === 4 && ts > T0 + 5 * HOUR) {
        out.push({ labels, t: ts, v: STALE_NAN });
        break;
      }
      out.push({ labels, t: ts, v });
      if (i === 0 && ts > T0 + HOUR && ts < T0 + HOUR + 10 * 60_000) retried.push({ labels, t: ts, v });
    }
  }
  for (let i = 0; i < 6; i++) {
    const labels = { __name__: 'pd_temperature', room: `r${i % 3}`, sensor: `s${i}` };
    let v = r() * 20 - 10;
    for (let t = T0 + 3_000; t < T0 + SPAN; t += 10_000) {
      v += r() * 2 - 1;
      let x = Math.round(v * 100) / 100;
      if (i === 4 && r() < 0.01) x = NaN;
      if (i === 5 && r() < 0.005) x = r() < 0.5 ? Infinity : -Infinity;
      out.push({ labels, t, v: x });
    }
  }
  for (let i = 0; i < 2; i++) {
    const labels = { __name__: 'pd_batch_size', kind: `k${i}` };
    for (let t = T0 + 37_000 * (i + 1); t < T0 + SPAN; t += 120_000)
      out.push({ labels, t, v: Math.floor(r() * 100) });
  }
  return [out, retried];
}

async function load(st: ClickHouseStorage, batches: Sample[][]): Promise<void> {
  for (const b of batches) {
    const app = st.appender();
    for (const s of b) app.append(s.labels, s.t, s.v);
    await app.commit();
  }
}

const METRICS = ['pd_requests_total', 'pd_temperature', 'pd_batch_size', '{__name__=~"pd_.*"}'];
const WINDOWS = ['1m', '5m', '7m30s', '1h'];
const STEPS = [15_000, 60_000, 300_000, 420_000, HOUR];
const MODIFIERS = ['', ' offset 17m', ` @ ${(T0 + 4 * HOUR) / 1000}`, ' @ end()', ' offset -5m'];
const WRAPPERS = ['%', 'sum by (job, room) (%)', 'max(%)', 'min by (instance) (%)', 'avg(%)', 'count(%)'];

/** A few hundred queries covering every pushed-down function with every window, step, modifier and wrapper. */
function queries(): { query: string; step?: number; at?: number }[] {
  const out: { query: string; step?: number; at?: number }[] = [];
  let k = 0;
  for (const fn of PUSHDOWN_FUNCTIONS)
    for (const w of WINDOWS)
      for (let j = 0; j < 2; j++) {
        const metric = METRICS[k % METRICS.length]!;
        const mod = MODIFIERS[(k >> 1) % MODIFIERS.length]!;
        const wrap = WRAPPERS[k % WRAPPERS.length]!;
        const call = `${fn}(${metric}[${w}]${mod})`;
        const query = wrap.replace('%', call);
        // Rates of names that do not look like counters raise an info that must match too.
        if (j === 0) out.push({ query, step: STEPS[k % STEPS.length]! });
        else out.push({ query, at: T0 + HOUR + ((k * 37_000) % (4 * HOUR)) });
        k++;
      }
  for (const metric of METRICS)
    for (const mod of MODIFIERS)
      for (const wrap of ['%', 'sum by (job) (%)', 'timestamp(%)']) {
        const query = wrap.replace('%', `${metric}${mod}`);
        out.push({ query, step: STEPS[k++ % STEPS.length]! });
        out.push({ query, at: T0 + 4 * HOUR + 10_000 * (k % 7) }); // some on sample timestamps
      }
  return out;
}

/**
 * Functions whose pushed-down values may differ from the engine's in the last bits: ClickHouse's irate
 * arithmetic runs in another order, sums add segment sums, and rate/increase add the reset corrections of a
 * segment with several resets in SQL's order (exact for whole-numbered counters, which must match bit for bit).
 * All others must agree bit for bit.
 */
const INEXACT = /\b(irate|sum_over_time|avg_over_time)\(|\b(rate|increase)\((?!pd_requests_total)/;

/** Same series, points, annotations; values bit-identical, or within 1e-12 relative for INEXACT functions. */
function compare(a: QueryResult, b: QueryResult, query: string): string[] {
  const problems: string[] = [];
  if (a.resultType !== b.resultType) return [`result types ${a.resultType} vs ${b.resultType}`];
  if (JSON.stringify(a.warnings) !== JSON.stringify(b.warnings)) problems.push('warnings differ');
  if (JSON.stringify(a.infos) !== JSON.stringify(b.infos)) problems.push('infos differ');
  const rows = (r: QueryResult): [string, [number, string][]][] =>
    r.resultType === 'matrix'
      ? r.result.map((s) => [JSON.stringify(s.metric), s.values])
      : r.resultType === 'vector'
        ? r.result.map((s) => [JSON.stringify(s.metric), [s.value]])
        : [];
  const ra = rows(a);
  const rb = rows(b);
  if (JSON.stringify(ra.map((x) => x[0])) !== JSON.stringify(rb.map((x) => x[0])))
    return [...problems, `series differ: ${ra.length} vs ${rb.length}`];
  const loose = INEXACT.test(query);
  ra.forEach(([metric, va], i) => {
    const vb = rb[i]![1];
    if (va.length !== vb.length) {
      problems.push(`${metric}: ${va.length} vs ${vb.length} points`);
      return;
    }
    va.forEach(([t, x], j) => {
      const [u, y] = vb[j]!;
      if (t !== u) problems.push(`${metric}: point ${j} at ${t} vs ${u}`);
      else if (x !== y) {
        const p = Number(x);
        const q = Number(y);
        const rel = Math.abs(p - q) / Math.max(Math.abs(p), Math.abs(q));
        if (!loose || !(rel <= 1e-12)) problems.push(`${metric} @${t}: ${x} vs ${y}`);
      }
    });
  });
  return problems;
}

describe('pushdown gives the same results as evaluating raw samples', () => {
  let st: ClickHouseStorage;
  beforeAll(async () => {
    st = await openForced();
    await load(st, dataset());
    // A series restored from an old backup has no counter flags: it must be evaluated from raw samples.
    const db = st.db;
    const id = '4242424242';
    await chdb.exec(
      `INSERT INTO ${db}.series (series_id, metric, labels) VALUES (${id}, 'pd_requests_total', {'__name__': 'pd_requests_total', 'job': 'restored'})`,
    );
    const rows = Array.from({ length: 1200 }, (_, i) => `(${id}, ${T0 + i * 15_000}, ${i % 500})`).join(',');
    await chdb.exec(`INSERT INTO ${db}.samples (series_id, ts, value) VALUES ${rows}`);
    await st.close();
    st = await ClickHouseStorage.open(chdb, { database: db, pushdownMinSamplesPerStep: 0 });
  });
  afterAll(async () => {
    await st?.close();
  });

  for (const windows of ['prometheus3', 'prometheus2'] as const) {
    it(`${windows} windows`, async () => {
      const on = new Engine({ windows, pushdown: true });
      const off = new Engine({ windows, pushdown: false });
      const { q, calls } = counting(st);
      const failures: string[] = [];
      for (const c of queries()) {
        const run = (e: Engine, target: Queryable) =>
          c.at !== undefined
            ? e.instantQuery(target, c.query, c.at, { stats: true })
            : e.rangeQuery(target, c.query, T0 + 10 * 60_000, T0 + SPAN + 30 * 60_000, c.step!, {
                stats: true,
              });
        const [a, b] = await Promise.all([run(on, q), run(off, st)]);
        const problems = compare(a, b, c.query);
        if (JSON.stringify(a.stats?.samples) !== JSON.stringify(b.stats?.samples))
          problems.push(`samples ${JSON.stringify(a.stats?.samples)} vs ${JSON.stringify(b.stats?.samples)}`);
        if (problems.length)
          failures.push(
            `${c.query} ${c.at !== undefined ? `@${c.at}` : `step ${c.step}`}: ${problems.slice(0, 3).join('; ')}`,
          );
      }
      expect(failures).toEqual([]);
      // The pushed-down paths ran (and series with NaN or infinities were handed back raw).
      expect(calls.range).toBeGreaterThan(100);
      expect(calls.last).toBeGreaterThan(20);
      if (windows === 'prometheus3') expect(calls.raw).toBeGreaterThan(0);
    });
  }
});

describe('rollups give the same results as raw samples for windows of whole buckets', () => {
  let st: ClickHouseStorage;
  /** Queries that read a rollup table. */
  let rollupReads = 0;
  const rollups = [
    { resolutionMs: 300_000, retentionMs: 0 },
    { resolutionMs: HOUR, retentionMs: 0 },
  ];
  const [history, retried] = dataset();
  beforeAll(async () => {
    // Data written before the rollups exist is backfilled; data written after goes through the views.
    const db = `pd${++dbs}`;
    const first = await ClickHouseStorage.open(chdb, { database: db });
    await load(first, [history!.filter((x) => x.t < T0 + 4 * HOUR)]);
    await first.close();
    const spy = Object.create(chdb) as ChdbTransport;
    spy.queryRowBinary = (sql: string, signal?: AbortSignal) => {
      if (sql.includes('.rollup_')) rollupReads++;
      return chdb.queryRowBinary(sql, signal);
    };
    st = await ClickHouseStorage.open(spy, { database: db, rollups });
    // Written long after their buckets closed: rolled up by repairs.
    await load(st, [history!.filter((x) => x.t >= T0 + 4 * HOUR), retried!]);
    await st.settleRollups();
  });
  afterAll(async () => {
    await st?.close();
  });

  const aligned = () => {
    const out: { query: string; step?: number; at?: number }[] = [];
    let k = 0;
    for (const fn of PUSHDOWN_FUNCTIONS) {
      if (fn === 'irate' || fn === 'idelta') continue;
      for (const w of ['5m', '10m', '1h', '2h']) {
        const metric = METRICS[k % METRICS.length]!;
        const wrap = WRAPPERS[k % WRAPPERS.length]!;
        const query = wrap.replace('%', `${fn}(${metric}[${w}])`);
        out.push({ query, step: [300_000, 600_000, HOUR][k % 3]! });
        out.push({ query, at: T0 + HOUR * (1 + (k % 5)) + 300_000 * (k % 3) });
        k++;
      }
    }
    for (const metric of METRICS)
      for (const wrap of ['%', 'sum by (job) (%)', 'timestamp(%)']) {
        out.push({ query: wrap.replace('%', metric), step: [300_000, HOUR][k++ % 2]! });
        out.push({ query: wrap.replace('%', metric), at: T0 + 5 * HOUR });
      }
    return out;
  };

  const compareAll = async () => {
    const on = new Engine({ pushdown: true });
    const off = new Engine({ pushdown: false });
    const failures: string[] = [];
    for (const c of aligned()) {
      const run = (e: Engine) =>
        c.at !== undefined
          ? e.instantQuery(st, c.query, c.at, { stats: true })
          : e.rangeQuery(st, c.query, T0 + HOUR, T0 + SPAN + HOUR, c.step!, { stats: true });
      const [a, b] = await Promise.all([run(on), run(off)]);
      const problems = compare(a, b, c.query);
      if (JSON.stringify(a.stats?.samples) !== JSON.stringify(b.stats?.samples))
        problems.push(`samples ${JSON.stringify(a.stats?.samples)} vs ${JSON.stringify(b.stats?.samples)}`);
      if (problems.length)
        failures.push(
          `${c.query} ${c.at !== undefined ? `@${c.at}` : `step ${c.step}`}: ${problems.slice(0, 3).join('; ')}`,
        );
    }
    return failures;
  };

  it('after backfill and late writes', async () => {
    rollupReads = 0;
    expect(await compareAll()).toEqual([]);
    expect(rollupReads).toBeGreaterThan(50);
  });

  it('after deleting samples', async () => {
    await st.deleteSeries(
      [[{ name: 'room', type: '=', value: 'r1' }], [{ name: 'instance', type: '=', value: 'i3' }]],
      T0 + 2 * HOUR + 123_000,
      T0 + 3 * HOUR + 77_000,
    );
    await st.settleRollups();
    expect(await compareAll()).toEqual([]);
  });
});

describe('rollups whose finer source keeps less history', () => {
  it('are backfilled from samples where the source has expired, and the source is not read past its retention', async () => {
    // T0 is months back: the 5 m rollup (kept a day) holds none of it, the 1 h rollup (kept forever) all of it.
    const db = `pd${++dbs}`;
    const first = await ClickHouseStorage.open(chdb, { database: db });
    await load(first, dataset());
    await first.close();
    const reads: string[] = [];
    const spy = Object.create(chdb) as ChdbTransport;
    spy.queryRowBinary = (sql: string, signal?: AbortSignal) => {
      const m = /\.(rollup_\d+s)/.exec(sql);
      if (m) reads.push(m[1]!);
      return chdb.queryRowBinary(sql, signal);
    };
    const st = await ClickHouseStorage.open(spy, {
      database: db,
      rollups: [
        { resolutionMs: 300_000, retentionMs: 86_400_000 },
        { resolutionMs: HOUR, retentionMs: 0 },
      ],
    });
    try {
      const on = new Engine({ pushdown: true });
      const off = new Engine({ pushdown: false });
      const failures: string[] = [];
      for (const [query, step] of [
        ['sum by (job) (rate(pd_requests_total[1h]))', HOUR],
        ['max_over_time(pd_temperature[2h])', HOUR],
        ['pd_batch_size', HOUR],
        ['increase(pd_requests_total[10m])', 600_000],
        ['pd_temperature', 300_000],
      ] as const) {
        const [a, b] = await Promise.all([
          on.rangeQuery(st, query, T0 + HOUR, T0 + SPAN, step),
          off.rangeQuery(st, query, T0 + HOUR, T0 + SPAN, step),
        ]);
        const problems = compare(a, b, query);
        if (problems.length) failures.push(`${query}: ${problems.slice(0, 3).join('; ')}`);
      }
      expect(failures).toEqual([]);
      expect(reads).toContain('rollup_3600s');
      expect(reads).not.toContain('rollup_300s');
    } finally {
      await st.close();
    }
  });
});

describe('rollups filled by their refreshing views', () => {
  it('give the same results as raw samples, and follow writes', async () => {
    let rollupReads = 0;
    const spy = Object.create(chdb) as ChdbTransport;
    spy.queryRowBinary = (sql: string, signal?: AbortSignal) => {
      if (sql.includes('.rollup_')) rollupReads++;
      return chdb.queryRowBinary(sql, signal);
    };
    // Seconds-long buckets with a short grace, so that real time closes them within the test.
    const st = await ClickHouseStorage.open(spy, {
      database: `pd${++dbs}`,
      rollups: [
        { resolutionMs: 2000, retentionMs: 0 },
        { resolutionMs: 10_000, retentionMs: 0 },
      ],
      rollupTiming: { refreshSeconds: 3600, graceMs: 300 },
    });
    try {
      const r = rng(3);
      const start = Math.ceil(Date.now() / 10_000) * 10_000 + 500;
      let v = 100;
      const app = st.appender();
      for (let t = start; t < start + 12_000; t += 97) {
        v = r() < 0.01 ? 1 : v + Math.floor(r() * 10);
        app.append({ __name__: 'fast_total', shard: String(t % 3) }, t, v);
        app.append({ __name__: 'fast_gauge' }, t, Math.round(r() * 1000) / 10);
      }
      await app.commit();
      while (Date.now() < start + 12_800) await new Promise((res) => setTimeout(res, 100));
      await st.settleRollups();
      const on = new Engine({ pushdown: true });
      const off = new Engine({ pushdown: false });
      const failures: string[] = [];
      const end = start - 500 + 12_000;
      for (const q of [
        'sum(rate(fast_total[2s]))',
        'increase(fast_total[10s])',
        'resets(fast_total[4s])',
        'max_over_time(fast_gauge[2s])',
        'count_over_time(fast_gauge[10s])',
        'avg_over_time(fast_gauge[4s])',
        'last_over_time(fast_gauge[2s])',
        'fast_gauge',
      ])
        for (const step of [2000, 10_000]) {
          const [a, b] = await Promise.all([
            on.rangeQuery(st, q, end - 10_000, end, step),
            off.rangeQuery(st, q, end - 10_000, end, step),
          ]);
          const problems = compare(a, b, q);
          if (problems.length) failures.push(`${q} step ${step}: ${problems.slice(0, 3).join('; ')}`);
        }
      expect(failures).toEqual([]);
      expect(rollupReads).toBeGreaterThan(8);
    } finally {
      await st.close();
    }
  });
});

/** Runs the engine's conformance scripts (src/query/promql/testdata) with engines `engine()` makes, on storages `open` makes. */
function conformanceScripts(
  title: string,
  engine: () => Engine,
  open: () => Promise<ClickHouseStorage>,
): void {
  describe(title, () => {
    const build: StorageBuilder = async (loads) => {
      const st = await open();
      const app = st.appender();
      for (const l of loads)
        for (const s of l.series)
          s.values.forEach((v, i) => {
            if (v !== undefined) app.append(s.labels, i * l.intervalMs, v === 'stale' ? STALE_NAN : v);
          });
      await app.commit();
      return st;
    };
    const testdata = join(import.meta.dirname, '../../query/promql/testdata');
    for (const file of readdirSync(testdata)
      .filter((f) => f.endsWith('.test'))
      .sort())
      describe(file, () => {
        for (const c of testCases(readFileSync(join(testdata, file), 'utf8'), file, engine(), build))
          it(c.name, () => c.run());
      });
  });
}

conformanceScripts('PromQL conformance scripts on chDB with pushdown', () => new Engine(), openForced);
// A head window reaching back centuries: every raw read is answered from memory, unless a series was written
// out of order (then from ClickHouse).
conformanceScripts(
  'PromQL conformance scripts on chDB with raw samples read from the head',
  () => new Engine({ pushdown: false }),
  () => ClickHouseStorage.open(chdb, { database: `pd${++dbs}`, headWindowMs: 1e13 }),
);
