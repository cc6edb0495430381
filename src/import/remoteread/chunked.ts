/**
 * The STREAMED_XOR_CHUNKS response of Prometheus remote read, both directions, without I/O.
 *
 * The body (`Content-Type: application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse`, not
 * snappy-compressed) is a sequence of frames:
 *   uvarint(length of the message) | CRC32-Castagnoli of the message (4 bytes, big-endian) | message
 * where each message is a `prometheus.ChunkedReadResponse`: the index of the query it answers and series with
 * XOR chunks (xorchunk.ts). Like Prometheus, a frame carries one series, and a series too big for one frame
 * continues in the next frames with the same labels.
 *
 * The server side cuts series into frames (`chunkedFrames`); the client side takes the body in pieces as
 * they arrive (`ChunkedResponseDecoder.push`), checks every frame, and rebuilds each query's series with the
 * samples inside the query's range (Prometheus sends whole chunks, which may reach outside it).
 */
import protobuf from 'protobufjs';
import { formatLabels, labelsKey, type Labels } from '../../model/labels.ts';
import {
  LEN,
  SampleBuffer,
  TS_LABELS,
  VARINT,
  checkEnd,
  messageEnd,
  readInt64,
  readLabel,
  skip,
  tag,
  writeLabels,
} from '../../ingest/remotewrite/wire.ts';
import { RemoteReadProtocolError, type ReadSeries } from './codec.ts';
import {
  MAX_SAMPLES_PER_CHUNK,
  XorChunkError,
  cutXorChunks,
  decodeXorChunk,
  type XorChunk,
} from './xorchunk.ts';

/** The Content-Type of a STREAMED_XOR_CHUNKS response (clients tell the response types apart by it). */
export const CHUNKED_CONTENT_TYPE = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';

/** Prometheus's default --storage.remote.read-max-bytes-in-frame. */
export const DEFAULT_MAX_BYTES_IN_FRAME = 1024 * 1024;

/** Chunk.Encoding values. */
export const CHUNK_XOR = 1;

// Field keys (Prometheus's remote.proto and types.proto; see proto/remote-read.proto). A ChunkedSeries'
// labels are field 1 like a TimeSeries', so TS_LABELS and writeLabels serve both.
const CRR_SERIES = tag(1, LEN);
const CRR_QUERY_INDEX = tag(2, VARINT);
const CS_CHUNKS = tag(2, LEN);
const CHUNK_MIN_TIME = tag(1, VARINT);
const CHUNK_MAX_TIME = tag(2, VARINT);
const CHUNK_TYPE = tag(3, VARINT);
const CHUNK_DATA = tag(4, LEN);

// ---------------------------------------------------------------------------------------------------------------
// CRC32-Castagnoli (reflected polynomial 0x82F63B78), table-driven.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC32-C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Frames

/** Wraps one message in a frame: uvarint length, CRC32-C (big-endian), the message. */
export function encodeFrame(message: Uint8Array): Buffer {
  let lenBytes = 1;
  for (let x = message.length; x >= 0x80; x = Math.floor(x / 0x80)) lenBytes++;
  const out = Buffer.allocUnsafe(lenBytes + 4 + message.length);
  let p = 0;
  let x = message.length;
  while (x >= 0x80) {
    out[p++] = (x % 0x80) | 0x80;
    x = Math.floor(x / 0x80);
  }
  out[p++] = x;
  out.writeUInt32BE(crc32c(message), p);
  out.set(message, p + 4);
  return out;
}

/**
 * Splits a frame stream into messages as its bytes arrive, checking each frame's length limit and CRC.
 * Offsets in errors count from the start of the body.
 */
export class FrameReader {
  private pending: Uint8Array = new Uint8Array(0);
  /** Body offset of pending[0]. */
  private offset = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds bytes and returns the messages completed by them (views into a private buffer, valid until the next call). */
  push(bytes: Uint8Array): Uint8Array[] {
    const buf = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const out: Uint8Array[] = [];
    let p = 0;
    for (;;) {
      const header = readFrameHeader(buf, p);
      if (header === undefined) break;
      const at = this.offset + p;
      if (header.length > this.maxFrameBytes)
        throw new RemoteReadProtocolError(
          `frame at byte ${at} declares ${header.length} bytes, more than the limit of ${this.maxFrameBytes}`,
        );
      const start = p + header.headerBytes;
      const end = start + header.length;
      if (end > buf.length) break;
      const message = buf.subarray(start, end);
      const crc = crc32c(message);
      if (crc !== header.crc)
        throw new RemoteReadProtocolError(
          `frame at byte ${at}: CRC32-C of its ${header.length} bytes is ${hex(crc)}, the frame says ${hex(header.crc)} (corrupted in transit?)`,
        );
      out.push(message);
      p = end;
    }
    // Keep the incomplete rest (a copy: `bytes` may be reused by the caller).
    this.pending = buf.slice(p);
    this.offset += p;
    return out;
  }

  /** Call at the end of the body: throws when it stopped inside a frame. */
  end(): void {
    if (this.pending.length === 0) return;
    const header = readFrameHeader(this.pending, 0);
    const what =
      header === undefined
        ? `${this.pending.length} bytes of an incomplete frame header`
        : `${this.pending.length - header.headerBytes} of the ${header.length} bytes its header declares`;
    throw new RemoteReadProtocolError(
      `truncated stream: the body ends inside the frame at byte ${this.offset} (${what}); the server stopped mid-response`,
    );
  }
}

const hex = (n: number) => '0x' + n.toString(16).padStart(8, '0');

/** Reads a frame's length and CRC at `p`; undefined when `buf` ends before them. */
function readFrameHeader(
  buf: Uint8Array,
  p: number,
): { length: number; crc: number; headerBytes: number } | undefined {
  let length = 0;
  let i = 0;
  for (;;) {
    if (p + i >= buf.length) return undefined;
    const b = buf[p + i]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    i++;
    if (b < 0x80) break;
    if (i === 8) throw new RemoteReadProtocolError(`frame length varint at byte ${p} is too long`);
  }
  if (p + i + 4 > buf.length) return undefined;
  const crc =
    ((buf[p + i]! << 24) | (buf[p + i + 1]! << 16) | (buf[p + i + 2]! << 8) | buf[p + i + 3]!) >>> 0;
  return { length, crc, headerBytes: i + 4 };
}

// ---------------------------------------------------------------------------------------------------------------
// ChunkedReadResponse messages

/** One decoded chunk: `type` is a Chunk.Encoding (CHUNK_XOR for float samples). */
export interface ReadChunk {
  readonly minTime: number;
  readonly maxTime: number;
  readonly type: number;
  readonly data: Uint8Array;
}

export interface ChunkedSeries {
  readonly labels: Labels;
  readonly chunks: readonly ReadChunk[];
}

export interface ChunkedReadResponse {
  readonly queryIndex: number;
  readonly series: readonly ChunkedSeries[];
}

/** Encodes a ChunkedReadResponse with one series; labels sorted by name, empty values left out. */
export function encodeChunkedReadResponse(
  queryIndex: number,
  labels: Labels,
  chunks: readonly XorChunk[],
): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(CRR_SERIES).fork();
  writeLabels(w, labels);
  for (const c of chunks) {
    w.uint32(CS_CHUNKS).fork();
    w.uint32(CHUNK_MIN_TIME).int64(c.minTime);
    w.uint32(CHUNK_MAX_TIME).int64(c.maxTime);
    w.uint32(CHUNK_TYPE).int32(CHUNK_XOR);
    w.uint32(CHUNK_DATA).bytes(c.data);
    w.ldelim();
  }
  w.ldelim();
  if (queryIndex !== 0) w.uint32(CRR_QUERY_INDEX).int64(queryIndex);
  return w.finish();
}

/** Decodes one ChunkedReadResponse message (a frame's payload). Throws RemoteReadProtocolError. */
export function decodeChunkedReadResponse(buf: Uint8Array): ChunkedReadResponse {
  try {
    const r = protobuf.Reader.create(buf);
    let queryIndex = 0;
    const series: ChunkedSeries[] = [];
    while (r.pos < r.len) {
      const tg = r.uint32();
      if (tg === CRR_QUERY_INDEX) queryIndex = readInt64(r);
      else if (tg === CRR_SERIES) series.push(readChunkedSeries(r, messageEnd(r)));
      else skip(r, tg);
    }
    return { queryIndex, series };
  } catch (err) {
    if (err instanceof RemoteReadProtocolError) throw err;
    throw new RemoteReadProtocolError(
      `protobuf: frame is not a valid prometheus.ChunkedReadResponse: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function readChunkedSeries(r: protobuf.Reader, end: number): ChunkedSeries {
  const labels: Record<string, string> = {};
  const chunks: ReadChunk[] = [];
  while (r.pos < end) {
    const tg = r.uint32();
    if (tg === TS_LABELS) {
      const [name, value] = readLabel(r, messageEnd(r));
      if (value !== '') labels[name] = value;
    } else if (tg === CS_CHUNKS) chunks.push(readChunk(r, messageEnd(r)));
    else skip(r, tg);
  }
  checkEnd(r, end);
  return { labels, chunks };
}

function readChunk(r: protobuf.Reader, end: number): ReadChunk {
  let minTime = 0;
  let maxTime = 0;
  let type = 0;
  let data: Uint8Array = new Uint8Array(0);
  while (r.pos < end) {
    const tg = r.uint32();
    if (tg === CHUNK_MIN_TIME) minTime = readInt64(r);
    else if (tg === CHUNK_MAX_TIME) maxTime = readInt64(r);
    else if (tg === CHUNK_TYPE) type = r.int32();
    else if (tg === CHUNK_DATA) data = r.bytes();
    else skip(r, tg);
  }
  checkEnd(r, end);
  return { minTime, maxTime, type, data };
}

// ---------------------------------------------------------------------------------------------------------------
// Server side: series → frames

/** Protobuf bytes of a length-delimited field holding `n` bytes (tag, length varint, payload). */
const fieldBytes = (n: number) => 1 + (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 5) + n;

/**
 * The frames answering query `queryIndex` with `series`: each series cut into XOR chunks of at most
 * MAX_SAMPLES_PER_CHUNK samples, one series per frame, a new frame (same labels) whenever the next chunk
 * would make the message larger than `maxBytesInFrame` (a frame always takes at least one chunk). Series with
 * no samples are left out, as Prometheus does.
 */
export function* chunkedFrames(
  queryIndex: number,
  series: Iterable<ReadSeries>,
  maxBytesInFrame = DEFAULT_MAX_BYTES_IN_FRAME,
): Generator<Buffer> {
  for (const s of series) {
    if (s.t.length === 0) continue;
    let labelBytes = 0;
    for (const [name, value] of Object.entries(s.labels))
      if (value !== '')
        labelBytes += fieldBytes(fieldBytes(Buffer.byteLength(name)) + fieldBytes(Buffer.byteLength(value)));
    // The frame's fixed part: the query index (at most 11 bytes) and the series field's own header.
    const fixed = 11 + 6 + labelBytes;
    let chunks: XorChunk[] = [];
    let size = fixed;
    for (const c of cutXorChunks(s.t, s.v, MAX_SAMPLES_PER_CHUNK)) {
      // min/max time (at most 11 bytes each), type (2), data.
      const cBytes = fieldBytes(11 + 11 + 2 + fieldBytes(c.data.length));
      if (chunks.length > 0 && size + cBytes > maxBytesInFrame) {
        yield encodeFrame(encodeChunkedReadResponse(queryIndex, s.labels, chunks));
        chunks = [];
        size = fixed;
      }
      chunks.push(c);
      size += cBytes;
    }
    yield encodeFrame(encodeChunkedReadResponse(queryIndex, s.labels, chunks));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Client side: frames → series

/**
 * Rebuilds the answer of a streamed read from its body, fed in pieces as they arrive. Series come back per
 * query in the order first seen; a series continued over several frames is joined; samples outside the
 * query's `[start, end]` are dropped (chunks are sent whole). Throws RemoteReadProtocolError for a bad frame,
 * a query index out of range, a non-XOR chunk or a corrupt chunk.
 */
export class ChunkedResponseDecoder {
  private readonly frames: FrameReader;
  private readonly results: Map<string, { labels: Labels; samples: SampleBuffer }>[];
  private frameCount = 0;
  private bytes = 0;

  constructor(
    private readonly queries: readonly { readonly start: number; readonly end: number }[],
    opts: { maxFrameBytes: number; maxBytes?: number },
  ) {
    this.frames = new FrameReader(opts.maxFrameBytes);
    this.results = queries.map(() => new Map());
    this.maxBytes = opts.maxBytes ?? Infinity;
  }

  private readonly maxBytes: number;

  push(bytes: Uint8Array): void {
    this.bytes += bytes.length;
    if (this.bytes > this.maxBytes)
      throw new RemoteReadProtocolError(`response: more than the limit of ${this.maxBytes} bytes`);
    for (const message of this.frames.push(bytes)) {
      const frame = this.frameCount++;
      const res = decodeChunkedReadResponse(message);
      const q = this.queries[res.queryIndex];
      const out = this.results[res.queryIndex];
      if (!q || !out)
        throw new RemoteReadProtocolError(
          `frame ${frame}: query_index ${res.queryIndex}, but the request had ${this.queries.length} queries`,
        );
      for (const s of res.series) {
        const key = labelsKey(s.labels);
        let entry = out.get(key);
        if (!entry) out.set(key, (entry = { labels: s.labels, samples: new SampleBuffer(128) }));
        const samples = entry.samples;
        for (const [j, c] of s.chunks.entries()) {
          if (c.type !== CHUNK_XOR)
            throw new RemoteReadProtocolError(
              `frame ${frame}, series ${formatLabels(s.labels)}, chunk ${j}: encoding ${c.type} ` +
                `(${c.type === 2 || c.type === 3 ? 'a native histogram' : 'unknown'}); Vigil reads float (XOR) chunks only`,
            );
          try {
            decodeXorChunk(c.data, (t, v) => {
              if (t >= q.start && t <= q.end) samples.push(t, v);
            });
          } catch (err) {
            if (!(err instanceof XorChunkError)) throw err;
            throw new RemoteReadProtocolError(
              `frame ${frame}, series ${formatLabels(s.labels)}, chunk ${j}: ${err.message}`,
              { cause: err },
            );
          }
        }
      }
    }
  }

  /** Call at the end of the body; returns one list of series per query (series with samples in range only). */
  finish(): ReadSeries[][] {
    this.frames.end();
    return this.results.map((m) =>
      [...m.values()]
        .filter((e) => e.samples.n > 0)
        .map((e) => ({
          labels: e.labels,
          t: e.samples.t.subarray(0, e.samples.n),
          v: e.samples.v.subarray(0, e.samples.n),
        })),
    );
  }
}
