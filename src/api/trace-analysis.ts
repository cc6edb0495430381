/**
 * Trace analysis over Vigil's JSON API (docs/trace-analysis.md, docs/api.md):
 *
 * - `GET /api/vigil/v1/traces/:id`: one reconstructed trace (orphans, duplicates, clock skew repaired) with
 *   self time, critical path and error propagation per span, in display order.
 * - `GET /api/vigil/v1/traces/:id/journey`: the trace joined with the traces its spans link to, the fan-out
 *   point and each delivery channel's branch.
 * - `GET /api/vigil/v1/bottlenecks`: which operations make an endpoint's slowest traces slow.
 *
 * Times are microseconds since the epoch and durations microseconds, as JSON numbers. The handlers only read
 * the span store (`trace`, `findTraceIds`); the analyses are the pure functions of src/traces/analysis/.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { rankBottlenecks, type BottleneckReport } from '../traces/analysis/bottlenecks.ts';
import { criticalPath, criticalTimes } from '../traces/analysis/critical-path.ts';
import { errorPropagation, type ErrorRole } from '../traces/analysis/errors.ts';
import { assembleJourney, collectJourneyTraces, type Journey } from '../traces/analysis/journey.ts';
import { selfTimes } from '../traces/analysis/self-time.ts';
import { SYNTHETIC_ROOT_NAME, epochUs, reconstruct, type TraceTree } from '../traces/analysis/tree.ts';
import type { AttributeTypes, Attributes, SpanKind, SpanRow, StatusCode } from '../traces/model.ts';
import type { SpanStore } from '../traces/store.ts';
import { ApiError, parseTime } from './params.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler } from './vigil-api.ts';

export interface TraceAnalysisDeps {
  /** Only `trace`, `findTraceIds` and `linkingTraces` are used. */
  readonly spans: Pick<SpanStore, 'trace' | 'findTraceIds' | 'linkingTraces'>;
  /** Most traces one bottleneck request analyses (the `limit` parameter's ceiling); default 1000. */
  readonly maxBottleneckTraces?: number;
  /** Clock for the default bottleneck window, ms; default Date.now. */
  readonly now?: () => number;
}

export interface AttributeJson {
  readonly key: string;
  readonly value: string;
  /** 'string' or the type recorded at ingestion ('int', 'double', 'bool', 'array', 'kvlist', 'bytes'). */
  readonly type: string;
}

export interface TraceSpanJson {
  readonly spanId: string;
  /** The parent in the displayed tree: '' for a root, `synthetic-root` for an orphan. */
  readonly parentSpanId: string;
  readonly service: string;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startUs: number;
  readonly durationUs: number;
  readonly selfTimeUs: number;
  readonly depth: number;
  readonly orphan: boolean;
  readonly skewUs: number;
  readonly status: { readonly code: StatusCode; readonly message: string };
  readonly errorRole: ErrorRole | null;
  readonly onCriticalPath: boolean;
  readonly attributes: AttributeJson[];
  readonly resource: AttributeJson[];
  readonly scope: { readonly name: string; readonly version: string };
  readonly events: { timeUs: number; name: string; attributes: AttributeJson[] }[];
  readonly links: { traceId: string; spanId: string; attributes: AttributeJson[] }[];
}

export interface TraceJson {
  readonly traceId: string;
  readonly startUs: number;
  readonly durationUs: number;
  readonly services: { service: string; spanCount: number; errorCount: number }[];
  readonly roots: string[];
  readonly warnings: string[];
  readonly criticalPath: { spanId: string; startUs: number; durationUs: number }[];
  readonly errorOrigins: { spanId: string; propagatedTo: string[] }[];
  readonly linkedTraces: string[];
  readonly spans: TraceSpanJson[];
}

const DEFAULT_QUANTILE = 0.95;
const DEFAULT_BOTTLENECK_TRACES = 200;
const DEFAULT_WINDOW_MS = 3_600_000;
/** Traces loaded at once for a bottleneck request. */
const LOAD_CONCURRENCY = 4;

/** A trace ID from the path: 1 to 32 hex digits (shorter IDs are zero-padded, as Jaeger does), not all zero. */
export function parseTraceId(raw: string): string {
  if (!/^[0-9a-fA-F]{1,32}$/.test(raw))
    throw new HttpError(
      400,
      `invalid trace ID ${JSON.stringify(raw.slice(0, 80))}: expected up to 32 hexadecimal digits ` +
        '(16 bytes, as in W3C trace context), for example 4bf92f3577b34da6a3ce929d0e0e4736',
    );
  const id = raw.toLowerCase().padStart(32, '0');
  if (/^0+$/.test(id)) throw new HttpError(400, 'invalid trace ID: all zeros is not a valid trace ID');
  return id;
}

function attributeList(attrs: Attributes, types: AttributeTypes = {}): AttributeJson[] {
  return Object.keys(attrs)
    .sort()
    .map((key) => ({ key, value: attrs[key]!, type: types[key] ?? 'string' }));
}

function storeFailure(what: string, err: unknown): HttpError {
  return new HttpError(
    503,
    `${what} failed: the span store did not answer (${(err as Error).message}); try again shortly`,
    undefined,
    { 'retry-after': '5' },
  );
}

async function loadTrace(deps: TraceAnalysisDeps, traceId: string): Promise<SpanRow[]> {
  try {
    return await deps.spans.trace(traceId);
  } catch (err) {
    throw storeFailure(`reading trace ${traceId}`, err);
  }
}

/** The trace API's answer for reconstructed spans. */
export function traceJson(tree: TraceTree): TraceJson {
  const { nodes } = tree;
  const self = selfTimes(tree);
  const path = criticalPath(tree);
  const onPath = criticalTimes(tree, path);
  const errors = errorPropagation(tree);
  const us = (ns: number) => epochUs(tree, ns);

  let start = Infinity;
  let end = -Infinity;
  const services = new Map<string, { service: string; spanCount: number; errorCount: number }>();
  const linked: string[] = [];
  const linkedSeen = new Set<string>([tree.traceId]);
  for (const i of tree.order) {
    const n = nodes[i]!;
    const s = n.span;
    if (!s) continue;
    start = Math.min(start, n.startNs);
    end = Math.max(end, n.endNs);
    let svc = services.get(s.service);
    if (!svc) services.set(s.service, (svc = { service: s.service, spanCount: 0, errorCount: 0 }));
    svc.spanCount++;
    if (s.statusCode === 'error') svc.errorCount++;
    for (const l of s.links)
      if (!linkedSeen.has(l.traceId)) {
        linkedSeen.add(l.traceId);
        linked.push(l.traceId);
      }
  }

  const spans = tree.order.map((i): TraceSpanJson => {
    const n = nodes[i]!;
    const s = n.span;
    const startUs = us(n.startNs);
    return {
      spanId: n.spanId,
      parentSpanId: n.parent >= 0 ? nodes[n.parent]!.spanId : '',
      service: s ? s.service : '',
      name: s ? s.name : SYNTHETIC_ROOT_NAME,
      kind: s ? s.kind : 'unspecified',
      startUs,
      durationUs: us(n.endNs) - startUs,
      selfTimeUs: Math.round(self[i]! / 1000),
      depth: n.depth,
      orphan: n.orphan,
      skewUs: Math.round(n.skewNs / 1000),
      status: s ? { code: s.statusCode, message: s.statusMessage } : { code: 'unset', message: '' },
      errorRole: errors.roles[i] ?? null,
      onCriticalPath: onPath[i]! > 0,
      attributes: s ? attributeList(s.attributes, s.attributeTypes) : [],
      resource: s ? attributeList(s.resourceAttributes, s.resourceAttributeTypes) : [],
      scope: s ? { name: s.scopeName, version: s.scopeVersion } : { name: '', version: '' },
      events: s
        ? s.events.map((e) => ({
            timeUs: us(Number(e.timeNs - tree.baseNs) + n.skewNs),
            name: e.name,
            attributes: attributeList(e.attributes),
          }))
        : [],
      links: s
        ? s.links.map((l) => ({
            traceId: l.traceId,
            spanId: l.spanId,
            attributes: attributeList(l.attributes),
          }))
        : [],
    };
  });

  const startUs = start === Infinity ? us(0) : us(start);
  return {
    traceId: tree.traceId,
    startUs,
    durationUs: end === -Infinity ? 0 : us(end) - startUs,
    services: [...services.values()].sort((a, b) =>
      a.service < b.service ? -1 : a.service > b.service ? 1 : 0,
    ),
    roots: tree.roots.map((r) => nodes[r]!.spanId),
    warnings: [...tree.warnings],
    criticalPath: path.map((seg) => ({
      spanId: nodes[seg.node]!.spanId,
      startUs: us(seg.startNs),
      durationUs: us(seg.endNs) - us(seg.startNs),
    })),
    errorOrigins: errors.origins.map((o) => ({
      spanId: nodes[o.node]!.spanId,
      propagatedTo: o.propagatedTo.map((p) => nodes[p]!.spanId),
    })),
    linkedTraces: linked,
    spans,
  };
}

function oneString(q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v))
    throw new HttpError(400, `invalid parameter "${name}": give it once, not ${v.length} times`);
  return String(v);
}

/** A time as the other trace endpoints take it (RFC 3339 or Unix seconds, see ./traces.ts); returns ms. */
function timeParam(q: Record<string, unknown>, name: string, dfltMs: number): number {
  const s = oneString(q, name);
  if (s === undefined || s === '') return dfltMs;
  try {
    return parseTime(s, name);
  } catch (err) {
    if (err instanceof ApiError)
      throw new HttpError(
        400,
        `invalid parameter "${name}": ${JSON.stringify(s.slice(0, 80))} is not a time; use RFC 3339 ` +
          '(2026-01-02T15:04:05Z) or Unix seconds (1767366245)',
      );
    throw err;
  }
}

function parseBottleneckQuery(req: FastifyRequest, deps: TraceAnalysisDeps) {
  const q = req.query as Record<string, unknown>;
  const service = oneString(q, 'service');
  if (service === undefined || service === '')
    throw new HttpError(
      400,
      'missing parameter "service": name the service whose root operation (endpoint) to analyse, ' +
        'for example ?service=frontend&operation=GET%20/checkout',
    );
  const operation = oneString(q, 'operation') || undefined;
  const endMs = timeParam(q, 'end', Math.floor((deps.now ?? Date.now)()));
  const startMs = timeParam(q, 'start', endMs - DEFAULT_WINDOW_MS);
  if (startMs > endMs)
    throw new HttpError(400, 'invalid parameters: "start" is after "end"; the window must run forwards');
  const qs = oneString(q, 'quantile');
  const quantile = qs === undefined || qs === '' ? DEFAULT_QUANTILE : /^[0-9.]+$/.test(qs) ? Number(qs) : NaN;
  if (!(quantile > 0 && quantile < 1))
    throw new HttpError(
      400,
      `invalid parameter "quantile": ${JSON.stringify(qs)} is not a number between 0 and 1 (exclusive); ` +
        'use 0.95 for p95 or 0.99 for p99',
    );
  const max = deps.maxBottleneckTraces ?? 1000;
  const ls = oneString(q, 'limit');
  const limit = ls === undefined || ls === '' ? Math.min(DEFAULT_BOTTLENECK_TRACES, max) : Number(ls);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max)
    throw new HttpError(
      400,
      `invalid parameter "limit": ${JSON.stringify(ls)} must be a whole number of traces from 1 to ${max}`,
    );
  return { service, operation, startMs, endMs, quantile, limit };
}

export function traceAnalysisApi(deps: TraceAnalysisDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    installErrorHandler(app);

    app.get(`${VIGIL_API_PREFIX}/traces/:id`, async (req): Promise<TraceJson> => {
      const traceId = parseTraceId((req.params as { id: string }).id);
      const spans = await loadTrace(deps, traceId);
      if (spans.length === 0) throw new HttpError(404, `trace ${traceId} not found`);
      return traceJson(reconstruct(spans));
    });

    app.get(`${VIGIL_API_PREFIX}/traces/:id/journey`, async (req): Promise<Journey> => {
      const traceId = parseTraceId((req.params as { id: string }).id);
      const traces = await collectJourneyTraces(
        traceId,
        (id) => loadTrace(deps, id),
        undefined,
        (id, lo, hi, limit) => deps.spans.linkingTraces(id, lo, hi, limit),
      );
      if (!traces.has(traceId)) throw new HttpError(404, `trace ${traceId} not found`);
      return assembleJourney(traceId, traces);
    });

    app.get(`${VIGIL_API_PREFIX}/bottlenecks`, async (req): Promise<BottleneckReport> => {
      const p = parseBottleneckQuery(req, deps);
      let ids: string[];
      try {
        ids = await deps.spans.findTraceIds({
          service: p.service,
          operation: p.operation,
          startNs: BigInt(p.startMs) * 1_000_000n,
          endNs: BigInt(p.endMs) * 1_000_000n,
          limit: p.limit,
        });
      } catch (err) {
        throw storeFailure('searching traces', err);
      }
      const trees: TraceTree[] = [];
      for (let i = 0; i < ids.length; i += LOAD_CONCURRENCY) {
        const batch = await Promise.all(ids.slice(i, i + LOAD_CONCURRENCY).map((id) => loadTrace(deps, id)));
        for (const spans of batch) if (spans.length) trees.push(reconstruct(spans));
      }
      return rankBottlenecks(trees, { service: p.service, operation: p.operation }, p.quantile);
    });
  };
}
