/**
 * Wire-level pieces shared by Prometheus's remote protocols: remote-write (decoded here, encoded by
 * `vigil import --url`) and remote-read (src/import/remoteread). Both carry the same `prometheus.TimeSeries`,
 * `Label` and `Sample` messages (Prometheus's types.proto), so their field tags, readers and writers are
 * one set. Readers work on protobufjs' Reader field by field, without a message object per label or sample.
 * No I/O.
 */
import type protobuf from 'protobufjs';
import { Label, Sample, TimeSeries } from './proto.ts';

/** Protobuf wire types. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;

/** The key of a field: its number and wire type. */
export const tag = (id: number, wireType: number) => (id << 3) | wireType;

export const TS_LABELS = tag(TimeSeries.fields.labels!.id, LEN);
export const TS_SAMPLES = tag(TimeSeries.fields.samples!.id, LEN);
const LABEL_NAME = tag(Label.fields.name!.id, LEN);
const LABEL_VALUE = tag(Label.fields.value!.id, LEN);
const SAMPLE_VALUE = tag(Sample.fields.value!.id, I64);
const SAMPLE_TIMESTAMP = tag(Sample.fields.timestamp!.id, VARINT);

/**
 * Sample timestamps (ms) and values in growing Float64Arrays: typed arrays keep the exact bits of every
 * float, including the NaN payload of Prometheus's stale marker, which plain arrays in V8 do not.
 */
export class SampleBuffer {
  t: Float64Array;
  v: Float64Array;
  n = 0;

  constructor(capacity: number) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }

  push(t: number, v: number): void {
    if (this.n === this.t.length) {
      const t2 = new Float64Array(this.n * 2);
      const v2 = new Float64Array(this.n * 2);
      t2.set(this.t);
      v2.set(this.v);
      this.t = t2;
      this.v = v2;
    }
    this.t[this.n] = t;
    this.v[this.n] = v;
    this.n++;
  }
}

/** Reads a length prefix and returns where the embedded message ends, checked against the buffer. */
export function messageEnd(r: protobuf.Reader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len)
    throw new RangeError(`embedded message at offset ${r.pos} claims ${len} bytes, past the end of the body`);
  return end;
}

/** Throws when the fields of an embedded message did not end exactly where its length said. */
export function checkEnd(r: protobuf.Reader, end: number): void {
  if (r.pos !== end) throw new RangeError(`embedded message fields overrun its length at offset ${end}`);
}

/** Skips the value of a field the reader does not know (`tg` is the field's key, already read). */
export function skip(r: protobuf.Reader, tg: number): void {
  if (tg >>> 3 === 0) throw new RangeError(`invalid field number 0 at offset ${r.pos}`);
  r.skipType(tg & 7);
}

/** Reads a `prometheus.Label` message ending at `end` (see messageEnd) as [name, value]. */
export function readLabel(r: protobuf.Reader, end: number): [string, string] {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const tg = r.uint32();
    if (tg === LABEL_NAME) name = r.string();
    else if (tg === LABEL_VALUE) value = r.string();
    else skip(r, tg);
  }
  checkEnd(r, end);
  return [name, value];
}

/** Reads a `prometheus.Sample` message ending at `end` (see messageEnd) into `samples`. */
export function readSample(r: protobuf.Reader, end: number, samples: SampleBuffer): void {
  let value = 0;
  let ts = 0;
  while (r.pos < end) {
    const tg = r.uint32();
    if (tg === SAMPLE_VALUE) value = r.double();
    else if (tg === SAMPLE_TIMESTAMP) ts = readInt64(r);
    else skip(r, tg);
  }
  checkEnd(r, end);
  samples.push(ts, value);
}

/** int64 varint → number, without allocating a Long (exact below 2^53, two's complement for negatives). */
export function readInt64(r: protobuf.Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= r.len) throw new RangeError(`truncated varint at offset ${pos}`);
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.pos = pos;
      return lo >>> 0;
    }
  }
  if (pos >= r.len) throw new RangeError(`truncated varint at offset ${pos}`);
  b = buf[pos++]!;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) {
    r.pos = pos;
    return hi * 4294967296 + (lo >>> 0);
  }
  for (let shift = 3; shift < 32; shift += 7) {
    if (pos >= r.len) throw new RangeError(`truncated varint at offset ${pos}`);
    b = buf[pos++]!;
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.pos = pos;
      return (hi | 0) * 4294967296 + (lo >>> 0);
    }
  }
  throw new RangeError(`varint longer than 10 bytes at offset ${pos}`);
}

/** Writes the labels of a TimeSeries, sorted by name as the protocols expect; empty values are left out. */
export function writeLabels(w: protobuf.Writer, labels: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name]!;
    if (value === '') continue;
    w.uint32(TS_LABELS).fork().uint32(LABEL_NAME).string(name).uint32(LABEL_VALUE).string(value).ldelim();
  }
}

/** Bytes of an int64 as a protobuf varint (negative numbers take ten). */
function int64VarintLength(t: number): number {
  if (t < 0) return 10;
  let n = 1;
  while (t >= 128) {
    t = Math.floor(t / 128);
    n++;
  }
  return n;
}

/** Writes one Sample of a TimeSeries: time `t` (ms) and value `v`. */
export function writeSample(w: protobuf.Writer, t: number, v: number): void {
  // A fixed64 value (tag + 8 bytes) and a varint timestamp: the length is known without a fork.
  w.uint32(TS_SAMPLES)
    .uint32(1 + 8 + 1 + int64VarintLength(t))
    .uint32(SAMPLE_VALUE)
    .double(v)
    .uint32(SAMPLE_TIMESTAMP)
    .int64(t);
}

/** The uncompressed length a snappy block declares in its leading varint (at most 32 bits). */
export function snappyDeclaredLength(b: Uint8Array): number | undefined {
  let n = 0;
  for (let i = 0; i < 5 && i < b.length; i++) {
    const byte = b[i]!;
    n += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return n;
  }
  return undefined;
}
