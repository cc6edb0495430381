import { describe, expect, it } from 'vitest';
import { modeFromParams, queriesFromParams, queriesKey, queryLetter, withQueries } from './exploreState.ts';

describe('queriesFromParams', () => {
  it.each([
    { url: '', want: [{ expr: '', legend: '', hidden: false }] },
    { url: 'q=up', want: [{ expr: 'up', legend: '', hidden: false }] },
    {
      url: 'q=rate(x[5m])&q=up&legend={{job}}&hide=1',
      want: [
        { expr: 'rate(x[5m])', legend: '{{job}}', hidden: false },
        { expr: 'up', legend: '', hidden: true },
      ],
    },
  ])('$url', ({ url, want }) => {
    expect(queriesFromParams(new URLSearchParams(url))).toEqual(want);
  });
});

describe('withQueries', () => {
  it('writes queries, keeps other parameters, and round-trips', () => {
    const qs = [
      { expr: 'sum(rate(a{x="1"}[5m]))', legend: '', hidden: false },
      { expr: '', legend: 'ignored', hidden: false },
      { expr: 'b', legend: '{{job}}', hidden: true },
    ];
    const p = withQueries(new URLSearchParams('from=now-6h&q=old&hide=0'), qs);
    expect(p.getAll('q')).toEqual(['sum(rate(a{x="1"}[5m]))', 'b']);
    expect(p.getAll('legend')).toEqual(['', '{{job}}']);
    expect(p.getAll('hide')).toEqual(['1']);
    expect(p.get('from')).toBe('now-6h');
    expect(queriesFromParams(new URLSearchParams(p.toString()))).toEqual([qs[0], qs[2]]);
  });
  it('writes no legend parameters when no query has one', () => {
    const p = withQueries(new URLSearchParams(), [{ expr: 'up', legend: '', hidden: false }]);
    expect(p.toString()).toBe('q=up');
  });
});

describe('queriesKey', () => {
  it('ignores empty rows and notices every other change', () => {
    const a = [{ expr: 'up', legend: '', hidden: false }];
    expect(queriesKey(a)).toBe(queriesKey([...a, { expr: ' ', legend: 'x', hidden: false }]));
    expect(queriesKey(a)).not.toBe(queriesKey([{ expr: 'up', legend: '', hidden: true }]));
    expect(queriesKey(a)).not.toBe(queriesKey([{ expr: 'up', legend: '{{a}}', hidden: false }]));
  });
});

describe('modeFromParams', () => {
  it.each([
    ['', 'graph'],
    ['mode=table', 'table'],
    ['mode=nonsense', 'graph'],
  ])('%j → %s', (url, want) => {
    expect(modeFromParams(new URLSearchParams(url))).toBe(want);
  });
});

describe('queryLetter', () => {
  it.each([
    [0, 'A'],
    [1, 'B'],
    [25, 'Z'],
    [26, 'AA'],
    [27, 'AB'],
  ])('%i → %s', (i, want) => {
    expect(queryLetter(i)).toBe(want);
  });
});
