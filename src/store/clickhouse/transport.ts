/**
 * One SQL layer, two transports: chDB in-process (the embedded default) and a ClickHouse server over HTTP.
 * Everything above speaks ClickHouse SQL through this interface and never knows which one it has.
 */
export interface SqlTransport {
  /** "chdb" or "clickhouse", for logs and build info. */
  readonly kind: 'chdb' | 'clickhouse';
  /** Runs a statement that returns nothing (DDL, ALTER, DELETE, OPTIMIZE). */
  exec(sql: string, settings?: Record<string, string | number>): Promise<void>;
  /** Runs a query and returns rows parsed from JSONEachRow. 64-bit integers come back as strings. */
  queryRows<T>(sql: string, signal?: AbortSignal): Promise<T[]>;
  /**
   * Runs a query and returns the raw RowBinary result (bit-exact floats, fixed-width integers). `settings` apply
   * to this query only (for example `max_execution_time`, which makes ClickHouse itself stop a query that runs
   * past a caller's deadline: an aborted signal only stops waiting for chDB, whose work runs to its end).
   */
  queryRowBinary(
    sql: string,
    signal?: AbortSignal,
    settings?: Record<string, string | number>,
  ): Promise<Uint8Array>;
  /**
   * Inserts a RowBinary payload (fixed-width little-endian rows matching `structure`, e.g.
   * `series_id UInt64, ts Int64, value Float64`) into `table`. Resolves once ClickHouse has written the data
   * part, which is the durability point Vigil acknowledges senders at. The buffer must not be modified until
   * it resolves. Binary rows are several times cheaper to parse than text, and keep NaN payloads exact.
   */
  insertRowBinary(
    table: string,
    structure: string,
    body: Buffer,
    settings?: Record<string, string | number>,
  ): Promise<void>;
  /** Same for a JSONEachRow payload. */
  insertJSON(table: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
}

export class TransportError extends Error {
  override name = 'TransportError';
}

/**
 * Per-query settings bounding ClickHouse's own work by the caller's deadline: chDB cannot interrupt a running
 * query when the caller gives up, but ClickHouse stops one that exceeds max_execution_time.
 */
export function deadlineSettings(deadline?: number): Record<string, string | number> | undefined {
  if (deadline === undefined || !Number.isFinite(deadline)) return undefined;
  const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  return { max_execution_time: left, timeout_overflow_mode: 'throw' };
}

/** Quotes a string literal for ClickHouse SQL. */
export function sqlString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** Validates an identifier we interpolate (database names come from configuration). */
export function sqlIdent(s: string): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(s))
    throw new TransportError(`invalid ClickHouse identifier ${JSON.stringify(s)}`);
  return s;
}
