/**
 * Alert history over HTTP (docs/alerting.md, "Alert history"):
 * - `GET /api/vigil/v1/alerting/history?start=&end=&matcher=...&event=&limit=`: alert state changes, newest first;
 * - `GET /api/vigil/v1/alerting/history/notifications?start=&end=&receiver=&ok=&limit=`: notifications, newest
 *   first.
 * Times are RFC 3339 or Unix seconds; a bad parameter is answered 400 with `{error}` naming it.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { InvalidMatcherError, parseMatchers } from '../alerts/matchers.ts';
import {
  ALERT_EVENT_KINDS,
  type AlertEvent,
  type AlertEventKind,
  type AlertHistoryStore,
  type NotificationEntry,
} from '../alerts/history/store.ts';
import type { Matcher } from '../model/matcher.ts';
import { ApiError, parseTime } from './params.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler } from './vigil-api.ts';

export interface AlertHistoryApiDeps {
  readonly history: AlertHistoryStore;
}

export const DEFAULT_HISTORY_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 10_000;

type Query = Record<string, string | string[] | undefined>;

function all(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function single(q: Query, name: string): string | undefined {
  const v = all(q, name);
  if (v.length > 1)
    throw new HttpError(400, `invalid parameter "${name}": given ${v.length} times, expected once`);
  return v[0] === '' ? undefined : v[0];
}

function time(q: Query, name: string, dflt: number): number {
  const v = single(q, name);
  if (v === undefined) return dflt;
  try {
    return parseTime(v, name);
  } catch (err) {
    if (err instanceof ApiError)
      throw new HttpError(400, `${err.message} (use RFC 3339, e.g. 2026-01-02T15:04:05Z, or Unix seconds)`);
    throw err;
  }
}

function range(q: Query): { start: number; end: number } {
  const end = time(q, 'end', Number.MAX_SAFE_INTEGER);
  const start = time(q, 'start', 0);
  if (start > end) throw new HttpError(400, 'invalid parameters "start" and "end": start is after end');
  return { start, end };
}

function limit(q: Query): number {
  const v = single(q, 'limit');
  if (v === undefined) return DEFAULT_HISTORY_LIMIT;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > MAX_HISTORY_LIMIT)
    throw new HttpError(
      400,
      `invalid parameter "limit": ${JSON.stringify(v)} is not a whole number from 1 to ${MAX_HISTORY_LIMIT}`,
    );
  return n;
}

/**
 * Constructs JavaScript accepts but RE2 (Prometheus's and ClickHouse's regex engine) does not: lookaround and
 * backreferences. Refused up front so every store answers alike.
 */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

function matchers(q: Query): Matcher[] {
  const out: Matcher[] = [];
  for (const [i, text] of all(q, 'matcher').entries()) {
    const where = `invalid parameter "matcher" (#${i + 1}, ${JSON.stringify(text)})`;
    try {
      for (const m of parseMatchers(text)) {
        if ((m.type === '=~' || m.type === '!~') && NOT_RE2.test(m.value))
          throw new HttpError(
            400,
            `${where}: regular expression ${JSON.stringify(m.value)} uses lookaround or a backreference, ` +
              'which RE2 (Prometheus regex syntax) does not support',
          );
        out.push({ name: m.name, type: m.type, value: m.value });
      }
    } catch (err) {
      if (err instanceof InvalidMatcherError) throw new HttpError(400, `${where}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

function events(q: Query): AlertEventKind[] {
  const out = new Set<AlertEventKind>();
  for (const v of all(q, 'event'))
    for (const part of v.split(',').map((s) => s.trim())) {
      if (part === '') continue;
      if (!ALERT_EVENT_KINDS.includes(part as AlertEventKind))
        throw new HttpError(
          400,
          `invalid parameter "event": ${JSON.stringify(part)} is not one of ${ALERT_EVENT_KINDS.join(', ')}`,
        );
      out.add(part as AlertEventKind);
    }
  return [...out];
}

function ok(q: Query): boolean | undefined {
  const v = single(q, 'ok');
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new HttpError(400, `invalid parameter "ok": ${JSON.stringify(v)} is not true or false`);
}

const iso = (ms: number) => new Date(ms).toISOString();

function eventJson(e: AlertEvent) {
  return {
    time: iso(e.at),
    fingerprint: e.fingerprint,
    alertname: e.alertname,
    event: e.event,
    source: e.source,
    severity: e.severity,
    labels: e.labels,
    annotations: e.annotations,
    startsAt: iso(e.startsAt),
    endsAt: iso(e.endsAt),
  };
}

function notificationJson(n: NotificationEntry) {
  return {
    time: iso(n.at),
    id: n.id,
    groupId: n.groupId,
    groupKey: n.groupKey,
    receiver: n.receiver,
    integration: n.integration,
    status: n.status,
    fingerprints: n.fingerprints,
    ok: n.ok,
    attempts: n.attempts,
    error: n.error,
  };
}

export function alertHistoryApi(deps: AlertHistoryApiDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    installErrorHandler(app);

    app.get(`${VIGIL_API_PREFIX}/alerting/history`, async (req) => {
      const q = req.query as Query;
      const found = await deps.history.events({
        ...range(q),
        matchers: matchers(q),
        events: events(q),
        limit: limit(q),
      });
      return { events: found.map(eventJson) };
    });

    app.get(`${VIGIL_API_PREFIX}/alerting/history/notifications`, async (req) => {
      const q = req.query as Query;
      const found = await deps.history.notifications({
        ...range(q),
        receiver: single(q, 'receiver'),
        ok: ok(q),
        limit: limit(q),
      });
      return { notifications: found.map(notificationJson) };
    });
  };
}
