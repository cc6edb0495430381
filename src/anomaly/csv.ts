/**
 * Parses `timestamp,value` rows for `vigil anomaly score`. No I/O: one line in, a row or a problem out.
 * Timestamps are RFC 3339 or Unix time; a number of 1e11 or more is taken as milliseconds (1e11 seconds is
 * the year 5138, 1e11 ms is 1973), anything smaller as seconds; fractions are allowed.
 */

export interface CsvRow {
  /** Unix seconds. */
  readonly t: number;
  readonly value: number;
  /** The two fields as written, echoed on output. */
  readonly rawTimestamp: string;
  readonly rawValue: string;
}

export type LineResult =
  | { readonly kind: 'row'; readonly row: CsvRow }
  | { readonly kind: 'blank' }
  | { readonly kind: 'header' }
  | { readonly kind: 'error'; readonly message: string };

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const MS_FROM = 1e11;

/** Unix seconds from an RFC 3339 time or a Unix time in seconds or milliseconds; NaN when neither. */
export function parseTimestamp(s: string): number {
  if (NUMBER.test(s)) {
    const n = Number(s);
    return Math.abs(n) >= MS_FROM ? n / 1000 : n;
  }
  if (RFC3339.test(s)) return Date.parse(s.replace(' ', 'T')) / 1000;
  return NaN;
}

/**
 * One line. `first` says whether it is the first non-blank line, where a header (a line whose first field is
 * not a timestamp and whose second is not a number) is accepted.
 */
export function parseLine(line: string, first: boolean): LineResult {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return { kind: 'blank' };
  const fields = text.split(',').map((f) => f.trim());
  if (fields.length !== 2) {
    if (first && fields.length >= 2 && !NUMBER.test(fields[1]!)) return { kind: 'header' };
    return {
      kind: 'error',
      message: `expected 2 comma-separated fields (timestamp,value), got ${fields.length}`,
    };
  }
  const [ts, val] = fields as [string, string];
  const t = parseTimestamp(ts);
  if (first && Number.isNaN(t) && !NUMBER.test(val)) return { kind: 'header' };
  if (Number.isNaN(t))
    return {
      kind: 'error',
      message: `timestamp ${JSON.stringify(ts)} is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix seconds or milliseconds`,
    };
  if (!NUMBER.test(val))
    return { kind: 'error', message: `value ${JSON.stringify(val)} is not a finite number` };
  const value = Number(val);
  if (!Number.isFinite(value))
    return { kind: 'error', message: `value ${JSON.stringify(val)} is not a finite number` };
  return { kind: 'row', row: { t, value, rawTimestamp: ts, rawValue: val } };
}
