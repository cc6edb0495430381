/**
 * The span row every part of tracing speaks: the OTLP parser produces it, span stores keep it, the query API
 * reads it. IDs are lower-case hex, times are nanoseconds since the epoch as bigint (they exceed 2^53).
 */

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

/** Types of attribute values other than string; string values carry no type entry. */
export type AttributeType = 'int' | 'double' | 'bool' | 'array' | 'kvlist' | 'bytes';

/**
 * Attribute values as text: strings as sent, integers in decimal (exact), doubles in shortest round-trip form,
 * booleans `true`/`false`, arrays and key-value lists as JSON, bytes as base64.
 */
export type Attributes = Record<string, string>;
/** The type of every non-string attribute in the matching `Attributes`. */
export type AttributeTypes = Record<string, AttributeType>;

export interface SpanEvent {
  readonly timeNs: bigint;
  readonly name: string;
  readonly attributes: Attributes;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly attributes: Attributes;
}

export interface SpanRow {
  /** 32 hex digits, never all zero. */
  readonly traceId: string;
  /** 16 hex digits, never all zero. */
  readonly spanId: string;
  /** 16 hex digits, or '' for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  /** W3C trace flags (the low byte of OTLP's flags field). */
  readonly flags: number;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startNs: bigint;
  /** Not before startNs. */
  readonly endNs: bigint;
  readonly statusCode: StatusCode;
  readonly statusMessage: string;
  /** The resource's service.name; OTLP's `unknown_service` when the resource has none. */
  readonly service: string;
  readonly resourceAttributes: Attributes;
  readonly resourceAttributeTypes: AttributeTypes;
  readonly scopeName: string;
  readonly scopeVersion: string;
  readonly attributes: Attributes;
  readonly attributeTypes: AttributeTypes;
  readonly events: readonly SpanEvent[];
  readonly links: readonly SpanLink[];
}

/** A search over spans; all bounds inclusive. Every given condition must hold for one span of the trace. */
export interface TraceQuery {
  readonly service?: string;
  readonly operation?: string;
  /** Exact matches on span or resource attributes (string form, see `Attributes`). */
  readonly tags?: Readonly<Record<string, string>>;
  readonly minDurationNs?: bigint;
  readonly maxDurationNs?: bigint;
  /** Span start window in ns. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Most traces returned, newest first. */
  readonly limit: number;
}

export interface Operation {
  readonly name: string;
  readonly kind: SpanKind;
}

export const DEFAULT_SERVICE = 'unknown_service';

export function durationNs(s: SpanRow): bigint {
  return s.endNs - s.startNs;
}
