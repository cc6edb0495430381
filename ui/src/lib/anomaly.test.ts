import { describe, expect, it } from 'vitest';
import { bandsForChart, labelsKey, type BandData } from './anomaly.ts';
import type { ChartData } from './series.ts';

const chart: ChartData = {
  times: [100, 110, 120, 130],
  series: [
    { key: 'q0-a', label: 'a', metric: { job: 'x', instance: 'a' }, query: 0, values: [1, 2, 9, 3] },
    { key: 'q0-b', label: 'b', metric: { job: 'x', instance: 'b' }, query: 0, values: [5, 5, 5, 5] },
    { key: 'q1-a', label: 'a', metric: { instance: 'a', job: 'x' }, query: 1, values: [1, 1, 1, 1] },
  ],
};

const band = (series: BandData['series'], timestamps = [110, 120, 130]): BandData => ({
  timestamps,
  step: 10,
  threshold: 0.8,
  series,
});

describe('bandsForChart', () => {
  it('matches series by query and labels (in any order) and aligns them to the chart times', () => {
    const bands = bandsForChart(chart, [
      band([
        {
          // Labels in another order than the chart's: still the same series.
          metric: { instance: 'a', job: 'x' },
          values: [2, 9, 3],
          expected: [2, 2.5, 3],
          lower: [1, 1.5, 2],
          upper: [3, 3.5, 4],
          score: [0, 0.97, 0.1],
          anomalies: [{ t: 120, value: 9, score: 0.97 }],
        },
      ]),
      undefined, // query 1's band failed
    ]);
    expect([...bands.keys()]).toEqual(['q0-a']);
    expect(bands.get('q0-a')).toEqual({
      lower: [null, 1, 1.5, 2],
      upper: [null, 3, 3.5, 4],
      score: [null, 0, 0.97, 0.1],
      anomalies: [2],
    });
  });

  it('ignores band timestamps that are not on the chart (a live chart moved on)', () => {
    const bands = bandsForChart(chart, [
      band(
        [
          {
            metric: { job: 'x', instance: 'b' },
            values: [5, 5],
            expected: [5, 5],
            lower: [4, 4],
            upper: [6, 6],
            score: [0.9, 0],
            anomalies: [],
          },
        ],
        [90, 130],
      ),
    ]);
    expect(bands.get('q0-b')).toEqual({
      lower: [null, null, null, 4],
      upper: [null, null, null, 6],
      score: [null, null, null, 0],
      anomalies: [],
    });
  });
});

it('labelsKey does not depend on label order', () => {
  expect(labelsKey({ a: '1', b: '2' })).toBe(labelsKey({ b: '2', a: '1' }));
  expect(labelsKey({ a: '1' })).not.toBe(labelsKey({ a: '2' }));
});
