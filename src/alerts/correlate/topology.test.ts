import { describe, expect, it } from 'vitest';
import { CallGraph } from './topology.ts';

const graph = new CallGraph(
  {
    windowMs: 3_600_000,
    edges: [
      { parent: 'a', child: 'b', calls: 600 },
      { parent: 'b', child: 'c', calls: 30 },
      { parent: 'c', child: 'd', calls: 60 },
      { parent: 'a', child: 'a', calls: 5 },
      { parent: 'x', child: 'y', calls: 0 },
    ],
  },
  2,
);

describe('CallGraph', () => {
  it.each([
    ['a', 'b', ['a', 'b']],
    ['a', 'c', ['a', 'b', 'c']],
    ['a', 'd', undefined], // 3 hops: beyond maxHops
    ['b', 'a', undefined], // calls have a direction
    ['x', 'y', undefined], // no calls
  ])('path %s → %s', (from, to, services) => expect(graph.path(from, to)?.services).toEqual(services));

  it('describes paths with call rates', () => {
    expect(graph.describe(graph.path('a', 'b')!)).toBe('a calls b (10 calls/min)');
    expect(graph.describe(graph.path('a', 'c')!)).toBe('a calls c via b (0.5 calls/min on the thinnest hop)');
  });

  it('knows services on either end of an edge', () => {
    expect(graph.has('a')).toBe(true);
    expect(graph.has('d')).toBe(true);
    expect(graph.has('nope')).toBe(false);
  });
});
