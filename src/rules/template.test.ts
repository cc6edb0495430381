import { describe, expect, it } from 'vitest';
import { formatExpShortest, formatFixed, formatG, formatGoDuration, formatLabelSet } from './gofmt.ts';
import { TemplateError, expandTemplate, parseTemplate, sprintf } from './template.ts';

const data = {
  labels: { __name__: 'up', instance: 'host1:9100', job: 'node' },
  externalLabels: { cluster: 'eu1' },
  externalURL: 'http://vigil:9400',
  value: 0.5,
};

describe('expandTemplate', () => {
  const cases: [string, string, number?][] = [
    ['plain text', 'plain text'],
    ['{{ $labels.instance }} of {{ $labels.job }}', 'host1:9100 of node'],
    ['{{ .Labels.job }}/{{ .Value }}', 'node/0.5'],
    ['[{{ $labels.missing }}]', '[]'],
    ['{{ $externalLabels.cluster }} {{ $externalURL }}', 'eu1 http://vigil:9400'],
    ['{{ $value }}', '1e+06', 1e6],
    ['{{ $value }}', '123456', 123456],
    ['{{ $value | humanize }}', '1.234k', 1234.5],
    ['{{ humanize $value }}', '2.5m', 0.0025],
    ['{{ $value | humanize1024 }}', '1ki', 1024],
    ['{{ $value | humanizePercentage }}', '12.35%', 0.12345],
    ['{{ $value | humanizeDuration }}', '1d 1h 1m 1s', 90061],
    ['{{ $value | humanizeDuration }}', '1.5s', 1.5],
    ['{{ $value | humanizeDuration }}', '250ms', 0.25],
    ['{{ $value | humanizeTimestamp }}', '2024-01-01 00:00:00 +0000 UTC', 1704067200],
    ['{{ printf "%.2f" $value }}', '0.50'],
    ['{{ printf "%s=%d%%" "x" 5 }}', 'x=5%'],
    ['{{ printf "%5.1f|%-4s|" $value "a" }}', '  0.5|a   |'],
    ['{{ if gt $value 0.4 }}high{{ else }}low{{ end }}', 'high'],
    ['{{ if lt $value 0.1 }}a{{ else if lt $value 1.0 }}b{{ else }}c{{ end }}', 'b'],
    ['{{ if and (eq $labels.job "node") (ne $labels.instance "x") }}yes{{ end }}', 'yes'],
    ['{{ with $labels.job }}job={{ . }}{{ end }}', 'job=node'],
    ['{{ with $labels.nope }}x{{ else }}none{{ end }}', 'none'],
    ['{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}', '__name__=up;instance=host1:9100;job=node;'],
    ['{{ $x := toUpper $labels.job }}{{ $x }}', 'NODE'],
    ['{{ $labels.instance | stripPort }}', 'host1'],
    ['{{ reReplaceAll "(.*):(\\\\d+)" "$2@$1" $labels.instance }}', '9100@host1'],
    ['{{ title "hello world" }} {{ toLower "A" }}', 'Hello World a'],
    ['{{ len $labels }} {{ index $labels "job" }}', '3 node'],
    ['a  {{- " b " -}}  c', 'a b c'],
    ['{{/* a comment */}}x', 'x'],
    [
      '{{ query "up" }}',
      '<error expanding template: function "query" is not supported by Vigil\'s rule templates>',
    ],
    ['{{ .Nope }}', "<error expanding template: can't evaluate field Nope in type *template.tmplData>"],
  ];
  it.each(cases)('%s', (src, want, value) => {
    expect(expandTemplate(parseTemplate(src), { ...data, value: value ?? data.value })).toBe(want);
  });

  it.each([
    ['{{ $labels.job ', 'unclosed action'],
    ['{{ nosuch }}', 'function "nosuch" not defined'],
    ['{{ if true }}x', 'unexpected EOF: {{if}} has no {{end}}'],
    ['x{{ end }}', 'unexpected {{end}}'],
    ['{{ define "x" }}{{ end }}', '{{define}} is not supported in rule templates'],
    ['{{ "abc }}', 'unclosed action'],
  ])('rejects %s', (src, message) => {
    expect(() => parseTemplate(src)).toThrow(new TemplateError(message));
  });
});

describe('Go formatting', () => {
  it.each([
    [0, '0', '0E+00'],
    [1, '1', '1E+00'],
    [0.25, '0.25', '2.5E-01'],
    [1e6, '1e+06', '1E+06'],
    [123456, '123456', '1.23456E+05'],
    [1e-5, '1e-05', '1E-05'],
    [-2.5, '-2.5', '-2.5E+00'],
    [Infinity, '+Inf', '+Inf'],
    [NaN, 'NaN', 'NaN'],
  ])('%d', (v, g, e) => {
    expect(formatG(v)).toBe(g);
    expect(formatExpShortest(v)).toBe(e);
  });

  it('rounds ties half to even, as Go does', () => {
    expect([formatG(1234.5, 4), formatG(0.125, 2), formatFixed(0.125, 2), formatFixed(0.375, 2)]).toEqual([
      '1234',
      '0.12',
      '0.12',
      '0.38',
    ]);
  });

  it('formats %.4g like Go', () => {
    expect([1234.5, 0.5, 100, 1e6, 123456].map((v) => formatG(v, 4))).toEqual([
      '1234',
      '0.5',
      '100',
      '1e+06',
      '1.235e+05',
    ]);
  });

  it('formats durations like time.Duration', () => {
    expect([0, 500, 60_000, 90_500, 3_600_000, 5_430_000].map(formatGoDuration)).toEqual([
      '0s',
      '500ms',
      '1m0s',
      '1m30.5s',
      '1h0m0s',
      '1h30m30s',
    ]);
  });

  it('formats label sets like labels.Labels.String()', () => {
    expect(formatLabelSet({ job: 'a"b', __name__: 'x' })).toBe('{__name__="x", job="a\\"b"}');
    expect(formatLabelSet({})).toBe('{}');
  });

  it('sprintf reports missing and extra arguments like Go', () => {
    expect(sprintf('%s %s', ['a'])).toBe('a %!s(MISSING)');
    expect(sprintf('%s', ['a', 'b'])).toBe('a%!(EXTRA string=b)');
  });
});
