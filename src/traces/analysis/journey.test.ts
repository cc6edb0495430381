import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../model.ts';
import { MemorySpanStore } from '../store.memory.ts';
import { assembleJourney, collectJourneyTraces } from './journey.ts';
import { id16, sp, type SpanSpec } from './fixtures.ts';

const I = '1'.repeat(32); // ingest → router fan-out
const E = 'e'.repeat(32); // the email consumer, linking back to its producer
const P = 'f'.repeat(32); // the push consumer, linked forward from its producer
const S = '5'.repeat(32); // an SMS retry consumer that links back, but nothing links to it

const on = (traceId: string, over: SpanSpec = {}): SpanSpec => ({ traceId, ...over });
const link = (traceId: string, spanId: string) => ({
  traceId,
  spanId: id16(spanId),
  traceState: '',
  attributes: {},
});
const dest = (name: string) => ({ 'messaging.destination.name': name });

const spans: SpanRow[] = [
  sp('i1', '', 'ingest', 0, 50, on(I, { name: 'ingest' })),
  sp('i2', 'i1', 'router', 5, 45, on(I, { name: 'fan out' })),
  sp('i3', 'i2', 'router', 10, 12, on(I, { kind: 'producer', attributes: dest('email') })),
  sp('i4', 'i2', 'router', 12, 14, on(I, { kind: 'producer', attributes: dest('sms') })),
  sp('i5', 'i4', 'sms-gateway', 20, 80, on(I, { kind: 'consumer', statusCode: 'error' })),
  sp(
    'i6',
    'i2',
    'router',
    14,
    16,
    on(I, { kind: 'producer', attributes: dest('push'), links: [link(P, 'p1')] }),
  ),
  sp('e1', '', 'mailer', 30, 130, on(E, { kind: 'consumer', links: [link(I, 'i3')] })),
  sp('e2', 'e1', 'mailer', 40, 120, on(E, { kind: 'client' })),
  sp('p1', '', 'push', 25, 60, on(P, { kind: 'consumer' })),
  sp('p2', 'p1', 'push', 30, 55, on(P)),
  sp('s1', '', 'sms-gateway', 90, 95, on(S, { kind: 'consumer', links: [link(I, 'i4')] })),
];

async function journeyOf(traceId: string) {
  const store = new MemorySpanStore();
  await store.write(spans);
  const traces = await collectJourneyTraces(traceId, (id) => store.trace(id));
  return assembleJourney(traceId, traces);
}

describe('journeys', () => {
  it('follows links both ways from a consumer trace and finds the fan-out and every channel', async () => {
    const j = await journeyOf(E);
    expect(j.traces).toEqual([I, P, E]);
    expect(j.fanOut).toEqual({ traceId: I, spanId: id16('i2') });
    expect(j.branches).toEqual([
      { channel: 'email', traceId: E, spanId: id16('e1'), status: 'ok', durationUs: 120_000 },
      { channel: 'sms', traceId: I, spanId: id16('i4'), status: 'error', durationUs: 68_000 },
      { channel: 'push', traceId: P, spanId: id16('p1'), status: 'ok', durationUs: 46_000 },
    ]);
  });

  it('finds only traces that loaded spans link to', async () => {
    const j = await journeyOf(I);
    expect(j.traces).toEqual([I, P]);
    expect(j.branches.map((b) => [b.channel, b.traceId, b.durationUs])).toEqual([
      ['email', I, 2_000],
      ['sms', I, 68_000],
      ['push', P, 46_000],
    ]);
  });

  it('with a store search, also finds consumer traces that only link back to the producer', async () => {
    const store = new MemorySpanStore();
    await store.write(spans);
    const traces = await collectJourneyTraces(
      I,
      (id) => store.trace(id),
      undefined,
      (id, lo, hi, limit) => store.linkingTraces(id, lo, hi, limit),
    );
    const j = assembleJourney(I, traces);
    expect(j.traces).toEqual([I, P, E, S]);
    expect(j.fanOut).toEqual({ traceId: I, spanId: id16('i2') });
    // The email and SMS branches now continue in the consumers' own traces.
    expect(j.branches.map((b) => [b.channel, b.traceId, b.status])).toEqual([
      ['email', E, 'ok'],
      ['sms', S, 'error'],
      ['push', P, 'ok'],
    ]);
  });

  it('reports a single channel without a fan-out, and nothing for an unknown trace', async () => {
    const store = new MemorySpanStore();
    await store.write([
      sp('a', '', 'api', 0, 10, { name: 'POST /notify' }),
      sp('b', 'a', 'api', 2, 4, { kind: 'producer', attributes: { channel: 'webhook' } }),
      sp('c', 'b', 'hooks', 5, 30, { kind: 'consumer' }),
    ]);
    const trace = sp('a', '', 'x', 0, 1).traceId;
    const j = assembleJourney(trace, await collectJourneyTraces(trace, (id) => store.trace(id)));
    expect(j).toEqual({
      traces: [trace],
      fanOut: null,
      branches: [{ channel: 'webhook', traceId: trace, spanId: id16('b'), status: 'ok', durationUs: 28_000 }],
    });
    const none = await collectJourneyTraces('0'.repeat(31) + '9', (id) => store.trace(id));
    expect(none.size).toBe(0);
    expect(assembleJourney('0'.repeat(31) + '9', none)).toEqual({ traces: [], fanOut: null, branches: [] });
  });

  it('stops loading at the trace limit and survives links that loop', async () => {
    const store = new MemorySpanStore();
    const ids = Array.from({ length: 5 }, (_, i) => String(i + 1).repeat(32));
    await store.write(
      ids.map((t, i) =>
        sp('a', '', 'svc', i, i + 1, { traceId: t, kind: 'consumer', links: [link(ids[(i + 1) % 5]!, 'a')] }),
      ),
    );
    expect((await collectJourneyTraces(ids[0]!, (id) => store.trace(id), 3)).size).toBe(3);
    const all = await collectJourneyTraces(ids[0]!, (id) => store.trace(id));
    expect(all.size).toBe(5);
    expect(assembleJourney(ids[0]!, all).traces).toHaveLength(5);
  });
});
