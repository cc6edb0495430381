/**
 * The shared SpanStore suite, run against every implementation (store.test.ts). Each test gets a fresh,
 * empty store from `open`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SpanRow } from './model.ts';
import type { SpanStore } from './store.ts';

const MS = 1_000_000n;
/** Two days ago at a whole second: recent enough for any retention the tests set. */
export const T0 = BigInt(Math.floor(Date.now() / 1000) - 2 * 86_400) * 1000n * MS;

export function span(over: Partial<SpanRow> = {}): SpanRow {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /cart',
    kind: 'server',
    startNs: T0,
    endNs: T0 + 20n * MS,
    statusCode: 'unset',
    statusMessage: '',
    service: 'frontend',
    resourceAttributes: { 'service.name': 'frontend', 'host.name': 'web-1' },
    resourceAttributeTypes: {},
    scopeName: 'http',
    scopeVersion: '1.0.0',
    attributes: { 'http.method': 'GET', 'http.status_code': '200' },
    attributeTypes: { 'http.status_code': 'int' },
    events: [],
    links: [],
    ...over,
  };
}

const traceA = '0af7651916cd43dd8448eb211c80319c';
const traceB = '1bf7651916cd43dd8448eb211c80319d';
const traceC = '2cf7651916cd43dd8448eb211c80319e';

/** Three traces: A (frontend → cart, an error with an event and a link), B (slow checkout), C a day later. */
function fixture(): SpanRow[] {
  return [
    span(),
    span({
      spanId: 'c7ad6b7169203332',
      parentSpanId: 'b7ad6b7169203331',
      name: 'cart.get',
      kind: 'client',
      service: 'cart',
      resourceAttributes: { 'service.name': 'cart' },
      startNs: T0 + 2n * MS,
      endNs: T0 + 12n * MS,
      statusCode: 'error',
      statusMessage: 'timeout',
      attributes: { 'db.system': 'redis', retries: '3' },
      attributeTypes: { retries: 'int' },
      events: [{ timeNs: T0 + 5n * MS + 7n, name: 'exception', attributes: { 'exception.type': 'Timeout' } }],
      links: [
        { traceId: traceB, spanId: 'd7ad6b7169203333', traceState: 'k=v', attributes: { why: 'batch' } },
      ],
    }),
    span({
      traceId: traceB,
      spanId: 'd7ad6b7169203333',
      name: 'POST /checkout',
      startNs: T0 + 1000n * MS,
      endNs: T0 + 3000n * MS,
      attributes: { 'http.method': 'POST', 'http.status_code': '500' },
    }),
    span({
      traceId: traceC,
      spanId: 'e7ad6b7169203334',
      startNs: T0 + 86_400_000n * MS,
      endNs: T0 + 86_400_001n * MS,
    }),
  ];
}

const ALL = { startNs: T0 - 3_600_000n * MS, endNs: T0 + 2n * 86_400_000n * MS, limit: 20 };

export function spanStoreTests(name: string, open: () => Promise<SpanStore>): void {
  describe(`SpanStore: ${name}`, () => {
    let store: SpanStore | undefined;
    const fresh = async () => {
      store = await open();
      return store;
    };
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('returns every span of a trace exactly as written, in start order', async () => {
      const s = await fresh();
      const rows = fixture();
      await s.write([rows[1]!, rows[2]!]);
      await s.write([rows[0]!, rows[3]!]);
      expect(await s.trace(traceA)).toEqual([rows[0], rows[1]]);
      expect(await s.trace(traceB)).toEqual([rows[2]]);
    });

    it('returns nothing for unknown or malformed trace IDs', async () => {
      const s = await fresh();
      await s.write(fixture());
      expect(await s.trace('ffffffffffffffffffffffffffffffff')).toEqual([]);
      expect(await s.trace("x' OR 1=1 --")).toEqual([]);
    });

    it('lists services and operations', async () => {
      const s = await fresh();
      expect(await s.services()).toEqual([]);
      await s.write(fixture());
      expect(await s.services()).toEqual(['cart', 'frontend']);
      expect(await s.operations('frontend')).toEqual([
        { name: 'GET /cart', kind: 'server' },
        { name: 'POST /checkout', kind: 'server' },
      ]);
      expect(await s.operations('cart')).toEqual([{ name: 'cart.get', kind: 'client' }]);
      expect(await s.operations('nobody')).toEqual([]);
    });

    it('finds traces by service, operation, tags, duration and time, newest first', async () => {
      const s = await fresh();
      await s.write(fixture());
      expect(await s.findTraceIds({ ...ALL, service: 'frontend' })).toEqual([traceC, traceB, traceA]);
      expect(await s.findTraceIds({ ...ALL, service: 'frontend', limit: 2 })).toEqual([traceC, traceB]);
      expect(await s.findTraceIds({ ...ALL, service: 'cart' })).toEqual([traceA]);
      expect(await s.findTraceIds({ ...ALL, operation: 'POST /checkout' })).toEqual([traceB]);
      expect(await s.findTraceIds({ ...ALL, tags: { 'http.status_code': '500' } })).toEqual([traceB]);
      // Resource attributes match too; one span must match every tag.
      expect(await s.findTraceIds({ ...ALL, tags: { 'host.name': 'web-1', 'http.method': 'GET' } })).toEqual([
        traceC,
        traceA,
      ]);
      expect(await s.findTraceIds({ ...ALL, tags: { 'db.system': 'redis', 'http.method': 'GET' } })).toEqual(
        [],
      );
      expect(await s.findTraceIds({ ...ALL, tags: { missing: '' } })).toEqual([]);
      expect(await s.findTraceIds({ ...ALL, minDurationNs: 1000n * MS })).toEqual([traceB]);
      expect(await s.findTraceIds({ ...ALL, maxDurationNs: 10n * MS })).toEqual([traceC, traceA]);
      expect(await s.findTraceIds({ ...ALL, endNs: T0 + 3600_000n * MS })).toEqual([traceB, traceA]);
      // Bounds are inclusive.
      expect(await s.findTraceIds({ ...ALL, startNs: T0 + 1000n * MS, endNs: T0 + 1000n * MS })).toEqual([
        traceB,
      ]);
    });

    it('keeps concurrent writes apart and stores all of them', async () => {
      const s = await fresh();
      const writes = [];
      for (let i = 0; i < 20; i++)
        writes.push(
          s.write([
            span({
              traceId: (i + 1).toString(16).padStart(32, '0'),
              spanId: (i + 1).toString(16).padStart(16, '0'),
              startNs: T0 + BigInt(i) * MS,
              endNs: T0 + BigInt(i + 1) * MS,
            }),
          ]),
        );
      await Promise.all(writes);
      const ids = await s.findTraceIds({ ...ALL, limit: 100 });
      expect(ids).toHaveLength(20 + 0);
      expect(await s.trace((7).toString(16).padStart(32, '0'))).toHaveLength(1);
    });

    it('refuses calls after close', async () => {
      const s = await fresh();
      await s.close();
      await expect(s.write([span()])).rejects.toThrow(/closed/);
      store = undefined;
    });
  });
}
