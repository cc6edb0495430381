import { describe, expect, it } from 'vitest';
import { isStaleNaN, type Labels } from '../../model/labels.ts';
import type { SpanRow } from '../model.ts';
import { span } from '../store.cases.ts';
import { DEFAULT_BUCKETS, SpanMetricsAggregator, type Sample } from './aggregate.ts';

const MS = 1_000_000n;
const T = 1_700_000_000_000;

/** A span of `ms` milliseconds ending at T (ns times), with overrides. */
function spanOf(ms: number, over: Partial<SpanRow> = {}): SpanRow {
  const end = BigInt(T) * MS;
  return span({ startNs: end - BigInt(Math.round(ms * 1e6)), endNs: end, ...over });
}

/** Samples at time t as `name{labels} -> value` for compact comparison. */
function at(
  samples: Sample[],
  t: number,
  filter: (l: Labels) => boolean = () => true,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.t !== t || !filter(s.labels)) continue;
    out[key(s.labels)] = s.v;
  }
  return out;
}

/** `name{a=1,b=2}` with label names sorted. */
function key(labels: Labels): string {
  const { __name__, ...rest } = labels;
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${rest[k]}`);
  return `${__name__}{${pairs.join(',')}}`;
}

describe('SpanMetricsAggregator', () => {
  it('counts calls and fills duration buckets per service, span name, kind and status', () => {
    const agg = new SpanMetricsAggregator({
      buckets: [0.01, 0.1],
      constLabels: { job: 'vigil-spanmetrics' },
    });
    agg.observe(
      [
        spanOf(5),
        spanOf(10), // on the bound: le is inclusive
        spanOf(50),
        spanOf(2000, { statusCode: 'error' }),
        spanOf(1, { kind: 'client', name: 'SELECT' }),
      ],
      T,
    );
    expect(agg.seriesCount).toBe(3);
    const b = agg.collect(T + 1000);
    const ok = (l: Labels) => l.status_code === 'STATUS_CODE_UNSET' && l.span_kind === 'SPAN_KIND_SERVER';
    const dims = {
      job: 'vigil-spanmetrics',
      service_name: 'frontend',
      span_kind: 'SPAN_KIND_SERVER',
      span_name: 'GET /cart',
      status_code: 'STATUS_CODE_UNSET',
    };
    const k = (name: string, extra: Labels = {}) => key({ __name__: name, ...dims, ...extra });
    expect(at(b.samples, T + 1000, ok)).toEqual({
      [k('traces_span_metrics_calls_total')]: 3,
      [k('traces_span_metrics_duration_seconds_bucket', { le: '0.01' })]: 2,
      [k('traces_span_metrics_duration_seconds_bucket', { le: '0.1' })]: 3,
      [k('traces_span_metrics_duration_seconds_bucket', { le: '+Inf' })]: 3,
      [k('traces_span_metrics_duration_seconds_sum')]: 0.005 + 0.01 + 0.05,
      [k('traces_span_metrics_duration_seconds_count')]: 3,
    });
    const errors = at(b.samples, T + 1000, (l) => l.status_code === 'STATUS_CODE_ERROR');
    const err = { status_code: 'STATUS_CODE_ERROR' };
    expect(errors[k('traces_span_metrics_calls_total', err)]).toBe(1);
    expect(errors[k('traces_span_metrics_duration_seconds_bucket', { ...err, le: '0.1' })]).toBe(0);
    expect(errors[k('traces_span_metrics_duration_seconds_bucket', { ...err, le: '+Inf' })]).toBe(1);
    const client = at(b.samples, T + 1000, (l) => l.span_kind === 'SPAN_KIND_CLIENT');
    expect(
      client[k('traces_span_metrics_calls_total', { span_kind: 'SPAN_KIND_CLIENT', span_name: 'SELECT' })],
    ).toBe(1);
  });

  it('uses the Collector default buckets from 2 ms to 15 s and maps every kind and status', () => {
    expect(DEFAULT_BUCKETS[0]).toBe(0.002);
    expect(DEFAULT_BUCKETS.at(-1)).toBe(15);
    const agg = new SpanMetricsAggregator();
    const kinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
    const statuses = ['unset', 'ok', 'error'] as const;
    for (const kind of kinds)
      for (const statusCode of statuses) agg.observe([spanOf(3, { kind, statusCode })], T);
    const calls = agg
      .collect(T + 1)
      .samples.filter((s) => s.labels.__name__ === 'traces_span_metrics_calls_total');
    expect(new Set(calls.map((s) => s.labels.span_kind))).toEqual(
      new Set(kinds.map((k) => `SPAN_KIND_${k.toUpperCase()}`)),
    );
    expect(new Set(calls.map((s) => s.labels.status_code))).toEqual(
      new Set(['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR']),
    );
    const les = agg
      .collect(T + 2)
      .samples.filter(
        (s) =>
          s.t === T + 2 &&
          s.labels.__name__?.endsWith('_bucket') &&
          s.labels.span_kind === 'SPAN_KIND_SERVER' &&
          s.labels.status_code === 'STATUS_CODE_OK',
      )
      .map((s) => [s.labels.le, s.v]);
    expect(les).toEqual([
      ['0.002', 0],
      ['0.004', 1],
      ['0.006', 1],
      ['0.008', 1],
      ['0.01', 1],
      ['0.05', 1],
      ['0.1', 1],
      ['0.2', 1],
      ['0.4', 1],
      ['0.8', 1],
      ['1', 1],
      ['1.4', 1],
      ['2', 1],
      ['5', 1],
      ['10', 1],
      ['15', 1],
      ['+Inf', 1],
    ]);
  });

  it('stays cumulative across flushes and announces each series once with a zero at its start', () => {
    const agg = new SpanMetricsAggregator({ buckets: [1] });
    agg.observe([spanOf(5), spanOf(5)], T);
    const b1 = agg.collect(T + 15_000);
    const calls = (b: { samples: Sample[] }) =>
      b.samples.filter((s) => s.labels.__name__ === 'traces_span_metrics_calls_total').map((s) => [s.t, s.v]);
    expect(calls(b1)).toEqual([
      [T, 0],
      [T + 15_000, 2],
    ]);
    agg.committed(b1);
    agg.observe([spanOf(5)], T + 20_000);
    const b2 = agg.collect(T + 30_000);
    expect(calls(b2)).toEqual([[T + 30_000, 3]]);
    agg.committed(b2);
    // Nothing new: the series is still written, unchanged, so it does not go stale.
    expect(calls(agg.collect(T + 45_000))).toEqual([[T + 45_000, 3]]);
  });

  it('writes the zero sample again when the batch announcing it was not stored', () => {
    const agg = new SpanMetricsAggregator({ buckets: [1] });
    agg.observe([spanOf(5)], T);
    agg.collect(T + 15_000); // never committed
    const b = agg.collect(T + 30_000);
    expect(b.samples.filter((s) => s.t === T).length).toBe(1 + 2 + 2);
  });

  it('keeps the slowest span of each bucket as its exemplar until the next flush', () => {
    const agg = new SpanMetricsAggregator({ buckets: [0.01, 0.1] });
    const tid = (n: number) => n.toString(16).padStart(32, '0');
    agg.observe(
      [
        spanOf(3, { traceId: tid(1), spanId: '1'.repeat(16) }),
        spanOf(7, { traceId: tid(2), spanId: '2'.repeat(16) }),
        spanOf(4, { traceId: tid(3), spanId: '3'.repeat(16) }),
        spanOf(500, { traceId: tid(4), spanId: '4'.repeat(16) }),
      ],
      T + 5,
    );
    const b = agg.collect(T + 1000);
    expect(b.exemplars.map((e) => [e.seriesLabels.le, e.exemplar])).toEqual([
      ['0.01', { traceId: tid(2), spanId: '2'.repeat(16), value: 0.007, t: T }],
      ['+Inf', { traceId: tid(4), spanId: '4'.repeat(16), value: 0.5, t: T }],
    ]);
    expect(b.exemplars[0]!.seriesLabels.__name__).toBe('traces_span_metrics_duration_seconds_bucket');
    agg.committed(b);
    expect(agg.collect(T + 2000).exemplars).toEqual([]);
  });

  it('gives exemplars of a failed write back unless a slower span has taken the bucket since', () => {
    const agg = new SpanMetricsAggregator({ buckets: [0.01, 0.1] });
    agg.observe([spanOf(5, { spanId: 'a'.repeat(16) }), spanOf(50, { spanId: 'b'.repeat(16) })], T);
    const failed = agg.collect(T + 1000);
    agg.observe([spanOf(8, { spanId: 'c'.repeat(16) }), spanOf(20, { spanId: 'd'.repeat(16) })], T + 1500);
    agg.restoreExemplars(failed);
    const b = agg.collect(T + 2000);
    expect(b.exemplars.map((e) => [e.seriesLabels.le, e.exemplar.spanId])).toEqual([
      ['0.01', 'c'.repeat(16)],
      ['0.1', 'b'.repeat(16)],
    ]);
  });

  it('clamps exemplar times to the time the span was seen and counts zero or negative durations as 0', () => {
    const agg = new SpanMetricsAggregator({ buckets: [0.01] });
    const end = BigInt(T + 60_000) * MS;
    agg.observe([span({ startNs: end, endNs: end })], T);
    const b = agg.collect(T + 1);
    expect(b.exemplars[0]!.exemplar).toMatchObject({ value: 0, t: T });
  });

  it('puts new label sets beyond the limit into one overflow series, keeping totals right', () => {
    const agg = new SpanMetricsAggregator({ buckets: [1], maxSeries: 2, constLabels: { job: 'j' } });
    agg.observe([spanOf(5, { name: 'a' }), spanOf(5, { name: 'b' })], T);
    agg.observe(
      [spanOf(5, { name: 'c' }), spanOf(5, { name: 'd', statusCode: 'error' }), spanOf(5, { name: 'a' })],
      T,
    );
    expect(agg.seriesCount).toBe(3);
    const calls = agg
      .collect(T + 1)
      .samples.filter((s) => s.t === T + 1 && s.labels.__name__ === 'traces_span_metrics_calls_total');
    expect(calls.map((s) => [s.labels, s.v])).toEqual([
      [expect.objectContaining({ span_name: 'a' }), 2],
      [expect.objectContaining({ span_name: 'b' }), 1],
      [{ __name__: 'traces_span_metrics_calls_total', job: 'j', otel_metric_overflow: 'true' }, 2],
    ]);
  });

  it('refuses bad options', () => {
    expect(() => new SpanMetricsAggregator({ buckets: [1, 1] })).toThrow(/bucket 1 \(1\) must be finite/);
    expect(() => new SpanMetricsAggregator({ buckets: [Infinity] })).toThrow(/bucket 0/);
    expect(() => new SpanMetricsAggregator({ maxSeries: 0 })).toThrow(/maxSeries/);
    expect(() => new SpanMetricsAggregator({ constLabels: { le: 'x' } })).toThrow(/le clashes/);
  });
});

describe('SpanMetricsAggregator expiration', () => {
  it('drops label sets without spans for the expiration time, ending their series with stale markers', () => {
    const agg = new SpanMetricsAggregator({ buckets: [1], expirationMs: 60_000 });
    agg.observe([spanOf(5, { name: 'old' }), spanOf(5, { name: 'kept' })], T);
    agg.committed(agg.collect(T + 15_000));
    agg.observe([spanOf(5, { name: 'kept' })], T + 50_000);
    const b = agg.collect(T + 61_000);
    const old = b.samples.filter((s) => s.labels.span_name === 'old');
    expect(old).toHaveLength(1 + 2 + 2);
    expect(old.every((s) => s.t === T + 61_000 && isStaleNaN(s.v))).toBe(true);
    expect(b.samples.filter((s) => s.labels.span_name === 'kept').every((s) => !Number.isNaN(s.v))).toBe(
      true,
    );
    expect(agg.seriesCount).toBe(1);
    // Spans of the dropped label set start it again from zero, strictly after the stale markers.
    agg.observe([spanOf(5, { name: 'old' })], T + 61_000);
    const again = agg
      .collect(T + 75_000)
      .samples.filter(
        (s) => s.labels.span_name === 'old' && s.labels.__name__ === 'traces_span_metrics_calls_total',
      );
    expect(again.map((s) => [s.t, s.v])).toEqual([
      [T + 61_001, 0],
      [T + 75_000, 1],
    ]);
  });

  it('frees room under the limit and drops a never-written label set without markers', () => {
    const agg = new SpanMetricsAggregator({ buckets: [1], maxSeries: 1, expirationMs: 1000 });
    agg.observe([spanOf(5, { name: 'a' })], T);
    expect(agg.collect(T + 5000).samples).toEqual([]);
    agg.observe([spanOf(5, { name: 'b' })], T + 6000);
    const names = agg.collect(T + 6500).samples.map((s) => s.labels.span_name ?? 'overflow');
    expect(new Set(names)).toEqual(new Set(['b']));
  });
});
