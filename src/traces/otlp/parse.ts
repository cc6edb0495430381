/**
 * OTLP traces (ExportTraceServiceRequest, protobuf or OTLP/JSON) → span rows. No I/O: bytes in, rows out.
 *
 * A body that cannot be decoded, or whose JSON has the wrong shape, is refused as a whole
 * (MalformedRequestError, HTTP 400). A span that decodes but breaks the data model (bad or all-zero IDs, end
 * before start, no name) is refused on its own and reported through OTLP partial success, with its path
 * (`resourceSpans[0].scopeSpans[1].spans[3]: ...`).
 */
import { MalformedRequestError } from '../../ingest/http.ts';
import {
  DEFAULT_SERVICE,
  type AttributeType,
  type AttributeTypes,
  type Attributes,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type SpanRow,
  type StatusCode,
} from '../model.ts';
import { ExportTraceServiceRequest } from './proto.ts';

export type OtlpEncoding = 'protobuf' | 'json';

export interface TraceParseOptions {
  /** Attribute values longer than this many UTF-8 bytes are cut and end with TRUNCATED_MARKER. */
  readonly maxAttributeValueBytes: number;
}

export const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES = 4096;
/** Appended to a cut attribute value, so readers can tell it is not the whole value. */
export const TRUNCATED_MARKER = '…[truncated]';

export interface TraceParseResult {
  /** Valid spans, ready to store. */
  readonly spans: SpanRow[];
  /** Spans refused on their own; `errors` says why, one entry per refused span. */
  readonly rejectedSpans: number;
  readonly errors: string[];
}

type Msg = Record<string, any>;

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS: readonly StatusCode[] = ['unset', 'ok', 'error'];
const STATUS_NAMES: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};
const ANY_VALUE_FIELDS = [
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
] as const;
type AnyField = (typeof ANY_VALUE_FIELDS)[number];
const EMPTY: readonly never[] = [];

/** Decodes and translates one request body. Throws MalformedRequestError when the body cannot be decoded. */
export function parseOtlpTraces(
  body: Uint8Array,
  encoding: OtlpEncoding,
  opts: TraceParseOptions,
): TraceParseResult {
  return translateOtlpTraces(decodeOtlpTracesRequest(body, encoding), encoding, opts);
}

/** Decodes an ExportTraceServiceRequest body (a protobufjs message or parsed JSON). */
export function decodeOtlpTracesRequest(body: Uint8Array, encoding: OtlpEncoding): Msg {
  if (encoding === 'protobuf') {
    try {
      return ExportTraceServiceRequest.decode(body) as unknown as Msg;
    } catch (err) {
      throw new MalformedRequestError(
        `OTLP protobuf body is not a valid ExportTraceServiceRequest: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new MalformedRequestError(`OTLP JSON body is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MalformedRequestError(
      `OTLP JSON body must be an ExportTraceServiceRequest object ({"resourceSpans": [...]}), got ${describe(parsed)}`,
    );
  return parsed as Msg;
}

/** Turns a decoded request into span rows and per-span errors. */
export function translateOtlpTraces(
  req: Msg,
  encoding: OtlpEncoding,
  opts: TraceParseOptions,
): TraceParseResult {
  const w = new Walker(encoding === 'protobuf', opts);
  const rss = list(req.resourceSpans, 'resourceSpans');
  for (let i = 0; i < rss.length; i++) w.resource(rss[i], `resourceSpans[${i}]`);
  return { spans: w.spans, rejectedSpans: w.errors.length, errors: w.errors };
}

/** A span that breaks the data model; refused alone. */
class SpanError extends Error {
  override name = 'SpanError';
}

interface ScopeCtx {
  readonly service: string;
  readonly resourceAttributes: Attributes;
  readonly resourceAttributeTypes: AttributeTypes;
  readonly scopeName: string;
  readonly scopeVersion: string;
}

class Walker {
  readonly spans: SpanRow[] = [];
  readonly errors: string[] = [];

  constructor(
    private readonly proto: boolean,
    private readonly opts: TraceParseOptions,
  ) {}

  resource(rs0: unknown, where: string): void {
    const rs = msg(rs0, where);
    if (!rs) return;
    const res = msg(rs.resource, `${where}.resource`);
    const [attrs, types] = res ? this.attributes(res.attributes, `${where}.resource.attributes`) : [{}, {}];
    const service = attrs['service.name'] || DEFAULT_SERVICE;
    const sss = list(rs.scopeSpans, `${where}.scopeSpans`);
    for (let j = 0; j < sss.length; j++) {
      const sw = `${where}.scopeSpans[${j}]`;
      const ss = msg(sss[j], sw);
      if (!ss) continue;
      const scope = msg(ss.scope, `${sw}.scope`);
      const ctx: ScopeCtx = {
        service,
        resourceAttributes: attrs,
        resourceAttributeTypes: types,
        scopeName: scope ? str(scope.name, `${sw}.scope.name`) : '',
        scopeVersion: scope ? str(scope.version, `${sw}.scope.version`) : '',
      };
      const spans = list(ss.spans, `${sw}.spans`);
      for (let k = 0; k < spans.length; k++) {
        const at = `${sw}.spans[${k}]`;
        try {
          const row = this.span(spans[k], ctx, at);
          if (row) this.spans.push(row);
        } catch (err) {
          if (!(err instanceof SpanError)) throw err;
          this.errors.push(`${at}: ${err.message}`);
        }
      }
    }
  }

  private span(s0: unknown, ctx: ScopeCtx, where: string): SpanRow | undefined {
    const s = msg(s0, where);
    if (!s) return undefined;
    const name = str(s.name, `${where}.name`);
    const label = name ? ` ${JSON.stringify(name.length > 60 ? name.slice(0, 60) + '…' : name)}` : '';
    const traceId = this.id(s.traceId, 16, 'traceId', `${where}.traceId`, false);
    const spanId = this.id(s.spanId, 8, 'spanId', `${where}.spanId`, false);
    const parentSpanId = this.id(s.parentSpanId, 8, 'parentSpanId', `${where}.parentSpanId`, true);
    const startNs = nanos(s.startTimeUnixNano, `${where}.startTimeUnixNano`);
    const endNs = nanos(s.endTimeUnixNano, `${where}.endTimeUnixNano`);
    if (!name) throw new SpanError(`span ${spanId} has an empty name; every span needs one`);
    if (startNs === 0n) throw new SpanError(`span${label} has no startTimeUnixNano`);
    if (endNs < startNs)
      throw new SpanError(
        `span${label} ends before it starts (endTimeUnixNano ${endNs} < startTimeUnixNano ${startNs})`,
      );
    const kind = enumValue(s.kind, KIND_NAMES, `${where}.kind`);
    const status = msg(s.status, `${where}.status`);
    const code = status ? enumValue(status.code, STATUS_NAMES, `${where}.status.code`) : 0;
    const [attributes, attributeTypes] = this.attributes(s.attributes, `${where}.attributes`);

    const events: SpanEvent[] = [];
    const evs = list(s.events, `${where}.events`);
    for (let i = 0; i < evs.length; i++) {
      const ew = `${where}.events[${i}]`;
      const e = msg(evs[i], ew);
      if (!e) continue;
      events.push({
        timeNs: nanos(e.timeUnixNano, `${ew}.timeUnixNano`),
        name: str(e.name, `${ew}.name`),
        attributes: this.attributes(e.attributes, `${ew}.attributes`)[0],
      });
    }
    const links: SpanLink[] = [];
    const lks = list(s.links, `${where}.links`);
    for (let i = 0; i < lks.length; i++) {
      const lw = `${where}.links[${i}]`;
      const l = msg(lks[i], lw);
      if (!l) continue;
      links.push({
        traceId: this.id(l.traceId, 16, `links[${i}].traceId`, `${lw}.traceId`, false),
        spanId: this.id(l.spanId, 8, `links[${i}].spanId`, `${lw}.spanId`, false),
        traceState: str(l.traceState, `${lw}.traceState`),
        attributes: this.attributes(l.attributes, `${lw}.attributes`)[0],
      });
    }
    return {
      traceId,
      spanId,
      parentSpanId,
      traceState: str(s.traceState, `${where}.traceState`),
      flags: uint(s.flags, `${where}.flags`) & 0xff,
      name,
      kind: KINDS[kind] ?? 'unspecified',
      startNs,
      endNs,
      statusCode: STATUS[code] ?? 'unset',
      statusMessage: status ? str(status.message, `${where}.status.message`) : '',
      service: ctx.service,
      resourceAttributes: ctx.resourceAttributes,
      resourceAttributeTypes: ctx.resourceAttributeTypes,
      scopeName: ctx.scopeName,
      scopeVersion: ctx.scopeVersion,
      attributes,
      attributeTypes,
      events,
      links,
    };
  }

  /**
   * A trace or span ID as lower-case hex. Protobuf carries bytes, OTLP/JSON hex text. A wrong length or an
   * all-zero ID refuses the span; `optional` IDs may be absent/empty (a root span's parent).
   */
  private id(x: unknown, bytes: number, field: string, where: string, optional: boolean): string {
    let hex: string;
    // protobufjs gives an absent bytes field as an empty array.
    if (x === undefined || x === null || (Array.isArray(x) && x.length === 0)) hex = '';
    else if (this.proto || x instanceof Uint8Array) {
      if (!(x instanceof Uint8Array)) return malformed(where, 'bytes', x);
      hex = Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
    } else if (typeof x === 'string') {
      if (!/^[0-9a-fA-F]*$/.test(x))
        throw new SpanError(`${field} ${JSON.stringify(x.slice(0, 40))} is not hex (OTLP/JSON IDs are hex)`);
      hex = x.toLowerCase();
    } else return malformed(where, 'a hex string', x);
    if (hex === '') {
      if (optional) return '';
      throw new SpanError(`${field} is missing`);
    }
    if (hex.length !== bytes * 2)
      throw new SpanError(`${field} ${hex} has ${hex.length / 2} bytes; expected ${bytes}`);
    if (/^0+$/.test(hex)) {
      if (optional) return '';
      throw new SpanError(`${field} is all zeros, which is invalid`);
    }
    return hex;
  }

  private attributes(x: unknown, where: string): [Attributes, AttributeTypes] {
    const out: Attributes = {};
    const types: AttributeTypes = {};
    const kvs = list(x, where);
    for (let i = 0; i < kvs.length; i++) {
      const kw = `${where}[${i}]`;
      const kv = msg(kvs[i], kw);
      if (!kv) continue;
      const key = str(kv.key, `${kw}.key`);
      const v = msg(kv.value, `${kw}.value`);
      const [text, type] = v ? anyValue(v, this.proto, `${kw}.value`) : ['', undefined];
      out[key] = this.truncate(text);
      if (type) types[key] = type;
      else delete types[key];
    }
    return [out, types];
  }

  private truncate(s: string): string {
    const max = this.opts.maxAttributeValueBytes;
    // A UTF-8 character is at most 4 bytes, so shorter strings never need the byte count.
    if (s.length * 3 <= max || Buffer.byteLength(s) <= max) return s;
    let cut = Buffer.from(s).subarray(0, max).toString('utf8');
    if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
    return cut + TRUNCATED_MARKER;
  }
}

// ---- readers for fields that look different in protobufjs messages and OTLP/JSON ----

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  return typeof x === 'object' ? 'an object' : `${typeof x} ${String(x)}`;
}

function malformed(where: string, expected: string, x: unknown): never {
  throw new MalformedRequestError(`${where}: expected ${expected}, got ${describe(x)}`);
}

function list(x: unknown, where: string): readonly any[] {
  if (x === undefined || x === null) return EMPTY;
  if (Array.isArray(x)) return x;
  return malformed(where, 'an array', x);
}

function msg(x: unknown, where: string): Msg | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x === 'object' && !Array.isArray(x)) return x as Msg;
  return malformed(where, 'an object', x);
}

function str(x: unknown, where: string): string {
  if (x === undefined || x === null) return '';
  if (typeof x === 'string') return x;
  return malformed(where, 'a string', x);
}

function uint(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
  return malformed(where, 'a non-negative integer', x);
}

function enumValue(x: unknown, names: Record<string, number>, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  if (typeof x === 'string' && x in names) return names[x]!;
  return malformed(where, `an enum value (integer or one of ${Object.keys(names).join(', ')})`, x);
}

function isLong(x: unknown): x is { low: number; high: number; unsigned?: boolean; toString(): string } {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Msg).low === 'number' &&
    typeof (x as Msg).high === 'number'
  );
}

/** fixed64 nanoseconds since the epoch, exactly. */
export function nanos(x: unknown, where: string): bigint {
  if (x === undefined || x === null) return 0n;
  if (isLong(x)) return (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0);
  if (typeof x === 'string' && /^[0-9]+$/.test(x)) return BigInt(x);
  if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) return BigInt(x);
  return malformed(
    where,
    'nanoseconds since the epoch (a non-negative integer, number or decimal string)',
    x,
  );
}

function anyCase(a: Msg, proto: boolean): AnyField | undefined {
  if (proto) return a.value as AnyField | undefined;
  return ANY_VALUE_FIELDS.find((f) => a[f] !== undefined && a[f] !== null);
}

/** AnyValue → its text form and type (undefined for strings and empty values). */
function anyValue(a: Msg, proto: boolean, where: string): [string, AttributeType | undefined] {
  switch (anyCase(a, proto)) {
    case 'stringValue':
      return [str(a.stringValue, `${where}.stringValue`), undefined];
    case 'intValue': {
      const x = a.intValue;
      if (isLong(x)) return [x.toString(), 'int'];
      if (typeof x === 'string' && /^-?[0-9]+$/.test(x)) return [BigInt(x).toString(), 'int'];
      if (typeof x === 'number' && Number.isInteger(x)) return [String(x), 'int'];
      return malformed(`${where}.intValue`, 'an integer (number or decimal string)', x);
    }
    case 'doubleValue':
      return [String(dbl(a.doubleValue, `${where}.doubleValue`)), 'double'];
    case 'boolValue':
      if (typeof a.boolValue !== 'boolean') return malformed(`${where}.boolValue`, 'a boolean', a.boolValue);
      return [String(a.boolValue), 'bool'];
    case 'bytesValue':
      return [bytesBase64(a.bytesValue, `${where}.bytesValue`), 'bytes'];
    case 'arrayValue':
      return [JSON.stringify(anyJs(a, proto, where)), 'array'];
    case 'kvlistValue':
      return [JSON.stringify(anyJs(a, proto, where)), 'kvlist'];
    default:
      return ['', undefined];
  }
}

function bytesBase64(x: unknown, where: string): string {
  // OTLP/JSON carries bytes as base64 already.
  if (typeof x === 'string') return x;
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
  return malformed(where, 'base64 bytes', x);
}

function dbl(x: unknown, where: string): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'string') {
    if (x === 'NaN') return NaN;
    if (x === 'Infinity') return Infinity;
    if (x === '-Infinity') return -Infinity;
    const n = Number(x);
    if (x.trim() !== '' && !Number.isNaN(n)) return n;
  }
  return malformed(where, 'a number', x);
}

/** AnyValue → a JSON value, for arrays and key-value lists. Integers beyond 2^53 stay exact as strings. */
function anyJs(a: Msg, proto: boolean, where: string): unknown {
  const which = anyCase(a, proto);
  switch (which) {
    case 'stringValue':
      return str(a.stringValue, `${where}.stringValue`);
    case 'boolValue':
    case 'doubleValue':
      return JSON.parse(anyValue(a, proto, where)[0].replace(/^(NaN|-?Infinity)$/, '"$1"')) as unknown;
    case 'intValue': {
      const text = anyValue(a, proto, where)[0];
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'bytesValue':
      return bytesBase64(a.bytesValue, `${where}.bytesValue`);
    case 'arrayValue': {
      const arr = msg(a.arrayValue, `${where}.arrayValue`);
      const values = arr ? list(arr.values, `${where}.arrayValue.values`) : [];
      return values.map((x, i) => {
        const m = msg(x, `${where}.arrayValue.values[${i}]`);
        return m ? anyJs(m, proto, `${where}.arrayValue.values[${i}]`) : null;
      });
    }
    case 'kvlistValue': {
      const kv = msg(a.kvlistValue, `${where}.kvlistValue`);
      const values = kv ? list(kv.values, `${where}.kvlistValue.values`) : [];
      const out: Record<string, unknown> = {};
      values.forEach((x, i) => {
        const e = msg(x, `${where}.kvlistValue.values[${i}]`);
        if (!e) return;
        const inner = msg(e.value, `${where}.kvlistValue.values[${i}].value`);
        out[str(e.key, `${where}.kvlistValue.values[${i}].key`)] = inner
          ? anyJs(inner, proto, `${where}.kvlistValue.values[${i}].value`)
          : null;
      });
      return out;
    }
    default:
      return null;
  }
}
