/**
 * For API tests over spans: a Fastify app serving one plugin over a memory span store that holds `rows`,
 * opened before the file's tests and closed after them, and a GET helper.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import type { SpanRow } from '../traces/model.ts';
import type { SpanStore } from '../traces/store.ts';
import { MemorySpanStore } from '../traces/store.memory.ts';

export function useSpanApi(rows: readonly SpanRow[], plugin: (spans: SpanStore) => FastifyPluginAsync) {
  let app: FastifyInstance;
  beforeAll(async () => {
    const store = new MemorySpanStore();
    await store.write(rows);
    app = Fastify();
    await app.register(plugin(store));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });
  return {
    /** GET `url`: status, parsed JSON body, raw text and content type. */
    async get(url: string) {
      const res = await app.inject({ method: 'GET', url });
      return { status: res.statusCode, body: res.json(), text: res.body, type: res.headers['content-type'] };
    },
  };
}
