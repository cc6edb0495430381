/**
 * Incidents over Vigil's JSON API (docs/incidents.md):
 *
 * - `GET /api/vigil/v1/incidents?status=triggered,acknowledged&service=&severity=&since=&until=&limit=&q=&cursor=`:
 *   `{incidents: [...], next?}`, newest first (opened time, then id); `q` (or `search`) keeps those whose
 *   title, notes, resolution, labels, alerts, services or components contain every word. `next`, present
 *   when more follow, is an opaque cursor: pass it as `cursor` with the same filters for the next page.
 * - `GET /incidents/{id}/similar?limit=`: `{similar: [...]}`, resolved incidents most like this one with the
 *   reasons and their resolution.
 * - `POST /incidents` `{title, severity?, services?, components?, policyId?, assignee?, actor?}`: opens one by hand.
 * - `GET /incidents/{id}`: `{incident, events, pages, links}` (timeline oldest first).
 * - `POST /incidents/{id}/ack|resolve` `{actor}` (resolve also `{note}`: what fixed it); `POST /incidents/{id}/notes` `{text, actor}`;
 *   `POST /incidents/{id}/assign` `{assignee, actor}`. A lost acknowledgement race, or acting on an incident in
 *   the wrong state, is a 409 that says who acted first.
 * - `GET /incidents/{id}/ack?exp=&sig=` (and `/resolve`): the signed links sent in pages. A GET changes nothing:
 *   it shows the incident and a button (HTML for a browser, JSON otherwise) that POSTs `exp` and `sig` back to
 *   the same path, which acts. Forged, tampered or expired links are refused with 403 and change nothing.
 * - `GET /incidents/analytics?since=&until=&interval=`: MTTA/MTTR per service, team and severity, over time,
 *   pages per person, incidents per component.
 * - `GET /incidents/{id}/report.md`: the post-incident report as Markdown.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { incidentAnalytics } from '../incidents/analytics.ts';
import { cursorKey, decodeCursor, encodeCursor, filterFingerprint } from '../incidents/cursor.ts';
import { verifyLink, type LinkAction } from '../incidents/links.ts';
import { validateTeam, type Team } from '../incidents/model.ts';
import { searchIncidents } from '../incidents/kb.ts';
import { incidentReport } from '../incidents/report.ts';
import { IncidentConflictError, IncidentInputError, type IncidentService } from '../incidents/service.ts';
import { parseDuration } from '../model/duration.ts';
import { InvalidInputError, NotFoundError } from '../state/errors.ts';
import type { Incident, IncidentKey, IncidentStatus, StateStore } from '../state/interface.ts';
import type { SpanStore } from '../traces/store.ts';
import { timeParam } from './oncall.ts';
import {
  actionApplies,
  confirmPage,
  donePage,
  LINK_PAGE_HEADERS,
  refusalPage,
  wantsHtml,
} from './incidents.link-page.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler, installJsonParser } from './vigil-api.ts';

export interface IncidentsApiDeps {
  readonly state: StateStore;
  readonly incidents: IncidentService;
  readonly now?: () => number;
  readonly externalURL: () => string;
  /** Traces of the affected services for the report; optional. */
  readonly spans?: Pick<SpanStore, 'findTraceIds'>;
}

const BASE = `${VIGIL_API_PREFIX}/incidents`;
const STATUSES: readonly IncidentStatus[] = ['triggered', 'acknowledged', 'resolved'];
const DAY = 86_400_000;

function mapError(err: unknown): never {
  if (err instanceof IncidentConflictError) throw new HttpError(409, err.message);
  if (err instanceof IncidentInputError || err instanceof InvalidInputError)
    throw new HttpError(400, err.message);
  if (err instanceof NotFoundError) throw new HttpError(404, err.message);
  throw err;
}

function actorOf(body: unknown, dflt: string): string {
  if (body === undefined || body === null) return dflt;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'request body must be a JSON object');
  const a = (body as { actor?: unknown }).actor;
  if (a === undefined) return dflt;
  if (typeof a !== 'string' || a.trim() === '' || a.length > 200)
    throw new HttpError(400, 'actor must be a non-empty string of at most 200 characters (who is acting)');
  return a.trim();
}

function str(q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `query parameter ${name}: give it once`);
  return v;
}

export function incidentsApi(deps: IncidentsApiDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const s = deps.state;
  const svc = deps.incidents;

  async function detail(id: string) {
    const incident = await s.incidents.get(id);
    if (!incident) throw new HttpError(404, `incident ${JSON.stringify(id)} not found`);
    const [events, pages] = await Promise.all([
      s.incidents.events(id),
      s.incidents.pages({ incidentId: id }),
    ]);
    return { incident, events, pages };
  }

  async function teams(): Promise<Team[]> {
    const users = new Set((await s.users.list()).map((u) => u.id));
    return (await s.teams.list()).flatMap((d) => {
      const v = validateTeam({ ...d.body, id: d.id, name: d.name }, users);
      return v.ok ? [v.value] : [];
    });
  }

  const VERBS: Record<LinkAction, [verb: string, done: string]> = {
    ack: ['acknowledge', 'acknowledged'],
    resolve: ['resolve', 'resolved'],
  };

  /** A signed link's refusal reason, or undefined when it is valid now. */
  async function linkRefusal(id: string, action: LinkAction, exp: unknown, sig: unknown) {
    const secret = await svc.issuedLinkSecret();
    const check = secret
      ? verifyLink(secret, id, action, exp, sig, now())
      : { ok: false as const, reason: 'no link was ever issued by this Vigil' };
    return check.ok ? undefined : `${VERBS[action][0]} link refused: ${check.reason}; nothing was changed`;
  }

  /** Answers a refused or failed link: an HTML page for a browser, the usual JSON error otherwise. */
  function refuse(req: FastifyRequest, reply: FastifyReply, action: LinkAction, err: HttpError) {
    if (!wantsHtml(req.headers.accept)) throw err;
    return reply
      .code(err.status)
      .headers(LINK_PAGE_HEADERS)
      .send(refusalPage(action, err.status, err.message));
  }

  function signedLinkRoutes(app: FastifyInstance, action: LinkAction): void {
    const [verb, done] = VERBS[action];
    const act = (id: string, actor: string, via: string, note?: unknown) =>
      action === 'ack' ? svc.acknowledge(id, actor, via) : svc.resolve(id, actor, undefined, note);

    // Opening a signed link (as link scanners and chat unfurlers do) only shows what the button would do.
    app.get<{ Params: { id: string } }>(`${BASE}/:id/${action}`, async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const refused = await linkRefusal(req.params.id, action, q.exp, q.sig);
      if (refused) return refuse(req, reply, action, new HttpError(403, refused));
      const incident = await s.incidents.get(req.params.id);
      if (!incident)
        return refuse(
          req,
          reply,
          action,
          new HttpError(404, `incident ${JSON.stringify(req.params.id)} not found`),
        );
      const { id, title, severity, status } = incident;
      if (wantsHtml(req.headers.accept))
        return reply
          .headers(LINK_PAGE_HEADERS)
          .send(confirmPage(action, incident, String(q.exp), String(q.sig)));
      const blocked = actionApplies(action, status);
      return {
        action,
        incident: { id, title, severity, status },
        message: blocked
          ? `${blocked} Nothing was changed.`
          : `nothing was changed: POST this same URL (with exp and sig) to ${verb} incident ${id}`,
      };
    });

    // The API's own POST takes {actor} as JSON; the same path with the link's exp and sig (in the query or
    // a form body, as the confirmation page sends them) acts as the link's holder.
    app.post<{ Params: { id: string } }>(`${BASE}/:id/${action}`, async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const form = /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '');
      const b = (req.body ?? {}) as Record<string, unknown>;
      const fromBody = typeof b === 'object' && !Array.isArray(b) && ('sig' in b || 'exp' in b);
      const signed = q.sig !== undefined || q.exp !== undefined || fromBody;
      if (!signed) {
        if (form)
          throw new HttpError(
            400,
            `a form may only ${verb} with a signed link's exp and sig; API clients send JSON {actor}`,
          );
        const actor = actorOf(req.body, 'api');
        const note = (req.body as { note?: unknown } | null | undefined)?.note ?? undefined;
        return act(req.params.id, actor, 'api', note).catch(mapError);
      }
      const [exp, sig] = fromBody ? [b.exp, b.sig] : [q.exp, q.sig];
      const refused = await linkRefusal(req.params.id, action, exp, sig);
      if (refused) return refuse(req, reply, action, new HttpError(403, refused));
      let incident;
      try {
        incident = await act(req.params.id, 'link', 'signed link').catch(mapError);
      } catch (err) {
        if (err instanceof HttpError) return refuse(req, reply, action, err);
        throw err;
      }
      if (wantsHtml(req.headers.accept))
        return reply.headers(LINK_PAGE_HEADERS).send(donePage(action, incident));
      return { message: `incident ${incident.id} ${done}`, incident };
    });
  }

  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    installJsonParser(app);
    // The server parses HTML forms for the Prometheus API; here a cross-site form must not create, note,
    // assign or act, so forms are refused (415) except by the signed-link routes below.
    if (app.hasContentTypeParser('application/x-www-form-urlencoded'))
      app.removeContentTypeParser('application/x-www-form-urlencoded');

    app.get(BASE, async (req) => {
      const q = req.query as Record<string, unknown>;
      const known = ['status', 'service', 'severity', 'since', 'until', 'limit', 'q', 'search', 'cursor'];
      for (const k of Object.keys(q))
        if (!known.includes(k))
          throw new HttpError(400, `unknown query parameter ${JSON.stringify(k)}: use ${known.join(', ')}`);
      const status = str(q, 'status')
        ?.split(',')
        .map((x) => x.trim());
      for (const st of status ?? [])
        if (!STATUSES.includes(st as IncidentStatus))
          throw new HttpError(
            400,
            `query parameter status: ${JSON.stringify(st)} is not one of ${STATUSES.join(', ')}`,
          );
      const limitText = str(q, 'limit');
      const limit = limitText === undefined ? 500 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new HttpError(400, 'query parameter limit: must be a whole number from 1 to 10000');
      const text = str(q, 'q') ?? str(q, 'search');
      if (text !== undefined && text.length > 500)
        throw new HttpError(400, 'query parameter q: at most 500 characters');
      const filter = {
        status: status as IncidentStatus[] | undefined,
        service: str(q, 'service'),
        severity: str(q, 'severity'),
        since: q.since === undefined ? undefined : timeParam(q.since, 'since', 0),
        until: q.until === undefined ? undefined : timeParam(q.until, 'until', 0),
      };
      // A cursor is only good for the filters it was issued with (the text as given, so "now-1d" stays put).
      const fingerprint = filterFingerprint([
        ['status', status?.join(',')],
        ['service', filter.service],
        ['severity', filter.severity],
        ['since', str(q, 'since')],
        ['until', str(q, 'until')],
        ['q', text],
      ]);
      let after: IncidentKey | undefined;
      const cursor = str(q, 'cursor');
      if (cursor !== undefined) {
        const secret = await svc.issuedLinkSecret();
        const check = secret
          ? decodeCursor(cursorKey(secret), cursor, fingerprint)
          : { ok: false as const, reason: 'not a cursor issued by this Vigil' };
        if (!check.ok) throw new HttpError(400, `query parameter cursor: ${check.reason}`);
        after = check.key;
      }
      // One more than the page tells whether another page follows. A search filters after reading notes, so
      // candidates are read in batches until enough of them match.
      const found: Incident[] = [];
      const batch = text === undefined ? limit + 1 : Math.max(limit + 1, 500);
      for (;;) {
        const candidates = await s.incidents.list({ ...filter, after, limit: batch });
        found.push(
          ...(text === undefined ? candidates : await searchIncidents(s.incidents, candidates, text)),
        );
        if (found.length > limit || candidates.length < batch) break;
        const last = candidates[candidates.length - 1]!;
        after = { createdAt: last.createdAt, id: last.id };
      }
      const incidents = found.slice(0, limit);
      if (found.length <= limit) return { incidents };
      const last = incidents[incidents.length - 1]!;
      const key = cursorKey(await svc.linkSecret());
      return { incidents, next: encodeCursor(key, { createdAt: last.createdAt, id: last.id }, fingerprint) };
    });

    app.post(BASE, async (req, reply) => {
      const b = req.body;
      if (typeof b !== 'object' || b === null || Array.isArray(b))
        throw new HttpError(
          400,
          'request body must be a JSON object {title, severity, services, components, policyId, assignee}',
        );
      const o = b as Record<string, unknown>;
      const strings = (k: string): string[] | undefined => {
        const v = o[k];
        if (v === undefined) return undefined;
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
          throw new HttpError(400, `${k} must be a list of strings`);
        return v as string[];
      };
      const opt = (k: string): string | undefined => {
        const v = o[k];
        if (v === undefined || v === null || v === '') return undefined;
        if (typeof v !== 'string') throw new HttpError(400, `${k} must be a string`);
        return v;
      };
      const inc = await svc
        .create(
          {
            title: o.title as string,
            severity: opt('severity'),
            services: strings('services'),
            components: strings('components'),
            policyId: opt('policyId') ?? null,
            assignee: opt('assignee') ?? null,
          },
          actorOf(b, 'api'),
        )
        .catch(mapError);
      return reply.code(201).send(inc);
    });

    app.get(`${BASE}/analytics`, async (req) => {
      const q = req.query as Record<string, unknown>;
      const to = timeParam(q.until ?? q.to, 'until', now());
      const from = timeParam(q.since ?? q.from, 'since', to - 30 * DAY);
      if (from >= to)
        throw new HttpError(400, 'query parameters since and until: since must be before until');
      let intervalMs = DAY;
      const iv = str(q, 'interval');
      if (iv !== undefined) {
        try {
          intervalMs = parseDuration(iv);
        } catch (err) {
          throw new HttpError(
            400,
            `query parameter interval: ${(err as Error).message} (for example 1d or 1h)`,
          );
        }
        if (intervalMs <= 0) throw new HttpError(400, 'query parameter interval: must be above zero');
      }
      if ((to - from) / intervalMs > 1000)
        throw new HttpError(400, 'query parameter interval: at most 1000 buckets; use a longer interval');
      const [incidents, pages, t] = await Promise.all([
        s.incidents.list({ since: from, until: to }),
        s.incidents.pages({ since: from }),
        teams(),
      ]);
      return incidentAnalytics(incidents, pages, t, { from, to, intervalMs });
    });

    app.get<{ Params: { id: string } }>(`${BASE}/:id`, async (req) => {
      const d = await detail(req.params.id);
      return {
        ...d,
        links: {
          ack: await svc.link(req.params.id, 'ack'),
          resolve: await svc.link(req.params.id, 'resolve'),
        },
      };
    });

    app.get<{ Params: { id: string } }>(`${BASE}/:id/similar`, async (req) => {
      const q = req.query as Record<string, unknown>;
      const limitText = str(q, 'limit');
      const limit = limitText === undefined ? 5 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 50)
        throw new HttpError(400, 'query parameter limit: must be a whole number from 1 to 50');
      const incident = await s.incidents.get(req.params.id);
      if (!incident) throw new HttpError(404, `incident ${JSON.stringify(req.params.id)} not found`);
      return { similar: await svc.similar(incident, { limit }) };
    });

    app.get<{ Params: { id: string } }>(`${BASE}/:id/report.md`, async (req, reply) => {
      const d = await detail(req.params.id);
      let traces: string[] | undefined;
      if (deps.spans && d.incident.services.length) {
        const end = d.incident.resolvedAt ?? now();
        try {
          traces = (
            await Promise.all(
              d.incident.services.map((service) =>
                deps.spans!.findTraceIds({
                  service,
                  startNs: BigInt(d.incident.createdAt - 15 * 60_000) * 1_000_000n,
                  endNs: BigInt(end) * 1_000_000n,
                  limit: 5,
                }),
              ),
            )
          ).flat();
        } catch {
          traces = undefined;
        }
      }
      return reply
        .type('text/markdown; charset=utf-8')
        .send(incidentReport({ ...d, externalURL: deps.externalURL(), traces, generatedAt: now() }));
    });

    // Acknowledge and resolve sit in their own scope: only they accept an HTML form body, and only with the
    // link's signature, so a cross-site form cannot reach the unsigned JSON actions.
    await app.register(async (scope) => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 4096 },
        (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
      );
      for (const action of ['ack', 'resolve'] as const satisfies readonly LinkAction[])
        signedLinkRoutes(scope, action);
    });
    app.post<{ Params: { id: string } }>(`${BASE}/:id/notes`, async (req, reply) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      await svc.addNote(req.params.id, actorOf(req.body, 'api'), b.text).catch(mapError);
      return reply.code(201).send({ ok: true });
    });

    app.post<{ Params: { id: string } }>(`${BASE}/:id/assign`, async (req) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (!('assignee' in b))
        throw new HttpError(400, 'assignee is required: a user id, or null to unassign');
      return svc.assign(req.params.id, b.assignee, actorOf(req.body, 'api')).catch(mapError);
    });
  };
}
