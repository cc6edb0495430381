import { describe, expect, it } from 'vitest';
import { alignMatrices, appendPoints, stack } from './series.ts';
import { formatSeries, formatValue, legendFor } from './format.ts';

describe('alignMatrices', () => {
  it('puts every query on one grid and leaves gaps where samples are missing', () => {
    const d = alignMatrices(
      [
        {
          series: [
            {
              metric: { __name__: 'a', job: 'x' },
              values: [
                [10, '1'],
                [30, '3'],
              ],
            },
          ],
        },
        { series: [{ metric: { job: 'y' }, values: [[20, '2']] }], legend: '{{job}}' },
      ],
      { start: 10, end: 30, step: 10 },
    );
    expect(d.times).toEqual([10, 20, 30]);
    expect(d.series.map((s) => s.values)).toEqual([
      [1, null, 3],
      [null, 2, null],
    ]);
    expect(d.series[1]!.label).toBe('y');
    expect(d.series[1]!.query).toBe(1);
  });
  it('draws NaN, stale markers and infinities as gaps', () => {
    const d = alignMatrices([
      {
        series: [
          {
            metric: {},
            values: [
              [1, 'NaN'],
              [2, '+Inf'],
              [3, '4'],
            ],
          },
        ],
      },
    ]);
    expect(d.series[0]!.values).toEqual([null, null, 4]);
  });
});

describe('appendPoints', () => {
  it('extends the axis, adds new series and drops points older than the window', () => {
    const base = alignMatrices(
      [
        {
          series: [
            {
              metric: { a: '1' },
              values: [
                [10, '1'],
                [20, '2'],
              ],
            },
          ],
        },
      ],
      {
        start: 10,
        end: 20,
        step: 10,
      },
    );
    const next = appendPoints(
      base,
      [
        { query: 0, metric: { a: '1' }, values: [[30, '3']] },
        { query: 0, metric: { a: '2' }, values: [[30, '9']] },
      ],
      [undefined],
      15,
    );
    expect(next.times).toEqual([20, 30]);
    expect(next.series.map((s) => s.values)).toEqual([
      [2, 3],
      [null, 9],
    ]);
  });
});

describe('stack', () => {
  it('accumulates visible values and keeps each series gap', () => {
    expect(
      stack([
        [1, 2, null],
        [1, null, 1],
      ]),
    ).toEqual([
      [1, 2, null],
      [2, null, 1],
    ]);
  });
});

describe('formatting', () => {
  it('prints series like Prometheus, escaping quotes', () => {
    expect(formatSeries({ __name__: 'up', job: 'a"b' })).toBe('up{job="a\\"b"}');
    expect(formatSeries({})).toBe('{}');
  });
  it('fills legend templates and leaves unknown labels empty', () => {
    expect(legendFor('{{job}}/{{ instance }}/{{nope}}', { job: 'j', instance: 'i' })).toBe('j/i/');
  });
  it.each([
    [1536, 'bytes', '1.5 KiB'],
    [0.25, 'percentunit', '25%'],
    [0.0042, 's', '4.2 ms'],
    [12_500, 'short', '12.5k'],
    [null, 'short', '–'],
    [NaN, 'short', 'NaN'],
    [-Infinity, 'short', '-Inf'],
  ])('formats %s as %s', (v, unit, out) => expect(formatValue(v as number | null, unit)).toBe(out));
});
