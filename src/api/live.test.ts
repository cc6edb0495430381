import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CommitSignal } from '../ingest/commits.ts';
import type { Labels } from '../model/labels.ts';
import { Engine } from '../query/promql/index.ts';
import type { Storage } from '../store/interface.ts';
import { MemoryStorage } from '../store/memory.ts';
import { liveApi, type LiveDeps, type LivePoints } from './live.ts';

interface SseMessage {
  event?: string;
  data?: string;
  id?: string;
  comment?: string;
}

/** Reads Server-Sent Events off a fetch body, one message (or comment) at a time. */
class SseReader {
  private buf = '';
  private readonly queue: SseMessage[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  ended = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next message matching `want`, skipping others; fails after `timeoutMs`. */
  async next(want: (m: SseMessage) => boolean = () => true, timeoutMs = 10_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length) {
        const m = this.queue.shift()!;
        if (want(m)) return m;
      }
      if (this.ended) throw new Error('stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an event');
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left))),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') throw new Error('timed out waiting for an event');
      if (chunk.done) {
        this.ended = true;
        continue;
      }
      this.buf += this.decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = this.buf.indexOf('\n\n')) >= 0) {
        const block = this.buf.slice(0, end);
        this.buf = this.buf.slice(end + 2);
        for (const m of parseBlock(block)) this.queue.push(m);
      }
    }
  }

  /** Resolves once the server has ended the stream. */
  async waitEnd(timeoutMs = 5000): Promise<void> {
    await this.next(() => false, timeoutMs).catch((err: Error) => {
      if (err.message !== 'stream ended') throw err;
    });
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

function parseBlock(block: string): SseMessage[] {
  const out: SseMessage[] = [];
  const msg: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) out.push({ comment: line.slice(1).trim() });
    else {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event' || field === 'data' || field === 'id') msg[field] = value;
    }
  }
  if (msg.event || msg.data) out.push(msg);
  return out;
}

const points = (m: SseMessage) => JSON.parse(m.data!) as LivePoints;

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(over: Partial<LiveDeps> = {}) {
  const storage = new MemoryStorage();
  const commits = new CommitSignal();
  const written: Storage = commits.wrap(storage);
  app = Fastify();
  await app.register(liveApi({ storage, engine: new Engine(), commits, heartbeatMs: 300, ...over }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/vigil/v1/live`;
  const write = async (rows: [Labels, number, number][]) => {
    const a = written.appender();
    for (const [l, t, v] of rows) a.append(l, t, v);
    await a.commit();
  };
  const open = async (query: string, headers: Record<string, string> = {}) => {
    const ctl = new AbortController();
    const res = await fetch(`${base}?${query}`, { signal: ctl.signal, headers });
    return { res, sse: new SseReader(res.body!), abort: () => ctl.abort() };
  };
  return { storage, commits, write, open, base };
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('live API', () => {
  it('refuses bad queries with their position before opening the stream', async () => {
    const { base } = await start();
    const cases: [string, number, RegExp, unknown?][] = [
      ['', 400, /missing parameter "query"/],
      [
        'query=up&query=sum(',
        400,
        /^invalid query\[1\]: 1:5: parse error/,
        [{ path: 'query[1]', position: { start: 4, end: 4 } }],
      ],
      ['query=up[5m]', 400, /query\[0\]: expression type is range vector/],
      ['query=up&step=abc', 400, /invalid parameter "step"/],
      ['query=up&step=0', 400, /invalid parameter "step"/],
      ['query=up&start=yesterday', 400, /invalid parameter "start"/],
      ['query=up&step=1&start=1000', 400, /more than 11000 steps/],
      [
        Array.from({ length: 11 }, () => 'query=up').join('&'),
        400,
        /too many "query" parameters: 11, at most 10/,
      ],
    ];
    for (const [q, status, msg, details] of cases) {
      const res = await fetch(`${base}?${q}`);
      expect(res.status, q).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as { error: string; details?: unknown[] };
      expect(body.error, q).toMatch(msg);
      if (details) expect(body.details).toMatchObject(details);
    }
  });

  it('sends the points due since start, then new points after each commit', async () => {
    const { write, open } = await start();
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    const rows: [Labels, number, number][] = [];
    for (let s = sec - 5; s <= sec; s++) rows.push([{ __name__: 'x', a: '1' }, s * 1000, s]);
    await write(rows);

    const { res, sse, abort } = await open(`query=x&query=vector(1)&step=1&start=${sec - 3}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const first = await sse.next((m) => m.event === 'points');
    const p = points(first);
    expect(p.t[0]).toBe(sec - 3);
    expect(p.t.at(-1)).toBe(Number(first.id));
    const x = p.series.find((s) => s.query === 0)!;
    expect(x.metric).toEqual({ __name__: 'x', a: '1' });
    expect(x.values[0]).toEqual([sec - 3, String(sec - 3)]);
    expect(p.series.find((s) => s.query === 1)!.metric).toEqual({});

    // New data: the next event carries only steps after the last one sent.
    await new Promise((r) => setTimeout(r, 1100));
    // A sample on the step boundary that has just passed, so the next point sees it.
    const t = Math.floor(Date.now() / 1000) * 1000;
    await write([[{ __name__: 'x', a: '1' }, t, 42]]);
    const second = await sse.next((m) => m.event === 'points');
    const p2 = points(second);
    expect(p2.t[0]).toBe(Number(first.id) + 1);
    expect(p2.t.at(-1)).toBeGreaterThanOrEqual(t / 1000);
    expect(p2.series.find((s) => s.query === 0)!.values.at(-1)![1]).toBe('42');
    abort();
  });

  it('sends nothing new until data is committed, but keeps the connection alive', async () => {
    const { open } = await start({ heartbeatMs: 100 });
    const { sse, abort } = await open('query=vector(1)&step=1');
    const got = await sse.next((m) => m.comment === 'keep-alive' || m.event === 'points');
    expect(got.comment).toBe('keep-alive');
    // A second or more without commits still gives no points.
    await expect(sse.next((m) => m.event === 'points', 1500)).rejects.toThrow(/timed out/);
    abort();
  });

  it('reports a failing evaluation as an error event and stays open', async () => {
    const { write, open } = await start();
    const sec = Math.floor(Date.now() / 1000);
    // Two series that differ only in their name collide once count_over_time drops it.
    await write([
      [{ __name__: 'a', job: 'j' }, (sec - 2) * 1000, 1],
      [{ __name__: 'b', job: 'j' }, (sec - 2) * 1000, 1],
    ]);
    const { sse, abort } = await open(
      `query=count_over_time({job="j"}[1m])&query=vector(2)&step=1&start=${sec - 1}`,
    );
    const err = await sse.next((m) => m.event === 'error');
    expect(JSON.parse(err.data!)).toEqual({
      query: 0,
      error: expect.stringMatching(/^evaluating query\[0\] failed: .*same labelset/),
    });
    const ok = await sse.next((m) => m.event === 'points');
    expect(points(ok).series.map((s) => s.query)).toEqual([1]);
    await new Promise((r) => setTimeout(r, 1100));
    await write([[{ __name__: 'c', job: 'k' }, Date.now(), 1]]);
    await sse.next((m) => m.event === 'error');
    abort();
  });

  it('resumes after Last-Event-ID', async () => {
    const { open } = await start();
    const sec = Math.floor(Date.now() / 1000);
    const { sse, abort } = await open(`query=vector(1)&step=1&start=${sec - 100}`, {
      'last-event-id': String(sec - 2),
    });
    expect(points(await sse.next((m) => m.event === 'points')).t[0]).toBe(sec - 1);
    abort();
  });

  it('cleans up timers and subscriptions when the client goes away', async () => {
    const { commits, open } = await start();
    const before = timeouts();
    const streams = await Promise.all([open('query=vector(1)&step=1'), open('query=vector(1)&step=5')]);
    for (const s of streams) await s.sse.next((m) => m.comment === 'keep-alive');
    expect(commits.listenerCount).toBe(2);
    expect(timeouts()).toBeGreaterThan(before);
    for (const s of streams) s.abort();
    await until('subscriptions to end', () => commits.listenerCount === 0);
    await until('timers to be cleared', () => timeouts() <= before);
  });

  it('limits concurrent streams with 503', async () => {
    const { open, base } = await start({ maxStreams: 1 });
    const first = await open('query=vector(1)');
    await first.sse.next((m) => m.comment?.startsWith('streaming') ?? false);
    const second = await fetch(`${base}?query=vector(1)`);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
    expect(((await second.json()) as { error: string }).error).toMatch(
      /too many live streams are open \(1\)/,
    );
    first.abort();
    // Once the first is gone, a new stream is accepted.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const again = await open('query=vector(1)');
      status = again.res.status;
      again.abort();
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });

  it('ends open streams when the server closes', async () => {
    const { open, commits } = await start();
    const { sse } = await open('query=vector(1)');
    await sse.next((m) => m.comment?.startsWith('streaming') ?? false);
    await app!.close();
    app = undefined;
    await sse.waitEnd();
    expect(commits.listenerCount).toBe(0);
  });
});
