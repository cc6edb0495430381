import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STALE_NAN } from '../../model/labels.ts';
import {
  MAX_SAMPLES_PER_CHUNK,
  XorChunkError,
  cutXorChunks,
  decodeXorChunk,
  encodeXorChunk,
} from './xorchunk.ts';

/** Bit patterns of floats as hex, so that NaN payloads and -0 are compared exactly. */
const bits = (v: ArrayLike<number>) => Buffer.from(new Float64Array(Array.from(v)).buffer).toString('hex');
const bitsOf = (v: Float64Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function decode(data: Uint8Array): { t: number[]; v: Float64Array } {
  const t: number[] = [];
  const v = new Float64Array(0xffff);
  const n = decodeXorChunk(data, (ts, val) => {
    v[t.length] = val;
    t.push(ts);
  });
  expect(n).toBe(t.length);
  return { t, v: v.slice(0, n) };
}

function roundTrip(t: number[], v: Float64Array): Uint8Array {
  const data = encodeXorChunk(t, v);
  const got = decode(data);
  expect(got.t).toEqual(t);
  expect(bitsOf(got.v)).toBe(bitsOf(v));
  return data;
}

/** A float from its 64 bits given as hex. */
function fromBits(h: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt('0x' + h));
  return view.getFloat64(0);
}

const GO_NAN = '7ff8000000000001'; // Go's math.NaN(), what Prometheus parses "NaN" as

describe('XOR chunk: the golden chunk Prometheus served (testdata/prometheus-xor-chunk.json)', () => {
  const golden = JSON.parse(
    readFileSync(new URL('./testdata/prometheus-xor-chunk.json', import.meta.url), 'utf8'),
  ) as { t: number[]; v: string[]; hex: string };
  const T0 = 1_764_000_000_000;
  const t = golden.t.map((x) => T0 + x);
  const v = new Float64Array(
    golden.v.map((s) =>
      s === 'NaN' ? fromBits(GO_NAN) : s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s),
    ),
  );
  // Float64Array from a plain array may not keep NaN payloads: set them through the bits.
  const view = new DataView(v.buffer);
  golden.v.forEach((s, i) => {
    if (s === 'NaN') view.setBigUint64(i * 8, BigInt('0x' + GO_NAN), true);
  });

  it('decodes to its samples, bit for bit', () => {
    const got = decode(Buffer.from(golden.hex, 'hex'));
    expect(got.t).toEqual(t);
    expect(bitsOf(got.v)).toBe(bitsOf(v));
  });

  it('is what the encoder writes for them, byte for byte', () => {
    expect(hex(encodeXorChunk(t, v))).toBe(golden.hex);
  });

  it('refuses every truncation of it with a clear error', () => {
    const full = Buffer.from(golden.hex, 'hex');
    for (let len = 0; len < full.length; len++) {
      const cut = full.subarray(0, len);
      expect(() => decodeXorChunk(cut, () => {}), `length ${len}`).toThrow(
        len < 2 ? /at least 2 bytes/ : /truncated: the chunk ends in the middle of a sample/,
      );
    }
  });
});

describe('XOR chunk: timestamps', () => {
  // The bits a three-sample chunk of equal values takes for each delta of delta, Prometheus's buckets:
  // `0`; `10`+14; `110`+17; `1110`+20 bits for -(2^(n-1)-1) .. 2^(n-1); else `1111`+64.
  it.each([
    [0, 1],
    [1, 16],
    [-1, 16],
    [8192, 16],
    [-8191, 16],
    [8193, 20],
    [-8192, 20],
    [65536, 20],
    [-65535, 20],
    [65537, 24],
    [-65536, 24],
    [524288, 24],
    [-524287, 24],
    [524289, 68],
    [-524288, 68],
    [86_400_000 * 365, 68],
    [-999_999, 68],
  ])('delta of delta %i takes %i bits', (dod, width) => {
    const d1 = 1_000_000;
    const t = [1_700_000_000_000, 1_700_000_000_000 + d1, 1_700_000_000_000 + 2 * d1 + dod];
    const data = roundTrip(t, new Float64Array([5, 5, 5]));
    // header 16, t0 varint 6 bytes, value 64, delta varint 3 bytes, `0` value bit, the dod, `0` value bit.
    const bitCount = 16 + 6 * 8 + 64 + 3 * 8 + 1 + width + 1;
    expect(data.length).toBe(Math.ceil(bitCount / 8));
  });

  it.each([
    ['zero start', [0, 1, 2, 3]],
    ['negative times (zig-zag first timestamp)', [-1_000_000, -999_000, -998_000, -1, 0, 5]],
    ['the same timestamp repeated', [1000, 1000, 1000, 2000]],
    ['a large first delta', [0, 2 ** 40, 2 ** 40 + 1, 2 ** 41]],
    ['times near 2^53', [2 ** 53 - 1000, 2 ** 53 - 500, 2 ** 53 - 1]],
    ['-2^53 and back', [-(2 ** 53) + 1, 0, 2 ** 53 - 1]],
    ['1 ms steps then hours', [10, 11, 12, 13, 3_600_013, 7_200_013, 7_200_014]],
  ])('round-trips %s', (_what, t) => {
    roundTrip(t, new Float64Array(t.length).fill(1));
  });

  it('round-trips every delta width in random series (seeded)', () => {
    let seed = 99;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const scales = [1, 100, 10_000, 100_000, 1_000_000, 1e9];
    for (let s = 0; s < 300; s++) {
      const n = 1 + Math.floor(rnd() * MAX_SAMPLES_PER_CHUNK);
      const t: number[] = [Math.floor((rnd() - 0.3) * 2e12)];
      const scale = scales[s % scales.length]!;
      for (let i = 1; i < n; i++) t.push(t[i - 1]! + Math.floor(rnd() * scale));
      const v = new Float64Array(n).map(() => (rnd() < 0.5 ? Math.floor(rnd() * 100) : (rnd() - 0.5) * 1e6));
      roundTrip(t, v);
    }
  });
});

describe('XOR chunk: values', () => {
  const t = (n: number) => Array.from({ length: n }, (_, i) => 1_000 + i * 15_000);
  it.each([
    ['equal values', [3, 3, 3, 3]],
    ['NaN, stale marker and NaN again', [1, NaN, STALE_NAN, fromBits(GO_NAN), STALE_NAN, 2]],
    ['infinities', [Infinity, -Infinity, Infinity, 0, -Infinity]],
    ['negative values', [-1, -2.5, -1e-300, -1e300, -0, 0]],
    ['denormals and extremes', [5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0]],
    // 1 and the next float differ in bit 0 only: 63 leading zeros, sent as 31 (5 bits).
    ['a change in the last bit (leading zeros clamped to 31)', [1, 1 + 2 ** -52, 1, 1 + 2 ** -52]],
    // Bits 63 and 0 change: 64 meaningful bits, written as 0 in the 6-bit field.
    ['a change in all 64 bits', [1, fromBits('bff0000000000001'), 1]],
    ['a reused window then a wider one', [1, 3, 2, 1.5, 1e10, 1.0000001, 7]],
    ['counter-like integers', [0, 10, 20, 35, 1e6, 1e6 + 1, 2 ** 53]],
  ])('round-trip bit-exact: %s', (_what, values) => {
    const v = new Float64Array(values);
    if (_what.startsWith('NaN')) {
      // Put the exact NaN patterns in through their bits.
      const view = new DataView(v.buffer);
      view.setBigUint64(2 * 8, 0x7ff0000000000002n, true);
      view.setBigUint64(3 * 8, BigInt('0x' + GO_NAN), true);
      view.setBigUint64(4 * 8, 0x7ff0000000000002n, true);
    }
    roundTrip(t(values.length), v);
  });

  it('round-trips random bit patterns, including NaN payloads (seeded)', () => {
    let seed = 5;
    const rnd32 = () => (seed = (seed * 1103515245 + 12345) % 2147483648) * 2;
    for (let s = 0; s < 200; s++) {
      const n = 1 + (s % MAX_SAMPLES_PER_CHUNK);
      const v = new Float64Array(n);
      const u = new Uint32Array(v.buffer);
      for (let i = 0; i < n; i++) {
        // Every third series repeats each value once, so equal values mix with random ones.
        const repeat = s % 3 === 0 && i % 2 === 1;
        u[2 * i] = repeat ? u[2 * i - 2]! : rnd32() >>> 0;
        u[2 * i + 1] = repeat ? u[2 * i - 1]! : rnd32() >>> 0;
      }
      roundTrip(t(n), v);
    }
  });

  it('encodes equal values in one bit each', () => {
    const a = encodeXorChunk(t(100), new Float64Array(100).fill(7));
    // header + first sample (2-byte varint, 8 bytes) + delta varint (2 bytes) + 98 dods of `0` + 99 value bits.
    expect(a.length).toBe(2 + 2 + 8 + 2 + Math.ceil((98 + 99) / 8));
  });
});

describe('XOR chunk: limits and errors', () => {
  it("writes an empty chunk as its two-byte count, and one sample with Prometheus's empty tail byte", () => {
    expect(hex(encodeXorChunk([], new Float64Array(0)))).toBe('0000');
    expect(decodeXorChunk(new Uint8Array([0, 0]), () => {})).toBe(0);
    // 0 → varint 00, then the value's 64 bits: whole bytes from a byte boundary leave an empty byte.
    expect(hex(encodeXorChunk([0], new Float64Array([0])))).toBe('0001' + '00' + '0000000000000000' + '00');
  });

  it('cuts a series into chunks of 120 samples, as Prometheus does', () => {
    const n = 1000;
    const t = Array.from({ length: n }, (_, i) => i * 1000);
    const v = new Float64Array(n).map((_, i) => Math.sin(i));
    const chunks = [...cutXorChunks(t, v)];
    expect(chunks.map((c) => decode(c.data).t.length)).toEqual([120, 120, 120, 120, 120, 120, 120, 120, 40]);
    expect(chunks.map((c) => [c.minTime, c.maxTime])[8]).toEqual([960_000, 999_000]);
    const all = chunks.flatMap((c) => [...decode(c.data).v]);
    expect(bits(all)).toBe(bitsOf(v));
    expect([...cutXorChunks([], new Float64Array(0))]).toEqual([]);
  });

  it.each([
    ['time going backwards', [2000, 1000], /sample 1: timestamp 1000 is before the previous one \(2000\)/],
    ['a fractional timestamp', [1.5], /sample 0: timestamp 1.5 is not an integer number of ms/],
    ['a timestamp beyond 2^53', [2 ** 53], /not an integer number of ms within ±2\^53/],
  ])('refuses %s', (_what, t, message) => {
    expect(() => encodeXorChunk(t, new Float64Array(t.length))).toThrow(XorChunkError);
    expect(() => encodeXorChunk(t, new Float64Array(t.length))).toThrow(message);
  });

  it('refuses more samples than the two-byte count holds', () => {
    expect(() => encodeXorChunk(new Float64Array(65536), new Float64Array(65536))).toThrow(
      /a chunk holds 0 to 65535 samples, not 65536/,
    );
  });

  it('refuses a chunk whose count promises more samples than it has', () => {
    const data = encodeXorChunk([1, 2, 3], new Float64Array([1, 2, 3]));
    data[1] = 4;
    expect(() => decodeXorChunk(data, () => {})).toThrow(/truncated/);
  });

  it('refuses a value window wider than 64 bits', () => {
    // Sample 0 at t=0 with value 0, sample 1 delta 1: then `11`, 31 leading zeros, 40 meaningful bits.
    const data = new Uint8Array(2 + 1 + 8 + 1 + 3);
    data[1] = 2;
    data[11] = 1; // delta 1
    // bits: 1 1 11111 101000 → 0b11111111 0b01000xxx
    data[12] = 0b11111111;
    data[13] = 0b01000000;
    expect(() => decodeXorChunk(data, () => {})).toThrow(
      /sample 1: 31 leading zeros and 40 meaningful bits exceed 64/,
    );
  });
});
