/**
 * Number and label formatting the way Go prints them, for output that must read exactly like Prometheus's and
 * promtool's: `strconv.FormatFloat` with the 'g' and 'E' formats, `fmt`'s `%v`, and `labels.Labels.String()`.
 */
import type { Labels } from '../model/labels.ts';

/** The exact decimal digits of |v| (no trailing zeros) and point position: |v| = 0.d1d2... × 10^dp. */
function exactDigits(v: number): { digits: string; dp: number } {
  // 100 significant digits cover the whole exact expansion of every double whose rounding can tie.
  const s = Math.abs(v).toPrecision(100);
  const e = s.indexOf('e');
  const mant = e < 0 ? s : s.slice(0, e);
  const exp = e < 0 ? 0 : Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  const intLen = dot < 0 ? mant.length : dot;
  let digits = mant.replace('.', '');
  let dp = intLen + exp;
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead);
  dp -= lead;
  return { digits: digits.replace(/0+$/, '') || '0', dp };
}

/** Rounds exact digits to `n` significant digits, half to even as Go does; strips trailing zeros. */
function roundDigits(d: { digits: string; dp: number }, n: number): { digits: string; dp: number } {
  if (n < 0) return { digits: '0', dp: d.dp };
  if (d.digits.length <= n) return d;
  const kept = d.digits.slice(0, n);
  const next = d.digits.charCodeAt(n) - 48;
  const rest = d.digits.slice(n + 1);
  const last = n > 0 ? kept.charCodeAt(n - 1) - 48 : 0;
  const up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || last % 2 === 1));
  if (!up) return { digits: kept.replace(/0+$/, '') || '0', dp: kept === '' ? d.dp : d.dp };
  // Add one at the last kept digit, carrying.
  const arr = (kept || '0').split('').map(Number);
  let i = arr.length - 1;
  for (; i >= 0; i--) {
    if (arr[i]! < 9) {
      arr[i]!++;
      break;
    }
    arr[i] = 0;
  }
  let dp = kept === '' ? d.dp + 1 : d.dp;
  if (i < 0) {
    arr.unshift(1);
    dp++;
  }
  return { digits: arr.join('').replace(/0+$/, '') || '0', dp };
}

/** Significant digits of |v| rounded to `prec` (shortest round-trip digits when undefined). */
function digitsOf(v: number, prec: number | undefined): { digits: string; dp: number } {
  if (prec !== undefined) return roundDigits(exactDigits(v), prec);
  const s = Math.abs(v).toExponential();
  const e = s.indexOf('e');
  const digits = s.slice(0, e).replace('.', '').replace(/0+$/, '') || '0';
  return { digits, dp: Number(s.slice(e + 1)) + 1 };
}

/** Go's `%.Nf`: fixed notation with `decimals` digits after the point, rounded half to even. */
export function formatFixed(v: number, decimals: number): string {
  const sp = special(v, '+Inf');
  if (sp) return sp;
  const neg = v < 0 || Object.is(v, -0);
  if (v === 0) return fmtF(neg, '0', 1, decimals);
  const exact = exactDigits(v);
  const r = roundDigits(exact, exact.dp + decimals);
  return fmtF(neg, r.digits, r.dp, decimals);
}

function special(v: number, plusInf: string): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return plusInf;
  if (v === -Infinity) return '-Inf';
  return undefined;
}

function expPart(exp: number, letter: string): string {
  const a = Math.abs(exp);
  return `${letter}${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
}

function fmtE(neg: boolean, digits: string, prec: number, letter: string, dp: number): string {
  const zero = digits === '0';
  let out = (neg ? '-' : '') + digits[0]!;
  if (prec > 0) out += '.' + digits.slice(1, prec + 1).padEnd(prec, '0');
  return out + expPart(zero ? 0 : dp - 1, letter);
}

function fmtF(neg: boolean, digits: string, dp: number, decimals: number): string {
  let int: string;
  let frac: string;
  if (dp <= 0) {
    int = '0';
    frac = '0'.repeat(-dp) + digits;
  } else {
    int = digits.slice(0, dp).padEnd(dp, '0');
    frac = digits.slice(dp);
  }
  frac = frac.slice(0, decimals).padEnd(decimals, '0');
  return (neg ? '-' : '') + int + (decimals > 0 ? '.' + frac : '');
}

/** Go's `strconv.FormatFloat(v, 'g', prec, 64)`; prec -1 means the shortest representation. */
export function formatG(v: number, prec = -1): string {
  const sp = special(v, '+Inf');
  if (sp) return sp;
  const neg = v < 0 || Object.is(v, -0);
  const shortest = prec < 0;
  if (prec === 0) prec = 1;
  const { digits, dp } = v === 0 ? { digits: '0', dp: 1 } : digitsOf(v, shortest ? undefined : prec);
  const nd = digits.length;
  if (shortest) prec = nd;
  let eprec = prec;
  if (eprec > nd && nd >= dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = dp - 1;
  if (exp < -4 || exp >= eprec) return fmtE(neg, digits, Math.min(prec, nd) - 1, 'e', dp);
  return fmtF(neg, digits, dp, Math.max((prec > dp ? nd : prec) - dp, 0));
}

/**
 * Go's `strconv.FormatFloat(v, 'E', -1, 64)`, as promtool prints sample values (`1E+00`, `2.5E-01`); with
 * letter 'e', the 'e' format the rules API uses for alert values.
 */
export function formatExpShortest(v: number, letter: 'E' | 'e' = 'E'): string {
  const sp = special(v, '+Inf');
  if (sp) return sp;
  const neg = v < 0 || Object.is(v, -0);
  const { digits, dp } = v === 0 ? { digits: '0', dp: 1 } : digitsOf(v, undefined);
  return fmtE(neg, digits, digits.length - 1, letter, dp);
}

/** Go's `fmt` `%v` of a float64 (shortest 'g', with `+Inf`). */
export function formatFloatV(v: number): string {
  return formatG(v, -1);
}

/** `labels.Labels.String()`: `{__name__="up", job="api"}`, names sorted, values quoted like Go's strconv.Quote. */
export function formatLabelSet(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${goQuote(labels[k]!)}`);
  return `{${parts.join(', ')}}`;
}

/** Go's `strconv.Quote` for the characters that occur in label values. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** Go's `time.Duration.String()` of a number of milliseconds: `0s`, `500ms`, `1m0s`, `1h30m15.5s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  let out = '';
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  const secs = (rest / 1000).toFixed(3).replace(/\.?0+$/, '');
  return `${neg ? '-' : ''}${out}${secs}s`;
}
