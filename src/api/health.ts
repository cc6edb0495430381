/**
 * `GET /api/vigil/v1/health/checks`: every configured health check with its last result, the reason of a
 * failure and a short history, for the dashboard's health page. Times are ms since the epoch; `up`,
 * `lastRun` and `durationMs` are null until a check's first probe ends.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CheckStatus } from '../health/checks/scheduler.ts';

export interface HealthApiDeps {
  /** Current status of every check, in configuration order. */
  readonly checks: () => readonly CheckStatus[];
}

export function healthApi(deps: HealthApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/vigil/v1/health/checks', async () => ({
      checks: deps.checks().map((c) => ({
        name: c.name,
        kind: c.kind,
        target: c.target,
        up: c.up ?? null,
        lastRun: c.lastRun ?? null,
        durationMs: c.durationMs === undefined ? null : round(c.durationMs),
        reason: c.reason,
        history: c.history.map((h) => ({ t: h.t, up: h.up, durationMs: round(h.durationMs) })),
      })),
    }));
  };
}

/** Milliseconds to microsecond precision: enough for a graph, without float noise. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
