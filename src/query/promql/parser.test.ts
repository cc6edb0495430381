import { describe, expect, it } from 'vitest';
import type { BinaryExpr, Expr } from './ast.ts';
import { ParseError } from './errors.ts';
import { formatExpr } from './format.ts';
import { tokenize } from './lexer.ts';
import { parse } from './parser.ts';

/** Compact structural rendering for precedence checks: fully parenthesised binary/unary structure. */
function shape(e: Expr): string {
  switch (e.type) {
    case 'BinaryExpr':
      return `(${shape(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''} ${shape(e.rhs)})`;
    case 'UnaryExpr':
      return `(${e.op}${shape(e.expr)})`;
    case 'ParenExpr':
      return shape(e.expr);
    case 'NumberLiteral':
      return String(e.value);
    case 'VectorSelector':
      return e.name ?? '{}';
    default:
      return formatExpr(e);
  }
}

describe('lexer', () => {
  it.each([
    ['foo', ['IDENT']],
    ['foo:bar_total', ['IDENT']],
    ['1.5e3', ['NUMBER']],
    ['0x1F', ['NUMBER']],
    ['5m', ['DURATION']],
    ['1h30m', ['DURATION']],
    ['"a" \'b\' `c`', ['STRING', 'STRING', 'STRING']],
    ['a and on(x) b', ['IDENT', 'KEYWORD', 'KEYWORD', 'LPAREN', 'IDENT', 'RPAREN', 'IDENT']],
    ['x[5m:1m]', ['IDENT', 'LBRACKET', 'DURATION', 'COLON', 'DURATION', 'RBRACKET']],
    ['a # comment\n+ b', ['IDENT', 'OP', 'IDENT']],
    ['a =~ "x" != "y" !~ "z"', ['IDENT', 'OP', 'STRING', 'OP', 'STRING', 'OP', 'STRING']],
  ])('tokenizes %s', (src, kinds) => {
    expect(
      tokenize(src)
        .map((t) => t.kind)
        .slice(0, -1),
    ).toEqual(kinds);
  });

  it('decodes escapes in double and single quoted strings but not raw strings', () => {
    const [a, b, c] = tokenize(String.raw`"a\n\"\x41\u00e9\101" 'it\'s' ` + '`\\n`');
    expect(a!.value).toBe('a\n"Aé' + 'A');
    expect(b!.value).toBe("it's");
    expect(c!.value).toBe('\\n');
  });
});

describe('parser', () => {
  it.each([
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 * 2 + 3', '((1 * 2) + 3)'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['1 - 2 - 3', '((1 - 2) - 3)'],
    ['a / b % c', '((a / b) % c)'],
    ['a atan2 b * c', '((a atan2 b) * c)'],
    ['a + b > c', '((a + b) > c)'],
    ['a > b and c < d', '((a > b) and (c < d))'],
    ['a or b and c', '(a or (b and c))'],
    ['a or b unless c', '(a or (b unless c))'],
    ['a and b unless c', '((a and b) unless c)'],
    ['-a ^ 2', '(-(a ^ 2))'],
    ['-a * b', '((-a) * b)'],
    ['-1 ^ 2', '(-(1 ^ 2))'],
    ['2 == bool 3', '(2 == bool 3)'],
    ['- - 1', '1'],
    ['(a + b) * c', '((a + b) * c)'],
    ['a == bool b or c', '((a == bool b) or c)'],
  ])('precedence of %s', (src, want) => {
    expect(shape(parse(src))).toBe(want);
  });

  it('folds unary minus into number literals', () => {
    expect(parse('-5')).toMatchObject({ type: 'NumberLiteral', value: -5 });
    expect(parse('+Inf')).toMatchObject({ type: 'NumberLiteral', value: Infinity });
    expect(parse('-inf')).toMatchObject({ type: 'NumberLiteral', value: -Infinity });
    expect((parse('NaN') as { value: number }).value).toBeNaN();
    expect(parse('0x10')).toMatchObject({ value: 16 });
    expect(parse('1e3')).toMatchObject({ value: 1000 });
    expect(parse('.5')).toMatchObject({ value: 0.5 });
  });

  it('parses selectors with all matcher types', () => {
    expect(parse('foo:bar{a="1", b!="2", c=~"x.*", d!~"y",}')).toEqual({
      type: 'VectorSelector',
      name: 'foo:bar',
      matchers: [
        { name: '__name__', type: '=', value: 'foo:bar' },
        { name: 'a', type: '=', value: '1' },
        { name: 'b', type: '!=', value: '2' },
        { name: 'c', type: '=~', value: 'x.*' },
        { name: 'd', type: '!~', value: 'y' },
      ],
      offsetMs: 0,
      at: undefined,
      pos: { start: 0, end: 41 },
    });
    expect(parse('{__name__=~"a|b"}')).toMatchObject({
      name: undefined,
      matchers: [{ name: '__name__', type: '=~', value: 'a|b' }],
    });
    expect(parse('{on="x"}')).toMatchObject({ matchers: [{ name: 'on', value: 'x' }] });
  });

  it('parses ranges, subqueries, offsets and @', () => {
    expect(parse('foo[5m] offset 1h')).toMatchObject({
      type: 'MatrixSelector',
      rangeMs: 300_000,
      vector: { offsetMs: 3_600_000 },
    });
    expect(parse('foo offset -5m')).toMatchObject({ offsetMs: -300_000 });
    expect(parse('foo @ 100.5')).toMatchObject({ at: { kind: 'time', timeMs: 100_500 } });
    expect(parse('foo @ start() offset 1m')).toMatchObject({ at: { kind: 'start' }, offsetMs: 60_000 });
    expect(parse('foo[1m] @ end()')).toMatchObject({ vector: { at: { kind: 'end' } } });
    expect(parse('rate(foo[5m])[30m:1m]')).toMatchObject({
      type: 'SubqueryExpr',
      rangeMs: 1_800_000,
      stepMs: 60_000,
    });
    expect(parse('foo[30m:] offset 5m @ 10')).toMatchObject({
      type: 'SubqueryExpr',
      stepMs: 0,
      offsetMs: 300_000,
      at: { timeMs: 10_000 },
    });
    expect(parse('(foo)[5m:]')).toMatchObject({ type: 'SubqueryExpr' });
  });

  it('parses aggregations with grouping before or after, and parameters', () => {
    const a = parse('sum by (job, instance) (foo)');
    const b = parse('sum(foo) by (job, instance)');
    expect(a).toMatchObject({
      type: 'AggregateExpr',
      op: 'sum',
      grouping: ['job', 'instance'],
      without: false,
    });
    expect(b).toMatchObject({
      type: 'AggregateExpr',
      op: 'sum',
      grouping: ['job', 'instance'],
      without: false,
    });
    expect(parse('topk(3, foo) without (a)')).toMatchObject({
      op: 'topk',
      param: { value: 3 },
      without: true,
      grouping: ['a'],
    });
    expect(parse('count_values("v", foo)')).toMatchObject({ op: 'count_values', param: { value: 'v' } });
    expect(parse('SUM(foo)')).toMatchObject({ op: 'sum' });
    expect(parse('sum by () (foo)')).toMatchObject({ grouping: [], hasGrouping: true });
  });

  it('parses vector matching', () => {
    const e = parse('a * on(x, y) group_left(z) b') as BinaryExpr;
    expect(e.matching).toEqual({
      card: 'many-to-one',
      on: true,
      explicit: true,
      labels: ['x', 'y'],
      include: ['z'],
    });
    expect((parse('a / ignoring(x) group_right b') as BinaryExpr).matching).toMatchObject({
      card: 'one-to-many',
      on: false,
      include: [],
    });
    expect((parse('a and b') as BinaryExpr).matching).toMatchObject({ card: 'many-to-many' });
    expect((parse('a + 1') as BinaryExpr).matching).toBeUndefined();
  });

  it('round-trips through formatExpr', () => {
    for (const q of [
      'sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1m))',
      'a * on(x) group_left(y) b',
      'topk(3, foo @ 100.000)',
      'max_over_time(rate(x[1m])[10m:30s])',
      'histogram_quantile(0.9, sum without (instance) (rate(b[5m])))',
      '-(a + b) ^ 2 > bool 1',
    ]) {
      const e = parse(q);
      expect(parse(formatExpr(e))).toEqual(parse(formatExpr(parse(formatExpr(e)))));
      expect(shape(parse(formatExpr(e)))).toBe(shape(e));
    }
  });
});

describe('parse errors', () => {
  it.each([
    ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0],
    ['{a=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0],
    ['1 + * 2', '1:5: parse error: unexpected <op:*>', 4],
    ['foo(1)', '1:1: parse error: unknown function with name "foo"', 0],
    [
      'rate(foo)',
      '1:6: parse error: expected type range vector in call to function "rate", got instant vector',
      5,
    ],
    ['rate(foo[5m], 1)', '1:1: parse error: expected 1 argument(s) in call to "rate", got 2', 0],
    ['round()', '1:1: parse error: expected at least 1 argument(s) in call to "round", got 0', 0],
    ['round(a, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3', 0],
    ['"abc', '1:1: parse error: unterminated quoted string', 0],
    ['foo[5x]', '1:5: parse error: bad number or duration syntax: "5x"', 4],
    ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors', 5],
    ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier', 2],
    ['a + bool b', '1:3: parse error: bool modifier can only be used on comparison operators', 2],
    ['1 and foo', '1:1: parse error: set operator "and" not allowed in binary scalar expression', 0],
    ['a and on(x) group_left b', '1:1: parse error: no grouping allowed for "and" operation', 0],
    ['foo + on(x) 1', '1:1: parse error: vector matching only allowed between instant vectors', 0],
    [
      'sum(foo[5m])',
      '1:5: parse error: expected type instant vector in aggregation expression, got range vector',
      4,
    ],
    [
      'topk(foo)',
      '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1',
      0,
    ],
    [
      'count_values(1, foo)',
      '1:14: parse error: expected type string in aggregation parameter, got scalar',
      13,
    ],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"', 0],
    ['foo offset 5m offset 1m', '1:1: parse error: offset may not be set multiple times', 0],
    [
      'sum(foo) offset 5m',
      '1:10: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
      9,
    ],
    [
      'foo[5m] + 1',
      '1:1: parse error: binary expression must contain only scalar and instant vector types',
      0,
    ],
    ['foo\n  + * bar', '2:5: parse error: unexpected <op:*>', 8],
    [
      '-"a"',
      '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"',
      0,
    ],
    ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces', 9],
    ['sum by (a) (foo) by (b)', '1:18: parse error: unexpected <by> in aggregation', 17],
    ['foo{a~"b"}', "1:6: parse error: unexpected character inside braces: '~'", 5],
    ['x $ y', "1:3: parse error: unexpected character: '$'", 2],
    [
      'a * on(x) group_left(x) b',
      '1:3: parse error: label "x" must not occur in ON and GROUP clause at once',
      2,
    ],
    ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times', 0],
    ['foo offset 1m[5m]', '1:1: parse error: no offset modifiers allowed before range', 0],
    ['1 2', '1:3: parse error: unexpected number "2"', 2],
    ['foo{a=~"("}', '1:5: parse error: invalid regular expression in matcher a=~"("', 4],
    ['abs(5m)', '1:5: parse error: unexpected duration "5m"', 4],
    ['', '1:1: parse error: no expression found in input', 0],
    ['sum(temp{)', "1:10: parse error: unexpected character inside braces: ')'", 9],
    ['# just a comment', '1:1: parse error: no expression found in input', 0],
    [
      'sum(rate(x[5m])) by job',
      '1:21: parse error: unexpected identifier "job" in grouping opts, expected "("',
      20,
    ],
    [
      'x{a="b" c="d"}',
      '1:9: parse error: unexpected identifier "c" in label matching, expected "," or "}"',
      8,
    ],
    ['x[5m', '1:5: parse error: unclosed left bracket', 4],
    ['x[5m)', "1:6: parse error: unexpected right parenthesis ')'", 5],
    ['sum(rate(x[5m])', '1:16: parse error: unclosed left parenthesis', 15],
    ['foo(bar', '1:8: parse error: unclosed left parenthesis', 7],
    ['rate(x) + (', '1:12: parse error: unclosed left parenthesis', 11],
    ['m]', "1:2: parse error: unexpected right bracket ']'", 1],
    ['x{a=1}', '1:5: parse error: unexpected number "1" in label matching, expected string', 4],
    ['x offset 5', '1:10: parse error: unexpected number "5" in offset, expected duration', 9],
    ['x[0s]', '1:1: parse error: range selector duration must be greater than 0', 0],
    ['foo{a="\\q"}', '1:8: parse error: unknown escape sequence: \\q', 7],
  ])('%s', (src, msg, start) => {
    let err: unknown;
    try {
      parse(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).message).toBe(msg);
    expect((err as ParseError).positionRange.start).toBe(start);
  });
});
