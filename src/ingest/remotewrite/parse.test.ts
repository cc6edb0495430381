import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../../model/labels.ts';
import { MalformedRequestError, PayloadTooLargeError } from '../http.ts';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { SeriesCache, parseRemoteWrite, parseWriteRequest } from './parse.ts';
import { WriteRequest } from './proto.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const opts = { now: NOW, limits: DEFAULT_INGEST_LIMITS };

type L = Record<string, string>;
function series(labels: L | [string, string][], samples: [number, number][]) {
  const pairs = Array.isArray(labels) ? labels : Object.entries(labels);
  return {
    labels: pairs.map(([name, value]) => ({ name, value })),
    samples: samples.map(([timestamp, value]) => ({ timestamp, value })),
  };
}
function encode(req: object): Buffer {
  return compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject(req)).finish()));
}

describe('parseRemoteWrite', () => {
  it('decodes series, samples and metadata from snappy-compressed bytes', () => {
    const body = encode({
      timeseries: [
        series({ __name__: 'up', job: 'api', instance: 'a:9090' }, [
          [NOW - 2000, 1],
          [NOW - 1000, 0],
        ]),
        series({ __name__: 'temp_celsius', room: 'b' }, [[NOW, 21.5]]),
      ],
      metadata: [
        { type: 2, metricFamilyName: 'temp_celsius', help: 'Room temperature.', unit: 'celsius' },
        { type: 1, metricFamilyName: 'http_requests_total', help: 'Requests.', unit: '' },
      ],
    });
    const r = parseRemoteWrite(body, opts);
    expect(r.errors).toEqual([]);
    expect(r.series).toEqual([
      {
        labels: { __name__: 'up', job: 'api', instance: 'a:9090' },
        t: [NOW - 2000, NOW - 1000],
        v: Float64Array.of(1, 0),
      },
      { labels: { __name__: 'temp_celsius', room: 'b' }, t: [NOW], v: Float64Array.of(21.5) },
    ]);
    expect(r.metadata).toEqual([
      { metric: 'temp_celsius', type: 'gauge', help: 'Room temperature.', unit: 'celsius' },
      { metric: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' },
    ]);
  });

  it('accepts an empty WriteRequest', () => {
    const r = parseRemoteWrite(encode({}), opts);
    expect(r).toEqual({ series: [], metadata: [], errors: [] });
  });

  it('keeps NaN, ±Inf and the stale marker bit-exactly', () => {
    const r = parseRemoteWrite(
      encode({
        timeseries: [
          {
            labels: [{ name: '__name__', value: 'x' }],
            // Sample objects built directly: a NaN placed in a plain number array loses its payload in V8.
            samples: [
              { timestamp: NOW - 3, value: NaN },
              { timestamp: NOW - 2, value: Infinity },
              { timestamp: NOW - 1, value: -Infinity },
              { timestamp: NOW, value: STALE_NAN },
            ],
          },
        ],
      }),
      opts,
    );
    const v = r.series[0]!.v;
    expect(Number.isNaN(v[0])).toBe(true);
    expect(isStaleNaN(v[0]!)).toBe(false);
    expect(v[1]).toBe(Infinity);
    expect(v[2]).toBe(-Infinity);
    expect(isStaleNaN(v[3]!)).toBe(true);
  });

  it.each([
    [
      'invalid metric name',
      { __name__: '1bad-name' },
      'invalid_metric_name',
      'invalid metric name "1bad-name"',
    ],
    [
      'invalid label name',
      { __name__: 'ok', 'bad-label': 'x' },
      'invalid_label_name',
      'invalid label name "bad-label"',
    ],
    ['missing metric name', { job: 'x' }, 'missing_metric_name', 'no metric name'],
    [
      'duplicate label',
      [
        ['__name__', 'ok'],
        ['job', 'a'],
        ['job', 'b'],
      ] as [string, string][],
      'duplicate_label',
      'duplicate label name "job"',
    ],
  ])('refuses a series with an %s and keeps the valid ones', (_case, labels, reason, text) => {
    const r = parseRemoteWrite(
      encode({
        timeseries: [
          series({ __name__: 'good_a' }, [[NOW, 1]]),
          series(labels, [
            [NOW, 1],
            [NOW - 1, 2],
          ]),
          series({ __name__: 'good_b' }, [[NOW, 2]]),
        ],
      }),
      opts,
    );
    expect(r.series.map((s) => s.labels.__name__)).toEqual(['good_a', 'good_b']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.reason).toBe(reason);
    expect(r.errors[0]!.points).toBe(2);
    expect(r.errors[0]!.message).toContain('timeseries[1]');
    expect(r.errors[0]!.message).toContain(text);
  });

  it('refuses samples far in the future but keeps the rest of the series', () => {
    const future = NOW + DEFAULT_INGEST_LIMITS.maxFutureMs + 60_000;
    const r = parseRemoteWrite(
      encode({
        timeseries: [
          series({ __name__: 'x' }, [
            [NOW, 1],
            [future, 2],
            [future + 1, 3],
          ]),
        ],
      }),
      opts,
    );
    expect(r.series).toEqual([{ labels: { __name__: 'x' }, t: [NOW], v: Float64Array.of(1) }]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ reason: 'too_far_in_future', points: 2 });
    expect(r.errors[0]!.message).toMatch(/timeseries\[0\] \(x\).*in the future \(2 of 3 samples refused\)/);
  });

  it('keeps the values aligned when refused samples share timestamps with kept ones', () => {
    const future = NOW + DEFAULT_INGEST_LIMITS.maxFutureMs + 60_000;
    const r = parseRemoteWrite(
      encode({
        timeseries: [
          series({ __name__: 'x' }, [
            [NOW - 1, 1],
            [future, 2],
            [NOW, 3],
            [future, 4],
            [NOW + 1, 5],
          ]),
        ],
      }),
      opts,
    );
    expect(r.series).toEqual([
      { labels: { __name__: 'x' }, t: [NOW - 1, NOW, NOW + 1], v: Float64Array.of(1, 3, 5) },
    ]);
  });

  it('decodes negative and large timestamps exactly', () => {
    const r = parseRemoteWrite(
      encode({
        timeseries: [
          series({ __name__: 'x' }, [
            [-1, 1],
            [-86_400_000, 2],
            [2 ** 40 + 3, 3],
          ]),
        ],
      }),
      { now: 2 ** 41, limits: DEFAULT_INGEST_LIMITS },
    );
    expect(r.series[0]!.t).toEqual([-1, -86_400_000, 2 ** 40 + 3]);
  });

  it('refuses series over the label count limit', () => {
    const labels: L = { __name__: 'wide' };
    for (let i = 0; i < 5; i++) labels[`l${i}`] = 'v';
    const r = parseRemoteWrite(encode({ timeseries: [series(labels, [[NOW, 1]])] }), {
      now: NOW,
      limits: { ...DEFAULT_INGEST_LIMITS, maxLabelsPerSeries: 3 },
    });
    expect(r.series).toEqual([]);
    expect(r.errors[0]!.reason).toBe('too_many_labels');
  });

  it('drops empty label values as absent labels', () => {
    const r = parseRemoteWrite(
      encode({ timeseries: [series({ __name__: 'x', empty: '' }, [[NOW, 1]])] }),
      opts,
    );
    expect(r.series[0]!.labels).toEqual({ __name__: 'x' });
  });

  it('refuses native histograms by name rather than dropping them silently', () => {
    const s = { ...series({ __name__: 'hist' }, [[NOW, 1]]), histograms: [Buffer.from([8, 1])] };
    const r = parseRemoteWrite(encode({ timeseries: [s] }), opts);
    expect(r.series).toHaveLength(1);
    expect(r.errors).toEqual([
      expect.objectContaining({
        reason: 'unsupported_metric_type',
        points: 1,
        message: expect.stringContaining('hist'),
      }),
    ]);
  });

  it('reports an invalid metadata family name', () => {
    const r = parseRemoteWrite(encode({ metadata: [{ type: 1, metricFamilyName: 'bad name' }] }), opts);
    expect(r.metadata).toEqual([]);
    expect(r.errors[0]).toMatchObject({ reason: 'invalid_metric_name', points: 0 });
  });

  it('throws MalformedRequestError for bytes that are not snappy', () => {
    expect(() => parseRemoteWrite(Buffer.from([0x05, 0xff, 0xff, 0xff]), opts)).toThrow(
      MalformedRequestError,
    );
    expect(() => parseRemoteWrite(Buffer.from([0x05, 0xff, 0xff, 0xff]), opts)).toThrow(/snappy/);
  });

  it('throws MalformedRequestError for an empty body', () => {
    expect(() => parseRemoteWrite(Buffer.alloc(0), opts)).toThrow(/body is empty/);
  });

  it('throws MalformedRequestError for snappy data that is not a WriteRequest', () => {
    // Field 1 (timeseries) declared with a length running past the end of the message.
    const bad = compressSync(Buffer.from([0x0a, 0x50, 0x01, 0x02]));
    expect(() => parseRemoteWrite(bad, opts)).toThrow(MalformedRequestError);
    expect(() => parseRemoteWrite(bad, opts)).toThrow(/not a valid prometheus\.WriteRequest/);
  });

  it.each([
    ['an invalid wire type', [0x0f, 0x01]],
    ['field number 0', [0x02, 0x00]],
    ['a truncated varint', [0x0a, 0x03, 0x12, 0x01, 0x10, 0xff]],
    ['a label overrunning its series', [0x0a, 0x04, 0x0a, 0x05, 0x0a, 0x00]],
    ['a truncated double', [0x0a, 0x04, 0x12, 0x02, 0x09, 0x00]],
  ])('throws MalformedRequestError for %s', (_case, bytes) => {
    expect(() => parseWriteRequest(Buffer.from(bytes), opts)).toThrow(MalformedRequestError);
    expect(() => parseWriteRequest(Buffer.from(bytes), opts)).toThrow(/prometheus\.WriteRequest/);
  });

  it('skips unknown fields (exemplars are kept: parse.exemplars.test.ts)', () => {
    const raw = Buffer.concat([
      Buffer.from(
        WriteRequest.encode(
          WriteRequest.fromObject({
            timeseries: [
              {
                ...series({ __name__: 'x' }, [[NOW, 1]]),
                exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: NOW }],
              },
            ],
          }),
        ).finish(),
      ),
      Buffer.from([0xa0, 0x06, 0x01]), // field 100, varint 1
    ]);
    const r = parseWriteRequest(raw, opts);
    expect(r.series).toEqual([{ labels: { __name__: 'x' }, t: [NOW], v: Float64Array.of(1) }]);
  });

  it('refuses a body that decompresses beyond the limit before decompressing it', () => {
    const body = encode({ timeseries: [series({ __name__: 'x' }, [[NOW, 1]])] });
    expect(() => parseRemoteWrite(body, { ...opts, maxDecompressedBytes: 4 })).toThrow(PayloadTooLargeError);
  });

  it('decodes 10k series', () => {
    const timeseries = [];
    for (let i = 0; i < 10_000; i++)
      timeseries.push(
        series({ __name__: 'load', job: 'j', instance: `i${i % 50}`, id: String(i) }, [[NOW, i]]),
      );
    const r = parseRemoteWrite(encode({ timeseries }), opts);
    expect(r.series).toHaveLength(10_000);
    expect(r.series[9999]!.v).toEqual(Float64Array.of(9999));
  });
});

describe('series cache', () => {
  /** Hand-encodes a TimeSeries with a sample between two labels (legal protobuf, unusual for senders). */
  function splitLabelsRequest(): Buffer {
    const w = WriteRequest.encode(
      WriteRequest.fromObject({ timeseries: [series({ __name__: 'split', a: 'x' }, [[NOW, 1]])] }),
    ).finish();
    // Reorder the series' fields: label(__name__), sample, label(a).
    const ts = WriteRequest.decode(w).toJSON().timeseries[0];
    const Ts = WriteRequest.lookupType('prometheus.TimeSeries');
    const Lb = WriteRequest.lookupType('prometheus.Label');
    const Sm = WriteRequest.lookupType('prometheus.Sample');
    const field = (id: number, bytes: Uint8Array) =>
      Buffer.concat([Buffer.from([(id << 3) | 2, bytes.length]), bytes]);
    const lab = (l: { name: string; value: string }) =>
      field(Ts.fields.labels!.id, Lb.encode(Lb.fromObject(l)).finish());
    const body = Buffer.concat([
      lab(ts.labels[0]),
      field(Ts.fields.samples!.id, Sm.encode(Sm.fromObject({ value: 1, timestamp: NOW })).finish()),
      lab(ts.labels[1]),
    ]);
    return compressSync(field(WriteRequest.fields.timeseries!.id, body));
  }

  it('returns the same validated label object for a series seen before', () => {
    const cache = new SeriesCache();
    const body = encode({ timeseries: [series({ __name__: 'up', job: 'a' }, [[NOW, 1]])] });
    const first = parseRemoteWrite(body, { ...opts, cache });
    const second = parseRemoteWrite(body, { ...opts, cache });
    expect(second.series[0]!.labels).toEqual({ __name__: 'up', job: 'a' });
    expect(second.series[0]!.labels).toBe(first.series[0]!.labels);
    expect(second.series[0]!.v).toEqual(Float64Array.of(1));
    expect(cache.size).toBe(1);
  });

  it('never caches an invalid series', () => {
    const cache = new SeriesCache();
    const body = encode({ timeseries: [series({ __name__: '0bad' }, [[NOW, 1]])] });
    for (let i = 0; i < 2; i++) expect(parseRemoteWrite(body, { ...opts, cache }).errors).toHaveLength(1);
    expect(cache.size).toBe(0);
  });

  it('decodes labels split by other fields completely, with or without a cache', () => {
    const cache = new SeriesCache();
    for (let i = 0; i < 2; i++) {
      const r = parseRemoteWrite(splitLabelsRequest(), { ...opts, cache });
      expect(r.series[0]!.labels).toEqual({ __name__: 'split', a: 'x' });
      expect(r.series[0]!.t).toEqual([NOW]);
    }
    expect(cache.size).toBe(0);
  });

  it('starts over when full', () => {
    const cache = new SeriesCache(2);
    for (const n of ['a', 'b', 'c'])
      parseRemoteWrite(encode({ timeseries: [series({ __name__: n }, [[NOW, 1]])] }), { ...opts, cache });
    expect(cache.size).toBe(1);
  });
});
