/**
 * The Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/) with its exact
 * response shapes and error codes, so Grafana's Prometheus data source, promtool and scripts work unchanged.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidMatcherError, type Matcher } from '../model/matcher.ts';
import type { ExemplarQueryable } from '../store/exemplars.ts';
import type { Storage } from '../store/interface.ts';
import { queryDuration } from '../self/metrics.ts';
import {
  EvalError,
  ParseError,
  QueryCanceledError,
  QueryTimeoutError,
  TooManySamplesError,
  astToJson,
  formatValue,
  parse,
  prettyExpr,
  type Engine,
  type Expr,
} from '../query/promql/index.ts';
import {
  ApiError,
  MAX_TIME,
  MIN_TIME,
  allValues,
  optionalTime,
  parseDurationParam,
  parseTime,
} from './params.ts';

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly branch: string;
  readonly buildUser: string;
  readonly buildDate: string;
  readonly goVersion: string;
}

export interface PrometheusApiDeps {
  readonly storage: Storage;
  readonly engine: Engine;
  readonly buildInfo: BuildInfo;
  /** Active scrape targets in Prometheus's /api/v1/targets shape. */
  readonly targets?: () => unknown[];
  readonly queryTimeoutMs: number;
  /** Exemplar storage for /api/v1/query_exemplars; without it every query has none. */
  readonly exemplars?: ExemplarQueryable;
}

/** Most exemplars one query_exemplars answer holds (the newest are kept, with a warning). */
const MAX_EXEMPLARS = 100_000;

/** The matchers of every vector selector in an expression, as Prometheus' query_exemplars selects series. */
export function exemplarSelectors(expr: Expr): Matcher[][] {
  const out: Matcher[][] = [];
  const stack: Expr[] = [expr];
  while (stack.length) {
    const e = stack.pop()!;
    switch (e.type) {
      case 'VectorSelector':
        out.push([...e.matchers]);
        break;
      case 'MatrixSelector':
        out.push([...e.vector.matchers]);
        break;
      case 'SubqueryExpr':
      case 'ParenExpr':
      case 'UnaryExpr':
        stack.push(e.expr);
        break;
      case 'BinaryExpr':
        stack.push(e.rhs, e.lhs);
        break;
      case 'AggregateExpr':
        if (e.param) stack.push(e.param);
        stack.push(e.expr);
        break;
      case 'Call':
        for (let i = e.args.length - 1; i >= 0; i--) stack.push(e.args[i]!);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Prometheus limits a range query to 11,000 points per series. */
const MAX_POINTS = 11_000;

type Params = (name: string) => string[];

function paramsOf(req: FastifyRequest): Params {
  const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : undefined;
  return allValues(req.query as Record<string, unknown>, body);
}

function one(p: Params, name: string): string | undefined {
  return p(name)[0];
}

/** Parses a `match[]` series selector into matchers (it must be a plain vector selector). */
export function parseSeriesSelector(s: string): Matcher[] {
  let expr;
  try {
    expr = parse(s);
  } catch (err) {
    throw new ApiError('bad_data', `invalid parameter "match[]": ${(err as Error).message}`);
  }
  while (expr.type === 'ParenExpr') expr = expr.expr;
  if (expr.type !== 'VectorSelector')
    throw new ApiError(
      'bad_data',
      `invalid parameter "match[]": ${JSON.stringify(s)} is not a series selector`,
    );
  return [...expr.matchers];
}

function matcherSets(p: Params, required: boolean): Matcher[][] {
  const raw = p('match[]');
  if (required && raw.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
  return raw.map(parseSeriesSelector);
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ParseError) return new ApiError('bad_data', err.message, { cause: err });
  if (err instanceof QueryTimeoutError) return new ApiError('timeout', err.message, { cause: err });
  if (err instanceof QueryCanceledError) return new ApiError('canceled', err.message, { cause: err });
  if (err instanceof TooManySamplesError || err instanceof EvalError)
    return new ApiError('execution', err.message, { cause: err });
  return new ApiError('internal', (err as Error)?.message ?? String(err), { cause: err });
}

function sendError(reply: FastifyReply, err: unknown, signal?: AbortSignal): FastifyReply {
  // The engine reports any abort as a cancellation; an abort by our own timer is a timeout.
  const timedOut = signal?.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError';
  const e = timedOut
    ? new ApiError('timeout', 'query timed out in expression evaluation', { cause: err })
    : toApiError(err);
  if (e.errorType === 'internal') reply.log.error({ err }, 'API request failed');
  return reply.code(e.status).send({ status: 'error', errorType: e.errorType, error: e.message });
}

/** `{status: "success", data}` plus Prometheus 3's `warnings` and `infos` when there are any. */
function success(reply: FastifyReply, data: unknown, warnings?: string[], infos?: string[]): FastifyReply {
  const body: Record<string, unknown> = { status: 'success', data };
  if (warnings?.length) body.warnings = warnings;
  if (infos?.length) body.infos = infos;
  return reply.send(body);
}

/** The `query` parameter, parsed; bad_data naming the parameter when it is missing or not valid PromQL. */
function queryParam(p: Params): Expr {
  const query = one(p, 'query');
  if (!query) throw new ApiError('bad_data', 'invalid parameter "query": query must not be empty');
  try {
    return parse(query);
  } catch (err) {
    if (err instanceof ParseError)
      throw new ApiError('bad_data', `invalid parameter "query": ${err.message}`, { cause: err });
    throw err;
  }
}

/** Wraps a handler so every failure is answered in Prometheus's error shape. */
function handle(fn: (p: Params, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      return await fn(paramsOf(req), req, reply);
    } catch (err) {
      return sendError(reply, err, querySignals.get(reply));
    }
  };
}

function queryTimeout(p: Params, dflt: number): number {
  const t = one(p, 'timeout');
  if (!t) return dflt;
  return Math.min(dflt, parseDurationParam(t, 'timeout'));
}

const querySignals = new WeakMap<FastifyReply, AbortSignal>();

/** Aborts the query when the client goes away or the per-request timeout passes. */
function querySignal(reply: FastifyReply, timeoutMs: number): AbortSignal {
  const ctl = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished)
      ctl.abort(new QueryCanceledError('query was canceled: the client went away'));
  });
  const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(timeoutMs)]);
  querySignals.set(reply, signal);
  return signal;
}

export function prometheusApi(deps: PrometheusApiDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const both = (path: string, h: ReturnType<typeof handle>) => {
      app.get(path, h);
      app.post(path, h);
    };

    both(
      '/api/v1/query',
      handle(async (p, _req, reply) => {
        const query = one(p, 'query');
        if (!query) throw new ApiError('bad_data', 'invalid parameter "query": query must not be empty');
        const time = optionalTime(one(p, 'time'), 'time', Date.now());
        const timeout = queryTimeout(p, deps.queryTimeoutMs);
        const end = queryDuration.startTimer({ kind: 'instant' });
        const res = await deps.engine.instantQuery(deps.storage, query, time, {
          signal: querySignal(reply, timeout),
          stats: one(p, 'stats') !== undefined,
        });
        end();
        const { warnings, infos, ...data } = res;
        return success(reply, data, warnings, infos);
      }),
    );

    both(
      '/api/v1/query_range',
      handle(async (p, _req, reply) => {
        const query = one(p, 'query');
        const startS = one(p, 'start');
        const endS = one(p, 'end');
        const stepS = one(p, 'step');
        // Checked in Prometheus' order and with its texts; Grafana shows them as they are.
        const start = parseTime(startS ?? '', 'start');
        const end = parseTime(endS ?? '', 'end');
        if (end < start)
          throw new ApiError(
            'bad_data',
            'invalid parameter "end": end timestamp must not be before start time',
          );
        const step = parseDurationParam(stepS ?? '', 'step');
        if (step <= 0)
          throw new ApiError(
            'bad_data',
            'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
          );
        // Whole steps, as Go divides durations; the start point comes on top, so 11,001 points are allowed.
        if (Math.floor((end - start) / step) > MAX_POINTS)
          throw new ApiError(
            'bad_data',
            'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
          );
        if (!query) throw new ApiError('bad_data', 'invalid parameter "query": query must not be empty');
        const timeout = queryTimeout(p, deps.queryTimeoutMs);
        const done = queryDuration.startTimer({ kind: 'range' });
        const res = await deps.engine.rangeQuery(deps.storage, query, start, end, step, {
          signal: querySignal(reply, timeout),
          stats: one(p, 'stats') !== undefined,
        });
        done();
        const { warnings, infos, ...data } = res;
        return success(reply, data, warnings, infos);
      }),
    );

    const range = (p: Params) => {
      const start = optionalTime(one(p, 'start'), 'start', MIN_TIME);
      const end = optionalTime(one(p, 'end'), 'end', MAX_TIME);
      if (end < start)
        throw new ApiError(
          'bad_data',
          'invalid parameter "end": end timestamp must not be before start time',
        );
      return { start, end };
    };
    both(
      '/api/v1/format_query',
      handle(async (p, _req, reply) => success(reply, prettyExpr(queryParam(p)))),
    );

    both(
      '/api/v1/parse_query',
      handle(async (p, _req, reply) => success(reply, astToJson(queryParam(p)))),
    );

    // Exemplars of the series the query's vector selectors match, in Prometheus' shape.
    both(
      '/api/v1/query_exemplars',
      handle(async (p, _req, reply) => {
        const expr = queryParam(p);
        const { start, end } = range(p);
        const selectors = exemplarSelectors(expr);
        if (!deps.exemplars || !selectors.length) return success(reply, []);
        let res;
        try {
          res = await deps.exemplars.select(start, end, selectors, {
            limit: MAX_EXEMPLARS,
            signal: querySignal(reply, queryTimeout(p, deps.queryTimeoutMs)),
          });
        } catch (err) {
          if (err instanceof InvalidMatcherError)
            throw new ApiError('bad_data', `invalid parameter "query": ${err.message}`, { cause: err });
          throw err;
        }
        const data = res.series.map((s) => ({
          seriesLabels: s.seriesLabels,
          exemplars: s.exemplars.map((e) => ({
            labels: e.labels,
            value: formatValue(e.value),
            timestamp: e.t / 1000,
          })),
        }));
        const warnings = res.truncated
          ? [`exemplars truncated to the newest ${MAX_EXEMPLARS}; narrow the query or the time range`]
          : undefined;
        return success(reply, data, warnings);
      }),
    );
    const limitOf = (p: Params) => {
      const l = one(p, 'limit');
      if (l === undefined || l === '') return 0;
      const n = Number(l);
      if (!Number.isInteger(n) || n < 0)
        throw new ApiError('bad_data', `invalid parameter "limit": "${l}" is not a non-negative integer`);
      return n;
    };
    const limited = <T>(items: T[], limit: number): { items: T[]; warnings?: string[] } =>
      limit > 0 && items.length > limit
        ? { items: items.slice(0, limit), warnings: ['results truncated due to limit'] }
        : { items };

    both(
      '/api/v1/series',
      handle(async (p, _req, reply) => {
        const sets = matcherSets(p, true);
        const { start, end } = range(p);
        const all = await deps.storage.querier(start, end).series(sets);
        const { items, warnings } = limited(all as Record<string, string>[], limitOf(p));
        return success(reply, items, warnings);
      }),
    );

    both(
      '/api/v1/labels',
      handle(async (p, _req, reply) => {
        const sets = matcherSets(p, false);
        const { start, end } = range(p);
        const { items, warnings } = limited(
          await deps.storage.querier(start, end).labelNames(sets),
          limitOf(p),
        );
        return success(reply, items, warnings);
      }),
    );

    app.get(
      '/api/v1/label/:name/values',
      handle(async (p, req, reply) => {
        const name = (req.params as { name: string }).name;
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name))
          throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(name)}`);
        const sets = matcherSets(p, false);
        const { start, end } = range(p);
        const values = await deps.storage.querier(start, end).labelValues(name, sets);
        const { items, warnings } = limited(values, limitOf(p));
        return success(reply, items, warnings);
      }),
    );

    app.get(
      '/api/v1/metadata',
      handle(async (p, _req, reply) => {
        const limit = limitOf(p);
        const metric = one(p, 'metric');
        const md = await deps.storage.metadata(metric || undefined, limit || undefined);
        return success(reply, Object.fromEntries(md));
      }),
    );

    app.get(
      '/api/v1/status/buildinfo',
      handle(async (_p, _req, reply) => success(reply, deps.buildInfo)),
    );

    if (deps.targets) {
      const targets = deps.targets;
      app.get(
        '/api/v1/targets',
        handle(async (p, _req, reply) => {
          const state = one(p, 'state') ?? 'any';
          const active = state === 'any' || state === 'active' ? targets() : [];
          return success(reply, { activeTargets: active, droppedTargets: [] });
        }),
      );
    }

    const adminDelete = handle(async (p, _req, reply) => {
      const sets = matcherSets(p, true);
      const { start, end } = range(p);
      await deps.storage.deleteSeries(sets, start, end);
      return reply.code(204).send();
    });
    app.post('/api/v1/admin/tsdb/delete_series', adminDelete);
    app.put('/api/v1/admin/tsdb/delete_series', adminDelete);
    const clean = handle(async (_p, _req, reply) => {
      await deps.storage.cleanTombstones();
      return reply.code(204).send();
    });
    app.post('/api/v1/admin/tsdb/clean_tombstones', clean);
    app.put('/api/v1/admin/tsdb/clean_tombstones', clean);
  };
}
