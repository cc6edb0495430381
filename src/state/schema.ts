/**
 * Table shapes as Kysely sees them. The migrations define the layout; keep these types in step with them.
 * Timestamps are epoch milliseconds in BIGINT columns, which the pg driver returns as strings, hence the
 * union on the select side.
 */
import type { ColumnType } from 'kysely';

type Millis = ColumnType<number | string, number, number>;

export interface DashboardsTable {
  id: string;
  uid: string;
  title: string;
  /** JSON array of strings. */
  tags: string;
  /** JSON object. */
  body: string;
  version: number;
  created_at: Millis;
  updated_at: Millis;
  created_by: string | null;
}

export interface KvTable {
  namespace: string;
  key: string;
  /** Any JSON value. */
  value: string;
  updated_at: Millis;
}

/** Users, teams, schedules and escalation policies share this shape (migration 0002). */
export interface OncallDocTable {
  id: string;
  name: string;
  /** JSON object. */
  body: string;
  updated_at: Millis;
}

export interface IncidentsTable {
  id: string;
  title: string;
  severity: string;
  status: string;
  assignee: string | null;
  group_id: string | null;
  policy_id: string | null;
  /** JSON arrays of strings. */
  services: string;
  components: string;
  alerts: string;
  /** JSON object of strings. */
  labels: string;
  created_at: Millis;
  acked_at: ColumnType<number | string | null, number | null, number | null>;
  acked_by: string | null;
  resolved_at: ColumnType<number | string | null, number | null, number | null>;
  resolved_by: string | null;
  esc_step: number;
  esc_loop: number;
  esc_next_at: ColumnType<number | string | null, number | null, number | null>;
  version: number;
  updated_at: Millis;
}

export interface IncidentEventsTable {
  id: string;
  incident_id: string;
  /** Insertion order within one process, to keep same-millisecond events in order. */
  seq: Millis;
  at: Millis;
  kind: string;
  actor: string;
  /** JSON object. */
  detail: string;
}

export interface IncidentPagesTable {
  id: string;
  incident_id: string;
  seq: Millis;
  step: number;
  user_id: string | null;
  channel: string;
  outcome: string;
  error: string | null;
  at: Millis;
}

export interface StateDatabase {
  dashboards: DashboardsTable;
  kv: KvTable;
  oncall_users: OncallDocTable;
  oncall_teams: OncallDocTable;
  oncall_schedules: OncallDocTable;
  escalation_policies: OncallDocTable;
  incidents: IncidentsTable;
  incident_events: IncidentEventsTable;
  incident_pages: IncidentPagesTable;
}
