/**
 * Self time: how long a span worked on its own, i.e. its duration minus the time covered by at least one of
 * its children (children's intervals clipped to the span and merged, so overlapping children count once).
 */
import type { TraceTree } from './tree.ts';

/** Self time in ns of every node, by node index (adjusted times; the synthetic root included). */
export function selfTimes(tree: TraceTree): Float64Array {
  const out = new Float64Array(tree.nodes.length);
  const starts: number[] = [];
  const ends: number[] = [];
  const idx: number[] = [];
  for (const n of tree.nodes) {
    const total = Math.max(0, n.endNs - n.startNs);
    if (n.children.length === 0) {
      out[n.index] = total;
      continue;
    }
    starts.length = 0;
    ends.length = 0;
    idx.length = 0;
    for (const c of n.children) {
      const ch = tree.nodes[c]!;
      const s = Math.max(ch.startNs, n.startNs);
      const e = Math.min(ch.endNs, n.endNs);
      if (e > s) {
        idx.push(starts.length);
        starts.push(s);
        ends.push(e);
      }
    }
    // Children are ordered by start already, but clipping can reorder ties; sort the few that remain.
    idx.sort((a, b) => starts[a]! - starts[b]!);
    let covered = 0;
    let curS = -Infinity;
    let curE = -Infinity;
    for (const i of idx) {
      const s = starts[i]!;
      const e = ends[i]!;
      if (s > curE) {
        if (curE > curS) covered += curE - curS;
        curS = s;
        curE = e;
      } else if (e > curE) curE = e;
    }
    if (curE > curS) covered += curE - curS;
    out[n.index] = total - covered;
  }
  return out;
}
