import { describe, expect, it } from 'vitest';
import { formatRuleProblem, parseRuleFile } from './file.ts';

const F = 'r.yml';

function problems(text: string): string[] {
  const r = parseRuleFile(text, F);
  return r.ok ? [] : r.problems.map(formatRuleProblem);
}

describe('parseRuleFile: valid files', () => {
  it('reads groups, rules and their settings', () => {
    const r = parseRuleFile(
      [
        'groups:',
        '  - name: api',
        '    interval: 30s',
        '    limit: 10',
        '    query_offset: 1m',
        '    labels: {team: web}',
        '    rules:',
        '      - record: job:requests:rate5m',
        '        expr: sum by (job) (rate(requests_total[5m]))',
        '        labels: {tier: "1", level: 2}',
        '      - alert: Down',
        '        expr: up == 0',
        '        for: 5m',
        '        keep_firing_for: 1m',
        '        labels: {severity: page}',
        '        annotations: {summary: "{{ $labels.job }} is down"}',
        '  - name: other',
        '    rules: []',
      ].join('\n'),
      F,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [api, other] = r.groups;
    expect(api).toMatchObject({ name: 'api', file: F, intervalMs: 30_000, limit: 10, queryOffsetMs: 60_000 });
    expect(api!.labels).toEqual({ team: 'web' });
    expect(api!.rules[0]).toMatchObject({
      kind: 'recording',
      name: 'job:requests:rate5m',
      labels: { tier: '1', level: '2' },
      line: 8,
    });
    expect(api!.rules[1]).toMatchObject({
      kind: 'alerting',
      name: 'Down',
      forMs: 300_000,
      keepFiringForMs: 60_000,
      annotations: { summary: '{{ $labels.job }} is down' },
    });
    expect(other).toMatchObject({
      name: 'other',
      intervalMs: undefined,
      queryOffsetMs: undefined,
      rules: [],
    });
  });

  it.each([
    ['an empty file', ''],
    ['a comment only', '# nothing yet\n'],
    ['no groups', 'groups:\n'],
    ['an empty group list', 'groups: []\n'],
  ])('accepts %s', (_name, text) => {
    expect(parseRuleFile(text, F)).toEqual({ ok: true, groups: [] });
  });

  it('reads bytes and refuses invalid UTF-8', () => {
    expect(parseRuleFile(new TextEncoder().encode('groups: []'), F).ok).toBe(true);
    const r = parseRuleFile(new Uint8Array([0x67, 0xff, 0xfe]), F);
    expect(r.ok ? [] : r.problems.map(formatRuleProblem)).toEqual(['r.yml: the file is not valid UTF-8']);
  });
});

describe('parseRuleFile: problems', () => {
  const cases: [string, string, string[]][] = [
    [
      'YAML syntax',
      'groups:\n  - name: [a\n',
      [
        'r.yml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ],
    ],
    ['not a mapping', '- a\n', ['r.yml:1:1: a rule file must be a mapping with a "groups" list']],
    [
      'unknown top-level field',
      'groups: []\nrules: []\n',
      ['r.yml:2:1: unknown field "rules"; expected one of "groups"'],
    ],
    [
      'unknown group field',
      'groups:\n  - name: g\n    intervall: 1m\n    rules: []\n',
      [
        'r.yml:3:5: group "g": unknown field "intervall"; expected one of "name", "interval", "limit", "query_offset", "labels", "rules"',
      ],
    ],
    [
      'missing group name',
      'groups:\n  - rules: []\n',
      ['r.yml:2:5: group "": group name must not be empty: add "name"'],
    ],
    [
      'duplicate group names',
      'groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n',
      ['r.yml:4:11: group "g": group name is repeated in the same file (first at line 2)'],
    ],
    [
      'bad interval and limit',
      'groups:\n  - name: g\n    interval: 1x\n    limit: -1\n    rules: []\n',
      [
        'r.yml:3:15: group "g": interval: not a valid duration string: "1x" (expected for example 30s, 5m, 1h30m)',
        'r.yml:4:12: group "g": limit must be a whole number, 0 or more (0 means no limit)',
      ],
    ],
    [
      'unknown rule field',
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        lables: {}\n',
      [
        'r.yml:6:9: group "g", rule 1 ("a"): unknown field "lables"; expected one of "record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"',
      ],
    ],
    [
      'invalid metric name in record',
      'groups:\n  - name: g\n    rules:\n      - record: job-requests\n        expr: up\n',
      [
        'r.yml:4:17: group "g", rule 1 ("job-requests"): invalid recording rule name: "job-requests" (must match [a-zA-Z_:][a-zA-Z0-9_:]*)',
      ],
    ],
    [
      'invalid label names',
      'groups:\n  - name: g\n    labels: {"a-b": x}\n    rules:\n      - record: r\n        expr: up\n        labels:\n          __name__: x\n          0x: y\n',
      [
        'r.yml:3:14: group "g": invalid label name: "a-b" (must match [a-zA-Z_][a-zA-Z0-9_]*)',
        'r.yml:8:11: group "g", rule 1 ("r"): invalid label name: "__name__" (must match [a-zA-Z_][a-zA-Z0-9_]*)',
        'r.yml:9:11: group "g", rule 1 ("r"): invalid label name: "0x" (must match [a-zA-Z_][a-zA-Z0-9_]*)',
      ],
    ],
    [
      'PromQL error in a one-line expr points into it',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: rate(x[5m]) + nosuch(y)\n',
      [
        'r.yml:5:29: group "g", rule 1 ("r"): could not parse expression: 1:15: parse error: unknown function with name "nosuch"',
      ],
    ],
    [
      'PromQL error in a quoted expr',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: "up +"\n',
      [
        'r.yml:5:20: group "g", rule 1 ("r"): could not parse expression: 1:5: parse error: unexpected end of input',
      ],
    ],
    [
      'PromQL error in a literal block',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: |\n          sum(x)\n            / on() bad(y)\n',
      [
        'r.yml:7:20: group "g", rule 1 ("r"): could not parse expression: 2:10: parse error: unknown function with name "bad"',
      ],
    ],
    [
      'missing expr',
      'groups:\n  - name: g\n    rules:\n      - record: r\n',
      ['r.yml:4:9: group "g", rule 1 ("r"): "expr" must be set to a PromQL expression'],
    ],
    [
      'both record and alert, then neither',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        alert: A\n        expr: up\n      - expr: up\n',
      [
        'r.yml:4:9: group "g", rule 1 ("A"): only one of "record" and "alert" must be set',
        'r.yml:7:9: group "g", rule 2: one of "record" or "alert" (or Vigil\'s "anomaly" or "forecast") must be set',
      ],
    ],
    [
      'alerting-only fields in a recording rule',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 5m\n        annotations: {a: b}\n',
      [
        'r.yml:6:14: group "g", rule 1 ("r"): invalid field "for" in a recording rule: only alerting rules have it',
        'r.yml:7:22: group "g", rule 1 ("r"): invalid field "annotations" in a recording rule: only alerting rules have it',
      ],
    ],
    [
      'bad for, annotation name and template',
      'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 5\n        annotations:\n          a-b: x\n          s: "{{ $labels.job "\n          t: "{{ nosuch 1 }}"\n',
      [
        'r.yml:6:14: group "g", rule 1 ("A"): for must be a duration such as 30s, 5m or 1h30m',
        'r.yml:8:11: group "g", rule 1 ("A"): invalid annotation name: "a-b" (must match [a-zA-Z_][a-zA-Z0-9_]*)',
        'r.yml:9:14: group "g", rule 1 ("A"): annotation "s": template error: unclosed action',
        'r.yml:10:14: group "g", rule 1 ("A"): annotation "t": template error: function "nosuch" not defined',
      ],
    ],
    [
      'a label value that is not a scalar',
      'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        labels: {a: [1]}\n',
      ['r.yml:6:21: group "g", rule 1 ("r"): label "a": the value must be a string'],
    ],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });
});

describe('parseRuleFile: anomaly and forecast rules (Vigil extensions)', () => {
  it('reads them with their settings and defaults', () => {
    const r = parseRuleFile(
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - anomaly: traffic',
        '        expr: sum by (service) (rate(http_requests_total[5m]))',
        '        season: daily,weekly',
        '        warmup: 7d',
        '        forget_after: 2h',
        '        level_tau: 12h',
        '        labels: {team: web}',
        '      - anomaly: latency',
        '        expr: x',
        '        season: none',
        '      - forecast: disk_full',
        '        expr: node_filesystem_size_bytes - node_filesystem_avail_bytes',
        '        capacity: node_filesystem_size_bytes',
        '        horizon: 12h',
        '        season: none',
        '      - forecast: queue',
        '        expr: queue_depth',
        '        capacity: 5000',
      ].join('\n'),
      F,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [traffic, latency, disk, queue] = r.groups[0]!.rules;
    expect(traffic).toMatchObject({
      kind: 'anomaly',
      name: 'traffic',
      seasons: ['daily', 'weekly'],
      warmupMs: 7 * 86_400_000,
      forgetAfterMs: 7_200_000,
      levelTauMs: 43_200_000,
      shiftTauMs: undefined,
      labels: { team: 'web' },
      line: 4,
    });
    expect(latency).toMatchObject({
      kind: 'anomaly',
      seasons: [],
      warmupMs: undefined,
      forgetAfterMs: 86_400_000,
    });
    expect(disk).toMatchObject({
      kind: 'forecast',
      capacity: { expr: 'node_filesystem_size_bytes' },
      horizonMs: 43_200_000,
      lookbackMs: 7 * 86_400_000,
      season: 'none',
    });
    expect(queue).toMatchObject({ kind: 'forecast', capacity: 5000, horizonMs: 86_400_000, season: 'daily' });
  });

  const cases: [string, string, string[]][] = [
    [
      'bad season, duration, capacity and a field of another kind',
      'groups:\n  - name: g\n    rules:\n      - anomaly: a\n        expr: x\n        season: hourly\n        warmup: 0s\n        for: 5m\n      - forecast: f\n        expr: y\n        capacity: "y +"\n        season: weekly\n        horizon: soon\n',
      [
        'r.yml:6:17: group "g", rule 1 ("a"): season must be "daily", "weekly", "daily,weekly" or "none", not "hourly"',
        'r.yml:7:17: group "g", rule 1 ("a"): warmup must be more than 0',
        'r.yml:8:9: group "g", rule 1 ("a"): unknown field "for"; expected one of "anomaly", "expr", "labels", "season", "warmup", "forget_after", "level_tau", "shift_tau"',
        'r.yml:11:23: group "g", rule 2 ("f"): capacity: could not parse expression: 1:4: parse error: unexpected end of input',
        'r.yml:12:17: group "g", rule 2 ("f"): forecast rules fit a daily season only: use "daily" or "none"',
        'r.yml:13:18: group "g", rule 2 ("f"): horizon: not a valid duration string: "soon" (expected for example 30s, 5m, 1h30m)',
      ],
    ],
    [
      'two kinds at once, a bad name, a repeated name, an anomaly field in a recording rule',
      'groups:\n  - name: g\n    rules:\n      - anomaly: a\n        record: r\n        expr: x\n      - anomaly: "a b"\n        expr: x\n      - anomaly: c\n        expr: x\n      - anomaly: c\n        expr: y\n      - record: r\n        expr: x\n        season: daily\n',
      [
        'r.yml:5:9: group "g", rule 1 ("r"): unknown field "record"; expected one of "anomaly", "expr", "labels", "season", "warmup", "forget_after", "level_tau", "shift_tau"',
        'r.yml:7:18: group "g", rule 2 ("a b"): invalid anomaly name: "a b" (must match [a-zA-Z_][a-zA-Z0-9_:.-]*)',
        'r.yml:11:9: group "g", rule 4 ("c"): anomaly name is repeated in the group (first at line 9)',
        'r.yml:15:9: group "g", rule 5 ("r"): unknown field "season"; expected one of "record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });
});
