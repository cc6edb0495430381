/** Runs store operations: driver errors become StateStoreError, and a failed statement poisons its transaction. */
import { AlreadyExistsError, StateStoreError } from './errors.ts';

/**
 * Tracks a failed statement inside a transaction. PostgreSQL refuses every later statement of such a
 * transaction while SQLite carries on; we make both refuse, so code tested on one driver holds on the other.
 */
export interface TxState {
  failure?: unknown;
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // pg: SQLSTATE unique_violation; better-sqlite3: extended result codes.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Runs one store operation: maps driver errors to StateStoreError and enforces transaction poisoning. */
export async function run<T>(op: string, tx: TxState | undefined, fn: () => Promise<T>): Promise<T> {
  if (tx?.failure !== undefined)
    throw new StateStoreError(`state store: ${op}: the transaction already failed and can only roll back`, {
      cause: tx.failure,
    });
  try {
    return await fn();
  } catch (err) {
    // Errors we raise ourselves (invalid input, not found, version conflict) leave the transaction usable;
    // AlreadyExistsError stands for a failed INSERT, which PostgreSQL treats as fatal to the transaction.
    if (err instanceof StateStoreError && !(err instanceof AlreadyExistsError)) throw err;
    if (tx) tx.failure = err;
    if (err instanceof StateStoreError) throw err;
    throw new StateStoreError(`state store: ${op}: ${message(err)}`, { cause: err });
  }
}
