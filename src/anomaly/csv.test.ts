import { describe, expect, it } from 'vitest';
import { parseLine, parseTimestamp } from './csv.ts';

describe('parseTimestamp', () => {
  it.each<[string, number]>([
    ['1767225600', 1_767_225_600],
    ['1767225600.5', 1_767_225_600.5],
    ['1767225600000', 1_767_225_600],
    ['1767225600123', 1_767_225_600.123],
    ['2026-01-01T00:00:00Z', 1_767_225_600],
    ['2026-01-01T01:00:00+01:00', 1_767_225_600],
    ['2026-01-01 00:00:00.250Z', 1_767_225_600.25],
    ['0', 0],
  ])('%s', (s, want) => expect(parseTimestamp(s)).toBeCloseTo(want, 6));

  it.each(['', 'yesterday', '2026-01-01', '2026-01-01T00:00:00', '12:00', '0x10'])('rejects %j', (s) =>
    expect(parseTimestamp(s)).toBeNaN(),
  );
});

describe('parseLine', () => {
  it.each<[string, boolean, unknown]>([
    ['1767225600,1.5', false, { kind: 'row', row: { t: 1_767_225_600, value: 1.5 } }],
    [
      ' 1767225600 , -2e3 \r',
      false,
      { kind: 'row', row: { t: 1_767_225_600, value: -2000, rawValue: '-2e3' } },
    ],
    ['', false, { kind: 'blank' }],
    ['   ', true, { kind: 'blank' }],
    ['timestamp,value', true, { kind: 'header' }],
    ['time,value,extra', true, { kind: 'header' }],
  ])('%j (first: %s)', (line, first, want) => expect(parseLine(line, first)).toMatchObject(want as object));

  it.each<[string, boolean, RegExp]>([
    ['timestamp,value', false, /timestamp "timestamp" is neither RFC 3339/],
    ['1767225600', false, /expected 2 comma-separated fields \(timestamp,value\), got 1/],
    ['1767225600,1,2', true, /expected 2 comma-separated fields/],
    ['1767225600,abc', false, /value "abc" is not a finite number/],
    ['1767225600,NaN', false, /value "NaN" is not a finite number/],
    ['1767225600,Infinity', false, /not a finite number/],
    ['1767225600,', false, /value "" is not a finite number/],
    ['soon,1', true, /timestamp "soon" is neither/],
  ])('%j is an error', (line, first, msg) => {
    const r = parseLine(line, first);
    expect(r.kind).toBe('error');
    expect((r as { message: string }).message).toMatch(msg);
  });
});
