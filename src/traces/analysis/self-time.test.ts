import { describe, expect, it } from 'vitest';
import { id16, sp } from './fixtures.ts';
import { selfTimes } from './self-time.ts';
import { reconstruct } from './tree.ts';

const MS = 1_000_000;

describe('selfTimes', () => {
  it.each([
    ['no children', [sp('a', '', 's', 0, 100)], 100],
    ['one child', [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 10, 40)], 70],
    [
      'overlapping children count once',
      [
        sp('a', '', 's', 0, 100),
        sp('b', 'a', 's', 10, 40),
        sp('c', 'a', 's', 30, 60),
        sp('d', 'a', 's', 35, 50),
      ],
      50,
    ],
    [
      'a child running past the parent is clipped to it',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 10, 60), sp('c', 'a', 's', 90, 120)],
      40,
    ],
    [
      'a child entirely after the parent takes nothing',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 150, 160)],
      100,
    ],
    [
      'grandchildren do not count against the root',
      [sp('a', '', 's', 0, 100), sp('b', 'a', 's', 10, 20), sp('c', 'b', 's', 12, 80)],
      90,
    ],
  ])('%s', (_name, spans, expectedMs) => {
    const t = reconstruct(spans);
    expect(selfTimes(t)[t.byId.get(id16('a'))!]).toBe(expectedMs * MS);
  });
});
