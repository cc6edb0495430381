import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsIO, parseMetric, runUnitTestFile, type UnitTestIO } from './unittest.ts';

const TESTDATA = join(import.meta.dirname, 'testdata');
const testFiles = readdirSync(TESTDATA)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();

/** Files held in memory, for failure cases. */
function memIO(files: Record<string, string>): UnitTestIO {
  return {
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Error(`ENOENT: no such file ${p}`);
      return new TextEncoder().encode(f);
    },
    glob: (p) => (p in files ? [p] : []),
  };
}

describe('rule unit tests in testdata/', () => {
  it.each(testFiles)('%s passes', async (f) => {
    expect(await runUnitTestFile(join(TESTDATA, f), fsIO)).toEqual([]);
  });
});

const RULES = `
groups:
  - name: g
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 1m
        labels: {severity: page}
        annotations: {summary: '{{ $labels.instance }} down'}
`;

describe('runUnitTestFile failures read like promtool', () => {
  const cases: [string, string, string[]][] = [
    [
      'wrong sample value',
      `rule_files: [r.yml]
tests:
  - input_series:
      - {series: 'up{job="a", instance="i"}', values: '1 1 1'}
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - {labels: 'job:up:sum{job="a"}', value: 3}`,
      [
        '    expr: "job:up:sum", time: 2m,\n        exp: {__name__="job:up:sum", job="a"} 3E+00\n        got: {__name__="job:up:sum", job="a"} 1E+00',
      ],
    ],
    [
      'alert not firing yet',
      `rule_files: [r.yml]
tests:
  - name: t1
    input_series:
      - {series: 'up{job="a", instance="i"}', values: '0 0 0'}
    alert_rule_test:
      - eval_time: 30s
        alertname: Down
        exp_alerts: [{exp_labels: {job: a, instance: i, severity: page}, exp_annotations: {summary: i down}}]
      - eval_time: 1m
        alertname: Down
        exp_alerts: [{exp_labels: {job: a, instance: i, severity: page}, exp_annotations: {summary: i down}}]`,
      [
        [
          '    name: t1,',
          '    alertname: Down, time: 30s, ',
          '        exp:[',
          '            0:',
          '              Labels:{alertname="Down", instance="i", job="a", severity="page"}',
          '              Annotations:{summary="i down"}',
          '            ], ',
          '        got:[]',
        ].join('\n'),
      ],
    ],
    [
      'a query error and a bad label set',
      `rule_files: [r.yml]
tests:
  - promql_expr_test:
      - {expr: 'rate(up)', eval_time: 1m}
      - {expr: up, eval_time: 1m, exp_samples: [{labels: 'up{a="b"', value: 1}]}`,
      [
        '    expr: "rate(up)", time: 1m, err: 1:6: parse error: expected type range vector in call to function "rate", got instant vector',
        '    expr: "up", time: 1m, err: labels "up{a=\\"b\\"": 1:9: parse error: unexpected end of input inside braces',
      ],
    ],
    [
      'a rule that fails to evaluate stops the test group',
      `rule_files: [dup.yml]
tests:
  - input_series:
      - {series: 'a{k="v"}', values: '1'}
      - {series: 'b{k="v"}', values: '1'}
    promql_expr_test:
      - {expr: r, eval_time: 2m}`,
      [
        '    rule: r, time: 0s, err: vector contains metrics with the same labelset after applying rule labels',
      ],
    ],
    [
      'a bad rule file',
      'rule_files: [bad.yml]\ntests: []',
      ['/t/bad.yml:1:1: a rule file must be a mapping with a "groups" list'],
    ],
    [
      'an unknown field in the test file',
      'rule_files: [r.yml]\ntests:\n  - input_seris: []',
      [
        '/t/t.yml:3:5: tests[0]: unknown key "input_seris": check the spelling, or remove it (see docs/configuration.md)',
      ],
    ],
    [
      'group_eval_order missing a group',
      'rule_files: [r.yml]\ngroup_eval_order: [other]\ntests: []',
      ['group name missing in evaluation order: g'],
    ],
  ];
  it.each(cases)('%s', async (_name, test, expected) => {
    const io = memIO({
      '/t/t.yml': test,
      '/t/r.yml': RULES,
      '/t/dup.yml': 'groups:\n  - name: d\n    rules:\n      - record: r\n        expr: \'{k="v"}\'\n',
      '/t/bad.yml': '- x\n',
    });
    let got: string[];
    try {
      got = await runUnitTestFile('/t/t.yml', io);
    } catch (err) {
      got = (
        err as { problems?: { file: string; line: number; column: number; path: string; message: string }[] }
      ).problems!.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path}: ${p.message}`);
    }
    expect(got).toEqual(expected);
  });
});

describe('parseMetric', () => {
  it.each([
    ['up', { __name__: 'up' }],
    ['up{job="a", x=\'b\'}', { __name__: 'up', job: 'a', x: 'b' }],
    ['{__name__="up", job="a\\nb"}', { __name__: 'up', job: 'a\nb' }],
    ['{}', {}],
    ['', {}],
    ['up {job=`raw\\`}', { __name__: 'up', job: 'raw\\' }],
  ])('%s', (s, labels) => {
    expect(parseMetric(s)).toEqual(labels);
  });
});

const havePromtool = spawnSync('promtool', ['--version']).status === 0;

describe.skipIf(!havePromtool)('the same files pass promtool test rules (Prometheus 2.42)', () => {
  it.each(testFiles)('%s', (f) => {
    const out = execFileSync('promtool', ['test', 'rules', f], { cwd: TESTDATA, encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
});
