import { describe, expect, it } from 'vitest';
import { isStaleNaN } from '../../model/labels.ts';
import type { MemoryStorage } from '../../store/memory.ts';
import { buildStorage, parseSeriesDesc, parseTestScript, parseValues, runTestScript } from './promqltest.ts';

describe('promqltest language', () => {
  it('expands series values', () => {
    expect(parseValues(['0+10x3'], 't')).toEqual([0, 10, 20, 30]);
    expect(parseValues(['5-1x2', '_', '7x2'], 't')).toEqual([5, 4, 3, undefined, 7, 7, 7]);
    expect(parseValues(['_x3', '1e3', '-Inf', '.5'], 't')).toEqual([
      undefined,
      undefined,
      undefined,
      1000,
      -Infinity,
      0.5,
    ]);
    // `0x2` is a repetition (0 three times), not a hex number.
    expect(parseValues(['0x2'], 't')).toEqual([0, 0, 0]);
    expect(parseValues(['NaN'], 't')[0]).toBeNaN();
    expect(parseValues(['stale'], 't')).toEqual(['stale']);
    expect(() => parseValues(['abc'], 't')).toThrow('t: invalid number "abc"');
  });

  it('loads stale markers as real stale NaNs', async () => {
    const [load] = parseTestScript('load 1m\n  m 1 stale\n', 't');
    const st: MemoryStorage = buildStorage([load as Extract<typeof load, { kind: 'load' }>]);
    const [s] = await st.querier(0, 60_000).select([{ name: '__name__', type: '=', value: 'm' }]);
    expect(isStaleNaN(s!.v[1]!)).toBe(true);
  });

  it('parses series descriptions', () => {
    expect(parseSeriesDesc('m{a="1", b="x\\"y"} 1 2', 't')).toEqual({
      labels: { __name__: 'm', a: '1', b: 'x"y' },
      rest: '1 2',
    });
    expect(parseSeriesDesc('{a="1"} 3', 't')).toEqual({ labels: { a: '1' }, rest: '3' });
    expect(parseSeriesDesc('job:x 3', 't')).toEqual({ labels: { __name__: 'job:x' }, rest: '3' });
  });

  it('parses commands with line numbers', () => {
    const cmds = parseTestScript('load 1m\n  m 1 2\n\neval instant at 1m m\n  m 2\nclear\n', 'f');
    expect(cmds.map((c) => [c.kind, c.line])).toEqual([
      ['load', 1],
      ['eval', 4],
      ['clear', 6],
    ]);
    expect(() => parseTestScript('bogus\n', 'f')).toThrow('f:1: unknown command "bogus"');
  });

  it('checks annotations and accepts failure messages without the position suffix', async () => {
    const res = await runTestScript(
      [
        'load 1m',
        '  m{i="1"} 1',
        '  n{i="1"} 1',
        'eval instant at 0m quantile(2, m)',
        '  expect_warn quantile value should be between 0 and 1, got 2 (1:10)',
        '  {} +Inf',
        'eval instant at 0m quantile(2, m)',
        '  expect_no_warn',
        '  {} +Inf',
        'eval instant at 0m rate(m[1m])',
        '  expect_info might not be a counter',
        'eval instant at 0m rate(m[1m])',
        '  expect_info something else',
        'eval_fail instant at 0m -{__name__=~"m|n"}',
        '  expected_fail_message vector cannot contain metrics with the same labelset',
      ].join('\n'),
      'f',
    );
    expect(res.map((r) => [r.name, r.error?.message ?? 'ok'])).toEqual([
      ['f:4', 'ok'],
      ['f:7', expect.stringContaining('expected no warnings')],
      ['f:10', 'ok'],
      ['f:12', expect.stringContaining('expected an info containing "something else"')],
      ['f:14', 'ok'],
    ]);
  });

  it('reports mismatches, missing errors and wrong order', async () => {
    const res = await runTestScript(
      [
        'load 1m',
        '  m{i="1"} 1',
        '  m{i="2"} 2',
        'eval instant at 0m m',
        '  m{i="1"} 1',
        '  m{i="2"} 3',
        'eval_fail instant at 0m m',
        'eval_ordered instant at 0m sort_desc(m)',
        '  m{i="1"} 1',
        '  m{i="2"} 2',
        'eval instant at 0m sum(m)',
        '  {} 3.0000001',
        'eval_fail instant at 0m {}',
        '  expected_fail_message something else',
      ].join('\n'),
      'f',
    );
    expect(
      res.map((r) => [r.name, r.error?.message.split('\n')[1]?.trim() ?? r.error?.message ?? 'ok']),
    ).toEqual([
      ['f:4', 'm{i="2"}: expected 3, got 2'],
      ['f:7', expect.stringContaining('expected "m" to fail')],
      ['f:8', 'm{i="1"}: expected at position 0, got 1'],
      ['f:11', 'ok'],
      ['f:13', expect.stringContaining('expected error "something else"')],
    ]);
  });
});
