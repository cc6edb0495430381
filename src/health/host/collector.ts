/**
 * Appends host metrics to storage on a fixed interval, as if Vigil scraped a node_exporter on its own host
 * (job "node" by default). Series that disappear (an unmounted file system, a removed interface) get a stale
 * marker, as after a Prometheus scrape, so graphs end at once instead of lingering for the lookback window.
 */
import { METRIC_NAME, STALE_NAN, labelsKey, type Labels } from '../../model/labels.ts';
import type { Storage } from '../../store/interface.ts';
import { collectHost, type HostCollectOptions } from './collect.ts';
import type { HostSample } from './sample.ts';

/** Dependencies of HostCollector. `collect` defaults to `collectHost(options)`. */
export interface HostCollectorDeps {
  readonly storage: Storage;
  /** Time between the starts of two collections; one collection never overlaps the next. */
  readonly intervalMs: number;
  /** Value of the `instance` label, normally `host:port` of this Vigil node. */
  readonly instance: string;
  /** Value of the `job` label; "node" by default so node_exporter dashboards match. */
  readonly job?: string;
  readonly options?: HostCollectOptions;
  readonly collect?: () => Promise<HostSample[]>;
  /** Called with each failed write; the collector carries on with the next interval. */
  readonly onError?: (err: unknown) => void;
}

/** Outcome of the collections so far, for the health page. */
export interface HostCollectorHealth {
  readonly lastSuccessMs: number | undefined;
  readonly lastError: string | undefined;
  /** Consecutive failed collections; 0 after a success. */
  readonly failures: number;
}

/**
 * Periodic host collection into `storage`. `start()` collects once immediately, then every interval;
 * `stop()` waits for a collection in flight, then writes stale markers for every series it wrote last.
 * Not reusable after stop.
 */
export class HostCollector {
  private readonly job: string;
  private readonly collect: () => Promise<HostSample[]>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private started = false;
  /** Series written by the last successful round, by canonical key. */
  private previous = new Map<string, Labels>();
  private state: HostCollectorHealth = { lastSuccessMs: undefined, lastError: undefined, failures: 0 };

  constructor(private readonly deps: HostCollectorDeps) {
    if (!Number.isFinite(deps.intervalMs) || deps.intervalMs < 1000)
      throw new RangeError(`host collector interval must be at least 1000 ms, got ${deps.intervalMs}`);
    if (deps.instance === '') throw new RangeError('host collector instance label must not be empty');
    this.job = deps.job ?? 'node';
    this.collect = deps.collect ?? (() => collectHost(deps.options));
  }

  health(): HostCollectorHealth {
    return this.state;
  }

  start(): void {
    if (this.started) throw new Error('host collector already started');
    this.started = true;
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.previous.size === 0) return;
    const app = this.deps.storage.appender();
    const t = Date.now();
    for (const labels of this.previous.values()) app.append(labels, t, STALE_NAN);
    this.previous = new Map();
    try {
      await app.commit();
    } catch (err) {
      this.deps.onError?.(err);
    }
  }

  /** Runs one round now and schedules the next one relative to this round's start. */
  private tick(): void {
    if (this.stopped) return;
    const started = Date.now();
    this.running = this.collectOnce(started).finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      const wait = Math.max(0, this.deps.intervalMs - (Date.now() - started));
      this.timer = setTimeout(() => this.tick(), wait);
      // The collector alone must not keep the process alive.
      this.timer.unref();
    });
  }

  /**
   * One collection and write at time `t`. Used by the timer, and directly by tests; do not call it while the
   * timer runs. Errors are recorded in health and reported through onError, never thrown.
   */
  async collectOnce(t: number = Date.now()): Promise<void> {
    try {
      const samples = await this.collect();
      const app = this.deps.storage.appender();
      const seen = new Map<string, Labels>();
      const families = new Map<string, HostSample>();
      for (const s of samples) {
        const labels: Labels = {
          ...s.labels,
          [METRIC_NAME]: s.name,
          job: this.job,
          instance: this.deps.instance,
        };
        const key = labelsKey(labels);
        // A duplicate series would be rejected by a Prometheus scrape; keep the first value here.
        if (seen.has(key)) continue;
        seen.set(key, labels);
        app.append(labels, t, s.value);
        if (!families.has(s.name)) families.set(s.name, s);
      }
      for (const [key, labels] of this.previous) if (!seen.has(key)) app.append(labels, t, STALE_NAN);
      for (const [name, s] of families) app.appendMetadata(name, { type: s.type, help: s.help, unit: '' });
      await app.commit();
      this.previous = seen;
      this.state = { lastSuccessMs: t, lastError: undefined, failures: 0 };
    } catch (err) {
      this.state = {
        lastSuccessMs: this.state.lastSuccessMs,
        lastError: err instanceof Error ? err.message : String(err),
        failures: this.state.failures + 1,
      };
      this.deps.onError?.(err);
    }
  }
}
