/**
 * Every call the UI makes to Vigil goes through here: typed results, and one error type whose message can
 * be shown to the user as it is (what went wrong, and where, for query errors).
 */
import type { Metric } from './format.ts';

export type ErrorKind =
  'unreachable' | 'bad_data' | 'not_found' | 'conflict' | 'timeout' | 'server' | 'aborted';

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly status = 0,
    /** Validation problems with their JSON paths, when the server sent them. */
    readonly details: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The 1-based line and column of a PromQL parse error (`1:7: parse error: ...`), if the message has one. */
  get position(): { line: number; col: number } | undefined {
    const m = /^(\d+):(\d+):/.exec(this.message);
    return m ? { line: Number(m[1]), col: Number(m[2]) } : undefined;
  }
}

function kindFor(status: number, errorType?: string): ErrorKind {
  if (errorType === 'timeout' || status === 503) return 'timeout';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status >= 400 && status < 500) return 'bad_data';
  return 'server';
}

/** Fetches JSON; turns network failures, non-JSON answers and error bodies into an ApiError. */
export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new ApiError('aborted', 'request cancelled');
    throw new ApiError(
      'unreachable',
      `Vigil's API is unreachable (${(err as Error).message}). Is Vigil running?`,
    );
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: any;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    const snippet = text.slice(0, 200).trim();
    throw new ApiError(
      res.ok ? 'server' : kindFor(res.status),
      `${path.split('?')[0]} answered ${res.status} with a body that is not JSON${snippet ? `: ${snippet}` : ''}`,
      res.status,
    );
  }
  if (!res.ok || body?.status === 'error') {
    const message = body?.error ?? `${path.split('?')[0]} answered ${res.status} ${res.statusText}`;
    throw new ApiError(
      kindFor(res.status, body?.errorType),
      String(message),
      res.status,
      body?.details ?? [],
    );
  }
  return body as T;
}

function form(params: Record<string, string | number | string[] | undefined>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.set(k, String(v));
  }
  return p;
}

interface PromEnvelope<T> {
  status: 'success';
  data: T;
  warnings?: string[];
  infos?: string[];
}

export interface MatrixSeries {
  metric: Metric;
  values: [number, string][];
}
export interface VectorSample {
  metric: Metric;
  value: [number, string];
}
export type QueryData =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

export interface QueryResult<D> {
  data: D;
  warnings: string[];
}

/** POST /api/v1/query_range (POST, so long expressions never hit URL limits). Times in seconds. */
export async function queryRange(
  query: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<QueryResult<{ resultType: 'matrix'; result: MatrixSeries[] }>> {
  const body = await request<PromEnvelope<{ resultType: 'matrix'; result: MatrixSeries[] }>>(
    '/api/v1/query_range',
    {
      method: 'POST',
      body: form({ query, start, end, step }),
      signal,
    },
  );
  return { data: body.data, warnings: [...(body.warnings ?? []), ...(body.infos ?? [])] };
}

/** POST /api/v1/query at a time in seconds (now when absent). */
export async function queryInstant(
  query: string,
  time?: number,
  signal?: AbortSignal,
): Promise<QueryResult<QueryData>> {
  const body = await request<PromEnvelope<QueryData>>('/api/v1/query', {
    method: 'POST',
    body: form({ query, time }),
    signal,
  });
  return { data: body.data, warnings: [...(body.warnings ?? []), ...(body.infos ?? [])] };
}

/** Values of a label, optionally limited to series matching selectors, within [start, end] seconds. */
export async function labelValues(
  name: string,
  opts: { match?: string[]; start?: number; end?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const q = form({ 'match[]': opts.match, start: opts.start, end: opts.end });
  const body = await request<PromEnvelope<string[]>>(
    `/api/v1/label/${encodeURIComponent(name)}/values${q.size ? `?${q}` : ''}`,
    { signal: opts.signal },
  );
  return body.data;
}

// ---- Vigil's own API -----------------------------------------------------------------------------------

export interface OverviewFigure {
  key: string;
  label: string;
  unit: string;
  value: number | null;
  spark: (number | null)[];
  query: string;
}
export interface OverviewComponent {
  id: string;
  kind: 'scrape' | 'otlp' | 'host' | 'vigil';
  name: string;
  job: string;
  instance: string;
  namespace?: string;
  status: 'up' | 'down' | 'stale';
  reason?: string;
  lastSeen: number | null;
  figures: OverviewFigure[];
}
export interface Overview {
  generatedAt: number;
  spark: { start: number; step: number; points: number };
  components: OverviewComponent[];
}

export function fetchOverview(range: string, signal?: AbortSignal): Promise<Overview> {
  return request<Overview>(`/api/vigil/v1/overview?range=${encodeURIComponent(range)}`, { signal });
}
