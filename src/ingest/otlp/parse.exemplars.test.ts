import { describe, expect, it } from 'vitest';
import type { ParseResult } from '../http.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { DeltaToCumulative } from './delta.ts';
import { parseOtlpMetrics, type OtlpEncoding } from './parse.ts';
import { ExportMetricsServiceRequest } from './proto.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
const T = NOW - 1000;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

type Req = Record<string, unknown>;

/** Trace and span ids: hex in OTLP/JSON, bytes (base64 for protobufjs' fromObject) in protobuf. */
const id = (hex: string, enc: OtlpEncoding) =>
  enc === 'json' ? hex : Buffer.from(hex, 'hex').toString('base64');

function parse(req: Req, enc: OtlpEncoding): ParseResult {
  const body =
    enc === 'json'
      ? Buffer.from(JSON.stringify(req))
      : ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(req)).finish();
  return parseOtlpMetrics(body, enc, {
    now: NOW,
    limits: DEFAULT_INGEST_LIMITS,
    delta: new DeltaToCumulative(),
  });
}

function request(metric: Record<string, unknown>): Req {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeMetrics: [{ metrics: [metric] }],
      },
    ],
  };
}

const sum = (exemplars: unknown[], extra: Record<string, unknown> = {}) =>
  request({
    name: 'requests',
    sum: {
      aggregationTemporality: 2,
      isMonotonic: true,
      dataPoints: [{ timeUnixNano: ns(T), asInt: 5, exemplars, ...extra }],
    },
  });

const histogram = (exemplars: unknown[]) =>
  request({
    name: 'latency',
    unit: 's',
    histogram: {
      aggregationTemporality: 2,
      dataPoints: [
        {
          timeUnixNano: ns(T),
          count: 6,
          sum: 3,
          bucketCounts: [1, 2, 3],
          explicitBounds: [0.1, 1],
          exemplars,
        },
      ],
    },
  });

/** Exemplars as `series-name{le} labels value@t` strings, for compact comparison. */
function shown(r: ParseResult): string[] {
  return (r.exemplars ?? []).map((e) => {
    const le = e.seriesLabels.le === undefined ? '' : `{le=${e.seriesLabels.le}}`;
    const ls = Object.entries(e.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return `${e.seriesLabels.__name__}${le} ${ls} ${e.value}@${e.t}`;
  });
}

describe.each<OtlpEncoding>(['protobuf', 'json'])('OTLP exemplars (%s)', (enc) => {
  it('keeps a sum exemplar on the point series with hex ids and filtered attributes', () => {
    const r = parse(
      sum([
        {
          timeUnixNano: ns(T - 500),
          asDouble: 1.5,
          traceId: id(TRACE, enc),
          spanId: id(SPAN, enc),
          filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }],
        },
      ]),
      enc,
    );
    expect(r.errors).toEqual([]);
    expect(r.exemplarDrops).toEqual([]);
    expect(r.exemplars).toEqual([
      {
        seriesLabels: { __name__: 'requests_total', job: 'checkout' },
        labels: { trace_id: TRACE, span_id: SPAN, user: 'u1' },
        value: 1.5,
        t: T - 500,
      },
    ]);
  });

  it('dates an exemplar without its own time at the point time, and reads asInt', () => {
    const r = parse(sum([{ asInt: 3, traceId: id(TRACE, enc) }]), enc);
    expect(shown(r)).toEqual([`requests_total trace_id=${TRACE} 3@${T}`]);
  });

  it.each([
    [0.05, '0.1'],
    [0.1, '0.1'],
    [0.5, '1'],
    [7, '+Inf'],
  ])('puts a histogram exemplar of value %s on the _bucket series le=%s', (value, le) => {
    const r = parse(histogram([{ asDouble: value, timeUnixNano: ns(T), traceId: id(TRACE, enc) }]), enc);
    expect(shown(r)).toEqual([`latency_seconds_bucket{le=${le}} trace_id=${TRACE} ${value}@${T}`]);
    expect(r.exemplars![0]!.seriesLabels).toMatchObject({ job: 'checkout' });
  });

  it('keeps the ids and leaves out filtered attributes past 128 characters, counting it', () => {
    const long = 'x'.repeat(100);
    const r = parse(
      sum([
        {
          asDouble: 1,
          traceId: id(TRACE, enc),
          spanId: id(SPAN, enc),
          filteredAttributes: [{ key: 'note', value: { stringValue: long } }],
        },
      ]),
      enc,
    );
    expect(shown(r)).toEqual([`requests_total trace_id=${TRACE},span_id=${SPAN} 1@${T}`]);
    expect(r.exemplarDrops!.map((d) => d.reason)).toEqual(['attributes_too_long']);
  });

  it('treats an all-zero trace id as absent', () => {
    const r = parse(sum([{ asDouble: 1, traceId: id('0'.repeat(32), enc) }]), enc);
    expect(shown(r)).toEqual([`requests_total  1@${T}`]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'a short trace id',
      { asDouble: 1, traceId: 'abcd' },
      'invalid_exemplar',
      /traceId: expected 16 bytes|32 hex/,
    ],
    ['a long span id', { asDouble: 1, spanId: 'ab'.repeat(9) }, 'invalid_exemplar', /spanId/],
    ['no value', { traceId: TRACE }, 'invalid_exemplar', /neither asDouble nor asInt/],
    [
      'a time far in the future',
      { asDouble: 1, timeUnixNano: ns(NOW + 3_600_000) },
      'too_far_in_future',
      /in the future/,
    ],
  ])('skips and counts an exemplar with %s, keeping the point', (_what, ex, reason, message) => {
    const fixed = { ...ex };
    // Ids in these cases are given as hex; protobuf needs them as bytes.
    for (const k of ['traceId', 'spanId'] as const)
      if (typeof fixed[k] === 'string') fixed[k] = id(fixed[k] as string, enc);
    const r = parse(sum([fixed, { asDouble: 2, traceId: id(TRACE, enc) }]), enc);
    expect(r.errors).toEqual([]);
    expect(r.series).toHaveLength(1);
    expect(shown(r)).toEqual([`requests_total trace_id=${TRACE} 2@${T}`]);
    expect(r.exemplarDrops).toHaveLength(1);
    expect(r.exemplarDrops![0]!.reason).toBe(reason);
    expect(r.exemplarDrops![0]!.message).toMatch(message);
    expect(r.exemplarDrops![0]!.message).toMatch(/exemplars\[0\]/);
  });

  it('keeps no exemplars of a point flagged as having no recorded value', () => {
    const r = parse(sum([{ asDouble: 1, traceId: id(TRACE, enc) }], { flags: 1 }), enc);
    expect(r.exemplars).toBeUndefined();
  });

  it('returns no exemplar fields when the request has none', () => {
    const r = parse(sum([]), enc);
    expect(r.exemplars).toBeUndefined();
    expect(r.exemplarDrops).toBeUndefined();
  });
});

describe('OTLP/JSON exemplar shape errors', () => {
  it.each([
    ['exemplars not an array', { exemplars: { a: 1 } }],
    ['a trace id that is not a string', { exemplars: [{ asDouble: 1, traceId: 5 }] }],
    ['a trace id that is not hex', { exemplars: [{ asDouble: 1, traceId: 'z'.repeat(32) }] }],
    ['an exemplar that is not an object', { exemplars: ['x'] }],
  ])('skips %s without failing the request', (_what, point) => {
    const req = request({
      name: 'g',
      gauge: { dataPoints: [{ timeUnixNano: ns(T), asDouble: 1, ...point }] },
    });
    const r = parseOtlpMetrics(Buffer.from(JSON.stringify(req)), 'json', {
      now: NOW,
      limits: DEFAULT_INGEST_LIMITS,
    });
    expect(r.errors).toEqual([]);
    expect(r.series).toHaveLength(1);
    expect(r.exemplars).toEqual([]);
    expect(r.exemplarDrops!.map((d) => d.reason)).toEqual(['invalid_exemplar']);
  });
});
