import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { SeriesCache, parseRemoteWrite } from './parse.ts';
import { WriteRequest } from './proto.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

type Pairs = [string, string][];
const labels = (pairs: Pairs) => pairs.map(([name, value]) => ({ name, value }));

function body(series: { labels: Pairs; exemplars: { labels: Pairs; value: number; timestamp: number }[] }[]) {
  return compressSync(
    Buffer.from(
      WriteRequest.encode(
        WriteRequest.fromObject({
          timeseries: series.map((s) => ({
            labels: labels(s.labels),
            samples: [{ value: 1, timestamp: NOW - 1000 }],
            exemplars: s.exemplars.map((e) => ({ ...e, labels: labels(e.labels) })),
          })),
        }),
      ).finish(),
    ),
  );
}

const opts = { now: NOW, limits: DEFAULT_INGEST_LIMITS };
const SERIES: Pairs = [
  ['__name__', 'http_request_duration_seconds_bucket'],
  ['le', '0.5'],
];

describe('remote-write exemplars', () => {
  it('keeps TimeSeries.exemplars with the labels of their series', () => {
    const r = parseRemoteWrite(
      body([
        {
          labels: SERIES,
          exemplars: [
            { labels: [['trace_id', TRACE]], value: 0.42, timestamp: NOW - 1500 },
            {
              labels: [
                ['trace_id', TRACE.replace('4', '5')],
                ['span_id', '00f067aa0ba902b7'],
              ],
              value: 0.3,
              timestamp: NOW - 900,
            },
          ],
        },
      ]),
      opts,
    );
    expect(r.errors).toEqual([]);
    expect(r.exemplarDrops).toEqual([]);
    expect(r.exemplars).toEqual([
      {
        seriesLabels: { __name__: 'http_request_duration_seconds_bucket', le: '0.5' },
        labels: { trace_id: TRACE },
        value: 0.42,
        t: NOW - 1500,
      },
      {
        seriesLabels: { __name__: 'http_request_duration_seconds_bucket', le: '0.5' },
        labels: { trace_id: TRACE.replace('4', '5'), span_id: '00f067aa0ba902b7' },
        value: 0.3,
        t: NOW - 900,
      },
    ]);
  });

  it('keeps exemplars of a series whose labels come from the series cache', () => {
    const cache = new SeriesCache();
    const b = body([
      { labels: SERIES, exemplars: [{ labels: [['trace_id', TRACE]], value: 1, timestamp: NOW }] },
    ]);
    parseRemoteWrite(b, { ...opts, cache });
    const r = parseRemoteWrite(b, { ...opts, cache });
    expect(r.exemplars!.map((e) => e.seriesLabels)).toEqual([
      { __name__: 'http_request_duration_seconds_bucket', le: '0.5' },
    ]);
  });

  it.each<[string, Pairs, number, string, RegExp]>([
    ['labels over 128 characters', [['trace_id', 'é'.repeat(121)]], NOW, 'labels_too_long', /129 characters/],
    [
      'an invalid label name',
      [['trace-id', TRACE]],
      NOW,
      'invalid_exemplar',
      /invalid exemplar label name "trace-id"/,
    ],
    [
      'a duplicate label name',
      [
        ['a', '1'],
        ['a', '2'],
      ],
      NOW,
      'invalid_exemplar',
      /duplicate exemplar label name "a"/,
    ],
    ['a timestamp far ahead', [['trace_id', TRACE]], NOW + 3_600_000, 'too_far_in_future', /in the future/],
  ])(
    'skips and counts an exemplar with %s; samples are kept',
    (_what, exLabels, timestamp, reason, message) => {
      const r = parseRemoteWrite(
        body([
          {
            labels: SERIES,
            exemplars: [
              { labels: exLabels, value: 1, timestamp },
              { labels: [['trace_id', TRACE]], value: 2, timestamp: NOW },
            ],
          },
        ]),
        opts,
      );
      expect(r.errors).toEqual([]);
      expect(r.series).toHaveLength(1);
      expect(r.exemplars!.map((e) => e.value)).toEqual([2]);
      expect(r.exemplarDrops).toHaveLength(1);
      expect(r.exemplarDrops![0]!.reason).toBe(reason);
      expect(r.exemplarDrops![0]!.message).toMatch(message);
      expect(r.exemplarDrops![0]!.message).toMatch(
        /timeseries\[0\] \(http_request_duration_seconds_bucket\)\.exemplars\[0\]/,
      );
    },
  );

  it('keeps labels of exactly 128 characters, counted as code points', () => {
    const r = parseRemoteWrite(
      body([
        {
          labels: SERIES,
          exemplars: [{ labels: [['trace_id', 'é'.repeat(120)]], value: 1, timestamp: NOW }],
        },
      ]),
      opts,
    );
    expect(r.exemplars).toHaveLength(1);
  });

  it('counts the exemplars of a refused series as invalid_series', () => {
    const r = parseRemoteWrite(
      body([
        {
          labels: [['__name__', '1bad']],
          exemplars: [{ labels: [['trace_id', TRACE]], value: 1, timestamp: NOW }],
        },
      ]),
      opts,
    );
    expect(r.errors).toHaveLength(1);
    expect(r.exemplars).toEqual([]);
    expect(r.exemplarDrops!.map((d) => d.reason)).toEqual(['invalid_series']);
  });

  it('returns no exemplar fields when the request has none', () => {
    const r = parseRemoteWrite(body([{ labels: SERIES, exemplars: [] }]), opts);
    expect(r.exemplars).toBeUndefined();
    expect(r.exemplarDrops).toBeUndefined();
  });
});
