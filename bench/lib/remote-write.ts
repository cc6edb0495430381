/**
 * A direct encoder for Prometheus remote-write 1.0 WriteRequests. A series' labels never change, so
 * their protobuf bytes are built once and copied into every request; only samples are encoded per
 * request. This keeps pre-encoding millions of samples to seconds. Checked against Vigil's protobufjs
 * definition at start-up (see `checkAgainstProtobufjs` in the benchmark).
 */
import type { LabelPairs } from './dataset.ts';

// Wire tags: (field << 3) | wire type. Wire type 2 = length-delimited, 1 = 64-bit, 0 = varint.
const TAG_TIMESERIES = 0x0a; // WriteRequest.timeseries = 1
const TAG_LABELS = 0x0a; // TimeSeries.labels = 1
const TAG_SAMPLES = 0x12; // TimeSeries.samples = 2
const TAG_LABEL_NAME = 0x0a; // Label.name = 1
const TAG_LABEL_VALUE = 0x12; // Label.value = 2
const TAG_SAMPLE_VALUE = 0x09; // Sample.value = 1 (double)
const TAG_SAMPLE_TIMESTAMP = 0x10; // Sample.timestamp = 2 (int64)

/** Bytes a non-negative integer (up to 2^53) takes as a varint. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** The `labels` fields of a TimeSeries message, ready to be copied into requests. */
export function encodeLabels(labels: LabelPairs): Buffer {
  const parts = labels.map(
    ([name, value]) => [Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')] as const,
  );
  let size = 0;
  const inner = parts.map(
    ([n, v]) => 1 + varintLength(n.length) + n.length + 1 + varintLength(v.length) + v.length,
  );
  for (const len of inner) size += 1 + varintLength(len) + len;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  parts.forEach(([n, v], i) => {
    buf[pos++] = TAG_LABELS;
    pos = writeVarint(buf, pos, inner[i]!);
    buf[pos++] = TAG_LABEL_NAME;
    pos = writeVarint(buf, pos, n.length);
    pos += n.copy(buf, pos);
    buf[pos++] = TAG_LABEL_VALUE;
    pos = writeVarint(buf, pos, v.length);
    pos += v.copy(buf, pos);
  });
  return buf;
}

/**
 * Encodes one WriteRequest holding series [from, to) with one sample per timestamp each.
 * `values[k][s]` is the value of series s at `timestamps[k]`; timestamps must be ascending.
 */
export function encodeWriteRequest(
  labelBlocks: readonly Buffer[],
  from: number,
  to: number,
  timestamps: readonly number[],
  values: readonly Float64Array[],
): Buffer {
  const sampleLens = timestamps.map((t) => 1 + 8 + 1 + varintLength(t));
  let samplesSize = 0;
  for (const len of sampleLens) samplesSize += 1 + varintLength(len) + len;
  let size = 0;
  for (let s = from; s < to; s++) {
    const inner = labelBlocks[s]!.length + samplesSize;
    size += 1 + varintLength(inner) + inner;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let s = from; s < to; s++) {
    const labels = labelBlocks[s]!;
    buf[pos++] = TAG_TIMESERIES;
    pos = writeVarint(buf, pos, labels.length + samplesSize);
    pos += labels.copy(buf, pos);
    for (let k = 0; k < timestamps.length; k++) {
      buf[pos++] = TAG_SAMPLES;
      pos = writeVarint(buf, pos, sampleLens[k]!);
      buf[pos++] = TAG_SAMPLE_VALUE;
      pos = buf.writeDoubleLE(values[k]![s]!, pos);
      buf[pos++] = TAG_SAMPLE_TIMESTAMP;
      pos = writeVarint(buf, pos, timestamps[k]!);
    }
  }
  if (pos !== size) throw new Error(`remote-write encoder: wrote ${pos} bytes, expected ${size}`);
  return buf;
}
