/**
 * Prometheus remote-read protocol, both directions, without I/O: a client (Vigil importing from Prometheus)
 * encodes ReadRequests and decodes ReadResponses; a server (Vigil's /api/v1/read) does the reverse. Bodies
 * are protobuf in snappy's block format. Requests are small and go through protobufjs' reflection;
 * responses can hold millions of samples and are written and read field by field, with values in
 * Float64Arrays so that every float keeps its exact bits (Prometheus's stale marker is a NaN payload).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { compressSync, uncompressSync } from 'snappy';
import type { Labels } from '../../model/labels.ts';
import type { Matcher, MatchType } from '../../model/matcher.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('./proto/remote-read.proto', import.meta.url)));
root.resolveAll();

const ReadRequestType = root.lookupType('prometheus.ReadRequest');
const ReadResponseType = root.lookupType('prometheus.ReadResponse');
const QueryResultType = root.lookupType('prometheus.QueryResult');
const TimeSeriesType = root.lookupType('prometheus.TimeSeries');
const LabelType = root.lookupType('prometheus.Label');
const SampleType = root.lookupType('prometheus.Sample');

/** ReadRequest.ResponseType values. */
export const SAMPLES = 0;
export const STREAMED_XOR_CHUNKS = 1;

const MATCH_TYPES: readonly MatchType[] = ['=', '!=', '=~', '!~'];

/** One query of a ReadRequest: series matching every matcher, samples in `[start, end]` (ms, inclusive). */
export interface ReadQuery {
  readonly start: number;
  readonly end: number;
  readonly matchers: readonly Matcher[];
}

export interface DecodedReadRequest {
  readonly queries: ReadQuery[];
  readonly acceptedResponseTypes: number[];
}

/** One series of a QueryResult; `t` ascending as the server sent it. */
export interface ReadSeries {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/** The body is not a valid remote-read message (bad snappy, bad protobuf, impossible values). */
export class RemoteReadProtocolError extends Error {
  override name = 'RemoteReadProtocolError';
}

// ---------------------------------------------------------------------------------------------------------------
// Snappy

export function snappyCompress(data: Uint8Array): Buffer {
  return compressSync(data, { copyOutputData: true });
}

/** Snappy block decompression that checks the declared length against `maxBytes` before allocating. */
export function snappyDecompress(body: Uint8Array, maxBytes: number, what: string): Buffer {
  if (body.length === 0) throw new RemoteReadProtocolError(`${what}: body is empty`);
  let declared: number | undefined;
  let n = 0;
  for (let i = 0; i < 5 && i < body.length; i++) {
    n += (body[i]! & 0x7f) * 2 ** (7 * i);
    if ((body[i]! & 0x80) === 0) {
      declared = n;
      break;
    }
  }
  if (declared === undefined)
    throw new RemoteReadProtocolError(`${what}: not snappy block format (no valid length header)`);
  if (declared > maxBytes)
    throw new RemoteReadProtocolError(
      `${what}: snappy body declares ${declared} bytes uncompressed, more than the limit of ${maxBytes}`,
    );
  try {
    return uncompressSync(body, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new RemoteReadProtocolError(
      `${what}: cannot decompress (remote read uses the snappy block format): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// ReadRequest

export function encodeReadRequest(
  queries: readonly ReadQuery[],
  acceptedResponseTypes: readonly number[] = [SAMPLES],
): Uint8Array {
  const msg = ReadRequestType.fromObject({
    queries: queries.map((q) => ({
      startTimestampMs: q.start,
      endTimestampMs: q.end,
      matchers: q.matchers.map((m) => ({ type: MATCH_TYPES.indexOf(m.type), name: m.name, value: m.value })),
    })),
    acceptedResponseTypes: [...acceptedResponseTypes],
  });
  return ReadRequestType.encode(msg).finish();
}

interface RawRequest {
  queries: {
    startTimestampMs: number;
    endTimestampMs: number;
    matchers: { type: number; name: string; value: string }[];
  }[];
  acceptedResponseTypes: number[];
}

function clampTime(t: number): number {
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, t));
}

/** Decodes an uncompressed ReadRequest. Throws RemoteReadProtocolError. */
export function decodeReadRequest(buf: Uint8Array): DecodedReadRequest {
  let raw: RawRequest;
  try {
    raw = ReadRequestType.toObject(ReadRequestType.decode(buf), {
      longs: Number,
      enums: Number,
      defaults: true,
      arrays: true,
    }) as RawRequest;
  } catch (err) {
    throw new RemoteReadProtocolError(
      `protobuf: body is not a valid prometheus.ReadRequest: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const queries = raw.queries.map((q, i): ReadQuery => {
    const matchers = q.matchers.map((m, j): Matcher => {
      const type = MATCH_TYPES[m.type];
      if (!type)
        throw new RemoteReadProtocolError(`queries[${i}].matchers[${j}]: unknown matcher type ${m.type}`);
      return { name: m.name, type, value: m.value };
    });
    // Clients send Prometheus's "no bound" sentinels (about ±2^63 ms); beyond ±2^53 no sample exists anyway.
    return { start: clampTime(q.startTimestampMs), end: clampTime(q.endTimestampMs), matchers };
  });
  return { queries, acceptedResponseTypes: raw.acceptedResponseTypes };
}

// ---------------------------------------------------------------------------------------------------------------
// ReadResponse (SAMPLES)

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const tag = (id: number, wireType: number) => (id << 3) | wireType;

const RESP_RESULTS = tag(ReadResponseType.fields.results!.id, LEN);
const QR_TIMESERIES = tag(QueryResultType.fields.timeseries!.id, LEN);
const TS_LABELS = tag(TimeSeriesType.fields.labels!.id, LEN);
const TS_SAMPLES = tag(TimeSeriesType.fields.samples!.id, LEN);
const LABEL_NAME = tag(LabelType.fields.name!.id, LEN);
const LABEL_VALUE = tag(LabelType.fields.value!.id, LEN);
const SAMPLE_VALUE = tag(SampleType.fields.value!.id, I64);
const SAMPLE_TIMESTAMP = tag(SampleType.fields.timestamp!.id, VARINT);

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

/**
 * Encodes a ReadResponse with one QueryResult per query. Labels are written sorted by name, as the
 * protocol expects; samples in the order given (ascending time).
 */
export function encodeReadResponse(results: readonly (readonly ReadSeries[])[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const series of results) {
    w.uint32(RESP_RESULTS).fork();
    for (const s of series) {
      w.uint32(QR_TIMESERIES).fork();
      for (const name of Object.keys(s.labels).sort()) {
        const value = s.labels[name]!;
        if (value === '') continue;
        w.uint32(TS_LABELS).fork().uint32(LABEL_NAME).string(name).uint32(LABEL_VALUE).string(value).ldelim();
      }
      const { t, v } = s;
      for (let i = 0; i < t.length; i++) {
        const ts = t[i]!;
        // Sample: fixed64 value (tag + 8 bytes) and varint timestamp; the length is known without a fork.
        w.uint32(TS_SAMPLES)
          .uint32(1 + 8 + 1 + int64VarintLength(ts))
          .uint32(SAMPLE_VALUE)
          .double(v[i]!)
          .uint32(SAMPLE_TIMESTAMP)
          .int64(ts);
      }
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}

class Growable {
  t = new Float64Array(64);
  v = new Float64Array(64);
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

function end(r: protobuf.Reader): number {
  const len = r.uint32();
  const e = r.pos + len;
  if (e > r.len) throw new RangeError(`embedded message at offset ${r.pos} claims ${len} bytes past the end`);
  return e;
}

function skip(r: protobuf.Reader, tg: number): void {
  if (tg >>> 3 === 0) throw new RangeError(`invalid field number 0 at offset ${r.pos}`);
  r.skipType(tg & 7);
}

/** An int64 as protobufjs returns it (a Long when the long package is present) → number. */
function toNumber(x: number | protobuf.Long): number {
  return typeof x === 'number' ? x : (x.high | 0) * 4294967296 + (x.low >>> 0);
}

/** Decodes an uncompressed ReadResponse into one list of series per query. Throws RemoteReadProtocolError. */
export function decodeReadResponse(buf: Uint8Array): ReadSeries[][] {
  try {
    const r = protobuf.Reader.create(buf);
    const results: ReadSeries[][] = [];
    while (r.pos < r.len) {
      const tg = r.uint32();
      if (tg !== RESP_RESULTS) {
        skip(r, tg);
        continue;
      }
      const qrEnd = end(r);
      const series: ReadSeries[] = [];
      while (r.pos < qrEnd) {
        const t2 = r.uint32();
        if (t2 === QR_TIMESERIES) series.push(decodeSeries(r, end(r)));
        else skip(r, t2);
      }
      results.push(series);
    }
    return results;
  } catch (err) {
    if (err instanceof RemoteReadProtocolError) throw err;
    throw new RemoteReadProtocolError(
      `protobuf: body is not a valid prometheus.ReadResponse: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function decodeSeries(r: protobuf.Reader, tsEnd: number): ReadSeries {
  const labels: Record<string, string> = {};
  const samples = new Growable();
  while (r.pos < tsEnd) {
    const tg = r.uint32();
    if (tg === TS_LABELS) {
      const e = end(r);
      let name = '';
      let value = '';
      while (r.pos < e) {
        const t3 = r.uint32();
        if (t3 === LABEL_NAME) name = r.string();
        else if (t3 === LABEL_VALUE) value = r.string();
        else skip(r, t3);
      }
      if (value !== '') labels[name] = value;
    } else if (tg === TS_SAMPLES) {
      const e = end(r);
      let value = 0;
      let ts = 0;
      while (r.pos < e) {
        const t3 = r.uint32();
        if (t3 === SAMPLE_VALUE) value = r.double();
        else if (t3 === SAMPLE_TIMESTAMP) ts = toNumber(r.int64() as number | protobuf.Long);
        else skip(r, t3);
      }
      samples.push(ts, value);
    } else skip(r, tg);
  }
  if (r.pos !== tsEnd) throw new RangeError(`time series overruns its length at offset ${tsEnd}`);
  return { labels, t: samples.t.subarray(0, samples.n), v: samples.v.subarray(0, samples.n) };
}
