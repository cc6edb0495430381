/**
 * The alert store: current alerts keyed by fingerprint. A re-posted alert is merged with the stored one
 * when their activity ranges overlap (Alertmanager's in-memory provider). Single-threaded JavaScript makes
 * every method atomic; returned alerts are immutable and shared.
 */
import { fingerprint, isResolved, mergeOnRepost, type Alert } from './model.ts';

export interface StoredAlert extends Alert {
  readonly fingerprint: string;
}

export class AlertStore {
  private readonly alerts = new Map<string, StoredAlert>();
  private changes = 0;

  /** Grows with every change (for caches derived from the store). */
  get version(): number {
    return this.changes;
  }

  /** Inserts or merges an alert; returns the stored result. */
  put(alert: Alert, now: number): StoredAlert {
    const fp = fingerprint(alert.labels);
    return this.replace(mergeOnRepost(this.alerts.get(fp), alert, now));
  }

  /** Stores `alert` as given, without merging (for callers that merged already, such as de-duplication). */
  replace(alert: Alert): StoredAlert {
    const stored: StoredAlert = { ...alert, fingerprint: fingerprint(alert.labels) };
    this.alerts.set(stored.fingerprint, stored);
    this.changes++;
    return stored;
  }

  get(fp: string): StoredAlert | undefined {
    return this.alerts.get(fp);
  }

  /** Every stored alert, resolved ones included, ordered by fingerprint. */
  list(): StoredAlert[] {
    return [...this.alerts.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
  }

  /** Alerts not resolved at `now`, ordered by fingerprint. */
  firing(now: number): StoredAlert[] {
    return this.list().filter((a) => !isResolved(a, now));
  }

  /** Drops alerts resolved at `now`; returns how many. Aggregation groups keep their own copies. */
  gc(now: number): number {
    let n = 0;
    for (const [fp, a] of this.alerts)
      if (isResolved(a, now)) {
        this.alerts.delete(fp);
        this.changes++;
        n++;
      }
    return n;
  }

  get size(): number {
    return this.alerts.size;
  }
}
