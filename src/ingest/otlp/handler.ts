/**
 * POST /v1/metrics: OTLP/HTTP metrics receiver (protobuf and JSON, optionally gzip). Thin glue around
 * `parse.ts`, answering per the OTLP/HTTP specification: 200 with an ExportMetricsServiceResponse in the
 * request's encoding (partialSuccess when points were refused); 400 with a google.rpc.Status for undecodable
 * bodies; 413 too large; 415 for other content types; 429 (overloaded) or 503 (storage failing) with
 * Retry-After, both retryable by OTLP exporters.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  MalformedRequestError,
  PayloadTooLargeError,
  acceptRawBodies,
  countRejected,
  countRequestRejected,
  describeFrameworkError,
  gunzipLimited,
  mediaType,
  rawBody,
  sendRetryable,
  storeExemplars,
  storeParsed,
  summarizeExemplarDrops,
  summarizeErrors,
  type IngestDeps,
} from '../http.ts';
import { DeltaToCumulative } from './delta.ts';
import { parseOtlpMetrics, type OtlpEncoding } from './parse.ts';
import { ExportMetricsServiceResponse, RpcStatus } from './proto.ts';

const PROTOCOL = 'otlp';
/** How many refused points the partialSuccess message names. */
const ERRORS_SHOWN = 5;

/** google.rpc.Code values used in Status bodies. */
const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAVAILABLE = 14;

/**
 * Delta running totals are shared by every plugin instance built from the same deps (the composition root
 * may mount the plugin on the main port and on 4318), so a delta series is accumulated once.
 */
const deltaByDeps = new WeakMap<IngestDeps, DeltaToCumulative>();

export function otlpHttpPlugin(deps: IngestDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const maxDecompressedBytes = deps.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  let delta = deltaByDeps.get(deps);
  if (!delta) {
    delta = new DeltaToCumulative();
    deltaByDeps.set(deps, delta);
  }
  const accumulator = delta;

  return async (app) => {
    acceptRawBodies(app);

    const encodingOf = (req: FastifyRequest): OtlpEncoding | undefined => {
      const t = mediaType(req.headers['content-type']);
      return t === 'application/x-protobuf' ? 'protobuf' : t === 'application/json' ? 'json' : undefined;
    };

    /** A google.rpc.Status answer in the request's encoding (JSON when the request's is unknown). */
    const status = (
      reply: FastifyReply,
      req: FastifyRequest,
      httpStatus: number,
      code: number,
      message: string,
    ): FastifyReply => {
      reply.code(httpStatus);
      if (encodingOf(req) === 'protobuf')
        return reply
          .type('application/x-protobuf')
          .send(Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message })).finish()));
      return reply.type('application/json').send(JSON.stringify({ code, message }));
    };

    const fail = (
      reply: FastifyReply,
      req: FastifyRequest,
      httpStatus: number,
      message: string,
    ): FastifyReply => {
      countRequestRejected(PROTOCOL, httpStatus);
      const code =
        httpStatus === 429
          ? RPC_RESOURCE_EXHAUSTED
          : httpStatus >= 500
            ? RPC_UNAVAILABLE
            : RPC_INVALID_ARGUMENT;
      return status(reply, req, httpStatus, code, message);
    };

    app.setErrorHandler((err: FastifyError, req, reply) => {
      const { status: httpStatus, message } = describeFrameworkError(err, req);
      if (httpStatus >= 500) req.log.error({ err }, 'OTLP metrics request failed');
      return fail(reply, req, httpStatus, `OTLP metrics: ${message}`);
    });

    app.post('/v1/metrics', async (req, reply) => {
      const encoding = encodingOf(req);
      if (!encoding)
        return fail(
          reply,
          req,
          415,
          `OTLP metrics: unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}; expected application/x-protobuf or application/json`,
        );
      const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (contentEncoding !== 'gzip' && contentEncoding !== 'identity')
        return fail(
          reply,
          req,
          415,
          `OTLP metrics: unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; expected gzip or none`,
        );

      let parsed;
      try {
        let body: Uint8Array = rawBody(req);
        if (contentEncoding === 'gzip') body = await gunzipLimited(body, maxDecompressedBytes);
        else if (body.length > maxDecompressedBytes)
          throw new PayloadTooLargeError(`body is larger than the limit of ${maxDecompressedBytes} bytes`);
        parsed = parseOtlpMetrics(body, encoding, { now: now(), limits: deps.limits, delta: accumulator });
      } catch (err) {
        if (err instanceof PayloadTooLargeError) return fail(reply, req, 413, `OTLP metrics: ${err.message}`);
        if (err instanceof MalformedRequestError)
          return fail(reply, req, 400, `OTLP metrics: ${err.message}`);
        throw err;
      }

      const outcome = await storeParsed(deps.storage, parsed, PROTOCOL, 429);
      if (outcome.status === 'retryable') {
        req.log.warn({ status: outcome.httpStatus }, outcome.message);
        countRequestRejected(PROTOCOL, outcome.httpStatus);
        sendRetryable(reply, outcome);
        return status(
          reply,
          req,
          outcome.httpStatus,
          outcome.httpStatus === 429 ? RPC_RESOURCE_EXHAUSTED : RPC_UNAVAILABLE,
          `OTLP metrics: ${outcome.message}`,
        );
      }

      const rejected = countRejected(PROTOCOL, parsed.errors);
      const ex = await storeExemplars(deps.exemplars, parsed.exemplars, parsed.exemplarDrops, PROTOCOL);
      if (ex.error) req.log.warn(`OTLP metrics: ${ex.error}`);
      // Exemplars left out are a warning: partialSuccess with 0 rejected points, as the OTLP spec allows.
      const errorMessage = [
        parsed.errors.length ? summarizeErrors(parsed.errors, ERRORS_SHOWN, '; ') : '',
        summarizeExemplarDrops(parsed.exemplarDrops, ERRORS_SHOWN),
      ]
        .filter(Boolean)
        .join('; ');
      reply.code(200);
      if (encoding === 'protobuf') {
        const body = errorMessage
          ? ExportMetricsServiceResponse.create({
              partialSuccess: { rejectedDataPoints: rejected, errorMessage },
            })
          : ExportMetricsServiceResponse.create({});
        return reply
          .type('application/x-protobuf')
          .send(Buffer.from(ExportMetricsServiceResponse.encode(body).finish()));
      }
      return reply
        .type('application/json')
        .send(
          JSON.stringify(
            errorMessage ? { partialSuccess: { rejectedDataPoints: String(rejected), errorMessage } } : {},
          ),
        );
    });
  };
}
