/**
 * The StateStore over Kysely. Dialect differences stay in `open.ts`; everything here is portable SQL, so
 * SQLite and PostgreSQL behave alike (checked by the shared suite).
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { AlreadyExistsError, NotFoundError, StateStoreError, VersionConflictError } from './errors.ts';
import { incidentRepo, oncallDocRepo } from './store.incidents.ts';
import { isUniqueViolation, message, run, type TxState } from './run.ts';
import type {
  Dashboard,
  DashboardFilter,
  DashboardRepo,
  DashboardSummary,
  IncidentRepo,
  JsonObject,
  JsonValue,
  KvEntry,
  KvRepo,
  OncallDocRepo,
  StateStore,
  StateTx,
} from './interface.ts';
import type { DashboardsTable, StateDatabase } from './schema.ts';
import {
  checkBody,
  checkCreatedBy,
  checkExpectedVersion,
  checkKvName,
  checkTags,
  checkTitle,
  checkUid,
  generateUid,
  isValidUid,
  toJson,
} from './validate.ts';

type Db = Kysely<StateDatabase>;

const SUMMARY_COLUMNS = [
  'id',
  'uid',
  'title',
  'tags',
  'version',
  'created_at',
  'updated_at',
  'created_by',
] as const;

function toSummary(row: Omit<Selectable<DashboardsTable>, 'body'>): DashboardSummary {
  return {
    id: row.id,
    uid: row.uid,
    title: row.title,
    tags: JSON.parse(row.tags) as string[],
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    createdBy: row.created_by,
  };
}

function toDashboard(row: Selectable<DashboardsTable>): Dashboard {
  return { ...toSummary(row), body: JSON.parse(row.body) as JsonObject };
}

// A fixed locale keeps list order identical on every node whatever its environment.
const titleCollator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

function fold(s: string): string {
  return s.normalize('NFC').toLowerCase();
}

function dashboardRepo(db: Db, tx: TxState | undefined): DashboardRepo {
  return {
    list: (filter?: DashboardFilter) =>
      run('list dashboards', tx, async () => {
        const rows = await db.selectFrom('dashboards').select(SUMMARY_COLUMNS).execute();
        // Filtering happens here, not in SQL: case folding of non-ASCII text differs between SQLite and
        // PostgreSQL, and the number of dashboards is small.
        const query = filter?.query ? fold(filter.query) : '';
        const tag = filter?.tag;
        return rows
          .map(toSummary)
          .filter((d) => (query === '' || fold(d.title).includes(query)) && (!tag || d.tags.includes(tag)))
          .sort(
            (a, b) => titleCollator.compare(a.title, b.title) || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0),
          );
      }),

    get: (uid: string) =>
      run('get dashboard', tx, async () => {
        if (!isValidUid(uid)) return undefined;
        const row = await db.selectFrom('dashboards').selectAll().where('uid', '=', uid).executeTakeFirst();
        return row ? toDashboard(row) : undefined;
      }),

    create: (input) =>
      run('create dashboard', tx, async () => {
        const uid = input.uid === undefined ? generateUid() : checkUid(input.uid);
        const title = checkTitle(input.title);
        const tags = checkTags(input.tags);
        const body = checkBody(input.body);
        const createdBy = checkCreatedBy(input.createdBy);
        const now = Date.now();
        const row = {
          id: randomUUID(),
          uid,
          title,
          tags: JSON.stringify(tags),
          body,
          version: 1,
          created_at: now,
          updated_at: now,
          created_by: createdBy,
        };
        try {
          await db.insertInto('dashboards').values(row).execute();
        } catch (err) {
          if (isUniqueViolation(err)) throw new AlreadyExistsError('dashboard', uid);
          throw err;
        }
        return toDashboard(row);
      }),

    update: (uid, input, expectedVersion) =>
      run('update dashboard', tx, async () => {
        checkExpectedVersion(expectedVersion);
        const title = input.title === undefined ? undefined : checkTitle(input.title);
        const tags = input.tags === undefined ? undefined : JSON.stringify(checkTags(input.tags));
        const body = input.body === undefined ? undefined : checkBody(input.body);
        if (!isValidUid(uid)) throw new NotFoundError('dashboard', uid);
        // One conditional UPDATE is the compare-and-set: the row lock (PostgreSQL) or the single writer
        // (SQLite) guarantees that of two writers holding the same version only one matches.
        const row = await db
          .updateTable('dashboards')
          .set((eb) => ({
            version: eb('version', '+', 1),
            updated_at: Date.now(),
            ...(title === undefined ? {} : { title }),
            ...(tags === undefined ? {} : { tags }),
            ...(body === undefined ? {} : { body }),
          }))
          .where('uid', '=', uid)
          .where('version', '=', expectedVersion)
          .returningAll()
          .executeTakeFirst();
        if (row) return toDashboard(row);
        const current = await db
          .selectFrom('dashboards')
          .select('version')
          .where('uid', '=', uid)
          .executeTakeFirst();
        if (!current) throw new NotFoundError('dashboard', uid);
        throw new VersionConflictError('dashboard', uid, expectedVersion, Number(current.version));
      }),

    delete: (uid) =>
      run('delete dashboard', tx, async () => {
        if (!isValidUid(uid)) throw new NotFoundError('dashboard', uid);
        const res = await db.deleteFrom('dashboards').where('uid', '=', uid).executeTakeFirst();
        if (res.numDeletedRows === 0n) throw new NotFoundError('dashboard', uid);
      }),
  };
}

function kvRepo(db: Db, tx: TxState | undefined): KvRepo {
  return {
    get: (namespace, key) =>
      run('get setting', tx, async () => {
        checkKvName('namespace', namespace);
        checkKvName('key', key);
        const row = await db
          .selectFrom('kv')
          .select('value')
          .where('namespace', '=', namespace)
          .where('key', '=', key)
          .executeTakeFirst();
        return row ? (JSON.parse(row.value) as JsonValue) : undefined;
      }),

    set: (namespace, key, value) =>
      run('set setting', tx, async () => {
        const ns = checkKvName('namespace', namespace);
        const k = checkKvName('key', key);
        const text = toJson(`settings value ${ns}/${k}`, value);
        const now = Date.now();
        await db
          .insertInto('kv')
          .values({ namespace: ns, key: k, value: text, updated_at: now })
          .onConflict((oc) => oc.columns(['namespace', 'key']).doUpdateSet({ value: text, updated_at: now }))
          .execute();
      }),

    delete: (namespace, key) =>
      run('delete setting', tx, async () => {
        checkKvName('namespace', namespace);
        checkKvName('key', key);
        const res = await db
          .deleteFrom('kv')
          .where('namespace', '=', namespace)
          .where('key', '=', key)
          .executeTakeFirst();
        return res.numDeletedRows > 0n;
      }),

    list: (namespace) =>
      run('list settings', tx, async () => {
        checkKvName('namespace', namespace);
        const rows = await db
          .selectFrom('kv')
          .select(['key', 'value', 'updated_at'])
          .where('namespace', '=', namespace)
          .execute();
        // Sorted here because SQLite (binary) and PostgreSQL (locale) collate text differently.
        return rows
          .map((r): KvEntry => ({
            key: r.key,
            value: JSON.parse(r.value) as JsonValue,
            updatedAt: Number(r.updated_at),
          }))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      }),
  };
}

function repositories(db: Db, tx: TxState | undefined): StateTx {
  return {
    dashboards: dashboardRepo(db, tx),
    kv: kvRepo(db, tx),
    users: oncallDocRepo(db, tx, 'oncall_users'),
    teams: oncallDocRepo(db, tx, 'oncall_teams'),
    schedules: oncallDocRepo(db, tx, 'oncall_schedules'),
    policies: oncallDocRepo(db, tx, 'escalation_policies'),
    incidents: incidentRepo(db, tx),
  };
}

/** Options that differ per dialect. */
export interface KyselyStateStoreOptions {
  /**
   * Statement that opens a transaction. SQLite uses BEGIN IMMEDIATE so the write lock is taken up front: a
   * deferred transaction that reads, then writes, can fail with SQLITE_BUSY when another process wrote.
   */
  readonly beginSql: string;
}

/** StateStore over any Kysely dialect whose schema was migrated by `openStateStore`. */
export class KyselyStateStore implements StateStore {
  readonly dashboards: DashboardRepo;
  readonly kv: KvRepo;
  readonly users: OncallDocRepo;
  readonly teams: OncallDocRepo;
  readonly schedules: OncallDocRepo;
  readonly policies: OncallDocRepo;
  readonly incidents: IncidentRepo;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: KyselyStateStoreOptions,
  ) {
    const repos = repositories(db, undefined);
    this.dashboards = repos.dashboards;
    this.kv = repos.kv;
    this.users = repos.users;
    this.teams = repos.teams;
    this.schedules = repos.schedules;
    this.policies = repos.policies;
    this.incidents = repos.incidents;
  }

  async transaction<T>(fn: (tx: StateTx) => Promise<T>): Promise<T> {
    if (this.closed) throw new StateStoreError('state store: transaction: the store is closed');
    let entered = false;
    try {
      return await this.runTransaction(fn, () => {
        entered = true;
      });
    } catch (err) {
      // Failing to get a connection surfaces here unwrapped; errors from inside are already final.
      if (entered || err instanceof StateStoreError) throw err;
      throw new StateStoreError(`state store: begin transaction: ${message(err)}`, { cause: err });
    }
  }

  private runTransaction<T>(fn: (tx: StateTx) => Promise<T>, onConnected: () => void): Promise<T> {
    // One connection for the whole transaction; on SQLite this also holds Kysely's connection mutex, which
    // is what serializes transactions within the process.
    return this.db.connection().execute(async (conn) => {
      onConnected();
      const state: TxState = {};
      await run('begin transaction', undefined, () => sql.raw(this.options.beginSql).execute(conn));
      const rollback = async () => {
        // A failed rollback means the connection is gone, and the server discards the transaction anyway;
        // the caller needs the original error, not this one.
        await sql`rollback`.execute(conn).catch(() => undefined);
      };
      let result: T;
      try {
        result = await fn(repositories(conn, state));
      } catch (err) {
        await rollback();
        throw err;
      }
      if (state.failure !== undefined) {
        await rollback();
        throw new StateStoreError(
          'state store: transaction rolled back: a statement in it failed (' + message(state.failure) + ')',
          { cause: state.failure },
        );
      }
      try {
        await sql`commit`.execute(conn);
      } catch (err) {
        // SQLite keeps the transaction open when COMMIT fails (for example SQLITE_BUSY).
        await rollback();
        throw new StateStoreError(`state store: commit failed: ${message(err)}`, { cause: err });
      }
      return result;
    });
  }

  close(): Promise<void> {
    this.closed ??= this.db.destroy();
    return this.closed;
  }
}
