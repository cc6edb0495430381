import { describe, expect, it } from 'vitest';
import { Engine } from '../../query/promql/index.ts';
import { MemoryExemplarStore } from '../../store/exemplars.memory.ts';
import { MemoryStorage } from '../../store/memory.ts';
import type { Appender } from '../../store/interface.ts';
import type { SpanRow } from '../model.ts';
import { span } from '../store.cases.ts';
import { SpanMetricsAggregator } from './aggregate.ts';
import { SpanMetricsFlusher } from './flush.ts';

const MS = 1_000_000n;
const T = 1_700_000_000_000;

function spanOf(ms: number, endMs: number, over: Partial<SpanRow> = {}): SpanRow {
  const end = BigInt(endMs) * MS;
  return span({ startNs: end - BigInt(ms) * MS, endNs: end, ...over });
}

/** A flusher on memory stores with a hand-driven clock. */
function setup(opts: { storage?: MemoryStorage } = {}) {
  let now = T;
  const storage = opts.storage ?? new MemoryStorage();
  const exemplars = new MemoryExemplarStore();
  const logs: string[] = [];
  const aggregator = new SpanMetricsAggregator({
    constLabels: { job: 'vigil-spanmetrics', instance: 'test' },
  });
  const flusher = new SpanMetricsFlusher({
    aggregator,
    storage,
    exemplars,
    intervalMs: 15_000,
    now: () => now,
    log: (m) => logs.push(m),
  });
  return {
    storage,
    exemplars,
    flusher,
    aggregator,
    logs,
    setNow: (t: number) => (now = t),
  };
}

const engine = new Engine({ maxSamples: 1_000_000 });
async function scalarAt(storage: MemoryStorage, query: string, t: number): Promise<Record<string, number>> {
  const res = await engine.instantQuery(storage, query, t);
  if (res.resultType !== 'vector') throw new Error(`unexpected ${res.resultType}`);
  return Object.fromEntries(
    res.result.map((r) => [r.metric.service_name ?? r.metric.span_name ?? '', Number(r.value[1])]),
  );
}

/** Appender that fails on commit a given number of times, else writes to `inner`. */
class FlakyStorage extends MemoryStorage {
  failures = 0;
  override appender(): Appender {
    const inner = super.appender();
    return {
      append: (l, t, v) => inner.append(l, t, v),
      appendMetadata: (m, meta) => inner.appendMetadata(m, meta),
      get count() {
        return inner.count;
      },
      commit: async () => {
        if (this.failures > 0) {
          this.failures--;
          inner.rollback();
          throw new Error('disk full');
        }
        await inner.commit();
      },
      rollback: () => inner.rollback(),
    };
  }
}

describe('SpanMetricsFlusher', () => {
  it('writes nothing before the first span', async () => {
    const { flusher, storage } = setup();
    expect(await flusher.flush()).toEqual({ status: 'empty' });
    expect(storage.metricNames()).toEqual([]);
  });

  it('writes cumulative series that rate(), increase() and histogram_quantile() answer across flushes', async () => {
    const { flusher, storage, setNow } = setup();
    setNow(T);
    flusher.observe([spanOf(5, T), spanOf(5, T), spanOf(300, T, { statusCode: 'error' })]);
    setNow(T + 15_000);
    expect(await flusher.flush()).toMatchObject({ status: 'written', exemplars: 2 });
    flusher.observe([spanOf(5, T + 20_000), spanOf(3000, T + 20_000, { service: 'db' })]);
    setNow(T + 30_000);
    expect(await flusher.flush()).toMatchObject({ status: 'written' });
    setNow(T + 45_000);
    await flusher.flush();

    expect(storage.metricNames()).toEqual([
      'traces_span_metrics_calls_total',
      'traces_span_metrics_duration_seconds_bucket',
      'traces_span_metrics_duration_seconds_count',
      'traces_span_metrics_duration_seconds_sum',
    ]);
    // Every span is counted by increase() over a window covering all flushes, the first ones included: the
    // zero sample at each series' start keeps extrapolation from adding or losing anything.
    expect(
      await scalarAt(
        storage,
        'sum by (service_name) (increase(traces_span_metrics_calls_total[1m]))',
        T + 45_000,
      ),
    ).toEqual({ frontend: 4, db: 1 });
    const errors = await scalarAt(
      storage,
      'sum by (service_name) (traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"})',
      T + 45_000,
    );
    expect(errors).toEqual({ frontend: 1 });
    const p50 = await scalarAt(
      storage,
      'histogram_quantile(0.5, sum by (le, service_name) (traces_span_metrics_duration_seconds_bucket))',
      T + 45_000,
    );
    expect(p50.frontend).toBeGreaterThan(0.004);
    expect(p50.frontend).toBeLessThanOrEqual(0.006);
    expect(p50.db).toBeGreaterThan(2);
    expect(p50.db).toBeLessThanOrEqual(5);
    expect(await storage.metadata('traces_span_metrics_duration_seconds')).toEqual(
      new Map([
        [
          'traces_span_metrics_duration_seconds',
          [{ type: 'histogram', help: expect.any(String), unit: 'seconds' }],
        ],
      ]),
    );
  });

  it('stores the slowest span per bucket as an exemplar on the bucket series', async () => {
    const { flusher, exemplars, setNow } = setup();
    const tid = (n: number) => n.toString(16).padStart(32, '0');
    flusher.observe([
      spanOf(30, T - 100, { traceId: tid(1) }),
      spanOf(45, T - 50, { traceId: tid(2) }),
      spanOf(1200, T - 10, { traceId: tid(3) }),
    ]);
    setNow(T + 15_000);
    await flusher.flush();
    const got = await exemplars.select(T - 60_000, T + 60_000, [
      [{ name: '__name__', type: '=', value: 'traces_span_metrics_duration_seconds_bucket' }],
    ]);
    expect(got.series.map((s) => [s.seriesLabels.le, s.exemplars])).toEqual([
      ['0.05', [{ labels: { span_id: 'b7ad6b7169203331', trace_id: tid(2) }, value: 0.045, t: T - 50 }]],
      ['1.4', [{ labels: { span_id: 'b7ad6b7169203331', trace_id: tid(3) }, value: 1.2, t: T - 10 }]],
    ]);
    expect(got.series[0]!.seriesLabels).toMatchObject({ job: 'vigil-spanmetrics', service_name: 'frontend' });
  });

  it('loses no counts when a write fails: the next flush carries the totals and the exemplars', async () => {
    const storage = new FlakyStorage();
    const { flusher, exemplars, setNow, logs } = setup({ storage });
    flusher.observe([spanOf(5, T), spanOf(7, T)]);
    storage.failures = 1;
    setNow(T + 15_000);
    expect(await flusher.flush()).toMatchObject({ status: 'failed', error: { message: 'disk full' } });
    expect(logs[0]).toMatch(/span metrics: writing \d+ samples failed: disk full/);
    expect(storage.metricNames()).toEqual([]);
    setNow(T + 30_000);
    expect(await flusher.flush()).toMatchObject({ status: 'written', exemplars: 2 });
    const sel = await storage
      .querier(0, T + 60_000)
      .select([{ name: '__name__', type: '=', value: 'traces_span_metrics_calls_total' }]);
    expect([...sel[0]!.t]).toEqual([T, T + 30_000]);
    expect([...sel[0]!.v]).toEqual([0, 2]);
    const ex = await exemplars.select(0, T + 60_000, [[{ name: 'le', type: '=', value: '0.008' }]]);
    expect(ex.series[0]!.exemplars[0]!.value).toBe(0.007);
  });

  it('keeps exemplars for the next flush when only their write fails', async () => {
    const { flusher, exemplars, setNow } = setup();
    flusher.observe([spanOf(5, T)]);
    exemplars.failNextAppend = new Error('exemplar table gone');
    setNow(T + 15_000);
    expect(await flusher.flush()).toMatchObject({
      status: 'exemplars-failed',
      error: { message: 'exemplar table gone' },
    });
    setNow(T + 30_000);
    expect(await flusher.flush()).toMatchObject({ status: 'written', exemplars: 1 });
  });

  it('never writes two values of a series at one time, even when the clock stands still or goes back', async () => {
    const { flusher, storage, setNow } = setup();
    setNow(T);
    flusher.observe([spanOf(5, T)]);
    await Promise.all([flusher.flush(), flusher.flush()]);
    setNow(T - 5000);
    await flusher.flush();
    const sel = await storage
      .querier(0, T + 60_000)
      .select([{ name: '__name__', type: '=', value: 'traces_span_metrics_calls_total' }]);
    expect([...sel[0]!.t]).toEqual([T, T + 1, T + 2]);
  });

  it('flushes on its timer and once more when stopped; spans after stop are ignored', async () => {
    const storage = new MemoryStorage();
    const flusher = new SpanMetricsFlusher({
      aggregator: new SpanMetricsAggregator(),
      storage,
      intervalMs: 20,
    });
    flusher.start();
    flusher.observe([spanOf(5, Date.now())]);
    const calls = async () =>
      (
        await storage
          .querier(0, Date.now() + 60_000)
          .select([{ name: '__name__', type: '=', value: 'traces_span_metrics_calls_total' }])
      )[0]?.t.length ?? 0;
    while ((await calls()) < 3) await new Promise((r) => setTimeout(r, 10));
    await flusher.stop();
    const n = await calls();
    flusher.observe([spanOf(5, Date.now())]);
    await new Promise((r) => setTimeout(r, 60));
    expect(await calls()).toBe(n);
  });
});
