/**
 * Alertmanager's HTTP API v2 with its exact JSON shapes, so Prometheus (`alerting.alertmanagers`), amtool
 * and Grafana's Alertmanager data source work against Vigil: alerts (GET/POST), alert groups, silences
 * (GET/POST, GET/DELETE by ID), status and receivers. Error answers follow Alertmanager: a JSON string with
 * status 400/404, or `{"code", "message"}` for malformed requests.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Labels } from '../model/labels.ts';
import type { CompiledMatcher } from '../model/matcher.ts';
import type { AlertPipeline } from '../alerts/pipeline.ts';
import { parseMatchers } from '../alerts/matchers.ts';
import {
  silenceState,
  SilenceNotFoundError,
  SilenceValidationError,
  type Silence,
  type SilenceMatcher,
} from '../alerts/silences.ts';
import type { StoredAlert } from '../alerts/store.ts';
import type { PostableAlert } from '../alerts/sink.ts';
import { VIGIL_API_PREFIX } from './vigil-api.ts';

export interface AlertmanagerApiDeps {
  readonly pipeline: AlertPipeline;
  readonly versionInfo: {
    readonly version: string;
    readonly revision: string;
    readonly branch: string;
    readonly buildUser: string;
    readonly buildDate: string;
    readonly goVersion: string;
  };
}

const BASE = '/api/v2';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A failure answered the way Alertmanager answers it. */
class AmError extends Error {
  override name = 'AmError';
  constructor(
    readonly status: number,
    message: string,
    /** `{"code","message"}` body (request-format errors) instead of a bare JSON string. */
    readonly coded = false,
  ) {
    super(message);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function parseTime(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !RFC3339_RE.test(v) || Number.isNaN(Date.parse(v)))
    throw new AmError(400, `parsing ${what} failed: ${JSON.stringify(v)} is not an RFC 3339 date-time`, true);
  return Date.parse(v);
}

function bool(q: Record<string, unknown>, name: string): boolean {
  const v = q[name];
  const s = Array.isArray(v) ? v.at(-1) : v;
  if (s === undefined || s === '') return true;
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw new AmError(400, `${name} in query must be of type boolean: ${JSON.stringify(s)}`, true);
}

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function filterMatchers(q: Record<string, unknown>): CompiledMatcher[] {
  try {
    return list(q.filter).flatMap((f) => parseMatchers(f));
  } catch (err) {
    throw new AmError(400, (err as Error).message);
  }
}

function receiverFilter(q: Record<string, unknown>): RegExp | undefined {
  const v = q.receiver;
  if (v === undefined || v === '') return undefined;
  try {
    return new RegExp(`^(?:${String(v)})$`);
  } catch (err) {
    throw new AmError(400, `failed to parse receiver param: ${(err as Error).message}`);
  }
}

function matchesFilter(ms: readonly CompiledMatcher[], labels: Labels): boolean {
  return ms.every((m) => m.matches(labels[m.name] ?? ''));
}

function silenceJson(s: Silence, now: number) {
  return {
    id: s.id,
    status: { state: silenceState(s, now) },
    updatedAt: iso(s.updatedAt),
    comment: s.comment,
    createdBy: s.createdBy,
    endsAt: iso(s.endsAt),
    matchers: s.matchers.map((m) => ({
      isEqual: m.isEqual,
      isRegex: m.isRegex,
      name: m.name,
      value: m.value,
    })),
    startsAt: iso(s.startsAt),
  };
}

/** Alertmanager's `CheckSilenceMatchesFilterLabels`: every filter matcher must match one of the silence's. */
function silenceMatchesFilter(s: Silence, ms: readonly CompiledMatcher[]): boolean {
  const byName = new Map(s.matchers.map((m) => [m.name, m]));
  return ms.every((f) => {
    const sm = byName.get(f.name);
    if (!sm) return false;
    if (f.type === '=~' || f.type === '!~') return f.value === sm.value;
    return f.matches(sm.value);
  });
}

function parseSilenceMatchers(v: unknown): SilenceMatcher[] {
  if (!Array.isArray(v)) throw new AmError(422, 'matchers in body is required', true);
  if (v.length === 0) throw new AmError(422, 'matchers in body should have at least 1 items', true);
  return v.map((m: unknown, i) => {
    if (!m || typeof m !== 'object')
      throw new AmError(422, `matchers.${i} in body must be of type object`, true);
    const o = m as Record<string, unknown>;
    for (const k of ['name', 'value'] as const)
      if (typeof o[k] !== 'string') throw new AmError(422, `matchers.${i}.${k} in body is required`, true);
    if (typeof o.isRegex !== 'boolean')
      throw new AmError(422, `matchers.${i}.isRegex in body is required`, true);
    if (o.isEqual !== undefined && typeof o.isEqual !== 'boolean')
      throw new AmError(422, `matchers.${i}.isEqual in body must be of type boolean`, true);
    return {
      name: o.name as string,
      value: o.value as string,
      isRegex: o.isRegex,
      isEqual: (o.isEqual as boolean | undefined) ?? true,
    };
  });
}

export function alertmanagerApi(deps: AlertmanagerApiDeps): FastifyPluginAsync {
  const p = deps.pipeline;
  return async (app: FastifyInstance) => {
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply: FastifyReply) => {
      if (err instanceof AmError)
        return reply
          .code(err.status)
          .type('application/json')
          .send(JSON.stringify(err.coded ? { code: err.status, message: err.message } : err.message));
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      if (status >= 500) req.log.error({ err }, 'request failed');
      return reply
        .code(status)
        .type('application/json')
        .send(JSON.stringify({ code: status, message: err.message }));
    });

    const alertJson = (a: StoredAlert, now: number) => ({
      annotations: a.annotations,
      endsAt: iso(a.endsAt),
      fingerprint: a.fingerprint,
      receivers: p.receiversFor(a.labels).map((name) => ({ name })),
      startsAt: iso(a.startsAt),
      status: (({ state, silencedBy, inhibitedBy }) => ({ inhibitedBy, silencedBy, state }))(
        p.status(a.labels, now),
      ),
      updatedAt: iso(a.updatedAt),
      ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
      labels: a.labels,
    });

    /** Alertmanager's alert filter for GET /alerts and /alerts/groups. */
    const alertFilter = (q: Record<string, unknown>) => {
      const matchers = filterMatchers(q);
      const recv = receiverFilter(q);
      const active = bool(q, 'active');
      const silenced = bool(q, 'silenced');
      const inhibited = bool(q, 'inhibited');
      const unprocessed = bool(q, 'unprocessed');
      void unprocessed; // Every accepted alert is routed at once, so none is ever "unprocessed".
      return (a: StoredAlert, now: number, receivers?: readonly string[]) => {
        if (a.endsAt <= now) return false;
        if (recv && !(receivers ?? p.receiversFor(a.labels)).some((r) => recv.test(r))) return false;
        if (!matchesFilter(matchers, a.labels)) return false;
        const st = p.status(a.labels, now);
        if (!active && st.state === 'active') return false;
        if (!silenced && st.silencedBy.length) return false;
        if (!inhibited && st.inhibitedBy.length) return false;
        return true;
      };
    };

    app.get(`${BASE}/alerts`, async (req) => {
      const keep = alertFilter(req.query as Record<string, unknown>);
      const now = p.clock.now();
      return p
        .activeAlerts(now)
        .filter((a) => keep(a, now))
        .map((a) => alertJson(a, now));
    });

    app.post(`${BASE}/alerts`, async (req, reply) => {
      const body = req.body;
      if (!Array.isArray(body))
        throw new AmError(400, 'parsing alerts body failed: expected a JSON array of alerts', true);
      body.forEach((a: unknown, i) => {
        if (!a || typeof a !== 'object' || Array.isArray(a))
          throw new AmError(400, `parsing alerts body failed: alert ${i} must be an object`, true);
        const o = a as Record<string, unknown>;
        if (o.labels === undefined || o.labels === null)
          throw new AmError(422, `${i}.labels in body is required`, true);
        parseTime(o.startsAt, `alerts body: ${i}.startsAt`);
        parseTime(o.endsAt, `alerts body: ${i}.endsAt`);
      });
      const res = await p.receive(body as PostableAlert[], 'api');
      if (res.rejected.length) throw new AmError(400, res.rejected.map((r) => r.error).join('; '));
      return reply.code(200).send();
    });

    app.get(`${BASE}/alerts/groups`, async (req) => {
      const q = req.query as Record<string, unknown>;
      const keep = alertFilter({ ...q, receiver: undefined });
      const recv = receiverFilter(q);
      const now = p.clock.now();
      const out = [];
      for (const g of p.groups()) {
        if (recv && !recv.test(g.receiver)) continue;
        const alerts = [...g.alerts.values()].filter((a) => keep(a, now, [g.receiver]));
        if (alerts.length === 0) continue;
        out.push({
          alerts: alerts.map((a) => alertJson(a, now)),
          labels: g.labels,
          receiver: { name: g.receiver },
        });
      }
      const key = (g: { labels: Labels; receiver: { name: string } }) =>
        JSON.stringify(Object.entries(g.labels).sort()) + '\u0000' + g.receiver.name;
      return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    });

    app.get(`${BASE}/silences`, async (req) => {
      const matchers = filterMatchers(req.query as Record<string, unknown>);
      const now = p.clock.now();
      const rank = { active: 0, pending: 1, expired: 2 };
      return p.silences
        .list()
        .filter((s) => silenceMatchesFilter(s, matchers))
        .sort((a, b) => {
          const sa = silenceState(a, now);
          const sb = silenceState(b, now);
          if (sa !== sb) return rank[sa] - rank[sb];
          if (sa === 'active') return a.endsAt - b.endsAt;
          if (sa === 'pending') return a.startsAt - b.startsAt;
          return b.endsAt - a.endsAt;
        })
        .map((s) => silenceJson(s, now));
    });

    app.post(`${BASE}/silences`, async (req) => {
      const b = req.body as Record<string, unknown> | undefined;
      if (!b || typeof b !== 'object' || Array.isArray(b))
        throw new AmError(400, 'parsing silence body failed: expected a JSON object', true);
      const matchers = parseSilenceMatchers(b.matchers);
      for (const k of ['startsAt', 'endsAt', 'createdBy', 'comment'] as const)
        if (b[k] === undefined || b[k] === null) throw new AmError(422, `${k} in body is required`, true);
      if (typeof b.createdBy !== 'string')
        throw new AmError(422, 'createdBy in body must be of type string', true);
      if (typeof b.comment !== 'string')
        throw new AmError(422, 'comment in body must be of type string', true);
      if (b.id !== undefined && typeof b.id !== 'string')
        throw new AmError(422, 'id in body must be of type string', true);
      const startsAt = parseTime(b.startsAt, 'silence body: startsAt')!;
      const endsAt = parseTime(b.endsAt, 'silence body: endsAt')!;
      const now = p.clock.now();
      if (startsAt >= endsAt)
        throw new AmError(400, 'Failed to create silence: start time must be before end time');
      if (endsAt < now) throw new AmError(400, "Failed to create silence: end time can't be in the past");
      try {
        const id = await p.silences.set(
          {
            id: b.id === '' ? undefined : (b.id as string | undefined),
            matchers,
            startsAt,
            endsAt,
            createdBy: b.createdBy,
            comment: b.comment,
          },
          now,
        );
        return { silenceID: id };
      } catch (err) {
        if (err instanceof SilenceNotFoundError) throw new AmError(404, 'silence not found');
        if (err instanceof SilenceValidationError)
          throw new AmError(400, err.message.replace(/^invalid silence/, 'silence invalid'));
        throw err;
      }
    });

    const silenceId = (params: unknown): string => {
      const id = (params as { silenceID: string }).silenceID;
      if (!UUID_RE.test(id))
        throw new AmError(422, `silenceID in path must be of type uuid: ${JSON.stringify(id)}`, true);
      return id;
    };

    app.get(`${BASE}/silence/:silenceID`, async (req) => {
      const id = silenceId(req.params);
      const s = p.silences.get(id);
      if (!s) throw new AmError(404, 'silence not found');
      return silenceJson(s, p.clock.now());
    });

    app.delete(`${BASE}/silence/:silenceID`, async (req, reply) => {
      const id = silenceId(req.params);
      try {
        await p.silences.expire(id, p.clock.now());
      } catch (err) {
        if (err instanceof SilenceNotFoundError) throw new AmError(404, 'silence not found');
        if (err instanceof SilenceValidationError) throw new AmError(400, err.message);
        throw err;
      }
      return reply.code(200).send();
    });

    app.get(`${BASE}/status`, async () => ({
      cluster: { peers: [], status: 'disabled' },
      config: { original: p.config.original },
      uptime: iso(p.startedAt),
      versionInfo: deps.versionInfo,
    }));

    app.get(`${BASE}/receivers`, async () => p.config.receivers.map((r) => ({ name: r.name })));

    // Vigil's own views of the pipeline: alert groups with their stable IDs, and the notification log
    // (newest last) that incident handling builds on.
    app.get(`${VIGIL_API_PREFIX}/alerting/groups`, async () => ({
      groups: p.groups().map((g) => ({
        id: g.id,
        groupKey: g.key,
        receiver: g.receiver,
        labels: g.labels,
        alerts: [...g.alerts.values()].map((a) => a.fingerprint).sort(),
      })),
    }));

    app.get(`${VIGIL_API_PREFIX}/alerting/notifications`, async (req) => {
      const q = req.query as Record<string, unknown>;
      const receiver = typeof q.receiver === 'string' && q.receiver !== '' ? q.receiver : undefined;
      const groupId = typeof q.group_id === 'string' && q.group_id !== '' ? q.group_id : undefined;
      return {
        notifications: p
          .notifications()
          .filter((n) => (!receiver || n.receiver === receiver) && (!groupId || n.groupId === groupId))
          .map((n) => ({ ...n, at: iso(n.at) })),
      };
    });
  };
}
