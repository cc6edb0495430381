import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model.ts';
import { rankBottlenecks } from './bottlenecks.ts';
import { sp } from './fixtures.ts';
import { reconstruct } from './tree.ts';

/** A checkout: api waits on db, then payment; `paymentMs` decides how slow it is. */
function checkout(n: number, paymentMs: number): SpanRow[] {
  const traceId = n.toString(16).padStart(32, '0');
  const end = 5 + 10 + paymentMs + 5;
  return [
    sp('a', '', 'api', 0, end, { name: 'GET /checkout', traceId }),
    sp('b', 'a', 'db', 5, 15, { name: 'SELECT cart', traceId }),
    sp('c', 'a', 'payment', 15, 15 + paymentMs, { name: 'charge', traceId }),
  ];
}

describe('rankBottlenecks', () => {
  // 18 fast checkouts (payment 20 ms) and 2 slow ones (payment 200 ms), plus traces of other endpoints.
  const trees = [
    ...Array.from({ length: 18 }, (_, i) => reconstruct(checkout(i + 1, 20))),
    reconstruct(checkout(19, 200)),
    reconstruct(checkout(20, 200)),
    reconstruct([sp('a', '', 'api', 0, 999, { name: 'GET /other' })]),
    reconstruct([sp('a', '', 'worker', 0, 999, { name: 'GET /checkout' })]),
  ];

  it('ranks the operation that makes the slowest traces slow first', () => {
    const r = rankBottlenecks(trees, { service: 'api', operation: 'GET /checkout' }, 0.95);
    expect(r.traces).toBe(20);
    expect(r.thresholdMs).toBe(220);
    // Slow traces: 220 ms each, 200 of them in charge, 10 in SELECT cart, 10 in the api itself.
    expect(r.operations).toEqual([
      {
        service: 'payment',
        operation: 'charge',
        criticalPathShare: 0.9091,
        slowMeanMs: 200,
        fastMeanMs: 20,
        deltaMs: 180,
      },
      {
        service: 'api',
        operation: 'GET /checkout',
        criticalPathShare: 0.0455,
        slowMeanMs: 10,
        fastMeanMs: 10,
        deltaMs: 0,
      },
      {
        service: 'db',
        operation: 'SELECT cart',
        criticalPathShare: 0.0455,
        slowMeanMs: 10,
        fastMeanMs: 10,
        deltaMs: 0,
      },
    ]);
  });

  it('takes every root operation of the service when none is given, and reports no fast traces as null', () => {
    const r = rankBottlenecks(trees, { service: 'api' }, 0.01);
    expect(r.traces).toBe(21);
    expect(r.thresholdMs).toBe(40);
    const slowOnly = rankBottlenecks([reconstruct(checkout(1, 20))], { service: 'api' }, 0.95);
    expect(slowOnly.operations[0]).toMatchObject({ fastMeanMs: null, deltaMs: null });
  });

  it('answers an endpoint without traces with nothing', () => {
    expect(rankBottlenecks(trees, { service: 'nobody' }, 0.95)).toEqual({
      traces: 0,
      quantile: 0.95,
      thresholdMs: null,
      operations: [],
    });
  });
});
