import { describe, expect, it } from 'vitest';
import { isStaleNaN } from '../../model/labels.ts';
import { MalformedRequestError, type ParseResult } from '../http.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { DeltaToCumulative } from './delta.ts';
import { exponentialToClassic, nanosToMs, parseOtlpMetrics, type OtlpEncoding } from './parse.ts';
import { ExportMetricsServiceRequest } from './proto.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
const T = ns(NOW - 1000);
const START = ns(NOW - 60_000);

/** An OTLP/JSON-shaped request object; encoded to protobuf with protobufjs or to JSON text. */
type Req = Record<string, unknown>;

function encode(req: Req, encoding: OtlpEncoding): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify(req));
  return ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(req)).finish();
}

function parse(req: Req, encoding: OtlpEncoding, delta?: DeltaToCumulative): ParseResult {
  return parseOtlpMetrics(encode(req, encoding), encoding, {
    now: NOW,
    limits: DEFAULT_INGEST_LIMITS,
    delta,
  });
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function request(metrics: unknown[], resourceAttrs: unknown[] = [str('service.name', 'checkout')]): Req {
  return {
    resourceMetrics: [
      {
        resource: { attributes: resourceAttrs },
        scopeMetrics: [{ scope: { name: 'io.vigil.test', version: '1.0.0' }, metrics }],
      },
    ],
  };
}

/** Series as `name{labels} value` lines (scope labels left out for brevity), sorted. */
function lines(r: ParseResult): string[] {
  return r.series
    .map((s) => {
      const { __name__, otel_scope_name: _n, otel_scope_version: _v, ...rest } = s.labels;
      const ls = Object.entries(rest)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      return `${__name__}{${ls}} ${[...s.v].join(',')}@${s.t.join(',')}`;
    })
    .sort();
}

describe.each<OtlpEncoding>(['protobuf', 'json'])('parseOtlpMetrics (%s)', (enc) => {
  it('maps a cumulative monotonic sum to a counter with _total, resource to job/instance and scope labels', () => {
    const r = parse(
      request(
        [
          {
            name: 'http.server.requests',
            description: 'Requests served.',
            unit: '{request}',
            sum: {
              aggregationTemporality: 2,
              isMonotonic: true,
              dataPoints: [
                {
                  attributes: [
                    str('http.request.method', 'GET'),
                    { key: 'http.response.status_code', value: { intValue: '200' } },
                  ],
                  startTimeUnixNano: START,
                  timeUnixNano: T,
                  asInt: '42',
                },
              ],
            },
          },
        ],
        [
          str('service.name', 'checkout'),
          str('service.namespace', 'shop'),
          str('service.instance.id', 'pod-1'),
          str('deployment.environment', 'prod'),
          { key: 'host.cpus', value: { intValue: 4 } },
        ],
      ),
      enc,
    );
    expect(r.errors).toEqual([]);
    expect(r.series[0]!.labels).toEqual({
      __name__: 'http_server_requests_total',
      http_request_method: 'GET',
      http_response_status_code: '200',
      job: 'shop/checkout',
      instance: 'pod-1',
      otel_scope_name: 'io.vigil.test',
      otel_scope_version: '1.0.0',
    });
    expect(r.series[0]!.t).toEqual([NOW - 1000]);
    expect([...r.series[0]!.v]).toEqual([42]);
    expect(r.series[1]!.labels).toEqual({
      __name__: 'target_info',
      job: 'shop/checkout',
      instance: 'pod-1',
      deployment_environment: 'prod',
      host_cpus: '4',
    });
    expect([...r.series[1]!.v]).toEqual([1]);
    expect(r.metadata).toEqual([
      { metric: 'http_server_requests_total', type: 'counter', help: 'Requests served.', unit: '' },
      { metric: 'target_info', type: 'gauge', help: 'Target metadata', unit: '' },
    ]);
  });

  it('maps gauges and non-monotonic sums to gauges, with double values and units', () => {
    const r = parse(
      request([
        { name: 'cpu.utilization', unit: '1', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 0.25 }] } },
        {
          name: 'queue.items',
          unit: '{item}',
          sum: {
            aggregationTemporality: 2,
            isMonotonic: false,
            dataPoints: [{ timeUnixNano: T, asInt: -3 }],
          },
        },
      ]),
      enc,
    );
    expect(lines(r)).toEqual([
      `cpu_utilization_ratio{job="checkout"} 0.25@${NOW - 1000}`,
      `queue_items{job="checkout"} -3@${NOW - 1000}`,
    ]);
    expect(r.metadata.map((m) => [m.metric, m.type, m.unit])).toEqual([
      ['cpu_utilization_ratio', 'gauge', 'ratio'],
      ['queue_items', 'gauge', ''],
    ]);
  });

  it('maps a histogram to cumulative _bucket series, _sum and _count', () => {
    const r = parse(
      request([
        {
          name: 'http.server.request.duration',
          unit: 's',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              {
                timeUnixNano: T,
                startTimeUnixNano: START,
                count: '10',
                sum: 3.5,
                explicitBounds: [0.1, 0.5, 1],
                bucketCounts: ['4', '3', '2', '1'],
              },
            ],
          },
        },
      ]),
      enc,
    );
    const t = NOW - 1000;
    expect(lines(r)).toEqual([
      `http_server_request_duration_seconds_bucket{job="checkout",le="+Inf"} 10@${t}`,
      `http_server_request_duration_seconds_bucket{job="checkout",le="0.1"} 4@${t}`,
      `http_server_request_duration_seconds_bucket{job="checkout",le="0.5"} 7@${t}`,
      `http_server_request_duration_seconds_bucket{job="checkout",le="1"} 9@${t}`,
      `http_server_request_duration_seconds_count{job="checkout"} 10@${t}`,
      `http_server_request_duration_seconds_sum{job="checkout"} 3.5@${t}`,
    ]);
    expect(r.metadata).toEqual([
      { metric: 'http_server_request_duration_seconds', type: 'histogram', help: '', unit: 'seconds' },
    ]);
  });

  it('leaves _sum out when a histogram has no sum', () => {
    const r = parse(
      request([
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: T, count: 1, bucketCounts: [1] }],
          },
        },
      ]),
      enc,
    );
    expect(lines(r)).toEqual([
      `h_bucket{job="checkout",le="+Inf"} 1@${NOW - 1000}`,
      `h_count{job="checkout"} 1@${NOW - 1000}`,
    ]);
  });

  it('maps a summary to quantile series, _sum and _count', () => {
    const r = parse(
      request([
        {
          name: 'rpc.latency',
          unit: 'ms',
          summary: {
            dataPoints: [
              {
                timeUnixNano: T,
                count: 4,
                sum: 100,
                quantileValues: [
                  { quantile: 0.5, value: 20 },
                  { quantile: 0.99, value: 60 },
                ],
              },
            ],
          },
        },
      ]),
      enc,
    );
    const t = NOW - 1000;
    expect(lines(r)).toEqual([
      `rpc_latency_milliseconds_count{job="checkout"} 4@${t}`,
      `rpc_latency_milliseconds_sum{job="checkout"} 100@${t}`,
      `rpc_latency_milliseconds{job="checkout",quantile="0.5"} 20@${t}`,
      `rpc_latency_milliseconds{job="checkout",quantile="0.99"} 60@${t}`,
    ]);
    expect(r.metadata[0]).toMatchObject({ metric: 'rpc_latency_milliseconds', type: 'summary' });
  });

  it('converts a cumulative exponential histogram to classic buckets', () => {
    // scale 0: base 2; positive offset 0 → buckets (1,2], (2,4]; negative offset 1 → [-4,-2)
    const r = parse(
      request([
        {
          name: 'size',
          unit: 'By',
          exponentialHistogram: {
            aggregationTemporality: 2,
            dataPoints: [
              {
                timeUnixNano: T,
                count: 8,
                sum: 9,
                scale: 0,
                zeroCount: 1,
                positive: { offset: 0, bucketCounts: [3, 2] },
                negative: { offset: 1, bucketCounts: [2] },
              },
            ],
          },
        },
      ]),
      enc,
    );
    const t = NOW - 1000;
    expect(lines(r)).toEqual([
      `size_bytes_bucket{job="checkout",le="+Inf"} 8@${t}`,
      `size_bytes_bucket{job="checkout",le="-2"} 2@${t}`,
      `size_bytes_bucket{job="checkout",le="0"} 3@${t}`,
      `size_bytes_bucket{job="checkout",le="2"} 6@${t}`,
      `size_bytes_bucket{job="checkout",le="4"} 8@${t}`,
      `size_bytes_count{job="checkout"} 8@${t}`,
      `size_bytes_sum{job="checkout"} 9@${t}`,
    ]);
  });

  it('refuses delta exponential histograms, naming the metric', () => {
    const r = parse(
      request([
        {
          name: 'size',
          exponentialHistogram: {
            aggregationTemporality: 1,
            dataPoints: [
              { timeUnixNano: T, count: 1 },
              { timeUnixNano: T, count: 2 },
            ],
          },
        },
      ]),
      enc,
    );
    expect(r.series.filter((s) => s.labels.__name__ !== 'target_info')).toEqual([]);
    expect(r.errors).toEqual([
      {
        message: expect.stringMatching(
          /metrics\[0\] "size": exponential histograms are accepted with cumulative temporality only/,
        ),
        reason: 'unsupported_metric_type',
        points: 2,
      },
    ]);
  });

  it('converts delta sums and histograms to cumulative with the shared state', () => {
    const delta = new DeltaToCumulative();
    const mk = (start: number, time: number, v: number, buckets: number[]) =>
      request([
        {
          name: 'jobs.done',
          sum: {
            aggregationTemporality: 1,
            isMonotonic: true,
            dataPoints: [{ startTimeUnixNano: ns(start), timeUnixNano: ns(time), asInt: v }],
          },
        },
        {
          name: 'job.duration',
          unit: 's',
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [
              {
                startTimeUnixNano: ns(start),
                timeUnixNano: ns(time),
                count: buckets.reduce((a, b) => a + b, 0),
                sum: v,
                explicitBounds: [1],
                bucketCounts: buckets,
              },
            ],
          },
        },
      ]);
    parse(mk(NOW - 30_000, NOW - 20_000, 2, [1, 1]), enc, delta);
    const r = parse(mk(NOW - 20_000, NOW - 10_000, 3, [2, 0]), enc, delta);
    const t = NOW - 10_000;
    expect(lines(r).filter((l) => !l.startsWith('target_info'))).toEqual([
      `job_duration_seconds_bucket{job="checkout",le="+Inf"} 4@${t}`,
      `job_duration_seconds_bucket{job="checkout",le="1"} 3@${t}`,
      `job_duration_seconds_count{job="checkout"} 4@${t}`,
      `job_duration_seconds_sum{job="checkout"} 5@${t}`,
      `jobs_done_total{job="checkout"} 5@${t}`,
    ]);
    const again = parse(mk(NOW - 20_000, NOW - 10_000, 3, [2, 0]), enc, delta);
    expect(again.errors.map((e) => e.reason)).toEqual(['out_of_order', 'out_of_order']);
  });

  it('refuses delta points when no converter is given', () => {
    const r = parse(
      request([
        {
          name: 'd',
          sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: 1 }] },
        },
      ]),
      enc,
    );
    expect(r.errors[0]).toMatchObject({ reason: 'unsupported_metric_type', points: 1 });
  });

  it('writes the stale marker for points flagged NoRecordedValue', () => {
    const r = parse(
      request([
        { name: 'g', gauge: { dataPoints: [{ timeUnixNano: T, flags: 1 }] } },
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: T, flags: 1, explicitBounds: [1], bucketCounts: [0, 0] }],
          },
        },
      ]),
      enc,
    );
    const own = r.series.filter((s) => s.labels.__name__ !== 'target_info');
    expect(own.map((s) => s.labels.__name__)).toEqual(['g', 'h_bucket', 'h_bucket', 'h_sum', 'h_count']);
    for (const s of own) expect(isStaleNaN(s.v[0]!)).toBe(true);
  });

  it('keeps NaN and infinite values', () => {
    const r = parse(
      request([
        {
          name: 'g',
          gauge: {
            dataPoints: [
              { attributes: [str('k', 'nan')], timeUnixNano: T, asDouble: enc === 'json' ? 'NaN' : NaN },
              {
                attributes: [str('k', 'inf')],
                timeUnixNano: T,
                asDouble: enc === 'json' ? 'Infinity' : Infinity,
              },
            ],
          },
        },
      ]),
      enc,
    );
    expect(Number.isNaN(r.series[0]!.v[0])).toBe(true);
    expect(isStaleNaN(r.series[0]!.v[0]!)).toBe(false);
    expect(r.series[1]!.v[0]).toBe(Infinity);
  });

  it('refuses points far in the future or without a timestamp, keeping the others', () => {
    const r = parse(
      request([
        {
          name: 'g',
          gauge: {
            dataPoints: [
              { timeUnixNano: ns(NOW + 3_600_000), asInt: 1 },
              { asInt: 2 },
              { timeUnixNano: T, asInt: 3 },
            ],
          },
        },
      ]),
      enc,
    );
    expect(lines(r)[0]).toBe(`g{job="checkout"} 3@${NOW - 1000}`);
    expect(r.errors.map((e) => e.reason)).toEqual(['too_far_in_future', 'invalid_timestamp']);
    expect(r.errors[0]!.message).toMatch(
      /metrics\[0\] "g"\.gauge\.dataPoints\[0\]: timestamp .* in the future/,
    );
    expect(r.errors[1]!.message).toMatch(/dataPoints\[1\]: timeUnixNano is missing/);
  });

  it('refuses a metric without a name and points with too many labels', () => {
    const attrs = Array.from({ length: 5 }, (_, i) => str(`a${i}`, 'v'));
    const r = parseOtlpMetrics(
      encode(
        request([
          { name: '', gauge: { dataPoints: [{ timeUnixNano: T, asInt: 1 }] } },
          { name: 'wide', gauge: { dataPoints: [{ attributes: attrs, timeUnixNano: T, asInt: 1 }] } },
        ]),
        enc,
      ),
      enc,
      { now: NOW, limits: { ...DEFAULT_INGEST_LIMITS, maxLabelsPerSeries: 4 } },
    );
    expect(r.errors.map((e) => e.reason)).toEqual(['missing_metric_name', 'too_many_labels']);
  });

  it('refuses histogram points whose bucket counts do not match the bounds', () => {
    const r = parse(
      request([
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: T, count: 1, explicitBounds: [1, 2], bucketCounts: [1] }],
          },
        },
      ]),
      enc,
    );
    expect(r.errors[0]).toMatchObject({
      reason: 'invalid_data_point',
      message: expect.stringContaining('1 bucketCounts for 2 explicitBounds'),
    });
  });

  it('refuses sums with unspecified temporality', () => {
    const r = parse(
      request([{ name: 's', sum: { isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: 1 }] } }]),
      enc,
    );
    expect(r.errors[0]).toMatchObject({ reason: 'invalid_data_point', points: 1 });
  });

  it('accepts an empty request', () => {
    expect(parse({}, enc)).toEqual({ series: [], metadata: [], errors: [] });
  });

  it('renders non-string attribute values', () => {
    const r = parse(
      request([
        {
          name: 'g',
          gauge: {
            dataPoints: [
              {
                timeUnixNano: T,
                asInt: 1,
                attributes: [
                  { key: 'b', value: { boolValue: true } },
                  { key: 'd', value: { doubleValue: 1.5 } },
                  { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 2 }] } } },
                  { key: 'empty', value: {} },
                ],
              },
            ],
          },
        },
      ]),
      enc,
    );
    expect(r.series[0]!.labels).toMatchObject({ b: 'true', d: '1.5', arr: '["x",2]' });
    expect(r.series[0]!.labels).not.toHaveProperty('empty');
  });
});

describe('OTLP/JSON specifics', () => {
  const json = (text: string) =>
    parseOtlpMetrics(Buffer.from(text), 'json', { now: NOW, limits: DEFAULT_INGEST_LIMITS });

  it('accepts int64 as numbers, enums by name and ignores unknown fields', () => {
    const r = json(
      JSON.stringify({
        unknownTopLevel: true,
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'c',
                    somethingNew: { x: 1 },
                    sum: {
                      aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                      isMonotonic: true,
                      dataPoints: [
                        {
                          timeUnixNano: (NOW - 1000) * 1e6,
                          asInt: 7,
                          exemplars: [{ spanId: 'abcdef0123456789' }],
                        },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.series).toEqual([{ labels: { __name__: 'c_total' }, t: [NOW - 1000], v: Float64Array.of(7) }]);
  });

  it.each([
    ['not JSON', '{"resourceMetrics": [', /OTLP JSON body is not valid JSON/],
    ['an empty body', '', /OTLP JSON body is not valid JSON/],
    ['a JSON array', '[]', /must be an ExportMetricsServiceRequest object/],
    [
      'a wrongly typed field',
      '{"resourceMetrics": {"a": 1}}',
      /resourceMetrics: expected an array, got an object/,
    ],
    [
      'a bad timestamp',
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"soon","asInt":1}]}}]}]}]}',
      /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\] "g"\.gauge\.dataPoints\[0\]\.timeUnixNano: expected nanoseconds/,
    ],
  ])('throws MalformedRequestError for %s', (_case, text, message) => {
    expect(() => json(text)).toThrow(MalformedRequestError);
    expect(() => json(text)).toThrow(message);
  });
});

describe('OTLP protobuf specifics', () => {
  it('throws MalformedRequestError for bytes that are not an ExportMetricsServiceRequest', () => {
    const bad = Buffer.from([0x0a, 0x64, 0x01]);
    const run = () => parseOtlpMetrics(bad, 'protobuf', { now: NOW, limits: DEFAULT_INGEST_LIMITS });
    expect(run).toThrow(MalformedRequestError);
    expect(run).toThrow(/OTLP protobuf body is not a valid ExportMetricsServiceRequest/);
  });

  it('accepts an empty body as an empty request', () => {
    expect(
      parseOtlpMetrics(new Uint8Array(0), 'protobuf', { now: NOW, limits: DEFAULT_INGEST_LIMITS }),
    ).toEqual({
      series: [],
      metadata: [],
      errors: [],
    });
  });
});

describe('nanosToMs', () => {
  it('is exact for 64-bit values in every representation', () => {
    expect(nanosToMs('1767268800123999999', 'x')).toBe(1767268800123);
    expect(nanosToMs('999999', 'x')).toBe(0);
    expect(nanosToMs({ low: 0xffffffff, high: 0x7fffffff, unsigned: true }, 'x')).toBe(
      Number((BigInt(0x7fffffff) * 2n ** 32n + 0xffffffffn) / 1_000_000n),
    );
    expect(nanosToMs(1_500_000, 'x')).toBe(1);
  });
});

describe('exponentialToClassic', () => {
  it('uses base 2^(2^-scale) boundaries and folds buckets inside the zero threshold', () => {
    const r = exponentialToClassic(1, 0, 1, 0, [], -2, [1, 1, 1, 1]);
    // scale 1: base √2; bucket indices -2..1 have upper bounds √2^-1, 1, √2, 2; the first two fall inside the zero threshold 1.
    expect(r.bounds).toEqual([1, Math.SQRT2, 2]);
    expect(r.cumulative).toEqual([2, 3, 4]);
  });
});
