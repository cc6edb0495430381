/**
 * The service graph as correlation uses it: who calls whom (directly or through intermediaries). An alert on a
 * service that others call (an upstream dependency) explains alerts on its callers (downstream symptoms).
 */
import type { Topology } from './model.ts';

/** How `from` reaches `to` over calls: the services on the way (from … to) and the calls per edge. */
export interface CallPath {
  readonly services: readonly string[];
  readonly calls: readonly number[];
}

/** Shortest call paths between services, up to `maxHops` calls; immutable once built. */
export class CallGraph {
  private readonly out = new Map<string, Map<string, number>>();
  private readonly cache = new Map<string, Map<string, CallPath>>();

  constructor(
    readonly topology: Topology,
    private readonly maxHops: number,
  ) {
    for (const e of topology.edges) {
      if (e.parent === e.child || e.calls <= 0) continue;
      let m = this.out.get(e.parent);
      if (!m) this.out.set(e.parent, (m = new Map()));
      m.set(e.child, (m.get(e.child) ?? 0) + e.calls);
    }
  }

  /** True when the graph knows the service. */
  has(service: string): boolean {
    if (this.out.has(service)) return true;
    for (const m of this.out.values()) if (m.has(service)) return true;
    return false;
  }

  /** The shortest path by which `caller` (transitively) calls `callee`, or undefined beyond maxHops. */
  path(caller: string, callee: string): CallPath | undefined {
    return this.reachable(caller).get(callee);
  }

  /** Breadth first from `from`; paths are found in order of length, first (sorted) neighbour wins ties. */
  private reachable(from: string): Map<string, CallPath> {
    const hit = this.cache.get(from);
    if (hit) return hit;
    const found = new Map<string, CallPath>();
    let frontier: CallPath[] = [{ services: [from], calls: [] }];
    for (let hop = 1; hop <= this.maxHops && frontier.length; hop++) {
      const next: CallPath[] = [];
      for (const p of frontier) {
        const last = p.services[p.services.length - 1]!;
        const outs = [...(this.out.get(last) ?? new Map<string, number>())].sort((a, b) =>
          a[0] < b[0] ? -1 : 1,
        );
        for (const [child, calls] of outs) {
          if (child === from || found.has(child)) continue;
          const np = { services: [...p.services, child], calls: [...p.calls, calls] };
          found.set(child, np);
          next.push(np);
        }
      }
      frontier = next;
    }
    this.cache.set(from, found);
    return found;
  }

  /** Calls per minute over the graph's window, rounded for display. */
  perMinute(calls: number): string {
    const perMin = (calls * 60_000) / Math.max(1, this.topology.windowMs);
    return perMin >= 10 ? String(Math.round(perMin)) : perMin.toFixed(1);
  }

  /** `checkout calls payments (312 calls/min)` or `frontend calls payments via checkout (…)`. */
  describe(p: CallPath): string {
    const from = p.services[0]!;
    const to = p.services[p.services.length - 1]!;
    const via = p.services.slice(1, -1);
    const rate = `${this.perMinute(Math.min(...p.calls))} calls/min`;
    return via.length === 0
      ? `${from} calls ${to} (${rate})`
      : `${from} calls ${to} via ${via.join(' → ')} (${rate} on the thinnest hop)`;
  }
}
