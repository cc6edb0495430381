/**
 * A streaming decoder for `prometheus.WriteRequest`, the hot path of remote-write. It reads the wire format
 * with protobufjs' Reader directly instead of building one message object per label and sample: labels go
 * straight into name/value pairs, and samples into two request-wide Float64Arrays (typed arrays also keep the
 * stale-marker NaN payload, which plain arrays in V8 do not). Field numbers come from the loaded remote.proto.
 */
import protobuf from 'protobufjs';
import { Exemplar, MetricMetadata, TimeSeries, WriteRequest } from './proto.ts';
import {
  I64,
  LEN,
  VARINT,
  SampleBuffer,
  TS_LABELS,
  TS_SAMPLES,
  checkEnd,
  messageEnd,
  readInt64,
  readLabel,
  readSample,
  skip,
  tag,
} from './wire.ts';

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
  /** The series' exemplars in arrival order; undefined when it had none (the common case costs nothing). */
  readonly exemplars: RawExemplar[] | undefined;
}

/** One `prometheus.Exemplar` as sent: labels unvalidated, timestamp in ms. */
export interface RawExemplar {
  readonly pairs: [string, string][];
  readonly value: number;
  readonly t: number;
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

const WR_TIMESERIES = tag(WriteRequest.fields.timeseries!.id, LEN);
const WR_METADATA = tag(WriteRequest.fields.metadata!.id, LEN);
const TS_HISTOGRAMS = tag(TimeSeries.fields.histograms!.id, LEN);
const TS_EXEMPLARS = tag(TimeSeries.fields.exemplars!.id, LEN);
const EX_LABELS = tag(Exemplar.fields.labels!.id, LEN);
const EX_VALUE = tag(Exemplar.fields.value!.id, I64);
const EX_TIMESTAMP = tag(Exemplar.fields.timestamp!.id, VARINT);

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
  const samples = new SampleBuffer(1024);
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
  let exemplars: RawExemplar[] | undefined;
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
      pairs.push(readLabel(r, messageEnd(r)));
    } else if (tg === TS_SAMPLES) {
      readSample(r, messageEnd(r), samples);
    } else if (tg === TS_HISTOGRAMS) {
      histograms++;
      r.skipType(LEN);
    } else if (tg === TS_EXEMPLARS) {
      (exemplars ??= []).push(readExemplar(r, messageEnd(r)));
    } else skip(r, tg);
  }
  checkEnd(r, end);
  return { pairs, cached, rawKey, start, end: samples.n, histograms, exemplars };
}

/** Reads a `prometheus.Exemplar` message ending at `end`. */
function readExemplar(r: protobuf.Reader, end: number): RawExemplar {
  const pairs: [string, string][] = [];
  let value = 0;
  let t = 0;
  while (r.pos < end) {
    const tg = r.uint32();
    if (tg === EX_LABELS) pairs.push(readLabel(r, messageEnd(r)));
    else if (tg === EX_VALUE) value = r.double();
    else if (tg === EX_TIMESTAMP) t = readInt64(r);
    else skip(r, tg);
  }
  checkEnd(r, end);
  return { pairs, value, t };
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
