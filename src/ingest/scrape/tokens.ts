/**
 * Lexical pieces of the Prometheus text format 0.0.4 and OpenMetrics 1.0 text, shared by the scrape parser
 * (parse.ts, a whole page at a time) and the file importer (src/import/openmetrics.ts, a line at a time).
 * Pure functions on strings; no I/O.
 */
import type { MetricType } from '../../store/interface.ts';

export const SPACE = 32;
export const TAB = 9;
export const QUOTE = 34;
export const BACKSLASH = 92;
export const LBRACE = 123;
export const RBRACE = 125;
export const COMMA = 44;
export const EQUALS = 61;
export const HASH = 35;

export function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** Characters allowed in a metric name token; the full grammar is checked with isValidMetricName. */
export function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 /* _ */ ||
    c === 58 /* : */
  );
}

/** The metric types of text 0.0.4 TYPE lines (lower-cased), as Vigil's MetricType. */
export const TEXT_TYPES: Readonly<Record<string, MetricType>> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'unknown',
};

/**
 * Number syntax shared by both formats (Go's ParseFloat as exposition formats use it, without hex floats):
 * optional sign, digits with an optional fraction, optional exponent; NaN, Inf and Infinity in any case.
 * Returns undefined for anything else.
 */
export function parseNumberToken(tok: string): number | undefined {
  const n = tok.length;
  if (n === 0) return undefined;
  let i = 0;
  const c0 = tok.charCodeAt(0);
  if (c0 === 43 || c0 === 45) i = 1;
  const c = tok.charCodeAt(i) | 32;
  if (c === 110 /* n */ || c === 105 /* i */) {
    const word = tok.slice(i).toLowerCase();
    if (word === 'nan') return NaN;
    if (word === 'inf' || word === 'infinity') return c0 === 45 ? -Infinity : Infinity;
    return undefined;
  }
  let digits = 0;
  let dot = false;
  for (; i < n; i++) {
    const d = tok.charCodeAt(i);
    if (d >= 48 && d <= 57) digits++;
    else if (d === 46 && !dot) dot = true;
    else break;
  }
  if (digits === 0) return undefined;
  if (i < n) {
    if ((tok.charCodeAt(i) | 32) !== 101 /* e */) return undefined;
    i++;
    if (tok.charCodeAt(i) === 43 || tok.charCodeAt(i) === 45) i++;
    const expStart = i;
    for (; i < n; i++) {
      const d = tok.charCodeAt(i);
      if (d < 48 || d > 57) return undefined;
    }
    if (i === expStart) return undefined;
  }
  return Number(tok);
}

/** An optionally signed run of decimal digits (integer-millisecond timestamps of text 0.0.4). */
export function isIntegerToken(tok: string): boolean {
  let i = tok.charCodeAt(0) === 45 || tok.charCodeAt(0) === 43 ? 1 : 0;
  if (i >= tok.length) return false;
  for (; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Unescapes a HELP docstring: `\\` and `\n` in text 0.0.4, additionally `\"` in OpenMetrics. Text 0.0.4 keeps
 * unknown escapes as written, as Prometheus' text parser does; in OpenMetrics they are an error, returned as
 * the character after the backslash ('' at the end of the text) for the caller to report.
 */
export function unescapeHelp(raw: string, openMetrics: boolean): string | { invalidEscape: string } {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) !== BACKSLASH) {
      out += raw[i];
      continue;
    }
    const e = raw[i + 1] ?? '';
    i++;
    if (e === '\\') out += '\\';
    else if (e === 'n') out += '\n';
    else if (e === '"' && openMetrics) out += '"';
    else if (openMetrics) return { invalidEscape: e };
    else out += '\\' + e;
  }
  return out;
}
