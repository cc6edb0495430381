import { describe, expect, it } from 'vitest';
import {
  formatSort,
  labelColumns,
  nextSort,
  parseSort,
  sortRows,
  tableRows,
  type TableRow,
} from './table.ts';

const row = (metric: Record<string, string>, value: number): TableRow => ({
  key: JSON.stringify(metric),
  metric,
  value,
  text: String(value),
  time: 1,
});

describe('tableRows', () => {
  it('turns a vector into one row per series', () => {
    const t = tableRows({
      resultType: 'vector',
      result: [
        { metric: { __name__: 'up', job: 'a' }, value: [10, '1'] },
        { metric: { job: 'b' }, value: [10, 'NaN'] },
      ],
    });
    expect(t.resultType).toBe('vector');
    expect(t.rows.map((r) => [r.metric.job, r.value, r.text, r.time])).toEqual([
      ['a', 1, '1', 10],
      ['b', NaN, 'NaN', 10],
    ]);
  });
  it('keeps a range vector’s samples and sorts by the last one', () => {
    const t = tableRows({
      resultType: 'matrix',
      result: [
        {
          metric: { job: 'a' },
          values: [
            [1, '5'],
            [2, '+Inf'],
          ],
        },
      ],
    });
    expect(t.rows[0]).toMatchObject({
      value: Infinity,
      text: '+Inf',
      time: 2,
      samples: [
        [1, '5'],
        [2, '+Inf'],
      ],
    });
  });
  it.each([
    ['scalar', 3, '3'],
    ['string', NaN, 'hello'],
  ] as const)('gives one row for a %s', (resultType, value, text) => {
    const t = tableRows({ resultType, result: [7, text] });
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0]).toMatchObject({ value, text, time: 7, metric: {} });
  });
});

describe('labelColumns', () => {
  it('puts __name__ first and sorts the rest', () => {
    expect(labelColumns([row({ zone: 'x', __name__: 'm' }, 1), row({ app: 'y' }, 2)])).toEqual([
      '__name__',
      'app',
      'zone',
    ]);
  });
});

describe('sort parameters', () => {
  it.each([
    [null, { col: 'value', desc: true }],
    ['job', { col: 'job', desc: false }],
    ['-value', { col: 'value', desc: true }],
  ])('parseSort(%j)', (s, want) => {
    expect(parseSort(s)).toEqual(want);
    expect(parseSort(formatSort(want))).toEqual(want);
  });
  it.each([
    [{ col: 'value', desc: true }, 'value', { col: 'value', desc: false }],
    [{ col: 'value', desc: true }, 'job', { col: 'job', desc: false }],
    [{ col: 'job', desc: false }, 'value', { col: 'value', desc: true }],
  ])('nextSort(%j, %s)', (cur, col, want) => {
    expect(nextSort(cur, col)).toEqual(want);
  });
});

describe('sortRows', () => {
  const rows = [
    row({ i: 'a10' }, 3),
    row({ i: 'a2' }, NaN),
    row({}, 1),
    row({ i: 'a1' }, 10),
    row({ i: 'b' }, 1),
  ];
  const ids = (rs: TableRow[]) => rs.map((r) => r.metric.i ?? '-');
  it.each([
    [{ col: 'value', desc: true }, ['a1', 'a10', '-', 'b', 'a2']],
    [{ col: 'value', desc: false }, ['-', 'b', 'a10', 'a1', 'a2']],
    [{ col: 'i', desc: false }, ['a1', 'a2', 'a10', 'b', '-']],
    [{ col: 'i', desc: true }, ['b', 'a10', 'a2', 'a1', '-']],
  ])('%j', (sort, want) => {
    expect(ids(sortRows(rows, sort))).toEqual(want);
  });
  it('does not change its input', () => {
    const copy = [...rows];
    sortRows(rows, { col: 'value', desc: true });
    expect(rows).toEqual(copy);
  });
});
