import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model.ts';
import { criticalPath } from './critical-path.ts';
import { errorPropagation } from './errors.ts';
import { SYNTHETIC_ROOT_ID, epochUs, reconstruct, type TraceTree } from './tree.ts';
import { T0, id16, sp } from './fixtures.ts';
import { selfTimes } from './self-time.ts';

const MS = 1_000_000;

/** Display order as `indent + short id` lines, for readable expectations. */
function outline(t: TraceTree): string[] {
  return t.order.map((i) => {
    const n = t.nodes[i]!;
    return '  '.repeat(n.depth) + n.spanId.replace(/^0+/, '');
  });
}

function node(t: TraceTree, short: string) {
  return t.nodes[t.byId.get(id16(short))!]!;
}

describe('reconstruct', () => {
  it('assembles spans from several services in any order into a tree ordered by start', () => {
    const spans = [
      sp('c', 'a', 'cart', 30, 60),
      sp('d', 'b', 'auth', 12, 18, { host: 'auth-host' }),
      sp('a', '', 'frontend', 0, 100),
      sp('b', 'a', 'auth', 10, 20),
      sp('e', 'c', 'cart', 40, 50),
    ];
    for (const order of [spans, [...spans].reverse()]) {
      const t = reconstruct(order);
      expect(outline(t)).toEqual(['a', '  b', '    d', '  c', '    e']);
      expect(t.warnings).toEqual([]);
      expect(t.roots.map((r) => t.nodes[r]!.spanId)).toEqual([id16('a')]);
      expect(t.nodes[t.primaryRoot]!.spanId).toBe(id16('a'));
      expect(node(t, 'e').depth).toBe(2);
      expect(t.baseNs).toBe(T0);
      expect(epochUs(t, node(t, 'c').startNs)).toBe(Number(T0 / 1000n) + 30_000);
    }
  });

  it('hangs spans whose parent is missing under one synthetic root, keeping them and saying so', () => {
    const t = reconstruct([
      sp('a', '', 'frontend', 0, 100),
      sp('b', 'a', 'frontend', 10, 20),
      sp('x', 'gone', 'worker', 50, 90),
      sp('y', 'x', 'worker', 60, 70),
      sp('z', 'gone2', 'mailer', 40, 45),
    ]);
    expect(outline(t)).toEqual(['a', '  b', SYNTHETIC_ROOT_ID, '  z', '  x', '    y']);
    const root = t.nodes[t.byId.get(SYNTHETIC_ROOT_ID)!]!;
    expect(root.span).toBeNull();
    expect([root.startNs, root.endNs]).toEqual([40 * MS, 90 * MS]);
    expect(node(t, 'x').orphan).toBe(true);
    expect(node(t, 'y').orphan).toBe(false);
    expect(t.nodes[t.primaryRoot]!.spanId).toBe(id16('a'));
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toMatch(/^2 span\(s\) reference a parent span that is not in the trace/);
    expect(t.warnings[0]).toContain(`${id16('x')} (parent ${id16('gone')})`);
  });

  it('uses the synthetic root as the primary root when no real root has arrived', () => {
    const t = reconstruct([sp('x', 'gone', 'worker', 50, 90)]);
    expect(t.nodes[t.primaryRoot]!.spanId).toBe(SYNTHETIC_ROOT_ID);
  });

  it('keeps one copy of a span received twice: the most complete one', () => {
    const early = sp('b', 'a', 'cart', 10, 20);
    const late = sp('b', 'a', 'cart', 10, 25, { attributes: { k: 'v' } });
    const t = reconstruct([sp('a', '', 'frontend', 0, 100), early, late, early]);
    expect(outline(t)).toEqual(['a', '  b']);
    expect(node(t, 'b').endNs).toBe(25 * MS);
    expect(t.warnings).toEqual([
      `1 span ID(s) were received more than once: ${id16('b')} ×3; the most complete copy of each is shown`,
    ]);
  });

  it('splits a span ID shared by a client and a server (Zipkin) into client → server', () => {
    const t = reconstruct([
      sp('a', '', 'frontend', 0, 100),
      sp('b', 'a', 'frontend', 10, 90, { kind: 'client' }),
      sp('b', 'a', 'cart', 20, 80, { kind: 'server' }),
      sp('c', 'b', 'cart', 30, 40),
      sp('d', 'b', 'frontend', 85, 88),
    ]);
    expect(outline(t)).toEqual(['a', '  b', '    b-server', '      c', '    d']);
    expect(t.warnings[0]).toMatch(/shared by a client and a server span/);
  });

  it('cuts parent cycles instead of looping, keeping every span', () => {
    const t = reconstruct([
      sp('a', '', 'frontend', 0, 100),
      sp('p', 'q', 'loop', 10, 20),
      sp('q', 'p', 'loop', 15, 30),
      sp('s', 's', 'self', 40, 50),
    ]);
    expect(outline(t)).toEqual(['a', SYNTHETIC_ROOT_ID, '  p', '    q', '  s']);
    expect(node(t, 'p').orphan).toBe(true);
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toMatch(/parent links form a cycle; it was cut at/);
  });

  it('handles a 10,000-deep chain without recursion', () => {
    const spans = [sp('1', '', 'svc', 0, 20_000)];
    for (let i = 2; i <= 10_000; i++)
      spans.push(sp(i.toString(16), (i - 1).toString(16), 'svc', i, 20_000 - i));
    const t = reconstruct(spans.reverse());
    expect(t.order).toHaveLength(10_000);
    expect(node(t, (10_000).toString(16)).depth).toBe(9_999);
  });

  it('survives arbitrary parent links, duplicates and times, listing every span exactly once', () => {
    // A small seeded generator (mulberry32), so a failure reproduces.
    let seed = 12345;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 30);
      const spans: SpanRow[] = [];
      for (let i = 0; i < n; i++) {
        const r = random();
        // Parents: none, any span (loops and self-parents included), or one that does not exist.
        const parent = r < 0.15 ? '' : r < 0.85 ? String(1 + Math.floor(random() * n)) : 'ff' + i;
        const start = Math.floor(random() * 1000) - 500;
        const span = sp(
          String(1 + Math.floor(random() * n)),
          parent,
          `svc${Math.floor(random() * 4)}`,
          start,
          start + Math.floor(random() * 300),
          {
            kind: (['client', 'server', 'producer', 'consumer', 'internal'] as const)[
              Math.floor(random() * 5)
            ],
            statusCode: random() < 0.3 ? 'error' : 'unset',
          },
        );
        spans.push(span);
      }
      const t = reconstruct(spans);
      const ids = new Set(spans.map((s) => s.spanId));
      expect([...t.order].sort((a, b) => a - b)).toEqual(t.nodes.map((x) => x.index));
      expect(t.nodes.filter((x) => x.span).length).toBeGreaterThanOrEqual(ids.size);
      for (const x of t.nodes) {
        if (x.parent >= 0) expect(t.nodes[x.parent]!.children).toContain(x.index);
        expect(Number.isFinite(x.startNs) && Number.isFinite(x.endNs)).toBe(true);
      }
      const path = criticalPath(t);
      for (const seg of path) expect(seg.endNs).toBeGreaterThan(seg.startNs);
      expect(selfTimes(t).every((v) => v >= 0)).toBe(true);
      errorPropagation(t);
    }
  });

  it('returns an empty tree for no spans', () => {
    const t = reconstruct([]);
    expect([t.nodes.length, t.roots.length, t.primaryRoot, t.warnings.length]).toEqual([0, 0, -1, 0]);
  });
});

describe('clock skew adjustment', () => {
  it('centres a server span from another host inside its client span, moving its subtree along', () => {
    const t = reconstruct([
      sp('a', '', 'frontend', 0, 100, { kind: 'client' }),
      // cart's clock runs 150 ms ahead: it reports 150..230 for work done inside 0..100.
      sp('b', 'a', 'cart', 150, 230, { kind: 'server' }),
      sp('c', 'b', 'cart', 160, 170),
      // A different host again, but inside its (adjusted) parent: left alone apart from the parent's shift.
      sp('d', 'b', 'db', 25, 28),
    ]);
    // Latency budget (100 - 80) / 2 = 10 ms each way: b runs 10..90, a shift of -140 ms.
    expect([node(t, 'b').startNs, node(t, 'b').endNs, node(t, 'b').skewNs]).toEqual([
      10 * MS,
      90 * MS,
      -140 * MS,
    ]);
    expect([node(t, 'c').startNs, node(t, 'c').skewNs]).toEqual([20 * MS, -140 * MS]);
    expect(node(t, 'd').skewNs).toBe(0);
    expect(node(t, 'a').skewNs).toBe(0);
    expect(outline(t)).toEqual(['a', '  b', '    c', '    d']);
    expect(t.warnings).toEqual([
      'clock skew: 1 span(s) of cart lay outside their parent span and were moved into it with their subtree ' +
        `(span ${id16('b')} moved -140.000 ms into its parent ${id16('a')} (frontend)); moved spans carry ` +
        'their shift (skewUs)',
    ]);
  });

  it('aligns the start of a child longer than its parent, and leaves same-clock children alone', () => {
    const t = reconstruct([
      sp('a', '', 'frontend', 100, 150),
      sp('b', 'a', 'cart', 0, 80),
      // Another service on the same host shares the clock: never moved.
      sp('c', 'a', 'search', 140, 200, { host: 'frontend-host' }),
    ]);
    expect([node(t, 'b').startNs, node(t, 'b').skewNs]).toEqual([100 * MS, 100 * MS]);
    expect(node(t, 'c').skewNs).toBe(0);
  });

  it('moves a consumer only when it starts before its producer', () => {
    const late = reconstruct([
      sp('p', '', 'api', 0, 10, { kind: 'producer' }),
      sp('c', 'p', 'mailer', 500, 600, { kind: 'consumer' }),
    ]);
    expect(node(late, 'c').skewNs).toBe(0);
    const early = reconstruct([
      sp('p', '', 'api', 100, 110, { kind: 'producer' }),
      sp('c', 'p', 'mailer', 40, 60, { kind: 'consumer' }),
    ]);
    expect([node(early, 'c').startNs, node(early, 'c').skewNs]).toEqual([node(early, 'p').startNs, 60 * MS]);
  });
});
