/**
 * The shared SpanStore suite, run against every implementation (store.test.ts). Each test gets a fresh,
 * empty store from `open`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AttributeCondition, ServiceGraph, SpanRow, TraceQuery } from './model.ts';
import { parseCondition } from './search/condition.ts';
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

const traceP = '0000000000000000000000000000000a';
const traceQ = '0000000000000000000000000000000b';
const traceR = '0000000000000000000000000000000c';

/** One span per trace with typed attributes, for attribute conditions: R is newest, P oldest. */
function typedFixture(): SpanRow[] {
  return [
    span({
      traceId: traceP,
      spanId: '00000000000000a1',
      service: 'api',
      kind: 'server',
      statusCode: 'error',
      startNs: T0 + 10n * MS,
      endNs: T0 + 20n * MS,
      resourceAttributes: { 'service.name': 'api', region: 'eu-west' },
      attributes: {
        'http.status_code': '503',
        channel: 'sms',
        'cache.hit': 'true',
        ratio: '0.25',
        big: '9007199254740993',
        code: '0500',
      },
      attributeTypes: { 'http.status_code': 'int', 'cache.hit': 'bool', ratio: 'double', big: 'int' },
    }),
    span({
      traceId: traceQ,
      spanId: '00000000000000b1',
      service: 'api',
      kind: 'client',
      statusCode: 'ok',
      startNs: T0 + 20n * MS,
      endNs: T0 + 30n * MS,
      resourceAttributes: { 'service.name': 'api', region: 'us-east' },
      attributes: {
        'http.status_code': '200',
        channel: 'email',
        'cache.hit': 'false',
        ratio: '1.5',
        big: '9007199254740992',
      },
      attributeTypes: { 'http.status_code': 'int', 'cache.hit': 'bool', ratio: 'double', big: 'int' },
    }),
    span({
      traceId: traceR,
      spanId: '00000000000000c1',
      service: 'worker',
      kind: 'consumer',
      statusCode: 'unset',
      startNs: T0 + 30n * MS,
      endNs: T0 + 40n * MS,
      resourceAttributes: { 'service.name': 'worker', region: 'eu-west' },
      // Sent as a string: numeric operators do not apply to it.
      attributes: { 'http.status_code': '404', channel: 'push\nx' },
      attributeTypes: {},
    }),
  ];
}

/** Spans of a dependency window [W0, W1]: known calls, errors and latencies. */
const W0 = T0;
const W1 = T0 + 3_600_000n * MS;

function dependencyFixture(): SpanRow[] {
  const out: SpanRow[] = [];
  let id = 0;
  const add = (
    trace: number,
    over: Partial<SpanRow> & { service: string; durMs: bigint; atMs?: bigint },
  ): string => {
    const spanId = (++id).toString(16).padStart(16, '0');
    const startNs = W0 + (over.atMs ?? BigInt(trace) * 1000n) * MS;
    const { durMs, atMs: _at, ...rest } = over;
    out.push(
      span({
        traceId: trace.toString(16).padStart(32, 'd'),
        spanId,
        name: `${over.service} op`,
        resourceAttributes: { 'service.name': over.service },
        startNs,
        endNs: startNs + durMs * MS,
        ...rest,
      }),
    );
    return spanId;
  };
  // Three requests through frontend → cart; one also calls payment, which fails; one goes on to redis.
  for (const [t, cartMs] of [
    [1, 10n],
    [2, 20n],
    [3, 30n],
  ] as const) {
    const root = add(t, { service: 'frontend', kind: 'server', durMs: BigInt(t) * 100n });
    const cart = add(t, { service: 'cart', kind: 'server', parentSpanId: root, durMs: cartMs });
    if (t === 1)
      add(t, { service: 'payment', kind: 'server', parentSpanId: root, durMs: 40n, statusCode: 'error' });
    if (t === 2) add(t, { service: 'frontend', kind: 'internal', parentSpanId: root, durMs: 1n });
    if (t === 3) add(t, { service: 'redis', kind: 'server', parentSpanId: cart, durMs: 5n });
  }
  // A parent 10 minutes before the window still pairs; one 20 minutes before does not.
  const early = add(4, { service: 'early', kind: 'client', durMs: 1n, atMs: -600_000n });
  add(4, { service: 'late', kind: 'server', parentSpanId: early, durMs: 7n });
  const gone = add(5, { service: 'gone', kind: 'client', durMs: 1n, atMs: -1_200_000n });
  add(5, { service: 'orphaned', kind: 'internal', parentSpanId: gone, durMs: 9n });
  // After the window: neither a node nor an edge.
  const after = add(6, { service: 'frontend', kind: 'server', durMs: 1n, atMs: 3_700_000n });
  add(6, { service: 'cart', kind: 'server', parentSpanId: after, durMs: 1n, atMs: 3_700_001n });
  return out;
}

/** Rounds latencies to whole ns: ClickHouse's interpolation may differ from exact in the last bits. */
function rounded(g: ServiceGraph): ServiceGraph {
  return {
    nodes: g.nodes.map((n) => ({ ...n, p95Ns: Math.round(n.p95Ns) })),
    edges: g.edges.map((e) => ({
      ...e,
      p50Ns: Math.round(e.p50Ns),
      p95Ns: Math.round(e.p95Ns),
      p99Ns: Math.round(e.p99Ns),
    })),
  };
}

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

    it('returns several traces at once in the order asked', async () => {
      const s = await fresh();
      const rows = fixture();
      await s.write(rows);
      expect(await s.traces([traceB, 'ffffffffffffffffffffffffffffffff', traceA, traceB, "x'"])).toEqual([
        [rows[2]],
        [rows[0], rows[1]],
      ]);
      expect(await s.traces([])).toEqual([]);
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

    it('finds traces by kind, status and attribute conditions on one span', async () => {
      const s = await fresh();
      await s.write(typedFixture());
      const find = (over: Partial<TraceQuery>) => s.findTraceIds({ ...ALL, ...over });
      const where = (...texts: string[]) =>
        find({ conditions: texts.map((t): AttributeCondition => parseCondition(t)) });
      expect(await find({ kind: 'server' })).toEqual([traceP]);
      expect(await find({ kind: 'consumer' })).toEqual([traceR]);
      expect(await find({ status: 'error' })).toEqual([traceP]);
      expect(await find({ status: 'ok' })).toEqual([traceQ]);
      expect(await find({ status: 'unset', service: 'worker' })).toEqual([traceR]);
      const cases: [string[], string[]][] = [
        // Numbers compare numerically by their stored type; a string "404" is not a number.
        [['http.status_code>=500'], [traceP]],
        [['http.status_code<300'], [traceQ]],
        [['http.status_code>=500.5'], [traceP]],
        [['http.status_code>5e2'], [traceP]],
        [['http.status_code=404'], [traceR]],
        [['http.status_code=503'], [traceP]],
        [['http.status_code!=200'], [traceR, traceP]],
        [['ratio>0.5'], [traceQ]],
        [['ratio<=0.25'], [traceP]],
        [['ratio=0.250'], [traceP]],
        [['ratio>1', 'ratio<2'], [traceQ]],
        // int64 beyond 2^53 compares exactly.
        [['big>9007199254740992'], [traceP]],
        [['big=9007199254740993'], [traceP]],
        [['code=500'], []],
        [['code=0500'], [traceP]],
        [['cache.hit=true'], [traceP]],
        [['cache.hit!=true'], [traceQ]],
        // Regular expressions are anchored; `.` matches a line break; (?i) ignores case.
        [['channel=~sms|email'], [traceQ, traceP]],
        [['channel=~sm'], []],
        [['channel=~SMS'], []],
        [['channel=~(?i)SMS'], [traceP]],
        [['channel!~sms|email'], [traceR]],
        [['channel=~push.x'], [traceR]],
        // Resource attributes count; a missing key matches no operator.
        [['region=eu-west'], [traceR, traceP]],
        [['region!=eu-west'], [traceQ]],
        [['missing!=x'], []],
        [['missing!~x'], []],
        // One span must satisfy every condition.
        [['channel=sms', 'http.status_code<300'], []],
        [['region=eu-west', 'http.status_code>=500'], [traceP]],
      ];
      for (const [conds, want] of cases)
        expect({ conds, got: await where(...conds) }).toEqual({ conds, got: want });
      expect(await find({ kind: 'server', conditions: [parseCondition('region=eu-west')] })).toEqual([
        traceP,
      ]);
      expect(await find({ tags: { 'http.status_code': '503' }, status: 'error' })).toEqual([traceP]);
    });

    it('summarises traces in the order asked, over all their spans', async () => {
      const s = await fresh();
      const rows = fixture();
      // A trace whose root was never stored: the earliest span stands in.
      const orphan = span({
        traceId: traceP,
        spanId: '00000000000000a2',
        parentSpanId: '00000000000000ff',
        service: 'mail',
        name: 'send',
        startNs: T0 + 5n * MS,
        endNs: T0 + 9n * MS,
        statusCode: 'error',
      });
      const orphanLater = span({
        traceId: traceP,
        spanId: '00000000000000a3',
        parentSpanId: '00000000000000a2',
        service: 'sms',
        name: 'deliver',
        startNs: T0 + 6n * MS,
        endNs: T0 + 30n * MS,
      });
      await s.write([...rows, orphanLater, orphan]);
      const got = await s.summaries([
        traceB,
        'ffffffffffffffffffffffffffffffff',
        traceA,
        traceP,
        "x' OR 1=1",
      ]);
      expect(got).toEqual([
        {
          traceId: traceB,
          rootService: 'frontend',
          rootName: 'POST /checkout',
          startNs: T0 + 1000n * MS,
          durationNs: 2000n * MS,
          spanCount: 1,
          errorCount: 0,
          services: [{ service: 'frontend', spanCount: 1, errorCount: 0 }],
        },
        {
          traceId: traceA,
          rootService: 'frontend',
          rootName: 'GET /cart',
          startNs: T0,
          durationNs: 20n * MS,
          spanCount: 2,
          errorCount: 1,
          services: [
            { service: 'cart', spanCount: 1, errorCount: 1 },
            { service: 'frontend', spanCount: 1, errorCount: 0 },
          ],
        },
        {
          traceId: traceP,
          rootService: 'mail',
          rootName: 'send',
          startNs: T0 + 5n * MS,
          durationNs: 25n * MS,
          spanCount: 2,
          errorCount: 1,
          services: [
            { service: 'mail', spanCount: 1, errorCount: 1 },
            { service: 'sms', spanCount: 1, errorCount: 0 },
          ],
        },
      ]);
      expect(await s.summaries([])).toEqual([]);
    });

    it('builds the service graph of a window with calls, errors and latency quantiles', async () => {
      const s = await fresh();
      await s.write(dependencyFixture());
      const g = rounded(await s.dependencies(W0, W1));
      expect(g.edges).toEqual([
        { parent: 'cart', child: 'redis', calls: 1, errors: 0, p50Ns: 5e6, p95Ns: 5e6, p99Ns: 5e6 },
        { parent: 'early', child: 'late', calls: 1, errors: 0, p50Ns: 7e6, p95Ns: 7e6, p99Ns: 7e6 },
        // Children of 10, 20 and 30 ms: p95 = 20 + 0.9 × 10, p99 = 20 + 0.98 × 10.
        { parent: 'frontend', child: 'cart', calls: 3, errors: 0, p50Ns: 20e6, p95Ns: 29e6, p99Ns: 29.8e6 },
        { parent: 'frontend', child: 'payment', calls: 1, errors: 1, p50Ns: 40e6, p95Ns: 40e6, p99Ns: 40e6 },
      ]);
      expect(g.nodes).toEqual([
        { service: 'cart', spans: 3, errors: 0, p95Ns: 29e6 },
        // Entry spans are the roots of 100, 200 and 300 ms; the internal span does not count.
        { service: 'frontend', spans: 4, errors: 0, p95Ns: 290e6 },
        { service: 'late', spans: 1, errors: 0, p95Ns: 7e6 },
        // No entry span: p95 of all its spans.
        { service: 'orphaned', spans: 1, errors: 0, p95Ns: 9e6 },
        { service: 'payment', spans: 1, errors: 1, p95Ns: 40e6 },
        { service: 'redis', spans: 1, errors: 0, p95Ns: 5e6 },
      ]);
      expect(await s.dependencies(W1 + 86_400_000n * MS, W1 + 2n * 86_400_000n * MS)).toEqual({
        nodes: [],
        edges: [],
      });
    });

    it('finds the traces whose spans link to a trace, within a window', async () => {
      const s = await fresh();
      const producer = 'aa'.repeat(16);
      const consumer = (n: number) => n.toString(16).padStart(32, '0');
      const link = { traceId: producer, spanId: '00000000000000a1', traceState: '', attributes: {} };
      await s.write([
        span({ traceId: producer, spanId: '00000000000000a1' }),
        span({
          traceId: consumer(2),
          spanId: '00000000000000b1',
          startNs: T0 + 5n * MS,
          endNs: T0 + 6n * MS,
          links: [link],
        }),
        span({
          traceId: consumer(1),
          spanId: '00000000000000c1',
          startNs: T0 + 9n * MS,
          endNs: T0 + 10n * MS,
          links: [link],
        }),
        // Outside the window, and a link inside the producer's own trace: neither is listed.
        span({
          traceId: consumer(3),
          spanId: '00000000000000d1',
          startNs: T0 + 3600_000n * MS,
          endNs: T0 + 3600_001n * MS,
          links: [link],
        }),
        span({ traceId: producer, spanId: '00000000000000a2', links: [link] }),
      ]);
      expect(await s.linkingTraces(producer, T0 - 60_000n * MS, T0 + 60_000n * MS, 10)).toEqual([
        consumer(1),
        consumer(2),
      ]);
      expect(await s.linkingTraces(producer, T0 - 60_000n * MS, T0 + 60_000n * MS, 1)).toEqual([consumer(1)]);
      expect(await s.linkingTraces(consumer(1), T0, T0 + 60_000n * MS, 10)).toEqual([]);
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
