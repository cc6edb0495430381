import { describe, expect, it } from 'vitest';
import {
  ALL_VALUE,
  builtinVariables,
  escapeRegex,
  formatVariable,
  interpolate,
  parseVariableQuery,
  readUrlValues,
  referencedVariables,
  toVariableValue,
  writeUrlValues,
  type VariableValue,
} from './interpolate.ts';

const single = (v: string): VariableValue => ({ values: [v], all: false, regex: false });
const multi = (...vs: string[]): VariableValue => ({ values: vs, all: false, regex: true });

describe('formatVariable', () => {
  it.each<[string, VariableValue, string]>([
    ['single value as it is', single('api'), 'api'],
    ['single value keeps regex characters', single('a.b*'), 'a.b*'],
    [
      'single value escapes quotes and backslashes for the string',
      single('say "hi" \\o/'),
      'say \\"hi\\" \\\\o/',
    ],
    ['multi with one value is that value, regex-escaped', multi('a.b'), 'a\\\\.b'],
    ['multi with several values is an alternation', multi('api', 'web'), '(api|web)'],
    ['alternation escapes metacharacters', multi('a|b', '(x)', 'c$'), '(a\\\\|b|\\\\(x\\\\)|c\\\\$)'],
    ['all is .*', { values: ['x'], all: true, regex: true }, '.*'],
    ['no value is empty', multi(), ''],
    [
      'quotes in a regex value stay inside the string',
      multi('<img src=x onerror="1">', 'b'),
      '(<img src=x onerror=\\"1\\">|b)',
    ],
  ])('%s', (_name, v, want) => {
    expect(formatVariable(v)).toBe(want);
  });
});

describe('escapeRegex', () => {
  it('escapes every RE2 metacharacter and nothing else', () => {
    expect(escapeRegex('\\.+*?()|[]{}^$')).toBe('\\\\\\.\\+\\*\\?\\(\\)\\|\\[\\]\\{\\}\\^\\$');
    expect(escapeRegex('plain-text_1:2/3')).toBe('plain-text_1:2/3');
  });
});

describe('interpolate', () => {
  const vars = new Map<string, VariableValue>([
    ['job', multi('api', 'web')],
    ['instance', single('host:9100')],
    ['job_name', single('long')],
  ]);
  const builtins = builtinVariables(30, 3_600_000);

  it.each([
    ['up{job=~"$job"}', 'up{job=~"(api|web)"}'],
    ['up{job=~"${job}"}', 'up{job=~"(api|web)"}'],
    ['up{instance="$instance"}', 'up{instance="host:9100"}'],
    ['x{a="${job}_suffix"}', 'x{a="(api|web)_suffix"}'],
    ['x{a="$job_name"}', 'x{a="long"}'],
    ['rate(x[$__rate_interval])', 'rate(x[1m])'],
    ['rate(x[$__interval])', 'rate(x[30s])'],
    ['increase(x[$__range])', 'increase(x[1h])'],
    ['x{a=~"foo$"}', 'x{a=~"foo$"}'],
    ['x{a="$unknown"}', 'x{a="$unknown"}'],
    ['$job$instance', '(api|web)host:9100'],
  ])('%s → %s', (expr, want) => {
    expect(interpolate(expr, vars, builtins)).toBe(want);
  });

  it('does not re-expand text inserted by a value', () => {
    const v = new Map([
      ['a', single('$b')],
      ['b', single('nope')],
    ]);
    expect(interpolate('x{l="$a"}', v)).toBe('x{l="$b"}');
  });
});

describe('builtinVariables', () => {
  it('rate interval is max(interval + scrape, 4 × scrape)', () => {
    expect(builtinVariables(15, 3_600_000).__rate_interval).toBe('1m');
    expect(builtinVariables(60, 3_600_000).__rate_interval).toBe('1m15s');
    expect(builtinVariables(300, 86_400_000).__rate_interval).toBe('5m15s');
  });
  it('range and interval in several forms', () => {
    const b = builtinVariables(2, 6 * 3_600_000);
    expect(b).toMatchObject({ __interval: '2s', __interval_ms: '2000', __range: '6h', __range_s: '21600' });
  });
});

describe('referencedVariables', () => {
  it('finds both reference forms of known variables only', () => {
    expect(
      referencedVariables('a{x="$job", y="${env}", z="$other"} $__interval', ['job', 'env', 'dc']),
    ).toEqual(['job', 'env']);
  });
});

describe('parseVariableQuery', () => {
  it.each([
    ['label_values(job)', { label: 'job' }],
    [' label_values( instance ) ', { label: 'instance' }],
    ['label_values(up{env="x"}, instance)', { label: 'instance', selector: 'up{env="x"}' }],
    ['label_values(up{env="a,b"}, instance)', { label: 'instance', selector: 'up{env="a,b"}' }],
    [
      'label_values({__name__=~"x.+", job=~"$job"}, pod)',
      { label: 'pod', selector: '{__name__=~"x.+", job=~"$job"}' },
    ],
  ])('%s', (q, want) => {
    expect(parseVariableQuery(q)).toEqual(want);
  });
  it.each(['values(job)', 'label_values()', 'label_values(up, 1abc)', 'label_values(, job)'])(
    'rejects %s with a message',
    (q) => {
      expect(parseVariableQuery(q)).toHaveProperty('error');
    },
  );
});

describe('URL values', () => {
  it('round-trips several values and leaves other parameters alone', () => {
    const p = writeUrlValues(new URLSearchParams('from=now-6h&var-env=prod'), 'job', ['a', 'b c']);
    expect(p.toString()).toBe('from=now-6h&var-env=prod&var-job=a&var-job=b+c');
    expect(readUrlValues(p, 'job')).toEqual(['a', 'b c']);
    expect(readUrlValues(p, 'missing')).toBeUndefined();
    expect(readUrlValues(writeUrlValues(p, 'job', []), 'job')).toBeUndefined();
  });
  it('turns the All marker into all only when the variable allows it', () => {
    expect(toVariableValue([ALL_VALUE], { multi: true, includeAll: true })).toEqual({
      values: [],
      all: true,
      regex: true,
    });
    expect(toVariableValue([ALL_VALUE, 'a'], { multi: false, includeAll: false })).toEqual({
      values: ['a'],
      all: false,
      regex: false,
    });
    expect(toVariableValue(['a', 'b'], { multi: false, includeAll: false }).values).toEqual(['a']);
  });
});
