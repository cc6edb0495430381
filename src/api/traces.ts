/**
 * Vigil's own trace endpoints for the web UI: trace search with attribute conditions
 * (`GET /api/vigil/v1/traces`), the service map with RED figures (`GET /api/vigil/v1/service-map`) and the
 * services with their operations (`GET /api/vigil/v1/services`). Times in answers are microseconds since the
 * epoch as JSON numbers; errors are `{error}` with status 400. Contract: docs/api.md.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AttributeCondition, SpanKind, StatusCode, TraceQuery } from '../traces/model.ts';
import { ConditionError, parseCondition } from '../traces/search/condition.ts';
import { GoDurationError, parseGoDuration } from '../traces/search/duration.ts';
import type { SpanStore } from '../traces/store.ts';
import { ApiError, parseTime } from './params.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler } from './vigil-api.ts';

export interface TracesApiDeps {
  readonly spans: SpanStore;
  /** Clock in ms (tests pin it). */
  readonly now?: () => number;
}

/** One result of `GET /api/vigil/v1/traces`. */
export interface TraceSearchItem {
  readonly traceId: string;
  readonly rootService: string;
  readonly rootName: string;
  readonly startUs: number;
  readonly durationUs: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly services: { service: string; spanCount: number; errorCount: number }[];
}

export interface ServiceMapNode {
  readonly service: string;
  readonly spans: number;
  readonly errors: number;
  readonly ratePerSecond: number;
  readonly errorRate: number;
  readonly p95Ms: number;
}

export interface ServiceMapEdge {
  readonly source: string;
  readonly target: string;
  readonly calls: number;
  readonly errors: number;
  readonly ratePerSecond: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

const DEFAULT_WINDOW_MS = 3_600_000;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: readonly StatusCode[] = ['error', 'ok', 'unset'];

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) {
    if (v.length > 1)
      throw new HttpError(400, `parameter "${name}" is given ${v.length} times; give it once`);
    return v[0];
  }
  return v;
}

function many(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A time parameter (RFC 3339 or unix seconds) in ns. */
function timeParam(q: Query, name: string, dfltMs: number): bigint {
  const v = one(q, name);
  if (v === undefined || v === '') return BigInt(dfltMs) * 1_000_000n;
  try {
    return BigInt(parseTime(v, name)) * 1_000_000n;
  } catch (err) {
    if (err instanceof ApiError)
      throw new HttpError(
        400,
        `invalid parameter "${name}": ${JSON.stringify(v)} is not a time (use RFC 3339 such as 2026-01-02T15:04:05Z, or unix seconds)`,
      );
    throw err;
  }
}

/** The window [start, end]: both default from the clock (end now, start an hour before end). */
function windowParams(q: Query, nowMs: number): { startNs: bigint; endNs: bigint } {
  const endNs = timeParam(q, 'end', nowMs);
  const startNs = timeParam(q, 'start', Number(endNs / 1_000_000n) - DEFAULT_WINDOW_MS);
  if (startNs > endNs) throw new HttpError(400, 'invalid parameters: "start" is after "end"');
  return { startNs, endNs };
}

function durationParam(q: Query, name: string): bigint | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  let ns: bigint;
  try {
    ns = parseGoDuration(v);
  } catch (err) {
    if (err instanceof GoDurationError)
      throw new HttpError(400, `invalid parameter "${name}": ${err.message}`);
    throw err;
  }
  if (ns < 0n) throw new HttpError(400, `invalid parameter "${name}": ${JSON.stringify(v)} is negative`);
  return ns;
}

function choice<T extends string>(q: Query, name: string, allowed: readonly T[]): T | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (!allowed.includes(v as T))
    throw new HttpError(
      400,
      `invalid parameter "${name}": ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`,
    );
  return v as T;
}

/** Parses the search parameters into a TraceQuery; throws HttpError 400 naming the parameter. */
export function parseSearch(q: Query, nowMs: number): TraceQuery {
  const { startNs, endNs } = windowParams(q, nowMs);
  const conditions: AttributeCondition[] = many(q, 'attr').map((text, i) => {
    try {
      return parseCondition(text);
    } catch (err) {
      if (err instanceof ConditionError)
        throw new HttpError(400, `invalid parameter "attr" #${i + 1}: ${err.message}`);
      throw err;
    }
  });
  const limitText = one(q, 'limit');
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined && limitText !== '') {
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIMIT)
      throw new HttpError(
        400,
        `invalid parameter "limit": ${JSON.stringify(limitText)} is not a whole number from 1 to ${MAX_LIMIT}`,
      );
    limit = Number(limitText);
  }
  const minDurationNs = durationParam(q, 'minDuration');
  const maxDurationNs = durationParam(q, 'maxDuration');
  if (minDurationNs !== undefined && maxDurationNs !== undefined && maxDurationNs < minDurationNs)
    throw new HttpError(400, 'invalid parameters: "maxDuration" is less than "minDuration"');
  const service = one(q, 'service');
  const operation = one(q, 'operation');
  const kind = choice(q, 'kind', KINDS);
  const status = choice(q, 'status', STATUSES);
  return {
    ...(service ? { service } : {}),
    ...(operation ? { operation } : {}),
    ...(kind ? { kind } : {}),
    ...(status ? { status } : {}),
    ...(conditions.length ? { conditions } : {}),
    ...(minDurationNs !== undefined ? { minDurationNs } : {}),
    ...(maxDurationNs !== undefined ? { maxDurationNs } : {}),
    startNs,
    endNs,
    limit,
  };
}

const perSecond = (n: number, seconds: number) => (seconds > 0 ? n / seconds : 0);
const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
const ms = (ns: number) => ns / 1e6;

export function tracesApi(deps: TracesApiDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const store = deps.spans;

  return async (app) => {
    installErrorHandler(app);

    app.get<{ Querystring: Query }>(`${VIGIL_API_PREFIX}/traces`, async (req) => {
      const query = parseSearch(req.query, now());
      const ids = await store.findTraceIds(query);
      const summaries = await store.summaries(ids);
      const traces: TraceSearchItem[] = summaries
        .map((s) => ({
          traceId: s.traceId,
          rootService: s.rootService,
          rootName: s.rootName,
          startUs: Number(s.startNs / 1000n),
          durationUs: Number(s.durationNs / 1000n),
          spanCount: s.spanCount,
          errorCount: s.errorCount,
          services: s.services.map((c) => ({ ...c })),
        }))
        .sort((a, b) => b.startUs - a.startUs);
      return { traces };
    });

    app.get<{ Querystring: Query }>(`${VIGIL_API_PREFIX}/service-map`, async (req) => {
      const { startNs, endNs } = windowParams(req.query, now());
      const seconds = Number(endNs - startNs) / 1e9;
      const g = await store.dependencies(startNs, endNs);
      const nodes: ServiceMapNode[] = g.nodes.map((n) => ({
        service: n.service,
        spans: n.spans,
        errors: n.errors,
        ratePerSecond: perSecond(n.spans, seconds),
        errorRate: ratio(n.errors, n.spans),
        p95Ms: ms(n.p95Ns),
      }));
      const edges: ServiceMapEdge[] = g.edges.map((e) => ({
        source: e.parent,
        target: e.child,
        calls: e.calls,
        errors: e.errors,
        ratePerSecond: perSecond(e.calls, seconds),
        errorRate: ratio(e.errors, e.calls),
        p50Ms: ms(e.p50Ns),
        p95Ms: ms(e.p95Ns),
        p99Ms: ms(e.p99Ns),
      }));
      return { nodes, edges };
    });

    app.get(`${VIGIL_API_PREFIX}/services`, async () => {
      const names = await store.services();
      const services = [];
      for (const service of names) {
        const operations = (await store.operations(service)).map((o) => ({ name: o.name, kind: o.kind }));
        services.push({ service, operations });
      }
      return { services };
    });
  };
}
