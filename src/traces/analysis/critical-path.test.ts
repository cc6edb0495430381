import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model.ts';
import { criticalPath, criticalTimes } from './critical-path.ts';
import { sp } from './fixtures.ts';
import { reconstruct } from './tree.ts';

const MS = 1_000_000;

/** The path as `id start-end` in ms after the trace's first start. */
function path(spans: SpanRow[]): string[] {
  const t = reconstruct(spans);
  return criticalPath(t).map(
    (s) => `${t.nodes[s.node]!.spanId.replace(/^0+/, '')} ${s.startNs / MS}-${s.endNs / MS}`,
  );
}

describe('criticalPath', () => {
  it.each<[string, SpanRow[], string[]]>([
    ['a lone span', [sp('a', '', 's', 0, 100)], ['a 0-100']],
    [
      'back-to-back children',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 10, 40), sp('c', 'a', 's', 40, 90)],
      ['a 0-10', 'b 10-40', 'c 40-90', 'a 90-100'],
    ],
    [
      'parallel children: only the ones waited for',
      [
        sp('a', '', 's', 0, 100),
        sp('b', 'a', 's', 10, 80),
        sp('c', 'a', 's', 20, 60),
        sp('d', 'a', 's', 85, 95),
      ],
      ['a 0-10', 'b 10-80', 'a 80-85', 'd 85-95', 'a 95-100'],
    ],
    [
      'nested work',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 10, 80), sp('e', 'b', 's', 30, 70)],
      ['a 0-10', 'b 10-30', 'e 30-70', 'b 70-80', 'a 80-100'],
    ],
    [
      'an async child that outlives its parent counts only until the parent ends',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 50, 300), sp('c', 'a', 's', 150, 200)],
      ['a 0-50', 'b 50-100'],
    ],
    [
      'zero-length children do not stall the walk',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 50, 50), sp('c', 'a', 's', 100, 100)],
      ['a 0-100'],
    ],
    [
      // Time no orphan explains is charged to the missing parent, i.e. the synthetic root.
      'orphans are on the synthetic root when no root arrived',
      [sp('x', 'gone', 's', 0, 40), sp('y', 'gone', 's', 20, 60)],
      ['synthetic-root 0-20', 'y 20-60'],
    ],
  ])('%s', (_name, spans, expected) => {
    expect(path(spans)).toEqual(expected);
  });

  it('covers the root span exactly and sums per span', () => {
    const spans = [sp('a', '', 's', 0, 100)];
    for (let i = 1; i < 50; i++) spans.push(sp(i.toString(16), 'a', 's', i, i + ((i * 37) % 45)));
    const t = reconstruct(spans);
    const p = criticalPath(t);
    expect(p[0]!.startNs).toBe(0);
    expect(p[p.length - 1]!.endNs).toBe(100 * MS);
    for (let i = 1; i < p.length; i++) expect(p[i]!.startNs).toBe(p[i - 1]!.endNs);
    const total = criticalTimes(t, p).reduce((a, b) => a + b, 0);
    expect(total).toBe(100 * MS);
  });
});
