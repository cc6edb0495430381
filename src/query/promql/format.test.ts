import { describe, expect, it } from 'vitest';
import { goG } from './annotations.ts';
import { formatExpr, formatPromDuration, formatValue, goQuote, prettyExpr } from './format.ts';
import { parse } from './parser.ts';

describe('formatValue (Go strconv.FormatFloat(v, "f", -1, 64))', () => {
  it.each([
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-2.5, '-2.5'],
    [0.1, '0.1'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [-1e21, '-1000000000000000000000'],
    [1e-7, '0.0000001'],
    [1.234e-10, '0.0000000001234'],
    [123456789012345680000, '123456789012345680000'],
    [5e-324, '0.' + '0'.repeat(323) + '5'],
    [1.7976931348623157e308, '17976931348623157' + '0'.repeat(292)],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1 / 3, '0.3333333333333333'],
  ])('%d', (v, s) => {
    expect(formatValue(v)).toBe(s);
  });
});

describe('goQuote (Go strconv.Quote)', () => {
  it.each([
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\x07\b\f\n\r\t\v', '"\\a\\b\\f\\n\\r\\t\\v"'],
    ['\x00\x7f', '"\\x00\\x7f"'],
    ['é ü 日本', '"é ü 日本"'],
    ['\u200b', '"\\u200b"'],
  ])('%j', (s, q) => {
    expect(goQuote(s)).toBe(q);
  });
});

describe('formatPromDuration (Prometheus model.Duration)', () => {
  it.each([
    [0, '0s'],
    [90 * 60_000, '1h30m'],
    [90 * 86_400_000, '90d'],
    [14 * 86_400_000, '2w'],
    [365 * 86_400_000, '1y'],
    [366 * 86_400_000, '366d'],
    [1500, '1s500ms'],
  ])('%d', (ms, s) => {
    expect(formatPromDuration(ms)).toBe(s);
  });
});

describe('goG (Go %g)', () => {
  it.each([
    [1.5, '1.5'],
    [-2, '-2'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [1e6, '1e+06'],
    [123456, '123456'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
  ])('%d', (v, s) => {
    expect(goG(v)).toBe(s);
  });
});

describe('formatExpr and prettyExpr', () => {
  it('prints like Prometheus String()', () => {
    expect(formatExpr(parse('sum(x{b="1",a=~"2"} offset 5m @ 10) by (job)'))).toBe(
      'sum by (job) (x{a=~"2",b="1"} @ 10.000 offset 5m)',
    );
    expect(formatExpr(parse('a + on() group_right b'))).toBe('a + on () group_right () b');
    expect(formatExpr(parse('a and ignoring() b'))).toBe('a and b');
    expect(formatExpr(parse('sum by () (x)'))).toBe('sum(x)');
  });

  it('keeps short expressions on one line and splits long ones', () => {
    expect(prettyExpr(parse('rate(x[5m])'))).toBe('rate(x[5m])');
    const long = `sum by (job) (rate(${'a'.repeat(60)}_total[5m])) / sum by (job) (rate(${'b'.repeat(60)}_total[5m]))`;
    expect(prettyExpr(parse(long)).split('\n')).toEqual([
      `  sum by (job) (rate(${'a'.repeat(60)}_total[5m]))`,
      '/',
      `  sum by (job) (rate(${'b'.repeat(60)}_total[5m]))`,
    ]);
  });
});
