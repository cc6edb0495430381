import { describe, expect, it } from 'vitest';
import {
  alignToStep,
  describeRange,
  formatDuration,
  isRelative,
  parseDuration,
  resolveRange,
  resolveTime,
  stepFor,
} from './time.ts';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['250ms', 250],
  ])('parses %s', (s, ms) => expect(parseDuration(s)).toBe(ms));
  it.each(['', '5', 'h', '-5m', '5 m', '0s'])('refuses %j', (s) => expect(parseDuration(s)).toBeUndefined());
  it.each([
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [86_400_000 * 30, '4w2d'],
  ])('formats %d', (ms, s) => expect(formatDuration(ms)).toBe(s));
});

describe('time specs', () => {
  it('resolves now, relative, epoch milliseconds and ISO dates', () => {
    expect(resolveTime('now', NOW)).toBe(NOW);
    expect(resolveTime('now-1h', NOW)).toBe(NOW - 3_600_000);
    expect(resolveTime(String(NOW - 5), NOW)).toBe(NOW - 5);
    expect(resolveTime('2026-11-27T11:00:00Z', NOW)).toBe(NOW - 3_600_000);
  });
  it.each(['now-', 'now-5x', 'yesterday', ''])('explains what is wrong with %j', (s) => {
    expect(() => resolveTime(s, NOW)).toThrow(/not a/);
  });
  it('refuses a range whose start is not before its end', () => {
    expect(() => resolveRange({ from: 'now', to: 'now-1h' }, NOW)).toThrow(/before its end/);
  });
  it('knows relative ranges and describes ranges', () => {
    expect(isRelative({ from: 'now-6h', to: 'now' })).toBe(true);
    expect(isRelative({ from: String(NOW - 1000), to: 'now' })).toBe(false);
    expect(describeRange({ from: 'now-24h', to: 'now' }, NOW)).toBe('Last 24 hours');
    expect(describeRange({ from: 'now-90m', to: 'now' }, NOW)).toBe('Last 90m');
    expect(describeRange({ from: String(NOW - 60_000), to: String(NOW) }, NOW)).toMatch(/ to /);
  });
});

describe('steps', () => {
  it('rounds the step up to a familiar value', () => {
    expect(stepFor({ start: NOW - 3_600_000, end: NOW }, 300)).toBe(15);
    expect(stepFor({ start: NOW - 86_400_000, end: NOW }, 300)).toBe(300);
    expect(stepFor({ start: NOW - 60_000, end: NOW }, 300, 10)).toBe(10);
  });
  it('aligns both ends to the step so refreshes share one grid', () => {
    const a = alignToStep({ start: NOW - 3_600_000 + 7_000, end: NOW + 7_000 }, 15);
    expect(a.end % 15).toBe(0);
    expect(a.start % 15).toBe(0);
    expect(a.end).toBe(NOW / 1000);
  });
});
