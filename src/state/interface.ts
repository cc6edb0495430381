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

/**
 * A named on-call document (user, team, schedule or escalation policy). The store keeps `body` as given;
 * its shape and the references between documents are checked by `src/incidents/model.ts` before `put`.
 */
export interface OncallDoc {
  /** `[A-Za-z0-9_.@-]{1,64}`, unique per kind. */
  readonly id: string;
  readonly name: string;
  readonly body: JsonObject;
  readonly updatedAt: number;
}

/** One kind of on-call document. Invalid ids or names throw InvalidInputError. */
export interface OncallDocRepo {
  /** Every document of the kind, ordered by id. */
  list(): Promise<OncallDoc[]>;
  /** The document, or undefined. */
  get(id: string): Promise<OncallDoc | undefined>;
  /** Inserts or replaces the document; returns what was stored. */
  put(doc: { readonly id: string; readonly name: string; readonly body: JsonObject }): Promise<OncallDoc>;
  /** Removes the document; true if it existed. */
  delete(id: string): Promise<boolean>;
}

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

/**
 * Where an incident's escalation stands: `step` of the policy in `loop` (0 = first pass; a policy repeating
 * N times has loops 0..N), and when the next escalation action is due (null = nothing scheduled).
 */
export interface EscalationState {
  readonly step: number;
  readonly loop: number;
  readonly nextAt: number | null;
}

/** A stored incident. `version` starts at 1 and grows with every update (compare-and-set). */
export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: IncidentStatus;
  /** User id, or null. */
  readonly assignee: string | null;
  /** Correlated alert group the incident came from; null for incidents opened by hand. */
  readonly groupId: string | null;
  /** Escalation policy id, or null (no paging). */
  readonly policyId: string | null;
  readonly services: string[];
  readonly components: string[];
  /** Fingerprints of every alert ever linked, first linked first. */
  readonly alerts: string[];
  /** Labels common to the linked alerts when the incident opened. */
  readonly labels: Record<string, string>;
  readonly createdAt: number;
  readonly ackedAt: number | null;
  readonly ackedBy: string | null;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
  readonly escalation: EscalationState;
  readonly version: number;
  readonly updatedAt: number;
}

/** Input to `create`; a missing id is generated (8 characters, upper-case letters and digits). */
export type IncidentInput = Omit<Incident, 'id' | 'version' | 'updatedAt'> & { readonly id?: string };

/** Fields present replace the stored ones. */
export type IncidentUpdate = Partial<Omit<Incident, 'id' | 'version' | 'updatedAt' | 'createdAt'>>;

/** An incident's place in list order (newest first: `createdAt` descending, then `id` descending). */
export interface IncidentKey {
  readonly createdAt: number;
  readonly id: string;
}

/** Filters of `list`; all given ones must hold. Times are inclusive bounds on `createdAt`. */
export interface IncidentFilter {
  readonly status?: readonly IncidentStatus[];
  readonly service?: string;
  readonly severity?: string;
  readonly groupId?: string;
  readonly since?: number;
  readonly until?: number;
  /** Incidents still open, or resolved at or after this time. */
  readonly openOrResolvedSince?: number;
  /**
   * Keyset paging: only incidents strictly after this key in list order (older, or as old with a smaller id,
   * comparing ids by UTF-16 code units as JavaScript does). Incidents inserted newer than the key never
   * shift what comes after it.
   */
  readonly after?: IncidentKey;
  /** Newest first; at most this many (default all). A non-negative integer. */
  readonly limit?: number;
}

/** One entry of an incident's timeline. `detail` is free-form JSON owned by the writer. */
export interface IncidentEvent {
  readonly id: string;
  readonly incidentId: string;
  readonly at: number;
  /** For example `created`, `alert_firing`, `alert_resolved`, `page`, `escalated`, `acknowledged`, `note`. */
  readonly kind: string;
  /** User id, `vigil` for the engine, or a link/CLI actor description. */
  readonly actor: string;
  readonly detail: JsonObject;
}

/** One delivery attempt of a page to one person (or receiver) through one channel. */
export interface Page {
  readonly id: string;
  readonly incidentId: string;
  readonly step: number;
  /** User id; null for a receiver target. */
  readonly userId: string | null;
  /** `email`, `slack`, `webhook` or `receiver:<name>`. */
  readonly channel: string;
  readonly outcome: 'delivered' | 'failed';
  readonly error: string | null;
  readonly at: number;
}

/** Incidents with their timelines and pages. */
export interface IncidentRepo {
  create(input: IncidentInput): Promise<Incident>;
  get(id: string): Promise<Incident | undefined>;
  /**
   * Newest first (createdAt, then id, both descending). With a `limit`, reads the table in batches along the
   * createdAt index instead of all at once, so deep keyset pages (`after`) stay cheap.
   */
  list(filter?: IncidentFilter): Promise<Incident[]>;
  /**
   * Compare-and-set as `DashboardRepo.update`: applies only when the stored version equals
   * `expectedVersion`. Throws VersionConflictError or NotFoundError.
   */
  update(id: string, patch: IncidentUpdate, expectedVersion: number): Promise<Incident>;
  /** Appends to the timeline; returns the stored event. */
  addEvent(e: Omit<IncidentEvent, 'id'>): Promise<IncidentEvent>;
  /** The timeline, oldest first (ties keep insertion order within a process). */
  events(incidentId: string): Promise<IncidentEvent[]>;
  /**
   * Timeline events of these kinds across every incident (the knowledge base reads notes and alerts of many
   * incidents at once), oldest first; `incidentIds` narrows to those incidents. An empty kind list gives none.
   */
  eventsOfKinds(kinds: readonly string[], incidentIds?: readonly string[]): Promise<IncidentEvent[]>;
  addPage(p: Omit<Page, 'id'>): Promise<Page>;
  /** Pages of one incident (oldest first), or every page at or after `since` when no id is given. */
  pages(filter: { readonly incidentId?: string; readonly since?: number }): Promise<Page[]>;
}

/** What a transaction callback works with: the same repositories, bound to the open transaction. */
export interface StateTx {
  readonly dashboards: DashboardRepo;
  readonly kv: KvRepo;
  readonly users: OncallDocRepo;
  readonly teams: OncallDocRepo;
  readonly schedules: OncallDocRepo;
  readonly policies: OncallDocRepo;
  readonly incidents: IncidentRepo;
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
