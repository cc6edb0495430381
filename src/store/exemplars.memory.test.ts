import { describe, expect, it } from 'vitest';
import { EX_T0, exemplarRecord, exemplarStoreSuite } from './exemplars.cases.ts';
import { MemoryExemplarStore } from './exemplars.memory.ts';

exemplarStoreSuite('memory', async () => new MemoryExemplarStore());

describe('MemoryExemplarStore', () => {
  it('drops the oldest exemplars beyond its capacity', async () => {
    const s = new MemoryExemplarStore(3);
    for (let i = 0; i < 5; i++)
      await s.append([exemplarRecord({ __name__: 'x_bucket', le: String(i % 2) }, i * 1000, i)]);
    const got = await s.select(EX_T0, EX_T0 + 10_000, [[{ name: '__name__', type: '=', value: 'x_bucket' }]]);
    expect(got.series.flatMap((x) => x.exemplars.map((e) => e.value)).sort()).toEqual([2, 3, 4]);
  });
});
