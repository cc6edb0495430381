/** Value formatting as Prometheus' JSON API prints it, and an expression printer. */
import { formatDuration } from '../../model/duration.ts';
import { METRIC_NAME } from '../../model/labels.ts';
import type { AtModifier, Expr, VectorSelector } from './ast.ts';

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

function formatAt(at: AtModifier | undefined): string {
  if (!at) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.timeMs / 1000).toFixed(3)}`;
}

function formatOffset(ms: number): string {
  if (ms === 0) return '';
  return ms < 0 ? ` offset -${formatDuration(-ms)}` : ` offset ${formatDuration(ms)}`;
}

function formatSelector(vs: VectorSelector): string {
  const ms = vs.matchers.filter(
    (m) => !(vs.name !== undefined && m.name === METRIC_NAME && m.type === '=' && m.value === vs.name),
  );
  const inner = ms.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(', ');
  if (vs.name !== undefined) return inner ? `${vs.name}{${inner}}` : vs.name;
  return `{${inner}}`;
}

/** Prints an expression back as PromQL in a canonical single-line form (re-parses to the same AST). */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return Number.isNaN(e.value)
        ? 'NaN'
        : e.value === Infinity
          ? 'Inf'
          : e.value === -Infinity
            ? '-Inf'
            : String(e.value);
    case 'StringLiteral':
      return JSON.stringify(e.value);
    case 'VectorSelector':
      return formatSelector(e) + formatOffset(e.offsetMs) + formatAt(e.at);
    case 'MatrixSelector':
      return (
        `${formatSelector(e.vector)}[${formatDuration(e.rangeMs)}]` +
        formatOffset(e.vector.offsetMs) +
        formatAt(e.vector.at)
      );
    case 'SubqueryExpr':
      return (
        `${formatExpr(e.expr)}[${formatDuration(e.rangeMs)}:${e.stepMs ? formatDuration(e.stepMs) : ''}]` +
        formatOffset(e.offsetMs) +
        formatAt(e.at)
      );
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'BinaryExpr': {
      let mod = e.returnBool ? ' bool' : '';
      const m = e.matching;
      if (m && (m.explicit || m.card === 'many-to-one' || m.card === 'one-to-many')) {
        mod += ` ${m.on ? 'on' : 'ignoring'}(${m.labels.join(', ')})`;
        if (m.card === 'many-to-one') mod += ` group_left(${m.include.join(', ')})`;
        if (m.card === 'one-to-many') mod += ` group_right(${m.include.join(', ')})`;
      }
      return `${formatExpr(e.lhs)} ${e.op}${mod} ${formatExpr(e.rhs)}`;
    }
    case 'AggregateExpr': {
      let s = e.op;
      if (e.hasGrouping) s += ` ${e.without ? 'without' : 'by'} (${e.grouping.join(', ')})`;
      return `${s} (${e.param ? formatExpr(e.param) + ', ' : ''}${formatExpr(e.expr)})`;
    }
    case 'Call':
      return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
  }
}
