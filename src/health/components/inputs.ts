/**
 * Gathers the component model's inputs from the running parts: scrape targets, health-check results, firing
 * alerts, the newest samples of identity series (`up`, `target_info`) and the trace service graph of the last
 * hour. Each source is read on its own; one that fails is left out and named in `warnings`, so the others
 * still give an answer.
 */
import type { CheckStatus } from '../checks/scheduler.ts';
import type { HealthCheckConfig } from '../checks/config.ts';
import type { HostCollectorHealth } from '../host/collector.ts';
import type { TargetStatus } from '../../ingest/scrape/index.ts';
import { parseDuration } from '../../model/duration.ts';
import { METRIC_NAME, isStaleNaN } from '../../model/labels.ts';
import type { Queryable, SeriesData } from '../../store/interface.ts';
import type { SpanStore } from '../../traces/store.ts';
import type { ComponentConfig } from './config.ts';
import type {
  AlertInput,
  CheckInput,
  FreshnessInput,
  ModelInputs,
  TargetInput,
  TraceInput,
} from './model.ts';

/** How far back identity series and the service graph are read. */
export const LOOKBACK_MS = 3_600_000;

export interface ComponentSources {
  readonly storage: Queryable;
  readonly declared: readonly ComponentConfig[];
  readonly targets?: () => readonly TargetStatus[];
  /** Vigil's own host collector (job `node`), taken as one more target: down while its collections fail. */
  readonly host?: () => TargetInput | undefined;
  /** Last results of health checks, and their configuration (for the `job` and extra labels). */
  readonly checks?: () => readonly CheckStatus[];
  readonly checkConfigs?: readonly HealthCheckConfig[];
  /** Alerts firing at `now`. */
  readonly alerts?: (now: number) => readonly AlertInput[];
  readonly spans?: Pick<SpanStore, 'dependencies'>;
  readonly staleFactor?: number;
}

export interface GatheredInputs {
  readonly inputs: ModelInputs;
  /** Sources that could not be read; their inputs are missing from the model. */
  readonly warnings: string[];
}

export async function gatherInputs(src: ComponentSources, now: number): Promise<GatheredInputs> {
  const warnings: string[] = [];
  const targets: TargetInput[] = (src.targets?.() ?? []).map((t) => ({
    job: t.labels.job ?? '',
    instance: t.labels.instance ?? '',
    health: t.health,
    lastError: t.lastError,
    intervalMs: intervalMs(t.scrapeInterval),
  }));
  const host = src.host?.();
  if (host) targets.push(host);
  const intervals = new Map(targets.map((t) => [`${t.job}\u0000${t.instance}`, t.intervalMs]));

  const configs = new Map((src.checkConfigs ?? []).map((c) => [c.name, c]));
  const checks: CheckInput[] = (src.checks?.() ?? []).map((c) => ({
    name: c.name,
    job: configs.get(c.name)?.job ?? 'health',
    instance: c.target,
    labels: configs.get(c.name)?.labels ?? {},
    up: c.up,
    reason: c.reason,
  }));

  const alerts = src.alerts?.(now) ?? [];

  const [freshness, traces] = await Promise.all([
    readFreshness(src.storage, now, intervals).catch((err: unknown) => {
      warnings.push(`data freshness could not be read: ${(err as Error).message}`);
      return [] as FreshnessInput[];
    }),
    readTraces(src.spans, now).catch((err: unknown) => {
      warnings.push(`the trace service graph could not be read: ${(err as Error).message}`);
      return { services: [], edges: [] } as TraceInput;
    }),
  ]);
  return {
    inputs: {
      now,
      declared: src.declared,
      targets,
      freshness,
      checks,
      alerts,
      traces,
      staleFactor: src.staleFactor,
    },
    warnings,
  };
}

function intervalMs(d: string): number {
  try {
    return parseDuration(d);
  } catch {
    return 60_000; // Prometheus's default scrape interval
  }
}

async function readFreshness(
  storage: Queryable,
  now: number,
  intervals: ReadonlyMap<string, number>,
): Promise<FreshnessInput[]> {
  const q = storage.querier(now - LOOKBACK_MS, now);
  const [up, info] = await Promise.all([
    q.select([{ name: METRIC_NAME, type: '=', value: 'up' }]),
    q.select([{ name: METRIC_NAME, type: '=', value: 'target_info' }]),
  ]);
  const out = new Map<string, FreshnessInput>();
  const absorb = (series: readonly SeriesData[], otlp: boolean) => {
    for (const s of series) {
      const job = s.labels.job ?? '';
      const instance = s.labels.instance ?? '';
      const last = newest(s);
      if (!last) continue;
      const service = otlp ? (s.labels.service_name ?? job.slice(job.lastIndexOf('/') + 1)) : undefined;
      const key = `${otlp ? 'o' : 's'}\u0000${job}\u0000${instance}`;
      const f: FreshnessInput = {
        job,
        instance,
        service,
        lastT: last.t,
        ended: last.ended,
        intervalMs: (otlp ? undefined : intervals.get(`${job}\u0000${instance}`)) ?? last.interval,
      };
      // Several series for one target (target_info whose attributes changed): the newest wins.
      const cur = out.get(key);
      if (!cur || f.lastT > cur.lastT) out.set(key, f);
    }
  };
  absorb(up, false);
  absorb(info, true);
  return [...out.values()];
}

/** The newest sample (or stale marker) of a series, with the interval guessed from the two newest samples. */
function newest(s: SeriesData): { t: number; ended: boolean; interval?: number } | undefined {
  const n = s.t.length;
  if (n === 0) return undefined;
  const t = s.t[n - 1]!;
  if (isStaleNaN(s.v[n - 1]!)) return { t, ended: true };
  const prev = n > 1 && !isStaleNaN(s.v[n - 2]!) ? s.t[n - 2]! : undefined;
  return { t, ended: false, interval: prev !== undefined && t > prev ? t - prev : undefined };
}

async function readTraces(spans: ComponentSources['spans'], now: number): Promise<TraceInput> {
  if (!spans) return { services: [], edges: [] };
  const end = BigInt(now) * 1_000_000n;
  const graph = await spans.dependencies(end - BigInt(LOOKBACK_MS) * 1_000_000n, end);
  return {
    services: graph.nodes.map((n) => n.service),
    edges: graph.edges.map((e) => ({ parent: e.parent, child: e.child })),
  };
}

/** The host collector as a target of job `job` (node_exporter's `node` by default). */
export function hostTarget(
  h: HostCollectorHealth,
  instance: string,
  intervalMs: number,
  job = 'node',
): TargetInput {
  const health = h.failures > 0 ? 'down' : h.lastSuccessMs === undefined ? 'unknown' : 'up';
  return { job, instance, health, lastError: h.lastError ?? '', intervalMs, host: true };
}
