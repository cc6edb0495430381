/**
 * `importFromPrometheus` against a real Prometheus (Debian's, on blocks promtool built from a generated
 * OpenMetrics file, and on its head after a remote write): the STREAMED_XOR_CHUNKS path gives exactly the
 * samples of the SAMPLES path and of the source, bit for bit, stale markers included, and every XOR chunk
 * Prometheus sends re-encodes to the same bytes with Vigil's encoder.
 * Skipped when `prometheus` and `promtool` are not on PATH (CI installs them).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusFromFile } from '../../test/cli-helpers.ts';
import { startPrometheus, tempDir, type Peer } from '../../test/helpers.ts';
import { SampleBuffer } from '../ingest/remotewrite/wire.ts';
import { STALE_NAN, isStaleNaN, labelsKey } from '../model/labels.ts';
import { MemoryStorage } from '../store/memory.ts';
import { importFromPrometheus, type PrometheusImportOptions } from './prometheus-import.ts';
import { RemoteWriteSink } from './remote-write-sink.ts';
import { CHUNK_XOR, FrameReader, decodeChunkedReadResponse } from './remoteread/chunked.ts';
import { SAMPLES, STREAMED_XOR_CHUNKS, encodeReadRequest, snappyCompress } from './remoteread/codec.ts';
import { decodeXorChunk, encodeXorChunk } from './remoteread/xorchunk.ts';

const haveProm = ['prometheus', 'promtool'].every(
  (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0,
);

const T0 = 1_764_000_000_000; // 2025-11-24, ms
const HOUR = 3600_000;
const SPAN = 12 * HOUR;

interface Gen {
  labels: Record<string, string>;
  t: number[];
  v: number[];
}

/**
 * Deterministic series that exercise the chunk format: irregular intervals (1 ms to hours, so every
 * delta-of-delta width occurs), repeated values, integers, negatives, tiny and huge floats, NaN and ±Inf.
 */
function generate(): Gen[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: Gen[] = [];
  const kinds = ['steady', 'jitter', 'bursty', 'gappy'] as const;
  const values = ['counter', 'gauge', 'wild', 'flat'] as const;
  for (const kind of kinds)
    for (const vk of values) {
      const g: Gen = { labels: { __name__: `xor_${vk}`, kind }, t: [], v: [] };
      let t = T0 + Math.floor(rnd() * 60_000);
      let c = 0;
      while (t < T0 + SPAN) {
        g.t.push(t);
        if (vk === 'counter') g.v.push((c += Math.floor(rnd() * 10)));
        else if (vk === 'gauge') g.v.push(Math.round((20 + 5 * Math.sin(t / 3e6) + rnd()) * 1000) / 1000);
        else if (vk === 'flat') g.v.push(rnd() < 0.95 ? 42 : -42);
        else {
          const r = rnd();
          g.v.push(
            r < 0.05
              ? NaN
              : r < 0.08
                ? Infinity
                : r < 0.1
                  ? -Infinity
                  : r < 0.4
                    ? -rnd() * 1e6
                    : r < 0.6
                      ? rnd() * 1e-300
                      : r < 0.8
                        ? rnd() * 1e300
                        : Math.floor(rnd() * 100),
          );
        }
        if (kind === 'steady') t += 15_000;
        else if (kind === 'jitter') t += 15_000 + Math.floor((rnd() - 0.5) * 2_000);
        else if (kind === 'bursty') t += rnd() < 0.3 ? 1 + Math.floor(rnd() * 50) : 30_000;
        else t += rnd() < 0.02 ? Math.floor(rnd() * 3 * HOUR) : 10_000 + Math.floor(rnd() * 600_000);
      }
      out.push(g);
    }
  return out;
}

/** The series of testdata/prometheus-xor-chunk.json: one chunk using every timestamp and value encoding. */
const golden = JSON.parse(
  readFileSync(new URL('./remoteread/testdata/prometheus-xor-chunk.json', import.meta.url), 'utf8'),
) as { t: number[]; v: string[]; hex: string };
/** The golden values as Prometheus holds them: "NaN" is Go's math.NaN(). */
function goldenValues(): Float64Array {
  const v = new Float64Array(golden.v.length);
  const view = new DataView(v.buffer);
  golden.v.forEach((text, i) => {
    if (text === 'NaN') view.setBigUint64(i * 8, 0x7ff8000000000001n, true);
    else v[i] = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  });
  return v;
}

const fmt = (v: number) =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

const dir = tempDir('prom-xor');
const series = generate();
let prom: Peer;

beforeAll(async () => {
  if (!haveProm) return;
  const lines: string[] = [];
  for (const name of new Set(series.map((s) => s.labels.__name__!))) {
    lines.push(`# TYPE ${name} gauge`);
    for (const s of series.filter((x) => x.labels.__name__ === name))
      for (let i = 0; i < s.t.length; i++)
        lines.push(`${name}{kind="${s.labels.kind}"} ${fmt(s.v[i]!)} ${(s.t[i]! / 1000).toFixed(3)}`);
  }
  lines.push('# TYPE golden_chunk gauge');
  golden.t.forEach((t, i) => lines.push(`golden_chunk ${golden.v[i]} ${((T0 + t) / 1000).toFixed(3)}`));
  lines.push('# EOF');
  const file = join(dir, 'data.om');
  writeFileSync(file, lines.join('\n') + '\n');
  prom = await prometheusFromFile(file);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every sample of a storage as `key → [t, bits of v]`. */
async function dump(storage: MemoryStorage) {
  const all = await storage
    .querier(-Infinity, Infinity)
    .select([{ name: '__name__', type: '=~', value: '.+' }]);
  return new Map(
    all.map((s) => [
      labelsKey(s.labels),
      { t: [...s.t], v: Buffer.from(new Float64Array(s.v).buffer).toString('hex') },
    ]),
  );
}

describe.skipIf(!haveProm)('importFromPrometheus from a real Prometheus', () => {
  it('imports exactly the same samples with STREAMED_XOR_CHUNKS as with SAMPLES, and as the file holds', async () => {
    // A range that starts and ends inside chunks, in windows that cut chunks: Prometheus sends whole chunks
    // overlapping each window, and the client keeps only the samples inside it.
    const start = T0 + 17 * 60_000 + 123;
    const end = T0 + SPAN - 41 * 60_000 - 7;
    const contentTypes = new Set<string>();
    const run = async (responseTypes: number[] | undefined) => {
      const target = new MemoryStorage();
      const opts: PrometheusImportOptions = {
        url: prom.url,
        start,
        end,
        selectors: ['{__name__=~"xor_.+"}'],
        matcherSets: [[{ name: '__name__', type: '=~', value: 'xor_.+' }]],
        windowMs: 2 * HOUR + 333,
        appender: () => target.appender(),
        target: 'memory',
        checkpointPath: join(dir, `cp-${responseTypes?.join('-') ?? 'default'}.json`),
        report: () => {},
        ...(responseTypes ? { responseTypes } : {}),
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          if (String(input).endsWith('/api/v1/read')) contentTypes.add(res.headers.get('content-type') ?? '');
          return res;
        },
      };
      const res = await importFromPrometheus(opts);
      return { res, samples: await dump(target) };
    };

    const streamed = await run(undefined);
    expect([...contentTypes]).toEqual([
      'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse',
    ]);
    contentTypes.clear();
    const plain = await run([SAMPLES]);
    expect([...contentTypes]).toEqual(['application/x-protobuf']);

    // Prometheus parses "NaN" as Go's math.NaN(), whose bits differ from JavaScript's NaN.
    const goNaN = new DataView(new ArrayBuffer(8));
    goNaN.setBigUint64(0, 0x7ff8000000000001n);
    const expected = new Map<string, { t: number[]; v: string }>();
    for (const s of series) {
      const t: number[] = [];
      const v = new Float64Array(s.t.length);
      for (let i = 0; i < s.t.length; i++)
        if (s.t[i]! >= start && s.t[i]! <= end) {
          v[t.length] = Number.isNaN(s.v[i]) ? goNaN.getFloat64(0) : s.v[i]!;
          t.push(s.t[i]!);
        }
      expected.set(labelsKey(s.labels), { t, v: Buffer.from(v.buffer, 0, t.length * 8).toString('hex') });
    }
    const total = [...expected.values()].reduce((n, s) => n + s.t.length, 0);
    expect(streamed.res).toMatchObject({ status: 'done', samples: total, series: series.length });
    expect(plain.res).toMatchObject({ status: 'done', samples: total, series: series.length });
    expect(streamed.samples).toEqual(expected);
    expect(plain.samples).toEqual(expected);
  }, 60_000);

  it('re-encodes every XOR chunk Prometheus sends to the same bytes', async () => {
    const body = snappyCompress(
      encodeReadRequest(
        [{ start: T0, end: T0 + SPAN, matchers: [{ name: '__name__', type: '=~', value: 'xor_.+' }] }],
        [STREAMED_XOR_CHUNKS],
      ),
    );
    const res = await fetch(`${prom.url}/api/v1/read`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    });
    expect(res.status).toBe(200);
    const frames = new FrameReader(1 << 26);
    const messages = frames.push(new Uint8Array(await res.arrayBuffer())).map((m) => m.slice());
    frames.end();
    let chunks = 0;
    let samples = 0;
    for (const m of messages) {
      for (const s of decodeChunkedReadResponse(m).series)
        for (const c of s.chunks) {
          expect(c.type).toBe(CHUNK_XOR);
          // Float64Arrays: plain arrays may not keep a NaN's payload bits.
          const buf = new SampleBuffer(120);
          decodeXorChunk(c.data, (ts, val) => buf.push(ts, val));
          const t = buf.t.subarray(0, buf.n);
          const v = buf.v.subarray(0, buf.n);
          expect([t[0], t.at(-1)]).toEqual([c.minTime, c.maxTime]);
          expect(Buffer.from(encodeXorChunk(t, v)).toString('hex')).toBe(Buffer.from(c.data).toString('hex'));
          chunks++;
          samples += t.length;
        }
    }
    expect(samples).toBe(series.reduce((n, s) => n + s.t.length, 0));
    expect(chunks).toBeGreaterThan(series.length);
  }, 60_000);
});

describe.skipIf(!haveProm)('the XOR chunk golden file', () => {
  it('holds the bytes Prometheus serves for its samples', async () => {
    const body = snappyCompress(
      encodeReadRequest(
        [
          {
            start: T0,
            end: T0 + 2 * HOUR,
            matchers: [{ name: '__name__', type: '=', value: 'golden_chunk' }],
          },
        ],
        [STREAMED_XOR_CHUNKS],
      ),
    );
    const res = await fetch(`${prom.url}/api/v1/read`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    });
    const frames = new FrameReader(1 << 26);
    const [message, ...rest] = frames.push(new Uint8Array(await res.arrayBuffer()));
    expect(rest).toEqual([]);
    const chunks = decodeChunkedReadResponse(message!).series[0]!.chunks;
    expect(chunks).toHaveLength(1);
    const hex = Buffer.from(chunks[0]!.data).toString('hex');
    expect(hex).toBe(golden.hex);
    const v = goldenValues();
    expect(
      Buffer.from(
        encodeXorChunk(
          golden.t.map((t) => T0 + t),
          v,
        ),
      ).toString('hex'),
    ).toBe(hex);
  });
});

describe.skipIf(!haveProm)('importFromPrometheus from the head of a real Prometheus', () => {
  let live: Peer;
  const now = Math.floor(Date.now() / 1000) * 1000;
  const first = now - 50 * 60_000;
  const written = new Map<string, { labels: Record<string, string>; t: number[]; v: Float64Array }>();

  beforeAll(async () => {
    live = await startPrometheus('global:\n  scrape_interval: 1h\n');
    // Recent samples, remote-written: they sit in the head's chunks (cut at 120 samples), not in blocks.
    const app = new RemoteWriteSink({ url: live.url }).appender();
    for (const [i, job] of ['a', 'b', 'c'].entries()) {
      const labels = { __name__: 'head_series', job };
      const t: number[] = [];
      const v = new Float64Array(300);
      for (let k = 0; k < 300; k++) {
        t.push(first + k * 10_000 + (k % 3) * 7);
        v[k] = k === 100 && i === 1 ? NaN : i === 2 ? k * 0.25 : Math.sin(k) * 1e3;
      }
      if (job === 'b') v[299] = STALE_NAN; // the series ended: a stale marker
      for (let k = 0; k < 300; k++) app.append(labels, t[k]!, v[k]!);
      written.set(labelsKey(labels), { labels, t, v });
    }
    await app.commit();
  }, 60_000);
  afterAll(() => live?.stop());

  it('reads head chunks, stale markers included, exactly as written', async () => {
    const run = async (responseTypes: number[]) => {
      const target = new MemoryStorage();
      const res = await importFromPrometheus({
        url: live.url,
        start: first,
        end: now,
        selectors: ['head_series'],
        matcherSets: [[{ name: '__name__', type: '=', value: 'head_series' }]],
        windowMs: 20 * 60_000,
        appender: () => target.appender(),
        target: 'memory',
        checkpointPath: join(dir, `head-${responseTypes.join('-')}.json`),
        report: () => {},
        responseTypes,
      });
      expect(res).toMatchObject({ status: 'done', samples: 900, series: 3 });
      return dump(target);
    };
    const streamed = await run([STREAMED_XOR_CHUNKS]);
    const plain = await run([SAMPLES]);
    expect(streamed).toEqual(plain);
    for (const [key, w] of written) {
      const got = streamed.get(key)!;
      expect(got.t).toEqual(w.t);
      expect(got.v).toBe(Buffer.from(w.v.buffer).toString('hex'));
    }
    expect(
      isStaleNaN(
        new Float64Array(
          Buffer.from(streamed.get(labelsKey({ __name__: 'head_series', job: 'b' }))!.v, 'hex').buffer,
        )[299]!,
      ),
    ).toBe(true);
  }, 60_000);
});
