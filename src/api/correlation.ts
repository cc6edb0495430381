/**
 * Alert correlation over Vigil's JSON API (docs/correlation.md):
 *
 * - `GET /api/vigil/v1/alerting/correlations?window=15m&graph_window=1h`: the pipeline's current alerts joined
 *   into correlated groups, each with its ranked root-cause candidate and every member's reasons.
 *
 * The groups are the pipeline's own correlation (`AlertPipeline.correlator`), the same groups and IDs that storm
 * protection and incidents use. Correlation remembers which group each alert was in (flapping alerts and re-fires
 * return to their group, group IDs stay stable), so the plugin also asks for it every `intervalMs`, keeping that
 * memory current between alert changes. With `window` or `graph_window` other than the defaults the answer is a
 * what-if evaluation from the same memory that changes nothing; its service graph comes from the span store
 * (`dependencies` over `graph_window`) and is cached briefly. When the graph cannot be read the answer still
 * comes, from labels and time alone, with a warning.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AlertPipeline } from '../alerts/pipeline.ts';
import type { CorrelatedGroup, Topology } from '../alerts/correlate/model.ts';
import type { SpanStore } from '../traces/store.ts';
import { parseDurationParam, type ApiError } from './params.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler } from './vigil-api.ts';

export interface CorrelationApiDeps {
  /** Only `correlator` and `clock` are used. */
  readonly alerts: Pick<AlertPipeline, 'correlator' | 'clock'>;
  /** Only `dependencies` is used (what-if evaluations over another graph window). */
  readonly spans: Pick<SpanStore, 'dependencies'>;
  /** Background evaluation period, ms (keeps group memory current between requests); 0 = on request only. */
  readonly intervalMs?: number;
  /** How long a service graph read from the span store is reused, ms; default 60 s. */
  readonly graphTtlMs?: number;
  readonly log?: (msg: string) => void;
}

const DEFAULT_GRAPH_WINDOW_MS = 3_600_000;
const MAX_WINDOW_MS = 24 * 3_600_000;

export interface CorrelationsJson {
  readonly groups: GroupJson[];
  readonly graph: { readonly services: number; readonly edges: number; readonly windowMs: number };
  readonly warnings: string[];
}

interface GroupJson {
  readonly id: string;
  readonly rootCause: CorrelatedGroup['rootCause'];
  readonly members: {
    fingerprint: string;
    labels: Readonly<Record<string, string>>;
    startsAt: string;
    rootScore: number;
    episodes: number;
    reasons: CorrelatedGroup['members'][number]['reasons'];
  }[];
  readonly startedAt: string;
  readonly severity: string;
}

export function groupJson(g: CorrelatedGroup): GroupJson {
  return {
    id: g.id,
    rootCause: g.rootCause,
    members: g.members.map((m) => ({
      fingerprint: m.fingerprint,
      labels: m.labels,
      startsAt: new Date(m.startsAt).toISOString(),
      rootScore: m.rootScore,
      episodes: m.episodes,
      reasons: m.reasons,
    })),
    startedAt: new Date(g.startedAt).toISOString(),
    severity: g.severity,
  };
}

/** Parses a duration query parameter, 400 with what and where when it is not one or out of range. */
function durationParam(v: unknown, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (typeof v !== 'string')
    throw new HttpError(400, `query parameter ${name}: give it once, as a duration such as 15m`);
  let ms: number;
  try {
    ms = parseDurationParam(v, name);
  } catch (err) {
    throw new HttpError(400, `query parameter ${name}: ${(err as ApiError).message}`);
  }
  if (ms <= 0 || ms > MAX_WINDOW_MS)
    throw new HttpError(400, `query parameter ${name}: ${JSON.stringify(v)} must be above 0 and at most 24h`);
  return ms;
}

function graphWarning(message: string): string {
  return `service graph unavailable (${message}): correlated on time, labels and history only`;
}

function json(
  groups: readonly CorrelatedGroup[],
  graph: Topology,
  graphWindowMs: number,
  warnings: string[],
): CorrelationsJson {
  const services = new Set(graph.edges.flatMap((e) => [e.parent, e.child]));
  return {
    groups: groups.map(groupJson),
    graph: { services: services.size, edges: graph.edges.length, windowMs: graphWindowMs },
    warnings,
  };
}

export function correlationApi(deps: CorrelationApiDeps): FastifyPluginAsync {
  const log = deps.log ?? (() => {});
  const graphTtl = deps.graphTtlMs ?? 60_000;
  const graphs = new Map<number, { at: number; topology: Topology }>();

  async function topology(now: number, windowMs: number): Promise<Topology> {
    const hit = graphs.get(windowMs);
    if (hit && now - hit.at < graphTtl && now >= hit.at) return hit.topology;
    const end = BigInt(now) * 1_000_000n;
    const g = await deps.spans.dependencies(end - BigInt(windowMs) * 1_000_000n, end);
    const t: Topology = {
      edges: g.edges.map((e) => ({ parent: e.parent, child: e.child, calls: e.calls })),
      windowMs,
    };
    graphs.set(windowMs, { at: now, topology: t });
    return t;
  }

  async function evaluate(windowMs: number | undefined, graphWindowMs: number): Promise<CorrelationsJson> {
    const correlator = deps.alerts.correlator;
    const now = deps.alerts.clock.now();
    if (windowMs === undefined && graphWindowMs === DEFAULT_GRAPH_WINDOW_MS) {
      const r = await correlator.current(now);
      return json(
        r.groups,
        r.graph,
        graphWindowMs,
        r.graphError === undefined ? [] : [graphWarning(r.graphError)],
      );
    }
    const warnings: string[] = [];
    let topo: Topology = { edges: [], windowMs: graphWindowMs };
    try {
      topo = await topology(now, graphWindowMs);
    } catch (err) {
      warnings.push(graphWarning((err as Error).message));
    }
    const groups = correlator.preview(now, windowMs === undefined ? {} : { windowMs }, topo);
    return json(groups, topo, graphWindowMs, warnings);
  }

  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    const interval = deps.intervalMs ?? 30_000;
    if (interval > 0) {
      const timer = setInterval(() => {
        deps.alerts.correlator
          .current(deps.alerts.clock.now())
          .catch((err: Error) => log(`alert correlation: evaluation failed: ${err.message}`));
      }, interval);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }

    app.get(`${VIGIL_API_PREFIX}/alerting/correlations`, async (req) => {
      const q = req.query as Record<string, unknown>;
      for (const k of Object.keys(q))
        if (k !== 'window' && k !== 'graph_window')
          throw new HttpError(
            400,
            `unknown query parameter ${JSON.stringify(k)}: use window or graph_window`,
          );
      const windowMs =
        q.window === undefined || q.window === '' ? undefined : durationParam(q.window, 'window', 0);
      const graphWindowMs = durationParam(q.graph_window, 'graph_window', DEFAULT_GRAPH_WINDOW_MS);
      return evaluate(windowMs, graphWindowMs);
    });
  };
}
