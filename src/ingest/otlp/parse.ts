/**
 * OTLP metrics (ExportMetricsServiceRequest, protobuf or OTLP/JSON) → Prometheus series, after the
 * OpenTelemetry specification "Prometheus and OpenMetrics Compatibility". No I/O: bytes in, rows out.
 *
 * Both encodings are walked by the same code: protobufjs messages and parsed JSON have the same lowerCamelCase
 * field names; they differ in how oneofs, 64-bit integers, enums and absent fields look, which the small
 * readers below absorb. JSON input is checked for shape as it is walked, so a wrong type fails with its path.
 */
import { labelsKey, METRIC_NAME, STALE_NAN } from '../../model/labels.ts';
import type { MetricType } from '../../store/interface.ts';
import { MAX_EXEMPLAR_LABEL_CHARS, type ExemplarRecord } from '../../store/exemplars.ts';
import {
  MalformedRequestError,
  type ExemplarDrop,
  type IngestRejectReason,
  type ParsedMetadata,
  type ParsedSeries,
  type ParseError,
  type ParseResult,
} from '../http.ts';
import { InvalidSampleError, validateLabelPairs, validateTimestamp, type IngestLimits } from '../validate.ts';
import type { DeltaToCumulative } from './delta.ts';
import {
  attributeLabels,
  prometheusMetricName,
  sanitizeLabelName,
  unitSuffix,
  type PromKind,
} from './naming.ts';
import { ExportMetricsServiceRequest } from './proto.ts';

export type OtlpEncoding = 'protobuf' | 'json';

export interface OtlpParseOptions {
  /** Current time (ms), for the future-timestamp check. */
  readonly now: number;
  readonly limits: IngestLimits;
  /** Running totals for delta temporality; without it delta sums and histograms are refused. */
  readonly delta?: DeltaToCumulative;
}

/** A decoded request: protobufjs message or parsed JSON, walked by `translateOtlpMetrics`. */
export interface DecodedOtlpRequest {
  readonly encoding: OtlpEncoding;
  readonly message: Msg;
}

// Decoded messages are walked structurally; JSON input is type-checked field by field as it is read.
type Msg = Record<string, any>;

const EMPTY: readonly never[] = [];
const NO_RECORDED_VALUE = 1;
const TEMPORALITY_DELTA = 1;
const TEMPORALITY_CUMULATIVE = 2;
const TEMPORALITY_NAMES: Readonly<Record<string, number>> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: TEMPORALITY_DELTA,
  AGGREGATION_TEMPORALITY_CUMULATIVE: TEMPORALITY_CUMULATIVE,
};
const METRIC_DATA_FIELDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;
const ANY_VALUE_FIELDS = [
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
] as const;

/** Decodes and translates one request body. Throws MalformedRequestError when the body cannot be decoded. */
export function parseOtlpMetrics(
  body: Uint8Array,
  encoding: OtlpEncoding,
  opts: OtlpParseOptions,
): ParseResult {
  return translateOtlpMetrics(decodeOtlpMetricsRequest(body, encoding), opts);
}

/** Decodes an ExportMetricsServiceRequest body. Throws MalformedRequestError naming the problem. */
export function decodeOtlpMetricsRequest(body: Uint8Array, encoding: OtlpEncoding): DecodedOtlpRequest {
  if (encoding === 'protobuf') {
    try {
      return { encoding, message: ExportMetricsServiceRequest.decode(body) as unknown as Msg };
    } catch (err) {
      throw new MalformedRequestError(
        `OTLP protobuf body is not a valid ExportMetricsServiceRequest: ${(err as Error).message}`,
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
      `OTLP JSON body must be an ExportMetricsServiceRequest object ({"resourceMetrics": [...]}), got ${describe(parsed)}`,
    );
  return { encoding, message: parsed as Msg };
}

/** Turns a decoded request into series, metadata and per-point errors. */
export function translateOtlpMetrics(req: DecodedOtlpRequest, opts: OtlpParseOptions): ParseResult {
  const w = new Walker(req.encoding === 'protobuf', opts);
  const rms = list(req.message.resourceMetrics, 'resourceMetrics');
  for (let i = 0; i < rms.length; i++) w.resource(rms[i], `resourceMetrics[${i}]`);
  const out: ParseResult = { series: w.series, metadata: [...w.metadata.values()], errors: w.errors };
  if (w.exemplars.length === 0 && w.exemplarDrops.length === 0) return out;
  return { ...out, exemplars: w.exemplars, exemplarDrops: w.exemplarDrops };
}

interface ResourceCtx {
  /** Labels every point of the resource gets: job, instance (when known). */
  readonly identity: Record<string, string>;
  /** Newest valid point time, for target_info. */
  maxT: number;
}

interface PointCtx {
  readonly resource: ResourceCtx;
  /** Labels added to every point after its attributes (job, instance, scope); they win over attributes. */
  readonly fixed: readonly (readonly [string, string])[];
}

/** Attribute lists longer than this use the Map-based collision handling instead of a linear scan. */
const LINEAR_ATTRIBUTES_MAX = 16;

class Walker {
  readonly series: ParsedSeries[] = [];
  readonly metadata = new Map<string, ParsedMetadata>();
  readonly errors: ParseError[] = [];
  readonly exemplars: ExemplarRecord[] = [];
  readonly exemplarDrops: ExemplarDrop[] = [];

  constructor(
    private readonly proto: boolean,
    private readonly opts: OtlpParseOptions,
  ) {}

  resource(rm: unknown, where: string): void {
    const r = msg(rm, where);
    if (!r) return;
    const res = msg(r.resource, `${where}.resource`);
    const attrs = res ? this.attributes(res.attributes, `${where}.resource.attributes`) : [];
    let serviceName = '';
    let serviceNamespace = '';
    let instance = '';
    const other: [string, string][] = [];
    for (const kv of attrs) {
      if (kv[0] === 'service.name') serviceName = kv[1];
      else if (kv[0] === 'service.namespace') serviceNamespace = kv[1];
      else if (kv[0] === 'service.instance.id') instance = kv[1];
      else other.push(kv);
    }
    const identity: Record<string, string> = {};
    if (serviceName) identity.job = serviceNamespace ? `${serviceNamespace}/${serviceName}` : serviceName;
    if (instance) identity.instance = instance;
    const ctx: ResourceCtx = { identity, maxT: -Infinity };

    const sms = list(r.scopeMetrics, `${where}.scopeMetrics`);
    for (let j = 0; j < sms.length; j++) {
      const sw = `${where}.scopeMetrics[${j}]`;
      const sm = msg(sms[j], sw);
      if (!sm) continue;
      const scope = msg(sm.scope, `${sw}.scope`);
      const scopeName = scope ? str(scope.name, `${sw}.scope.name`) : '';
      const scopeVersion = scope ? str(scope.version, `${sw}.scope.version`) : '';
      const fixed: [string, string][] = Object.entries(identity);
      if (scopeName) fixed.push(['otel_scope_name', scopeName]);
      if (scopeVersion) fixed.push(['otel_scope_version', scopeVersion]);
      const pc: PointCtx = { resource: ctx, fixed };
      const metrics = list(sm.metrics, `${sw}.metrics`);
      for (let k = 0; k < metrics.length; k++) this.metric(metrics[k], pc, `${sw}.metrics[${k}]`);
    }

    if (other.length && ctx.maxT > -Infinity) {
      const labels = { ...attributeLabels(other), ...identity, [METRIC_NAME]: 'target_info' };
      try {
        const valid = validateLabelPairs(
          Object.entries(labels),
          `${where}.resource (target_info)`,
          this.opts.limits,
        );
        this.emit(valid, ctx.maxT, 1);
        this.metadata.set('target_info', {
          metric: 'target_info',
          type: 'gauge',
          help: 'Target metadata',
          unit: '',
        });
      } catch (err) {
        this.reject(err, 1);
      }
    }
  }

  private metric(m0: unknown, pc: PointCtx, where0: string): void {
    const m = msg(m0, where0);
    if (!m) return;
    const name = str(m.name, `${where0}.name`);
    const where = `${where0} ${JSON.stringify(name)}`;
    const kindField = this.proto
      ? (m.data as string | undefined)
      : METRIC_DATA_FIELDS.find((f) => m[f] !== undefined && m[f] !== null);
    if (!kindField) return;
    const data = msg(m[kindField], `${where}.${kindField}`)!;
    const points = list(data.dataPoints, `${where}.${kindField}.dataPoints`);
    if (points.length === 0) return;
    if (name === '') {
      this.errors.push({
        message: `${where}: metric has no name; its ${points.length} data point(s) were refused`,
        reason: 'missing_metric_name',
        points: points.length,
      });
      return;
    }
    const unit = str(m.unit, `${where}.unit`);
    const help = str(m.description, `${where}.description`);
    const pw = `${where}.${kindField}.dataPoints`;

    switch (kindField) {
      case 'gauge':
        return this.numberPoints(points, name, unit, help, 'gauge', TEMPORALITY_CUMULATIVE, pc, pw);
      case 'sum': {
        const temporality = enumValue(data.aggregationTemporality, `${where}.sum.aggregationTemporality`);
        const monotonic = bool(data.isMonotonic, `${where}.sum.isMonotonic`);
        if (temporality !== TEMPORALITY_DELTA && temporality !== TEMPORALITY_CUMULATIVE)
          return this.refuseAll(
            points.length,
            `${where}: sum has aggregationTemporality ${temporality}; expected 1 (delta) or 2 (cumulative)`,
            'invalid_data_point',
          );
        return this.numberPoints(
          points,
          name,
          unit,
          help,
          monotonic ? 'counter' : 'gauge',
          temporality,
          pc,
          pw,
        );
      }
      case 'histogram': {
        const temporality = enumValue(
          data.aggregationTemporality,
          `${where}.histogram.aggregationTemporality`,
        );
        if (temporality !== TEMPORALITY_DELTA && temporality !== TEMPORALITY_CUMULATIVE)
          return this.refuseAll(
            points.length,
            `${where}: histogram has aggregationTemporality ${temporality}; expected 1 (delta) or 2 (cumulative)`,
            'invalid_data_point',
          );
        return this.histogramPoints(points, name, unit, help, temporality, pc, pw);
      }
      case 'exponentialHistogram': {
        const temporality = enumValue(
          data.aggregationTemporality,
          `${where}.exponentialHistogram.aggregationTemporality`,
        );
        if (temporality !== TEMPORALITY_CUMULATIVE)
          return this.refuseAll(
            points.length,
            `${where}: exponential histograms are accepted with cumulative temporality only (got ${temporality}); ` +
              'configure the exporter for cumulative temporality or explicit-bucket histograms',
            'unsupported_metric_type',
          );
        return this.exponentialPoints(points, name, unit, help, pc, pw);
      }
      case 'summary':
        return this.summaryPoints(points, name, unit, help, pc, pw);
      default:
        return;
    }
  }

  private numberPoints(
    points: readonly unknown[],
    name: string,
    unit: string,
    help: string,
    kind: 'counter' | 'gauge',
    temporality: number,
    pc: PointCtx,
    pw: string,
  ): void {
    const promName = prometheusMetricName(name, unit, kind);
    this.addMetadata(promName, kind, help, unit);
    this.eachPoint(points, pw, pc, promName, (pt, where, t, labels, stale) => {
      let v: number;
      if (stale) {
        v = STALE_NAN;
        if (temporality === TEMPORALITY_DELTA) this.opts.delta?.forget(labelsKey(labels));
      } else {
        const which = this.proto
          ? (pt.value as string | undefined)
          : pt.asDouble !== undefined && pt.asDouble !== null
            ? 'asDouble'
            : pt.asInt !== undefined && pt.asInt !== null
              ? 'asInt'
              : undefined;
        if (which === 'asDouble') v = dbl(pt.asDouble, `${where}.asDouble`);
        else if (which === 'asInt') v = int64(pt.asInt, `${where}.asInt`);
        else
          throw new PointError(`${where}: data point has neither asDouble nor asInt`, 'invalid_data_point');
        if (temporality === TEMPORALITY_DELTA) {
          const acc = this.opts.delta;
          if (!acc)
            throw new PointError(
              `${where}: delta temporality is not accepted by this endpoint`,
              'unsupported_metric_type',
            );
          const start = nanosToMs(pt.startTimeUnixNano, `${where}.startTimeUnixNano`);
          const r = acc.addNumber(labelsKey(labels), start, t, v);
          if (!r.ok) throw new PointError(`${where}: ${r.message}`, 'out_of_order');
          v = r.value;
        }
      }
      this.emit(labels, t, v);
      this.seen(pc, t);
      if (!stale && hasItems(pt.exemplars)) this.pointExemplars(pt, where, t, () => labels);
    });
  }

  private histogramPoints(
    points: readonly unknown[],
    name: string,
    unit: string,
    help: string,
    temporality: number,
    pc: PointCtx,
    pw: string,
  ): void {
    const promName = prometheusMetricName(name, unit, 'histogram');
    this.addMetadata(promName, 'histogram', help, unit);
    this.eachPoint(points, pw, pc, promName, (pt, where, t, labels, stale) => {
      const bounds = list(pt.explicitBounds, `${where}.explicitBounds`).map((b, i) =>
        dbl(b, `${where}.explicitBounds[${i}]`),
      );
      for (let i = 1; i < bounds.length; i++)
        if (!(bounds[i]! > bounds[i - 1]!))
          throw new PointError(
            `${where}: explicitBounds are not strictly increasing at index ${i}`,
            'invalid_data_point',
          );
      let buckets = list(pt.bucketCounts, `${where}.bucketCounts`).map((c, i) =>
        u64(c, `${where}.bucketCounts[${i}]`),
      );
      if (buckets.length !== 0 && buckets.length !== bounds.length + 1)
        throw new PointError(
          `${where}: ${buckets.length} bucketCounts for ${bounds.length} explicitBounds; expected ${bounds.length + 1}`,
          'invalid_data_point',
        );
      if (stale) {
        if (temporality === TEMPORALITY_DELTA) this.opts.delta?.forget(labelsKey(labels));
        this.emitHistogram(labels, t, bounds, null, STALE_NAN, STALE_NAN, true, true);
        this.seen(pc, t);
        return;
      }
      let count = u64(pt.count, `${where}.count`);
      const hasSum = pt.sum !== undefined && pt.sum !== null;
      let sum = hasSum ? dbl(pt.sum, `${where}.sum`) : 0;
      if (buckets.length === 0 && bounds.length > 0) buckets = new Array<number>(bounds.length + 1).fill(0);
      if (temporality === TEMPORALITY_DELTA) {
        const acc = this.opts.delta;
        if (!acc)
          throw new PointError(
            `${where}: delta temporality is not accepted by this endpoint`,
            'unsupported_metric_type',
          );
        const start = nanosToMs(pt.startTimeUnixNano, `${where}.startTimeUnixNano`);
        const r = acc.addHistogram(labelsKey(labels), start, t, count, sum, bounds, buckets);
        if (!r.ok) throw new PointError(`${where}: ${r.message}`, 'out_of_order');
        count = r.value.count;
        sum = r.value.sum;
        buckets = r.value.buckets.slice();
      }
      // OTLP bucket counts are per bucket; Prometheus `le` buckets are cumulative.
      let acc = 0;
      const cumulative = new Array<number>(bounds.length);
      for (let i = 0; i < bounds.length; i++) {
        acc += buckets[i] ?? 0;
        cumulative[i] = acc;
      }
      this.emitHistogram(labels, t, bounds, cumulative, count, sum, hasSum, false);
      this.seen(pc, t);
      if (hasItems(pt.exemplars)) this.pointExemplars(pt, where, t, (v) => bucketSeries(labels, bounds, v));
    });
  }

  private exponentialPoints(
    points: readonly unknown[],
    name: string,
    unit: string,
    help: string,
    pc: PointCtx,
    pw: string,
  ): void {
    const promName = prometheusMetricName(name, unit, 'histogram');
    this.addMetadata(promName, 'histogram', help, unit);
    this.eachPoint(points, pw, pc, promName, (pt, where, t, labels, stale) => {
      const scale = int32(pt.scale, `${where}.scale`);
      if (scale < -10 || scale > 20)
        throw new PointError(
          `${where}: exponential histogram scale ${scale} is outside [-10, 20]`,
          'invalid_data_point',
        );
      const neg = msg(pt.negative, `${where}.negative`);
      const pos = msg(pt.positive, `${where}.positive`);
      const conv = exponentialToClassic(
        scale,
        u64(pt.zeroCount, `${where}.zeroCount`),
        pt.zeroThreshold === undefined || pt.zeroThreshold === null
          ? 0
          : dbl(pt.zeroThreshold, `${where}.zeroThreshold`),
        neg ? int32(neg.offset, `${where}.negative.offset`) : 0,
        neg
          ? list(neg.bucketCounts, `${where}.negative.bucketCounts`).map((c, i) =>
              u64(c, `${where}.negative.bucketCounts[${i}]`),
            )
          : [],
        pos ? int32(pos.offset, `${where}.positive.offset`) : 0,
        pos
          ? list(pos.bucketCounts, `${where}.positive.bucketCounts`).map((c, i) =>
              u64(c, `${where}.positive.bucketCounts[${i}]`),
            )
          : [],
      );
      const hasSum = pt.sum !== undefined && pt.sum !== null;
      if (stale) this.emitHistogram(labels, t, conv.bounds, null, STALE_NAN, STALE_NAN, true, true);
      else
        this.emitHistogram(
          labels,
          t,
          conv.bounds,
          conv.cumulative,
          u64(pt.count, `${where}.count`),
          hasSum ? dbl(pt.sum, `${where}.sum`) : 0,
          hasSum,
          false,
        );
      this.seen(pc, t);
      if (!stale && hasItems(pt.exemplars))
        this.pointExemplars(pt, where, t, (v) => bucketSeries(labels, conv.bounds, v));
    });
  }

  private summaryPoints(
    points: readonly unknown[],
    name: string,
    unit: string,
    help: string,
    pc: PointCtx,
    pw: string,
  ): void {
    const promName = prometheusMetricName(name, unit, 'summary');
    this.addMetadata(promName, 'summary', help, unit);
    this.eachPoint(points, pw, pc, promName, (pt, where, t, labels, stale) => {
      const qs = list(pt.quantileValues, `${where}.quantileValues`);
      for (let i = 0; i < qs.length; i++) {
        const q = msg(qs[i], `${where}.quantileValues[${i}]`)!;
        const quantile = dbl(q.quantile ?? 0, `${where}.quantileValues[${i}].quantile`);
        const value = stale ? STALE_NAN : dbl(q.value ?? 0, `${where}.quantileValues[${i}].value`);
        this.emit({ ...labels, quantile: formatFloat(quantile) }, t, value);
      }
      this.emit(
        { ...labels, [METRIC_NAME]: promName + '_sum' },
        t,
        stale ? STALE_NAN : dbl(pt.sum ?? 0, `${where}.sum`),
      );
      this.emit(
        { ...labels, [METRIC_NAME]: promName + '_count' },
        t,
        stale ? STALE_NAN : u64(pt.count, `${where}.count`),
      );
      this.seen(pc, t);
    });
  }

  /** Emits `_bucket` (one per bound plus +Inf), `_sum` (when present) and `_count`. */
  private emitHistogram(
    labels: Record<string, string>,
    t: number,
    bounds: readonly number[],
    cumulative: readonly number[] | null,
    count: number,
    sum: number,
    hasSum: boolean,
    stale: boolean,
  ): void {
    const name = labels[METRIC_NAME]!;
    const bucketName = name + '_bucket';
    for (let i = 0; i < bounds.length; i++)
      this.emit(
        { ...labels, [METRIC_NAME]: bucketName, le: formatFloat(bounds[i]!) },
        t,
        stale ? STALE_NAN : cumulative![i]!,
      );
    this.emit({ ...labels, [METRIC_NAME]: bucketName, le: '+Inf' }, t, count);
    if (hasSum) this.emit({ ...labels, [METRIC_NAME]: name + '_sum' }, t, sum);
    this.emit({ ...labels, [METRIC_NAME]: name + '_count' }, t, count);
  }

  /**
   * Keeps the exemplars of one data point, after the Prometheus OTLP receiver: labels `trace_id` and `span_id`
   * in hex plus the filtered attributes (left out, ids kept, when they would pass the 128-character limit).
   * `seriesOf` picks the series for an exemplar value (the `_bucket` series for histograms). A bad exemplar is
   * skipped and counted, never failing its point or the request.
   */
  private pointExemplars(
    pt: Msg,
    where: string,
    pointT: number,
    seriesOf: (value: number) => Record<string, string> | undefined,
  ): void {
    const list0 = pt.exemplars as unknown;
    if (!Array.isArray(list0)) {
      this.dropExemplar(`${where}.exemplars: expected an array, got ${describe(list0)}`, 'invalid_exemplar');
      return;
    }
    for (let i = 0; i < list0.length; i++) {
      const ew = `${where}.exemplars[${i}]`;
      try {
        this.exemplar(list0[i], ew, pointT, seriesOf);
      } catch (err) {
        if (!(err instanceof MalformedRequestError || err instanceof InvalidSampleError)) throw err;
        this.dropExemplar(
          err.message,
          err instanceof InvalidSampleError && err.reason === 'too_far_in_future'
            ? 'too_far_in_future'
            : 'invalid_exemplar',
        );
      }
    }
  }

  private exemplar(
    e0: unknown,
    ew: string,
    pointT: number,
    seriesOf: (value: number) => Record<string, string> | undefined,
  ): void {
    const e = msg(e0, ew);
    if (!e) return this.dropExemplar(`${ew}: exemplar is null`, 'invalid_exemplar');
    const which = this.proto
      ? (e.value as string | undefined)
      : e.asDouble !== undefined && e.asDouble !== null
        ? 'asDouble'
        : e.asInt !== undefined && e.asInt !== null
          ? 'asInt'
          : undefined;
    let value: number;
    if (which === 'asDouble') value = dbl(e.asDouble, `${ew}.asDouble`);
    else if (which === 'asInt') value = int64(e.asInt, `${ew}.asInt`);
    else return this.dropExemplar(`${ew}: exemplar has neither asDouble nor asInt`, 'invalid_exemplar');
    // An exemplar without its own time was taken at the point's time at the latest.
    const own = nanosToMs(e.timeUnixNano, `${ew}.timeUnixNano`);
    const t = own === 0 ? pointT : own;
    validateTimestamp(t, ew, this.opts.now, this.opts.limits);
    const labels: Record<string, string> = {};
    let chars = 0;
    const traceId = this.idHex(e.traceId, 16, `${ew}.traceId`);
    if (traceId) {
      labels.trace_id = traceId;
      chars += 8 + traceId.length;
    }
    const spanId = this.idHex(e.spanId, 8, `${ew}.spanId`);
    if (spanId) {
      labels.span_id = spanId;
      chars += 7 + spanId.length;
    }
    const attrs = this.attributes(e.filteredAttributes, `${ew}.filteredAttributes`);
    let attrChars = 0;
    for (const [k, v] of attrs) attrChars += codePoints(k) + codePoints(v);
    if (attrs.length && chars + attrChars > MAX_EXEMPLAR_LABEL_CHARS)
      this.dropExemplar(
        `${ew}: filtered attributes left out: with the trace and span ids they have ${chars + attrChars} characters, more than ${MAX_EXEMPLAR_LABEL_CHARS}`,
        'attributes_too_long',
      );
    else
      for (const [k, v] of attrs) {
        // The ids from their own fields win over attributes of the same name.
        if ((k === 'trace_id' && traceId) || (k === 'span_id' && spanId) || v === '') continue;
        labels[k] = v;
      }
    const seriesLabels = seriesOf(value);
    if (!seriesLabels)
      return this.dropExemplar(`${ew}: value ${value} falls in no bucket`, 'invalid_exemplar');
    this.exemplars.push({ seriesLabels, labels, value, t });
  }

  /** A trace or span id as lower-case hex; '' when absent or all zeros (the "no id" value). Throws when malformed. */
  private idHex(x: unknown, bytes: number, where: string): string {
    if (x === undefined || x === null) return '';
    let hex: string;
    if (this.proto || x instanceof Uint8Array) {
      const b = x as Uint8Array;
      if (b.length === 0) return '';
      if (b.length !== bytes)
        throw new MalformedRequestError(`${where}: expected ${bytes} bytes, got ${b.length}`);
      hex = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    } else {
      // OTLP/JSON carries trace and span ids as hex strings, not base64.
      if (typeof x !== 'string') return malformed(where, 'a hex string', x);
      if (x === '') return '';
      if (x.length !== bytes * 2 || !HEX_RE.test(x))
        throw new MalformedRequestError(`${where}: expected ${bytes * 2} hex digits, got ${describe(x)}`);
      hex = x.toLowerCase();
    }
    return ZERO_RE.test(hex) ? '' : hex;
  }

  private dropExemplar(message: string, reason: ExemplarDrop['reason']): void {
    this.exemplarDrops.push({ message, reason });
  }

  private emit(labels: Record<string, string>, t: number, v: number): void {
    this.series.push({ labels, t: [t], v: Float64Array.of(v) });
  }

  private seen(pc: PointCtx, t: number): void {
    if (t > pc.resource.maxT) pc.resource.maxT = t;
  }

  private addMetadata(metric: string, kind: PromKind, help: string, unit: string): void {
    const type: MetricType = kind;
    this.metadata.set(metric, { metric, type, help, unit: unitSuffix(unit, kind) });
  }

  private refuseAll(points: number, message: string, reason: IngestRejectReason): void {
    this.errors.push({ message, reason, points });
  }

  private reject(err: unknown, points: number): void {
    if (err instanceof InvalidSampleError || err instanceof PointError)
      this.errors.push({ message: err.message, reason: err.reason, points });
    else throw err;
  }

  /** Point time in ms, checked. */
  /**
   * Runs `fn` for each data point with its position (for messages), time, labels and stale flag. A point
   * that fails is refused alone and counted; the others go on.
   */
  private eachPoint(
    points: readonly unknown[],
    pw: string,
    pc: PointCtx,
    promName: string,
    fn: (pt: Msg, where: string, t: number, labels: Record<string, string>, stale: boolean) => void,
  ): void {
    for (let p = 0; p < points.length; p++) {
      const where = `${pw}[${p}]`;
      try {
        const pt = msg(points[p], where)!;
        const t = this.time(pt, where);
        const labels = this.labels(pt, pc, promName, where);
        const stale = (uint(pt.flags, `${where}.flags`) & NO_RECORDED_VALUE) !== 0;
        fn(pt, where, t, labels, stale);
      } catch (err) {
        this.reject(err, 1);
      }
    }
  }

  private time(pt: Msg, where: string): number {
    const t = nanosToMs(pt.timeUnixNano, `${where}.timeUnixNano`);
    if (t === 0) throw new PointError(`${where}: timeUnixNano is missing`, 'invalid_timestamp');
    validateTimestamp(t, where, this.opts.now, this.opts.limits);
    return t;
  }

  /** Validated labels of a point: attributes, then job/instance and scope (these win), then `__name__`. */
  private labels(pt: Msg, pc: PointCtx, promName: string, where: string): Record<string, string> {
    const kvs = list(pt.attributes, `${where}.attributes`);
    const fixed = pc.fixed;
    let pairs: [string, string][] | undefined = [];
    if (kvs.length <= LINEAR_ATTRIBUTES_MAX) {
      // Fast path: sanitised names checked against each other by a linear scan; any collision falls back.
      outer: for (let i = 0; i < kvs.length; i++) {
        const kv = msg(kvs[i], `${where}.attributes[${i}]`)!;
        const name = sanitizeLabelName(str(kv.key, `${where}.attributes[${i}].key`));
        if (name === METRIC_NAME) continue;
        for (let j = 0; j < fixed.length; j++) if (fixed[j]![0] === name) continue outer;
        for (let j = 0; j < pairs.length; j++)
          if (pairs[j]![0] === name) {
            pairs = undefined;
            break outer;
          }
        pairs.push([name, anyValueString(kv.value, this.proto, `${where}.attributes[${i}].value`)]);
      }
    } else pairs = undefined;
    if (!pairs) {
      const l = attributeLabels(this.attributes(kvs, `${where}.attributes`));
      delete l[METRIC_NAME];
      for (const [name] of fixed) delete l[name];
      pairs = Object.entries(l);
    }
    for (let j = 0; j < fixed.length; j++) pairs.push(fixed[j] as [string, string]);
    pairs.push([METRIC_NAME, promName]);
    return validateLabelPairs(pairs, where, this.opts.limits);
  }

  /** KeyValue list → (key, string value) pairs. */
  private attributes(x: unknown, where: string): [string, string][] {
    const kvs = list(x, where);
    const out = new Array<[string, string]>(kvs.length);
    for (let i = 0; i < kvs.length; i++) {
      const kv = msg(kvs[i], `${where}[${i}]`)!;
      out[i] = [
        str(kv.key, `${where}[${i}].key`),
        anyValueString(kv.value, this.proto, `${where}[${i}].value`),
      ];
    }
    return out;
  }
}

/** A data point refused for a protocol-level reason (the shared validators throw InvalidSampleError). */
class PointError extends Error {
  override name = 'PointError';
  constructor(
    message: string,
    readonly reason: IngestRejectReason,
  ) {
    super(message);
  }
}

/**
 * Converts an exponential histogram to classic cumulative buckets. Bucket index i covers absolute values in
 * (base^i, base^(i+1)] with base = 2^(2^-scale); the zero bucket covers [-zeroThreshold, zeroThreshold].
 * Negative buckets give upper bounds -base^i (most negative first), then the zero bucket at zeroThreshold,
 * then positive buckets at base^(i+1). The +Inf bucket (the total count) is added by the caller.
 */
export function exponentialToClassic(
  scale: number,
  zeroCount: number,
  zeroThreshold: number,
  negOffset: number,
  negCounts: readonly number[],
  posOffset: number,
  posCounts: readonly number[],
): { bounds: number[]; cumulative: number[] } {
  const bounds: number[] = [];
  const cumulative: number[] = [];
  const step = Math.pow(2, -scale);
  let acc = 0;
  for (let k = negCounts.length - 1; k >= 0; k--) {
    acc += negCounts[k]!;
    const b = -Math.pow(2, (negOffset + k) * step);
    // A bucket reaching into the zero threshold has no upper bound of its own below it; its count lands in
    // the zero bucket's cumulative count.
    if (b >= -zeroThreshold) continue;
    bounds.push(b);
    cumulative.push(acc);
  }
  acc += zeroCount;
  bounds.push(zeroThreshold);
  cumulative.push(acc);
  for (let k = 0; k < posCounts.length; k++) {
    acc += posCounts[k]!;
    const b = Math.pow(2, (posOffset + k + 1) * step);
    if (b <= zeroThreshold) {
      // Buckets inside the zero threshold carry nothing of their own; fold their count into the zero bucket.
      cumulative[cumulative.length - 1] = acc;
      continue;
    }
    bounds.push(b);
    cumulative.push(acc);
  }
  return { bounds, cumulative };
}

const HEX_RE = /^[0-9a-fA-F]*$/;
const ZERO_RE = /^0*$/;

function hasItems(x: unknown): boolean {
  return x !== undefined && x !== null && (!Array.isArray(x) || x.length > 0);
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * The `_bucket` series of a histogram point whose bucket holds `value`: the first `le` bound at or above it,
 * else `+Inf` (as the Prometheus OTLP receiver places exemplars). NaN fits no bucket.
 */
function bucketSeries(
  labels: Record<string, string>,
  bounds: readonly number[],
  value: number,
): Record<string, string> | undefined {
  if (Number.isNaN(value)) return undefined;
  let le = '+Inf';
  for (let i = 0; i < bounds.length; i++)
    if (value <= bounds[i]!) {
      le = formatFloat(bounds[i]!);
      break;
    }
  return { ...labels, [METRIC_NAME]: labels[METRIC_NAME]! + '_bucket', le };
}

/** Float as a label value (`le`, `quantile`): shortest round-trip decimal, `+Inf`/`-Inf`/`NaN`. */
export function formatFloat(x: number): string {
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return String(x);
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

function bool(x: unknown, where: string): boolean {
  if (x === undefined || x === null) return false;
  if (typeof x === 'boolean') return x;
  return malformed(where, 'a boolean', x);
}

function isLong(x: unknown): x is { low: number; high: number; unsigned?: boolean; toString(): string } {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Msg).low === 'number' &&
    typeof (x as Msg).high === 'number'
  );
}

const UINT_RE = /^[0-9]+$/;
const INT_RE = /^-?[0-9]+$/;

/** fixed64/uint64 counts as a number (exact below 2^53). */
function u64(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number') {
    if (Number.isInteger(x) && x >= 0) return x;
    return malformed(where, 'a non-negative integer', x);
  }
  if (typeof x === 'string' && UINT_RE.test(x)) return Number(x);
  if (isLong(x)) return (x.high >>> 0) * 4294967296 + (x.low >>> 0);
  return malformed(where, 'a non-negative integer (number or decimal string)', x);
}

/** sfixed64/int64 as a number. */
function int64(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number') {
    if (Number.isInteger(x)) return x;
    return malformed(where, 'an integer', x);
  }
  if (typeof x === 'string' && INT_RE.test(x)) return Number(x);
  if (isLong(x))
    return x.unsigned
      ? (x.high >>> 0) * 4294967296 + (x.low >>> 0)
      : (x.high | 0) * 4294967296 + (x.low >>> 0);
  return malformed(where, 'an integer (number or decimal string)', x);
}

function int32(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  return malformed(where, 'an integer', x);
}

function uint(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
  return malformed(where, 'a non-negative integer', x);
}

/** double: a number, or in JSON also "NaN", "Infinity", "-Infinity" or a numeric string. */
function dbl(x: unknown, where: string): number {
  if (typeof x === 'number') return x;
  if (x === undefined || x === null) return 0;
  if (typeof x === 'string') {
    if (x === 'NaN') return NaN;
    if (x === 'Infinity') return Infinity;
    if (x === '-Infinity') return -Infinity;
    const n = Number(x);
    if (x.trim() !== '' && !Number.isNaN(n)) return n;
  }
  return malformed(where, 'a number', x);
}

function enumValue(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  if (typeof x === 'string' && x in TEMPORALITY_NAMES) return TEMPORALITY_NAMES[x]!;
  return malformed(where, 'an enum value (integer)', x);
}

/**
 * fixed64 nanoseconds since the epoch → whole milliseconds (floor), exactly: the value can exceed 2^53, so it is
 * split rather than converted to a double first.
 */
export function nanosToMs(x: unknown, where: string): number {
  if (x === undefined || x === null) return 0;
  if (isLong(x)) {
    // value = high * 2^32 + low = high * 4294 * 10^6 + (high * 967296 + low)
    const high = x.high >>> 0;
    return high * 4294 + Math.floor((high * 967296 + (x.low >>> 0)) / 1e6);
  }
  if (typeof x === 'string' && UINT_RE.test(x)) return x.length <= 6 ? 0 : Number(x.slice(0, -6));
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return Math.floor(x / 1e6);
  return malformed(
    where,
    'nanoseconds since the epoch (a non-negative integer, number or decimal string)',
    x,
  );
}

/** AnyValue → label value: strings as they are, scalars in their usual text form, arrays and maps as JSON. */
function anyValueString(v: unknown, proto: boolean, where: string): string {
  const a = msg(v, where);
  if (!a) return '';
  const which = anyCase(a, proto);
  if (which === 'stringValue') return str(a.stringValue, `${where}.stringValue`);
  if (which === undefined) return '';
  if (which === 'intValue') {
    const x = a.intValue;
    if (isLong(x)) return x.toString();
    if (typeof x === 'string' && INT_RE.test(x)) return x;
    return String(int64(x, `${where}.intValue`));
  }
  const js = anyValueJs(a, proto, where);
  if (typeof js === 'number' || typeof js === 'boolean') return String(js);
  if (typeof js === 'string') return js;
  return JSON.stringify(js) ?? '';
}

function anyCase(a: Msg, proto: boolean): (typeof ANY_VALUE_FIELDS)[number] | undefined {
  if (proto) return a.value as (typeof ANY_VALUE_FIELDS)[number] | undefined;
  return ANY_VALUE_FIELDS.find((f) => a[f] !== undefined && a[f] !== null);
}

function anyValueJs(a: Msg, proto: boolean, where: string): unknown {
  switch (anyCase(a, proto)) {
    case 'stringValue':
      return str(a.stringValue, `${where}.stringValue`);
    case 'boolValue':
      return bool(a.boolValue, `${where}.boolValue`);
    case 'intValue':
      return isLong(a.intValue) ? Number(a.intValue.toString()) : int64(a.intValue, `${where}.intValue`);
    case 'doubleValue':
      return dbl(a.doubleValue, `${where}.doubleValue`);
    case 'bytesValue':
      // OTLP/JSON carries bytes as base64 already.
      return typeof a.bytesValue === 'string'
        ? a.bytesValue
        : Buffer.from(a.bytesValue as Uint8Array).toString('base64');
    case 'arrayValue': {
      const arr = msg(a.arrayValue, `${where}.arrayValue`);
      const values = arr ? list(arr.values, `${where}.arrayValue.values`) : [];
      return values.map((x, i) => {
        const m = msg(x, `${where}.arrayValue.values[${i}]`);
        return m ? anyValueJs(m, proto, `${where}.arrayValue.values[${i}]`) : null;
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
          ? anyValueJs(inner, proto, `${where}.kvlistValue.values[${i}].value`)
          : null;
      });
      return out;
    }
    default:
      return null;
  }
}
