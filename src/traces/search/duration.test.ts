import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './duration.ts';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0n],
    ['1ns', 1n],
    ['1.2ms', 1_200_000n],
    ['300us', 300_000n],
    ['300µs', 300_000n],
    ['2s', 2_000_000_000n],
    ['.5s', 500_000_000n],
    ['1.5h', 5_400_000_000_000n],
    ['1h15m30.5s', 4_530_500_000_000n],
    ['-1.5s', -1_500_000_000n],
    ['+3m', 180_000_000_000n],
  ])('%s', (s, ns) => {
    expect(parseGoDuration(s)).toBe(ns);
  });

  it.each(['', '5', 'abc', '1d', '1.2.3s', '-', 'ms', '1s ', '9999999999h'])('refuses %j', (s) => {
    expect(() => parseGoDuration(s)).toThrow(/invalid duration/);
  });
});
