/**
 * The one correlation of the alert pipeline's current alerts, shared by everything that needs correlated
 * groups: storm protection (synchronously, while notifying), the incident service, and the correlations API.
 * Sharing it matters because correlation has memory (group IDs, re-fires returning to their group): separate
 * evaluations would drift apart and give one set of alerts different group IDs in different places.
 *
 * Evaluated again only when the alerts changed, the service graph changed, or 30 s passed; otherwise the
 * last groups are returned. The service graph is read in the background (one read at a time); a synchronous
 * caller uses the last graph read, an asynchronous one waits for a read first.
 */
import { correlate, EMPTY_STATE, type CorrelationState } from './correlate.ts';
import type { CorrelatedGroup, CorrelationAlert, CorrelationOptions, Topology } from './model.ts';

export interface CorrelatorDeps {
  /** The currently active (firing) alerts at `now`. */
  readonly alerts: (now: number) => readonly CorrelationAlert[];
  /** Changes whenever the set or state of the alerts changes. */
  readonly version: () => number;
  /** Reads the service graph (may cache); absent = labels and time only. */
  readonly topology?: () => Promise<Topology>;
  readonly options?: Partial<CorrelationOptions>;
  readonly log?: (msg: string) => void;
}

/** Groups as of one evaluation, with the graph they were computed on and why it may be missing. */
export interface Correlation {
  readonly groups: readonly CorrelatedGroup[];
  readonly graph: Topology;
  /** Set when the service graph could not be read: correlation used labels and time only. */
  readonly graphError?: string;
}

const REEVALUATE_MS = 30_000;
const NO_GRAPH: Topology = { edges: [], windowMs: 3_600_000 };

export class Correlator {
  private state: CorrelationState = EMPTY_STATE;
  private last: { key: string; groups: readonly CorrelatedGroup[] } | undefined;
  private graph: Topology = NO_GRAPH;
  private graphGeneration = 0;
  private graphError: string | undefined;
  private reading: Promise<void> | undefined;

  constructor(private readonly deps: CorrelatorDeps) {}

  get options(): Partial<CorrelationOptions> {
    return this.deps.options ?? {};
  }

  /** Starts a read of the service graph unless one is running; resolves when it ends (never rejects). */
  private readGraph(): Promise<void> {
    const read = this.deps.topology;
    if (!read) return Promise.resolve();
    this.reading ??= read()
      .then(
        (g) => {
          if (g !== this.graph) {
            this.graph = g;
            this.graphGeneration++;
          }
          this.graphError = undefined;
        },
        (err: Error) => {
          if (this.graphError === undefined)
            this.deps.log?.(`alert correlation: service graph unavailable: ${err.message}`);
          this.graphError = err.message;
        },
      )
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Resolves when no graph read is running (for a clean stop). */
  async idle(): Promise<void> {
    await this.reading;
  }

  /** The groups at `now` on the last graph read (a fresh read starts in the background). Synchronous. */
  groups(now: number): readonly CorrelatedGroup[] {
    void this.readGraph();
    return this.evaluate(now);
  }

  /** The groups at `now` after reading the service graph. */
  async current(now: number): Promise<Correlation> {
    await this.readGraph();
    const groups = this.evaluate(now);
    return {
      groups,
      graph: this.graph,
      ...(this.graphError !== undefined ? { graphError: this.graphError } : {}),
    };
  }

  /**
   * A what-if evaluation with other options or another graph, from the shared memory: the answer shows the
   * group IDs the alerts would keep, and the shared memory is not changed.
   */
  preview(now: number, options: Partial<CorrelationOptions>, graph: Topology): readonly CorrelatedGroup[] {
    return correlate(this.deps.alerts(now), graph, this.state, now, { ...this.deps.options, ...options })
      .groups;
  }

  private evaluate(now: number): readonly CorrelatedGroup[] {
    const key = `${this.deps.version()}:${this.graphGeneration}:${Math.floor(now / REEVALUATE_MS)}`;
    if (this.last?.key === key) return this.last.groups;
    const r = correlate(this.deps.alerts(now), this.graph, this.state, now, this.deps.options);
    this.state = r.state;
    this.last = { key, groups: r.groups };
    return r.groups;
  }
}
