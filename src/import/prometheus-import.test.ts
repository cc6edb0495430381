import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../store/memory.ts';
import type { Appender } from '../store/interface.ts';
import { remoteReadPlugin } from '../api/remote-read.ts';
import { ImportError } from './file-import.ts';
import { importFromPrometheus, type PrometheusImportOptions } from './prometheus-import.ts';
import { ProgressReporter, type ProgressSnapshot } from './progress.ts';
import {
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadRequest,
  encodeReadRequest,
  snappyCompress,
  snappyDecompress,
} from './remoteread/codec.ts';

// The source speaks the remote-read protocol through Vigil's own endpoint over an in-memory store, with a
// /api/v1/metadata like Prometheus's. It answers the STREAMED_XOR_CHUNKS the importer prefers.
// prometheus-import.real.test.ts does the same against Debian's Prometheus.
const source = new MemoryStorage();
let server: FastifyInstance;
let url = '';
const dir = mkdtempSync(join(tmpdir(), 'vigil-migrate-'));
const HOUR = 3600_000;

beforeAll(async () => {
  for (let i = 0; i < 10 * 60; i++) {
    const t = i * 60_000;
    source.add({ __name__: 'up', job: 'a' }, t, 1);
    source.add({ __name__: 'up', job: 'b' }, t, i % 2);
    source.add({ __name__: 'jobs_total', job: 'a' }, t, i);
  }
  server = Fastify();
  await server.register(remoteReadPlugin({ storage: source, maxSamples: 1000, timeoutMs: 5000 }));
  server.get('/api/v1/metadata', async () => ({
    status: 'success',
    data: {
      jobs: [{ type: 'counter', help: 'Jobs run.', unit: '' }],
      unrelated: [{ type: 'gauge', help: '', unit: '' }],
    },
  }));
  await server.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Progress reporting (to nowhere) that aborts after `updates` updates: one comes at the start, one per window. */
function abortAfter(updates: number, ctl: AbortController): ProgressReporter {
  let seen = 0;
  return new (class extends ProgressReporter {
    override update(snap: ProgressSnapshot): void {
      super.update(snap);
      if (++seen === updates) ctl.abort();
    }
  })({ write: () => true }, { enabled: false });
}

let n = 0;
function counting(storage: MemoryStorage) {
  const c = { committed: 0 };
  const appender = (): Appender => {
    const a = storage.appender();
    return {
      append: (l, t, v) => a.append(l, t, v),
      appendMetadata: (m, meta) => a.appendMetadata(m, meta),
      get count() {
        return a.count;
      },
      commit: async () => {
        const k = a.count;
        await a.commit();
        c.committed += k;
      },
      rollback: () => a.rollback(),
    };
  };
  return { c, appender };
}

function opts(
  extra: Partial<PrometheusImportOptions> & Pick<PrometheusImportOptions, 'appender'>,
): PrometheusImportOptions {
  return {
    url,
    start: 0,
    end: 10 * HOUR - 1,
    selectors: ['{job=~".+"}'],
    matcherSets: [[{ name: 'job', type: '=~', value: '.+' }]],
    windowMs: 2 * HOUR,
    target: 'memory',
    checkpointPath: join(dir, `cp${++n}.json`),
    report: () => {},
    ...extra,
  };
}

describe('importFromPrometheus', () => {
  it('copies every sample window by window, with the metadata of the imported families', async () => {
    const target = new MemoryStorage();
    const { c, appender } = counting(target);
    const res = await importFromPrometheus(opts({ appender }));
    expect(res).toMatchObject({ status: 'done', samples: 1800, series: 3, windows: 5 });
    expect(c.committed).toBe(1800);
    const got = await target.querier(0, 10 * HOUR).select([{ name: 'job', type: '=', value: 'b' }]);
    expect([...got[0]!.v.slice(0, 4)]).toEqual([0, 1, 0, 1]);
    expect(await target.metadata()).toEqual(
      new Map([['jobs', [{ type: 'counter', help: 'Jobs run.', unit: '' }]]]),
    );
  });

  it('resumes an interrupted migration at the next window without repeating samples', async () => {
    const target = new MemoryStorage();
    const { c, appender } = counting(target);
    const ctl = new AbortController();
    const checkpointPath = join(dir, 'resume.json');
    const first = await importFromPrometheus(
      opts({ appender, checkpointPath, signal: ctl.signal, progress: abortAfter(3, ctl) }),
    );
    expect(first).toMatchObject({ status: 'interrupted', samples: 720, windows: 2 });
    await expect(importFromPrometheus(opts({ appender, checkpointPath }))).rejects.toThrow(/--resume/);
    const second = await importFromPrometheus(opts({ appender, checkpointPath, resume: true }));
    expect(second).toMatchObject({ status: 'done', samples: 1800, samplesThisRun: 1080 });
    expect(c.committed).toBe(1800);
    expect(existsSync(checkpointPath)).toBe(false);
  });

  it('refuses to resume with other parameters, or without a checkpoint', async () => {
    const checkpointPath = join(dir, 'params.json');
    const { appender } = counting(new MemoryStorage());
    const ctl = new AbortController();
    ctl.abort();
    // Aborted before the first window: nothing committed, nothing to resume.
    expect((await importFromPrometheus(opts({ appender, checkpointPath, signal: ctl.signal }))).status).toBe(
      'interrupted',
    );
    await expect(importFromPrometheus(opts({ appender, checkpointPath, resume: true }))).rejects.toThrow(
      'there is no checkpoint',
    );
    const ctl2 = new AbortController();
    const stopped = await importFromPrometheus(
      opts({ appender, checkpointPath, signal: ctl2.signal, progress: abortAfter(2, ctl2) }),
    );
    expect(stopped).toMatchObject({ status: 'interrupted', windows: 1 });
    await expect(
      importFromPrometheus(opts({ appender, checkpointPath, resume: true, end: 5 * HOUR })),
    ).rejects.toThrow(/was written for other parameters/);
  });

  it("passes on the source's refusal with a hint", async () => {
    const { appender } = counting(new MemoryStorage());
    const err = await importFromPrometheus(opts({ appender, windowMs: 10 * HOUR })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as Error).message).toMatch(
      /remote read of 1970-01-01T00:00:00.000Z to .* answered 422: remote-read: queries\[0\] would return more than 1000 samples.* \(use a smaller --window\)/,
    );
  });

  it('says so when the URL is not a Prometheus', async () => {
    const { appender } = counting(new MemoryStorage());
    await expect(
      importFromPrometheus(opts({ appender, url: 'http://127.0.0.1:1', sleep: async () => {} })),
    ).rejects.toThrow(/cannot reach http:\/\/127.0.0.1:1\/api\/v1\/read.*gave up after 5 attempts/);
  });

  it('asks for streamed chunks first and takes SAMPLES from a server that answers with them', async () => {
    const types: string[] = [];
    // An older server: ignores the preference and always answers SAMPLES.
    const older: typeof fetch = async (input, init) => {
      if (!String(input).endsWith('/api/v1/read')) return fetch(input, init);
      const req = decodeReadRequest(snappyDecompress(init!.body as Uint8Array, 1 << 20, 'request'));
      expect(req.acceptedResponseTypes).toEqual([STREAMED_XOR_CHUNKS, SAMPLES]);
      const res = await fetch(input, {
        ...init,
        body: new Uint8Array(snappyCompress(encodeReadRequest(req.queries, [SAMPLES]))),
      });
      types.push(res.headers.get('content-type') ?? '');
      return res;
    };
    const target = new MemoryStorage();
    const { appender } = counting(target);
    const res = await importFromPrometheus(opts({ appender, fetch: older }));
    expect(res).toMatchObject({ status: 'done', samples: 1800 });
    expect(new Set(types)).toEqual(new Set(['application/x-protobuf']));
  });

  it('stops with a clear error on a corrupt streamed frame', async () => {
    const corrupting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/api/v1/read')) return res;
      const body = Buffer.from(await res.arrayBuffer());
      body[body.length - 1]! ^= 0xff;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const { appender } = counting(new MemoryStorage());
    await expect(importFromPrometheus(opts({ appender, fetch: corrupting }))).rejects.toThrow(
      /remote read of 1970-01-01T00:00:00.000Z to 1970-01-01T01:59:59.999Z from .*: streamed response: frame at byte \d+: CRC32-C of its \d+ bytes is 0x[0-9a-f]+, the frame says/,
    );
  });
});
