/**
 * The tracing API as the UI sees it: search, services, one trace with its analysis, journeys, the service
 * map, bottlenecks and exemplars. Times in answers are microseconds since the epoch; every failure is an
 * ApiError (see api.ts) whose message can be shown as it is.
 */
import { request } from './api.ts';

export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusName = 'unset' | 'ok' | 'error';

export interface ServiceCount {
  service: string;
  spanCount: number;
  errorCount: number;
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  startUs: number;
  durationUs: number;
  spanCount: number;
  errorCount: number;
  services: ServiceCount[];
}

export interface TraceSearch {
  service?: string;
  operation?: string;
  kind?: string;
  status?: string;
  /** Attribute conditions: `key=value`, `key!=v`, `key=~re`, `key!~re`, `key>n`, `>=`, `<`, `<=`. */
  attr?: readonly string[];
  /** Go durations (`250ms`, `1.5s`). */
  minDuration?: string;
  maxDuration?: string;
  /** Unix seconds. */
  start?: number;
  end?: number;
  limit?: number;
}

export interface ServiceOperations {
  service: string;
  operations: { name: string; kind: string }[];
}

export interface Attribute {
  key: string;
  /** Text for strings; numbers, booleans, arrays and maps may come as JSON values. */
  value: unknown;
  type?: string;
}

/** An attribute value as text (never markup). */
export function attributeText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

export interface SpanEventView {
  timeUs: number;
  name: string;
  attributes: Attribute[];
}

export interface SpanLinkView {
  traceId: string;
  spanId: string;
  attributes: Attribute[];
}

export interface TraceSpan {
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: string;
  startUs: number;
  durationUs: number;
  selfTimeUs: number;
  depth: number;
  orphan: boolean;
  skewUs: number;
  status: { code: string; message: string };
  errorRole: 'origin' | 'propagated' | null;
  onCriticalPath: boolean;
  attributes: Attribute[];
  resource: Attribute[];
  scope: { name: string; version: string };
  events: SpanEventView[];
  links: SpanLinkView[];
}

export interface TraceDetail {
  traceId: string;
  startUs: number;
  durationUs: number;
  services: ServiceCount[];
  roots: string[];
  warnings: string[];
  criticalPath: { spanId: string; startUs: number; durationUs: number }[];
  errorOrigins: { spanId: string; propagatedTo: string[] }[];
  linkedTraces: string[];
  /** Depth-first display order. */
  spans: TraceSpan[];
}

export interface Journey {
  /** The origin trace first, then the others by start. */
  traces: string[];
  /** The span where the message fans out to channels, if it does. */
  fanOut: { traceId: string; spanId: string } | null;
  branches: { channel: string; traceId: string; spanId: string; status: string; durationUs: number }[];
}

export interface MapNode {
  service: string;
  spans: number;
  errors: number;
  ratePerSecond: number;
  errorRate: number;
  p95Ms: number;
}

export interface MapEdge {
  source: string;
  target: string;
  calls: number;
  errors: number;
  ratePerSecond: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface ServiceMap {
  nodes: MapNode[];
  edges: MapEdge[];
}

export interface Bottlenecks {
  traces: number;
  quantile: number;
  /** null when there are no traces. */
  thresholdMs: number | null;
  operations: {
    service: string;
    operation: string;
    criticalPathShare: number;
    slowMeanMs: number;
    /** null when every trace is slow. */
    fastMeanMs: number | null;
    deltaMs: number | null;
  }[];
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string | number; timestamp: number }[];
}

const BASE = '/api/vigil/v1';

function qs(params: Record<string, string | number | readonly string[] | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) p.append(k, x);
    else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function searchTraces(q: TraceSearch, signal?: AbortSignal): Promise<TraceSummary[]> {
  const body = await request<{ traces: TraceSummary[] }>(
    `${BASE}/traces${qs({ ...q, attr: q.attr?.filter((a) => a.trim() !== '') })}`,
    { signal },
  );
  return body.traces ?? [];
}

export async function fetchServices(signal?: AbortSignal): Promise<ServiceOperations[]> {
  const body = await request<{ services: ServiceOperations[] }>(`${BASE}/services`, { signal });
  return body.services ?? [];
}

export function fetchTrace(id: string, signal?: AbortSignal): Promise<TraceDetail> {
  return request<TraceDetail>(`${BASE}/traces/${encodeURIComponent(id)}`, { signal });
}

export function fetchJourney(id: string, signal?: AbortSignal): Promise<Journey> {
  return request<Journey>(`${BASE}/traces/${encodeURIComponent(id)}/journey`, { signal });
}

/** The service map over [start, end] (unix seconds). */
export function fetchServiceMap(start: number, end: number, signal?: AbortSignal): Promise<ServiceMap> {
  return request<ServiceMap>(`${BASE}/service-map${qs({ start, end })}`, { signal });
}

/** Bottlenecks of an endpoint over [start, end] (unix seconds). */
export function fetchBottlenecks(
  q: { service: string; operation?: string; start: number; end: number; quantile?: number },
  signal?: AbortSignal,
): Promise<Bottlenecks> {
  return request<Bottlenecks>(`${BASE}/bottlenecks${qs(q)}`, { signal });
}

/** Prometheus' exemplar query over [start, end] (unix seconds). */
export async function fetchExemplars(
  query: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<ExemplarSeries[]> {
  const body = await request<{ status: string; data: ExemplarSeries[] }>(
    `/api/v1/query_exemplars${qs({ query, start, end })}`,
    { signal },
  );
  return body.data ?? [];
}
