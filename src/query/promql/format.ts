/** Value formatting as Prometheus' JSON API prints it, and an expression printer. */
import { METRIC_NAME } from '../../model/labels.ts';
import type { AggregateExpr, AtModifier, BinaryExpr, Expr, SubqueryExpr, VectorSelector } from './ast.ts';

/**
 * Formats like Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that round-trips, never with
 * an exponent, and `NaN`, `+Inf`, `-Inf` for the special values.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  if (s.length < 16) return s.indexOf('e') < 0 ? s : expand(s);
  return expand(s);
}

function expand(s: string): string {
  const e = s.indexOf('e');
  if (e < 0) return s;
  // JS switches to exponent form below 1e-6 and from 1e21; expand the shortest digits to plain decimal.
  const neg = s[0] === '-';
  const mant = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const intLen = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return neg ? '-' + out : out;
}

/** Go's strconv.Quote: Prometheus prints strings and label values this way. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const DURATION_UNITS: [string, number, boolean][] = [
  ['y', 365 * 86_400_000, true],
  ['w', 7 * 86_400_000, true],
  ['d', 86_400_000, false],
  ['h', 3_600_000, false],
  ['m', 60_000, false],
  ['s', 1000, false],
  ['ms', 1, false],
];

/** A duration as Prometheus prints it: years and weeks only when exact (`90d`, not `12w6d`). */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size, exact] of DURATION_UNITS) {
    if (exact && rest % size !== 0) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatLabelList(names: readonly string[]): string {
  return names.map((n) => (LEGACY_LABEL.test(n) ? n : goQuote(n))).join(', ');
}

function formatAt(at: AtModifier | undefined): string {
  if (!at) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.timeMs / 1000).toFixed(3)}`;
}

function formatOffset(ms: number): string {
  if (ms === 0) return '';
  return ms < 0 ? ` offset -${formatPromDuration(-ms)}` : ` offset ${formatPromDuration(ms)}`;
}

/** `name{a="x",b=~"y"}`: matchers sorted as printed, the metric name's own matcher left out. */
function formatSelector(vs: VectorSelector): string {
  const ms = vs.matchers
    .filter(
      (m) => !(vs.name !== undefined && m.name === METRIC_NAME && m.type === '=' && m.value === vs.name),
    )
    .map((m) => `${LEGACY_LABEL.test(m.name) ? m.name : goQuote(m.name)}${m.type}${goQuote(m.value)}`)
    .sort();
  return (vs.name ?? '') + (ms.length ? `{${ms.join(',')}}` : '');
}

function formatMatching(e: BinaryExpr): string {
  const m = e.matching;
  if (!m) return '';
  const group = m.card === 'many-to-one' || m.card === 'one-to-many';
  let s = '';
  if (m.labels.length > 0 || m.on || group)
    s += ` ${m.on ? 'on' : 'ignoring'} (${formatLabelList(m.labels)})`;
  if (group) s += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${formatLabelList(m.include)})`;
  return s;
}

function aggregatePrefix(e: AggregateExpr): string {
  if (e.without) return `${e.op} without (${formatLabelList(e.grouping)}) `;
  if (e.grouping.length > 0) return `${e.op} by (${formatLabelList(e.grouping)}) `;
  return e.op;
}

/**
 * Prints an expression as Prometheus' `String()` does, on one line: `sum by (job) (rate(x{a="b"}[5m]))`,
 * `a / on (b) group_left (c) d`, `x @ 10.000 offset 5m`. Re-parses to the same AST.
 */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return formatValue(e.value);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'VectorSelector':
      return formatSelector(e) + formatAt(e.at) + formatOffset(e.offsetMs);
    case 'MatrixSelector':
      return (
        `${formatSelector(e.vector)}[${formatPromDuration(e.rangeMs)}]` +
        formatAt(e.vector.at) +
        formatOffset(e.vector.offsetMs)
      );
    case 'SubqueryExpr':
      return formatExpr(e.expr) + subquerySuffix(e);
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'BinaryExpr':
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${formatMatching(e)} ${formatExpr(e.rhs)}`;
    case 'AggregateExpr':
      return `${aggregatePrefix(e)}(${e.param ? formatExpr(e.param) + ', ' : ''}${formatExpr(e.expr)})`;
    case 'Call':
      return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
  }
}

function subquerySuffix(e: SubqueryExpr): string {
  return (
    `[${formatPromDuration(e.rangeMs)}:${e.stepMs ? formatPromDuration(e.stepMs) : ''}]` +
    formatAt(e.at) +
    formatOffset(e.offsetMs)
  );
}

/** Lines longer than this are split by prettyExpr, as in Prometheus. */
const MAX_LINE = 100;

/**
 * Prometheus' query formatter (`/api/v1/format_query`): an expression that fits in 100 characters stays on one
 * line; a longer one puts each operand, argument or aggregated expression on its own line, indented by two
 * spaces per level.
 */
export function prettyExpr(e: Expr, level = 0): string {
  const ind = '  '.repeat(level);
  const flat = formatExpr(e);
  if (flat.length <= MAX_LINE) return ind + flat;
  switch (e.type) {
    case 'AggregateExpr': {
      const param = e.param ? `${prettyExpr(e.param, level + 1)},\n` : '';
      return `${ind}${aggregatePrefix(e)}(\n${param}${prettyExpr(e.expr, level + 1)}\n${ind})`;
    }
    case 'BinaryExpr':
      return (
        `${prettyExpr(e.lhs, level + 1)}\n${ind}${e.op}${e.returnBool ? ' bool' : ''}${formatMatching(e)}\n` +
        prettyExpr(e.rhs, level + 1)
      );
    case 'Call':
      return `${ind}${e.func}(\n${e.args.map((a) => prettyExpr(a, level + 1)).join(',\n')}\n${ind})`;
    case 'ParenExpr':
      return `${ind}(\n${prettyExpr(e.expr, level + 1)}\n${ind})`;
    case 'SubqueryExpr':
      return prettyExpr(e.expr, level) + subquerySuffix(e);
    case 'UnaryExpr':
      return `${ind}${e.op}${prettyExpr(e.expr, level).trimStart()}`;
    default:
      return ind + flat;
  }
}
