import { describe, expect, it } from 'vitest';
import { compileCondition, parseCondition } from './condition.ts';

describe('parseCondition', () => {
  it.each([
    ['http.status_code>=500', { key: 'http.status_code', op: '>=', value: '500' }],
    ['http.status_code>500', { key: 'http.status_code', op: '>', value: '500' }],
    ['latency<=1.5', { key: 'latency', op: '<=', value: '1.5' }],
    ['n<-3', { key: 'n', op: '<', value: '-3' }],
    ['channel=~sms|email', { key: 'channel', op: '=~', value: 'sms|email' }],
    ['channel!~sms', { key: 'channel', op: '!~', value: 'sms' }],
    ['cache.hit=true', { key: 'cache.hit', op: '=', value: 'true' }],
    ['user!=bob', { key: 'user', op: '!=', value: 'bob' }],
    // The key ends at the first operator; the rest is the value, verbatim.
    ['url=http://x/?a=b', { key: 'url', op: '=', value: 'http://x/?a=b' }],
    ['note=', { key: 'note', op: '=', value: '' }],
    [' k =v ', { key: 'k', op: '=', value: 'v ' }],
    ['msg="  spaced \\"q\\""', { key: 'msg', op: '=', value: '  spaced "q"' }],
  ])('%s', (text, want) => {
    expect(parseCondition(text)).toEqual(want);
  });

  it.each([
    ['novalue', /has no operator/],
    ['=x', /has no operator/],
    ['a>abc', /">" compares numbers, but "abc" is not a number/],
    ['a<=', /is not a number/],
    ['a=~(', /invalid regular expression/],
    ['a=~(?=x)', /look-arounds and back-references are not supported/],
    ['a=~(x)\\1', /look-arounds and back-references/],
    ['a="unterminated\\"', /not a valid JSON string/],
  ])('refuses %s', (text, msg) => {
    expect(() => parseCondition(text)).toThrow(msg);
  });
});

describe('compileCondition', () => {
  const holds = (text: string, value: string, type?: 'int' | 'double' | 'bool') =>
    compileCondition(parseCondition(text))(value, type);

  it('compares numbers by stored type, exactly for int64', () => {
    expect(holds('x>=500', '503', 'int')).toBe(true);
    expect(holds('x>=500', '503')).toBe(false);
    expect(holds('x>9007199254740992', '9007199254740993', 'int')).toBe(true);
    expect(holds('x>9007199254740992.5', '9007199254740993', 'int')).toBe(false);
    expect(holds('x=1.0', '1', 'double')).toBe(true);
    expect(holds('x=1.0', '1')).toBe(false);
    expect(holds('x<1e3', '999.5', 'double')).toBe(true);
    expect(holds('x>0', 'NaN', 'double')).toBe(false);
    expect(holds('x!=0', 'NaN', 'double')).toBe(true);
    expect(holds('x>0', 'Infinity', 'double')).toBe(true);
    expect(holds('x=true', 'true', 'bool')).toBe(true);
  });

  it('anchors regular expressions and lets . match line breaks', () => {
    expect(holds('x=~sms|email', 'email')).toBe(true);
    expect(holds('x=~sms', 'smsx')).toBe(false);
    expect(holds('x=~a.b', 'a\nb')).toBe(true);
    expect(holds('x=~(?i)SMS', 'sms')).toBe(true);
    expect(holds('x!~sms', 'push')).toBe(true);
    expect(holds('x=~5..', '503', 'int')).toBe(true);
  });
});
