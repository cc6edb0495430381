/**
 * Bottleneck ranking across many traces of one endpoint (root service + operation): which operations make
 * the slow traces slow. Traces at or above the latency quantile are "slow", the rest "fast". For each
 * operation, its critical-path time per trace is averaged over each group; its share is its part of all
 * critical-path time in the slow traces. Operations are ranked by that share: the work the slowest requests
 * spent their time waiting on.
 */
import { criticalPath } from './critical-path.ts';
import { SYNTHETIC_ROOT_NAME, type TraceTree } from './tree.ts';

export interface Endpoint {
  readonly service: string;
  /** The root span's name; any root operation of the service when absent. */
  readonly operation?: string;
}

export interface OperationContribution {
  readonly service: string;
  readonly operation: string;
  /** Fraction (0..1) of all critical-path time of the slow traces spent in this operation. */
  readonly criticalPathShare: number;
  /** Mean critical-path time per slow trace, ms (traces without the operation count as 0). */
  readonly slowMeanMs: number;
  /** The same over the fast traces; null when every trace is at or above the threshold. */
  readonly fastMeanMs: number | null;
  /** slowMeanMs - fastMeanMs; null with fastMeanMs. */
  readonly deltaMs: number | null;
}

export interface BottleneckReport {
  /** How many traces of the endpoint were compared. */
  readonly traces: number;
  readonly quantile: number;
  /** Root-span latency at the quantile (nearest rank), ms; null when there are no traces. */
  readonly thresholdMs: number | null;
  /** Most contributing first. */
  readonly operations: readonly OperationContribution[];
}

/** Whether a trace's primary root is the endpoint's span. */
export function rootMatches(tree: TraceTree, e: Endpoint): boolean {
  const root = tree.nodes[tree.primaryRoot]?.span;
  if (!root) return false;
  return root.service === e.service && (e.operation === undefined || root.name === e.operation);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Ranks operations by their part in the slow traces of `endpoint` among `trees` (other traces are ignored). */
export function rankBottlenecks(
  trees: readonly TraceTree[],
  endpoint: Endpoint,
  quantile: number,
): BottleneckReport {
  const matching = trees.filter((t) => rootMatches(t, endpoint));
  if (matching.length === 0) return { traces: 0, quantile, thresholdMs: null, operations: [] };

  const latency = matching.map((t) => {
    const r = t.nodes[t.primaryRoot]!;
    return r.endNs - r.startNs;
  });
  const sorted = [...latency].sort((a, b) => a - b);
  const threshold = sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)]!;

  interface Acc {
    service: string;
    operation: string;
    slowNs: number;
    fastNs: number;
  }
  const ops = new Map<string, Acc>();
  let slowCount = 0;
  let fastCount = 0;
  let slowTotalNs = 0;
  matching.forEach((t, i) => {
    const slow = latency[i]! >= threshold;
    if (slow) slowCount++;
    else fastCount++;
    for (const seg of criticalPath(t)) {
      const span = t.nodes[seg.node]!.span;
      const service = span?.service ?? '';
      const operation = span?.name ?? SYNTHETIC_ROOT_NAME;
      const key = `${service}\u0000${operation}`;
      let a = ops.get(key);
      if (!a) ops.set(key, (a = { service, operation, slowNs: 0, fastNs: 0 }));
      const d = seg.endNs - seg.startNs;
      if (slow) {
        a.slowNs += d;
        slowTotalNs += d;
      } else a.fastNs += d;
    }
  });

  const operations = [...ops.values()].map((a): OperationContribution => {
    const slowMeanMs = a.slowNs / slowCount / 1e6;
    const fastMeanMs = fastCount ? a.fastNs / fastCount / 1e6 : null;
    return {
      service: a.service,
      operation: a.operation,
      criticalPathShare: slowTotalNs ? Math.round((a.slowNs / slowTotalNs) * 1e4) / 1e4 : 0,
      slowMeanMs: round3(slowMeanMs),
      fastMeanMs: fastMeanMs === null ? null : round3(fastMeanMs),
      deltaMs: fastMeanMs === null ? null : round3(slowMeanMs - fastMeanMs),
    };
  });
  operations.sort(
    (x, y) =>
      y.criticalPathShare - x.criticalPathShare ||
      (y.deltaMs ?? 0) - (x.deltaMs ?? 0) ||
      (x.service < y.service ? -1 : x.service > y.service ? 1 : x.operation < y.operation ? -1 : 1),
  );
  return { traces: matching.length, quantile, thresholdMs: round3(threshold / 1e6), operations };
}
