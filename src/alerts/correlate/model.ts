/**
 * Types and parameters of alert correlation (docs/correlation.md): current alerts are joined into correlated
 * groups ("incidents-to-be") on time proximity, service topology, label/text similarity and group history,
 * each member with the reasons that put it there and each group with a ranked root-cause candidate.
 */
import type { Labels } from '../../model/labels.ts';

/** An alert as correlation sees it. Times are epoch milliseconds. */
export interface CorrelationAlert {
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAt: number;
}

/** One call relation of the service graph: `parent` calls `child` `calls` times over the graph's window. */
export interface TopologyEdge {
  readonly parent: string;
  readonly child: string;
  readonly calls: number;
}

/** The service dependency graph correlation uses (from traces: `SpanStore.dependencies`). */
export interface Topology {
  readonly edges: readonly TopologyEdge[];
  /** Length of the window the call counts are over, ms (for "calls/min" in reasons). */
  readonly windowMs: number;
}

export type ReasonKind = 'time' | 'topology' | 'similarity' | 'history' | 'root-cause';

/** Why a member is in its group: one kind of evidence, its strength in [0, 1], said in words. */
export interface Reason {
  readonly kind: ReasonKind;
  readonly detail: string;
  readonly score: number;
}

export interface GroupMember {
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly startsAt: number;
  /** Root-cause score in [0, 1] (the root cause has the highest). */
  readonly rootScore: number;
  /** Episodes of this alert seen within the memory (2 or more: it re-fired or flaps). */
  readonly episodes: number;
  readonly reasons: readonly Reason[];
}

export interface CorrelatedGroup {
  /** Stable: same members → same ID; a changed membership keeps the ID of the previous group it overlaps most. */
  readonly id: string;
  readonly rootCause: { readonly fingerprint: string; readonly labels: Labels; readonly score: number };
  /** Root cause first, then by root-cause score. */
  readonly members: readonly GroupMember[];
  /** Earliest member start, ms. */
  readonly startedAt: number;
  /** The most severe member's severity class (critical, error, warning, info) or its raw value. */
  readonly severity: string;
}

/** Tunable parameters; every field has a default (DEFAULT_CORRELATION_OPTIONS). */
export interface CorrelationOptions {
  /** Alerts starting further apart than this are never joined on current evidence alone, ms. */
  readonly windowMs: number;
  /** Time proximity decays as exp(-Δstart / decayMs). */
  readonly decayMs: number;
  /** Link score needed to join two alerts. */
  readonly joinThreshold: number;
  /** Link score needed when either alert is critical, unless the critical one is the other's upstream cause. */
  readonly criticalThreshold: number;
  /** Topology evidence by number of call hops between the two services (index 0 = same service). */
  readonly hopScores: readonly number[];
  /** Topology evidence is halved when the upstream alert started this much later than the downstream one, ms. */
  readonly causalSlackMs: number;
  /** Evidence when one alert's whole label scope is on the other (`node="node-7"` on a node and its pods). */
  readonly scopeScore: number;
  /** Similarity is multiplied by this for two services the service graph knows and shows unconnected. */
  readonly unrelatedServiceFactor: number;
  /** How long correlation remembers a resolved alert's group (flapping, re-fires), ms. */
  readonly memoryMs: number;
  /** Evidence of having been in the same group before (history), in [0, 1]. */
  readonly historyScore: number;
  /** Root-cause score weights: upstream position, earliness, severity. */
  readonly rootWeights: { readonly upstream: number; readonly earliest: number; readonly severity: number };
}

export const DEFAULT_CORRELATION_OPTIONS: CorrelationOptions = {
  windowMs: 15 * 60_000,
  decayMs: 10 * 60_000,
  joinThreshold: 0.3,
  criticalThreshold: 0.55,
  hopScores: [0.8, 0.9, 0.6, 0.4],
  causalSlackMs: 5 * 60_000,
  scopeScore: 0.7,
  unrelatedServiceFactor: 0.4,
  memoryMs: 60 * 60_000,
  historyScore: 0.8,
  rootWeights: { upstream: 0.45, earliest: 0.35, severity: 0.2 },
};

/** Labels that name the service an alert is about, in order of preference. */
export const SERVICE_LABELS = ['service', 'service_name', 'job'] as const;

export function serviceOf(labels: Labels): string | undefined {
  for (const k of SERVICE_LABELS) if (labels[k]) return labels[k];
  return undefined;
}
