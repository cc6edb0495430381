import { describe, expect, it } from 'vitest';
import {
  intervalContains,
  parseDaysOfMonth,
  parseMonths,
  parseTimes,
  parseWeekdays,
  parseYears,
  type TimeInterval,
} from './timeintervals.ts';

const at = (s: string) => Date.parse(s);

describe('time intervals', () => {
  const officeHours: TimeInterval = {
    weekdays: parseWeekdays(['monday:friday']),
    times: parseTimes([{ start_time: '09:00', end_time: '17:00' }]),
  };

  it.each([
    ['2026-03-02T09:00:00Z', true], // Monday, start inclusive
    ['2026-03-02T16:59:59Z', true],
    ['2026-03-02T17:00:00Z', false], // end exclusive
    ['2026-03-07T10:00:00Z', false], // Saturday
  ])('office hours at %s: %s', (t, want) => {
    expect(intervalContains(officeHours, at(t))).toBe(want);
  });

  it('evaluates in the configured location, across daylight saving time', () => {
    const ti: TimeInterval = {
      times: parseTimes([{ start_time: '09:00', end_time: '10:00' }]),
      location: 'America/New_York',
    };
    expect(intervalContains(ti, at('2026-01-15T14:30:00Z'))).toBe(true); // EST, UTC-5
    expect(intervalContains(ti, at('2026-07-15T13:30:00Z'))).toBe(true); // EDT, UTC-4
    expect(intervalContains(ti, at('2026-07-15T14:30:00Z'))).toBe(false);
  });

  it('counts negative days of the month from the end', () => {
    const last: TimeInterval = { daysOfMonth: parseDaysOfMonth(['-1']) };
    expect(intervalContains(last, at('2028-02-29T12:00:00Z'))).toBe(true); // leap year
    expect(intervalContains(last, at('2028-02-28T12:00:00Z'))).toBe(false);
    const range: TimeInterval = { daysOfMonth: parseDaysOfMonth(['1:5', '-3:-1']) };
    expect(intervalContains(range, at('2026-04-28T00:00:00Z'))).toBe(true);
    expect(intervalContains(range, at('2026-04-10T00:00:00Z'))).toBe(false);
  });

  it('matches months by name or number and years', () => {
    const ti: TimeInterval = { months: parseMonths(['december', '1:2']), years: parseYears(['2026:2027']) };
    expect(intervalContains(ti, at('2026-12-24T00:00:00Z'))).toBe(true);
    expect(intervalContains(ti, at('2027-02-01T00:00:00Z'))).toBe(true);
    expect(intervalContains(ti, at('2026-06-01T00:00:00Z'))).toBe(false);
    expect(intervalContains(ti, at('2028-01-01T00:00:00Z'))).toBe(false);
  });

  it('allows 24:00 as an end time', () => {
    const ti: TimeInterval = { times: parseTimes([{ start_time: '18:00', end_time: '24:00' }]) };
    expect(intervalContains(ti, at('2026-01-01T23:59:00Z'))).toBe(true);
  });

  it.each([
    () => parseTimes([{ start_time: '25:00', end_time: '26:00' }]),
    () => parseTimes([{ start_time: '10:00' }]),
    () => parseWeekdays(['friday:monday']),
    () => parseDaysOfMonth(['0']),
    () => parseDaysOfMonth(['10:2']),
    () => parseMonths(['13']),
    () => parseYears(['2030:2020']),
  ])('rejects invalid ranges (%#)', (fn) => {
    expect(fn).toThrow();
  });
});
