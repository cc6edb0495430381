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

/** Operators of an attribute condition; `=~`/`!~` take a regular expression anchored at both ends. */
export type AttributeOp = '=' | '!=' | '=~' | '!~' | '>' | '>=' | '<' | '<=';

/**
 * One condition on a span or resource attribute (src/traces/search/condition.ts parses the text form
 * `key<op>value`). It holds for a span when the span's own attributes or its resource's attributes have the key
 * with a value that satisfies it; a missing key never satisfies any operator. `=` and `!=` compare numbers
 * numerically when the stored attribute is an int or double and the value is a number, text otherwise; `>`,
 * `>=`, `<`, `<=` hold only for int and double attributes (the value must be a number); regular expressions
 * match the attribute's text form.
 */
export interface AttributeCondition {
  readonly key: string;
  readonly op: AttributeOp;
  readonly value: string;
}

/** A search over spans; all bounds inclusive. Every given condition must hold for one span of the trace. */
export interface TraceQuery {
  readonly service?: string;
  /** Span name. */
  readonly operation?: string;
  readonly kind?: SpanKind;
  readonly status?: StatusCode;
  /** Exact matches on span or resource attributes (string form, see `Attributes`); Jaeger's tag search. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Further attribute conditions, all of which must hold for the same span. */
  readonly conditions?: readonly AttributeCondition[];
  readonly minDurationNs?: bigint;
  readonly maxDurationNs?: bigint;
  /** Span start window in ns. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Most traces returned, newest first. */
  readonly limit: number;
}

/** Spans and errors of one service within a trace. */
export interface ServiceCount {
  readonly service: string;
  readonly spanCount: number;
  readonly errorCount: number;
}

/** What a trace search result shows about one trace, computed over all of its stored spans. */
export interface TraceSummary {
  readonly traceId: string;
  /**
   * Service and name of the root span: the earliest span without a parent, or the earliest span of all when
   * none is stored (its root is missing).
   */
  readonly rootService: string;
  readonly rootName: string;
  /** Earliest span start. */
  readonly startNs: bigint;
  /** Latest span end minus earliest span start. */
  readonly durationNs: bigint;
  readonly spanCount: number;
  /** Spans with status error. */
  readonly errorCount: number;
  /** Sorted by service name. */
  readonly services: readonly ServiceCount[];
}

/**
 * Calls from one service to another: a span of `parent` whose child span (same trace) belongs to `child`.
 * Latency quantiles are of the child spans' durations, in ns (linear interpolation between the closest ranks;
 * approximate above 8,192 calls on ClickHouse, which samples).
 */
export interface ServiceEdge {
  readonly parent: string;
  readonly child: string;
  readonly calls: number;
  /** Calls whose child span has status error. */
  readonly errors: number;
  readonly p50Ns: number;
  readonly p95Ns: number;
  readonly p99Ns: number;
}

/** A service's own figures over a window. */
export interface ServiceNode {
  readonly service: string;
  readonly spans: number;
  readonly errors: number;
  /**
   * p95 duration in ns of the service's entry spans (kind server or consumer, or without a parent); of all its
   * spans when it has no entry span in the window.
   */
  readonly p95Ns: number;
}

/** The service graph of a time window: nodes sorted by service, edges by parent then child. */
export interface ServiceGraph {
  readonly nodes: readonly ServiceNode[];
  readonly edges: readonly ServiceEdge[];
}

export interface Operation {
  readonly name: string;
  readonly kind: SpanKind;
}

export const DEFAULT_SERVICE = 'unknown_service';

export function durationNs(s: SpanRow): bigint {
  return s.endNs - s.startNs;
}
