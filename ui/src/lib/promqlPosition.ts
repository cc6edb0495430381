/**
 * Positions in PromQL error messages. Parse errors start with `line:col:` (`1:7: parse error: ...`);
 * evaluation errors end with `(line:col)`. Lines and columns are 1-based and count characters. Pure functions.
 */

/** An error to show with a query; line and column (1-based) when the message names a place. */
export interface EditorError {
  message: string;
  line?: number;
  col?: number;
}

const PREFIX = /^(\d+):(\d+):\s*/;
const SUFFIX = /\s*\((\d+):(\d+)\)$/;

/**
 * Splits a server message into its position and the rest: `1:7: parse error: x` gives line 1, col 7 and
 * `parse error: x`. Messages without a position come back whole.
 */
export function parseErrorPosition(message: string): EditorError {
  const pre = PREFIX.exec(message);
  if (pre) return { message: message.slice(pre[0].length), line: Number(pre[1]), col: Number(pre[2]) };
  const suf = SUFFIX.exec(message);
  if (suf) return { message: message.slice(0, suf.index), line: Number(suf[1]), col: Number(suf[2]) };
  return { message };
}

/** The editor error for anything a query may throw (ApiError, Error or other). */
export function editorErrorFrom(err: unknown): EditorError | undefined {
  if (err === undefined || err === null) return undefined;
  const message = err instanceof Error ? err.message : String(err);
  return parseErrorPosition(message);
}

/** The 0-based offset of a 1-based line and column in `text`, clamped into the text. */
export function offsetOf(text: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  const end = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(end, offset + Math.max(0, col - 1));
}

const WORD = /[A-Za-z0-9_:.]/;

/**
 * The range to underline for an error: the word (identifier, number, duration) starting at its position,
 * one character otherwise, and an empty range at the very end of the text ("unexpected end of input").
 * Undefined when the error has no position.
 */
export function diagnosticRange(text: string, err: EditorError): { from: number; to: number } | undefined {
  if (err.line === undefined || err.col === undefined) return undefined;
  const from = offsetOf(text, err.line, err.col);
  let to = from;
  while (to < text.length && WORD.test(text[to]!)) to++;
  if (to === from && from < text.length && text[from] !== '\n') to = from + 1;
  return { from, to };
}
