import { describe, expect, it } from 'vitest';
import type { Shift } from '../../lib/oncall.ts';
import {
  colourIndex,
  dayTicks,
  formatMinutes,
  overrideProblems,
  place,
  stepStarts,
  timelineRows,
} from './model.ts';

describe('place', () => {
  it.each([
    ['inside', { start: 25, end: 50 }, [{ left: 25, width: 25 }]],
    ['clipped at the start', { start: -10, end: 10 }, [{ left: 0, width: 10 }]],
    ['clipped at the end', { start: 90, end: 200 }, [{ left: 90, width: 10 }]],
    ['outside', { start: 100, end: 120 }, []],
    ['empty', { start: 40, end: 40 }, []],
  ])('%s', (_name, item, want) => {
    expect(place([item], 0, 100).map(({ left, width }) => ({ left, width }))).toEqual(want);
  });
  it('places nothing on an empty window', () => expect(place([{ start: 0, end: 1 }], 5, 5)).toEqual([]));
});

describe('dayTicks', () => {
  it('gives each local midnight inside the window', () => {
    const from = new Date(2026, 2, 1, 0, 0).getTime();
    const to = new Date(2026, 2, 4, 12, 0).getTime();
    expect(dayTicks(from, to).map((t) => new Date(t).getDate())).toEqual([1, 2, 3, 4]);
    expect(dayTicks(from + 1, to).map((t) => new Date(t).getDate())).toEqual([2, 3, 4]);
  });
});

describe('timelineRows', () => {
  it('splits final shifts by layer, overrides on their own row, and keeps the final row whole', () => {
    const shifts: Shift[] = [
      { user: 'ana', start: 0, end: 10, layer: 'primary' },
      { user: 'bo', start: 10, end: 20, override: true },
      { user: 'cy', start: 20, end: 30, layer: 'business-hours' },
    ];
    const rows = timelineRows(['primary', 'business-hours'], shifts);
    expect(rows.map((r) => [r.key, r.shifts.map((s) => s.user)])).toEqual([
      ['layer:primary', ['ana']],
      ['layer:business-hours', ['cy']],
      ['overrides', ['bo']],
      ['final', ['ana', 'bo', 'cy']],
    ]);
  });
});

describe('colourIndex', () => {
  it('gives people colours in order of appearance, wrapping around', () => {
    const m = colourIndex(['a', 'b', 'a', 'c'], 2);
    expect([...m]).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 0],
    ]);
  });
});

describe('overrideProblems', () => {
  it.each([
    [{ user: 'ana', start: '2026-12-01T09:00', end: '2026-12-01T17:00' }, {}],
    [
      { user: '', start: '', end: '' },
      {
        user: 'choose who takes the override',
        start: 'give a start date and time',
        end: 'give an end date and time',
      },
    ],
    [
      { user: 'ana', start: '2026-12-01T17:00', end: '2026-12-01T09:00' },
      { end: 'the end must be after the start' },
    ],
  ])('%o', (o, want) => expect(overrideProblems(o)).toEqual(want));
});

describe('policies', () => {
  it.each([
    [30_000, '30 s'],
    [300_000, '5 min'],
    [90_000, '1.5 min'],
    [7_200_000, '2 h'],
    [5_400_000, '90 min'],
  ])('formatMinutes(%i) = %s', (ms, want) => expect(formatMinutes(ms)).toBe(want));
  it('starts each step after the delays of the ones before it', () => {
    expect(
      stepStarts({
        steps: [
          { targets: [], delayMs: 5 },
          { targets: [], delayMs: 10 },
          { targets: [], delayMs: 1 },
        ],
      }),
    ).toEqual([0, 5, 15]);
  });
});
