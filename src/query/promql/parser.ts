/** PromQL parser: precedence climbing over the token stream, with Prometheus' type checks and error messages. */
import { isValidLabelName, METRIC_NAME } from '../../model/labels.ts';
import { compileMatcher, InvalidMatcherError, type Matcher, type MatchType } from '../../model/matcher.ts';
import { parseDuration, DurationError } from '../../model/duration.ts';
import {
  COMPARISON_OPS,
  SET_OPS,
  typeName,
  type AggregateOp,
  type AtModifier,
  type BinaryOp,
  type Cardinality,
  type Expr,
  type PositionRange,
  type ValueType,
  type VectorMatching,
  type VectorSelector,
} from './ast.ts';
import { makeParseError, ParseError } from './errors.ts';
import { FUNCTIONS } from './functions.ts';
import { LexError, tokenize, type Token } from './lexer.ts';

/** Aggregation operators; `true` when they take a leading parameter. */
export const AGGREGATORS: ReadonlyMap<string, boolean> = new Map<string, boolean>([
  ['sum', false],
  ['avg', false],
  ['min', false],
  ['max', false],
  ['count', false],
  ['group', false],
  ['stddev', false],
  ['stdvar', false],
  ['topk', true],
  ['bottomk', true],
  ['quantile', true],
  ['count_values', true],
  ['limitk', true],
  ['limit_ratio', true],
]);

const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const POW_PRECEDENCE = 6;

/** Parses a PromQL expression. Throws ParseError with Prometheus-style messages and positions. */
export function parse(input: string): Expr {
  let tokens: Token[];
  try {
    tokens = tokenize(input);
  } catch (err) {
    if (err instanceof LexError) throw makeParseError(input, { start: err.start, end: err.end }, err.message);
    throw err;
  }
  const p = new Parser(input, tokens);
  try {
    if (tokens[0]!.kind === 'EOF') p.fail({ start: 0, end: input.length }, 'no expression found in input');
    const expr = p.parseExpr(0);
    const t = p.peek();
    if (t.kind !== 'EOF') p.unexpected(t);
    if (p.deferred) {
      errorOrder.set(p.deferred, Infinity);
      throw p.deferred;
    }
    return expr;
  } catch (err) {
    // Prometheus' lexer reports unbalanced brackets as it reaches them, which is before the parser complains
    // about anything at or after that point (and before checks it makes once a call or selector is complete).
    const problem = bracketProblem(tokens, input.length);
    if (
      err instanceof ParseError &&
      problem &&
      problem.order <= (errorOrder.get(err) ?? err.positionRange.end)
    )
      throw makeParseError(input, problem.pos, problem.what);
    throw err;
  }
}

/** When a parse error is raised, as an offset: the offending token for syntax errors, else the node's end. */
const errorOrder = new WeakMap<ParseError, number>();

/** The first unbalanced bracket, with the message Prometheus' lexer gives and where it gives it. */
function bracketProblem(
  tokens: Token[],
  length: number,
): { order: number; pos: PositionRange; what: string } | undefined {
  const open: Token['kind'][] = [];
  for (const t of tokens) {
    const top = open[open.length - 1];
    // Inside braces the selector parser reports stray characters itself.
    if (top === 'LBRACE' && t.kind !== 'RBRACE' && t.kind !== 'EOF') continue;
    switch (t.kind) {
      case 'LPAREN':
      case 'LBRACE':
      case 'LBRACKET':
        open.push(t.kind);
        break;
      case 'RPAREN':
        if (top !== 'LPAREN')
          return {
            order: t.start,
            pos: { start: t.end, end: t.end },
            what: "unexpected right parenthesis ')'",
          };
        open.pop();
        break;
      case 'RBRACKET':
        if (top !== 'LBRACKET')
          return {
            order: t.start,
            pos: { start: t.start, end: t.end },
            what: "unexpected right bracket ']'",
          };
        open.pop();
        break;
      case 'RBRACE':
        if (top !== 'LBRACE')
          return { order: t.start, pos: { start: t.start, end: t.end }, what: "unexpected character: '}'" };
        open.pop();
        break;
      case 'EOF': {
        if (!top) return undefined;
        const what =
          top === 'LPAREN'
            ? 'unclosed left parenthesis'
            : top === 'LBRACE'
              ? 'unexpected end of input inside braces'
              : 'unclosed left bracket';
        return { order: length, pos: { start: length, end: length }, what };
      }
      default:
        break;
    }
  }
  return undefined;
}

/** The value type an expression evaluates to. */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
    case 'AggregateExpr':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'ParenExpr':
    case 'UnaryExpr':
      return exprType(e.expr);
    case 'BinaryExpr':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'Call':
      return FUNCTIONS.get(e.func)!.returnType;
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'EOF':
      return 'end of input';
    case 'IDENT':
      return AGGREGATORS.has(t.text.toLowerCase())
        ? `<aggr:${t.text.toLowerCase()}>`
        : `identifier ${JSON.stringify(t.text)}`;
    case 'NUMBER':
      return `number ${JSON.stringify(t.text)}`;
    case 'STRING':
      return `string ${JSON.stringify(t.text)}`;
    case 'DURATION':
      return `duration ${JSON.stringify(t.text)}`;
    case 'OP':
      return `<op:${t.text}>`;
    case 'KEYWORD':
      return PRECEDENCE[t.value] !== undefined ? `<op:${t.value}>` : `<${t.value}>`;
    default:
      return JSON.stringify(t.text);
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly input: string,
    private readonly tokens: Token[],
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  fail(pos: PositionRange, what: string): never {
    throw this.error(pos, what);
  }

  /**
   * The first error found by a type or arity check. Prometheus makes these checks after the whole query has
   * parsed, so a syntax error anywhere wins over them; parsing carries on and `parse` throws this at the end.
   */
  deferred: ParseError | undefined;

  check(pos: PositionRange, what: string): void {
    this.deferred ??= this.error(pos, what);
  }

  private error(pos: PositionRange, what: string): ParseError {
    return makeParseError(this.input, pos, what);
  }

  unexpected(t: Token, context?: string, expected?: string): never {
    let msg = `unexpected ${describe(t)}`;
    if (context) msg += ` in ${context}`;
    if (expected) msg += `, expected ${expected}`;
    this.syntaxError(t, msg);
  }

  /** A syntax error at a token: raised when the parser reaches it, before later lexical problems. */
  syntaxError(t: Token, what: string): never {
    const err = this.error({ start: t.start, end: t.end }, what);
    errorOrder.set(err, t.start);
    throw err;
  }

  private expect(kind: Token['kind'], context: string, expected: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.unexpected(t, context, expected);
    return this.next();
  }

  /** Binary expressions with operators of precedence >= minPrec. */
  parseExpr(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const t = this.peek();
      const op = t.kind === 'OP' ? t.text : t.kind === 'KEYWORD' ? t.value : undefined;
      const prec = op === undefined ? undefined : PRECEDENCE[op];
      if (prec === undefined || prec < minPrec) return lhs;
      this.next();
      lhs = this.parseBinaryRest(lhs, op as BinaryOp, t, prec);
    }
  }

  private parseBinaryRest(lhs: Expr, op: BinaryOp, opTok: Token, prec: number): Expr {
    const opPos = { start: opTok.start, end: opTok.end };
    let returnBool = false;
    if (this.peek().kind === 'KEYWORD' && this.peek().value === 'bool') {
      this.next();
      returnBool = true;
    }
    let on = false;
    let explicit = false;
    let labels: string[] = [];
    let include: string[] = [];
    let card: Cardinality = 'one-to-one';
    const kw = this.peek();
    if (kw.kind === 'KEYWORD' && (kw.value === 'on' || kw.value === 'ignoring')) {
      this.next();
      on = kw.value === 'on';
      explicit = true;
      labels = this.parseLabelList('grouping opts');
      const g = this.peek();
      if (g.kind === 'KEYWORD' && (g.value === 'group_left' || g.value === 'group_right')) {
        this.next();
        card = g.value === 'group_left' ? 'many-to-one' : 'one-to-many';
        if (this.peek().kind === 'LPAREN') include = this.parseLabelList('grouping opts');
      }
    } else if (kw.kind === 'KEYWORD' && (kw.value === 'group_left' || kw.value === 'group_right')) {
      this.unexpected(kw, 'binary expression', '"on" or "ignoring" before the group modifier');
    }
    // `^` is right-associative; everything else is left-associative.
    const rhs = this.parseExpr(op === '^' ? prec : prec + 1);
    const pos = { start: lhs.pos.start, end: rhs.pos.end };
    const lt = exprType(lhs);
    const rt = exprType(rhs);
    const isComparison = COMPARISON_OPS.has(op);
    const isSet = SET_OPS.has(op);
    if (returnBool && !isComparison)
      this.check(opPos, 'bool modifier can only be used on comparison operators');
    if (isComparison && !returnBool && lt === 'scalar' && rt === 'scalar')
      this.check(opPos, 'comparisons between scalars must use BOOL modifier');
    if (isSet && card === 'one-to-one') card = 'many-to-many';
    if (on) {
      for (const l of include) {
        if (labels.includes(l))
          this.check(opPos, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
      }
    }
    if (lt !== 'scalar' && lt !== 'vector')
      this.check(lhs.pos, 'binary expression must contain only scalar and instant vector types');
    if (rt !== 'scalar' && rt !== 'vector')
      this.check(rhs.pos, 'binary expression must contain only scalar and instant vector types');
    let matching: VectorMatching | undefined = { card, on, explicit, labels, include };
    if (lt !== 'vector' || rt !== 'vector') {
      if (labels.length > 0 || include.length > 0 || card === 'many-to-one' || card === 'one-to-many')
        this.check(pos, 'vector matching only allowed between instant vectors');
      matching = undefined;
    } else if (isSet && card !== 'many-to-many') {
      this.check(pos, `no grouping allowed for ${JSON.stringify(op)} operation`);
    }
    if ((lt === 'scalar' || rt === 'scalar') && isSet)
      this.check(pos, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    return { type: 'BinaryExpr', op, lhs, rhs, returnBool, matching, pos };
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.kind === 'OP' && (t.text === '-' || t.text === '+')) {
      this.next();
      // Unary operators bind like `*`: `-a ^ b` is `-(a ^ b)`, `-a * b` is `(-a) * b`.
      const operand = this.parseExpr(POW_PRECEDENCE);
      const pos = { start: t.start, end: operand.pos.end };
      if (operand.type === 'NumberLiteral') {
        return { type: 'NumberLiteral', value: t.text === '-' ? -operand.value : operand.value, pos };
      }
      const ot = exprType(operand);
      if (ot !== 'scalar' && ot !== 'vector')
        this.check(
          pos,
          `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(typeName(ot))}`,
        );
      return { type: 'UnaryExpr', op: t.text, expr: operand, pos };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(expr: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'LBRACKET') {
        expr = this.parseRangeOrSubquery(expr);
      } else if (t.kind === 'KEYWORD' && t.value === 'offset') {
        expr = this.parseOffset(expr);
      } else if (t.kind === 'AT') {
        expr = this.parseAt(expr);
      } else {
        return expr;
      }
    }
  }

  private parseDurationToken(context: string): number {
    const t = this.peek();
    if (t.kind !== 'DURATION' && !(t.kind === 'NUMBER' && /^[0-9]+$/.test(t.text) && t.text === '0'))
      this.unexpected(t, context, 'duration');
    this.next();
    try {
      return parseDuration(t.text);
    } catch (err) {
      if (err instanceof DurationError) this.fail({ start: t.start, end: t.end }, err.message);
      throw err;
    }
  }

  private parseRangeOrSubquery(expr: Expr): Expr {
    const open = this.next();
    const range = this.parseDurationToken('range or subquery');
    const t = this.peek();
    if (t.kind === 'RBRACKET') {
      const close = this.next();
      const pos = { start: expr.pos.start, end: close.end };
      if (expr.type !== 'VectorSelector') {
        if (expr.type === 'MatrixSelector' || expr.type === 'SubqueryExpr' || exprType(expr) === 'matrix')
          this.fail(pos, 'ranges only allowed for vector selectors');
        this.fail({ start: open.start, end: close.end }, 'ranges only allowed for vector selectors');
      }
      if (expr.offsetMs !== 0 || expr.at)
        this.fail(
          pos,
          expr.at ? 'no @ modifiers allowed before range' : 'no offset modifiers allowed before range',
        );
      if (range <= 0) this.fail(pos, 'range selector duration must be greater than 0');
      return { type: 'MatrixSelector', vector: expr, rangeMs: range, pos };
    }
    if (t.kind !== 'COLON') this.unexpected(t, 'range or subquery', '"]" or ":"');
    this.next();
    let step = 0;
    if (this.peek().kind !== 'RBRACKET') step = this.parseDurationToken('subquery');
    const close = this.expect('RBRACKET', 'subquery', '"]"');
    const pos = { start: expr.pos.start, end: close.end };
    const et = exprType(expr);
    if (et !== 'vector')
      this.check(pos, `subquery is only allowed on instant vector, got ${typeName(et)} instead`);
    if (range <= 0) this.fail(pos, 'subquery range must be greater than 0');
    if (step < 0) this.fail(pos, 'subquery step must be greater than 0');
    return { type: 'SubqueryExpr', expr, rangeMs: range, stepMs: step, offsetMs: 0, at: undefined, pos };
  }

  private parseOffset(expr: Expr): Expr {
    const kw = this.next();
    let sign = 1;
    const s = this.peek();
    if (s.kind === 'OP' && (s.text === '-' || s.text === '+')) {
      this.next();
      if (s.text === '-') sign = -1;
    }
    const dur = this.parseDurationToken('offset') * sign;
    const end = this.tokens[this.i - 1]!.end;
    const pos = { start: expr.pos.start, end };
    const fail = () =>
      this.fail(
        { start: kw.start, end },
        'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
      );
    switch (expr.type) {
      case 'VectorSelector':
        if (expr.offsetMs !== 0) this.fail(pos, 'offset may not be set multiple times');
        return { ...expr, offsetMs: dur, pos };
      case 'MatrixSelector':
        if (expr.vector.offsetMs !== 0) this.fail(pos, 'offset may not be set multiple times');
        return { ...expr, vector: { ...expr.vector, offsetMs: dur }, pos };
      case 'SubqueryExpr':
        if (expr.offsetMs !== 0) this.fail(pos, 'offset may not be set multiple times');
        return { ...expr, offsetMs: dur, pos };
      default:
        return fail();
    }
  }

  private parseAt(expr: Expr): Expr {
    const atTok = this.next();
    let at: AtModifier;
    const t = this.peek();
    if (t.kind === 'IDENT' && (t.text === 'start' || t.text === 'end')) {
      this.next();
      this.expect('LPAREN', '@', '"("');
      this.expect('RPAREN', '@', '")"');
      at = { kind: t.text };
    } else {
      let sign = 1;
      if (t.kind === 'OP' && (t.text === '-' || t.text === '+')) {
        this.next();
        if (t.text === '-') sign = -1;
      }
      const n = this.peek();
      if (n.kind !== 'NUMBER' && !(n.kind === 'IDENT' && /^(inf|nan)$/i.test(n.text)))
        this.unexpected(n, '@', 'timestamp');
      this.next();
      const v = sign * parseNumber(n.text);
      if (!Number.isFinite(v) || Math.abs(v * 1000) > 8.64e15)
        this.fail({ start: atTok.start, end: n.end }, `timestamp out of bounds for @ modifier: ${v}`);
      at = { kind: 'time', timeMs: Math.round(v * 1000) };
    }
    const end = this.tokens[this.i - 1]!.end;
    const pos = { start: expr.pos.start, end };
    const dup = () => this.fail(pos, '@ <timestamp> may not be set multiple times');
    switch (expr.type) {
      case 'VectorSelector':
        if (expr.at) dup();
        return { ...expr, at, pos };
      case 'MatrixSelector':
        if (expr.vector.at) dup();
        return { ...expr, vector: { ...expr.vector, at }, pos };
      case 'SubqueryExpr':
        if (expr.at) dup();
        return { ...expr, at, pos };
      default:
        return this.fail(
          { start: atTok.start, end },
          '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
        );
    }
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'NUMBER':
        this.next();
        return { type: 'NumberLiteral', value: parseNumber(t.text), pos: { start: t.start, end: t.end } };
      case 'STRING':
        this.next();
        return { type: 'StringLiteral', value: t.value, pos: { start: t.start, end: t.end } };
      case 'LPAREN': {
        this.next();
        const inner = this.parseExpr(0);
        const close = this.expect('RPAREN', 'parenthesized expression', '")"');
        return { type: 'ParenExpr', expr: inner, pos: { start: t.start, end: close.end } };
      }
      case 'LBRACE':
        return this.parseSelector(undefined, t.start);
      case 'IDENT': {
        const lower = t.text.toLowerCase();
        if (AGGREGATORS.has(lower)) return this.parseAggregate();
        if (this.peek(1).kind === 'LPAREN') return this.parseCall();
        if (lower === 'inf' || lower === 'nan') {
          this.next();
          return { type: 'NumberLiteral', value: parseNumber(t.text), pos: { start: t.start, end: t.end } };
        }
        this.next();
        return this.parseSelector(t.text, t.start);
      }
      default:
        return this.unexpected(t);
    }
  }

  private parseSelector(name: string | undefined, start: number): VectorSelector {
    const matchers: Matcher[] = [];
    let end = this.tokens[this.i - 1]?.end ?? start;
    if (this.peek().kind === 'LBRACE') {
      this.next();
      for (;;) {
        const t = this.peek();
        if (t.kind === 'RBRACE') break;
        if (!['IDENT', 'KEYWORD', 'STRING', 'OP', 'ASSIGN', 'COMMA', 'EOF'].includes(t.kind))
          this.syntaxError(t, `unexpected character inside braces: '${t.text[0]}'`);
        if (t.kind !== 'IDENT' && t.kind !== 'KEYWORD')
          this.unexpected(t, 'label matching', 'label matching operator');
        this.next();
        const opTok = this.peek();
        let type: MatchType;
        if (opTok.kind === 'ASSIGN') type = '=';
        else if (opTok.kind === 'OP' && (opTok.text === '!=' || opTok.text === '=~' || opTok.text === '!~'))
          type = opTok.text;
        else this.unexpected(opTok, 'label matching', 'label matching operator');
        this.next();
        const v = this.peek();
        if (v.kind !== 'STRING') this.unexpected(v, 'label matching', 'string');
        this.next();
        const m: Matcher = { name: t.text, type, value: v.value };
        try {
          compileMatcher(m);
        } catch (err) {
          if (err instanceof InvalidMatcherError) this.fail({ start: t.start, end: v.end }, err.message);
          throw err;
        }
        matchers.push(m);
        const sep = this.peek();
        if (sep.kind === 'COMMA') {
          this.next();
          continue;
        }
        if (sep.kind !== 'RBRACE') this.unexpected(sep, 'label matching', '"," or "}"');
      }
      end = this.next().end;
    }
    const pos = { start, end };
    if (name !== undefined) {
      for (const m of matchers) {
        if (m.name === METRIC_NAME)
          this.fail(
            pos,
            `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`,
          );
      }
      matchers.unshift({ name: METRIC_NAME, type: '=', value: name });
    }
    // A selector that matches the empty string everywhere would select every series in the database.
    if (!matchers.some((m) => !compileMatcher(m).matches('')))
      this.check(pos, 'vector selector must contain at least one non-empty matcher');
    return { type: 'VectorSelector', name, matchers, offsetMs: 0, at: undefined, pos };
  }

  private parseLabelList(context: string): string[] {
    this.expect('LPAREN', context, '"("');
    const out: string[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'RPAREN') break;
      if (t.kind !== 'IDENT' && t.kind !== 'KEYWORD') this.unexpected(t, context, 'label');
      if (!isValidLabelName(t.text))
        this.fail(
          { start: t.start, end: t.end },
          `invalid label name ${JSON.stringify(t.text)} in ${context}`,
        );
      this.next();
      out.push(t.text);
      const sep = this.peek();
      if (sep.kind === 'COMMA') {
        this.next();
        continue;
      }
      if (sep.kind !== 'RPAREN') this.unexpected(sep, context, '"," or ")"');
    }
    this.next();
    return out;
  }

  private parseGrouping(): { without: boolean; labels: string[] } | undefined {
    const t = this.peek();
    if (t.kind === 'KEYWORD' && (t.value === 'by' || t.value === 'without')) {
      this.next();
      return { without: t.value === 'without', labels: this.parseLabelList('grouping opts') };
    }
    return undefined;
  }

  /** Comma-separated arguments up to (not including) the closing parenthesis; a trailing comma is allowed. */
  private parseArgs(context: string): Expr[] {
    const args: Expr[] = [];
    if (this.peek().kind === 'RPAREN') return args;
    for (;;) {
      args.push(this.parseExpr(0));
      const sep = this.peek();
      if (sep.kind === 'COMMA') {
        this.next();
        if (this.peek().kind === 'RPAREN') return args;
        continue;
      }
      if (sep.kind !== 'RPAREN') this.unexpected(sep, context, '"," or ")"');
      return args;
    }
  }

  private parseAggregate(): Expr {
    const nameTok = this.next();
    const op = nameTok.text.toLowerCase() as AggregateOp;
    let grouping = this.parseGrouping();
    const open = this.peek();
    if (open.kind !== 'LPAREN') this.unexpected(open, 'aggregation', '"("');
    this.next();
    const args = this.parseArgs('aggregation');
    let end = this.next().end;
    const after = this.peek();
    if (after.kind === 'KEYWORD' && (after.value === 'by' || after.value === 'without')) {
      if (grouping) this.unexpected(after, 'aggregation');
      grouping = this.parseGrouping();
      end = this.tokens[this.i - 1]!.end;
    }
    const pos = { start: nameTok.start, end };
    const hasParam = AGGREGATORS.get(op)!;
    const want = hasParam ? 2 : 1;
    if (args.length === 0) this.check(pos, 'no arguments for aggregate expression provided');
    if (args.length !== want)
      this.check(
        pos,
        `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`,
      );
    // With a wrong count (already recorded) carry on with what is there, to find later syntax errors.
    const expr: Expr = args[want - 1] ?? args[0] ?? { type: 'NumberLiteral', value: NaN, pos };
    const param = hasParam && args.length === want ? args[0] : undefined;
    const et = exprType(expr);
    if (et !== 'vector')
      this.check(expr.pos, `expected type instant vector in aggregation expression, got ${typeName(et)}`);
    if (param) {
      const pt = exprType(param);
      const wantType: ValueType = op === 'count_values' ? 'string' : 'scalar';
      if (pt !== wantType)
        this.check(
          param.pos,
          `expected type ${typeName(wantType)} in aggregation parameter, got ${typeName(pt)}`,
        );
    }
    return {
      type: 'AggregateExpr',
      op,
      expr,
      param,
      grouping: grouping?.labels ?? [],
      without: grouping?.without ?? false,
      hasGrouping: grouping !== undefined,
      pos,
    };
  }

  private parseCall(): Expr {
    const nameTok = this.next();
    this.next();
    const args = this.parseArgs(`call to function ${JSON.stringify(nameTok.text)}`);
    const close = this.next();
    // Checked once the call is complete, as Prometheus does: an unclosed `foo(` reports the parenthesis.
    const def = FUNCTIONS.get(nameTok.text);
    if (!def)
      this.fail(
        { start: nameTok.start, end: nameTok.end },
        `unknown function with name ${JSON.stringify(nameTok.text)}`,
      );
    const pos = { start: nameTok.start, end: close.end };
    const n = def.argTypes.length;
    if (def.variadic === 0) {
      if (args.length !== n)
        this.check(
          pos,
          `expected ${n} argument(s) in call to ${JSON.stringify(def.name)}, got ${args.length}`,
        );
    } else {
      const min = n - 1;
      if (args.length < min)
        this.check(
          pos,
          `expected at least ${min} argument(s) in call to ${JSON.stringify(def.name)}, got ${args.length}`,
        );
      if (def.variadic > 0 && args.length > min + def.variadic)
        this.check(
          pos,
          `expected at most ${min + def.variadic} argument(s) in call to ${JSON.stringify(def.name)}, got ${args.length}`,
        );
    }
    args.forEach((a, i) => {
      const want = def.argTypes[Math.min(i, n - 1)]!;
      const got = exprType(a);
      if (got !== want)
        this.check(
          a.pos,
          `expected type ${typeName(want)} in call to function ${JSON.stringify(def.name)}, got ${typeName(got)}`,
        );
    });
    return { type: 'Call', func: def.name, args, pos };
  }
}

/** Parses a PromQL number literal (decimal, hex, Inf, NaN). */
export function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  if (/^0x/i.test(text)) return parseInt(text.slice(2), 16);
  return Number(text);
}
