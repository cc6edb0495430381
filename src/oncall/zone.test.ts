import { describe, expect, it } from 'vitest';
import { parseWall } from './resolve.ts';
import { offsetAt, rawOffset, utcToWall, wallToUtc } from './zone.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

describe('wallToUtc', () => {
  // [zone, wall clock, expected UTC, why]
  const cases: [string, string, string, string][] = [
    ['Europe/Berlin', '2026-03-29T01:59', '2026-03-29T00:59Z', 'last minute before spring-forward'],
    ['Europe/Berlin', '2026-03-29T02:30', '2026-03-29T01:00Z', 'gap: moves to the transition (03:00 CEST)'],
    ['Europe/Berlin', '2026-03-29T02:00', '2026-03-29T01:00Z', 'gap start'],
    ['Europe/Berlin', '2026-03-29T03:00', '2026-03-29T01:00Z', 'first valid wall time after the gap'],
    ['Europe/Berlin', '2026-10-25T02:30', '2026-10-25T00:30Z', 'fold: first occurrence (CEST)'],
    ['Europe/Berlin', '2026-10-25T03:00', '2026-10-25T02:00Z', 'after the fold (CET)'],
    ['Europe/Berlin', '2026-07-01T09:00', '2026-07-01T07:00Z', 'summer'],
    ['America/New_York', '2026-03-08T02:30', '2026-03-08T07:00Z', 'gap: moves to 03:00 EDT'],
    ['America/New_York', '2026-11-01T01:30', '2026-11-01T05:30Z', 'fold: first occurrence (EDT)'],
    ['America/New_York', '2026-11-01T02:00', '2026-11-01T07:00Z', 'after the fold (EST)'],
    ['Asia/Kolkata', '2026-03-29T09:00', '2026-03-29T03:30Z', 'no DST, half-hour offset'],
    ['UTC', '2026-03-29T02:30', '2026-03-29T02:30Z', 'UTC'],
    ['Australia/Lord_Howe', '2026-10-04T02:15', '2026-10-03T15:30Z', 'half-hour DST gap'],
    ['Australia/Lord_Howe', '2026-04-05T01:45', '2026-04-04T14:45Z', 'half-hour fold: first occurrence'],
  ];
  it.each(cases)('%s %s -> %s (%s)', (tz, wall, want) => {
    expect(iso(wallToUtc(tz, parseWall(wall)!))).toBe(want);
  });
});

describe('utcToWall / wallToUtc round trip', () => {
  // Every 15 minutes of 2026: converting the shown wall time back gives an instant showing the same wall
  // time, and never a later one (folds resolve to the first occurrence).
  it.each(['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'])('%s', (tz) => {
    let bad = 0;
    for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += 15 * 60_000) {
      const w = utcToWall(tz, t);
      const back = wallToUtc(tz, w);
      if (back > t || JSON.stringify(utcToWall(tz, back)) !== JSON.stringify(w)) bad++;
    }
    expect(bad).toBe(0);
  });
});

describe('offsetAt (per-year transition table) agrees with Intl', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'America/St_Johns',
    'Africa/Casablanca',
    'UTC',
  ];
  it.each(zones)('%s: random instants 1990-2040 and one second either side of each change', (tz) => {
    let seed = 7;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const from = at('1990-01-01T00:00:00Z');
    const to = at('2040-01-01T00:00:00Z');
    const mismatches: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = from + Math.floor(rand() * (to - from));
      if (offsetAt(tz, t) !== rawOffset(tz, t)) mismatches.push(new Date(t).toISOString());
    }
    // Walk hour by hour through 2026 and check each side of every offset change exactly.
    for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += 3_600_000) {
      if (rawOffset(tz, t) === rawOffset(tz, t + 3_600_000)) continue;
      for (let s = t; s <= t + 3_600_000; s += 1000)
        if (offsetAt(tz, s) !== rawOffset(tz, s)) mismatches.push(new Date(s).toISOString());
    }
    expect(mismatches).toEqual([]);
  });
});
