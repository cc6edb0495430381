/**
 * POST /api/v1/read: the Prometheus remote-read protocol, so a Prometheus `remote_read` section (or any
 * remote-read client) can query Vigil. Thin glue: the protocol codec is in src/import/remoteread/codec.ts.
 *
 * Response types: SAMPLES (a snappy-compressed ReadResponse with one QueryResult per query). Vigil does not
 * produce STREAMED_XOR_CHUNKS; a request that accepts only that type is answered with SAMPLES too, labelled
 * by its Content-Type (`application/x-protobuf`), which is how clients tell the two apart.
 * Errors are plain text: 400 for an undecodable request or a bad matcher, 415 for a wrong content type,
 * 422 when a query would return more samples than allowed, 503 when it runs out of time.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { compileMatcher, InvalidMatcherError } from '../model/matcher.ts';
import type { Queryable } from '../store/interface.ts';
import { acceptRawBodies, mediaType, rawBody } from '../ingest/http.ts';
import {
  RemoteReadProtocolError,
  decodeReadRequest,
  encodeReadResponse,
  snappyCompress,
  snappyDecompress,
  type ReadSeries,
} from '../import/remoteread/codec.ts';

export interface RemoteReadDeps {
  readonly storage: Queryable;
  /** Samples one request may return in total (Prometheus: --storage.remote.read-sample-limit). */
  readonly maxSamples: number;
  /** Longest a request may take. */
  readonly timeoutMs: number;
  /** Largest decompressed request accepted. Default 16 MiB (requests are a few matchers). */
  readonly maxRequestBytes?: number;
}

class SampleLimitError extends Error {}

export function remoteReadPlugin(deps: RemoteReadDeps): FastifyPluginAsync {
  const maxRequestBytes = deps.maxRequestBytes ?? 16 * 1024 * 1024;
  return async (app) => {
    acceptRawBodies(app);

    const fail = (reply: FastifyReply, status: number, message: string) =>
      reply.code(status).type('text/plain; charset=utf-8').send(`remote-read: ${message}\n`);

    app.post('/api/v1/read', async (req, reply) => {
      const contentType = req.headers['content-type'];
      const mt = mediaType(contentType);
      if (mt !== '' && mt !== 'application/x-protobuf')
        return fail(
          reply,
          415,
          `unsupported Content-Type ${JSON.stringify(contentType)}; expected application/x-protobuf (snappy-compressed prometheus.ReadRequest)`,
        );
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'snappy')
        return fail(
          reply,
          415,
          `unsupported Content-Encoding ${JSON.stringify(encoding)}; remote-read requests are snappy (block format)`,
        );

      let request;
      try {
        request = decodeReadRequest(snappyDecompress(rawBody(req), maxRequestBytes, 'request'));
      } catch (err) {
        if (err instanceof RemoteReadProtocolError) return fail(reply, 400, err.message);
        throw err;
      }

      const signal = AbortSignal.timeout(deps.timeoutMs);
      const results: ReadSeries[][] = [];
      let samples = 0;
      try {
        for (const [i, q] of request.queries.entries()) {
          if (q.end < q.start) throw new RemoteReadProtocolError(`queries[${i}]: end is before start`);
          for (const m of q.matchers) compileMatcher(m);
          const series = await deps.storage.querier(q.start, q.end).select(q.matchers, { signal });
          for (const s of series) samples += s.t.length;
          if (samples > deps.maxSamples)
            throw new SampleLimitError(
              `the request would return more than ${deps.maxSamples} samples (query.max_samples); ` +
                'ask for a shorter time range or fewer series',
            );
          results.push(series);
        }
      } catch (err) {
        if (err instanceof RemoteReadProtocolError || err instanceof InvalidMatcherError)
          return fail(reply, 400, err.message);
        if (err instanceof SampleLimitError) return fail(reply, 422, err.message);
        if (signal.aborted) return fail(reply, 503, `the request took longer than ${deps.timeoutMs} ms`);
        throw err;
      }
      const body = snappyCompress(encodeReadResponse(results));
      return reply
        .code(200)
        .header('content-type', 'application/x-protobuf')
        .header('content-encoding', 'snappy')
        .send(body);
    });
  };
}
