import { describe, expect, it } from 'vitest';
import { addToHistory, filterHistory, HISTORY_KEY, loadHistory, saveHistory } from './history.ts';

function memoryStorage(initial?: string) {
  const m = new Map<string, string>();
  if (initial !== undefined) m.set(HISTORY_KEY, initial);
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    map: m,
  };
}

describe('addToHistory', () => {
  it.each([
    { name: 'adds to the front', list: ['a'], add: ['b'], want: ['b', 'a'] },
    { name: 'moves a repeated entry to the front', list: ['a', 'b', 'c'], add: ['c'], want: ['c', 'a', 'b'] },
    { name: 'keeps run order for several', list: ['x'], add: ['a', 'b'], want: ['b', 'a', 'x'] },
    { name: 'trims and drops blanks', list: [], add: ['  up  ', '', '   '], want: ['up'] },
    { name: 'dedupes within one run', list: [], add: ['up', 'up'], want: ['up'] },
  ])('$name', ({ list, add, want }) => {
    expect(addToHistory(list, add)).toEqual(want);
  });

  it('caps the list', () => {
    const list = Array.from({ length: 50 }, (_, i) => `q${i}`);
    const out = addToHistory(list, ['new']);
    expect(out).toHaveLength(50);
    expect(out[0]).toBe('new');
    expect(out.at(-1)).toBe('q48');
  });
});

describe('filterHistory', () => {
  const list = ['rate(http_requests_total[5m])', 'up', 'sum by (job) (rate(x[1m]))'];
  it.each([
    ['', list],
    ['RATE', [list[0], list[2]]],
    ['rate job', [list[2]]],
    ['nothing', []],
  ])('%j', (text, want) => {
    expect(filterHistory(list, text)).toEqual(want);
  });
});

describe('loadHistory / saveHistory', () => {
  it('round-trips', () => {
    const s = memoryStorage();
    saveHistory(['b', 'a'], s);
    expect(loadHistory(s)).toEqual(['b', 'a']);
  });
  it.each([
    ['not JSON', '{'],
    ['not an array', '{"a":1}'],
  ])('ignores %s', (_n, raw) => {
    expect(loadHistory(memoryStorage(raw))).toEqual([]);
  });
  it('keeps only distinct strings, in order', () => {
    expect(loadHistory(memoryStorage(JSON.stringify(['a', 3, 'b', 'a', null, ''])))).toEqual(['a', 'b']);
  });
  it('survives storage that throws', () => {
    const bad = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('full');
      },
    };
    expect(loadHistory(bad)).toEqual([]);
    expect(() => saveHistory(['a'], bad)).not.toThrow();
  });
  it('works without storage', () => {
    expect(loadHistory(undefined)).toEqual([]);
  });
});
