import { describe, expect, it } from 'vitest';
import type { Appender } from './interface.ts';
import { MemoryStorage } from './memory.ts';
import { wrapAppenders } from './wrap.ts';

describe('wrapAppenders', () => {
  it('passes appenders through the wrapper and everything else to the storage', async () => {
    const storage = new MemoryStorage();
    const appended: number[] = [];
    const wrapped = wrapAppenders(storage, (inner): Appender => ({
      append: (labels, t, v) => {
        appended.push(v);
        inner.append(labels, t, v);
      },
      appendMetadata: (metric, meta) => inner.appendMetadata(metric, meta),
      get count() {
        return inner.count;
      },
      commit: () => inner.commit(),
      rollback: () => inner.rollback(),
    }));
    const a = wrapped.appender();
    a.append({ __name__: 'up', job: 'x' }, 1000, 1);
    a.appendMetadata('up', { type: 'gauge', help: 'h', unit: '' });
    await a.commit();
    expect(appended).toEqual([1]);
    // Reads through either handle see the same data.
    const got = await wrapped.querier(0, 2000).select([{ name: '__name__', type: '=', value: 'up' }]);
    expect(got.map((s) => s.labels)).toEqual([{ __name__: 'up', job: 'x' }]);
    expect((await wrapped.metadata('up')).get('up')?.[0]?.type).toBe('gauge');
    expect(await wrapped.stats()).toEqual(await storage.stats());
    await wrapped.deleteSeries([[{ name: 'job', type: '=', value: 'x' }]], 0, 2000);
    expect(await storage.querier(0, 2000).select([{ name: '__name__', type: '=', value: 'up' }])).toEqual([]);
    await wrapped.cleanTombstones();
    await wrapped.close();
  });
});
