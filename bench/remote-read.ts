/**
 * Remote read, SAMPLES against STREAMED_XOR_CHUNKS, over real HTTP on loopback: Vigil's /api/v1/read over an
 * in-memory store, read by the importer's decoding path (snappy + protobuf, or frames + XOR chunks).
 *
 *   npx tsx bench/remote-read.ts [--series 1000] [--samples 720] [--rounds 5]
 *
 * Generates seeded series up front (15 s scrapes with ±1 s jitter; a third counters, a third gauges with 3
 * decimals, a third random floats), then per response type prints the bytes on the wire, bytes per sample,
 * the median time of a whole read (request to decoded samples) and samples/s. Also prints the pure codec
 * speeds: XOR encode and decode in samples/s, CRC32-C in MiB/s.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { remoteReadPlugin } from '../src/api/remote-read.ts';
import { ChunkedResponseDecoder, crc32c } from '../src/import/remoteread/chunked.ts';
import {
  SAMPLES,
  STREAMED_XOR_CHUNKS,
  decodeReadResponse,
  encodeReadRequest,
  snappyCompress,
  snappyDecompress,
  type ReadQuery,
  type ReadSeries,
} from '../src/import/remoteread/codec.ts';
import { cutXorChunks, decodeXorChunk } from '../src/import/remoteread/xorchunk.ts';
import { MemoryStorage } from '../src/store/memory.ts';

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '720' },
    rounds: { type: 'string', default: '5' },
  },
});
const nSeries = Number(values.series);
const nSamples = Number(values.samples);
const rounds = Number(values.rounds);

let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const T0 = 1_764_000_000_000;
const storage = new MemoryStorage();
const all: ReadSeries[] = [];
for (let s = 0; s < nSeries; s++) {
  const t = new Float64Array(nSamples);
  const v = new Float64Array(nSamples);
  let c = 0;
  for (let i = 0; i < nSamples; i++) {
    t[i] = T0 + i * 15_000 + Math.floor((rnd() - 0.5) * 2000);
    v[i] =
      s % 3 === 0
        ? (c += Math.floor(rnd() * 20))
        : s % 3 === 1
          ? Math.round((50 + 10 * Math.sin(i / 40) + rnd()) * 1000) / 1000
          : rnd() * 1e6;
  }
  const labels = { __name__: `bench_metric_${s % 10}`, instance: `host-${s}`, job: 'bench' };
  const app = storage.appender();
  for (let i = 0; i < nSamples; i++) app.append(labels, t[i]!, v[i]!);
  await app.commit();
  all.push({ labels, t, v });
}
const total = nSeries * nSamples;

const server = Fastify();
await server.register(remoteReadPlugin({ storage, maxSamples: total + 1, timeoutMs: 600_000 }));
await server.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/api/v1/read`;
const queries: ReadQuery[] = [
  { start: T0 - 60_000, end: T0 + nSamples * 15_000, matchers: [{ name: 'job', type: '=', value: 'bench' }] },
];

async function read(type: number): Promise<{ bytes: number; samples: number }> {
  const res = await fetch(url, {
    method: 'POST',
    body: new Uint8Array(snappyCompress(encodeReadRequest(queries, [type]))),
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
  });
  let bytes = 0;
  let result: ReadSeries[][];
  if (type === STREAMED_XOR_CHUNKS) {
    const decoder = new ChunkedResponseDecoder(queries, { maxFrameBytes: 1 << 26 });
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      bytes += r.value.length;
      decoder.push(r.value);
    }
    result = decoder.finish();
  } else {
    const raw = new Uint8Array(await res.arrayBuffer());
    bytes = raw.length;
    result = decodeReadResponse(snappyDecompress(raw, 1 << 30, 'response'));
  }
  let samples = 0;
  for (const s of result[0]!) samples += s.t.length;
  return { bytes, samples };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`remote read of ${nSeries} series x ${nSamples} samples = ${total} samples, ${rounds} rounds`);
console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const [name, type] of [
  ['SAMPLES', SAMPLES],
  ['STREAMED_XOR_CHUNKS', STREAMED_XOR_CHUNKS],
] as const) {
  await read(type); // warm-up
  const ms: number[] = [];
  let last = { bytes: 0, samples: 0 };
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    last = await read(type);
    ms.push(performance.now() - t0);
  }
  if (last.samples !== total) throw new Error(`${name}: read ${last.samples} samples, expected ${total}`);
  const m = median(ms);
  console.log(
    `${name.padEnd(20)} wire ${(last.bytes / 1024 / 1024).toFixed(2)} MiB (${(last.bytes / total).toFixed(2)} B/sample)  ` +
      `read ${m.toFixed(0)} ms median (min ${Math.min(...ms).toFixed(0)})  ${(((total / m) * 1000) / 1e6).toFixed(2)} M samples/s`,
  );
}

// Pure codecs.
{
  const t0 = performance.now();
  const chunks = [];
  for (const s of all) for (const c of cutXorChunks(s.t, s.v)) chunks.push(c);
  const enc = performance.now() - t0;
  const t1 = performance.now();
  let n = 0;
  for (const c of chunks) n += decodeXorChunk(c.data, () => {});
  const dec = performance.now() - t1;
  const bytes = chunks.reduce((b, c) => b + c.data.length, 0);
  const buf = new Uint8Array(64 << 20).map((_, i) => i * 31);
  const t2 = performance.now();
  crc32c(buf);
  const crc = performance.now() - t2;
  console.log(
    `XOR chunks: ${(bytes / n).toFixed(2)} B/sample; encode ${(((n / enc) * 1000) / 1e6).toFixed(2)} M samples/s, ` +
      `decode ${(((n / dec) * 1000) / 1e6).toFixed(2)} M samples/s; CRC32-C ${(64 / (crc / 1000)).toFixed(0)} MiB/s`,
  );
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
await server.close();
