/**
 * A streaming decoder for `prometheus.WriteRequest`, the hot path of remote-write. It reads the wire format
 * with protobufjs' Reader directly instead of building one message object per label and sample: labels go
 * straight into name/value pairs, and samples into two request-wide Float64Arrays (typed arrays also keep the
 * stale-marker NaN payload, which plain arrays in V8 do not). Field numbers come from the loaded remote.proto.
 */
import protobuf from 'protobufjs';
import { Label, MetricMetadata, Sample, TimeSeries, WriteRequest } from './proto.ts';

/**
 * One decoded series: labels as sent (or, when the same label bytes were seen and validated before, the
 * cached label set), and its samples at `[start, end)` of the request's sample arrays.
 */
export interface RawSeries {
  readonly pairs: [string, string][];
  /** The label set cached under `rawKey`, when there was one; `pairs` is then empty. */
  readonly cached: Readonly<Record<string, string>> | undefined;
  /** The label fields' raw bytes as a latin1 string, a cache key; '' when the labels were not contiguous. */
  readonly rawKey: string;
  readonly start: number;
  readonly end: number;
  /** Native histogram samples present (not part of remote-write 1.0). */
  readonly histograms: number;
}

export interface RawMetadata {
  readonly type: number;
  readonly metricFamilyName: string;
  readonly help: string;
  readonly unit: string;
}

export interface RawWriteRequest {
  readonly series: RawSeries[];
  /** Sample timestamps (ms) and values of all series, indexed by RawSeries.start/end. */
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly metadata: RawMetadata[];
}

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const tag = (id: number, wireType: number) => (id << 3) | wireType;

const WR_TIMESERIES = tag(WriteRequest.fields.timeseries!.id, LEN);
const WR_METADATA = tag(WriteRequest.fields.metadata!.id, LEN);
const TS_LABELS = tag(TimeSeries.fields.labels!.id, LEN);
const TS_SAMPLES = tag(TimeSeries.fields.samples!.id, LEN);
const TS_HISTOGRAMS = tag(TimeSeries.fields.histograms!.id, LEN);
const LABEL_NAME = tag(Label.fields.name!.id, LEN);
const LABEL_VALUE = tag(Label.fields.value!.id, LEN);
const SAMPLE_VALUE = tag(Sample.fields.value!.id, I64);
const SAMPLE_TIMESTAMP = tag(Sample.fields.timestamp!.id, VARINT);

class SampleBuffer {
  t = new Float64Array(1024);
  v = new Float64Array(1024);
  n = 0;

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

/** Validated label sets by the raw bytes of their label fields; see `SeriesCache` in parse.ts. */
export type LabelCache = ReadonlyMap<string, Readonly<Record<string, string>>>;

/**
 * Decodes a WriteRequest. Throws (RangeError/Error from the reader) on malformed input. With a cache, a
 * series whose label bytes are in it skips decoding its label strings: senders repeat the same series in
 * every request, and building those strings was the largest cost of a request.
 */
export function decodeWriteRequest(buf: Uint8Array, cache?: LabelCache): RawWriteRequest {
  const r = protobuf.Reader.create(buf);
  const series: RawSeries[] = [];
  const metadata: RawMetadata[] = [];
  const samples = new SampleBuffer();
  while (r.pos < r.len) {
    const tg = r.uint32();
    if (tg === WR_TIMESERIES) series.push(decodeSeries(r, messageEnd(r), samples, cache));
    else if (tg === WR_METADATA) {
      const end = messageEnd(r);
      metadata.push(MetricMetadata.decode(r, end - r.pos) as unknown as RawMetadata);
    } else skip(r, tg);
  }
  return { series, t: samples.t, v: samples.v, metadata };
}

function decodeSeries(r: protobuf.Reader, end: number, samples: SampleBuffer, cache?: LabelCache): RawSeries {
  const seriesStart = r.pos;
  const pairs: [string, string][] = [];
  const start = samples.n;
  let histograms = 0;
  let rawKey = '';
  let cached: Readonly<Record<string, string>> | undefined;
  /** End of the first run of label fields; -1 before it is seen. */
  let runEnd = -1;
  while (r.pos < end) {
    const fieldStart = r.pos;
    const tg = r.uint32();
    if (tg === TS_LABELS) {
      if (runEnd < 0 && cache) {
        // First label field: key the whole run of label fields by its bytes.
        runEnd = labelRunEnd(r.buf, fieldStart, end);
        rawKey = Buffer.from(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength).toString(
          'latin1',
          fieldStart,
          runEnd,
        );
        cached = cache.get(rawKey);
        if (cached) {
          r.pos = runEnd;
          continue;
        }
      } else if (runEnd >= 0 && fieldStart >= runEnd) {
        // Labels split by other fields: the run's bytes are not the whole label set; decode without the cache.
        r.pos = seriesStart;
        samples.n = start;
        return decodeSeries(r, end, samples);
      }
      const e = messageEnd(r);
      let name = '';
      let value = '';
      while (r.pos < e) {
        const t2 = r.uint32();
        if (t2 === LABEL_NAME) name = r.string();
        else if (t2 === LABEL_VALUE) value = r.string();
        else skip(r, t2);
      }
      checkEnd(r, e);
      pairs.push([name, value]);
    } else if (tg === TS_SAMPLES) {
      const e = messageEnd(r);
      let value = 0;
      let ts = 0;
      while (r.pos < e) {
        const t2 = r.uint32();
        if (t2 === SAMPLE_VALUE) value = r.double();
        else if (t2 === SAMPLE_TIMESTAMP) ts = readInt64(r);
        else skip(r, t2);
      }
      checkEnd(r, e);
      samples.push(ts, value);
    } else if (tg === TS_HISTOGRAMS) {
      histograms++;
      r.skipType(LEN);
    } else skip(r, tg);
  }
  checkEnd(r, end);
  return { pairs, cached, rawKey, start, end: samples.n, histograms };
}

/** End of the run of label fields starting at `pos`, without decoding them. */
function labelRunEnd(buf: Uint8Array, pos: number, end: number): number {
  const r = protobuf.Reader.create(buf);
  r.pos = pos;
  while (r.pos < end) {
    const at = r.pos;
    if (r.uint32() !== TS_LABELS) return at;
    r.pos = messageEnd(r);
  }
  return r.pos;
}

/** Reads a length prefix and returns where the embedded message ends, checked against the buffer. */
function messageEnd(r: protobuf.Reader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len)
    throw new RangeError(`embedded message at offset ${r.pos} claims ${len} bytes, past the end of the body`);
  return end;
}

function checkEnd(r: protobuf.Reader, end: number): void {
  if (r.pos !== end) throw new RangeError(`embedded message fields overrun its length at offset ${end}`);
}

function skip(r: protobuf.Reader, tg: number): void {
  if (tg >>> 3 === 0) throw new RangeError(`invalid field number 0 at offset ${r.pos}`);
  r.skipType(tg & 7);
}

/** int64 varint → number, without allocating a Long (exact below 2^53, two's complement for negatives). */
function readInt64(r: protobuf.Reader): number {
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
