/**
 * Attribute conditions of trace search: the text form `key<op>value` (`http.status_code>=500`,
 * `channel=~sms|email`, `cache.hit=true`) parsed into AttributeCondition, and the reference matcher the memory
 * store and tests use. No I/O. The ClickHouse store turns the same conditions into SQL (store.clickhouse.ts).
 */
import type { AttributeCondition, AttributeOp, AttributeType } from '../model.ts';

export class ConditionError extends Error {
  override name = 'ConditionError';
}

/** Two-character operators are tried before one-character ones at each position. */
const OPS2: readonly AttributeOp[] = ['!=', '!~', '=~', '>=', '<='];
const OPS1: readonly AttributeOp[] = ['=', '>', '<'];
export const NUMERIC_OPS: ReadonlySet<AttributeOp> = new Set(['>', '>=', '<', '<=']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Parses `key<op>value`. The key ends at the first operator; the value is the rest, taken verbatim, or a JSON
 * string when it is written in double quotes (to carry leading spaces or quotes). Numeric operators need a
 * number; regular expressions must compile. Throws ConditionError saying what is wrong.
 */
export function parseCondition(text: string): AttributeCondition {
  for (let i = 1; i < text.length; i++) {
    const two = text.slice(i, i + 2) as AttributeOp;
    const op = OPS2.includes(two) ? two : OPS1.find((o) => o === text[i]);
    if (!op) continue;
    const key = text.slice(0, i).trim();
    if (key === '') break;
    let value = text.slice(i + op.length);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        throw new ConditionError(
          `condition ${JSON.stringify(text)}: the quoted value is not a valid JSON string`,
        );
      }
    }
    return checkCondition({ key, op, value }, text);
  }
  throw new ConditionError(
    `condition ${JSON.stringify(text)} has no operator: write key=value, key!=value, key=~regex, key!~regex, ` +
      `or key>n, key>=n, key<n, key<=n`,
  );
}

/** Validates a condition built in code or parsed; `text` names it in errors. Returns it unchanged. */
export function checkCondition(
  c: AttributeCondition,
  text = `${c.key}${c.op}${c.value}`,
): AttributeCondition {
  if (c.key === '') throw new ConditionError(`condition ${JSON.stringify(text)} has an empty attribute key`);
  if (NUMERIC_OPS.has(c.op) && !NUMBER.test(c.value.trim()))
    throw new ConditionError(
      `condition ${JSON.stringify(text)}: "${c.op}" compares numbers, but ${JSON.stringify(c.value)} is not a number`,
    );
  if (c.op === '=~' || c.op === '!~') compileRegex(c.value, text);
  return c;
}

/** RE2 features JavaScript lacks are refused; look-arounds and back-references, which RE2 lacks, too. */
const UNSUPPORTED_RE = /\(\?<?[=!]|\\[1-9]/;

/**
 * Compiles a search regular expression as ClickHouse (RE2) runs it: anchored at both ends, `.` matching line
 * breaks; a leading `(?i)` makes it case-insensitive.
 */
export function compileRegex(pattern: string, text = pattern): RegExp {
  if (UNSUPPORTED_RE.test(pattern))
    throw new ConditionError(
      `condition ${JSON.stringify(text)}: look-arounds and back-references are not supported in regular expressions`,
    );
  const insensitive = pattern.startsWith('(?i)');
  try {
    return new RegExp(`^(?:${insensitive ? pattern.slice(4) : pattern})$`, insensitive ? 'si' : 's');
  } catch (err) {
    throw new ConditionError(
      `condition ${JSON.stringify(text)}: invalid regular expression: ${(err as Error).message}`,
    );
  }
}

export function isNumeric(type: AttributeType | undefined): boolean {
  return type === 'int' || type === 'double';
}

export function isNumber(value: string): boolean {
  return NUMBER.test(value.trim());
}

export function isInteger(value: string): boolean {
  return INTEGER.test(value.trim());
}

/** -1, 0 or 1 comparing a stored number with a condition's number; undefined when either is not comparable (NaN). */
function compareNumbers(stored: string, type: AttributeType, wanted: string): number | undefined {
  if (type === 'int' && isInteger(wanted)) {
    const a = BigInt(stored);
    const b = BigInt(wanted.trim());
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const a = Number(stored);
  const b = Number(wanted.trim());
  if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A compiled condition: whether one attribute value (with its stored type; undefined = string) satisfies it. */
export type ValueTest = (value: string, type: AttributeType | undefined) => boolean;

export function compileCondition(c: AttributeCondition): ValueTest {
  switch (c.op) {
    case '=':
    case '!=': {
      const numeric = isNumber(c.value);
      const eq = (v: string, t: AttributeType | undefined) =>
        numeric && isNumeric(t) ? compareNumbers(v, t!, c.value) === 0 : v === c.value;
      return c.op === '=' ? eq : (v, t) => !eq(v, t);
    }
    case '=~':
    case '!~': {
      const re = compileRegex(c.value);
      return c.op === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
    }
    default: {
      const ok =
        { '>': (n: number) => n > 0, '>=': (n: number) => n >= 0, '<': (n: number) => n < 0 }[
          c.op as '>' | '>=' | '<'
        ] ?? ((n: number) => n <= 0);
      return (v, t) => {
        if (!isNumeric(t)) return false;
        const cmp = compareNumbers(v, t!, c.value);
        return cmp !== undefined && ok(cmp);
      };
    }
  }
}
