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

export interface StateDatabase {
  dashboards: DashboardsTable;
  kv: KvTable;
}
