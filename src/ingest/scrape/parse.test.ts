import { describe, expect, it } from 'vitest';
import {
  ExpositionParseError,
  formatFromContentType,
  parseExposition,
  parseOpenMetrics,
  parsePrometheusText,
  type ParsedExemplar,
  type ParsedSample,
} from './parse.ts';

const s = (labels: Record<string, string>, value: number, timestampMs?: number): ParsedSample =>
  timestampMs === undefined ? { labels, value } : { labels, value, timestampMs };

function expectError(fn: () => unknown, line: number, detail: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ExpositionParseError);
  const e = caught as ExpositionParseError;
  expect({ line: e.line, detail: e.detail }).toEqual({ line, detail: expect.stringMatching(detail) });
  expect(e.message).toBe(`line ${line}: ${e.detail}`);
}

describe('formatFromContentType', () => {
  it.each([
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    ['Application/OpenMetrics-Text', 'openmetrics'],
    ['text/plain; version=0.0.4; charset=utf-8', 'prometheus-text'],
    ['application/json', 'prometheus-text'],
    [null, 'prometheus-text'],
    ['', 'prometheus-text'],
  ])('%s -> %s', (ct, want) => {
    expect(formatFromContentType(ct)).toBe(want);
  });
});

describe('Prometheus text 0.0.4', () => {
  it('parses a typical page with metadata, labels, escapes and timestamps', () => {
    const page = [
      '# HELP http_requests_total Requests handled.\\nSecond line with a \\\\ backslash.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400",} 3 1395066363000',
      '',
      '# A plain comment',
      '#no space is also a comment',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
      '  indented_metric\t{ a = "x" , b="y" }\t+Inf  ',
      'weird_values{v="nan"} NaN',
      'weird_values{v="neg"} -Inf',
      'weird_values{v="neg_ts"} 1 -1000',
      'empty_braces{} 0',
      'empty_value{a=""} 2',
      'crlf_line 5\r',
      '',
    ].join('\n');
    const res = parsePrometheusText(page);
    expect(res.samples).toEqual([
      s({ __name__: 'http_requests_total', method: 'post', code: '200' }, 1027, 1395066363000),
      s({ __name__: 'http_requests_total', method: 'post', code: '400' }, 3, 1395066363000),
      s(
        {
          __name__: 'msdos_file_access_time_seconds',
          path: 'C:\\DIR\\FILE.TXT',
          error: 'Cannot find file:\n"FILE.TXT"',
        },
        1.458255915e9,
      ),
      s({ __name__: 'metric_without_timestamp_and_labels' }, 12.47),
      s({ __name__: 'rpc_duration_seconds', quantile: '0.5' }, 4773),
      s({ __name__: 'rpc_duration_seconds_sum' }, 1.7560473e7),
      s({ __name__: 'rpc_duration_seconds_count' }, 2693),
      s({ __name__: 'indented_metric', a: 'x', b: 'y' }, Infinity),
      s({ __name__: 'weird_values', v: 'nan' }, NaN),
      s({ __name__: 'weird_values', v: 'neg' }, -Infinity),
      s({ __name__: 'weird_values', v: 'neg_ts' }, 1, -1000),
      s({ __name__: 'empty_braces' }, 0),
      s({ __name__: 'empty_value', a: '' }, 2),
      s({ __name__: 'crlf_line' }, 5),
    ]);
    expect(Object.fromEntries(res.metadata)).toEqual({
      http_requests_total: {
        type: 'counter',
        help: 'Requests handled.\nSecond line with a \\ backslash.',
        unit: '',
      },
      rpc_duration_seconds: { type: 'summary', help: '', unit: '' },
    });
  });

  it.each([
    ['1', 1],
    ['-2.5', -2.5],
    ['+3', 3],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['nan', NaN],
    ['Inf', Infinity],
    ['+inf', Infinity],
    ['-Infinity', -Infinity],
  ])('value %s', (tok, want) => {
    expect(parsePrometheusText(`m ${tok}\n`).samples[0]!.value).toBe(want);
  });

  it('maps untyped to unknown and keeps HELP-only families', () => {
    const res = parsePrometheusText('# TYPE a untyped\n# HELP b only help\n# TYPE c GAUGE\na 1\nb 2\nc 3\n');
    expect(Object.fromEntries(res.metadata)).toEqual({
      a: { type: 'unknown', help: '', unit: '' },
      b: { type: 'unknown', help: 'only help', unit: '' },
      c: { type: 'gauge', help: '', unit: '' },
    });
  });

  it('treats label names like constructor, toString and __proto__ as ordinary names', () => {
    const [sample] = parsePrometheusText('m{constructor="a",toString="b",__proto__="c"} 1\n').samples;
    expect(Object.keys(sample!.labels).sort()).toEqual(['__name__', '__proto__', 'constructor', 'toString']);
    expect(sample!.labels['__proto__']).toBe('c');
    expect(sample!.labels.constructor).toBe('a');
  });

  it('accepts an empty page', () => {
    expect(parsePrometheusText('')).toEqual({ samples: [], metadata: new Map() });
  });

  it('keeps unknown escapes in HELP text as written', () => {
    expect(parsePrometheusText('# HELP m a\\tb\n').metadata.get('m')!.help).toBe('a\\tb');
  });

  it.each([
    ['no value', 'ok 1\nmetric_only\n', 2, /missing value for metric_only|expected a space/],
    ['bad value', 'm abc\n', 1, /invalid value "abc"/],
    ['hex value', 'm 0x10\n', 1, /invalid value "0x10"/],
    ['bad timestamp', 'm 1 12.5\n', 1, /invalid timestamp "12.5"/],
    ['text after timestamp', 'm 1 2 3\n', 1, /unexpected text after the timestamp/],
    ['invalid metric name', '\n\n1abc 3\n', 3, /invalid metric name "1abc"/],
    ['metric name with bad char', 'a-b 3\n', 1, /expected a space before the value, found "-"/],
    ['invalid label name', 'm{1a="x"} 1\n', 1, /invalid label name "1a"/],
    ['duplicate label', 'm{a="x",a="y"} 1\n', 1, /duplicate label name "a"/],
    ['__name__ in braces', 'm{__name__="x"} 1\n', 1, /reserved/],
    ['unterminated value', 'm{a="x} 1\n', 1, /unterminated value of label "a"/],
    ['unquoted value', 'm{a=x} 1\n', 1, /expected '"' to start value of label "a"/],
    ['missing =', 'm{a "x"} 1\n', 1, /expected '=' after label name "a"/],
    ['missing comma', 'm{a="x" b="y"} 1\n', 1, /expected ',' or '}'/],
    ['bad escape', 'm{a="\\t"} 1\n', 1, /invalid escape sequence '\\t'/],
    ['unknown type', '# TYPE m widget\n', 1, /unknown metric type "widget"/],
    ['second TYPE', '# TYPE m gauge\n# TYPE m counter\n', 2, /second TYPE line for metric m/],
    ['second HELP', '# HELP m a\n# HELP m b\n', 2, /second HELP line for metric m/],
    ['TYPE after samples', 'm 1\n# TYPE m gauge\n', 2, /comes after samples/],
    ['TYPE after histogram samples', 'h_bucket{le="1"} 1\n# TYPE h histogram\n', 2, /comes after samples/],
    ['TYPE without name', '# TYPE\n', 1, /without a metric name/],
    ['TYPE with bad name', '# TYPE 9m gauge\n', 1, /invalid metric name "9m" in TYPE line/],
    ['TYPE trailing text', '# TYPE m gauge extra\n', 1, /unexpected text after the type/],
    ['no space before value', 'm{a="b"}1\n', 1, /expected a space before the value/],
    ['huge timestamp', 'm 1 99999999999999999999\n', 1, /out of range/],
  ])('rejects %s', (_name, page, line, detail) => {
    expectError(() => parsePrometheusText(page), line, detail);
  });
});

describe('OpenMetrics 1.0', () => {
  it('parses counters (skipping _created), units, exemplars and second timestamps', () => {
    const page = [
      '# TYPE requests counter',
      '# UNIT requests ',
      '# HELP requests Requests \\"served\\".',
      'requests_total{path="/"} 17 1700000000.5',
      'requests_created{path="/"} 1699990000',
      'requests_total{path="/x"} 3 # {trace_id="abc"} 1 1700000000',
      '# TYPE latency_seconds histogram',
      '# UNIT latency_seconds seconds',
      'latency_seconds_bucket{le="0.1"} 2',
      'latency_seconds_bucket{le="+Inf"} 3 # {trace_id="def"} 0.7',
      'latency_seconds_count 3',
      'latency_seconds_sum 0.9',
      'latency_seconds_created 1699990000.25',
      '# TYPE build info',
      'build_info{version="1.2"} 1',
      '# TYPE feature stateset',
      'feature{feature="a"} 1',
      'feature{feature="b"} 0',
      'no_metadata 42',
      '# TYPE temp gauge',
      'temp -4.5e1 -1.5',
      '# EOF',
      '',
    ].join('\n');
    const res = parseOpenMetrics(page);
    expect(res.samples).toEqual([
      s({ __name__: 'requests_total', path: '/' }, 17, 1700000000500),
      {
        ...s({ __name__: 'requests_total', path: '/x' }, 3),
        exemplar: { pairs: [['trace_id', 'abc']], value: 1, timestampMs: 1700000000000 },
      },
      s({ __name__: 'latency_seconds_bucket', le: '0.1' }, 2),
      {
        ...s({ __name__: 'latency_seconds_bucket', le: '+Inf' }, 3),
        exemplar: { pairs: [['trace_id', 'def']], value: 0.7 },
      },
      s({ __name__: 'latency_seconds_count' }, 3),
      s({ __name__: 'latency_seconds_sum' }, 0.9),
      s({ __name__: 'build_info', version: '1.2' }, 1),
      s({ __name__: 'feature', feature: 'a' }, 1),
      s({ __name__: 'feature', feature: 'b' }, 0),
      s({ __name__: 'no_metadata' }, 42),
      s({ __name__: 'temp' }, -45, -1500),
    ]);
    expect(Object.fromEntries(res.metadata)).toEqual({
      requests: { type: 'counter', help: 'Requests "served".', unit: '' },
      latency_seconds: { type: 'histogram', help: '', unit: 'seconds' },
      build: { type: 'info', help: '', unit: '' },
      feature: { type: 'stateset', help: '', unit: '' },
      temp: { type: 'gauge', help: '', unit: '' },
    });
  });

  it('accepts # EOF without a trailing newline and an exposition with only # EOF', () => {
    expect(parseOpenMetrics('m 1\n# EOF').samples).toEqual([s({ __name__: 'm' }, 1)]);
    expect(parseOpenMetrics('# EOF\n').samples).toEqual([]);
  });

  it('keeps _created samples of untyped families', () => {
    expect(parseOpenMetrics('job_created 5\n# EOF\n').samples).toEqual([s({ __name__: 'job_created' }, 5)]);
  });

  it('is chosen by parseExposition', () => {
    expect(() => parseExposition('m 1\n', 'openmetrics')).toThrow(/missing "# EOF"/);
    expect(parseExposition('m 1\n', 'prometheus-text').samples).toHaveLength(1);
  });

  it.each([
    ['missing EOF', 'a 1\nb 2\n', 2, /missing "# EOF"/],
    ['missing EOF in empty input', '', 1, /missing "# EOF"/],
    ['content after EOF', 'a 1\n# EOF\nb 2\n', 3, /content after "# EOF"/],
    ['empty line', 'a 1\n\nb 2\n# EOF\n', 2, /empty line/],
    ['plain comment', '# hello\n# EOF\n', 1, /invalid comment line/],
    ['comment without space', '#TYPE a gauge\n# EOF\n', 1, /invalid comment line/],
    ['unknown type', '# TYPE a untyped\n# EOF\n', 1, /unknown metric type "untyped"/],
    ['second TYPE', '# TYPE a gauge\n# TYPE a gauge\n# EOF\n', 2, /second TYPE line/],
    ['second UNIT', '# UNIT a_bytes bytes\n# UNIT a_bytes bytes\n# EOF\n', 2, /second UNIT line/],
    ['unit not in name', '# TYPE a gauge\n# UNIT a seconds\n# EOF\n', 2, /does not end in _seconds/],
    ['metadata after samples', '# TYPE a gauge\na 1\n# HELP a late\n# EOF\n', 3, /comes after its samples/],
    ['counter without _total', '# TYPE c counter\nc 1\n# EOF\n', 2, /sample c does not fit counter family c/],
    [
      'interleaved family',
      '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n',
      5,
      /appeared earlier; a family's lines must be contiguous/,
    ],
    [
      'interleaved counter sample',
      '# TYPE c counter\nc_total 1\n# TYPE g gauge\ng 1\nc_total 2\n# EOF\n',
      5,
      /belongs to metric family c, which appeared earlier/,
    ],
    ['family reopened by metadata', '# TYPE a gauge\na 1\nb 1\n# HELP a again\n# EOF\n', 4, /appears again/],
    ['bad timestamp', 'a 1 abc\n# EOF\n', 1, /invalid timestamp "abc"/],
    ['infinite timestamp', 'a 1 +Inf\n# EOF\n', 1, /invalid timestamp/],
    ['bad value', 'a one\n# EOF\n', 1, /invalid value "one"/],
    ['missing value', 'a \n# EOF\n', 1, /missing value for a/],
    ['tab separator', 'a\t1\n# EOF\n', 1, /expected a space before the value/],
    ['junk after sample', 'a 1 2 junk\n# EOF\n', 1, /unexpected text after the sample/],
    ['malformed exemplar', 'a_total 1 # trace\n# EOF\n', 1, /unexpected text after the sample/],
    ['duplicate label', 'a{x="1",x="2"} 1\n# EOF\n', 1, /duplicate label name "x"/],
    ['invalid label name', 'a{x-y="1"} 1\n# EOF\n', 1, /expected '=' after label name "x"/],
    ['bad escape in HELP', '# HELP a bad \\t escape\n# EOF\n', 1, /invalid escape sequence '\\t' in HELP/],
    ['bad name in TYPE', '# TYPE a-b gauge\n# EOF\n', 1, /invalid metric name "a-b"/],
  ])('rejects %s', (_name, page, line, detail) => {
    expectError(() => parseOpenMetrics(page), line, detail);
  });
});

describe('OpenMetrics exemplars', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

  it.each<[string, string, ParsedExemplar]>([
    [
      'labels, value and timestamp',
      `# {trace_id="${TRACE}",span_id="00f067aa0ba902b7"} 0.25 1700000000.123`,
      {
        pairs: [
          ['trace_id', TRACE],
          ['span_id', '00f067aa0ba902b7'],
        ],
        value: 0.25,
        timestampMs: 1700000000123,
      },
    ],
    ['no timestamp', `# {trace_id="${TRACE}"} 3`, { pairs: [['trace_id', TRACE]], value: 3 }],
    ['empty labels', '# {} 1', { pairs: [], value: 1 }],
    ['escapes in values', '# {a="x\\"y\\\\z"} 1', { pairs: [['a', 'x"y\\z']], value: 1 }],
    ['a trailing comma', '# {a="1",} -Inf', { pairs: [['a', '1']], value: -Infinity }],
  ])('reads an exemplar with %s', (_what, exemplar, expected) => {
    const res = parseOpenMetrics(`# TYPE c counter\nc_total 5 ${exemplar}\n# EOF\n`);
    expect(res.samples).toEqual([{ ...s({ __name__: 'c_total' }, 5), exemplar: expected }]);
    expect(res.exemplarDrops).toBeUndefined();
  });

  it('reads an exemplar after a sample timestamp', () => {
    const res = parseOpenMetrics(`h_bucket{le="1"} 5 1700000000 # {trace_id="${TRACE}"} 0.5\n# EOF\n`);
    expect(res.samples[0]).toEqual({
      ...s({ __name__: 'h_bucket', le: '1' }, 5, 1700000000000),
      exemplar: { pairs: [['trace_id', TRACE]], value: 0.5 },
    });
  });

  it.each([
    ['a gauge', '# TYPE g gauge\ng 1 # {trace_id="a"} 1\n# EOF\n', 'g'],
    ['a histogram _count', '# TYPE h histogram\nh_count 1 # {trace_id="a"} 1\n# EOF\n', 'h_count'],
  ])('leaves out and reports an exemplar on %s, keeping the sample', (_what, page, name) => {
    const res = parseOpenMetrics(page);
    expect(res.samples).toHaveLength(1);
    expect(res.samples[0]!.exemplar).toBeUndefined();
    expect(res.exemplarDrops).toEqual([
      {
        reason: 'not_allowed',
        message: `line 2: exemplar on ${name} left out: OpenMetrics allows exemplars on counter _total and histogram _bucket samples only`,
      },
    ]);
  });

  it.each([
    ['no closing brace', 'c_total 1 # {a="1" 1\n# EOF\n', /expected ',' or '}' after exemplar label "a"/],
    ['no value', 'c_total 1 # {a="1"}\n# EOF\n', /expected a space before the exemplar value/],
    ['a bad value', 'c_total 1 # {a="1"} x\n# EOF\n', /invalid exemplar value "x"/],
    ['a bad timestamp', 'c_total 1 # {a="1"} 1 y\n# EOF\n', /invalid exemplar timestamp "y"/],
    [
      'text after the timestamp',
      'c_total 1 # {a="1"} 1 2 3\n# EOF\n',
      /unexpected text after the exemplar timestamp/,
    ],
    ['a bad label name', 'c_total 1 # {1a="1"} 1\n# EOF\n', /invalid exemplar label name "1a"/],
    [
      'an unquoted value',
      'c_total 1 # {a=1} 1\n# EOF\n',
      /expected '"' to start value of exemplar label "a"/,
    ],
  ])('fails the page on an exemplar with %s, naming the line', (_what, page, detail) => {
    expectError(() => parseOpenMetrics(page), 1, detail);
  });
});

describe('speed', () => {
  it('parses 10k lines (timing is reported by the benchmark, not asserted here)', () => {
    const lines: string[] = ['# HELP big_total A big counter.', '# TYPE big_total counter'];
    for (let i = 0; i < 10_000; i++)
      lines.push(`big_total{shard="${i % 16}",id="${i}",path="/api/v1/x"} ${i * 1.5}`);
    const res = parsePrometheusText(lines.join('\n') + '\n');
    expect(res.samples).toHaveLength(10_000);
    expect(res.samples[9_999]!.labels.id).toBe('9999');
  });
});
