import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../model/labels.ts';
import { FailingStorage, MemoryStorage } from '../store/memory.ts';
import { OverloadedError, type Storage } from '../store/interface.ts';
import { DEFAULT_INGEST_LIMITS } from '../ingest/validate.ts';
import { remoteWritePlugin } from '../ingest/remotewrite/handler.ts';
import { RemoteWriteError, RemoteWriteSink } from './remote-write-sink.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Vigil's real remote-write receiver over HTTP, in front of the given storage. */
async function receiver(storage: Storage, onRequest?: () => void): Promise<string> {
  app = Fastify();
  if (onRequest) app.addHook('onRequest', async () => onRequest());
  await app.register(remoteWritePlugin({ storage, limits: DEFAULT_INGEST_LIMITS }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe('RemoteWriteSink', () => {
  it('sends a batch that the receiver stores, samples sorted by time, stale markers intact', async () => {
    const storage = new MemoryStorage();
    const sink = new RemoteWriteSink({ url: await receiver(storage) });
    const a = { __name__: 'temp', room: 'x' };
    const b = { room: 'y', __name__: 'temp' };
    const app1 = sink.appender();
    app1.append(a, 3000, 3);
    app1.append(b, 1000, 10);
    app1.append(a, 1000, 1);
    app1.append(a, 2000, STALE_NAN);
    app1.appendMetadata('temp', { type: 'gauge', help: 'Temperature.', unit: 'celsius' });
    expect(app1.count).toBe(4);
    await app1.commit();
    const got = await storage.querier(0, 5000).select([{ name: '__name__', type: '=', value: 'temp' }]);
    expect(got.map((s) => [s.labels.room, [...s.t]])).toEqual([
      ['x', [1000, 2000, 3000]],
      ['y', [1000]],
    ]);
    expect(isStaleNaN(got[0]!.v[1]!)).toBe(true);
    expect(await storage.metadata('temp')).toEqual(
      new Map([['temp', [{ type: 'gauge', help: 'Temperature.', unit: 'celsius' }]]]),
    );
  });

  it('splits a large batch into requests of bounded size', async () => {
    const storage = new MemoryStorage();
    let requests = 0;
    const url = await receiver(storage, () => requests++);
    const sink = new RemoteWriteSink({ url, maxRequestBytes: 2000 });
    const a = sink.appender();
    for (let s = 0; s < 20; s++)
      for (let i = 0; i < 30; i++) a.append({ __name__: 'm', s: String(s) }, i * 1000, i);
    a.appendMetadata('m', { type: 'counter', help: '', unit: '' });
    await a.commit();
    expect(requests).toBeGreaterThan(5);
    const got = await storage.querier(0, 60_000).select([{ name: '__name__', type: '=', value: 'm' }]);
    expect(got).toHaveLength(20);
    expect(got.every((s) => s.t.length === 30)).toBe(true);
    expect((await storage.metadata('m')).size).toBe(1);
  });

  it('retries an overloaded receiver, then gives up with its message', async () => {
    const waits: number[] = [];
    const url = await receiver(new FailingStorage(new OverloadedError('queue full', 2)));
    const sink = new RemoteWriteSink({ url, maxAttempts: 3, sleep: async (ms) => void waits.push(ms) });
    const a = sink.appender();
    a.append({ __name__: 'm' }, 1000, 1);
    await expect(a.commit()).rejects.toThrow(
      /answered 503: remote-write: storage is overloaded.*gave up after 3 attempts/,
    );
    expect(waits).toEqual([2000, 2000, 2000]);
  });

  it('fails at once when the receiver refuses the data', async () => {
    const sink = new RemoteWriteSink({ url: await receiver(new MemoryStorage()), sleep: async () => {} });
    const a = sink.appender();
    a.append({ __name__: 'm' }, Date.now() + 86_400_000, 1);
    const err = await a.commit().catch((e: Error) => e);
    expect(err).toBeInstanceOf(RemoteWriteError);
    expect((err as Error).message).toMatch(/answered 400: [\s\S]*in the future/);
  });

  it('retries when the receiver cannot be reached', async () => {
    const waits: number[] = [];
    const sink = new RemoteWriteSink({
      url: 'http://127.0.0.1:1',
      maxAttempts: 2,
      sleep: async (ms) => void waits.push(ms),
    });
    const a = sink.appender();
    a.append({ __name__: 'm' }, 1000, 1);
    await expect(a.commit()).rejects.toThrow(
      /cannot reach http:\/\/127.0.0.1:1\/api\/v1\/write.*gave up after 2 attempts/,
    );
    expect(waits).toEqual([250, 500]);
  });
});
