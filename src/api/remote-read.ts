/**
 * POST /api/v1/read: the Prometheus remote-read protocol, so a Prometheus `remote_read` section (or any
 * remote-read client) can query Vigil. Thin glue: the protocol codecs are in src/import/remoteread/
 * (codec.ts for requests and SAMPLES, chunked.ts and xorchunk.ts for STREAMED_XOR_CHUNKS).
 *
 * Response types, negotiated like Prometheus: the first type in the request's accepted_response_types that
 * Vigil supports (an empty list means SAMPLES; a list of only unknown types is a 400).
 *   - SAMPLES: a snappy-compressed ReadResponse with one QueryResult per query, `application/x-protobuf`.
 *     `maxSamples` limits the whole request (422).
 *   - STREAMED_XOR_CHUNKS: frames of ChunkedReadResponse (`application/x-streamed-protobuf;
 *     proto=prometheus.ChunkedReadResponse`), one series per frame, XOR chunks of at most 120 samples, frames
 *     of at most `maxBytesInFrame` (1 MiB). Queries are read from storage one at a time and each one's frames
 *     written as they are cut, so the response is never held whole. Prometheus ignores its sample limit for
 *     streamed reads because its TSDB streams from disk; Vigil's storage returns a query's samples at once, so
 *     `maxSamples` applies to each query. A limit or timeout hit by the first query is a 422 or 503 as for
 *     SAMPLES; once frames have been sent the status cannot change, so the stream is cut short and the client
 *     sees a truncated frame (as with Prometheus, which ends a failed stream the same way).
 * Errors are plain text: 400 for an undecodable request or a bad matcher, 415 for a wrong content type,
 * 422 when a query would return more samples than allowed, 503 when it runs out of time.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { compileMatcher, InvalidMatcherError } from '../model/matcher.ts';
import type { Queryable } from '../store/interface.ts';
import { acceptRawBodies, mediaType, rawBody } from '../ingest/http.ts';
import {
  RemoteReadProtocolError,
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadRequest,
  encodeReadResponse,
  snappyCompress,
  snappyDecompress,
  type ReadSeries,
} from '../import/remoteread/codec.ts';
import {
  CHUNKED_CONTENT_TYPE,
  DEFAULT_MAX_BYTES_IN_FRAME,
  chunkedFrames,
} from '../import/remoteread/chunked.ts';

export interface RemoteReadDeps {
  readonly storage: Queryable;
  /** Samples one request may return in total (Prometheus: --storage.remote.read-sample-limit). */
  readonly maxSamples: number;
  /** Longest a request may take. */
  readonly timeoutMs: number;
  /** Largest decompressed request accepted. Default 16 MiB (requests are a few matchers). */
  readonly maxRequestBytes?: number;
  /**
   * Largest frame of a STREAMED_XOR_CHUNKS response (Prometheus: --storage.remote.read-max-bytes-in-frame,
   * default 1 MiB). A frame always holds at least one chunk.
   */
  readonly maxBytesInFrame?: number;
}

/** The first accepted response type Vigil supports, in the client's order of preference (as Prometheus). */
function negotiate(accepted: readonly number[]): number {
  if (accepted.length === 0) return SAMPLES;
  const supported = accepted.find((t) => t === SAMPLES || t === STREAMED_XOR_CHUNKS);
  if (supported === undefined)
    throw new RemoteReadProtocolError(
      `none of the accepted response types (${accepted.join(', ')}) is supported; Vigil answers SAMPLES (0) or STREAMED_XOR_CHUNKS (1)`,
    );
  return supported;
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

      let responseType: number;
      try {
        responseType = negotiate(request.acceptedResponseTypes);
        for (const [i, q] of request.queries.entries()) {
          if (q.end < q.start) throw new RemoteReadProtocolError(`queries[${i}]: end is before start`);
          for (const m of q.matchers) compileMatcher(m);
        }
      } catch (err) {
        if (err instanceof RemoteReadProtocolError || err instanceof InvalidMatcherError)
          return fail(reply, 400, err.message);
        throw err;
      }

      const signal = AbortSignal.timeout(deps.timeoutMs);
      /** Reads queries[i]; `before` samples were already taken by the request (SAMPLES counts them all). */
      const select = async (i: number, before: number): Promise<ReadSeries[]> => {
        const q = request.queries[i]!;
        const series = await deps.storage.querier(q.start, q.end).select(q.matchers, { signal });
        let samples = before;
        for (const s of series) samples += s.t.length;
        if (samples > deps.maxSamples)
          throw new SampleLimitError(
            (responseType === SAMPLES
              ? `the request would return more than ${deps.maxSamples} samples (query.max_samples)`
              : `queries[${i}] would return more than ${deps.maxSamples} samples (query.max_samples, a limit per query for streamed reads)`) +
              '; ask for a shorter time range or fewer series',
          );
        return series;
      };
      const failed = (err: unknown) => {
        if (err instanceof SampleLimitError) return fail(reply, 422, err.message);
        if (signal.aborted) return fail(reply, 503, `the request took longer than ${deps.timeoutMs} ms`);
        throw err;
      };

      if (responseType === STREAMED_XOR_CHUNKS) {
        const queries = request.queries;
        // The first query is read before anything is sent, so its failures still get a status code.
        let first: ReadSeries[] = [];
        try {
          if (queries.length > 0) first = await select(0, 0);
        } catch (err) {
          return failed(err);
        }
        const maxBytesInFrame = deps.maxBytesInFrame ?? DEFAULT_MAX_BYTES_IN_FRAME;
        async function* frames(): AsyncGenerator<Buffer> {
          yield* chunkedFrames(0, first, maxBytesInFrame);
          first = []; // let the first query's samples go
          for (let i = 1; i < queries.length; i++) {
            let series: ReadSeries[];
            try {
              series = await select(i, 0);
            } catch (err) {
              const why =
                err instanceof SampleLimitError
                  ? err.message
                  : signal.aborted
                    ? `the request took longer than ${deps.timeoutMs} ms`
                    : (err as Error).message;
              req.log.warn(`remote-read: streamed response cut short at queries[${i}]: ${why}`);
              throw new Error(`remote-read: queries[${i}]: ${why}`, { cause: err });
            }
            yield* chunkedFrames(i, series, maxBytesInFrame);
          }
        }
        return reply
          .code(200)
          .header('content-type', CHUNKED_CONTENT_TYPE)
          .send(Readable.from(frames(), { objectMode: false }));
      }

      const results: ReadSeries[][] = [];
      let samples = 0;
      try {
        for (let i = 0; i < request.queries.length; i++) {
          const series = await select(i, samples);
          for (const s of series) samples += s.t.length;
          results.push(series);
        }
      } catch (err) {
        return failed(err);
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
