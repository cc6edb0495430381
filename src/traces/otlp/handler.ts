/**
 * POST /v1/traces: OTLP/HTTP trace receiver (protobuf and JSON, optionally gzip), answering like
 * /v1/metrics: 200 with an ExportTraceServiceResponse in the request's encoding (partialSuccess naming the
 * refused spans); 400 with a google.rpc.Status for undecodable bodies; 413 too large; 415 other content
 * types or encodings; 429 (too many spans waiting) or 503 (storage failing) with Retry-After, both retryable
 * by OTLP exporters. Spans are acknowledged only once the store has made them durable.
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
import { SpanStoreOverloadedError, type SpanStore } from '../store.ts';
import { parseOtlpTraces, type OtlpEncoding } from './parse.ts';
import { ExportTraceServiceResponse } from './proto.ts';

export interface TraceIngestDeps {
  readonly store: SpanStore;
  /** Attribute values longer than this many UTF-8 bytes are cut (parse.ts TRUNCATED_MARKER). */
  readonly maxAttributeValueBytes: number;
  /** Largest body accepted after gzip decompression; default 64 MiB. */
  readonly maxDecompressedBytes?: number;
}

const PROTOCOL = 'otlp_traces';
/** How many refused spans the partialSuccess message names. */
const ERRORS_SHOWN = 5;
/** Seconds a sender should wait after a storage failure. */
const STORAGE_RETRY_AFTER_SECONDS = 5;

const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAVAILABLE = 14;

export function otlpTracesPlugin(deps: TraceIngestDeps): FastifyPluginAsync {
  const maxDecompressedBytes = deps.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;

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

      let parsed;
      try {
        let body: Uint8Array = rawBody(req);
        if (contentEncoding === 'gzip') body = await gunzipLimited(body, maxDecompressedBytes);
        else if (body.length > maxDecompressedBytes)
          throw new PayloadTooLargeError(`body is larger than the limit of ${maxDecompressedBytes} bytes`);
        parsed = parseOtlpTraces(body, encoding, { maxAttributeValueBytes: deps.maxAttributeValueBytes });
      } catch (err) {
        if (err instanceof PayloadTooLargeError) return fail(reply, req, 413, `OTLP traces: ${err.message}`);
        if (err instanceof MalformedRequestError) return fail(reply, req, 400, `OTLP traces: ${err.message}`);
        throw err;
      }

      try {
        await deps.store.write(parsed.spans);
      } catch (err) {
        const overloaded = err instanceof SpanStoreOverloadedError;
        const status = overloaded ? 429 : 503;
        const retryAfter = overloaded ? err.retryAfterSeconds : STORAGE_RETRY_AFTER_SECONDS;
        req.log.warn({ err }, 'OTLP traces: storing spans failed');
        reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
        return fail(
          reply,
          req,
          status,
          overloaded
            ? `OTLP traces: storage is overloaded, retry later: ${(err as Error).message}`
            : `OTLP traces: storage write failed, retry later: ${(err as Error).message}`,
        );
      }

      const errorMessage = parsed.errors.length
        ? parsed.errors.slice(0, ERRORS_SHOWN).join('; ') +
          (parsed.errors.length > ERRORS_SHOWN ? `; ... and ${parsed.errors.length - ERRORS_SHOWN} more` : '')
        : '';
      reply.code(200);
      if (encoding === 'protobuf') {
        const body = ExportTraceServiceResponse.create(
          parsed.rejectedSpans
            ? { partialSuccess: { rejectedSpans: parsed.rejectedSpans, errorMessage } }
            : {},
        );
        return reply
          .type('application/x-protobuf')
          .send(Buffer.from(ExportTraceServiceResponse.encode(body).finish()));
      }
      return reply
        .type('application/json')
        .send(
          JSON.stringify(
            parsed.rejectedSpans
              ? { partialSuccess: { rejectedSpans: String(parsed.rejectedSpans), errorMessage } }
              : {},
          ),
        );
    });
  };
}
