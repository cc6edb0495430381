import { describe, expect, it } from 'vitest';
import {
  ImportLineParser,
  detectFormat,
  parseNumberToken,
  parseTimestampToken,
  type ImportFormat,
} from './openmetrics.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');

type Out =
  | { sample: Record<string, string>; t: number; v: number }
  | { metadata: string; type: string; help: string; unit: string }
  | { error: string | RegExp }
  | 'none';

/** Feeds lines to a fresh parser and returns one outcome per line, plus the end-of-file problem. */
function run(format: ImportFormat, text: string): { out: Out[]; end: string | undefined } {
  const p = new ImportLineParser({ format, now: NOW });
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out = lines.map((l, i): Out => {
    const k = p.line(l, i + 1);
    if (k === 'sample') return { sample: { ...p.series.labels }, t: p.t, v: p.v };
    if (k === 'metadata') return { metadata: p.metric, ...p.meta };
    if (k === 'error') return { error: p.error };
    return 'none';
  });
  return { out, end: p.finish() };
}

function one(format: ImportFormat, line: string): Out {
  return line === '' ? run(format, '\n').out[0]! : run(format, line).out[0]!;
}

describe('number and timestamp tokens', () => {
  it.each([
    ['1', 1],
    ['-1.5', -1.5],
    ['+2e3', 2000],
    ['.5', 0.5],
    ['5.', 5],
    ['1E-2', 0.01],
    ['NaN', NaN],
    ['nan', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['Infinity', Infinity],
    ['', undefined],
    ['0x10', undefined],
    ['1e', undefined],
    ['1.2.3', undefined],
    ['abc', undefined],
    ['1_000', undefined],
    ['--1', undefined],
  ])('value %j → %s', (tok, want) => {
    expect(parseNumberToken(tok)).toEqual(want);
  });

  it.each([
    ['openmetrics', '1700000000', 1700000000000],
    ['openmetrics', '1700000000.123', 1700000000123],
    ['openmetrics', '-1.5', -1500],
    ['openmetrics', '1.7e9', 1700000000000],
    ['openmetrics', 'NaN', undefined],
    ['openmetrics', '+Inf', undefined],
    ['openmetrics', '1e400', undefined],
    ['prometheus', '1700000000123', 1700000000123],
    ['prometheus', '-5', -5],
    ['prometheus', '1.5', undefined],
    ['prometheus', '1e3', undefined],
    ['prometheus', '99999999999999999999', undefined],
  ] as const)('%s timestamp %j → %s', (format, tok, want) => {
    expect(parseTimestampToken(tok, format)).toEqual(want);
  });
});

describe('OpenMetrics lines', () => {
  it.each<[string, Out]>([
    ['up 1 1700000000', { sample: { __name__: 'up' }, t: 1700000000000, v: 1 }],
    ['up{} 1 1700000000.5', { sample: { __name__: 'up' }, t: 1700000000500, v: 1 }],
    [
      'http_requests_total{code="200",path="/a"} 1027 1700000000',
      { sample: { __name__: 'http_requests_total', code: '200', path: '/a' }, t: 1700000000000, v: 1027 },
    ],
    [
      'm{a="x\\"y",b="back\\\\slash",c="new\\nline",d="ü ✓",} 1 1700000000',
      {
        sample: { __name__: 'm', a: 'x"y', b: 'back\\slash', c: 'new\nline', d: 'ü ✓' },
        t: 1700000000000,
        v: 1,
      },
    ],
    ['m{a="{}, #"} -Inf 1', { sample: { __name__: 'm', a: '{}, #' }, t: 1000, v: -Infinity }],
    ['m{empty=""} 1 1', { sample: { __name__: 'm' }, t: 1000, v: 1 }],
    [
      'm 1 1700000000 # {trace_id="abc"} 0.5 1700000000',
      { sample: { __name__: 'm' }, t: 1700000000000, v: 1 },
    ],
    ['m 1 1\r', { sample: { __name__: 'm' }, t: 1000, v: 1 }],
    ['m  1\t1', { sample: { __name__: 'm' }, t: 1000, v: 1 }],
    ['# TYPE m counter', { metadata: 'm', type: 'counter', help: '', unit: '' }],
    [
      '# HELP m Line one\\nwith \\"quotes\\"',
      { metadata: 'm', type: 'unknown', help: 'Line one\nwith "quotes"', unit: '' },
    ],
    ['# UNIT m_seconds seconds', { metadata: 'm_seconds', type: 'unknown', help: '', unit: 'seconds' }],
    ['# a free comment', 'none'],
    ['# EOF', 'none'],
    // Errors, each naming what is wrong.
    ['m 1', { error: /m has no timestamp.*seconds/ }],
    ['m 1 # {a="b"} 1', { error: /no timestamp/ }],
    ['m abc 1', { error: 'invalid value "abc" (expected a number, NaN, +Inf or -Inf)' }],
    ['m 1 abc', { error: /invalid timestamp "abc" \(expected seconds/ }],
    ['m 1 NaN', { error: /invalid timestamp "NaN"/ }],
    ['m 1 1 extra', { error: 'unexpected text after the timestamp: "extra"' }],
    ['m 1 1 # x', { error: /invalid exemplar/ }],
    ['m', { error: /expected a space before the value/ }],
    ['m ', { error: 'missing value for m' }],
    ['m{a="b"1 1', { error: /unterminated|missing "}"/ }],
    ['m{a="b} 1 1', { error: /unterminated label value/ }],
    ['m{a=b} 1 1', { error: /expected '"' to start the value of label "a"/ }],
    ['m{a="\\x"} 1 1', { error: /invalid escape sequence "\\x" in the value of label "a"/ }],
    ['m{a="1",a="2"} 1 1', { error: /duplicate label name "a"/ }],
    ['m{__name__="x"} 1 1', { error: /may not be set in braces/ }],
    ['m{1a="x"} 1 1', { error: /expected a label name|invalid label name/ }],
    ['m{a:b="x"} 1 1', { error: /invalid label name "a:b"/ }],
    ['1m 1 1', { error: /invalid metric name "1m"/ }],
    ['{a="b"} 1 1', { error: /expected a metric name/ }],
    [
      '# TYPE m countr',
      { error: /unknown metric type "countr" \(expected counter, gauge, histogram, gaugehistogram/ },
    ],
    ['# TYPE m untyped', { error: /unknown metric type "untyped"/ }],
    ['# TYPE', { error: 'TYPE line without a metric name' }],
    ['# TYPE 9m gauge', { error: /invalid metric name "9m" in TYPE line/ }],
    ['# HELP m bad \\t escape', { error: /invalid escape sequence "\\t" in HELP text/ }],
    ['# UNIT m_bytes seconds', { error: /unit "seconds" but its name does not end in _seconds/ }],
    ['', { error: /empty line/ }],
    [`m 1 ${(NOW + 3600_000) / 1000}`, { error: /more than 600s in the future/ }],
  ])('%j', (line, want) => {
    const got = one('openmetrics', line);
    if (typeof want === 'object' && 'error' in want && want.error instanceof RegExp) {
      expect(got).toMatchObject({ error: expect.stringMatching(want.error) });
    } else expect(got).toEqual(want);
  });

  it('reads a whole exposition with families, skipping _created', () => {
    const { out, end } = run(
      'openmetrics',
      [
        '# TYPE req counter',
        '# HELP req Requests.',
        'req_total{code="200"} 3 100',
        'req_created{code="200"} 50 100',
        'req_total{code="200"} 5 160',
        '# TYPE lat histogram',
        '# UNIT lat',
        'lat_bucket{le="0.1"} 1 100',
        'lat_bucket{le="+Inf"} 2 100',
        'lat_count 2 100',
        'lat_sum 0.3 100',
        'lat_created 50 100',
        '# EOF',
        '',
      ].join('\n'),
    );
    expect(end).toBeUndefined();
    expect(out).toEqual([
      { metadata: 'req', type: 'counter', help: '', unit: '' },
      { metadata: 'req', type: 'counter', help: 'Requests.', unit: '' },
      { sample: { __name__: 'req_total', code: '200' }, t: 100_000, v: 3 },
      'none',
      { sample: { __name__: 'req_total', code: '200' }, t: 160_000, v: 5 },
      { metadata: 'lat', type: 'histogram', help: '', unit: '' },
      { metadata: 'lat', type: 'histogram', help: '', unit: '' },
      { sample: { __name__: 'lat_bucket', le: '0.1' }, t: 100_000, v: 1 },
      { sample: { __name__: 'lat_bucket', le: '+Inf' }, t: 100_000, v: 2 },
      { sample: { __name__: 'lat_count' }, t: 100_000, v: 2 },
      { sample: { __name__: 'lat_sum' }, t: 100_000, v: 0.3 },
      'none',
      'none',
    ]);
  });

  it('a series written in another label order is the same series', () => {
    const p = new ImportLineParser({ format: 'openmetrics', now: NOW });
    expect(p.line('m{a="1",b="2"} 1 1', 1)).toBe('sample');
    const first = p.series;
    expect(p.line('m{b="2",a="1"} 1 2', 2)).toBe('sample');
    expect(p.series).toBe(first);
    expect(p.line('m{a="1", b="2"} 1 3', 3)).toBe('sample');
    expect(p.series).toBe(first);
    expect(p.seriesCount).toBe(1);
  });

  it('reports duplicate samples with the line of the first one, accepts older timestamps', () => {
    const { out } = run(
      'openmetrics',
      ['m{a="1"} 1 100', 'm{a="1"} 2 100', 'm{a="2"} 1 100', 'm{a="1"} 3 90', 'm{a="1"} 4 90'].join('\n'),
    );
    expect(out[1]).toEqual({
      error:
        'duplicate sample: m{a="1"} already has a sample at 1970-01-01T00:01:40.000Z (line 1); a series can have one value per timestamp',
    });
    expect(out[2]).toMatchObject({ sample: { a: '2' }, t: 100_000 });
    expect(out[3]).toMatchObject({ sample: { a: '1' }, t: 90_000, v: 3 });
    expect(out[4]).toMatchObject({ error: expect.stringContaining('(line 4)') });
  });

  it('accepts a repeated family with the same TYPE and refuses a contradicting one', () => {
    const { out } = run(
      'openmetrics',
      ['# TYPE g gauge', 'g 1 1', '# TYPE g gauge', 'g 2 2', '# TYPE g counter'].join('\n'),
    );
    expect(out[2]).toEqual({ metadata: 'g', type: 'gauge', help: '', unit: '' });
    expect(out[4]).toEqual({
      error: 'TYPE counter for g contradicts TYPE gauge on line 3; a family keeps one type',
    });
  });

  it('handles the end of the file', () => {
    expect(run('openmetrics', 'm 1 1\n').end).toMatch(/ends without "# EOF".*truncated/);
    expect(run('openmetrics', '').end).toMatch(/ends without "# EOF"/);
    expect(run('openmetrics', 'm 1 1\n# EOF\n').end).toBeUndefined();
    const after = run('openmetrics', 'm 1 1\n# EOF\nm 2 2\n');
    expect(after.out[2]).toEqual({ error: 'content after "# EOF" (line 2); "# EOF" must be the last line' });
    expect(after.end).toBeUndefined();
  });

  it('keeps declared families across a snapshot and restore', () => {
    const a = new ImportLineParser({ format: 'openmetrics', now: NOW });
    a.line('# TYPE c counter', 1);
    a.line('# HELP c Things.', 2);
    const b = new ImportLineParser({ format: 'openmetrics', now: NOW });
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.line('c_created 1 1', 3)).toBe('none');
    expect(b.line('# TYPE c gauge', 4)).toBe('error');
    expect(b.error).toMatch(/contradicts TYPE counter on line 1/);
  });
});

describe('Prometheus text lines', () => {
  it.each<[string, Out]>([
    ['up 1 1700000000000', { sample: { __name__: 'up' }, t: 1700000000000, v: 1 }],
    ['up {job="x"} 0 -1000', { sample: { __name__: 'up', job: 'x' }, t: -1000, v: 0 }],
    ['m{a="\\\\"} NaN 5', { sample: { __name__: 'm', a: '\\' }, t: 5, v: NaN }],
    ['', 'none'],
    ['   ', 'none'],
    ['#comment', 'none'],
    ['# UNIT m s', 'none'],
    ['# EOF', 'none'],
    ['# TYPE m untyped', { metadata: 'm', type: 'unknown', help: '', unit: '' }],
    ['# TYPE m Summary', { metadata: 'm', type: 'summary', help: '', unit: '' }],
    [
      '# HELP m keeps \\t as written',
      { metadata: 'm', type: 'unknown', help: 'keeps \\t as written', unit: '' },
    ],
    ['m 1', { error: /no timestamp.*integer milliseconds/ }],
    ['m 1 1.5', { error: /invalid timestamp "1.5" \(expected integer milliseconds/ }],
    ['m 1e 5', { error: /invalid value "1e"/ }],
    [
      '# TYPE m gaugehistogram',
      {
        error:
          /unknown metric type "gaugehistogram" \(expected counter, gauge, histogram, summary or untyped\)/,
      },
    ],
    ['m 1 1 # {a="b"} 1', { error: /unexpected text after the timestamp/ }],
  ])('%j', (line, want) => {
    const got = one('prometheus', line);
    if (typeof want === 'object' && 'error' in want && want.error instanceof RegExp) {
      expect(got).toMatchObject({ error: expect.stringMatching(want.error) });
    } else expect(got).toEqual(want);
  });

  it('does not need "# EOF" and keeps _created samples', () => {
    const { out, end } = run('prometheus', '# TYPE c counter\nc_created 5 1000\n');
    expect(end).toBeUndefined();
    expect(out[1]).toMatchObject({ sample: { __name__: 'c_created' } });
  });
});

describe('format detection', () => {
  it.each([
    ['m 1 1\n# EOF\n', 'openmetrics'],
    ['m 1 1\n# EOF', 'openmetrics'],
    ['# EOF\r\n', 'openmetrics'],
    ['m 1 1000\n', 'prometheus'],
    ['m 1 1000\n# EOF\nm 2 2000\n', 'prometheus'],
    ['', 'prometheus'],
  ])('%j is %s', (tail, want) => {
    expect(detectFormat(tail)).toBe(want);
  });
});
