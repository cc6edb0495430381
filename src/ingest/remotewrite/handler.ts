/**
 * POST /api/v1/write: Prometheus remote-write 1.0 receiver. Thin glue: checks headers, parses with
 * `parse.ts`, stores through one appender, answers per the Remote-Write 1.0 specification:
 * 204 stored; 400 (not retried by senders) when some series were invalid — every valid one is stored anyway —
 * or the body is undecodable; 413 too large; 415 wrong content type or encoding; 503 with Retry-After when
 * storage is overloaded or failing (senders retry 5xx; many do not retry 429).
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  MalformedRequestError,
  PayloadTooLargeError,
  acceptRawBodies,
  countRejected,
  countRequestRejected,
  describeFrameworkError,
  mediaType,
  mediaTypeParam,
  rawBody,
  sendRetryable,
  storeExemplars,
  storeParsed,
  summarizeExemplarDrops,
  summarizeErrors,
  type IngestDeps,
} from '../http.ts';
import { SeriesCache, parseRemoteWrite } from './parse.ts';

const PROTOCOL = 'remote_write';
/** How many invalid series a 400 answer names. */
const ERRORS_SHOWN = 5;

export function remoteWritePlugin(deps: IngestDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const maxDecompressedBytes = deps.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const cache = new SeriesCache();

  return async (app) => {
    acceptRawBodies(app);

    const fail = (reply: FastifyReply, status: number, message: string): FastifyReply => {
      countRequestRejected(PROTOCOL, status);
      return reply
        .code(status)
        .type('text/plain; charset=utf-8')
        .send(message + '\n');
    };

    app.setErrorHandler((err: FastifyError, req, reply) => {
      const { status, message } = describeFrameworkError(err, req);
      if (status >= 500) req.log.error({ err }, 'remote-write request failed');
      return fail(reply, status, `remote-write: ${message}`);
    });

    app.post('/api/v1/write', async (req, reply) => {
      const contentType = req.headers['content-type'];
      if (mediaType(contentType) !== 'application/x-protobuf')
        return fail(
          reply,
          415,
          `remote-write: unsupported Content-Type ${JSON.stringify(contentType ?? '')}; expected application/x-protobuf (snappy-compressed prometheus.WriteRequest)`,
        );
      const proto = mediaTypeParam(contentType, 'proto');
      if (proto !== undefined && proto !== 'prometheus.WriteRequest')
        return fail(
          reply,
          415,
          `remote-write: unsupported protobuf message ${JSON.stringify(proto)}; this endpoint speaks remote-write 1.0 (prometheus.WriteRequest)`,
        );
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'snappy')
        return fail(
          reply,
          415,
          `remote-write: unsupported Content-Encoding ${JSON.stringify(encoding)}; remote-write 1.0 bodies are snappy (block format)`,
        );

      let parsed;
      try {
        parsed = parseRemoteWrite(rawBody(req), {
          now: now(),
          limits: deps.limits,
          maxDecompressedBytes,
          cache,
        });
      } catch (err) {
        if (err instanceof PayloadTooLargeError) return fail(reply, 413, `remote-write: ${err.message}`);
        if (err instanceof MalformedRequestError) return fail(reply, 400, `remote-write: ${err.message}`);
        throw err;
      }

      const outcome = await storeParsed(deps.storage, parsed, PROTOCOL, 503);
      if (outcome.status === 'retryable') {
        req.log.warn({ status: outcome.httpStatus }, outcome.message);
        countRequestRejected(PROTOCOL, outcome.httpStatus);
        return sendRetryable(reply, outcome)
          .type('text/plain; charset=utf-8')
          .send(`remote-write: ${outcome.message}\n`);
      }
      const rejected = countRejected(PROTOCOL, parsed.errors);
      // Exemplars are best effort, as in Prometheus: problems are counted and logged, never a 4xx.
      const ex = await storeExemplars(deps.exemplars, parsed.exemplars, parsed.exemplarDrops, PROTOCOL);
      if (ex.error) req.log.warn(`remote-write: ${ex.error}`);
      if (parsed.exemplarDrops?.length)
        req.log.debug(`remote-write: ${summarizeExemplarDrops(parsed.exemplarDrops, ERRORS_SHOWN)}`);
      if (parsed.errors.length === 0) return reply.code(204).send();
      if (outcome.samples === 0) countRequestRejected(PROTOCOL, 400);
      return reply
        .code(400)
        .type('text/plain; charset=utf-8')
        .send(
          `remote-write: ${parsed.errors.length} invalid part(s), ${rejected} sample(s) refused, ` +
            `${outcome.samples} sample(s) of the valid series stored; first problems:\n${summarizeErrors(parsed.errors, ERRORS_SHOWN)}\n`,
        );
    });
  };
}
