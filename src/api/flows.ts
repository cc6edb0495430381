/**
 * `GET /api/vigil/v1/flows`: every configured data flow with the last result of each stage's and channel's
 * checks (docs/flows.md). Before a flow's first evaluation its parts are listed with status `unknown`.
 * `value` and `expected` are null when a check could not be evaluated; rates are per second.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { FlowStatus } from '../health/flows/monitor.ts';
import type { PartResult } from '../health/flows/evaluate.ts';

export interface FlowsApiDeps {
  /** Current status of every flow, in configuration order. */
  readonly flows: () => readonly FlowStatus[];
}

export function flowsApi(deps: FlowsApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/vigil/v1/flows', async () => ({
      flows: deps.flows().map(({ flow, last }) => ({
        name: flow.name,
        intervalMs: flow.interval,
        lastEvaluation: last?.t ?? null,
        stages: last ? last.stages.map(part) : flow.stages.map((s) => pending(s.name)),
        channels: last
          ? last.channels.map((c) => ({ ...part(c), stage: c.stage }))
          : flow.channels.map((c) => ({ ...pending(c.name), stage: c.stage })),
      })),
    }));
  };
}

function part(p: PartResult) {
  return {
    name: p.name,
    status: p.status,
    checks: p.checks.map((c) => ({
      kind: c.kind,
      status: c.status,
      value: c.value,
      expected: c.expected,
      reason: c.reason,
    })),
    rates: p.rates,
  };
}

/** A part before the flow's first evaluation: no checks yet (`lastEvaluation` is null). */
function pending(name: string) {
  return {
    name,
    status: 'unknown' as const,
    checks: [] as ReturnType<typeof part>['checks'],
    rates: { in: null, out: null, dropped: null },
  };
}
