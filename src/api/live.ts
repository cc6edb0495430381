/**
 * `GET /api/vigil/v1/live`: live query results over Server-Sent Events. After new samples are committed (at
 * most once per max(step, 1 s)), each query is evaluated as a range query over the step-aligned timestamps
 * that completed since the previous event, and the new points are sent:
 *
 *     id: 1700000030
 *     event: points
 *     data: {"t":[1700000015,1700000030],"series":[{"query":0,"metric":{...},"values":[[1700000015,"1"],...]}]}
 *
 * A failing evaluation sends `event: error` with `{"query": i, "error": "..."}` and the stream carries on. A
 * comment line every 15 s keeps proxies from closing an idle stream. EventSource reconnects resume after the
 * last `id` (the Last-Event-ID header).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { CommitNotifier } from '../ingest/commits.ts';
import { DurationError, formatDuration, parseDuration } from '../model/duration.ts';
import { ParseError, exprType, parse, type Engine } from '../query/promql/index.ts';
import type { Queryable } from '../store/interface.ts';
import { ApiError, parseTime } from './params.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler, type ErrorDetail } from './vigil-api.ts';

export interface LiveDeps {
  readonly storage: Queryable;
  readonly engine: Engine;
  readonly commits: CommitNotifier;
  readonly now?: () => number;
  /** Streams open at once; more get 503 (default 100). */
  readonly maxStreams?: number;
  /** Interval of the keep-alive comment (default 15 s). */
  readonly heartbeatMs?: number;
  /** Wall-clock limit of one evaluation of one query (default 30 s). */
  readonly queryTimeoutMs?: number;
}

/** The `data` of an `event: points`. Times are Unix seconds, values strings as in the Prometheus API. */
export interface LivePoints {
  readonly t: number[];
  readonly series: { query: number; metric: Record<string, string>; values: [number, string][] }[];
}

export const MAX_LIVE_QUERIES = 10;
const DEFAULT_STEP_MS = 15_000;
const MIN_GAP_MS = 1000;
/** One event never carries more points per series than a range query may return. */
const MAX_POINTS = 11_000;
/** A client that stops reading is dropped once this much output is waiting for it. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

interface LiveRequest {
  readonly queries: string[];
  readonly stepMs: number;
  /** First timestamp to send (ms, aligned to the step). */
  readonly firstMs: number;
}

function parseRequest(req: FastifyRequest, now: number): LiveRequest {
  const q = req.query as Record<string, unknown>;
  const queries = list(q.query);
  if (queries.length === 0)
    throw new HttpError(400, 'missing parameter "query": give one or more, e.g. ?query=up&query=rate(x[1m])');
  if (queries.length > MAX_LIVE_QUERIES)
    throw new HttpError(400, `too many "query" parameters: ${queries.length}, at most ${MAX_LIVE_QUERIES}`);
  const details: ErrorDetail[] = [];
  queries.forEach((query, i) => {
    const path = `query[${i}]`;
    if (query.trim() === '') {
      details.push({ path, message: 'must not be empty' });
      return;
    }
    try {
      const type = exprType(parse(query));
      if (type !== 'vector' && type !== 'scalar')
        details.push({
          path,
          message: `expression type is ${type === 'matrix' ? 'range vector' : type}; a live query must be an instant vector or a scalar`,
          position: { start: 0, end: query.length },
        });
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      details.push({ path, message: err.message, position: err.positionRange });
    }
  });
  if (details.length) {
    const first = details[0]!;
    throw new HttpError(400, `invalid ${first.path}: ${first.message}`, details);
  }

  let stepMs = DEFAULT_STEP_MS;
  if (q.step !== undefined && q.step !== '') {
    const s = String(q.step);
    const n = Number(s);
    try {
      stepMs = Number.isFinite(n) ? Math.round(n * 1000) : parseDuration(s);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      throw new HttpError(400, `invalid parameter "step": ${err.message}`);
    }
    if (!(stepMs >= 1))
      throw new HttpError(
        400,
        `invalid parameter "step": ${JSON.stringify(s)}; use a positive number of seconds`,
      );
  }

  // An EventSource reconnecting resumes after the last event it received.
  const lastId = req.headers['last-event-id'];
  let startMs = now;
  if (typeof lastId === 'string' && lastId !== '' && Number.isFinite(Number(lastId))) {
    startMs = Number(lastId) * 1000 + 1;
  } else if (q.start !== undefined && q.start !== '') {
    try {
      startMs = parseTime(String(q.start), 'start');
    } catch (err) {
      if (err instanceof ApiError) throw new HttpError(400, err.message);
      throw err;
    }
  }
  const firstMs = Math.ceil(startMs / stepMs) * stepMs;
  if ((now - firstMs) / stepMs > MAX_POINTS)
    throw new HttpError(
      400,
      `invalid parameter "start": it is more than ${MAX_POINTS} steps of ${formatDuration(stepMs)} ago; ` +
        'load the history with query_range and start the live stream near its end',
    );
  return { queries, stepMs, firstMs };
}

function sse(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function liveApi(deps: LiveDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const maxStreams = deps.maxStreams ?? 100;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const queryTimeoutMs = deps.queryTimeoutMs ?? 30_000;
  /** Closers of the open streams. */
  const open = new Set<() => void>();

  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    // Server shutdown must not wait for clients that never hang up.
    app.addHook('preClose', async () => {
      for (const close of [...open]) close();
    });

    app.get(`${VIGIL_API_PREFIX}/live`, async (req, reply) => {
      const lr = parseRequest(req, now());
      if (open.size >= maxStreams)
        throw new HttpError(
          503,
          `too many live streams are open (${maxStreams}); close some or try again later`,
          undefined,
          { 'retry-after': '5' },
        );
      stream(req, reply, lr);
    });
  };

  function stream(req: FastifyRequest, reply: FastifyReply, lr: LiveRequest): void {
    const { queries, stepMs } = lr;
    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.write(`retry: 5000\n: streaming ${queries.length} quer${queries.length === 1 ? 'y' : 'ies'}\n\n`);

    const minGap = Math.max(stepMs, MIN_GAP_MS);
    let next = lr.firstMs;
    // Points between `start` and now are due at once; after that, only new commits trigger an evaluation.
    let dirty = lr.firstMs <= now();
    let running = false;
    let lastEval = -Infinity;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const abort = new AbortController();

    const write = (text: string) => {
      if (closed) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        req.log.warn('live stream dropped: the client does not read fast enough');
        close();
        return;
      }
      res.write(text);
    };

    const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
    const unsubscribe = deps.commits.subscribe(() => {
      dirty = true;
      schedule(0);
    });

    function close(): void {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(timer);
      timer = undefined;
      unsubscribe();
      abort.abort(new Error('the live stream closed'));
      open.delete(close);
      if (!res.writableEnded) res.end();
    }
    open.add(close);
    res.once('close', close);

    function schedule(delay: number): void {
      if (closed || running || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        tick().catch((err: unknown) => {
          req.log.error({ err }, 'live stream failed');
          close();
        });
      }, delay);
    }

    async function tick(): Promise<void> {
      if (closed || running || !dirty) return;
      const t = now();
      const last = Math.floor(t / stepMs) * stepMs;
      if (last < next) return schedule(next - t);
      if (t - lastEval < minGap) return schedule(lastEval + minGap - t);
      dirty = false;
      running = true;
      lastEval = t;
      const from = Math.max(next, last - (MAX_POINTS - 1) * stepMs);
      next = last + stepMs;
      try {
        await evaluate(from, last);
      } finally {
        running = false;
      }
      if (dirty) schedule(0);
    }

    async function evaluate(from: number, to: number): Promise<void> {
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(queryTimeoutMs)]);
      const results = await Promise.all(
        queries.map((query) =>
          deps.engine.rangeQuery(deps.storage, query, from, to, stepMs, { signal }).then(
            (r) => ({ ok: true as const, r }),
            (err: unknown) => ({ ok: false as const, err }),
          ),
        ),
      );
      if (closed) return;
      const points: LivePoints = { t: [], series: [] };
      for (let ts = from; ts <= to; ts += stepMs) points.t.push(ts / 1000);
      results.forEach((res, i) => {
        if (!res.ok) {
          const message = (res.err as Error)?.message ?? String(res.err);
          write(sse('error', { query: i, error: `evaluating query[${i}] failed: ${message}` }));
          return;
        }
        if (res.r.resultType !== 'matrix') return;
        for (const s of res.r.result) points.series.push({ query: i, metric: s.metric, values: s.values });
      });
      write(sse('points', points, to / 1000));
    }

    schedule(0);
  }
}
