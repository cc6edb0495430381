/**
 * Alert history: every alert state change and every notification, kept for `alerting.history_retention` and
 * queried by time range, newest first. Implementations: ClickHouse (clickhouse.ts; layout in
 * docs/format/alert-history-tables.md) and memory (memory.ts); both pass the suite in store.cases.ts.
 */
import type { Labels } from '../../model/labels.ts';
import type { Matcher } from '../../model/matcher.ts';

/** What happened to an alert. `suppressed`/`unsuppressed`: a silence or inhibition started or stopped muting it. */
export type AlertEventKind = 'firing' | 'resolved' | 'suppressed' | 'unsuppressed';
export const ALERT_EVENT_KINDS: readonly AlertEventKind[] = [
  'firing',
  'resolved',
  'suppressed',
  'unsuppressed',
];

/** One state change of one alert. Times are epoch milliseconds. */
export interface AlertEvent {
  /** When the change was observed. */
  readonly at: number;
  readonly fingerprint: string;
  /** The `alertname` label ('' when absent), kept apart for the sort key. */
  readonly alertname: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly event: AlertEventKind;
  /** Who sent the alert: `api`, `rules`, `webhook/<name>`, ... */
  readonly source: string;
  readonly startsAt: number;
  readonly endsAt: number;
  /** The `severity` label ('' when absent). */
  readonly severity: string;
}

/** One notification attempt (delivered or failed after its retries). */
export interface NotificationEntry {
  /** When the notification was started. */
  readonly at: number;
  readonly id: string;
  readonly groupId: string;
  readonly groupKey: string;
  readonly receiver: string;
  /** `webhook[0]`, `email[1]`, ... */
  readonly integration: string;
  readonly status: 'firing' | 'resolved';
  /** Fingerprints of the alerts in the notification. */
  readonly fingerprints: readonly string[];
  readonly ok: boolean;
  readonly attempts: number;
  /** '' when delivered. */
  readonly error: string;
}

/** Bounds are inclusive epoch ms; `limit` is at least 1. */
export interface AlertEventQuery {
  readonly start: number;
  readonly end: number;
  /** Every matcher must accept the alert's labels (an absent label matches as ''). */
  readonly matchers: readonly Matcher[];
  /** Only these kinds; empty = all. */
  readonly events: readonly AlertEventKind[];
  readonly limit: number;
}

export interface NotificationQuery {
  readonly start: number;
  readonly end: number;
  readonly receiver?: string;
  readonly ok?: boolean;
  readonly limit: number;
}

export class AlertHistoryError extends Error {
  override name = 'AlertHistoryError';
}

/**
 * Where alert history is kept. `append` may be called concurrently with queries; a query sees every append
 * that resolved before it started. Results are newest first (ties by fingerprint or id), owned by the caller.
 */
export interface AlertHistoryStore {
  append(events: readonly AlertEvent[], notifications: readonly NotificationEntry[]): Promise<void>;
  events(q: AlertEventQuery): Promise<AlertEvent[]>;
  notifications(q: NotificationQuery): Promise<NotificationEntry[]>;
  /** Waits for running calls; later calls fail. */
  close(): Promise<void>;
}

/** The order in which one alert's changes happen; ties in time are shown latest step first. */
export const EVENT_SEQUENCE: readonly AlertEventKind[] = ['firing', 'suppressed', 'unsuppressed', 'resolved'];

/**
 * Orders newest first, then by fingerprint, then (same alert, same millisecond) the later step of
 * EVENT_SEQUENCE first, as every implementation returns rows.
 */
export function compareEvents(a: AlertEvent, b: AlertEvent): number {
  return (
    b.at - a.at ||
    (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0) ||
    EVENT_SEQUENCE.indexOf(b.event) - EVENT_SEQUENCE.indexOf(a.event)
  );
}

export function compareNotifications(a: NotificationEntry, b: NotificationEntry): number {
  return b.at - a.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
