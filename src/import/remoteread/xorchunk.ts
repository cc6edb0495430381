/**
 * Prometheus's XOR chunk (tsdb/chunkenc, encoding 1), the float-sample chunk that STREAMED_XOR_CHUNKS
 * remote-read responses carry. Pure: bytes in, samples out, and the reverse. No I/O.
 *
 * Layout (a bit stream, most significant bit first):
 *   - 2 bytes, big-endian: the number of samples.
 *   - sample 0: the timestamp as a signed (zig-zag) varint, the value as its 64 raw bits.
 *   - sample 1: the timestamp delta as an unsigned varint, the value XOR-encoded (below).
 *   - sample n >= 2: the delta of the timestamp delta ("dod"): `0` for 0; `10` + 14 bits, `110` + 17 bits,
 *     `1110` + 20 bits when it fits that many bits (two's complement; range -(2^(n-1)-1) .. 2^(n-1));
 *     else `1111` + 64 bits. Then the value, XOR-encoded.
 *   - value XOR-encoding, against the previous value's bits: `0` when equal; `10` + the meaningful bits when
 *     they fit the previous leading/trailing-zero window; else `11` + leading zeros (5 bits, at most 31) +
 *     meaningful bit count (6 bits, 64 written as 0) + the meaningful bits.
 * The varints are written into the bit stream as bytes at whatever bit offset it is at (sample 0 and 1 are
 * byte-aligned in practice). Values are handled as two 32-bit halves, so every float, including the NaN
 * payload of Prometheus's stale marker, keeps its exact bits.
 */

/** Prometheus cuts a chunk after this many samples. */
export const MAX_SAMPLES_PER_CHUNK = 120;

/** A chunk's bytes are not a valid XOR chunk (truncated, impossible values). */
export class XorChunkError extends Error {
  override name = 'XorChunkError';
}

const TWO32 = 4294967296;

// A scratch float whose two 32-bit halves are read and written (little-endian machines: [lo, hi]).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;

class BitWriter {
  buf: Uint8Array;
  /** Index of the byte being filled. */
  pos = 0;
  /** Bits already used in buf[pos] (0..7). */
  bit = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(extraBytes: number): void {
    if (this.pos + extraBytes < this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + extraBytes + 16));
    next.set(this.buf);
    this.buf = next;
  }

  /**
   * Prometheus's bstream leaves an empty byte at the end after a whole-byte write that started on a byte
   * boundary (its writeByte always appends the next byte). Decoders ignore it; it is kept so that chunks are
   * byte-identical to Prometheus's.
   */
  private emptyTail = false;

  /** Writes the low `n` bits of `value` (n <= 32), most significant first. */
  bits(value: number, n: number): void {
    this.emptyTail = n % 8 === 0 && this.bit === 0;
    this.raw(value, n);
  }

  /** Writes the low `n` bits (n <= 64) of the 64-bit number hi:lo. */
  bits64(hi: number, lo: number, n: number): void {
    const tail = n % 8 === 0 && this.bit === 0;
    if (n > 32) {
      this.raw(hi, n - 32);
      this.raw(lo, 32);
    } else this.raw(lo, n);
    this.emptyTail = tail;
  }

  private raw(value: number, n: number): void {
    this.ensure(5);
    while (n > 0) {
      const free = 8 - this.bit;
      const take = free < n ? free : n;
      const part = (value >>> (n - take)) & ((1 << take) - 1);
      this.buf[this.pos]! |= part << (free - take);
      n -= take;
      this.bit += take;
      if (this.bit === 8) {
        this.bit = 0;
        this.pos++;
      }
    }
  }

  byte(b: number): void {
    this.bits(b, 8);
  }

  /** Bytes written so far (a partly filled last byte counts, and so does an empty tail). */
  length(): number {
    return this.pos + (this.bit > 0 || this.emptyTail ? 1 : 0);
  }
}

class BitReader {
  /** Index of the byte being read, and bits of it already read. */
  pos: number;
  bit = 0;

  constructor(
    private readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  private truncated(): never {
    throw new XorChunkError(`truncated: the chunk ends in the middle of a sample (byte ${this.pos})`);
  }

  readBit(): number {
    if (this.pos >= this.buf.length) this.truncated();
    const b = (this.buf[this.pos]! >>> (7 - this.bit)) & 1;
    if (++this.bit === 8) {
      this.bit = 0;
      this.pos++;
    }
    return b;
  }

  /** Reads `n` bits (n <= 32) as an unsigned number. */
  bits(n: number): number {
    let out = 0;
    while (n > 0) {
      if (this.pos >= this.buf.length) this.truncated();
      const avail = 8 - this.bit;
      const take = avail < n ? avail : n;
      const part = (this.buf[this.pos]! >>> (avail - take)) & ((1 << take) - 1);
      out = ((out << take) | part) >>> 0;
      n -= take;
      this.bit += take;
      if (this.bit === 8) {
        this.bit = 0;
        this.pos++;
      }
    }
    return out;
  }

  byte(): number {
    return this.bits(8);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Varints inside the bit stream (Go's binary.PutUvarint / PutVarint), exact up to 2^53.

function writeUvarint(w: BitWriter, x: number | bigint): void {
  if (typeof x === 'bigint') {
    while (x >= 0x80n) {
      w.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    w.byte(Number(x));
    return;
  }
  while (x >= 0x80) {
    w.byte((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  w.byte(x);
}

/** Reads a uvarint as a bigint when it does not fit 49 bits (rare: only impossible timestamps do). */
function readUvarint(r: BitReader): number | bigint {
  let x = 0;
  for (let i = 0; i < 7; i++) {
    const b = r.byte();
    x += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return x;
  }
  let big = BigInt(x);
  for (let i = 7; i < 10; i++) {
    const b = r.byte();
    big |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return big;
  }
  throw new XorChunkError('varint longer than 10 bytes');
}

function safe(x: number | bigint, what: string): number {
  if (typeof x === 'number') return x;
  if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER))
    throw new XorChunkError(`${what} ${x} is beyond ±2^53 ms, which Vigil cannot represent exactly`);
  return Number(x);
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/** `x` fits `n` bits the way Prometheus's bitRange defines it: -(2^(n-1)-1) .. 2^(n-1). */
const fits = (x: number, n: number) => x >= -(2 ** (n - 1) - 1) && x <= 2 ** (n - 1);

/**
 * Encodes samples `from` (inclusive) to `to` (exclusive) of `t`/`v` as one XOR chunk. Timestamps must be
 * integer milliseconds within ±2^53, not decreasing, and the chunk holds at most 65535 samples (Prometheus
 * cuts at MAX_SAMPLES_PER_CHUNK; see cutXorChunks). Throws XorChunkError otherwise.
 */
export function encodeXorChunk(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  from = 0,
  to = t.length,
): Uint8Array {
  const n = to - from;
  if (n < 0 || n > 0xffff) throw new XorChunkError(`a chunk holds 0 to 65535 samples, not ${n}`);
  // Worst case per sample: 4 + 64 bits of time, 2 + 5 + 6 + 64 bits of value (about 19 bytes).
  const w = new BitWriter(2 + 20 + n * 19);
  // The sample count sits before the bit stream (Prometheus sets it directly, not through the stream).
  w.buf[0] = n >>> 8;
  w.buf[1] = n & 0xff;
  w.pos = 2;
  let prevT = 0;
  let prevDelta = 0;
  let prevHi = 0;
  let prevLo = 0;
  let leading = 0xff; // no window yet
  let trailing = 0;
  for (let i = from; i < to; i++) {
    const ts = t[i]!;
    if (!Number.isSafeInteger(ts))
      throw new XorChunkError(
        `sample ${i - from}: timestamp ${ts} is not an integer number of ms within ±2^53`,
      );
    f64[0] = v[i]!;
    const hi = u32[HI]!;
    const lo = u32[LO]!;
    const k = i - from;
    if (k === 0) {
      // Zig-zag; beyond 2^52 the doubled value needs a bigint to stay exact.
      const big = ts >= 2 ** 52 || ts <= -(2 ** 52);
      writeUvarint(
        w,
        big ? (ts >= 0 ? BigInt(ts) * 2n : -BigInt(ts) * 2n - 1n) : ts >= 0 ? ts * 2 : -ts * 2 - 1,
      );
      w.bits64(hi, lo, 64);
    } else {
      const delta = ts - prevT;
      if (delta < 0)
        throw new XorChunkError(
          `sample ${k}: timestamp ${ts} is before the previous one (${prevT}); chunks hold samples in time order`,
        );
      if (k === 1) writeUvarint(w, delta);
      else {
        const dod = delta - prevDelta;
        if (dod === 0) w.bits(0, 1);
        else if (fits(dod, 14)) {
          w.bits(0b10, 2);
          w.bits(dod & 0x3fff, 14);
        } else if (fits(dod, 17)) {
          w.bits(0b110, 3);
          w.bits(dod & 0x1ffff, 17);
        } else if (fits(dod, 20)) {
          w.bits(0b1110, 4);
          w.bits(dod & 0xfffff, 20);
        } else {
          w.bits(0b1111, 4);
          // Two's complement halves of a safe integer: ToUint32 is exact modulo 2^32.
          w.bits64(Math.floor(dod / TWO32) >>> 0, dod >>> 0, 64);
        }
      }
      prevDelta = delta;
      // The value against the previous one.
      const dh = (hi ^ prevHi) >>> 0;
      const dl = (lo ^ prevLo) >>> 0;
      if (dh === 0 && dl === 0) w.bits(0, 1);
      else {
        let lead = dh !== 0 ? Math.clz32(dh) : 32 + Math.clz32(dl);
        const trail = dl !== 0 ? 31 - Math.clz32(dl & -dl) : 32 + 31 - Math.clz32(dh & -dh);
        if (lead >= 32) lead = 31; // 5 bits
        if (leading !== 0xff && lead >= leading && trail >= trailing) {
          w.bits(0b10, 2);
          writeShifted(w, dh, dl, trailing, 64 - leading - trailing);
        } else {
          leading = lead;
          trailing = trail;
          const sig = 64 - lead - trail;
          w.bits(0b11, 2);
          w.bits(lead, 5);
          w.bits(sig & 0x3f, 6); // 64 is written as 0
          writeShifted(w, dh, dl, trail, sig);
        }
      }
    }
    prevT = ts;
    prevHi = hi;
    prevLo = lo;
  }
  return w.buf.slice(0, w.length());
}

/** Writes the low `n` bits of (hi:lo >>> shift). */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  if (shift >= 32) {
    lo = hi >>> (shift - 32);
    hi = 0;
  } else if (shift > 0) {
    lo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    hi = hi >>> shift;
  }
  w.bits64(hi, lo, n);
}

/** One chunk of a series as remote read carries it: its first and last sample time (ms) and its bytes. */
export interface XorChunk {
  readonly minTime: number;
  readonly maxTime: number;
  readonly data: Uint8Array;
}

/** Cuts a series (ascending `t`) into XOR chunks of at most `maxSamples` samples, as Prometheus does. */
export function* cutXorChunks(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  maxSamples = MAX_SAMPLES_PER_CHUNK,
): Generator<XorChunk> {
  for (let from = 0; from < t.length; from += maxSamples) {
    const to = Math.min(t.length, from + maxSamples);
    yield { minTime: t[from]!, maxTime: t[to - 1]!, data: encodeXorChunk(t, v, from, to) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes an XOR chunk, calling `emit` for every sample in order (values with their exact bits). Returns the
 * number of samples. Throws XorChunkError for a truncated or impossible chunk.
 */
export function decodeXorChunk(data: Uint8Array, emit: (t: number, v: number) => void): number {
  if (data.length < 2)
    throw new XorChunkError(`a chunk is at least 2 bytes (its sample count), not ${data.length}`);
  const n = (data[0]! << 8) | data[1]!;
  const r = new BitReader(data, 2);
  let ts = 0;
  let delta = 0;
  let hi = 0;
  let lo = 0;
  let leading = 0;
  let trailing = 0;
  for (let k = 0; k < n; k++) {
    if (k === 0) {
      const zz = readUvarint(r);
      ts =
        typeof zz === 'number'
          ? zz % 2 === 0
            ? zz / 2
            : -(zz + 1) / 2
          : safe((zz & 1n) === 0n ? zz >> 1n : -((zz + 1n) >> 1n), 'timestamp');
      hi = r.bits(32);
      lo = r.bits(32);
    } else {
      if (k === 1) {
        const d = readUvarint(r);
        // Go keeps the delta as uint64; a "negative" delta wraps.
        delta = safe(typeof d === 'bigint' && d >= 1n << 63n ? d - (1n << 64n) : d, 'timestamp delta');
      } else {
        let ones = 0;
        while (ones < 4 && r.readBit() === 1) ones++;
        let dod = 0;
        if (ones === 4) {
          const h = r.bits(32) | 0; // signed high half
          const l = r.bits(32);
          dod = h * TWO32 + l;
          if (!Number.isSafeInteger(dod))
            throw new XorChunkError(`sample ${k}: timestamp change beyond ±2^53 ms`);
        } else if (ones > 0) {
          const width = ones === 1 ? 14 : ones === 2 ? 17 : 20;
          dod = r.bits(width);
          if (dod > 2 ** (width - 1)) dod -= 2 ** width;
        }
        delta += dod;
      }
      ts += delta;
      if (!Number.isSafeInteger(ts)) throw new XorChunkError(`sample ${k}: timestamp beyond ±2^53 ms`);
      if (r.readBit() === 1) {
        if (r.readBit() === 1) {
          leading = r.bits(5);
          let sig = r.bits(6);
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
          if (trailing < 0)
            throw new XorChunkError(
              `sample ${k}: ${leading} leading zeros and ${sig} meaningful bits exceed 64`,
            );
        }
        const sig = 64 - leading - trailing;
        let bh = 0;
        let bl = 0;
        if (sig > 32) {
          bh = r.bits(sig - 32);
          bl = r.bits(32);
        } else bl = r.bits(sig);
        // XOR (bh:bl << trailing) into the value.
        if (trailing >= 32) {
          hi = (hi ^ (bl << (trailing - 32))) >>> 0;
        } else if (trailing > 0) {
          hi = (hi ^ ((bh << trailing) | (bl >>> (32 - trailing)))) >>> 0;
          lo = (lo ^ (bl << trailing)) >>> 0;
        } else {
          hi = (hi ^ bh) >>> 0;
          lo = (lo ^ bl) >>> 0;
        }
      }
    }
    u32[HI] = hi;
    u32[LO] = lo;
    emit(ts, f64[0]!);
  }
  return n;
}
