import { describe, expect, it } from 'vitest';
import { GoTemplate, METHODS, ORDER, STRUCT, escapeHtml, type TemplateOptions } from './gotemplate.ts';

class TplError extends Error {}

const dialect = (o: Partial<TemplateOptions> = {}) =>
  new GoTemplate({
    funcs: { double: (x) => Number(x) * 2, boom: () => JSON.parse('{') as unknown },
    error: (m) => new TplError(m),
    print: (v) => (v === undefined ? '<no value>' : String(v)),
    missingKey: 'default',
    keywords: 'all',
    ...o,
  });

const run = (src: string, data: unknown, o: Partial<TemplateOptions> = {}) => {
  const t = dialect(o);
  const defs = new Map();
  return t.execute(t.parse(src, defs), data, { defs });
};

describe('GoTemplate', () => {
  it.each([
    ['{{ .a }}-{{ $.b }}', { a: 1, b: 'x' }, '1-x'],
    ['{{ .a | double | double }}', { a: 3 }, '12'],
    ['{{ $x := double .a }}{{ $x }}', { a: 2 }, '4'],
    ['{{ if eq .a 1 }}one{{ else if eq .a 2 }}two{{ else }}many{{ end }}', { a: 2 }, 'two'],
    ['{{ range $i, $v := .l }}{{ $i }}{{ $v }},{{ else }}none{{ end }}', { l: ['a', 'b'] }, '0a,1b,'],
    ['{{ range .l }}x{{ else }}none{{ end }}', { l: [] }, 'none'],
    [
      '{{ range .l }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}',
      { l: [1, 2, 3, 4, 5] },
      '13',
    ],
    ['{{ with .m }}{{ .k }}{{ end }}', { m: { k: 'v' } }, 'v'],
    [
      '{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" .a }}{{ block "b" .a }}[{{ . }}]{{ end }}',
      { a: 1 },
      '<1>[1]',
    ],
    ['a {{- " b " -}} c{{/* note */}}', {}, 'a b c'],
    ['{{ "\\x41\\u00e9\\101\\t" }}{{ `raw\\n` }}{{ \'a\' }}', {}, 'AéA\traw\\n97'],
    [
      '{{ print 1 2 "a" 3 }}|{{ printf "%05.1f" 2.25 }}|{{ html "<&>" }}|{{ urlquery "a b&" }}',
      {},
      '1 2a3|002.2|&lt;&amp;&gt;|a+b%26',
    ],
    [
      '{{ and 1 0 }}{{ or 0 "" "x" }}{{ not 0 }}{{ len "abc" }}{{ index .m "k" }}',
      { m: { k: 'v' } },
      '0xtrue3v',
    ],
    ['{{ .m.nope }}|{{ index .m "nope" }}', { m: {} }, '<no value>|<no value>'],
    ['{{ lt .t .u }}{{ eq .t .t }}', { t: { [ORDER]: 1 }, u: { [ORDER]: 2 } }, 'truetrue'],
    [
      '{{ .o.Name }}/{{ .o.Greet "x" }}',
      { o: { [METHODS]: { Name: () => 'n', Greet: (s: unknown) => `hi ${String(s)}` } } },
      'n/hi x',
    ],
  ])('%s', (src, data, want) => {
    expect(run(src, data)).toBe(want);
  });

  it('reads missing keys as "" with missingKey zero, but not unknown struct fields', () => {
    expect(run('[{{ .m.nope }}{{ index .m "x" }}]', { m: {} }, { missingKey: 'zero' })).toBe('[]');
    expect(() => run('{{ .Nope }}', { [STRUCT]: 'T' }, { missingKey: 'zero' })).toThrow(
      new TplError("can't evaluate field Nope in type T"),
    );
  });

  it('rejects named templates and loop control when the dialect has none', () => {
    const keywords = { rejected: (kw: string) => `no ${kw} here` };
    for (const kw of ['define "x"', 'template "x"', 'block "x" .', 'break', 'continue'])
      expect(() => dialect({ keywords }).parse(`{{ ${kw} }}`)).toThrow(
        new TplError(`no ${kw.split(' ')[0]} here`),
      );
  });

  it('parses unsupported functions and fails when they run', () => {
    const t = dialect({ unsupported: { names: new Set(['query']), message: (n) => `${n} is not here` } });
    const nodes = t.parse('{{ query "up" }}');
    expect(() => t.execute(nodes, {})).toThrow(new TplError('query is not here'));
    expect(() => t.parse('{{ nosuch }}')).toThrow(new TplError('function "nosuch" not defined'));
  });

  it('escapes printed values but not the text around them', () => {
    const t = dialect();
    expect(t.execute(t.parse('<b>{{ .s }}</b>'), { s: '<x>' }, { escape: escapeHtml })).toBe(
      '<b>&lt;x&gt;</b>',
    );
  });

  it.each([
    ['{{ .a', 'unclosed action'],
    ['{{ if 1 }}x', 'unexpected EOF: {{if}} has no {{end}}'],
    ['{{ end }}', 'unexpected {{end}}'],
    ['{{ if 1 }}{{ else x }}{{ end }}', 'unexpected text after {{else}}'],
    ['{{/* x }}', 'unclosed comment'],
    ['{{ (double 1 }}', 'unclosed left paren'],
    ['{{ if }}{{ end }}', 'missing value for if'],
    ['{{ "abc }}', 'unclosed action'],
    ['{{ 1 | if }}', 'unexpected keyword "if" in command'],
    ['{{ ~ }}', 'unexpected "~" in action'],
    ['{{ constructor }}', 'function "constructor" not defined'],
  ])('rejects %s', (src, message) => {
    expect(() => dialect().parse(src)).toThrow(new TplError(message));
  });

  it.each([
    ['{{ boom }}', /^error calling boom: /],
    ['{{ $nope }}', /^undefined variable: \$nope$/],
    ['{{ .a.b }}', /^nil pointer evaluating \.b$/],
    ['{{ eq 1 "x" }}', /^error calling eq: incompatible types for comparison$/],
    ['{{ range "s" }}{{ end }}', /^range can't iterate over s$/],
    ['{{ template "none" }}', /^no such template "none"$/],
    ['{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}', /maximum template depth/],
  ])('fails on %s with the dialect error', (src, message) => {
    expect(() => run(src, { a: undefined })).toThrow(message);
    expect(() => run(src, { a: undefined })).toThrow(TplError);
  });
});
