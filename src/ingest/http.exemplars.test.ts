import { describe, expect, it } from 'vitest';
import { registry } from '../self/metrics.ts';
import type { ExemplarRecord } from '../store/exemplars.ts';
import { MemoryExemplarStore } from '../store/exemplars.memory.ts';
import { storeExemplars, summarizeExemplarDrops, type ExemplarDrop } from './http.ts';

const RECORD: ExemplarRecord = {
  seriesLabels: { __name__: 'a_total' },
  labels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
  value: 1,
  t: 1_700_000_000_000,
};

/** The current value of a counter child, 0 when absent. */
async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getSingleMetric(name)!.get()).values.find((v) =>
    Object.entries(labels).every(([k, x]) => v.labels[k] === x),
  );
  return m?.value ?? 0;
}

class FailingExemplarStore extends MemoryExemplarStore {
  override append(): Promise<void> {
    return Promise.reject(new Error('disk full'));
  }
}

describe('storeExemplars', () => {
  it.each<[string, MemoryExemplarStore | undefined, number, string | undefined]>([
    ['stores and counts', new MemoryExemplarStore(), 1, undefined],
    ['without a store, stores nothing and reports no error', undefined, 0, undefined],
    [
      'reports a store failure as a message, never a throw',
      new FailingExemplarStore(),
      0,
      '1 exemplar(s) not stored: disk full',
    ],
  ])('%s', async (_what, store, stored, error) => {
    const protocol = `test_${Math.random().toString(36).slice(2)}`;
    const r = await storeExemplars(store, [RECORD], undefined, protocol);
    expect(r).toEqual(error ? { stored, error } : { stored });
    expect(await counter('vigil_ingest_exemplars_total', { protocol })).toBe(stored);
    expect(await counter('vigil_ingest_exemplars_dropped_total', { protocol, reason: 'store_failed' })).toBe(
      error ? 1 : 0,
    );
  });

  it('counts parser drops by reason even when nothing is stored', async () => {
    const protocol = `test_${Math.random().toString(36).slice(2)}`;
    const drops: ExemplarDrop[] = [
      { message: 'a', reason: 'labels_too_long' },
      { message: 'b', reason: 'labels_too_long' },
      { message: 'c', reason: 'invalid_exemplar' },
    ];
    await storeExemplars(new MemoryExemplarStore(), [], drops, protocol);
    expect(
      await counter('vigil_ingest_exemplars_dropped_total', { protocol, reason: 'labels_too_long' }),
    ).toBe(2);
    expect(
      await counter('vigil_ingest_exemplars_dropped_total', { protocol, reason: 'invalid_exemplar' }),
    ).toBe(1);
  });
});

describe('summarizeExemplarDrops', () => {
  it.each<[ExemplarDrop[] | undefined, number, string]>([
    [undefined, 2, ''],
    [[], 2, ''],
    [
      [{ message: 'x: bad', reason: 'invalid_exemplar' }],
      2,
      '1 exemplar problem(s), exemplars or their attributes left out (the data points were kept): x: bad [invalid_exemplar]',
    ],
    [
      [
        { message: 'a', reason: 'invalid_exemplar' },
        { message: 'b', reason: 'labels_too_long' },
        { message: 'c', reason: 'labels_too_long' },
      ],
      1,
      '3 exemplar problem(s), exemplars or their attributes left out (the data points were kept): a [invalid_exemplar]; ... and 2 more',
    ],
  ])('summarizes %j', (drops, n, expected) => {
    expect(summarizeExemplarDrops(drops, n)).toBe(expected);
  });
});
