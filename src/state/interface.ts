/**
 * The operational-state boundary: small, transactional records (dashboards and settings now; rules, silences,
 * incidents later). Implemented once over Kysely for SQLite (embedded) and PostgreSQL (shared by several
 * nodes); both satisfy the shared suite in `state.cases.ts`.
 *
 * Times are milliseconds since the Unix epoch. Returned objects are fresh copies owned by the caller.
 */

/** Any value that survives a JSON round trip unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A stored dashboard. `version` starts at 1 and grows by one with every successful update. */
export interface Dashboard {
  /** Internal, immutable identifier. */
  readonly id: string;
  /** Stable public identifier used in URLs; unique; `[A-Za-z0-9_-]{1,40}`. */
  readonly uid: string;
  readonly title: string;
  readonly tags: string[];
  /** The dashboard model (panels, variables, ...), opaque to the store. */
  readonly body: JsonObject;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string | null;
}

/** A dashboard without its body, as returned by `list`. */
export type DashboardSummary = Omit<Dashboard, 'body'>;

/** Input to `create`. A missing `uid` is generated; tags are trimmed and de-duplicated. */
export interface DashboardInput {
  readonly uid?: string;
  readonly title: string;
  readonly tags?: readonly string[];
  readonly body: JsonObject;
  readonly createdBy?: string | null;
}

/** Input to `update`: fields present replace the stored ones, absent fields are kept. */
export interface DashboardUpdate {
  readonly title?: string;
  readonly tags?: readonly string[];
  readonly body?: JsonObject;
}

/** `query` matches a substring of the title, ignoring case; `tag` must equal one of the tags. */
export interface DashboardFilter {
  readonly query?: string;
  readonly tag?: string;
}

/**
 * Dashboards. Invalid input throws InvalidInputError; driver failures throw StateStoreError.
 */
export interface DashboardRepo {
  /** Summaries matching the filter, ordered by title then uid. */
  list(filter?: DashboardFilter): Promise<DashboardSummary[]>;
  /** The dashboard, or undefined when no dashboard has this uid. */
  get(uid: string): Promise<Dashboard | undefined>;
  /** Stores a new dashboard at version 1. Throws AlreadyExistsError when the uid is taken. */
  create(input: DashboardInput): Promise<Dashboard>;
  /**
   * Applies the update only if the stored version still equals `expectedVersion` (compare-and-set, atomic
   * against concurrent writers on every driver). Returns the new state. Throws VersionConflictError when the
   * version moved on, NotFoundError when the uid does not exist.
   */
  update(uid: string, input: DashboardUpdate, expectedVersion: number): Promise<Dashboard>;
  /** Removes the dashboard. Throws NotFoundError when the uid does not exist. */
  delete(uid: string): Promise<void>;
}

/** One key/value entry of a namespace. */
export interface KvEntry {
  readonly key: string;
  readonly value: JsonValue;
  readonly updatedAt: number;
}

/**
 * Small JSON settings grouped by namespace (for example `ui`, `retention`). Not meant for large or
 * high-churn data. Namespace and key are non-empty strings.
 */
export interface KvRepo {
  /** The value, or undefined when the key is absent (a stored JSON `null` comes back as `null`). */
  get(namespace: string, key: string): Promise<JsonValue | undefined>;
  /** Inserts or replaces the value. */
  set(namespace: string, key: string, value: JsonValue): Promise<void>;
  /** Removes the key; true if it existed. Idempotent. */
  delete(namespace: string, key: string): Promise<boolean>;
  /** Every entry of the namespace, ordered by key (JavaScript string order, identical on every driver). */
  list(namespace: string): Promise<KvEntry[]>;
}

/** What a transaction callback works with: the same repositories, bound to the open transaction. */
export interface StateTx {
  readonly dashboards: DashboardRepo;
  readonly kv: KvRepo;
}

/**
 * The store. Safe for concurrent use by many callers in one process; several processes or nodes may share
 * one database (PostgreSQL, or one SQLite file on one host). With SQLite, open one store per file per
 * process: better-sqlite3 waits for locks synchronously, so two stores of one process writing the same file
 * at once would wait on each other until the busy timeout.
 */
export interface StateStore extends StateTx {
  /**
   * Runs `fn` in one transaction: commits when the promise resolves, rolls back and rethrows the same error
   * when it rejects. Inside `fn`, use only the `tx` argument: calls on the store itself wait for the
   * transaction on SQLite (one connection) and would deadlock. Transactions on SQLite are serialized;
   * on PostgreSQL they run at READ COMMITTED, so use `update` with an expected version for read-modify-write.
   */
  transaction<T>(fn: (tx: StateTx) => Promise<T>): Promise<T>;
  /** Closes connections. Idempotent; the store must not be used afterwards. */
  close(): Promise<void>;
}

/** Where the state lives. `schema` (PostgreSQL) isolates Vigil's tables, created if missing. */
export type StateStoreConfig =
  | { readonly driver: 'sqlite'; readonly path: string }
  | { readonly driver: 'postgres'; readonly url: string; readonly schema?: string };
