import { describe, expect, it } from 'vitest';
import { matcherString, parseMatcher, parseMatchers } from './matchers.ts';

describe('Alertmanager matchers', () => {
  it.each([
    ['foo=bar', 'foo', '=', 'bar'],
    ['foo = "bar baz"', 'foo', '=', 'bar baz'],
    ['foo!="x"', 'foo', '!=', 'x'],
    ['foo=~"a|b"', 'foo', '=~', 'a|b'],
    ['foo !~ b.*', 'foo', '!~', 'b.*'],
    ['foo=', 'foo', '=', ''],
    ['foo="with \\"quote\\" and , comma"', 'foo', '=', 'with "quote" and , comma'],
  ])('parses %s', (text, name, type, value) => {
    expect(parseMatcher(text)).toMatchObject({ name, type, value });
  });

  it('parses lists with and without braces', () => {
    const ms = parseMatchers('{alertname="A", job=~"api|web",severity!=info}');
    expect(ms.map(matcherString)).toEqual(['alertname="A"', 'job=~"api|web"', 'severity!="info"']);
    expect(parseMatchers('a=1,b="x,y"').map((m) => m.value)).toEqual(['1', 'x,y']);
  });

  it('anchors regexes', () => {
    const m = parseMatcher('job=~"ap"');
    expect(m.matches('ap')).toBe(true);
    expect(m.matches('api')).toBe(false);
  });

  it.each(['foo', '=bar', 'foo=~"("', 'foo="unterminated', '{a=1'])('rejects %s', (text) => {
    expect(() => parseMatchers(text)).toThrow(/bad matcher format|invalid regular expression/);
  });
});
