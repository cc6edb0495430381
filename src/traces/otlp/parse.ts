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
import { AnyValue, ExportTraceServiceRequest } from './proto.ts';

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
  if (encoding === 'protobuf') return readOtlpTracesProtobuf(body, opts);
  return translateOtlpTraces(decodeOtlpTracesRequest(body, encoding), encoding, opts);
}

/**
 * The protobuf path of parseOtlpTraces: reads the bytes straight into span rows, with the same results and
 * messages as decodeOtlpTracesRequest + translateOtlpTraces, at a fraction of the allocations.
 */
export function readOtlpTracesProtobuf(body: Uint8Array, opts: TraceParseOptions): TraceParseResult {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new ProtoSpanReader(buf, opts);
  try {
    r.read();
  } catch (err) {
    if (!(err instanceof ProtoError) && !(err instanceof RangeError)) throw err;
    throw new MalformedRequestError(
      `OTLP protobuf body is not a valid ExportTraceServiceRequest: ${err.message}`,
      { cause: err },
    );
  }
  return { spans: r.spans, rejectedSpans: r.errors.length, errors: r.errors };
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
    return checkHexId(hex, bytes, field, optional);
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
      setAttribute(out, types, key, truncateValue(text, this.opts.maxAttributeValueBytes), type);
    }
    return [out, types];
  }
}

/**
 * Checks a trace or span ID in hex: a wrong length or an all-zero ID refuses the span (SpanError); `optional`
 * IDs may be empty or all zero (a root span's parent) and come back as ''.
 */
function checkHexId(hex: string, bytes: number, field: string, optional: boolean): string {
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

/** A later duplicate key replaces the earlier value and type, as when a message is decoded into an object. */
function setAttribute(
  out: Attributes,
  types: AttributeTypes,
  key: string,
  text: string,
  type: AttributeType | undefined,
): void {
  out[key] = text;
  if (type) types[key] = type;
  else delete types[key];
}

/** Cuts `s` to at most `max` UTF-8 bytes (on a character boundary) and marks it. */
function truncateValue(s: string, max: number): string {
  // A UTF-8 character is at most 4 bytes, so shorter strings never need the byte count.
  if (s.length * 3 <= max || Buffer.byteLength(s) <= max) return s;
  let cut = Buffer.from(s).subarray(0, max).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + TRUNCATED_MARKER;
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

// ---- protobuf straight to span rows ----

/** Broken protobuf framing (truncated field, bad length, wrong wire type); refuses the whole body. */
class ProtoError extends Error {}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Start and end offsets of the sub-messages of one repeated or singular field, in wire order. */
type Ranges = number[];

/**
 * Reads an ExportTraceServiceRequest from its bytes into span rows without building protobufjs messages:
 * IDs go from bytes to hex, strings are sliced once, and paths for error messages are only built for spans
 * that are refused. It accepts and refuses exactly what the generic path (decode, then Walker) does.
 */
class ProtoSpanReader {
  readonly spans: SpanRow[] = [];
  readonly errors: string[] = [];
  private pos = 0;
  private end: number;

  constructor(
    private readonly buf: Buffer,
    private readonly opts: TraceParseOptions,
  ) {
    this.end = buf.length;
  }

  /** Walks the request: field 1 is ResourceSpans. */
  read(): void {
    const resources = this.fields(0, this.buf.length, 1);
    for (let i = 0; i < resources.length; i += 2) this.resource(resources[i]!, resources[i + 1]!, i / 2);
  }

  // -- framing --

  private varint(): number {
    const b = this.buf;
    let x = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError(`varint runs past the end at byte ${this.pos}`);
      const c = b[this.pos++]!;
      // Bits above 32 only matter for int64 values, read by varint64; enums and lengths keep the low 32.
      if (shift < 32) x |= (c & 0x7f) << shift;
      shift += 7;
      if (c < 0x80) return x;
    }
    throw new ProtoError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  private varint64(): bigint {
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError(`varint runs past the end at byte ${this.pos}`);
      const c = this.buf[this.pos++]!;
      x |= BigInt(c & 0x7f) << shift;
      shift += 7n;
      if (c < 0x80) return x;
    }
    throw new ProtoError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  private take(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.end)
      throw new ProtoError(`field of ${n} bytes runs past the end at byte ${at}`);
    this.pos = at + n;
    return at;
  }

  /** Length prefix of a length-delimited field; returns its start (the end is this.pos). */
  private len(): number {
    return this.take(this.varint() >>> 0);
  }

  private skip(wire: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.take(8);
        return;
      case WIRE_LEN:
        this.len();
        return;
      case WIRE_FIXED32:
        this.take(4);
        return;
      case 3: {
        // A group (deprecated, never in OTLP): skip up to its end tag.
        if (depth > 32) throw new ProtoError('groups nested too deep');
        for (;;) {
          const tag = this.varint();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7, depth + 1);
        }
      }
      default:
        throw new ProtoError(`invalid wire type ${wire} at byte ${this.pos}`);
    }
  }

  private expect(wire: number, want: number, field: number): void {
    if (wire !== want) throw new ProtoError(`field ${field} has wire type ${wire}, expected ${want}`);
  }

  /** The [start, end) ranges of every occurrence of length-delimited field `field` within [from, to). */
  private fields(from: number, to: number, field: number): Ranges {
    const out: Ranges = [];
    const saved = this.end;
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const wire = tag & 7;
      if (tag >>> 3 === field) {
        this.expect(wire, WIRE_LEN, field);
        const at = this.len();
        out.push(at, this.pos);
      } else this.skip(wire);
    }
    this.end = saved;
    return out;
  }

  private string(start: number, end: number): string {
    return start === end ? '' : this.buf.toString('utf8', start, end);
  }

  private hex(start: number, end: number): string {
    return start === end ? '' : this.buf.toString('hex', start, end);
  }

  private u64(at: number): bigint {
    return this.buf.readBigUInt64LE(at);
  }

  // -- messages --

  private resource(from: number, to: number, i: number): void {
    // The resource may follow its scopes on the wire; find it first, as every span needs its service.
    let res: number[] | undefined;
    const scopes: Ranges = [];
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const f = tag >>> 3;
      if (f === 1 || f === 2) {
        this.expect(tag & 7, WIRE_LEN, f);
        const at = this.len();
        if (f === 1) res = [at, this.pos];
        else scopes.push(at, this.pos);
      } else this.skip(tag & 7);
    }
    const attrs: Attributes = {};
    const types: AttributeTypes = {};
    if (res) {
      const kvs = this.fields(res[0]!, res[1]!, 1);
      for (let k = 0; k < kvs.length; k += 2) this.keyValue(kvs[k]!, kvs[k + 1]!, attrs, types);
    }
    const service = attrs['service.name'] || DEFAULT_SERVICE;
    for (let j = 0; j < scopes.length; j += 2)
      this.scope(scopes[j]!, scopes[j + 1]!, i, j / 2, service, attrs, types);
  }

  private scope(
    from: number,
    to: number,
    i: number,
    j: number,
    service: string,
    resourceAttributes: Attributes,
    resourceAttributeTypes: AttributeTypes,
  ): void {
    let scopeName = '';
    let scopeVersion = '';
    const spans: Ranges = [];
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const f = tag >>> 3;
      if (f === 1 || f === 2) {
        this.expect(tag & 7, WIRE_LEN, f);
        const at = this.len();
        if (f === 2) {
          spans.push(at, this.pos);
          continue;
        }
        // InstrumentationScope: name 1, version 2; a repeated scope field replaces the earlier one.
        const after = this.pos;
        scopeName = '';
        scopeVersion = '';
        this.pos = at;
        this.end = after;
        while (this.pos < after) {
          const t = this.varint();
          const g = t >>> 3;
          if (g === 1 || g === 2) {
            this.expect(t & 7, WIRE_LEN, g);
            const s = this.len();
            if (g === 1) scopeName = this.string(s, this.pos);
            else scopeVersion = this.string(s, this.pos);
          } else this.skip(t & 7);
        }
        this.end = to;
      } else this.skip(tag & 7);
    }
    const ctx: ScopeCtx = { service, resourceAttributes, resourceAttributeTypes, scopeName, scopeVersion };
    for (let k = 0; k < spans.length; k += 2) {
      try {
        this.spans.push(this.span(spans[k]!, spans[k + 1]!, ctx));
      } catch (err) {
        if (!(err instanceof SpanError)) throw err;
        this.errors.push(`resourceSpans[${i}].scopeSpans[${j}].spans[${k / 2}]: ${err.message}`);
      }
    }
  }

  private span(from: number, to: number, ctx: ScopeCtx): SpanRow {
    let traceId = '';
    let spanId = '';
    let parentSpanId = '';
    let traceState = '';
    let name = '';
    let kind = 0;
    let startNs = 0n;
    let endNs = 0n;
    let flags = 0;
    let code = 0;
    let statusMessage = '';
    const attributes: Attributes = {};
    const attributeTypes: AttributeTypes = {};
    const events: SpanEvent[] = [];
    const linkIds: string[] = [];
    const links: SpanLink[] = [];
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const wire = tag & 7;
      const f = tag >>> 3;
      switch (f) {
        case 1:
        case 2:
        case 3:
        case 4:
        case 5: {
          this.expect(wire, WIRE_LEN, f);
          const at = this.len();
          if (f === 1) traceId = this.hex(at, this.pos);
          else if (f === 2) spanId = this.hex(at, this.pos);
          else if (f === 3) traceState = this.string(at, this.pos);
          else if (f === 4) parentSpanId = this.hex(at, this.pos);
          else name = this.string(at, this.pos);
          break;
        }
        case 6:
          this.expect(wire, WIRE_VARINT, f);
          kind = this.varint();
          break;
        case 7:
        case 8: {
          this.expect(wire, WIRE_FIXED64, f);
          const v = this.u64(this.take(8));
          if (f === 7) startNs = v;
          else endNs = v;
          break;
        }
        case 9: {
          this.expect(wire, WIRE_LEN, f);
          const at = this.len();
          this.keyValue(at, this.pos, attributes, attributeTypes);
          break;
        }
        case 11: {
          this.expect(wire, WIRE_LEN, f);
          const at = this.len();
          const after = this.pos;
          events.push(this.event(at, after));
          this.pos = after;
          this.end = to;
          break;
        }
        case 13: {
          this.expect(wire, WIRE_LEN, f);
          const at = this.len();
          const after = this.pos;
          links.push(this.link(at, after, linkIds));
          this.pos = after;
          this.end = to;
          break;
        }
        case 15: {
          // Status: message 2, code 3; a repeated status field replaces the earlier one.
          this.expect(wire, WIRE_LEN, f);
          const at = this.len();
          const after = this.pos;
          code = 0;
          statusMessage = '';
          this.pos = at;
          this.end = after;
          while (this.pos < after) {
            const t = this.varint();
            const g = t >>> 3;
            if (g === 2) {
              this.expect(t & 7, WIRE_LEN, g);
              const s = this.len();
              statusMessage = this.string(s, this.pos);
            } else if (g === 3) {
              this.expect(t & 7, WIRE_VARINT, g);
              code = this.varint();
            } else this.skip(t & 7);
          }
          this.end = to;
          break;
        }
        case 16:
          this.expect(wire, WIRE_FIXED32, f);
          flags = this.buf.readUInt32LE(this.take(4));
          break;
        default:
          this.skip(wire);
      }
    }
    // The same checks, in the same order, as Walker.span.
    traceId = checkHexId(traceId, 16, 'traceId', false);
    spanId = checkHexId(spanId, 8, 'spanId', false);
    parentSpanId = checkHexId(parentSpanId, 8, 'parentSpanId', true);
    const label = name ? ` ${JSON.stringify(name.length > 60 ? name.slice(0, 60) + '…' : name)}` : '';
    if (!name) throw new SpanError(`span ${spanId} has an empty name; every span needs one`);
    if (startNs === 0n) throw new SpanError(`span${label} has no startTimeUnixNano`);
    if (endNs < startNs)
      throw new SpanError(
        `span${label} ends before it starts (endTimeUnixNano ${endNs} < startTimeUnixNano ${startNs})`,
      );
    for (let i = 0; i < links.length; i++) {
      const l = links[i] as { traceId: string; spanId: string };
      l.traceId = checkHexId(linkIds[2 * i]!, 16, `links[${i}].traceId`, false);
      l.spanId = checkHexId(linkIds[2 * i + 1]!, 8, `links[${i}].spanId`, false);
    }
    return {
      traceId,
      spanId,
      parentSpanId,
      traceState,
      flags: flags & 0xff,
      name,
      kind: KINDS[kind] ?? 'unspecified',
      startNs,
      endNs,
      statusCode: STATUS[code] ?? 'unset',
      statusMessage,
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

  /** One KeyValue in [from, to) into `out`/`types`; leaves pos at `to` and the limit unchanged. */
  private keyValue(from: number, to: number, out: Attributes, types: AttributeTypes): void {
    const saved = this.end;
    let key = '';
    let text = '';
    let type: AttributeType | undefined;
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const f = tag >>> 3;
      if (f === 1 || f === 2) {
        this.expect(tag & 7, WIRE_LEN, f);
        const at = this.len();
        if (f === 1) key = this.string(at, this.pos);
        else {
          const after = this.pos;
          [text, type] = this.anyValue(at, after);
          this.pos = after;
          this.end = to;
        }
      } else this.skip(tag & 7);
    }
    setAttribute(out, types, key, truncateValue(text, this.opts.maxAttributeValueBytes), type);
    this.end = saved;
  }

  /** AnyValue in [from, to) → its text and type; the last member of the oneof on the wire wins. */
  private anyValue(from: number, to: number): [string, AttributeType | undefined] {
    let text = '';
    let type: AttributeType | undefined;
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const wire = tag & 7;
      switch (tag >>> 3) {
        case 1: {
          this.expect(wire, WIRE_LEN, 1);
          const at = this.len();
          text = this.string(at, this.pos);
          type = undefined;
          break;
        }
        case 2:
          this.expect(wire, WIRE_VARINT, 2);
          text = String(this.varint() !== 0);
          type = 'bool';
          break;
        case 3:
          this.expect(wire, WIRE_VARINT, 3);
          text = BigInt.asIntN(64, this.varint64()).toString();
          type = 'int';
          break;
        case 4:
          this.expect(wire, WIRE_FIXED64, 4);
          text = String(this.buf.readDoubleLE(this.take(8)));
          type = 'double';
          break;
        case 5:
        case 6: {
          // Arrays and key-value lists are rare: the generic decoder and the shared JSON rendering do them.
          this.expect(wire, WIRE_LEN, tag >>> 3);
          this.len();
          let inner: Msg;
          try {
            inner = AnyValue.decode(this.buf.subarray(from, to)) as unknown as Msg;
          } catch (err) {
            throw new ProtoError((err as Error).message, { cause: err });
          }
          [text, type] = anyValue(inner, true, 'value');
          break;
        }
        case 7: {
          this.expect(wire, WIRE_LEN, 7);
          const at = this.len();
          text = this.buf.toString('base64', at, this.pos);
          type = 'bytes';
          break;
        }
        default:
          this.skip(wire);
      }
    }
    return [text, type];
  }

  private event(from: number, to: number): SpanEvent {
    let timeNs = 0n;
    let name = '';
    const attributes: Attributes = {};
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const f = tag >>> 3;
      if (f === 1) {
        this.expect(tag & 7, WIRE_FIXED64, f);
        timeNs = this.u64(this.take(8));
      } else if (f === 2 || f === 3) {
        this.expect(tag & 7, WIRE_LEN, f);
        const at = this.len();
        if (f === 2) name = this.string(at, this.pos);
        else {
          this.keyValue(at, this.pos, attributes, {});
        }
      } else this.skip(tag & 7);
    }
    return { timeNs, name, attributes };
  }

  /** A link with its IDs still unchecked: they go to `ids` and are checked once the span's own fields are. */
  private link(from: number, to: number, ids: string[]): SpanLink {
    let traceId = '';
    let spanId = '';
    let traceState = '';
    const attributes: Attributes = {};
    this.pos = from;
    this.end = to;
    while (this.pos < to) {
      const tag = this.varint();
      const f = tag >>> 3;
      if (f >= 1 && f <= 4) {
        this.expect(tag & 7, WIRE_LEN, f);
        const at = this.len();
        if (f === 1) traceId = this.hex(at, this.pos);
        else if (f === 2) spanId = this.hex(at, this.pos);
        else if (f === 3) traceState = this.string(at, this.pos);
        else {
          this.keyValue(at, this.pos, attributes, {});
        }
      } else this.skip(tag & 7);
    }
    ids.push(traceId, spanId);
    return { traceId: '', spanId: '', traceState, attributes };
  }
}
