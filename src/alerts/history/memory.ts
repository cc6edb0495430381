/**
 * Alert history in memory (tests, and a model of the ClickHouse store's behaviour). Entries older than the
 * retention are dropped as new ones arrive. Regexes use JavaScript's engine, ClickHouse uses RE2: patterns
 * within the common subset behave the same.
 */
import { compileMatcher, matchesAll } from '../../model/matcher.ts';
import {
  AlertHistoryError,
  compareEvents,
  compareNotifications,
  type AlertEvent,
  type AlertEventQuery,
  type AlertHistoryStore,
  type NotificationEntry,
  type NotificationQuery,
} from './store.ts';

export class MemoryAlertHistoryStore implements AlertHistoryStore {
  private evs: AlertEvent[] = [];
  private notes: NotificationEntry[] = [];
  private closed = false;

  /** `retentionMs` 0 keeps everything; `now` is read when pruning. */
  constructor(
    private readonly retentionMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  async append(events: readonly AlertEvent[], notifications: readonly NotificationEntry[]): Promise<void> {
    this.check();
    this.evs.push(
      ...events.map((e) => ({ ...e, labels: { ...e.labels }, annotations: { ...e.annotations } })),
    );
    this.notes.push(...notifications.map((n) => ({ ...n, fingerprints: [...n.fingerprints] })));
    if (this.retentionMs > 0) {
      const min = this.now() - this.retentionMs;
      this.evs = this.evs.filter((e) => e.at >= min);
      this.notes = this.notes.filter((n) => n.at >= min);
    }
  }

  async events(q: AlertEventQuery): Promise<AlertEvent[]> {
    this.check();
    const ms = q.matchers.map(compileMatcher);
    return this.evs
      .filter(
        (e) =>
          e.at >= q.start &&
          e.at <= q.end &&
          (q.events.length === 0 || q.events.includes(e.event)) &&
          matchesAll(ms, e.labels),
      )
      .sort(compareEvents)
      .slice(0, q.limit)
      .map((e) => ({ ...e, labels: { ...e.labels }, annotations: { ...e.annotations } }));
  }

  async notifications(q: NotificationQuery): Promise<NotificationEntry[]> {
    this.check();
    return this.notes
      .filter(
        (n) =>
          n.at >= q.start &&
          n.at <= q.end &&
          (q.receiver === undefined || n.receiver === q.receiver) &&
          (q.ok === undefined || n.ok === q.ok),
      )
      .sort(compareNotifications)
      .slice(0, q.limit)
      .map((n) => ({ ...n, fingerprints: [...n.fingerprints] }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new AlertHistoryError('alert history store is closed');
  }
}
