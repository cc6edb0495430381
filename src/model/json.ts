/** Wording for JSON syntax errors, shared by every place that parses user-supplied JSON. */

/**
 * The parser's message with a 1-based line and column added when it names a position, for example
 * `Expected ',' or ']' after array element in JSON at position 4 (line 1, column 5)`.
 */
export function jsonSyntaxMessage(text: string, err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\s*\(line \d+ column \d+\)$/, '');
  const pos = /at position (\d+)/.exec(msg);
  if (!pos) return msg;
  const p = Number(pos[1]);
  const before = text.slice(0, p);
  const line = before.split('\n').length;
  const column = p - before.lastIndexOf('\n');
  return `${msg} (line ${line}, column ${column})`;
}
