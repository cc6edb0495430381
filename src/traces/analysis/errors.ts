/**
 * Error propagation: which failing spans caused the failure and which only passed it on. An error span
 * (status error) whose direct children are not in error is an origin. An error span with a failing child
 * failed because of it (propagated), unless its own exception event came before every failing child's error,
 * in which case it failed first and is an origin too. Only direct children explain a failure: a child that
 * failed under a parent that succeeded (a retry, a fallback) was handled there.
 */
import type { SpanRow } from '../model.ts';
import type { TraceTree } from './tree.ts';

export type ErrorRole = 'origin' | 'propagated';

export interface ErrorOrigin {
  readonly node: number;
  /** The error spans that failed because of this one: parent first, up the tree while they propagated. */
  readonly propagatedTo: readonly number[];
}

export interface ErrorAnalysis {
  /** By node index; null for spans not in error. */
  readonly roles: readonly (ErrorRole | null)[];
  /** In display order. */
  readonly origins: readonly ErrorOrigin[];
}

function isException(e: SpanRow['events'][number]): boolean {
  return e.name === 'exception' || 'exception.type' in e.attributes || 'exception.message' in e.attributes;
}

/** When a span's own failure showed: its first exception event, else its end (adjusted ns). */
function errorTime(tree: TraceTree, i: number): { at: number; fromEvent: boolean } {
  const n = tree.nodes[i]!;
  let at = Infinity;
  for (const e of n.span?.events ?? [])
    if (isException(e)) at = Math.min(at, Number(e.timeNs - tree.baseNs) + n.skewNs);
  return at === Infinity ? { at: n.endNs, fromEvent: false } : { at, fromEvent: true };
}

export function errorPropagation(tree: TraceTree): ErrorAnalysis {
  const { nodes } = tree;
  const isError = (i: number) => nodes[i]!.span?.statusCode === 'error';
  const roles: (ErrorRole | null)[] = new Array(nodes.length).fill(null);
  for (const n of nodes) {
    if (!isError(n.index)) continue;
    let firstChildError = Infinity;
    for (const c of n.children)
      if (isError(c)) firstChildError = Math.min(firstChildError, errorTime(tree, c).at);
    if (firstChildError === Infinity) roles[n.index] = 'origin';
    else {
      const own = errorTime(tree, n.index);
      roles[n.index] = own.fromEvent && own.at < firstChildError ? 'origin' : 'propagated';
    }
  }
  const origins: ErrorOrigin[] = [];
  for (const i of tree.order) {
    if (roles[i] !== 'origin') continue;
    const chain: number[] = [];
    for (let p = nodes[i]!.parent; p >= 0 && roles[p] === 'propagated'; p = nodes[p]!.parent) chain.push(p);
    origins.push({ node: i, propagatedTo: chain });
  }
  return { roles, origins };
}
