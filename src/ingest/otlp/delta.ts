/**
 * Delta → cumulative conversion for OTLP sums and histograms, so delta-temporality senders produce ordinary
 * Prometheus counters/gauges/histograms.
 *
 * Each series (keyed by its canonical label key, `__name__` = family name) keeps its running total in memory.
 * A point is added to the total when it is newer than the last one seen; a point whose start time is earlier
 * than the series' start starts the total again (the producer restarted its aggregation); a point at or before
 * the last seen time is refused as out of order, because adding it again would double count.
 *
 * Limits, by design:
 * - State is per process and in memory: after a Vigil restart totals start again from the next delta, which
 *   PromQL sees as a counter reset (rate/increase handle it). Several Vigil nodes behind a load balancer each
 *   keep their own totals, so one delta series must always reach the same node.
 * - At most `maxSeries` series are tracked; the least recently updated are forgotten first (their next delta
 *   starts from zero again, again seen as a reset). Series idle for longer than `idleMs` are also forgotten.
 * - The total is updated when the request is parsed: if storing the request then fails and the sender retries,
 *   the retried deltas are refused as out of order rather than counted twice, so those increments are lost from
 *   the stored totals. Likewise a request refused as malformed part-way through has already added the points
 *   read before the fault.
 */

export interface DeltaOptions {
  /** Most series tracked at once. Default 200 000. */
  readonly maxSeries?: number;
  /** Series not updated for this long (ms, by point time) are forgotten. Default 1 hour. */
  readonly idleMs?: number;
}

interface NumberState {
  kind: 'number';
  start: number;
  last: number;
  total: number;
}

interface HistogramState {
  kind: 'histogram';
  start: number;
  last: number;
  count: number;
  sum: number;
  bounds: readonly number[];
  buckets: number[];
}

type State = NumberState | HistogramState;

/** Result of adding a delta: the new cumulative value, or why the point was refused. */
export type DeltaResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export interface CumulativeHistogram {
  readonly count: number;
  readonly sum: number;
  /** Per-bucket (not cumulative across `le`) counts, same layout as the input. */
  readonly buckets: readonly number[];
}

export class DeltaToCumulative {
  private readonly states = new Map<string, State>();
  private readonly maxSeries: number;
  private readonly idleMs: number;
  private newest = -Infinity;

  constructor(opts: DeltaOptions = {}) {
    this.maxSeries = opts.maxSeries ?? 200_000;
    this.idleMs = opts.idleMs ?? 60 * 60_000;
  }

  /** Number of series currently tracked. */
  get size(): number {
    return this.states.size;
  }

  /** Adds a delta sum point (start and time in ms) and returns the running total. */
  addNumber(key: string, start: number, time: number, value: number): DeltaResult<number> {
    const prev = this.states.get(key);
    if (prev && prev.kind === 'number' && start >= prev.start) {
      if (time <= prev.last) return outOfOrder(time, prev.last);
      prev.total += value;
      prev.last = time;
      this.touch(key, prev);
      return { ok: true, value: prev.total };
    }
    const s: NumberState = { kind: 'number', start, last: time, total: value };
    this.touch(key, s);
    return { ok: true, value };
  }

  /**
   * Adds a delta histogram point and returns the running totals. A change of bucket bounds starts the totals
   * again (a new aggregation), as does a start time before the series' start.
   */
  addHistogram(
    key: string,
    start: number,
    time: number,
    count: number,
    sum: number,
    bounds: readonly number[],
    buckets: readonly number[],
  ): DeltaResult<CumulativeHistogram> {
    const prev = this.states.get(key);
    if (prev && prev.kind === 'histogram' && start >= prev.start && sameBounds(prev.bounds, bounds)) {
      if (time <= prev.last) return outOfOrder(time, prev.last);
      prev.count += count;
      prev.sum += sum;
      for (let i = 0; i < buckets.length; i++) prev.buckets[i]! += buckets[i]!;
      prev.last = time;
      this.touch(key, prev);
      return { ok: true, value: { count: prev.count, sum: prev.sum, buckets: prev.buckets.slice() } };
    }
    const s: HistogramState = {
      kind: 'histogram',
      start,
      last: time,
      count,
      sum,
      bounds: bounds.slice(),
      buckets: buckets.slice(),
    };
    this.touch(key, s);
    return { ok: true, value: { count, sum, buckets: buckets.slice() } };
  }

  /** Forgets a series (its producer reported no recorded value: the series ended). */
  forget(key: string): void {
    this.states.delete(key);
  }

  private touch(key: string, s: State): void {
    // Re-inserting keeps the Map in least-recently-updated order, so eviction takes from the front.
    this.states.delete(key);
    this.states.set(key, s);
    if (s.last > this.newest) this.newest = s.last;
    while (this.states.size > this.maxSeries) this.evictOldest();
    const cutoff = this.newest - this.idleMs;
    for (;;) {
      const first = this.states.entries().next();
      if (first.done || first.value[1].last >= cutoff) break;
      this.states.delete(first.value[0]);
    }
  }

  private evictOldest(): void {
    const first = this.states.keys().next();
    if (!first.done) this.states.delete(first.value);
  }
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function outOfOrder(time: number, last: number): { ok: false; message: string } {
  return {
    ok: false,
    message: `delta point at ${new Date(time).toISOString()} is not after the last point of its series (${new Date(last).toISOString()}); refused so it is not counted twice`,
  };
}
