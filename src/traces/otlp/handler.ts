/**
 * OTLP trace ingestion shared by every transport, and POST /v1/traces, the OTLP/HTTP receiver.
 *
 * `ingestOtlpTraces` turns one request body into an outcome (stored with partial success, invalid, too large,
 * or retryable with a delay); the HTTP plugin here and the gRPC service (src/ingest/grpc/) only map that
 * outcome onto their protocol. HTTP answers like /v1/metrics: 200 with an ExportTraceServiceResponse in the
 * request's encoding (partialSuccess naming the refused spans); 400 with a google.rpc.Status for undecodable
 * bodies; 413 too large; 415 other content types or encodings; 429 (too many spans waiting) or 503 (storage
 * failing) with Retry-After, both retryable by OTLP exporters. Spans are acknowledged only once the store has
 * made them durable.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  MalformedRequestError,
  PayloadTooLargeError,
  acceptRawBodies,
  countRequestRejected,
  describeFrameworkError,
  gunzipLimited,
  mediaType,
  rawBody,
} from '../../ingest/http.ts';
import { RpcStatus } from '../../ingest/otlp/proto.ts';
import type { SpanRow } from '../model.ts';
import { spansIngested, spansRejected } from '../../self/metrics.ts';
import { SpanStoreOverloadedError, type SpanStore } from '../store.ts';
import { parseOtlpTraces, type OtlpEncoding } from './parse.ts';
import { ExportTraceServiceResponse } from './proto.ts';

export interface TraceIngestDeps {
  readonly store: SpanStore;
  /** Attribute values longer than this many UTF-8 bytes are cut (parse.ts TRUNCATED_MARKER). */
  readonly maxAttributeValueBytes: number;
  /** Largest body accepted after gzip decompression; default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /**
   * Called with the spans of each write once the store has made them durable (OTLP/HTTP, OTLP/gRPC and
   * Zipkin alike), before the sender is answered. It must not throw or keep the array; a throw is reported
   * through `onStoredError` and does not fail the request, since the spans are already stored.
   */
  readonly onStored?: (spans: readonly SpanRow[]) => void;
  /** Where a throwing `onStored` is reported; defaults to console.error. */
  readonly onStoredError?: (err: unknown) => void;
}

/** Seconds a sender should wait after a storage failure that is not an overload signal. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/** Outcome of storing spans, shared by every trace transport. */
export type SpanStoreOutcome =
  | { readonly status: 'stored' }
  | {
      readonly status: 'retryable';
      /** `overloaded`: too many spans waiting (HTTP 429, gRPC RESOURCE_EXHAUSTED); else storage failing. */
      readonly reason: 'overloaded' | 'unavailable';
      readonly retryAfterSeconds: number;
      readonly message: string;
    };

/**
 * Writes spans to the store and runs the `onStored` hook; storage failures come back as retryable. Counts the
 * spans stored or refused under `protocol` in Vigil's own metrics.
 */
export async function storeSpans(
  deps: TraceIngestDeps,
  spans: readonly SpanRow[],
  protocol: string,
): Promise<SpanStoreOutcome> {
  if (spans.length === 0) return { status: 'stored' };
  try {
    await deps.store.write(spans);
    spansIngested.inc({ protocol }, spans.length);
  } catch (err) {
    const overloaded = err instanceof SpanStoreOverloadedError;
    spansRejected.inc({ protocol, reason: overloaded ? 'overloaded' : 'unavailable' }, spans.length);
    return {
      status: 'retryable',
      reason: overloaded ? 'overloaded' : 'unavailable',
      retryAfterSeconds: Math.max(
        1,
        Math.ceil(overloaded ? err.retryAfterSeconds : STORAGE_RETRY_AFTER_SECONDS),
      ),
      message: overloaded
        ? `storage is overloaded, retry later: ${(err as Error).message}`
        : `storage write failed, retry later: ${(err as Error)?.message ?? String(err)}`,
    };
  }
  if (deps.onStored) {
    try {
      deps.onStored(spans);
    } catch (err) {
      (deps.onStoredError ?? ((e: unknown) => console.error('traces: onStored hook failed', e)))(err);
    }
  }
  return { status: 'stored' };
}

/** Outcome of one OTLP trace export request, whatever the transport. */
export type TraceIngestOutcome =
  | {
      readonly status: 'stored';
      readonly accepted: number;
      readonly rejectedSpans: number;
      /** Why spans were refused ('' when none was), for partialSuccess.errorMessage. */
      readonly errorMessage: string;
    }
  /** The body cannot be decoded; nothing is stored; not retryable. */
  | { readonly status: 'invalid'; readonly message: string }
  /** The body is larger than allowed once decompressed; not retryable. */
  | { readonly status: 'too_large'; readonly message: string }
  | Extract<SpanStoreOutcome, { status: 'retryable' }>;

/** How many refused spans the partialSuccess message names. */
const ERRORS_SHOWN = 5;

/** Summarises per-span errors for partialSuccess.errorMessage. */
export function summarizeSpanErrors(errors: readonly string[], shown = ERRORS_SHOWN): string {
  if (!errors.length) return '';
  return (
    errors.slice(0, shown).join('; ') +
    (errors.length > shown ? `; ... and ${errors.length - shown} more` : '')
  );
}

/**
 * Parses one ExportTraceServiceRequest (already decompressed unless `gzip` is set) and stores its valid
 * spans. Never throws for bad input or storage failures: every case is an outcome.
 */
export async function ingestOtlpTraces(
  deps: TraceIngestDeps,
  body: Uint8Array,
  encoding: OtlpEncoding,
  gzip: boolean,
  protocol: string,
): Promise<TraceIngestOutcome> {
  const maxBytes = deps.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  let parsed;
  try {
    if (gzip) body = await gunzipLimited(body, maxBytes);
    else if (body.length > maxBytes)
      throw new PayloadTooLargeError(`body is larger than the limit of ${maxBytes} bytes`);
    parsed = parseOtlpTraces(body, encoding, { maxAttributeValueBytes: deps.maxAttributeValueBytes });
  } catch (err) {
    if (err instanceof PayloadTooLargeError) return { status: 'too_large', message: err.message };
    if (err instanceof MalformedRequestError) return { status: 'invalid', message: err.message };
    throw err;
  }
  if (parsed.rejectedSpans) spansRejected.inc({ protocol, reason: 'invalid' }, parsed.rejectedSpans);
  const stored = await storeSpans(deps, parsed.spans, protocol);
  if (stored.status === 'retryable') return stored;
  return {
    status: 'stored',
    accepted: parsed.spans.length,
    rejectedSpans: parsed.rejectedSpans,
    errorMessage: summarizeSpanErrors(parsed.errors),
  };
}

const PROTOCOL = 'otlp_traces';

const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAVAILABLE = 14;

export function otlpTracesPlugin(deps: TraceIngestDeps): FastifyPluginAsync {
  return async (app) => {
    acceptRawBodies(app);

    const encodingOf = (req: FastifyRequest): OtlpEncoding | undefined => {
      const t = mediaType(req.headers['content-type']);
      return t === 'application/x-protobuf' ? 'protobuf' : t === 'application/json' ? 'json' : undefined;
    };

    /** A google.rpc.Status answer in the request's encoding (JSON when the request's is unknown). */
    const fail = (reply: FastifyReply, req: FastifyRequest, httpStatus: number, message: string) => {
      countRequestRejected(PROTOCOL, httpStatus);
      const code =
        httpStatus === 429
          ? RPC_RESOURCE_EXHAUSTED
          : httpStatus >= 500
            ? RPC_UNAVAILABLE
            : RPC_INVALID_ARGUMENT;
      reply.code(httpStatus);
      if (encodingOf(req) === 'protobuf')
        return reply
          .type('application/x-protobuf')
          .send(Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message })).finish()));
      return reply.type('application/json').send(JSON.stringify({ code, message }));
    };

    app.setErrorHandler((err: FastifyError, req, reply) => {
      const { status, message } = describeFrameworkError(err, req);
      if (status >= 500) req.log.error({ err }, 'OTLP traces request failed');
      return fail(reply, req, status, `OTLP traces: ${message}`);
    });

    app.post('/v1/traces', async (req, reply) => {
      const encoding = encodingOf(req);
      if (!encoding)
        return fail(
          reply,
          req,
          415,
          `OTLP traces: unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}; expected application/x-protobuf or application/json`,
        );
      const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (contentEncoding !== 'gzip' && contentEncoding !== 'identity')
        return fail(
          reply,
          req,
          415,
          `OTLP traces: unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; expected gzip or none`,
        );

      const outcome = await ingestOtlpTraces(
        deps,
        rawBody(req),
        encoding,
        contentEncoding === 'gzip',
        PROTOCOL,
      );
      switch (outcome.status) {
        case 'invalid':
          return fail(reply, req, 400, `OTLP traces: ${outcome.message}`);
        case 'too_large':
          return fail(reply, req, 413, `OTLP traces: ${outcome.message}`);
        case 'retryable':
          req.log.warn({ reason: outcome.reason }, `OTLP traces: ${outcome.message}`);
          reply.header('retry-after', String(outcome.retryAfterSeconds));
          return fail(
            reply,
            req,
            outcome.reason === 'overloaded' ? 429 : 503,
            `OTLP traces: ${outcome.message}`,
          );
      }

      const { rejectedSpans, errorMessage } = outcome;
      reply.code(200);
      if (encoding === 'protobuf') {
        const body = ExportTraceServiceResponse.create(
          rejectedSpans ? { partialSuccess: { rejectedSpans, errorMessage } } : {},
        );
        return reply
          .type('application/x-protobuf')
          .send(Buffer.from(ExportTraceServiceResponse.encode(body).finish()));
      }
      return reply
        .type('application/json')
        .send(
          JSON.stringify(
            rejectedSpans ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {},
          ),
        );
    });
  };
}
