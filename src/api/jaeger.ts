/**
 * Jaeger's query HTTP API on the main port, so the Jaeger UI and Grafana's Jaeger data source read Vigil's
 * spans: `/api/traces/{id}`, `/api/traces?service=…`, `/api/services`, `/api/services/{s}/operations`,
 * `/api/operations`, `/api/dependencies`. Answers use Jaeger's envelope `{data, total, limit, offset, errors}`
 * and its UI JSON model (spans with microsecond times, typed tags, logs from events, processes from resources);
 * OTLP fields map to tags as Jaeger's OTLP receiver maps them. See docs/tracing.md.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type {
  AttributeType,
  AttributeTypes,
  Attributes,
  SpanKind,
  SpanRow,
  StatusCode,
} from '../traces/model.ts';
import { GoDurationError, parseGoDuration } from '../traces/search/duration.ts';
import type { SpanStore } from '../traces/store.ts';
import { DurationError, parseDuration } from '../model/duration.ts';

export interface JaegerApiDeps {
  readonly spans: SpanStore;
  /** Clock in ms (tests pin it). */
  readonly now?: () => number;
}

/** Jaeger's defaults: 100 traces, searches over the last 2 days, dependencies over the last 24 hours. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const DEFAULT_SEARCH_LOOKBACK_MS = 2 * 86_400_000;
const DEFAULT_DEPENDENCY_LOOKBACK_MS = 86_400_000;

/** A request Jaeger would refuse, answered with its error envelope. */
export class JaegerError extends Error {
  override name = 'JaegerError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface JaegerKeyValue {
  readonly key: string;
  readonly type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  readonly value: string | number | boolean | bigint;
}

export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly flags?: number;
  readonly operationName: string;
  readonly references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  readonly startTime: number;
  readonly duration: number;
  readonly tags: JaegerKeyValue[];
  readonly logs: { timestamp: number; fields: JaegerKeyValue[] }[];
  readonly processID: string;
  readonly warnings: string[] | null;
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: JaegerSpan[];
  readonly processes: Record<string, { serviceName: string; tags: JaegerKeyValue[] }>;
  readonly warnings: string[] | null;
}

// ---- IDs ----------------------------------------------------------------------------------------------------

/**
 * Parses a trace ID as Jaeger does (up to 32 hex digits, upper or lower case; shorter IDs are left-padded) and
 * returns the 32 lower-case digits Vigil stores.
 */
export function parseJaegerTraceId(s: string): string {
  if (s.length > 32) throw new JaegerError(400, `TraceID cannot be longer than 32 hex characters: ${s}`);
  const lo = s.length > 16 ? s.slice(s.length - 16) : s;
  const hi = s.length > 16 ? s.slice(0, s.length - 16) : '';
  for (const part of hi === '' ? [lo] : [hi, lo])
    if (!/^[0-9a-fA-F]+$/.test(part))
      throw new JaegerError(400, `strconv.ParseUint: parsing ${JSON.stringify(part)}: invalid syntax`);
  return s.toLowerCase().padStart(32, '0');
}

/** Jaeger prints a trace ID whose high 64 bits are zero with 16 digits (model.TraceID.String). */
export function formatJaegerTraceId(id: string): string {
  return id.length === 32 && id.startsWith('0000000000000000') ? id.slice(16) : id;
}

// ---- the span model -------------------------------------------------------------------------------------

const KIND_TAG: Partial<Record<SpanKind, string>> = {
  internal: 'internal',
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
};

function typedTag(key: string, value: string, type: AttributeType | undefined): JaegerKeyValue {
  switch (type) {
    case 'int': {
      const n = BigInt(value);
      return {
        key,
        type: 'int64',
        value: n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n,
      };
    }
    case 'double': {
      const n = Number(value);
      // JSON has no NaN or infinities; Jaeger cannot encode them either, so they travel as text.
      return Number.isFinite(n) ? { key, type: 'float64', value: n } : { key, type: 'string', value };
    }
    case 'bool':
      return { key, type: 'bool', value: value === 'true' };
    case 'bytes':
      return { key, type: 'binary', value };
    default:
      // Strings, and arrays and key-value lists as their JSON text (as Jaeger's OTLP translator does).
      return { key, type: 'string', value };
  }
}

function typedTags(attrs: Attributes, types: AttributeTypes, skip?: string): JaegerKeyValue[] {
  const out: JaegerKeyValue[] = [];
  for (const [k, v] of Object.entries(attrs))
    if (k !== skip) out.push(typedTag(k, v, Object.hasOwn(types, k) ? types[k] : undefined));
  return out;
}

const str = (key: string, value: string): JaegerKeyValue => ({ key, type: 'string', value });
const micros = (ns: bigint) => Number(ns / 1000n);

/** Span tags: its attributes, then scope, kind, status and trace state in the order of Jaeger's translator. */
function spanTags(s: SpanRow): JaegerKeyValue[] {
  const tags = typedTags(s.attributes, s.attributeTypes);
  if (s.scopeName !== '') tags.push(str('otel.scope.name', s.scopeName));
  if (s.scopeVersion !== '') tags.push(str('otel.scope.version', s.scopeVersion));
  const kind = KIND_TAG[s.kind];
  if (kind) tags.push(str('span.kind', kind));
  if (s.statusCode === 'error') tags.push(str('otel.status_code', 'ERROR'));
  if (s.statusCode === 'ok') tags.push(str('otel.status_code', 'OK'));
  if (s.statusCode === 'error') tags.push({ key: 'error', type: 'bool', value: true });
  if (s.statusMessage !== '') tags.push(str('otel.status_description', s.statusMessage));
  if (s.traceState !== '') tags.push(str('w3c.tracestate', s.traceState));
  return tags;
}

/** Event → log: the name as field `event` first (unless an attribute has that key), then attributes by key. */
function spanLogs(s: SpanRow): JaegerSpan['logs'] {
  return s.events.map((e) => {
    const attrs = Object.entries(e.attributes)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([k, v]) => str(k, v));
    const named = e.name !== '' && !Object.hasOwn(e.attributes, 'event');
    const event = attrs.filter((f) => f.key === 'event');
    const rest = attrs.filter((f) => f.key !== 'event');
    return {
      timestamp: micros(e.timeNs),
      fields: named ? [str('event', e.name), ...rest] : [...event, ...rest],
    };
  });
}

/** One trace in Jaeger's UI model; processes are the distinct resources, numbered p1, p2… in span order. */
export function toJaegerTrace(spans: readonly SpanRow[]): JaegerTrace {
  const processes: JaegerTrace['processes'] = {};
  const processIds = new Map<string, string>();
  const out: JaegerSpan[] = [];
  for (const s of spans) {
    const tags = typedTags(s.resourceAttributes, s.resourceAttributeTypes, 'service.name');
    const key = JSON.stringify([s.service, tags], (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    let pid = processIds.get(key);
    if (!pid) {
      pid = `p${processIds.size + 1}`;
      processIds.set(key, pid);
      processes[pid] = { serviceName: s.service, tags };
    }
    const traceID = formatJaegerTraceId(s.traceId);
    const references: JaegerSpan['references'] = [];
    if (s.parentSpanId !== '') references.push({ refType: 'CHILD_OF', traceID, spanID: s.parentSpanId });
    for (const l of s.links)
      references.push({ refType: 'FOLLOWS_FROM', traceID: formatJaegerTraceId(l.traceId), spanID: l.spanId });
    out.push({
      traceID,
      spanID: s.spanId,
      ...(s.flags !== 0 ? { flags: s.flags } : {}),
      operationName: s.name,
      references,
      startTime: micros(s.startNs),
      duration: micros(s.endNs - s.startNs),
      tags: spanTags(s),
      logs: spanLogs(s),
      processID: pid,
      warnings: null,
    });
  }
  return { traceID: formatJaegerTraceId(spans[0]?.traceId ?? ''), spans: out, processes, warnings: null };
}

// ---- responses --------------------------------------------------------------------------------------------

interface Envelope {
  data: unknown;
  total: number;
  limit: number;
  offset: number;
  errors: { code?: number; msg: string; traceID?: string }[] | null;
}

/** JSON text with bigint values written as exact number literals (int64 tags beyond 2^53). */
export function jaegerJson(value: unknown): string {
  let marker: string | undefined;
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marker ??= `bigint-${randomUUID()}:`;
    return marker + v.toString();
  });
  return marker === undefined ? text : text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}

function send(reply: FastifyReply, status: number, body: Envelope): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(jaegerJson(body));
}

const ok = (data: unknown, total = 0): Envelope => ({ data, total, limit: 0, offset: 0, errors: null });

function errorBody(status: number, msg: string): Envelope {
  return { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: status, msg }] };
}

// ---- parameters -------------------------------------------------------------------------------------------

type Query = Record<string, string | string[] | undefined>;

/** The first value of a parameter (Go's FormValue). */
function first(q: Query, name: string): string {
  const v = q[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function all(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function parseIntParam(q: Query, name: string): bigint | undefined {
  const v = first(q, name);
  if (v === '') return undefined;
  if (!/^[+-]?\d+$/.test(v))
    throw new JaegerError(
      400,
      `unable to parse param '${name}': strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
    );
  const n = BigInt(v);
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n))
    throw new JaegerError(
      400,
      `unable to parse param '${name}': strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`,
    );
  return n;
}

function parseGoDurationParam(q: Query, name: string): bigint | undefined {
  const v = first(q, name);
  if (v === '') return undefined;
  let ns: bigint;
  try {
    ns = parseGoDuration(v);
  } catch (err) {
    if (err instanceof GoDurationError)
      throw new JaegerError(400, `unable to parse param '${name}': ${err.message}`);
    throw err;
  }
  if (ns < 0n)
    throw new JaegerError(400, `unable to parse param '${name}': ${JSON.stringify(v)} is negative`);
  return ns;
}

/** The UI's `lookback` (`1h`, `2d`, or `custom` when it sends start and end) in ns, if usable. */
function parseLookback(q: Query): bigint | undefined {
  const v = first(q, 'lookback');
  if (v === '' || v === 'custom') return undefined;
  try {
    return BigInt(parseDuration(v)) * 1_000_000n;
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
  }
  try {
    return parseGoDuration(v);
  } catch {
    throw new JaegerError(
      400,
      `unable to parse param 'lookback': ${JSON.stringify(v)} is not a duration (for example 1h, 2d, 90m)`,
    );
  }
}

/** `tag=key:value` (repeatable) and `tags={"key":"value"}` (JSON object of strings; `tags=key:value` too). */
export function parseJaegerTags(simple: readonly string[], json: readonly string[]): Record<string, string> {
  // No prototype: a `__proto__` tag is a tag like any other.
  const out = Object.create(null) as Record<string, string>;
  const keyValue = (param: string, t: string) => {
    const i = t.indexOf(':');
    if (i < 0)
      throw new JaegerError(400, `malformed '${param}' parameter, expecting key:value, received: ${t}`);
    out[t.slice(0, i)] = t.slice(i + 1);
  };
  for (const t of simple) keyValue('tag', t);
  for (const t of json) {
    if (!t.trimStart().startsWith('{')) {
      keyValue('tags', t);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch (err) {
      throw new JaegerError(
        400,
        `malformed 'tags' parameter, cannot unmarshal JSON: ${(err as Error).message}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new JaegerError(400, `malformed 'tags' parameter, cannot unmarshal JSON: expected an object`);
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string')
        throw new JaegerError(
          400,
          `malformed 'tags' parameter, cannot unmarshal JSON: the value of ${JSON.stringify(k)} must be a string`,
        );
      out[k] = v;
    }
  }
  return out;
}

const KIND_BY_TAG: Record<string, SpanKind> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
};

/**
 * Tags Jaeger derives from span fields rather than attributes (`error=true`, `span.kind=server`,
 * `otel.status_code=ERROR`) become kind and status conditions, so searches written for Jaeger find the same
 * spans. Returns undefined when they contradict each other (nothing can match).
 */
export function specialTags(
  tags: Record<string, string>,
): { tags: Record<string, string>; kind?: SpanKind; status?: StatusCode } | undefined {
  const rest = { ...tags };
  let kind: SpanKind | undefined;
  let status: StatusCode | undefined;
  const setStatus = (s: StatusCode) => {
    if (status !== undefined && status !== s) return false;
    status = s;
    return true;
  };
  if (rest['error'] === 'true') {
    delete rest['error'];
    if (!setStatus('error')) return undefined;
  }
  const code = rest['otel.status_code'];
  if (code === 'ERROR' || code === 'OK') {
    delete rest['otel.status_code'];
    if (!setStatus(code === 'ERROR' ? 'error' : 'ok')) return undefined;
  }
  const k = rest['span.kind'];
  if (k !== undefined && Object.hasOwn(KIND_BY_TAG, k)) {
    delete rest['span.kind'];
    kind = KIND_BY_TAG[k];
  }
  return { tags: rest, ...(kind ? { kind } : {}), ...(status ? { status } : {}) };
}

const SPAN_KINDS = new Set(['', 'server', 'client', 'producer', 'consumer', 'internal', 'unspecified']);

// ---- the plugin -------------------------------------------------------------------------------------------

export function jaegerApi(deps: JaegerApiDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const store = deps.spans;

  return async (app) => {
    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      if (err instanceof JaegerError) return send(reply, err.status, errorBody(err.status, err.message));
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) req.log.error({ err }, 'Jaeger API request failed');
      return send(reply, status, errorBody(status, err.message));
    });

    app.get<{ Params: { traceID: string }; Querystring: Query }>(
      '/api/traces/:traceID',
      async (req, reply) => {
        const id = parseJaegerTraceId(req.params.traceID);
        parseIntParam(req.query, 'start');
        parseIntParam(req.query, 'end');
        const spans = await store.trace(id);
        if (spans.length === 0) throw new JaegerError(404, 'trace not found');
        return send(reply, 200, ok([toJaegerTrace(spans)]));
      },
    );

    app.get<{ Querystring: Query }>('/api/traces', async (req, reply) => {
      const q = req.query;
      const ids = all(q, 'traceID').map((id) => {
        try {
          return parseJaegerTraceId(id);
        } catch (err) {
          throw new JaegerError(400, `cannot parse traceID param: ${(err as Error).message}`);
        }
      });
      const nowNs = BigInt(now()) * 1_000_000n;
      const endUs = parseIntParam(q, 'end');
      const startUs = parseIntParam(q, 'start');
      const endNs = endUs !== undefined ? endUs * 1000n : nowNs;
      const startNs =
        startUs !== undefined
          ? startUs * 1000n
          : endNs - (parseLookback(q) ?? BigInt(DEFAULT_SEARCH_LOOKBACK_MS) * 1_000_000n);
      const tags = parseJaegerTags(all(q, 'tag'), all(q, 'tags'));
      const limitParam = parseIntParam(q, 'limit');
      if (limitParam !== undefined && (limitParam < 0n || limitParam > BigInt(MAX_LIMIT)))
        throw new JaegerError(400, `unable to parse param 'limit': must be between 0 and ${MAX_LIMIT}`);
      const limit = limitParam === undefined || limitParam === 0n ? DEFAULT_LIMIT : Number(limitParam);
      const minDurationNs = parseGoDurationParam(q, 'minDuration');
      const maxDurationNs = parseGoDurationParam(q, 'maxDuration');

      if (ids.length > 0) {
        const found = await store.traces(ids);
        const have = new Set(found.map((t) => t[0]!.traceId));
        const errors = ids
          .filter((id) => !have.has(id))
          .map((id) => ({ msg: 'trace not found', traceID: formatJaegerTraceId(id) }));
        return send(reply, 200, { ...ok(found.map(toJaegerTrace)), errors: errors.length ? errors : null });
      }
      const service = first(q, 'service');
      if (service === '') throw new JaegerError(400, "parameter 'service' is required");
      if (minDurationNs && maxDurationNs && maxDurationNs < minDurationNs)
        throw new JaegerError(400, "'maxDuration' should be greater than 'minDuration'");
      if (startNs > endNs)
        throw new JaegerError(400, "unable to parse param 'start': the start is after the end");
      const operation = first(q, 'operation');
      const special = specialTags(tags);
      if (special === undefined) return send(reply, 200, ok([]));
      const found = await store.findTraceIds({
        service,
        ...(operation !== '' ? { operation } : {}),
        ...special,
        ...(minDurationNs ? { minDurationNs } : {}),
        ...(maxDurationNs ? { maxDurationNs } : {}),
        startNs,
        endNs,
        limit,
      });
      const traces = await store.traces(found);
      return send(reply, 200, ok(traces.map(toJaegerTrace)));
    });

    app.get('/api/services', async (_req, reply) => {
      const services = await store.services();
      return send(reply, 200, ok(services, services.length));
    });

    app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (req, reply) => {
      const ops = await store.operations(req.params.service);
      const names = [...new Set(ops.map((o) => o.name))];
      return send(reply, 200, ok(names, names.length));
    });

    app.get<{ Querystring: Query }>('/api/operations', async (req, reply) => {
      const service = first(req.query, 'service');
      if (service === '') throw new JaegerError(400, "parameter 'service' is required");
      const kind = first(req.query, 'spanKind');
      if (!SPAN_KINDS.has(kind))
        throw new JaegerError(
          400,
          `unable to parse param 'spanKind': unsupported span kind ${JSON.stringify(kind)} (server, client, producer, consumer, internal)`,
        );
      const ops = (await store.operations(service))
        .filter((o) => kind === '' || o.kind === kind)
        .map((o) => ({ name: o.name, spanKind: o.kind === 'unspecified' ? '' : o.kind }));
      return send(reply, 200, ok(ops, ops.length));
    });

    app.get<{ Querystring: Query }>('/api/dependencies', async (req, reply) => {
      const endMs = parseIntParam(req.query, 'endTs') ?? BigInt(now());
      const lookback = parseIntParam(req.query, 'lookback') ?? BigInt(DEFAULT_DEPENDENCY_LOOKBACK_MS);
      if (lookback < 0n) throw new JaegerError(400, "unable to parse param 'lookback': must not be negative");
      const service = first(req.query, 'service');
      const graph = await store.dependencies((endMs - lookback) * 1_000_000n, endMs * 1_000_000n);
      const links = graph.edges
        .filter((e) => service === '' || e.parent === service || e.child === service)
        .map((e) => ({ parent: e.parent, child: e.child, callCount: e.calls }));
      return send(reply, 200, ok(links));
    });
  };
}
