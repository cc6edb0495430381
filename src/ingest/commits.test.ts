import { describe, expect, it } from 'vitest';
import { FailingStorage, MemoryStorage } from '../store/memory.ts';
import { CommitSignal } from './commits.ts';

const up = { __name__: 'up', job: 'a' };

describe('CommitSignal', () => {
  it('notifies after a commit that made samples visible, and only then', async () => {
    const signal = new CommitSignal();
    const storage = new MemoryStorage();
    const written = signal.wrap(storage);
    const seen: number[] = [];
    signal.subscribe(() => seen.push(storage.metricNames().length));

    const a = written.appender();
    a.append(up, 1000, 1);
    expect(a.count).toBe(1);
    await a.commit();
    // The listener ran after the samples were readable.
    expect(seen).toEqual([1]);

    await written.appender().commit(); // nothing appended
    const r = written.appender();
    r.append(up, 2000, 1);
    r.rollback();
    expect(seen).toEqual([1]);
    expect(signal.commits).toBe(1);
  });

  it('does not notify when the commit fails, and passes the failure on', async () => {
    const signal = new CommitSignal();
    const written = signal.wrap(new FailingStorage(new Error('disk full')));
    let calls = 0;
    signal.subscribe(() => calls++);
    const a = written.appender();
    a.append(up, 1000, 1);
    await expect(a.commit()).rejects.toThrow('disk full');
    expect(calls).toBe(0);
  });

  it('keeps writing when a listener throws, and stops calling unsubscribed listeners', async () => {
    const signal = new CommitSignal();
    const written = signal.wrap(new MemoryStorage());
    let calls = 0;
    signal.subscribe(() => {
      throw new Error('reader bug');
    });
    const off = signal.subscribe(() => calls++);
    const write = async () => {
      const a = written.appender();
      a.append(up, Date.now(), 1);
      await a.commit();
    };
    await write();
    off();
    await write();
    expect(calls).toBe(1);
    expect(signal.listenerCount).toBe(1);
  });

  it('passes reads and administration through to the storage', async () => {
    const storage = new MemoryStorage();
    storage.add(up, 1000, 1);
    const written = new CommitSignal().wrap(storage);
    expect(await written.querier(0, 2000).series([[{ name: 'job', type: '=', value: 'a' }]])).toEqual([up]);
    expect((await written.stats()).samples).toBe(1);
  });
});
