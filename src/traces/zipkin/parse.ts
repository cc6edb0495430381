/**
 * Zipkin v2 JSON spans (the body of POST /api/v2/spans: a JSON array of spans) → span rows. No I/O: bytes
 * in, rows out.
 *
 * A body that is not a JSON array is refused as a whole (MalformedRequestError). A span that breaks the data
 * model (bad IDs, missing timestamp, wrong field types) is refused on its own with an error naming its index
 * and field (`spans[3].traceId: ...`); the other spans are kept.
 *
 * Mapping onto the span model:
 * - 64-bit trace IDs are left-padded with zeros to 128 bits; span IDs shorter than 16 hex digits are
 *   left-padded; IDs are lower-cased. An all-zero parentId means a root span.
 * - kind CLIENT/SERVER/PRODUCER/CONSUMER maps to the same kind; an absent kind (a local span) to `internal`.
 * - localEndpoint.serviceName is the service (`unknown_service` when absent) and the resource's
 *   `service.name`; localEndpoint ipv4/ipv6/port become `net.host.ip`/`net.host.port`; remoteEndpoint
 *   serviceName/ipv4/ipv6/port become `peer.service`, `net.peer.ip`, `net.peer.port`.
 * - tags become attributes; an `error` tag makes the status `error` (its value, unless empty or "true", is
 *   the status message), and OpenTelemetry's `otel.status_code`/`otel.status_description` tags are honoured.
 * - annotations become events; timestamps and durations are microseconds.
 * - A `shared` SERVER span (it reuses its client's span ID, B3 style) gets a span ID derived from the trace
 *   and span IDs and the client span as its parent, so a trace never holds two spans with one ID; the
 *   original ID stays in the `zipkin.shared_span_id` attribute.
 */
import { createHash } from 'node:crypto';
import { MalformedRequestError } from '../../ingest/http.ts';
import {
  DEFAULT_SERVICE,
  type AttributeTypes,
  type Attributes,
  type SpanEvent,
  type SpanKind,
  type SpanRow,
  type StatusCode,
} from '../model.ts';
import { TRUNCATED_MARKER } from '../otlp/parse.ts';

export interface ZipkinParseOptions {
  /** Tag and annotation values longer than this many UTF-8 bytes are cut and end with TRUNCATED_MARKER. */
  readonly maxAttributeValueBytes: number;
}

export interface ZipkinParseResult {
  /** Valid spans, ready to store. */
  readonly spans: SpanRow[];
  /** One entry per refused span: `spans[i].field: why`. */
  readonly errors: string[];
  /** How many spans the body held. */
  readonly received: number;
}

type Obj = Record<string, unknown>;

const KINDS: Readonly<Record<string, SpanKind>> = {
  CLIENT: 'client',
  SERVER: 'server',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
};
const US = 1000n;
const HEX = /^[0-9a-f]+$/;

/** A span field that breaks the model; the span is refused. */
class SpanFieldError extends Error {
  override name = 'SpanFieldError';
}

/** Decodes and translates a Zipkin v2 JSON body. Throws MalformedRequestError when it is not a JSON array. */
export function parseZipkinSpans(body: Uint8Array, opts: ZipkinParseOptions): ZipkinParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new MalformedRequestError(`body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(parsed))
    throw new MalformedRequestError(
      `body must be a JSON array of Zipkin v2 spans ([{"traceId": ..., "id": ...}]), got ${describe(parsed)}`,
    );
  const spans: SpanRow[] = [];
  const errors: string[] = [];
  for (let i = 0; i < parsed.length; i++) {
    const where = `spans[${i}]`;
    try {
      spans.push(translateSpan(parsed[i], where, opts));
    } catch (err) {
      if (!(err instanceof SpanFieldError)) throw err;
      errors.push(`${where}${err.message}`);
    }
  }
  return { spans, errors, received: parsed.length };
}

function translateSpan(x: unknown, where: string, opts: ZipkinParseOptions): SpanRow {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new SpanFieldError(`: expected a span object, got ${describe(x)}`);
  const s = x as Obj;
  const truncate = (v: string) => truncateBytes(v, opts.maxAttributeValueBytes);

  const traceId = hexId(s.traceId, 'traceId', [16, 32], 32);
  let spanId = hexId(s.id, 'id', [1, 16], 16);
  let parentSpanId =
    s.parentId === undefined || s.parentId === null ? '' : hexId(s.parentId, 'parentId', [1, 16], 16, true);

  let kind: SpanKind = 'internal';
  if (s.kind !== undefined && s.kind !== null) {
    if (typeof s.kind !== 'string' || !(s.kind.toUpperCase() in KINDS))
      throw new SpanFieldError(
        `.kind: expected CLIENT, SERVER, PRODUCER or CONSUMER, got ${describe(s.kind)}`,
      );
    kind = KINDS[s.kind.toUpperCase()]!;
  }

  if (s.timestamp === undefined || s.timestamp === null)
    throw new SpanFieldError(
      '.timestamp: missing; a span needs its start time in microseconds since the epoch',
    );
  const startUs = micros(s.timestamp, '.timestamp');
  if (startUs === 0n) throw new SpanFieldError('.timestamp: must be greater than 0');
  const durUs = s.duration === undefined || s.duration === null ? 0n : micros(s.duration, '.duration');
  const startNs = startUs * US;

  const name = optString(s.name, '.name') || 'unknown';
  const local = endpoint(s.localEndpoint, '.localEndpoint');
  const remote = endpoint(s.remoteEndpoint, '.remoteEndpoint');
  const service = local.serviceName || DEFAULT_SERVICE;

  const attributes: Attributes = {};
  const attributeTypes: AttributeTypes = {};
  if (local.ip) attributes['net.host.ip'] = local.ip;
  if (local.port !== undefined) {
    attributes['net.host.port'] = String(local.port);
    attributeTypes['net.host.port'] = 'int';
  }
  if (remote.serviceName) attributes['peer.service'] = truncate(remote.serviceName);
  if (remote.ip) attributes['net.peer.ip'] = remote.ip;
  if (remote.port !== undefined) {
    attributes['net.peer.port'] = String(remote.port);
    attributeTypes['net.peer.port'] = 'int';
  }

  let statusCode: StatusCode = 'unset';
  let statusMessage = '';
  let scopeName = '';
  let scopeVersion = '';
  if (s.tags !== undefined && s.tags !== null) {
    if (typeof s.tags !== 'object' || Array.isArray(s.tags))
      throw new SpanFieldError(`.tags: expected an object of string values, got ${describe(s.tags)}`);
    for (const [k, v] of Object.entries(s.tags as Obj)) {
      let text: string;
      if (typeof v === 'string') text = v;
      else if (typeof v === 'number' || typeof v === 'boolean') text = String(v);
      else throw new SpanFieldError(`.tags[${JSON.stringify(k)}]: expected a string, got ${describe(v)}`);
      attributes[k] = truncate(text);
    }
    const tags = s.tags as Obj;
    const otelStatus =
      typeof tags['otel.status_code'] === 'string' ? tags['otel.status_code'].toUpperCase() : '';
    if (otelStatus === 'OK') statusCode = 'ok';
    if (otelStatus === 'ERROR') {
      statusCode = 'error';
      statusMessage = attributes['otel.status_description'] ?? '';
    }
    if ('error' in tags) {
      statusCode = 'error';
      const msg = attributes.error ?? '';
      if (msg !== '' && msg !== 'true' && statusMessage === '') statusMessage = msg;
    }
    scopeName = attributes['otel.scope.name'] ?? attributes['otel.library.name'] ?? '';
    scopeVersion = attributes['otel.scope.version'] ?? attributes['otel.library.version'] ?? '';
  }

  const events: SpanEvent[] = [];
  if (s.annotations !== undefined && s.annotations !== null) {
    if (!Array.isArray(s.annotations))
      throw new SpanFieldError(`.annotations: expected an array, got ${describe(s.annotations)}`);
    for (let j = 0; j < s.annotations.length; j++) {
      const a = s.annotations[j] as unknown;
      const aw = `.annotations[${j}]`;
      if (typeof a !== 'object' || a === null || Array.isArray(a))
        throw new SpanFieldError(`${aw}: expected {"timestamp": ..., "value": ...}, got ${describe(a)}`);
      const ao = a as Obj;
      if (ao.timestamp === undefined || ao.timestamp === null)
        throw new SpanFieldError(`${aw}.timestamp: missing`);
      const t = micros(ao.timestamp, `${aw}.timestamp`);
      if (typeof ao.value !== 'string')
        throw new SpanFieldError(`${aw}.value: expected a string, got ${describe(ao.value)}`);
      events.push({ timeNs: t * US, name: truncate(ao.value), attributes: {} });
    }
  }

  if (s.shared === true && kind === 'server') {
    attributes['zipkin.shared_span_id'] = spanId;
    parentSpanId = spanId;
    spanId = createHash('sha256').update(`${traceId}/${spanId}/shared-server`).digest('hex').slice(0, 16);
  } else if (s.shared !== undefined && s.shared !== null && typeof s.shared !== 'boolean') {
    throw new SpanFieldError(`.shared: expected true or false, got ${describe(s.shared)}`);
  }
  if (parentSpanId === spanId) throw new SpanFieldError(`.parentId: ${parentSpanId} is the span's own id`);

  return {
    traceId,
    spanId,
    parentSpanId,
    traceState: '',
    // Reported Zipkin spans are sampled.
    flags: 1,
    name: truncate(name),
    kind,
    startNs,
    endNs: startNs + durUs * US,
    statusCode,
    statusMessage,
    service,
    resourceAttributes: { 'service.name': service },
    resourceAttributeTypes: {},
    scopeName,
    scopeVersion,
    attributes,
    attributeTypes,
    events,
    links: [],
  };
}

/** A hex ID of one of the allowed lengths (or within [min, max] when `lengths` is a range), left-padded. */
function hexId(
  x: unknown,
  field: string,
  range: [number, number],
  padTo: number,
  zeroIsAbsent = false,
): string {
  if (typeof x !== 'string') throw new SpanFieldError(`.${field}: expected a hex string, got ${describe(x)}`);
  const id = x.toLowerCase();
  const [min, max] = range;
  const ok =
    field === 'traceId' ? id.length === 16 || id.length === 32 : id.length >= min && id.length <= max;
  if (!ok || !HEX.test(id))
    throw new SpanFieldError(
      field === 'traceId'
        ? `.traceId: ${JSON.stringify(x)} is not 16 or 32 hex digits`
        : `.${field}: ${JSON.stringify(x)} is not 1 to 16 hex digits`,
    );
  const padded = id.padStart(padTo, '0');
  if (/^0+$/.test(padded)) {
    if (zeroIsAbsent) return '';
    throw new SpanFieldError(`.${field}: is all zeros, which is invalid`);
  }
  return padded;
}

/** A non-negative whole number of microseconds (JSON number, or a decimal string as some clients send). */
function micros(x: unknown, where: string): bigint {
  if (typeof x === 'number' && Number.isFinite(x) && x >= 0) return BigInt(Math.floor(x));
  if (typeof x === 'string' && /^\d+$/.test(x)) return BigInt(x);
  throw new SpanFieldError(`${where}: expected a non-negative number of microseconds, got ${describe(x)}`);
}

function optString(x: unknown, where: string): string {
  if (x === undefined || x === null) return '';
  if (typeof x !== 'string') throw new SpanFieldError(`${where}: expected a string, got ${describe(x)}`);
  return x;
}

interface Endpoint {
  readonly serviceName: string;
  readonly ip: string;
  readonly port: number | undefined;
}

function endpoint(x: unknown, where: string): Endpoint {
  if (x === undefined || x === null) return { serviceName: '', ip: '', port: undefined };
  if (typeof x !== 'object' || Array.isArray(x))
    throw new SpanFieldError(`${where}: expected an endpoint object, got ${describe(x)}`);
  const e = x as Obj;
  const serviceName = optString(e.serviceName, `${where}.serviceName`);
  const ip = optString(e.ipv4, `${where}.ipv4`) || optString(e.ipv6, `${where}.ipv6`);
  let port: number | undefined;
  if (e.port !== undefined && e.port !== null && e.port !== 0) {
    if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 0 || e.port > 65535)
      throw new SpanFieldError(`${where}.port: expected a port number 1-65535, got ${describe(e.port)}`);
    port = e.port;
  }
  return { serviceName, ip, port };
}

function truncateBytes(s: string, max: number): string {
  if (s.length * 3 <= max || Buffer.byteLength(s) <= max) return s;
  let cut = Buffer.from(s).subarray(0, max).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + TRUNCATED_MARKER;
}

function describe(x: unknown): string {
  if (x === undefined) return 'nothing';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  if (typeof x === 'string') return `string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  return `${typeof x} ${String(x)}`;
}
