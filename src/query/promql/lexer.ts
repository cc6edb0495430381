/** PromQL tokenizer. Pure: string in, tokens out; errors carry positions for ParseError. */

export type TokenKind =
  | 'IDENT'
  | 'NUMBER'
  | 'STRING'
  | 'DURATION'
  | 'OP'
  | 'KEYWORD'
  | 'LPAREN'
  | 'RPAREN'
  | 'LBRACE'
  | 'RBRACE'
  | 'LBRACKET'
  | 'RBRACKET'
  | 'COMMA'
  | 'COLON'
  | 'ASSIGN'
  | 'AT'
  | 'EOF';

/** One token. `text` is the raw source text; `value` is the decoded value for strings. */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** Thrown by the lexer; the parser converts it into a ParseError. */
export class LexError extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
  }
}

/** Words that are operators or modifiers wherever they appear after an expression. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);

const IDENT_START = /[a-zA-Z_:]/;
const IDENT_PART = /[a-zA-Z0-9_:]/;
const DURATION_RE = /(?:[0-9]+(?:ms|s|m|h|d|w|y))+/y;
const HEX_RE = /0[xX][0-9a-fA-F]+/y;
const NUMBER_RE = /(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?/y;

const TWO_CHAR_OPS = new Set(['==', '!=', '<=', '>=', '=~', '!~']);
const ONE_CHAR_OPS = new Set(['+', '-', '*', '/', '%', '^', '<', '>']);

const SIMPLE: Record<string, TokenKind> = {
  '(': 'LPAREN',
  ')': 'RPAREN',
  '{': 'LBRACE',
  '}': 'RBRACE',
  '[': 'LBRACKET',
  ']': 'RBRACKET',
  ',': 'COMMA',
  ':': 'COLON',
  '@': 'AT',
};

/** Splits a query into tokens, ending with one EOF token. Throws LexError. */
export function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  // Colons may start identifiers (recording rule names) but are also the subquery separator: inside brackets a
  // colon is always punctuation.
  let bracketDepth = 0;
  let braceDepth = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: string) => {
    const text = input.slice(start, end);
    out.push({ kind, text, value: value ?? text, start, end });
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < input.length && input[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const [value, end] = lexString(input, i);
      push('STRING', i, end, value);
      i = end;
      continue;
    }
    if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(input[i + 1] ?? ''))) {
      const end = lexNumberOrDuration(input, i);
      const text = input.slice(i, end.end);
      push(end.duration ? 'DURATION' : 'NUMBER', i, end.end, text);
      i = end.end;
      continue;
    }
    if (IDENT_START.test(c) && !(c === ':' && bracketDepth > 0)) {
      let j = i + 1;
      while (j < input.length && IDENT_PART.test(input[j]!) && !(input[j] === ':' && bracketDepth > 0)) j++;
      const word = input.slice(i, j);
      push(
        KEYWORDS.has(word.toLowerCase()) ? 'KEYWORD' : 'IDENT',
        i,
        j,
        KEYWORDS.has(word.toLowerCase()) ? word.toLowerCase() : word,
      );
      i = j;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      push('OP', i, i + 2);
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(c)) {
      push('OP', i, i + 1);
      i++;
      continue;
    }
    if (c === '=') {
      push('ASSIGN', i, i + 1);
      i++;
      continue;
    }
    const kind = SIMPLE[c];
    if (kind) {
      if (kind === 'LBRACKET') bracketDepth++;
      if (kind === 'RBRACKET' && bracketDepth > 0) bracketDepth--;
      if (kind === 'LBRACE') braceDepth++;
      if (kind === 'RBRACE' && braceDepth > 0) braceDepth--;
      push(kind, i, i + 1);
      i++;
      continue;
    }
    // Characters are quoted like Go's %q of a rune: 'x'.
    if (c === '!') throw new LexError(`unexpected character after '!': '${input[i + 1] ?? ''}'`, i, i + 1);
    if (braceDepth > 0) throw new LexError(`unexpected character inside braces: '${c}'`, i, i + 1);
    throw new LexError(`unexpected character: '${c}'`, i, i + 1);
  }
  out.push({ kind: 'EOF', text: '', value: '', start: input.length, end: input.length });
  return out;
}

function lexNumberOrDuration(input: string, i: number): { end: number; duration: boolean } {
  DURATION_RE.lastIndex = i;
  const d = DURATION_RE.exec(input);
  if (d && !/[a-zA-Z0-9_.]/.test(input[DURATION_RE.lastIndex] ?? '')) {
    return { end: DURATION_RE.lastIndex, duration: true };
  }
  HEX_RE.lastIndex = i;
  const h = HEX_RE.exec(input);
  let end: number;
  if (h) {
    end = HEX_RE.lastIndex;
  } else {
    NUMBER_RE.lastIndex = i;
    NUMBER_RE.exec(input);
    end = NUMBER_RE.lastIndex;
  }
  // A number glued to letters (`12abc`) is a typo, not two tokens.
  if (/[a-zA-Z_]/.test(input[end] ?? '')) {
    let j = end;
    while (j < input.length && /[a-zA-Z0-9_]/.test(input[j]!)) j++;
    throw new LexError(`bad number or duration syntax: ${JSON.stringify(input.slice(i, j))}`, i, j);
  }
  return { end, duration: false };
}

function lexString(input: string, start: number): [string, number] {
  const q = input[start]!;
  let i = start + 1;
  if (q === '`') {
    const close = input.indexOf('`', i);
    if (close < 0) throw new LexError('unterminated raw string', start, input.length);
    return [input.slice(i, close), close + 1];
  }
  let out = '';
  while (i < input.length) {
    const c = input[i]!;
    if (c === q) return [out, i + 1];
    if (c === '\n') break;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = input[i + 1];
    const escStart = i;
    i += 2;
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
      case "'":
        if (e !== q) throw new LexError(`unknown escape sequence: \\${e}`, escStart, i);
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = input.slice(i, i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex))
          throw new LexError(`invalid escape sequence: \\${e}${hex}`, escStart, i + n);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000 && e !== 'x'))
          throw new LexError(
            `escape sequence is an invalid Unicode code point: \\${e}${hex}`,
            escStart,
            i + n,
          );
        out += e === 'x' ? String.fromCharCode(cp) : String.fromCodePoint(cp);
        i += n;
        break;
      }
      default: {
        if (e !== undefined && e >= '0' && e <= '7') {
          const oct = input.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255)
            throw new LexError(`invalid escape sequence: \\${oct}`, escStart, i + 2);
          out += String.fromCharCode(parseInt(oct, 8));
          i += 2;
          break;
        }
        if (e === undefined) break;
        throw new LexError(`unknown escape sequence: \\${e}`, escStart, i);
      }
    }
  }
  throw new LexError('unterminated quoted string', start, input.length);
}
