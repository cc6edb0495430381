/**
 * Prometheus remote-read protocol, both directions, without I/O: a client (Vigil importing from Prometheus)
 * encodes ReadRequests and decodes ReadResponses; a server (Vigil's /api/v1/read) does the reverse. Bodies
 * are protobuf in snappy's block format. Requests are small and go through protobufjs' reflection;
 * responses can hold millions of samples and are written and read field by field, with values in
 * Float64Arrays so that every float keeps its exact bits (Prometheus's stale marker is a NaN payload).
 * STREAMED_XOR_CHUNKS responses are in chunked.ts (frames) and xorchunk.ts (the chunk format).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { compressSync, uncompressSync } from 'snappy';
import type { Labels } from '../../model/labels.ts';
import type { Matcher, MatchType } from '../../model/matcher.ts';
import {
  LEN,
  SampleBuffer,
  TS_LABELS,
  TS_SAMPLES,
  checkEnd,
  messageEnd,
  readLabel,
  readSample,
  skip,
  snappyDeclaredLength,
  tag,
  writeLabels,
  writeSample,
} from '../../ingest/remotewrite/wire.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('./proto/remote-read.proto', import.meta.url)));
root.resolveAll();

const ReadRequestType = root.lookupType('prometheus.ReadRequest');
const ReadResponseType = root.lookupType('prometheus.ReadResponse');
const QueryResultType = root.lookupType('prometheus.QueryResult');

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
  const declared = snappyDeclaredLength(body);
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

// TimeSeries, Label and Sample are the remote-write messages (Prometheus's types.proto); see wire.ts.
const RESP_RESULTS = tag(ReadResponseType.fields.results!.id, LEN);
const QR_TIMESERIES = tag(QueryResultType.fields.timeseries!.id, LEN);

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
      writeLabels(w, s.labels);
      const { t, v } = s;
      for (let i = 0; i < t.length; i++) writeSample(w, t[i]!, v[i]!);
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
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
      const qrEnd = messageEnd(r);
      const series: ReadSeries[] = [];
      while (r.pos < qrEnd) {
        const t2 = r.uint32();
        if (t2 === QR_TIMESERIES) series.push(decodeSeries(r, messageEnd(r)));
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
  const samples = new SampleBuffer(64);
  while (r.pos < tsEnd) {
    const tg = r.uint32();
    if (tg === TS_LABELS) {
      const [name, value] = readLabel(r, messageEnd(r));
      if (value !== '') labels[name] = value;
    } else if (tg === TS_SAMPLES) readSample(r, messageEnd(r), samples);
    else skip(r, tg);
  }
  checkEnd(r, tsEnd);
  return { labels, t: samples.t.subarray(0, samples.n), v: samples.v.subarray(0, samples.n) };
}
