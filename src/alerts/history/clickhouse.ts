/**
 * Alert history on ClickHouse (chDB in-process or a server) through the shared SqlTransport, in its own tables
 * with their own migration bookkeeping (`alert_history_schema_versions`). Layout and reasons:
 * docs/format/alert-history-tables.md. Label matchers are evaluated by ClickHouse on the `labels` map.
 */
import type { Matcher } from '../../model/matcher.ts';
import { applyMigrations, type Migration } from '../../store/clickhouse/migrate.ts';
import { sqlIdent, sqlString, type SqlTransport } from '../../store/clickhouse/transport.ts';
import {
  AlertHistoryError,
  EVENT_SEQUENCE,
  type AlertEvent,
  type AlertEventKind,
  type AlertEventQuery,
  type AlertHistoryStore,
  type NotificationEntry,
  type NotificationQuery,
} from './store.ts';

const TIME = "DateTime64(3, 'UTC')";
const SEQUENCE = `[${EVENT_SEQUENCE.map(sqlString).join(', ')}]`;
const MAP = 'Map(LowCardinality(String), String) CODEC(ZSTD(3))';

export const ALERT_HISTORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alert_events_alert_notifications',
    statements: (db) => [
      // Few rows per day compared with samples: weekly partitions keep the part count low, and the row TTL
      // removes expired rows at merges. Sorting by alert name first makes `alertname=...` queries narrow.
      `CREATE TABLE IF NOT EXISTS ${db}.alert_events (
        time ${TIME} CODEC(DoubleDelta, ZSTD(1)),
        fingerprint String CODEC(ZSTD(1)),
        alertname LowCardinality(String) CODEC(ZSTD(1)),
        labels ${MAP},
        annotations ${MAP},
        event Enum8('firing' = 1, 'resolved' = 2, 'suppressed' = 3, 'unsuppressed' = 4),
        source LowCardinality(String) CODEC(ZSTD(1)),
        starts_at ${TIME} CODEC(ZSTD(1)),
        ends_at ${TIME} CODEC(ZSTD(1)),
        severity LowCardinality(String) CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toMonday(time)
      ORDER BY (alertname, time, fingerprint)`,
      `CREATE TABLE IF NOT EXISTS ${db}.alert_notifications (
        time ${TIME} CODEC(DoubleDelta, ZSTD(1)),
        id String CODEC(ZSTD(1)),
        group_id String CODEC(ZSTD(1)),
        group_key String CODEC(ZSTD(3)),
        receiver LowCardinality(String) CODEC(ZSTD(1)),
        integration LowCardinality(String) CODEC(ZSTD(1)),
        status Enum8('firing' = 1, 'resolved' = 2),
        fingerprints Array(String) CODEC(ZSTD(3)),
        ok Bool,
        attempts UInt32 CODEC(T64, ZSTD(1)),
        error String CODEC(ZSTD(3))
      ) ENGINE = MergeTree
      PARTITION BY toMonday(time)
      ORDER BY (receiver, time, id)`,
    ],
  },
];

/** Creates the database and applies pending alert history migrations. Returns the schema version in place. */
export function migrateAlertHistory(sql: SqlTransport, database: string): Promise<number> {
  return applyMigrations(sql, database, 'alert_history_schema_versions', ALERT_HISTORY_MIGRATIONS);
}

/** Sets (or, for 0, removes) the retention TTL of both tables. Existing rows expire at their next merge. */
export async function applyAlertHistoryRetention(
  sql: SqlTransport,
  database: string,
  retentionMs: number,
): Promise<void> {
  const db = sqlIdent(database);
  const seconds = Math.ceil(retentionMs / 1000);
  for (const table of ['alert_events', 'alert_notifications']) {
    if (seconds > 0) {
      await sql.exec(`ALTER TABLE ${db}.${table} MODIFY TTL toDateTime(time) + INTERVAL ${seconds} SECOND`);
      continue;
    }
    const rows = await sql.queryRows<{ q: string }>(
      `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = '${table}'`,
    );
    if (/\bTTL\b/.test(rows[0]?.q ?? '')) await sql.exec(`ALTER TABLE ${db}.${table} REMOVE TTL`);
  }
}

export interface ClickHouseAlertHistoryOptions {
  readonly database: string;
  /** Retention in ms; 0 keeps history forever. */
  readonly retentionMs: number;
}

/** The range a DateTime64(3) holds (1900-01-01 .. 2299-12-31), so bounds never overflow. */
const MIN_MS = -2208988800000;
const MAX_MS = 10413791999999;
const clamp = (t: number) => Math.min(Math.max(Math.floor(t), MIN_MS), MAX_MS);

/** `YYYY-MM-DD hh:mm:ss.sss` in UTC: the text form DateTime64(3, 'UTC') reads back exactly. */
function timeText(ms: number): string {
  return new Date(clamp(ms)).toISOString().replace('T', ' ').replace('Z', '');
}

/** A matcher as a ClickHouse condition on the labels map (absent labels read as '', as in Prometheus). */
function matcherSql(m: Matcher): string {
  const v = `labels[${sqlString(m.name)}]`;
  switch (m.type) {
    case '=':
      return `${v} = ${sqlString(m.value)}`;
    case '!=':
      return `${v} != ${sqlString(m.value)}`;
    // RE2 like Prometheus; (?s) lets `.` match newlines as the in-memory matchers do.
    case '=~':
      return `match(${v}, ${sqlString(`(?s)^(?:${m.value})$`)})`;
    case '!~':
      return `NOT match(${v}, ${sqlString(`(?s)^(?:${m.value})$`)})`;
  }
}

interface EventRow {
  at: string | number;
  fingerprint: string;
  alertname: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  event: AlertEventKind;
  source: string;
  starts_at: string | number;
  ends_at: string | number;
  severity: string;
}

interface NotificationRow {
  at: string | number;
  id: string;
  group_id: string;
  group_key: string;
  receiver: string;
  integration: string;
  status: 'firing' | 'resolved';
  fingerprints: string[];
  ok: boolean | number;
  attempts: number | string;
  error: string;
}

export class ClickHouseAlertHistoryStore implements AlertHistoryStore {
  readonly db: string;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly sql: SqlTransport,
    database: string,
  ) {
    this.db = sqlIdent(database);
  }

  /** Migrates the schema and applies the retention. */
  static async open(
    sql: SqlTransport,
    opts: ClickHouseAlertHistoryOptions,
  ): Promise<ClickHouseAlertHistoryStore> {
    const s = new ClickHouseAlertHistoryStore(sql, opts.database);
    await migrateAlertHistory(sql, s.db);
    await applyAlertHistoryRetention(sql, s.db, opts.retentionMs);
    return s;
  }

  append(events: readonly AlertEvent[], notifications: readonly NotificationEntry[]): Promise<void> {
    return this.track(this.write(events, notifications));
  }

  private async write(
    events: readonly AlertEvent[],
    notifications: readonly NotificationEntry[],
  ): Promise<void> {
    this.check();
    if (events.length) {
      const lines = events.map((e) =>
        JSON.stringify({
          time: timeText(e.at),
          fingerprint: e.fingerprint,
          alertname: e.alertname,
          labels: e.labels,
          annotations: e.annotations,
          event: e.event,
          source: e.source,
          starts_at: timeText(e.startsAt),
          ends_at: timeText(e.endsAt),
          severity: e.severity,
        }),
      );
      await this.sql.insertJSON(`${this.db}.alert_events`, Buffer.from(lines.join('\n') + '\n'));
    }
    if (notifications.length) {
      const lines = notifications.map((n) =>
        JSON.stringify({
          time: timeText(n.at),
          id: n.id,
          group_id: n.groupId,
          group_key: n.groupKey,
          receiver: n.receiver,
          integration: n.integration,
          status: n.status,
          fingerprints: n.fingerprints,
          ok: n.ok,
          attempts: n.attempts,
          error: n.error,
        }),
      );
      await this.sql.insertJSON(`${this.db}.alert_notifications`, Buffer.from(lines.join('\n') + '\n'));
    }
  }

  events(q: AlertEventQuery): Promise<AlertEvent[]> {
    return this.track(this.readEvents(q));
  }

  private async readEvents(q: AlertEventQuery): Promise<AlertEvent[]> {
    this.check();
    if (q.end < q.start) return [];
    const where = [
      `time >= fromUnixTimestamp64Milli(toInt64(${clamp(q.start)}), 'UTC')`,
      `time <= fromUnixTimestamp64Milli(toInt64(${clamp(q.end)}), 'UTC')`,
      ...q.matchers.map(matcherSql),
    ];
    if (q.events.length) where.push(`event IN (${q.events.map(sqlString).join(', ')})`);
    const rows = await this.sql.queryRows<EventRow>(
      `SELECT toUnixTimestamp64Milli(time) AS at, fingerprint, alertname, labels, annotations, event, source,
         toUnixTimestamp64Milli(starts_at) AS starts_at, toUnixTimestamp64Milli(ends_at) AS ends_at, severity
       FROM ${this.db}.alert_events
       WHERE ${where.join(' AND ')}
       ORDER BY time DESC, fingerprint, indexOf(${SEQUENCE}, toString(event)) DESC
       LIMIT ${Math.max(1, Math.floor(q.limit))}`,
    );
    return rows.map((r) => ({
      at: Number(r.at),
      fingerprint: r.fingerprint,
      alertname: r.alertname,
      labels: r.labels,
      annotations: r.annotations,
      event: r.event,
      source: r.source,
      startsAt: Number(r.starts_at),
      endsAt: Number(r.ends_at),
      severity: r.severity,
    }));
  }

  notifications(q: NotificationQuery): Promise<NotificationEntry[]> {
    return this.track(this.readNotifications(q));
  }

  private async readNotifications(q: NotificationQuery): Promise<NotificationEntry[]> {
    this.check();
    if (q.end < q.start) return [];
    const where = [
      `time >= fromUnixTimestamp64Milli(toInt64(${clamp(q.start)}), 'UTC')`,
      `time <= fromUnixTimestamp64Milli(toInt64(${clamp(q.end)}), 'UTC')`,
    ];
    if (q.receiver !== undefined) where.push(`receiver = ${sqlString(q.receiver)}`);
    if (q.ok !== undefined) where.push(`ok = ${q.ok ? 'true' : 'false'}`);
    const rows = await this.sql.queryRows<NotificationRow>(
      `SELECT toUnixTimestamp64Milli(time) AS at, id, group_id, group_key, receiver, integration, status,
         fingerprints, ok, attempts, error
       FROM ${this.db}.alert_notifications
       WHERE ${where.join(' AND ')}
       ORDER BY time DESC, id
       LIMIT ${Math.max(1, Math.floor(q.limit))}`,
    );
    return rows.map((r) => ({
      at: Number(r.at),
      id: r.id,
      groupId: r.group_id,
      groupKey: r.group_key,
      receiver: r.receiver,
      integration: r.integration,
      status: r.status,
      fingerprints: r.fingerprints,
      ok: r.ok === true || r.ok === 1,
      attempts: Number(r.attempts),
      error: r.error,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private check(): void {
    if (this.closed) throw new AlertHistoryError('alert history store is closed');
  }
}
