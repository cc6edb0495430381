import { describe, expect, it } from 'vitest';
import {
  formatMatcher,
  matcherFromOp,
  matches,
  MatcherSyntaxError,
  parseMatchers,
  severityClass,
  severityRank,
} from './alerts.ts';

describe('parseMatchers', () => {
  const cases: [string, string[]][] = [
    ['', []],
    ['alertname="DiskFull"', ['alertname="DiskFull"']],
    ['alertname=~"Disk.*" severity="critical"', ['alertname=~"Disk.*"', 'severity="critical"']],
    ['{job!="api", instance!~"a|b"}', ['job!="api"', 'instance!~"a|b"']],
    ['team=db,severity=warning', ['team="db"', 'severity="warning"']],
    ['HighLatency', ['alertname="HighLatency"']],
    ['msg="say \\"hi\\", ok"', ['msg="say \\"hi\\", ok"']],
    ['empty=""', ['empty=""']],
  ];
  it.each(cases)('%s', (text, want) => {
    expect(parseMatchers(text).map(formatMatcher)).toEqual(want);
  });

  const bad: [string, RegExp][] = [
    ['alertname="Disk', /no closing quote/],
    ['1abc="x"', /not a label name/],
    ['a=~"("', /regular expression of a is invalid/],
    ['a="x"b="y"', /expected a space or comma at character 6/],
    ['a<5', /expected an operator .* at character 2/],
  ];
  it.each(bad)('rejects %s', (text, msg) => {
    expect(() => parseMatchers(text)).toThrow(MatcherSyntaxError);
    expect(() => parseMatchers(text)).toThrow(msg);
  });
});

describe('matches', () => {
  const l = { alertname: 'DiskFull', severity: 'critical' };
  it.each([
    ['alertname', '=', 'DiskFull', true],
    ['alertname', '!=', 'DiskFull', false],
    ['alertname', '=~', 'Disk.*', true],
    ['alertname', '=~', 'Disk', false], // anchored
    ['alertname', '!~', 'Mem.*', true],
    ['missing', '=', '', true],
  ] as const)('%s%s%s', (name, op, value, want) => {
    expect(matches(matcherFromOp(name, op, value), l)).toBe(want);
  });
});

describe('severity', () => {
  it('sorts critical before warning before info before unknown and missing', () => {
    const list = [undefined, 'info', 'weird', 'warning', 'CRITICAL'];
    expect([...list].sort((a, b) => severityRank(a) - severityRank(b))).toEqual([
      'CRITICAL',
      'warning',
      'info',
      'weird',
      undefined,
    ]);
    expect(severityClass('critical')).toBe('critical');
    expect(severityClass('warning')).toBe('warning');
    expect(severityClass('info')).toBe('info');
    expect(severityClass(undefined)).toBe('other');
  });
});
