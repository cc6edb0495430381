/**
 * Feeds the alert history store from the pipeline without ever blocking it: events and notifications go into
 * a bounded in-memory queue that is written in batches, one write at a time, every `flushIntervalMs` (or at
 * once when a batch is full). A failed write is retried at the next flush with the entries kept in order;
 * when the queue is full new entries are dropped and counted in `vigil_alert_history_dropped_total`.
 */
import client from 'prom-client';
import { registry } from '../../self/metrics.ts';
import type { AlertChange, AlertPipeline } from '../pipeline.ts';
import type { NotificationRecord } from '../dispatch.ts';
import type { AlertEvent, AlertHistoryStore, NotificationEntry } from './store.ts';

export const historyDroppedTotal = new client.Counter({
  name: 'vigil_alert_history_dropped_total',
  help: 'Alert history entries dropped because the write queue was full, by kind (event, notification).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export interface AlertHistoryWriterOptions {
  readonly store: AlertHistoryStore;
  /** Most entries (events and notifications together) waiting to be written. */
  readonly maxQueued?: number;
  /** Entries per write; a full batch is written without waiting for the interval. */
  readonly batchSize?: number;
  readonly flushIntervalMs?: number;
  readonly log?: (msg: string) => void;
}

/** An alert change as a history row. */
export function eventOf(c: AlertChange): AlertEvent {
  return {
    at: c.at,
    fingerprint: c.alert.fingerprint,
    alertname: c.alert.labels.alertname ?? '',
    labels: c.alert.labels,
    annotations: c.alert.annotations,
    event: c.event,
    source: c.source,
    startsAt: c.alert.startsAt,
    endsAt: c.alert.endsAt,
    severity: c.alert.labels.severity ?? '',
  };
}

/** A notification record as a history row. */
export function notificationOf(r: NotificationRecord): NotificationEntry {
  return {
    at: r.at,
    id: r.id,
    groupId: r.groupId,
    groupKey: r.groupKey,
    receiver: r.receiver,
    integration: r.integration,
    status: r.status,
    fingerprints: r.alerts.map((a) => a.fingerprint),
    ok: r.ok,
    attempts: r.attempts,
    error: r.error ?? '',
  };
}

export class AlertHistoryWriter {
  private events: AlertEvent[] = [];
  private notes: NotificationEntry[] = [];
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private readonly log: (msg: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly opts: AlertHistoryWriterOptions) {
    this.maxQueued = opts.maxQueued ?? 100_000;
    this.batchSize = opts.batchSize ?? 1000;
    this.log = opts.log ?? (() => {});
  }

  /** Entries waiting to be written. */
  get queued(): number {
    return this.events.length + this.notes.length;
  }

  /** Records every alert change and notification of `pipeline` from now on. */
  attach(pipeline: AlertPipeline): void {
    this.unsubscribe.push(pipeline.onAlertChange((c) => this.addEvent(eventOf(c))));
    this.unsubscribe.push(pipeline.onNotification((r) => this.addNotification(notificationOf(r))));
  }

  /** Queues an event; never blocks, never throws. Returns false when it was dropped. */
  addEvent(e: AlertEvent): boolean {
    if (this.stopped || this.queued >= this.maxQueued) {
      historyDroppedTotal.inc({ kind: 'event' });
      return false;
    }
    this.events.push(e);
    this.schedule();
    return true;
  }

  addNotification(n: NotificationEntry): boolean {
    if (this.stopped || this.queued >= this.maxQueued) {
      historyDroppedTotal.inc({ kind: 'notification' });
      return false;
    }
    this.notes.push(n);
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.queued >= this.batchSize && !this.writing) {
      void this.flush();
      return;
    }
    if (!this.timer)
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.flushIntervalMs ?? 1000);
  }

  /**
   * Writes everything queued so far, in batches. Resolves when done or when a write failed (the failed batch
   * stays queued for the next attempt, and the failure is logged). Concurrent calls share one write loop.
   */
  flush(): Promise<void> {
    if (!this.writing)
      this.writing = this.drain().finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }

  private async drain(): Promise<void> {
    // Events and notifications are written apart, so a failure of one never makes the other be written twice.
    while (this.queued > 0) {
      const ev = this.events.slice(0, this.batchSize);
      const nt = ev.length ? [] : this.notes.slice(0, this.batchSize);
      try {
        await this.opts.store.append(ev, nt);
      } catch (err) {
        const what = ev.length ? `${ev.length} alert events` : `${nt.length} notifications`;
        this.log(`alert history: write of ${what} failed, kept for retry: ${(err as Error).message}`);
        if (!this.stopped && !this.timer)
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.flush();
          }, this.opts.flushIntervalMs ?? 1000);
        return;
      }
      this.events.splice(0, ev.length);
      this.notes.splice(0, nt.length);
    }
  }

  /** Stops listening and writes what is queued (one attempt); entries still unwritten are logged as lost. */
  async close(): Promise<void> {
    for (const u of this.unsubscribe) u();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queued) this.log(`alert history: ${this.queued} entries not written at shutdown`);
  }
}
