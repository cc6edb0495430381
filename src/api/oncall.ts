/**
 * On-call over Vigil's JSON API (docs/incidents.md):
 *
 * - `/api/vigil/v1/users`, `/teams`, `/schedules`, `/escalation-policies`: list (`{users: [...]}` …), get,
 *   create (POST to the collection), replace (PUT `/{id}`), delete. Input is validated as in the on-call file;
 *   a reference to an unknown user, schedule, team or receiver is refused (400) with its name, and deleting a
 *   document that another one references is refused (409) naming the referrer.
 * - `/schedules/{id}/oncall?at=`, `/schedules/{id}/shifts?from=&to=`, `/schedules/{id}/coverage?from=&to=`
 *   (gaps and overlapping layers, shown rather than resolved), `/schedules/{id}.ics?from=&to=` (iCalendar),
 *   POST `/schedules/{id}/overrides`.
 *
 * Times are epoch milliseconds, Unix seconds (below 10^11) or RFC 3339.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import {
  formatProblems,
  policyBody,
  validatePolicy,
  validateTeam,
  validateUser,
  type Problem,
} from '../incidents/model.ts';
import { validateScheduleDoc } from '../incidents/provision.ts';
import type { IncidentService } from '../incidents/service.ts';
import { coverage, onCallAt, shifts, toICalendar, type ScheduleSpec } from '../oncall/schedule.ts';
import { InvalidInputError } from '../state/errors.ts';
import type { JsonObject, OncallDoc, OncallDocRepo, StateStore } from '../state/interface.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler, installJsonParser } from './vigil-api.ts';

export interface OncallApiDeps {
  readonly state: StateStore;
  /** For policy reference checks (receivers) and the clock. */
  readonly incidents: Pick<IncidentService, 'knownIds'>;
  readonly now?: () => number;
}

const DAY = 86_400_000;
const MAX_RANGE_MS = 366 * DAY;

/** A time query parameter: epoch ms, Unix seconds (below 10^11) or RFC 3339. */
export function timeParam(v: unknown, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (typeof v !== 'string') throw new HttpError(400, `query parameter ${name}: give it once`);
  const n = Number(v);
  if (v.trim() !== '' && Number.isFinite(n)) return Math.round(Math.abs(n) < 1e11 ? n * 1000 : n);
  const t = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (Number.isFinite(t)) return t;
  throw new HttpError(
    400,
    `query parameter ${name}: ${JSON.stringify(v)} is not a time: use epoch milliseconds, Unix seconds or RFC 3339`,
  );
}

function range(q: Record<string, unknown>, now: number, dfltSpan: number): { from: number; to: number } {
  const from = timeParam(q.from, 'from', now);
  const to = timeParam(q.to, 'to', from + dfltSpan);
  if (to <= from) throw new HttpError(400, 'query parameters from and to: from must be before to');
  if (to - from > MAX_RANGE_MS)
    throw new HttpError(400, 'query parameters from and to: the range is at most 366 days');
  return { from, to };
}

function invalid(what: string, problems: readonly Problem[]): HttpError {
  return new HttpError(
    400,
    `invalid ${what}: ${formatProblems(problems)}`,
    problems.map((p) => ({ path: p.path, message: p.message })),
  );
}

function bodyObject(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, `request body must be a JSON object describing the ${what}`);
  return body as Record<string, unknown>;
}

/** The id in the URL wins; a different id in the body is an error rather than a silent rename. */
function withId(body: Record<string, unknown>, id: string | undefined): Record<string, unknown> {
  if (id === undefined) return body;
  if (body.id !== undefined && body.id !== id)
    throw new HttpError(
      400,
      `id ${JSON.stringify(body.id)} in the body differs from ${JSON.stringify(id)} in the URL`,
    );
  return { ...body, id };
}

function userJson(d: OncallDoc): JsonObject {
  return {
    id: d.id,
    name: d.name,
    contacts: (d.body.contacts ?? []) as JsonObject[],
    updatedAt: d.updatedAt,
  };
}

function scheduleSpec(d: OncallDoc): ScheduleSpec {
  return d.body.spec as unknown as ScheduleSpec;
}

function scheduleJson(d: OncallDoc, now?: number): JsonObject {
  const spec = scheduleSpec(d);
  const out: JsonObject = {
    id: d.id,
    name: d.name,
    timeZone: spec.timeZone,
    layers: spec.layers as unknown as JsonObject[],
    overrides: (spec.overrides ?? []) as unknown as JsonObject[],
    updatedAt: d.updatedAt,
  };
  if (now !== undefined) {
    try {
      out.onCallNow = onCallAt(spec, now).users;
    } catch {
      out.onCallNow = [];
    }
  }
  return out;
}

function policyJson(d: OncallDoc): JsonObject {
  return { ...d.body, id: d.id, name: d.name, updatedAt: d.updatedAt };
}

export function oncallApi(deps: OncallApiDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const s = deps.state;

  /** Who references a document, for refusing its deletion. */
  async function referrers(kind: 'user' | 'team' | 'schedule', id: string): Promise<string[]> {
    const out: string[] = [];
    for (const p of await s.policies.list()) {
      const steps = (p.body.steps ?? []) as { targets?: { type: string; id: string }[] }[];
      if (steps.some((st) => (st.targets ?? []).some((t) => t.type === kind && t.id === id)))
        out.push(`escalation policy ${p.id}`);
    }
    if (kind === 'user') {
      for (const t of await s.teams.list())
        if (((t.body.members ?? []) as string[]).includes(id)) out.push(`team ${t.id}`);
      for (const sc of await s.schedules.list()) {
        const spec = scheduleSpec(sc);
        if (
          spec.layers.some((l) => l.users.includes(id)) ||
          (spec.overrides ?? []).some((o) => o.user === id)
        )
          out.push(`schedule ${sc.id}`);
      }
    }
    return out;
  }

  async function userIds(): Promise<Set<string>> {
    return new Set((await s.users.list()).map((u) => u.id));
  }

  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    installJsonParser(app);

    const crud = (
      path: string,
      kind: 'user' | 'team' | 'schedule' | 'escalation policy',
      key: string,
      repo: OncallDocRepo,
      toJson: (d: OncallDoc) => JsonObject,
      validate: (body: Record<string, unknown>) => Promise<{ id: string; name: string; body: JsonObject }>,
      listJson: (d: OncallDoc) => JsonObject = toJson,
    ) => {
      const base = `${VIGIL_API_PREFIX}/${path}`;
      const notFound = (id: string) => new HttpError(404, `${kind} ${JSON.stringify(id)} not found`);
      const save = async (body: unknown, id: string | undefined, mustBeNew: boolean) => {
        const doc = await validate(withId(bodyObject(body, kind), id));
        if (mustBeNew && (await repo.get(doc.id)))
          throw new HttpError(
            409,
            `${kind} ${JSON.stringify(doc.id)} already exists: use PUT ${base}/${doc.id} to replace it`,
          );
        try {
          return toJson(await repo.put(doc));
        } catch (err) {
          if (err instanceof InvalidInputError) throw new HttpError(400, `invalid ${kind}: ${err.message}`);
          throw err;
        }
      };
      app.get(base, async () => ({ [key]: (await repo.list()).map(listJson) }));
      app.post(base, async (req, reply) => reply.code(201).send(await save(req.body, undefined, true)));
      app.put<{ Params: { id: string } }>(`${base}/:id`, async (req) => save(req.body, req.params.id, false));
      app.delete<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
        const id = req.params.id;
        if (kind !== 'escalation policy') {
          const refs = await referrers(kind, id);
          if (refs.length)
            throw new HttpError(
              409,
              `cannot delete ${kind} ${JSON.stringify(id)}: it is used by ${refs.join(', ')}`,
            );
        }
        if (!(await repo.delete(id))) throw notFound(id);
        return reply.code(204).send();
      });
      return { base, notFound };
    };

    crud('users', 'user', 'users', s.users, userJson, async (b) => {
      const v = validateUser(b);
      if (!v.ok) throw invalid('user', v.problems);
      return {
        id: v.value.id,
        name: v.value.name,
        body: { id: v.value.id, name: v.value.name, contacts: v.value.contacts as unknown as JsonObject[] },
      };
    });
    app.get<{ Params: { id: string } }>(`${VIGIL_API_PREFIX}/users/:id`, async (req) => {
      const d = await s.users.get(req.params.id);
      if (!d) throw new HttpError(404, `user ${JSON.stringify(req.params.id)} not found`);
      return userJson(d);
    });

    crud('teams', 'team', 'teams', s.teams, policyJson, async (b) => {
      const v = validateTeam(b, await userIds());
      if (!v.ok) throw invalid('team', v.problems);
      return {
        id: v.value.id,
        name: v.value.name,
        body: { id: v.value.id, name: v.value.name, members: [...v.value.members] },
      };
    });
    app.get<{ Params: { id: string } }>(`${VIGIL_API_PREFIX}/teams/:id`, async (req) => {
      const d = await s.teams.get(req.params.id);
      if (!d) throw new HttpError(404, `team ${JSON.stringify(req.params.id)} not found`);
      return policyJson(d);
    });

    const validateSchedule = async (b: Record<string, unknown>) => {
      const { updatedAt: _u, onCallNow: _o, ...rest } = b;
      void _u;
      void _o;
      const v = validateScheduleDoc(rest, await userIds());
      if (!v.ok) throw invalid('schedule', v.problems);
      return {
        id: v.value.id,
        name: v.value.name,
        body: { id: v.value.id, name: v.value.name, spec: v.value.spec as unknown as JsonObject },
      };
    };
    const sched = crud(
      'schedules',
      'schedule',
      'schedules',
      s.schedules,
      (d) => scheduleJson(d),
      validateSchedule,
      (d) => scheduleJson(d, now()),
    );
    const getSchedule = async (id: string) => {
      const d = await s.schedules.get(id);
      if (!d) throw sched.notFound(id);
      return d;
    };
    app.get<{ Params: { id: string } }>(`${sched.base}/:id`, async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      if (req.params.id.endsWith('.ics')) {
        const d = await getSchedule(req.params.id.slice(0, -4));
        const r = range(q, now() - 7 * DAY, 35 * DAY);
        return reply
          .type('text/calendar; charset=utf-8')
          .header('content-disposition', `attachment; filename="${d.id}.ics"`)
          .send(toICalendar(scheduleSpec(d), r.from, r.to, { prodId: '-//Vigil//On-call//EN' }));
      }
      return scheduleJson(await getSchedule(req.params.id), now());
    });
    app.get<{ Params: { id: string } }>(`${sched.base}/:id/oncall`, async (req) => {
      const d = await getSchedule(req.params.id);
      const at = timeParam((req.query as Record<string, unknown>).at, 'at', now());
      return { at, ...onCallAt(scheduleSpec(d), at) };
    });
    app.get<{ Params: { id: string } }>(`${sched.base}/:id/shifts`, async (req) => {
      const d = await getSchedule(req.params.id);
      const r = range(req.query as Record<string, unknown>, now(), 14 * DAY);
      return { from: r.from, to: r.to, shifts: shifts(scheduleSpec(d), r.from, r.to) };
    });
    app.get<{ Params: { id: string } }>(`${sched.base}/:id/coverage`, async (req) => {
      const d = await getSchedule(req.params.id);
      const r = range(req.query as Record<string, unknown>, now(), 14 * DAY);
      return { from: r.from, to: r.to, ...coverage(scheduleSpec(d), r.from, r.to) };
    });
    app.post<{ Params: { id: string } }>(`${sched.base}/:id/overrides`, async (req, reply) => {
      const d = await getSchedule(req.params.id);
      const o = bodyObject(req.body, 'override {user, start, end}');
      const spec = scheduleSpec(d);
      const next = { id: d.id, ...spec, overrides: [...(spec.overrides ?? []), o] };
      const doc = await validateSchedule(next as unknown as Record<string, unknown>);
      return reply.code(201).send(scheduleJson(await s.schedules.put(doc), now()));
    });

    const validateP = async (b: Record<string, unknown>) => {
      const { updatedAt: _u, ...rest } = b;
      void _u;
      const v = validatePolicy(rest, await deps.incidents.knownIds());
      if (!v.ok) throw invalid('escalation policy', v.problems);
      return { id: v.value.id, name: v.value.name, body: policyBody(v.value) as JsonObject };
    };
    crud('escalation-policies', 'escalation policy', 'policies', s.policies, policyJson, validateP);
    app.get<{ Params: { id: string } }>(`${VIGIL_API_PREFIX}/escalation-policies/:id`, async (req) => {
      const d = await s.policies.get(req.params.id);
      if (!d) throw new HttpError(404, `escalation policy ${JSON.stringify(req.params.id)} not found`);
      return policyJson(d);
    });
  };
}
