/** Parsing of Prometheus HTTP API parameters, with Prometheus's error messages. */
import { DurationError, parseDuration } from '../model/duration.ts';

export type ErrorType =
  'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found';

const STATUS: Record<ErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 499,
  internal: 500,
  unavailable: 503,
  not_found: 404,
};

/** An error answered in Prometheus's shape: `{status: "error", errorType, error}`. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(
    readonly errorType: ErrorType,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.status = options?.status ?? STATUS[errorType];
  }
}

/** Prometheus's own bounds for "no start" / "no end" (year -292273086 / 292277025, in ms). */
export const MIN_TIME = -9223309901257974;
export const MAX_TIME = 9223309901257974;

/** A timestamp as Prometheus accepts it: Unix seconds (with fraction) or RFC 3339. Returns ms. */
export function parseTime(s: string, param: string): number {
  const n = Number(s);
  if (s.trim() !== '' && Number.isFinite(n)) return Math.round(n * 1000);
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new ApiError('bad_data', `invalid parameter "${param}": cannot parse "${s}" to a valid timestamp`);
}

export function optionalTime(s: string | undefined, param: string, dflt: number): number {
  return s === undefined || s === '' ? dflt : parseTime(s, param);
}

/** A duration as float seconds or a Prometheus duration string. Returns ms. */
export function parseDurationParam(s: string, param: string): number {
  const n = Number(s);
  if (s.trim() !== '' && Number.isFinite(n)) {
    const ms = n * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > 9.2e15)
      throw new ApiError(
        'bad_data',
        `invalid parameter "${param}": cannot parse "${s}" to a valid duration. It overflows int64`,
      );
    return Math.round(ms);
  }
  try {
    return parseDuration(s);
  } catch (err) {
    if (err instanceof DurationError)
      throw new ApiError('bad_data', `invalid parameter "${param}": cannot parse "${s}" to a valid duration`);
    throw err;
  }
}

/** Collects a parameter that may repeat (`match[]`), from the query string and a form body. */
export function allValues(...sources: (Record<string, unknown> | undefined)[]): (name: string) => string[] {
  return (name) => {
    const out: string[] = [];
    for (const src of sources) {
      const v = src?.[name];
      if (Array.isArray(v)) out.push(...v.map(String));
      else if (v !== undefined) out.push(String(v));
    }
    return out;
  };
}
