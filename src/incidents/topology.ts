/** The service graph alert correlation uses, read from the span store and reused for a minute. */
import type { Topology } from '../alerts/correlate/model.ts';
import type { SpanStore } from '../traces/store.ts';

const WINDOW_MS = 3_600_000;
const TTL_MS = 60_000;

/** A `topology()` function over the span store's dependency graph of the last hour, reused for `ttlMs`. */
export function spanTopology(
  spans: Pick<SpanStore, 'dependencies'>,
  now: () => number = Date.now,
  ttlMs = TTL_MS,
): () => Promise<Topology> {
  let cached: { at: number; topology: Topology } | undefined;
  return async () => {
    const t = now();
    if (cached && t - cached.at < ttlMs && t >= cached.at) return cached.topology;
    const end = BigInt(t) * 1_000_000n;
    const g = await spans.dependencies(end - BigInt(WINDOW_MS) * 1_000_000n, end);
    cached = {
      at: t,
      topology: {
        edges: g.edges.map((e) => ({ parent: e.parent, child: e.child, calls: e.calls })),
        windowMs: WINDOW_MS,
      },
    };
    return cached.topology;
  };
}
