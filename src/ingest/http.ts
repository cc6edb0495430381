/**
 * Pieces shared by the HTTP push-ingestion endpoints (Prometheus remote-write, OTLP/HTTP): the dependencies a
 * plugin receives, the row shape parsers produce, the errors they throw, and the append-then-commit step.
 * Parsers (`<protocol>/parse.ts`) only use the types and error classes here; handlers use the rest.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OverloadedError, type MetricType, type Storage } from '../store/interface.ts';
import type { ExemplarRecord, ExemplarStore } from '../store/exemplars.ts';
import {
  exemplarsDropped,
  exemplarsIngested,
  requestsRejected,
  samplesIngested,
  samplesRejected,
} from '../self/metrics.ts';
import type { IngestLimits, RejectReason } from './validate.ts';

/** What an ingestion plugin needs from the composition root. */
export interface IngestDeps {
  readonly storage: Storage;
  readonly limits: IngestLimits;
  /** Clock for the future-timestamp check (ms since the epoch); defaults to Date.now. */
  readonly now?: () => number;
  /**
   * Largest body accepted after decompression (gzip, snappy), in bytes; protects against compression bombs.
   * The compressed size is capped by Fastify's bodyLimit. Default 64 MiB.
   */
  readonly maxDecompressedBytes?: number;
  /** Where exemplars that arrive with samples are kept; without it they are parsed and not stored. */
  readonly exemplars?: ExemplarStore;
}

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Why a sample or data point was refused: the shared validation reasons plus protocol-level ones. */
export type IngestRejectReason =
  | RejectReason
  /** A kind of data the endpoint cannot store (native histograms, delta exponential histograms). */
  | 'unsupported_metric_type'
  /** A data point whose fields contradict each other (bucket counts vs bounds, unspecified temporality). */
  | 'invalid_data_point'
  /** A delta point at or before the last one seen for its series: cannot be accumulated. */
  | 'out_of_order';

/**
 * One series with its samples in arrival order; `labels` include `__name__` and are validated. Values are a
 * Float64Array because V8 canonicalises NaNs stored in plain number arrays, which would lose the stale
 * marker's payload.
 */
export interface ParsedSeries {
  readonly labels: Record<string, string>;
  readonly t: number[];
  readonly v: Float64Array;
}

export interface ParsedMetadata {
  readonly metric: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** A refused part of a request: `points` is how many samples (remote-write) or data points (OTLP) it covers. */
export interface ParseError {
  readonly message: string;
  readonly reason: IngestRejectReason;
  readonly points: number;
}

/**
 * Why an exemplar (or, for OTLP, its filtered attributes) was left out. Exemplars are best effort, as in
 * Prometheus: a bad one never refuses its sample or the request.
 */
export type ExemplarDropReason =
  /** A field that cannot be read or is out of range: trace/span id length, value, label name. */
  | 'invalid_exemplar'
  /** Label names and values together longer than 128 UTF-8 characters (OpenMetrics). */
  | 'labels_too_long'
  /** OTLP: filtered attributes over the 128-character limit; the exemplar is kept with its trace/span ids. */
  | 'attributes_too_long'
  | 'too_far_in_future'
  /** The exemplar's series was refused, so it has nothing to attach to. */
  | 'invalid_series'
  /** OpenMetrics allows exemplars on counter `_total` and histogram `_bucket` samples only. */
  | 'not_allowed'
  /** The exemplar store failed to write them (counted by the handler, not the parser). */
  | 'store_failed';

/** One exemplar (or part of one) left out, with what and where for logs and OTLP partial-success warnings. */
export interface ExemplarDrop {
  readonly message: string;
  readonly reason: ExemplarDropReason;
}

/** What a push parser turns one request body into. Everything in `series` is valid and ready to append. */
export interface ParseResult {
  readonly series: ParsedSeries[];
  readonly metadata: ParsedMetadata[];
  readonly errors: ParseError[];
  /** Valid exemplars, each with the labels of the series it belongs to; absent when there were none. */
  readonly exemplars?: ExemplarRecord[];
  /** Exemplars (or their parts) left out; they never make the request fail. */
  readonly exemplarDrops?: ExemplarDrop[];
}

/** The body cannot be decoded at all (bad protobuf, JSON, gzip or snappy); nothing in it is used. */
export class MalformedRequestError extends Error {
  override name = 'MalformedRequestError';
}

/** The body is larger than allowed once decompressed. */
export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
}

/** The media type of a Content-Type header, lower-cased without parameters; '' when absent. */
export function mediaType(header: string | undefined): string {
  if (!header) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** One parameter of a Content-Type header (`proto` in `application/x-protobuf;proto=...`), or undefined. */
export function mediaTypeParam(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() === name)
      return part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

const gunzipAsync = promisify(gunzip);

/** Decompresses a gzip body, refusing output larger than `maxBytes`. */
export async function gunzipLimited(body: Uint8Array, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
      throw new PayloadTooLargeError(
        `gzip body decompresses to more than ${maxBytes} bytes; send smaller batches`,
        {
          cause: err,
        },
      );
    throw new MalformedRequestError(
      `Content-Encoding gzip: cannot decompress body: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Lets every request body through as a Buffer (the handler checks the content type itself, so a wrong one
 * gets a protocol-specific 415). Call inside an encapsulated plugin: it replaces that context's parsers only.
 */
export function acceptRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

/** The request body as bytes (an absent body is empty). */
export function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** Fastify errors raised before the handler runs (body over bodyLimit, bad Content-Length), as status + text. */
export function describeFrameworkError(
  err: FastifyError,
  req: FastifyRequest,
): { status: number; message: string } {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
    const limit = req.routeOptions.bodyLimit;
    return {
      status: 413,
      message: `request body is larger than the server's limit of ${limit} bytes; send smaller batches`,
    };
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  return { status, message: err.message };
}

/** Outcome of storing one parsed request. */
export type StoreOutcome =
  | { readonly status: 'stored'; readonly samples: number }
  | {
      readonly status: 'retryable';
      readonly httpStatus: 429 | 503;
      readonly retryAfterSeconds: number;
      readonly message: string;
    };

/** Seconds a sender should wait after a storage failure that is not an overload signal. */
const STORAGE_ERROR_RETRY_AFTER_SECONDS = 5;

/**
 * Appends everything in `parsed` through one appender and commits. An overloaded storage becomes
 * `overloadStatus` with the storage's Retry-After; any other storage failure becomes a retryable 503.
 * Updates the ingested-samples counter; rejected samples are counted by `countRejected`.
 */
export async function storeParsed(
  storage: Storage,
  parsed: ParseResult,
  protocol: string,
  overloadStatus: 429 | 503,
): Promise<StoreOutcome> {
  const app = storage.appender();
  try {
    for (const s of parsed.series) {
      const { labels, t, v } = s;
      for (let i = 0; i < t.length; i++) app.append(labels, t[i]!, v[i]!);
    }
    for (const m of parsed.metadata)
      app.appendMetadata(m.metric, { type: m.type, help: m.help, unit: m.unit });
  } catch (err) {
    app.rollback();
    return storageFailure(err, overloadStatus);
  }
  const samples = app.count;
  try {
    await app.commit();
  } catch (err) {
    return storageFailure(err, overloadStatus);
  }
  if (samples > 0) samplesIngested.inc({ protocol }, samples);
  return { status: 'stored', samples };
}

function storageFailure(err: unknown, overloadStatus: 429 | 503): StoreOutcome {
  if (err instanceof OverloadedError)
    return {
      status: 'retryable',
      httpStatus: overloadStatus,
      retryAfterSeconds: err.retryAfterSeconds,
      message: `storage is overloaded, retry later: ${err.message}`,
    };
  return {
    status: 'retryable',
    httpStatus: 503,
    retryAfterSeconds: STORAGE_ERROR_RETRY_AFTER_SECONDS,
    message: `storage write failed, retry later: ${(err as Error)?.message ?? String(err)}`,
  };
}

/** Counts refused samples/points by reason. */
export function countRejected(protocol: string, errors: readonly ParseError[]): number {
  const byReason = new Map<string, number>();
  let total = 0;
  for (const e of errors) {
    if (e.points <= 0) continue;
    byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + e.points);
    total += e.points;
  }
  for (const [reason, n] of byReason) samplesRejected.inc({ protocol, reason }, n);
  return total;
}

/**
 * Writes exemplars after their samples were stored and counts them. A store failure is counted and returned
 * (the caller logs it) but never fails the request: the samples are already stored, and exemplars are a best
 * effort sample, as in Prometheus. Also counts the drops the parser reported.
 */
export async function storeExemplars(
  store: ExemplarStore | undefined,
  records: readonly ExemplarRecord[] | undefined,
  drops: readonly ExemplarDrop[] | undefined,
  protocol: string,
): Promise<{ readonly stored: number; readonly error?: string }> {
  countExemplarDrops(protocol, drops);
  if (!store || !records?.length) return { stored: 0 };
  try {
    await store.append(records);
  } catch (err) {
    exemplarsDropped.inc({ protocol, reason: 'store_failed' }, records.length);
    return {
      stored: 0,
      error: `${records.length} exemplar(s) not stored: ${(err as Error)?.message ?? String(err)}`,
    };
  }
  exemplarsIngested.inc({ protocol }, records.length);
  return { stored: records.length };
}

/**
 * A one-line summary of exemplars left out, naming the first `n`; '' when none. OTLP sends it as a
 * partial-success warning (rejected count 0 is allowed then by the OTLP specification).
 */
export function summarizeExemplarDrops(drops: readonly ExemplarDrop[] | undefined, n: number): string {
  if (!drops?.length) return '';
  const first = drops
    .slice(0, n)
    .map((d) => `${d.message} [${d.reason}]`)
    .join('; ');
  return `${drops.length} exemplar problem(s), exemplars or their attributes left out (the data points were kept): ${first}${drops.length > n ? `; ... and ${drops.length - n} more` : ''}`;
}

/** Counts exemplars (or parts) left out, by reason. */
export function countExemplarDrops(protocol: string, drops: readonly ExemplarDrop[] | undefined): void {
  if (!drops?.length) return;
  const byReason = new Map<string, number>();
  for (const d of drops) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
  for (const [reason, n] of byReason) exemplarsDropped.inc({ protocol, reason }, n);
}

/** Counts a request refused as a whole. */
export function countRequestRejected(protocol: string, status: number): void {
  requestsRejected.inc({ protocol, code: String(status) });
}

/** Sets the status and Retry-After of a retryable failure; the caller sends the body in its protocol. */
export function sendRetryable(
  reply: FastifyReply,
  outcome: Extract<StoreOutcome, { status: 'retryable' }>,
): FastifyReply {
  return reply
    .code(outcome.httpStatus)
    .header('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterSeconds))));
}

/** The first `n` error messages, one per line, with a count of the rest. */
export function summarizeErrors(errors: readonly ParseError[], n: number, separator = '\n'): string {
  const lines = errors.slice(0, n).map((e) => `${e.message} [${e.reason}]`);
  if (errors.length > n) lines.push(`... and ${errors.length - n} more`);
  return lines.join(separator);
}
