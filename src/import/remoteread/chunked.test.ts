import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../../model/labels.ts';
import {
  CHUNK_XOR,
  ChunkedResponseDecoder,
  FrameReader,
  chunkedFrames,
  crc32c,
  decodeChunkedReadResponse,
  encodeChunkedReadResponse,
  encodeFrame,
} from './chunked.ts';
import { RemoteReadProtocolError, type ReadSeries } from './codec.ts';
import { decodeXorChunk, encodeXorChunk } from './xorchunk.ts';

// protobufjs' reflection codec, independent of the hand-written field-by-field code under test.
const root = protobuf.loadSync(fileURLToPath(new URL('./proto/remote-read.proto', import.meta.url)));
const ChunkedReadResponse = root.lookupType('prometheus.ChunkedReadResponse');

function series(labels: Record<string, string>, n: number, t0 = 0, step = 1000): ReadSeries {
  const t = new Float64Array(n).map((_, i) => t0 + i * step);
  const v = new Float64Array(n).map((_, i) => (i % 7) * 1.5 - i);
  return { labels, t, v };
}

const bitsOf = (v: Float64Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

describe('crc32c', () => {
  it.each([
    ['', 0x00000000],
    ['123456789', 0xe3069283], // the standard check value of CRC-32C
    ['a', 0xc1d04330],
  ])('%j → %s', (text, crc) => {
    expect(crc32c(Buffer.from(text))).toBe(crc);
  });

  it('matches the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(new Uint8Array(32).map((_, i) => i))).toBe(0x46dd794e);
  });
});

describe('frames', () => {
  const messages = [Buffer.from('first'), Buffer.alloc(300, 7), Buffer.alloc(0), Buffer.from('last')];
  const body = Buffer.concat(messages.map((m) => encodeFrame(m)));

  it('are uvarint length, big-endian CRC32-C, message', () => {
    const f = encodeFrame(Buffer.from('123456789'));
    expect(f.toString('hex')).toBe('09' + 'e3069283' + Buffer.from('123456789').toString('hex'));
    expect(encodeFrame(Buffer.alloc(300)).subarray(0, 2).toString('hex')).toBe('ac02');
  });

  it('are read back whether the body comes whole or byte by byte', () => {
    const whole = new FrameReader(1024);
    expect(whole.push(body).map((m) => Buffer.from(m))).toEqual(messages);
    whole.end();

    const bytewise = new FrameReader(1024);
    const got: Buffer[] = [];
    for (const b of body) got.push(...bytewise.push(new Uint8Array([b])).map((m) => Buffer.from(m)));
    bytewise.end();
    expect(got).toEqual(messages);
  });

  it('refuse a corrupt CRC, naming the frame', () => {
    const bad = Buffer.from(body);
    bad[bad.length - 1]! ^= 1; // a bit of the last message
    const r = new FrameReader(1024);
    expect(() => r.push(bad)).toThrow(RemoteReadProtocolError);
    expect(() => new FrameReader(1024).push(bad)).toThrow(
      /frame at byte 321: CRC32-C of its 4 bytes is 0x[0-9a-f]{8}, the frame says 0x[0-9a-f]{8} \(corrupted in transit\?\)/,
    );
  });

  it('refuse a truncated stream at its end', () => {
    for (const cut of [1, 3, 6, 10]) {
      const r = new FrameReader(1024);
      r.push(body.subarray(0, body.length - cut));
      expect(() => r.end()).toThrow(/truncated stream: the body ends inside the frame at byte 3(16|21) /);
    }
    const header = new FrameReader(1024);
    header.push(Buffer.from([0x05, 0x01]));
    expect(() => header.end()).toThrow(/2 bytes of an incomplete frame header/);
  });

  it('refuse a frame larger than the limit before reading it', () => {
    expect(() => new FrameReader(100).push(body.subarray(0, 16))).toThrow(
      /frame at byte 10 declares 300 bytes, more than the limit of 100/,
    );
  });
});

describe('ChunkedReadResponse messages', () => {
  it('use the field numbers of Prometheus remote.proto / types.proto', () => {
    const chunk = { minTime: -5, maxTime: 1_767_000_000_000, data: encodeXorChunk([-5, 0], [1, 2]) };
    const msg = encodeChunkedReadResponse(3, { __name__: 'up', job: 'a', empty: '' }, [chunk]);
    const obj = ChunkedReadResponse.toObject(ChunkedReadResponse.decode(msg), {
      longs: Number,
      enums: String,
      bytes: Array,
    });
    expect(obj).toEqual({
      chunkedSeries: [
        {
          labels: [
            { name: '__name__', value: 'up' },
            { name: 'job', value: 'a' },
          ],
          chunks: [{ minTimeMs: -5, maxTimeMs: 1_767_000_000_000, type: 'XOR', data: [...chunk.data] }],
        },
      ],
      queryIndex: 3,
    });
    const back = decodeChunkedReadResponse(msg);
    expect(back.queryIndex).toBe(3);
    expect(back.series).toHaveLength(1);
    expect(back.series[0]!.labels).toEqual({ __name__: 'up', job: 'a' });
    expect(back.series[0]!.chunks.map((c) => ({ ...c, data: [...c.data] }))).toEqual([
      { ...chunk, type: CHUNK_XOR, data: [...chunk.data] },
    ]);
  });

  it('refuse undecodable bytes', () => {
    expect(() => decodeChunkedReadResponse(new Uint8Array([0x0a, 0x7f]))).toThrow(
      /protobuf: frame is not a valid prometheus.ChunkedReadResponse/,
    );
  });
});

describe('chunkedFrames', () => {
  it('sends one series per frame in chunks of 120 samples, leaving out empty series', () => {
    const frames = [
      ...chunkedFrames(2, [series({ a: '1' }, 250), series({ a: 'empty' }, 0), series({ a: '2' }, 5)]),
    ];
    expect(frames).toHaveLength(2);
    const decoded = frames.map((f) => {
      const r = new FrameReader(1 << 20);
      const [m] = r.push(f);
      return decodeChunkedReadResponse(m!);
    });
    expect(decoded.map((d) => d.queryIndex)).toEqual([2, 2]);
    expect(decoded[0]!.series[0]!.chunks.map((c) => [c.minTime, c.maxTime])).toEqual([
      [0, 119_000],
      [120_000, 239_000],
      [240_000, 249_000],
    ]);
  });

  it('cuts a series into frames no larger than maxBytesInFrame, with the same labels', () => {
    const s = series({ __name__: 'big', instance: 'x'.repeat(100) }, 20_000);
    for (const max of [400, 4096, 16 * 1024]) {
      const frames = [...chunkedFrames(0, [s], max)];
      expect(frames.length).toBeGreaterThan(1);
      const decoder = new ChunkedResponseDecoder([{ start: 0, end: Infinity }], { maxFrameBytes: max });
      for (const f of frames) {
        const [m] = new FrameReader(max).push(f);
        expect(m!.length).toBeLessThanOrEqual(max);
        expect(decodeChunkedReadResponse(m!).series[0]!.labels).toEqual(s.labels);
        decoder.push(f);
      }
      const [[got]] = decoder.finish() as [[ReadSeries]];
      expect([...got.t]).toEqual([...s.t]);
      expect(bitsOf(got.v)).toBe(bitsOf(s.v));
    }
  });

  it('still sends a chunk bigger than the frame limit, alone', () => {
    const frames = [...chunkedFrames(0, [series({ a: 'b' }, 240)], 10)];
    expect(frames).toHaveLength(2);
  });
});

describe('ChunkedResponseDecoder', () => {
  const body = (parts: Buffer[]) => Buffer.concat(parts);

  it('rebuilds each query, keeps stale markers, and drops samples outside the query range', () => {
    const stale: ReadSeries = {
      labels: { __name__: 'gone' },
      t: new Float64Array([1000, 2000]),
      v: new Float64Array(2),
    };
    // Element by element: an array literal may not keep the stale marker's NaN payload.
    stale.v[0] = 1;
    stale.v[1] = STALE_NAN;
    const b = body([
      ...chunkedFrames(0, [series({ q: '0' }, 300)], 200),
      ...chunkedFrames(1, [stale, series({ q: '1' }, 10, 5000)]),
    ]);
    const decoder = new ChunkedResponseDecoder(
      [
        { start: 10_500, end: 250_000 },
        { start: 0, end: 7000 },
      ],
      { maxFrameBytes: 1 << 20 },
    );
    // In uneven pieces, as a network delivers them.
    for (let p = 0; p < b.length; p += 77) decoder.push(b.subarray(p, p + 77));
    const [q0, q1] = decoder.finish();
    expect(q0!.map((s) => [s.labels, s.t[0], s.t.at(-1), s.t.length])).toEqual([
      [{ q: '0' }, 11_000, 250_000, 240],
    ]);
    expect(q1!.map((s) => s.labels)).toEqual([{ __name__: 'gone' }, { q: '1' }]);
    expect(isStaleNaN(q1![0]!.v[1]!)).toBe(true);
    expect([...q1![1]!.t]).toEqual([5000, 6000, 7000]);
  });

  it('refuses a query index the request did not have', () => {
    const d = new ChunkedResponseDecoder([{ start: 0, end: 1 }], { maxFrameBytes: 1 << 20 });
    expect(() => d.push(body([...chunkedFrames(1, [series({ a: 'b' }, 1)])]))).toThrow(
      /frame 0: query_index 1, but the request had 1 queries/,
    );
  });

  it('refuses chunks that are not XOR (native histograms)', () => {
    const msg = ChunkedReadResponse.encode(
      ChunkedReadResponse.fromObject({
        chunkedSeries: [
          {
            labels: [{ name: 'a', value: 'b' }],
            chunks: [{ minTimeMs: 0, maxTimeMs: 1, type: 2, data: [0, 0] }],
          },
        ],
      }),
    ).finish();
    const d = new ChunkedResponseDecoder([{ start: 0, end: 1 }], { maxFrameBytes: 1 << 20 });
    expect(() => d.push(encodeFrame(msg))).toThrow(
      /frame 0, series \{a="b"\}, chunk 0: encoding 2 \(a native histogram\); Vigil reads float \(XOR\) chunks only/,
    );
  });

  it('refuses a corrupt chunk inside a valid frame', () => {
    const data = encodeXorChunk([1, 2, 3], [1, 2, 3]);
    const msg = encodeChunkedReadResponse(0, { a: 'b' }, [
      { minTime: 1, maxTime: 3, data: data.subarray(0, 5) },
    ]);
    const d = new ChunkedResponseDecoder([{ start: 0, end: 10 }], { maxFrameBytes: 1 << 20 });
    expect(() => d.push(encodeFrame(msg))).toThrow(
      /frame 0, series \{a="b"\}, chunk 0: truncated: the chunk ends in the middle/,
    );
  });

  it('refuses a body over the size limit and a truncated body', () => {
    const frames = body([...chunkedFrames(0, [series({ a: 'b' }, 500)])]);
    const small = new ChunkedResponseDecoder([{ start: 0, end: 1e9 }], {
      maxFrameBytes: 1 << 20,
      maxBytes: 100,
    });
    expect(() => small.push(frames)).toThrow(/response: more than the limit of 100 bytes/);
    const cut = new ChunkedResponseDecoder([{ start: 0, end: 1e9 }], { maxFrameBytes: 1 << 20 });
    cut.push(frames.subarray(0, frames.length - 3));
    expect(() => cut.finish()).toThrow(/truncated stream/);
  });

  it('decodes what decodeXorChunk sees, chunk by chunk', () => {
    const s = series({ a: 'b' }, 130);
    const [frame] = [...chunkedFrames(0, [s])];
    const [m] = new FrameReader(1 << 20).push(frame!);
    let n = 0;
    for (const c of decodeChunkedReadResponse(m!).series[0]!.chunks) n += decodeXorChunk(c.data, () => {});
    expect(n).toBe(130);
  });
});
