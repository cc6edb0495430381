/**
 * On-call documents and incidents over Kysely (migration 0002). Portable SQL only; list filters that depend on
 * text collation or JSON run here in JavaScript so SQLite and PostgreSQL answer alike.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { AlreadyExistsError, InvalidInputError, NotFoundError, VersionConflictError } from './errors.ts';
import type {
  Incident,
  IncidentEvent,
  IncidentFilter,
  IncidentInput,
  IncidentKey,
  IncidentRepo,
  IncidentStatus,
  IncidentUpdate,
  JsonObject,
  OncallDoc,
  OncallDocRepo,
  Page,
} from './interface.ts';
import { isUniqueViolation, run, type TxState } from './run.ts';
import type { IncidentsTable, StateDatabase } from './schema.ts';
import { checkExpectedVersion, toJson } from './validate.ts';

type Db = Kysely<StateDatabase>;
export type OncallTable = 'oncall_users' | 'oncall_teams' | 'oncall_schedules' | 'escalation_policies';

const DOC_ID_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
const INCIDENT_ID_RE = /^[A-Za-z0-9_-]{1,40}$/;
const STATUSES: readonly IncidentStatus[] = ['triggered', 'acknowledged', 'resolved'];

const KIND: Record<OncallTable, string> = {
  oncall_users: 'user',
  oncall_teams: 'team',
  oncall_schedules: 'schedule',
  escalation_policies: 'escalation policy',
};

function checkDocId(kind: string, id: unknown): string {
  if (typeof id !== 'string' || !DOC_ID_RE.test(id))
    throw new InvalidInputError(
      `invalid ${kind} id ${JSON.stringify(id)}: use 1 to 64 letters, digits, ".", "@", "-" or "_"`,
    );
  return id;
}

function checkString(field: string, v: unknown, allowEmpty = false): string {
  if (typeof v !== 'string') throw new InvalidInputError(`${field} must be a string, got ${typeof v}`);
  if (v.includes('\u0000')) throw new InvalidInputError(`${field} must not contain NUL characters`);
  if (!allowEmpty && v.trim() === '') throw new InvalidInputError(`${field} must not be empty`);
  return v;
}

function num(v: number | string): number {
  return Number(v);
}

function numOrNull(v: number | string | null): number | null {
  return v === null ? null : Number(v);
}

/** Repository over one of the four document tables. */
export function oncallDocRepo(db: Db, tx: TxState | undefined, table: OncallTable): OncallDocRepo {
  const kind = KIND[table];
  const toDoc = (r: { id: string; name: string; body: string; updated_at: number | string }): OncallDoc => ({
    id: r.id,
    name: r.name,
    body: JSON.parse(r.body) as JsonObject,
    updatedAt: num(r.updated_at),
  });
  return {
    list: () =>
      run(`list ${kind}s`, tx, async () => {
        const rows = await db.selectFrom(table).selectAll().execute();
        return rows.map(toDoc).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      }),
    get: (id) =>
      run(`get ${kind}`, tx, async () => {
        if (typeof id !== 'string' || !DOC_ID_RE.test(id)) return undefined;
        const row = await db.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirst();
        return row ? toDoc(row) : undefined;
      }),
    put: (doc) =>
      run(`store ${kind}`, tx, async () => {
        const id = checkDocId(kind, doc.id);
        const name = checkString(`${kind} name`, doc.name).trim();
        if (typeof doc.body !== 'object' || doc.body === null || Array.isArray(doc.body))
          throw new InvalidInputError(`${kind} body must be a JSON object`);
        const body = toJson(`${kind} ${id}`, doc.body);
        const now = Date.now();
        await db
          .insertInto(table)
          .values({ id, name, body, updated_at: now })
          .onConflict((oc) => oc.column('id').doUpdateSet({ name, body, updated_at: now }))
          .execute();
        return { id, name, body: JSON.parse(body) as JsonObject, updatedAt: now };
      }),
    delete: (id) =>
      run(`delete ${kind}`, tx, async () => {
        if (typeof id !== 'string' || !DOC_ID_RE.test(id)) return false;
        const res = await db.deleteFrom(table).where('id', '=', id).executeTakeFirst();
        return res.numDeletedRows > 0n;
      }),
  };
}

/** Eight characters from an alphabet without look-alikes (no 0/O, 1/I), easy to read out and type. */
export function generateIncidentId(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('');
}

// Monotonic within a process and above any earlier process's values, so same-millisecond timeline entries
// keep the order they were written in.
let seqCounter = Date.now() * 1000;
function nextSeq(): number {
  seqCounter = Math.max(seqCounter + 1, Date.now() * 1000);
  return seqCounter;
}

function toIncident(r: Selectable<IncidentsTable>): Incident {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    status: r.status as IncidentStatus,
    assignee: r.assignee,
    groupId: r.group_id,
    policyId: r.policy_id,
    services: JSON.parse(r.services) as string[],
    components: JSON.parse(r.components) as string[],
    alerts: JSON.parse(r.alerts) as string[],
    labels: JSON.parse(r.labels) as Record<string, string>,
    createdAt: num(r.created_at),
    ackedAt: numOrNull(r.acked_at),
    ackedBy: r.acked_by,
    resolvedAt: numOrNull(r.resolved_at),
    resolvedBy: r.resolved_by,
    escalation: { step: Number(r.esc_step), loop: Number(r.esc_loop), nextAt: numOrNull(r.esc_next_at) },
    version: Number(r.version),
    updatedAt: num(r.updated_at),
  };
}

/** List order: newest first, then the larger id first (code-unit order, the same on every driver). */
function newestFirst(a: Incident, b: Incident): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** True when `i` comes strictly after `k` in list order. */
function isAfterKey(i: Incident, k: IncidentKey): boolean {
  return i.createdAt < k.createdAt || (i.createdAt === k.createdAt && i.id < k.id);
}

function checkKey(k: IncidentKey): IncidentKey {
  if (
    typeof k !== 'object' ||
    k === null ||
    typeof k.createdAt !== 'number' ||
    !Number.isSafeInteger(k.createdAt) ||
    typeof k.id !== 'string'
  )
    throw new InvalidInputError('incident list "after" must be {createdAt: epoch ms, id: string}');
  return k;
}

function checkStatus(v: unknown): IncidentStatus {
  if (!STATUSES.includes(v as IncidentStatus))
    throw new InvalidInputError(`incident status must be one of ${STATUSES.join(', ')}, got ${String(v)}`);
  return v as IncidentStatus;
}

function checkStrings(field: string, v: unknown): string {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new InvalidInputError(`${field} must be an array of strings`);
  return toJson(field, [...new Set(v as string[])]);
}

function checkTime(field: string, v: unknown, nullable: boolean): number | null {
  if (v === null && nullable) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new InvalidInputError(`${field} must be epoch milliseconds, got ${String(v)}`);
  return v;
}

function nullableText(field: string, v: unknown): string | null {
  return v === null ? null : checkString(field, v);
}

/** Row columns for the fields present in `p` (all of them for a create). */
function columns(p: IncidentUpdate): Updateable<IncidentsTable> {
  const c: Updateable<IncidentsTable> = {};
  if (p.title !== undefined) c.title = checkString('incident title', p.title).trim();
  if (p.severity !== undefined) c.severity = checkString('incident severity', p.severity);
  if (p.status !== undefined) c.status = checkStatus(p.status);
  if (p.assignee !== undefined) c.assignee = nullableText('incident assignee', p.assignee);
  if (p.groupId !== undefined) c.group_id = nullableText('incident groupId', p.groupId);
  if (p.policyId !== undefined) c.policy_id = nullableText('incident policyId', p.policyId);
  if (p.services !== undefined) c.services = checkStrings('incident services', p.services);
  if (p.components !== undefined) c.components = checkStrings('incident components', p.components);
  if (p.alerts !== undefined) c.alerts = checkStrings('incident alerts', p.alerts);
  if (p.labels !== undefined) c.labels = toJson('incident labels', p.labels);
  if (p.ackedAt !== undefined) c.acked_at = checkTime('incident ackedAt', p.ackedAt, true);
  if (p.ackedBy !== undefined) c.acked_by = nullableText('incident ackedBy', p.ackedBy);
  if (p.resolvedAt !== undefined) c.resolved_at = checkTime('incident resolvedAt', p.resolvedAt, true);
  if (p.resolvedBy !== undefined) c.resolved_by = nullableText('incident resolvedBy', p.resolvedBy);
  if (p.escalation !== undefined) {
    const e = p.escalation;
    if (!Number.isSafeInteger(e.step) || e.step < 0 || !Number.isSafeInteger(e.loop) || e.loop < 0)
      throw new InvalidInputError('incident escalation step and loop must be non-negative integers');
    c.esc_step = e.step;
    c.esc_loop = e.loop;
    c.esc_next_at = checkTime('incident escalation nextAt', e.nextAt, true);
  }
  return c;
}

export function incidentRepo(db: Db, tx: TxState | undefined): IncidentRepo {
  return {
    create: (input: IncidentInput) =>
      run('create incident', tx, async () => {
        const id = input.id ?? generateIncidentId();
        if (!INCIDENT_ID_RE.test(id))
          throw new InvalidInputError(
            `invalid incident id ${JSON.stringify(id)}: use 1 to 40 letters or digits`,
          );
        const createdAt = checkTime('incident createdAt', input.createdAt, false)!;
        const c = columns(input);
        const row = {
          ...c,
          id,
          created_at: createdAt,
          version: 1,
          updated_at: Date.now(),
        } as Insertable<IncidentsTable>;
        try {
          await db.insertInto('incidents').values(row).execute();
        } catch (err) {
          if (isUniqueViolation(err)) throw new AlreadyExistsError('incident', id);
          throw err;
        }
        return toIncident(row as Selectable<IncidentsTable>);
      }),

    get: (id) =>
      run('get incident', tx, async () => {
        if (typeof id !== 'string' || !INCIDENT_ID_RE.test(id)) return undefined;
        const row = await db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
        return row ? toIncident(row) : undefined;
      }),

    list: (filter: IncidentFilter = {}) =>
      run('list incidents', tx, async () => {
        const after = filter.after === undefined ? undefined : checkKey(filter.after);
        const limit = filter.limit;
        if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0))
          throw new InvalidInputError(`incident list limit must be a non-negative integer, got ${limit}`);
        // The SQL part of the filter; the keyset bound on created_at is added per read below.
        let base = db.selectFrom('incidents').selectAll();
        if (filter.status?.length) base = base.where('status', 'in', filter.status.map(checkStatus));
        if (filter.severity !== undefined) base = base.where('severity', '=', filter.severity);
        if (filter.groupId !== undefined) base = base.where('group_id', '=', filter.groupId);
        if (filter.since !== undefined) base = base.where('created_at', '>=', filter.since);
        if (filter.until !== undefined) base = base.where('created_at', '<=', filter.until);
        if (filter.openOrResolvedSince !== undefined) {
          const t = filter.openOrResolvedSince;
          base = base.where((eb) => eb.or([eb('status', '!=', 'resolved'), eb('resolved_at', '>=', t)]));
        }
        // Services (JSON text) and the id tie-break are checked here: ids compare by code unit in JavaScript,
        // whereas PostgreSQL would order them by its collation.
        const keep = (i: Incident) =>
          (filter.service === undefined || i.services.includes(filter.service)) &&
          (after === undefined || isAfterKey(i, after));
        let bound = after?.createdAt;
        const upTo = <Q extends typeof base>(q: Q): Q =>
          bound === undefined ? q : (q.where('created_at', '<=', bound) as Q);
        if (limit === undefined)
          return (await upTo(base).execute()).map(toIncident).filter(keep).sort(newestFirst);
        if (limit === 0) return [];
        // Read newest first in batches until `limit` incidents pass the filters written in JavaScript.
        const batch = Math.min(Math.max(limit, 64), 5000);
        const out: Incident[] = [];
        for (;;) {
          const rows = await upTo(base).orderBy('created_at', 'desc').limit(batch).execute();
          let chunk = rows.map(toIncident);
          const full = rows.length === batch;
          if (full) {
            // The batch may have cut the incidents opened in its last millisecond in two: read all of those.
            const edge = chunk[chunk.length - 1]!.createdAt;
            const tied = await base.where('created_at', '=', edge).execute();
            chunk = chunk.filter((i) => i.createdAt > edge).concat(tied.map(toIncident));
            bound = edge - 1;
          }
          out.push(...chunk.filter(keep).sort(newestFirst));
          if (out.length >= limit || !full) return out.slice(0, limit);
        }
      }),

    update: (id, patch, expectedVersion) =>
      run('update incident', tx, async () => {
        checkExpectedVersion(expectedVersion);
        const c = columns(patch);
        if (typeof id !== 'string' || !INCIDENT_ID_RE.test(id))
          throw new NotFoundError('incident', String(id));
        // The conditional UPDATE is the compare-and-set (see DashboardRepo.update).
        const row = await db
          .updateTable('incidents')
          .set((eb) => ({ ...c, version: eb('version', '+', 1), updated_at: Date.now() }))
          .where('id', '=', id)
          .where('version', '=', expectedVersion)
          .returningAll()
          .executeTakeFirst();
        if (row) return toIncident(row);
        const cur = await db
          .selectFrom('incidents')
          .select('version')
          .where('id', '=', id)
          .executeTakeFirst();
        if (!cur) throw new NotFoundError('incident', id);
        throw new VersionConflictError('incident', id, expectedVersion, Number(cur.version));
      }),

    addEvent: (e) =>
      run('add incident event', tx, async () => {
        const row = {
          id: randomUUID(),
          incident_id: checkString('event incidentId', e.incidentId),
          seq: nextSeq(),
          at: checkTime('event at', e.at, false)!,
          kind: checkString('event kind', e.kind),
          actor: checkString('event actor', e.actor),
          detail: toJson('event detail', e.detail),
        };
        await db.insertInto('incident_events').values(row).execute();
        return { ...e, id: row.id, detail: JSON.parse(row.detail) as JsonObject };
      }),

    events: (incidentId) =>
      run('list incident events', tx, async () => {
        const rows = await db
          .selectFrom('incident_events')
          .selectAll()
          .where('incident_id', '=', incidentId)
          .orderBy('at')
          .orderBy('seq')
          .execute();
        return rows.map((r): IncidentEvent => ({
          id: r.id,
          incidentId: r.incident_id,
          at: num(r.at),
          kind: r.kind,
          actor: r.actor,
          detail: JSON.parse(r.detail) as JsonObject,
        }));
      }),

    eventsOfKinds: (kinds, incidentIds) =>
      run('list incident events by kind', tx, async () => {
        if (!kinds.length || (incidentIds && !incidentIds.length)) return [];
        // Kysely builders are immutable: each chunk below adds its own id filter to this base.
        const q = db
          .selectFrom('incident_events')
          .selectAll()
          .where('kind', 'in', [...kinds]);
        // Chunked so long id lists stay under SQLite's bound-parameter limit.
        const ids = incidentIds ? [...new Set(incidentIds)] : undefined;
        const rows = [];
        if (!ids) rows.push(...(await q.execute()));
        else
          for (let i = 0; i < ids.length; i += 500)
            rows.push(...(await q.where('incident_id', 'in', ids.slice(i, i + 500)).execute()));
        return rows
          .map((r): IncidentEvent & { seq: number } => ({
            id: r.id,
            incidentId: r.incident_id,
            at: num(r.at),
            kind: r.kind,
            actor: r.actor,
            detail: JSON.parse(r.detail) as JsonObject,
            seq: Number(r.seq),
          }))
          .sort((a, b) => a.at - b.at || a.seq - b.seq)
          .map(({ seq: _seq, ...e }) => e);
      }),

    addPage: (p) =>
      run('add page', tx, async () => {
        if (p.outcome !== 'delivered' && p.outcome !== 'failed')
          throw new InvalidInputError(`page outcome must be delivered or failed, got ${String(p.outcome)}`);
        const row = {
          id: randomUUID(),
          incident_id: checkString('page incidentId', p.incidentId),
          seq: nextSeq(),
          step: p.step,
          user_id: p.userId,
          channel: checkString('page channel', p.channel),
          outcome: p.outcome,
          error: p.error,
          at: checkTime('page at', p.at, false)!,
        };
        await db.insertInto('incident_pages').values(row).execute();
        return { ...p, id: row.id };
      }),

    pages: (filter) =>
      run('list pages', tx, async () => {
        let q = db.selectFrom('incident_pages').selectAll();
        if (filter.incidentId !== undefined) q = q.where('incident_id', '=', filter.incidentId);
        if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
        const rows = await q.orderBy('at').orderBy('seq').execute();
        return rows.map((r): Page => ({
          id: r.id,
          incidentId: r.incident_id,
          step: Number(r.step),
          userId: r.user_id,
          channel: r.channel,
          outcome: r.outcome as Page['outcome'],
          error: r.error,
          at: num(r.at),
        }));
      }),
  };
}
