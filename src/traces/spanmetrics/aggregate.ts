/**
 * Span-derived RED metrics, aggregated in memory with no I/O, named and labelled like the OpenTelemetry
 * Collector's spanmetrics connector (namespace `traces.span.metrics`, duration unit seconds) after the OTLP to
 * Prometheus conversion:
 *
 *   traces_span_metrics_calls_total{service_name, span_name, span_kind, status_code}
 *   traces_span_metrics_duration_seconds_bucket{..., le} / _sum / _count
 *
 * Values are cumulative from the series' start, so rate() and increase() work across flushes; a series is
 * announced with a zero sample at its start (as Prometheus does for created timestamps), so the first spans
 * count in rate() too. Distinct series are bounded: beyond `maxSeries`, spans of new label sets go into one
 * overflow series labelled `otel_metric_overflow="true"` (the OpenTelemetry SDK's cardinality limit).
 * docs/tracing.md, "Span metrics".
 */
import { METRIC_NAME, STALE_NAN, type Labels } from '../../model/labels.ts';
import type { SpanKind, SpanRow, StatusCode } from '../model.ts';

export const CALLS_METRIC = 'traces_span_metrics_calls_total';
export const DURATION_METRIC = 'traces_span_metrics_duration_seconds';

/** The Collector's default buckets: 2ms 4ms 6ms 8ms 10ms 50ms 100ms 200ms 400ms 800ms 1s 1.4s 2s 5s 10s 15s. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15,
];

export const OVERFLOW_LABEL = 'otel_metric_overflow';

const KIND: Record<SpanKind, string> = {
  unspecified: 'SPAN_KIND_UNSPECIFIED',
  internal: 'SPAN_KIND_INTERNAL',
  server: 'SPAN_KIND_SERVER',
  client: 'SPAN_KIND_CLIENT',
  producer: 'SPAN_KIND_PRODUCER',
  consumer: 'SPAN_KIND_CONSUMER',
};

const STATUS: Record<StatusCode, string> = {
  unset: 'STATUS_CODE_UNSET',
  ok: 'STATUS_CODE_OK',
  error: 'STATUS_CODE_ERROR',
};

export interface SpanMetricsOptions {
  /** Upper bounds (seconds) of the duration buckets, strictly ascending, finite; +Inf is added. */
  readonly buckets?: readonly number[];
  /** Most distinct label sets before spans go into the overflow series. Default 10,000. */
  readonly maxSeries?: number;
  /** Labels added to every series (for example `job` and `instance`); must not clash with the span labels. */
  readonly constLabels?: Labels;
  /**
   * A label set without spans for this long (ms) is dropped at the next flush, its series ended with stale
   * markers; 0 (the default, as in the Collector) keeps label sets until a restart.
   */
  readonly expirationMs?: number;
}

/** The slowest span of one bucket since the last flush. */
export interface BucketExemplar {
  readonly traceId: string;
  readonly spanId: string;
  /** Duration in seconds. */
  readonly value: number;
  /** When the span ended, ms (never after the time it was observed). */
  readonly t: number;
}

interface Series {
  readonly key: string;
  /** Span labels and constant labels, without `__name__` and `le`. */
  readonly labels: Labels;
  /** When the series was created (ms): its counters count from here. */
  readonly startMs: number;
  /** When it last received a span (ms). */
  lastMs: number;
  calls: number;
  sum: number;
  /** Per-bucket counts (not cumulative); the last entry is the +Inf bucket. */
  readonly counts: Float64Array;
  /** Pending exemplar per bucket, drained at each flush. */
  readonly exemplars: (BucketExemplar | undefined)[];
  /** Whether the zero sample at startMs has been written. */
  announced: boolean;
}

export interface Sample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

export interface ExemplarOut {
  /** Labels of the bucket series (with `__name__` and `le`). */
  readonly seriesLabels: Labels;
  readonly exemplar: BucketExemplar;
}

/**
 * What one flush writes. Hand it back with `committed` once its samples are stored, and with
 * `restoreExemplars` when its exemplars were not (counters need nothing on failure: they are cumulative).
 */
export interface FlushBatch {
  readonly t: number;
  readonly samples: Sample[];
  readonly exemplars: ExemplarOut[];
  /** Series announced by this batch's zero samples. */
  readonly announcing: readonly object[];
  /** Per exemplar, its series and bucket, to give it back on failure. */
  readonly exemplarOrigins: readonly { series: object; bucket: number }[];
}

function formatBound(b: number): string {
  return b === Infinity ? '+Inf' : String(b);
}

/** Aggregates spans into RED series. Single-threaded; `observe` and `collect` never do I/O. */
export class SpanMetricsAggregator {
  readonly buckets: readonly number[];
  private readonly les: readonly string[];
  readonly maxSeries: number;
  private readonly expirationMs: number;
  private readonly constLabels: Labels;
  /** Time of the latest collect: a series created afterwards starts strictly later. */
  private lastCollectMs = -Infinity;
  private readonly series = new Map<string, Series>();
  private overflow: Series | undefined;
  private spansSeen = 0;

  constructor(opts: SpanMetricsOptions = {}) {
    const buckets = opts.buckets ?? DEFAULT_BUCKETS;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      if (!Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))
        throw new RangeError(`span metrics: bucket ${i} (${b}) must be finite and above the one before`);
    }
    this.buckets = [...buckets];
    this.les = [...buckets.map(formatBound), '+Inf'];
    this.maxSeries = opts.maxSeries ?? 10_000;
    if (!(this.maxSeries >= 1)) throw new RangeError('span metrics: maxSeries must be at least 1');
    this.expirationMs = opts.expirationMs ?? 0;
    if (!(this.expirationMs >= 0)) throw new RangeError('span metrics: expirationMs must not be negative');
    this.constLabels = { ...(opts.constLabels ?? {}) };
    for (const n of [
      'service_name',
      'span_name',
      'span_kind',
      'status_code',
      'le',
      METRIC_NAME,
      OVERFLOW_LABEL,
    ])
      if (n in this.constLabels)
        throw new RangeError(`span metrics: constant label ${n} clashes with a span label`);
  }

  /** Distinct label sets held, the overflow series included. */
  get seriesCount(): number {
    return this.series.size + (this.overflow ? 1 : 0);
  }

  /** Spans observed since creation. */
  get observed(): number {
    return this.spansSeen;
  }

  /** Adds spans observed at `nowMs`. */
  observe(spans: readonly SpanRow[], nowMs: number): void {
    for (const s of spans) {
      const kind = KIND[s.kind] ?? KIND.unspecified;
      const status = STATUS[s.statusCode] ?? STATUS.unset;
      const key = `${s.service}\u0000${s.name}\u0000${kind}\u0000${status}`;
      let series = this.series.get(key);
      if (!series) {
        if (this.series.size >= this.maxSeries) series = this.overflowSeries(nowMs);
        else {
          series = this.newSeries(
            key,
            {
              service_name: s.service,
              span_name: s.name,
              span_kind: kind,
              status_code: status,
              ...this.constLabels,
            },
            nowMs,
          );
          this.series.set(key, series);
        }
      }
      const ns = s.endNs - s.startNs;
      const seconds = ns > 0n ? Number(ns) / 1e9 : 0;
      const b = this.bucketOf(seconds);
      series.calls++;
      series.lastMs = nowMs;
      series.sum += seconds;
      series.counts[b]!++;
      const prev = series.exemplars[b];
      if (!prev || seconds >= prev.value) {
        const end = Number(s.endNs / 1_000_000n);
        series.exemplars[b] = {
          traceId: s.traceId,
          spanId: s.spanId,
          value: seconds,
          t: Math.min(end, nowMs),
        };
      }
      this.spansSeen++;
    }
  }

  /**
   * Every series' cumulative values at `nowMs` (later than any earlier flush), the zero samples of series
   * not yet announced, and the exemplars gathered since the last flush (taken out; see FlushBatch).
   */
  collect(nowMs: number): FlushBatch {
    const samples: Sample[] = [];
    const exemplars: ExemplarOut[] = [];
    const origins: { series: object; bucket: number }[] = [];
    const announcing: object[] = [];
    this.lastCollectMs = Math.max(this.lastCollectMs, nowMs);
    const all = this.overflow ? [...this.series.values(), this.overflow] : [...this.series.values()];
    for (const s of all) {
      if (this.expirationMs > 0 && s.lastMs < nowMs - this.expirationMs) {
        this.expire(s, nowMs, samples);
        continue;
      }
      // Announced once: a zero sample at the start, unless the start is this very millisecond.
      const zero = !s.announced && s.startMs < nowMs;
      if (!s.announced) announcing.push(s);
      const emit = (labels: Labels, v: number) => {
        if (zero) samples.push({ labels, t: s.startMs, v: 0 });
        samples.push({ labels, t: nowMs, v });
      };
      emit({ [METRIC_NAME]: CALLS_METRIC, ...s.labels }, s.calls);
      let cumulative = 0;
      for (let b = 0; b < this.les.length; b++) {
        cumulative += s.counts[b]!;
        const labels = { [METRIC_NAME]: `${DURATION_METRIC}_bucket`, ...s.labels, le: this.les[b]! };
        emit(labels, cumulative);
        const ex = s.exemplars[b];
        if (ex) {
          exemplars.push({ seriesLabels: labels, exemplar: ex });
          origins.push({ series: s, bucket: b });
          s.exemplars[b] = undefined;
        }
      }
      emit({ [METRIC_NAME]: `${DURATION_METRIC}_sum`, ...s.labels }, s.sum);
      emit({ [METRIC_NAME]: `${DURATION_METRIC}_count`, ...s.labels }, s.calls);
    }
    return { t: nowMs, samples, exemplars, announcing, exemplarOrigins: origins };
  }

  /** The batch was stored: its series are announced. */
  committed(batch: FlushBatch): void {
    for (const s of batch.announcing) (s as Series).announced = true;
  }

  /**
   * The batch's exemplars were not stored (whether or not its samples were): they go back, unless a slower
   * span took their bucket meanwhile.
   */
  restoreExemplars(batch: FlushBatch): void {
    batch.exemplarOrigins.forEach((o, i) => {
      const s = o.series as Series;
      const ex = batch.exemplars[i]!.exemplar;
      const now = s.exemplars[o.bucket];
      if (!now || ex.value > now.value) s.exemplars[o.bucket] = ex;
    });
  }

  /** Index of the bucket holding `v`: the first upper bound at or above it (+Inf last). */
  private bucketOf(v: number): number {
    let lo = 0;
    let hi = this.buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.buckets[mid]! >= v) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Drops a label set, ending its series with stale markers when they were ever written. */
  private expire(s: Series, nowMs: number, out: Sample[]): void {
    if (s === this.overflow) this.overflow = undefined;
    else this.series.delete(s.key);
    if (!s.announced) return;
    out.push({ labels: { [METRIC_NAME]: CALLS_METRIC, ...s.labels }, t: nowMs, v: STALE_NAN });
    for (const le of this.les)
      out.push({
        labels: { [METRIC_NAME]: `${DURATION_METRIC}_bucket`, ...s.labels, le },
        t: nowMs,
        v: STALE_NAN,
      });
    out.push({ labels: { [METRIC_NAME]: `${DURATION_METRIC}_sum`, ...s.labels }, t: nowMs, v: STALE_NAN });
    out.push({ labels: { [METRIC_NAME]: `${DURATION_METRIC}_count`, ...s.labels }, t: nowMs, v: STALE_NAN });
  }

  private newSeries(key: string, labels: Labels, nowMs: number): Series {
    // Never at or before the last flush, whose samples (or stale markers) a zero sample would collide with.
    const startMs = Math.max(nowMs, this.lastCollectMs + 1);
    return {
      key,
      labels,
      startMs,
      lastMs: nowMs,
      calls: 0,
      sum: 0,
      counts: new Float64Array(this.les.length),
      exemplars: new Array(this.les.length).fill(undefined),
      announced: false,
    };
  }

  private overflowSeries(nowMs: number): Series {
    this.overflow ??= this.newSeries('', { ...this.constLabels, [OVERFLOW_LABEL]: 'true' }, nowMs);
    return this.overflow;
  }
}
