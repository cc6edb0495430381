/**
 * Writes span metrics to the metric storage on a timer: every series' cumulative values at each flush (so
 * series stay fresh for instant queries and rate() sees one sample per interval), plus the slowest span of
 * each bucket that received spans as an exemplar. A failed write loses nothing: counters are cumulative and
 * the next flush carries them; exemplars of a failed write are kept for the next flush.
 */
import type { Appender, MetricMetadata } from '../../store/interface.ts';
import type { ExemplarRecord, ExemplarStore } from '../../store/exemplars.ts';
import type { SpanRow } from '../model.ts';
import { CALLS_METRIC, DURATION_METRIC, type SpanMetricsAggregator } from './aggregate.ts';

export interface SpanMetricsFlusherDeps {
  readonly aggregator: SpanMetricsAggregator;
  /** Where samples go (the composition root passes the commit-signalling storage). */
  readonly storage: { appender(): Appender };
  /** Where exemplars go; none are kept when left out. */
  readonly exemplars?: Pick<ExemplarStore, 'append'>;
  readonly intervalMs: number;
  readonly log?: (msg: string) => void;
  /** Clock (ms), for tests. */
  readonly now?: () => number;
}

/** What a flush did. */
export type FlushOutcome =
  | { readonly status: 'empty' }
  | { readonly status: 'written'; readonly samples: number; readonly exemplars: number }
  | { readonly status: 'exemplars-failed'; readonly samples: number; readonly error: Error }
  | { readonly status: 'failed'; readonly error: Error };

const METADATA: [string, MetricMetadata][] = [
  [
    CALLS_METRIC,
    { type: 'counter', help: 'Spans stored, per service, span name, kind and status.', unit: '' },
  ],
  [
    DURATION_METRIC,
    { type: 'histogram', help: 'Span durations, per service, span name, kind and status.', unit: 'seconds' },
  ],
];

export class SpanMetricsFlusher {
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastT = -Infinity;
  private metadataWritten = false;
  private stopped = false;

  constructor(private readonly deps: SpanMetricsFlusherDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? (() => {});
  }

  /** The span ingest hook: counts spans that were just stored. Never throws. */
  readonly observe = (spans: readonly SpanRow[]): void => {
    if (this.stopped) return;
    try {
      this.deps.aggregator.observe(spans, this.now());
    } catch (err) {
      this.log(`span metrics: ${(err as Error).message}`);
    }
  };

  /** Flushes every `intervalMs` until `stop`. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.flush(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Writes the current values now; flushes never overlap (a call waits for the one in progress). */
  flush(): Promise<FlushOutcome> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run.catch(() => {});
    return run;
  }

  /** Stops the timer and writes a last time, so spans counted since the last flush are not lost. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    await this.flush();
  }

  private async flushOnce(): Promise<FlushOutcome> {
    const agg = this.deps.aggregator;
    if (agg.seriesCount === 0) return { status: 'empty' };
    // Strictly after the previous flush, whatever the clock does, so no series gets two values at one time.
    const t = Math.max(Math.floor(this.now()), this.lastT + 1);
    this.lastT = t;
    const batch = agg.collect(t);
    try {
      const app = this.deps.storage.appender();
      if (!this.metadataWritten) for (const [name, m] of METADATA) app.appendMetadata(name, m);
      for (const s of batch.samples) app.append(s.labels, s.t, s.v);
      await app.commit();
    } catch (err) {
      agg.restoreExemplars(batch);
      this.log(`span metrics: writing ${batch.samples.length} samples failed: ${(err as Error).message}`);
      return { status: 'failed', error: err as Error };
    }
    this.metadataWritten = true;
    agg.committed(batch);
    const store = this.deps.exemplars;
    if (!store || !batch.exemplars.length)
      return { status: 'written', samples: batch.samples.length, exemplars: 0 };
    const records: ExemplarRecord[] = batch.exemplars.map(({ seriesLabels, exemplar: e }) => ({
      seriesLabels,
      t: e.t,
      value: e.value,
      labels: { trace_id: e.traceId, span_id: e.spanId },
    }));
    try {
      await store.append(records);
    } catch (err) {
      agg.restoreExemplars(batch);
      this.log(`span metrics: writing ${records.length} exemplars failed: ${(err as Error).message}`);
      return { status: 'exemplars-failed', samples: batch.samples.length, error: err as Error };
    }
    return { status: 'written', samples: batch.samples.length, exemplars: records.length };
  }
}
