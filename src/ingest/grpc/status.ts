/**
 * gRPC error details as OTLP/gRPC senders read them: a `grpc-status-details-bin` trailer holding a
 * google.rpc.Status whose details carry a google.rpc.RetryInfo (how long to wait before retrying). No I/O.
 */
import protobuf from 'protobufjs';

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Encodes google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay}}]}. */
export function encodeStatusWithRetryInfo(code: number, message: string, retryDelayMs: number): Buffer {
  const seconds = Math.floor(retryDelayMs / 1000);
  const nanos = Math.round((retryDelayMs - seconds * 1000) * 1e6);
  // google.protobuf.Duration{seconds = 1, nanos = 2}
  const duration = protobuf.Writer.create();
  if (seconds) duration.uint32((1 << 3) | 0).int64(seconds);
  if (nanos) duration.uint32((2 << 3) | 0).int32(nanos);
  // google.rpc.RetryInfo{retry_delay = 1}
  const retryInfo = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(duration.finish())
    .finish();
  // google.protobuf.Any{type_url = 1, value = 2}
  const any = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string(RETRY_INFO_TYPE_URL)
    .uint32((2 << 3) | 2)
    .bytes(retryInfo)
    .finish();
  const status = protobuf.Writer.create();
  if (code) status.uint32((1 << 3) | 0).int32(code);
  if (message) status.uint32((2 << 3) | 2).string(message);
  status.uint32((3 << 3) | 2).bytes(any);
  return Buffer.from(status.finish());
}

export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  /** The RetryInfo delay in ms, when the details carry one. */
  readonly retryDelayMs?: number;
}

/** Decodes a google.rpc.Status as written by `encodeStatusWithRetryInfo` (unknown fields are skipped). */
export function decodeStatus(buf: Uint8Array): DecodedStatus {
  let code = 0;
  let message = '';
  let retryDelayMs: number | undefined;
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | 0)) code = r.int32();
    else if (tag === ((2 << 3) | 2)) message = r.string();
    else if (tag === ((3 << 3) | 2)) {
      const a = protobuf.Reader.create(r.bytes());
      let url = '';
      let value: Uint8Array | undefined;
      while (a.pos < a.len) {
        const t = a.uint32();
        if (t === ((1 << 3) | 2)) url = a.string();
        else if (t === ((2 << 3) | 2)) value = a.bytes();
        else a.skipType(t & 7);
      }
      if (url === RETRY_INFO_TYPE_URL && value) retryDelayMs = decodeRetryInfoMs(value);
    } else r.skipType(tag & 7);
  }
  return { code, message, retryDelayMs };
}

function decodeRetryInfoMs(buf: Uint8Array): number {
  const r = protobuf.Reader.create(buf);
  let ms = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | 2)) {
      r.skipType(tag & 7);
      continue;
    }
    const d = protobuf.Reader.create(r.bytes());
    while (d.pos < d.len) {
      const t = d.uint32();
      if (t === ((1 << 3) | 0)) ms += Number(d.int64()) * 1000;
      else if (t === ((2 << 3) | 0)) ms += d.int32() / 1e6;
      else d.skipType(t & 7);
    }
  }
  return ms;
}
