/**
 * POST /api/v2/spans: the Zipkin v2 JSON receiver, thin glue around parse.ts and the shared span storing of
 * the OTLP handler. Answers as a Zipkin server does, so Zipkin reporters (Brave, zipkin-js, the OpenTelemetry
 * Zipkin exporter), which only look at the status, behave:
 * - 202 Accepted, empty body, when every span was stored;
 * - 202 Accepted with a text body listing the refused spans when some were stored (reporters must not resend
 *   the batch: that would duplicate the stored spans);
 * - 400 with a text body listing every refused span when none could be stored, or when the body is not a
 *   JSON array; 413 too large; 415 other content types (Zipkin protobuf and Thrift) or encodings;
 * - 429 (too many spans waiting) or 503 (storage failing) with Retry-After.
 * `Content-Encoding: gzip` is accepted.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
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
import { storeSpans, type TraceIngestDeps } from '../otlp/handler.ts';
import { spansRejected } from '../../self/metrics.ts';
import { parseZipkinSpans } from './parse.ts';

const PROTOCOL = 'zipkin';
/** How many refused spans a response lists. */
const ERRORS_SHOWN = 20;

function listErrors(errors: readonly string[]): string {
  const lines = errors.slice(0, ERRORS_SHOWN);
  if (errors.length > ERRORS_SHOWN) lines.push(`... and ${errors.length - ERRORS_SHOWN} more`);
  return lines.join('\n');
}

export function zipkinPlugin(deps: TraceIngestDeps): FastifyPluginAsync {
  const maxBytes = deps.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  return async (app) => {
    acceptRawBodies(app);

    const fail = (reply: FastifyReply, status: number, message: string) => {
      countRequestRejected(PROTOCOL, status);
      return reply.code(status).type('text/plain; charset=utf-8').send(`Zipkin: ${message}\n`);
    };

    app.setErrorHandler((err: FastifyError, req, reply) => {
      const { status, message } = describeFrameworkError(err, req);
      if (status >= 500) req.log.error({ err }, 'Zipkin spans request failed');
      return fail(reply, status, message);
    });

    app.post('/api/v2/spans', async (req, reply) => {
      const type = mediaType(req.headers['content-type']);
      if (type !== 'application/json' && type !== '')
        return fail(
          reply,
          415,
          `unsupported Content-Type ${JSON.stringify(req.headers['content-type'])}; Vigil accepts Zipkin v2 JSON (application/json) only`,
        );
      const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (contentEncoding !== 'gzip' && contentEncoding !== 'identity')
        return fail(
          reply,
          415,
          `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; expected gzip or none`,
        );

      let parsed;
      try {
        let body: Uint8Array = rawBody(req);
        if (contentEncoding === 'gzip') body = await gunzipLimited(body, maxBytes);
        else if (body.length > maxBytes)
          throw new PayloadTooLargeError(`body is larger than the limit of ${maxBytes} bytes`);
        parsed = parseZipkinSpans(body, { maxAttributeValueBytes: deps.maxAttributeValueBytes });
      } catch (err) {
        if (err instanceof PayloadTooLargeError) return fail(reply, 413, err.message);
        if (err instanceof MalformedRequestError) return fail(reply, 400, err.message);
        throw err;
      }
      if (parsed.errors.length)
        spansRejected.inc({ protocol: PROTOCOL, reason: 'invalid' }, parsed.errors.length);
      if (parsed.spans.length === 0 && parsed.errors.length > 0)
        return fail(
          reply,
          400,
          `no span could be stored; ${parsed.errors.length} of ${parsed.received} refused:\n${listErrors(parsed.errors)}`,
        );

      const outcome = await storeSpans(deps, parsed.spans, PROTOCOL);
      if (outcome.status === 'retryable') {
        req.log.warn({ reason: outcome.reason }, `Zipkin: ${outcome.message}`);
        reply.header('retry-after', String(outcome.retryAfterSeconds));
        return fail(reply, outcome.reason === 'overloaded' ? 429 : 503, outcome.message);
      }
      reply.code(202);
      if (!parsed.errors.length) return reply.send();
      return reply
        .type('text/plain; charset=utf-8')
        .send(
          `Zipkin: stored ${parsed.spans.length} of ${parsed.received} spans; ${parsed.errors.length} refused:\n${listErrors(parsed.errors)}\n`,
        );
    });
  };
}
