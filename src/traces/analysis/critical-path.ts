/**
 * Critical path: the chain of work that determined when the trace's root span ended, as Jaeger computes it.
 * Start at the root's end; the child that finished last by that point was being waited for, so walk
 * into it; when a span has no child that ends before the current point, the time back to its own start is
 * its own work, and the walk returns to the parent at that span's start. Children are first clipped to their
 * parent's window, so an asynchronous child that outlives its parent counts only while the parent waited,
 * and a child that starts after its parent ended is not on the parent's path.
 */
import type { TraceTree } from './tree.ts';

/** A stretch of time during which `node` was the span the trace waited on. Times as in TraceNode. */
export interface CriticalSegment {
  readonly node: number;
  readonly startNs: number;
  readonly endNs: number;
}

/** The critical path under `root` (default: the trace's primary root), in time order; [] for an empty tree. */
export function criticalPath(tree: TraceTree, root = tree.primaryRoot): CriticalSegment[] {
  if (root < 0) return [];
  const nodes = tree.nodes;
  // Clipped windows, top-down from root; NaN marks nodes outside the root's subtree or clipped away.
  const cs = new Float64Array(nodes.length).fill(NaN);
  const ce = new Float64Array(nodes.length).fill(NaN);
  cs[root] = nodes[root]!.startNs;
  ce[root] = nodes[root]!.endNs;
  /** Per node: its kept children by clipped end, latest first, and how many the walk has passed. */
  const byEnd = new Map<number, number[]>();
  const passed = new Map<number, number>();
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    const kept: number[] = [];
    for (const c of nodes[p]!.children) {
      const n = nodes[c]!;
      if (n.startNs > ce[p]! || n.endNs < cs[p]!) continue;
      cs[c] = Math.max(n.startNs, cs[p]!);
      ce[c] = Math.min(n.endNs, ce[p]!);
      kept.push(c);
      stack.push(c);
    }
    if (kept.length) {
      kept.sort((a, b) => ce[b]! - ce[a]! || cs[b]! - cs[a]!);
      byEnd.set(p, kept);
    }
  }

  const out: CriticalSegment[] = [];
  let cur = root;
  let bound = ce[root]!;
  for (;;) {
    // The last child to finish by `bound`. Each child is taken at most once and `bound` only moves back in
    // time, so a pointer into the children sorted by end finds it in amortised O(1).
    const kids = byEnd.get(cur);
    let lfc = -1;
    if (kids) {
      let k = passed.get(cur) ?? 0;
      while (k < kids.length && ce[kids[k]!]! > bound) k++;
      if (k < kids.length) lfc = kids[k++]!;
      passed.set(cur, k);
    }
    if (lfc >= 0) {
      if (bound > ce[lfc]!) out.push({ node: cur, startNs: ce[lfc]!, endNs: bound });
      cur = lfc;
      bound = ce[lfc]!;
      continue;
    }
    if (bound > cs[cur]!) out.push({ node: cur, startNs: cs[cur]!, endNs: bound });
    if (cur === root) break;
    bound = cs[cur]!;
    cur = nodes[cur]!.parent;
  }
  out.reverse();
  // Join pieces of one span that touch (a span resumes where a child that took no time left off).
  const merged: CriticalSegment[] = [];
  for (const seg of out) {
    const last = merged[merged.length - 1];
    if (last && last.node === seg.node && last.endNs === seg.startNs)
      merged[merged.length - 1] = { node: seg.node, startNs: last.startNs, endNs: seg.endNs };
    else merged.push(seg);
  }
  return merged;
}

/** Critical-path time in ns per node index (0 for nodes not on the path). */
export function criticalTimes(tree: TraceTree, path: readonly CriticalSegment[]): Float64Array {
  const t = new Float64Array(tree.nodes.length);
  for (const s of path) t[s.node]! += s.endNs - s.startNs;
  return t;
}
