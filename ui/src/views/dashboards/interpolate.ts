/**
 * Dashboard variables in PromQL: `$name` and `${name}` are replaced by the variable's current value, and
 * the built-ins `$__interval`, `$__rate_interval` and `$__range` by durations for the panel's query.
 * Pure functions, tested under Node.
 *
 * Values are assumed to sit inside a double-quoted PromQL string (`job=~"$job"`), as is usual:
 * - a single-value variable is inserted as it is, with `\` and `"` escaped for the string;
 * - a multi-value or include-All variable becomes a regular expression: one value escaped, several as the
 *   alternation `(a|b)`, each with its regex metacharacters escaped; "All" is `.*`.
 */
import { formatDuration } from '../../lib/time.ts';

/** What the URL carries for "All" (`var-job=$__all`), as Grafana does. */
export const ALL_VALUE = '$__all';

/** The current state of one variable. */
export interface VariableValue {
  /** The selected values (ignored when `all`). */
  readonly values: readonly string[];
  readonly all: boolean;
  /** Multi-value or include-All variables are inserted as regular expressions. */
  readonly regex: boolean;
}

/** Escapes text for a double-quoted PromQL string. */
export function escapePromqlString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes the metacharacters of an RE2 regular expression. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** The text a variable's value is replaced by (see the module comment). */
export function formatVariable(v: VariableValue): string {
  if (v.all) return '.*';
  if (!v.regex) return escapePromqlString(v.values[0] ?? '');
  const parts = v.values.map((x) => escapePromqlString(escapeRegex(x)));
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 0) return '';
  return `(${parts.join('|')})`;
}

/** The scrape interval assumed by `$__rate_interval` (Vigil's default). */
export const SCRAPE_INTERVAL_MS = 15_000;

/** Values of the built-in variables for a query with step `stepS` seconds over a range of `rangeMs`. */
export function builtinVariables(
  stepS: number,
  rangeMs: number,
  scrapeMs = SCRAPE_INTERVAL_MS,
): Record<string, string> {
  const intervalMs = Math.max(1, Math.round(stepS * 1000));
  const rateMs = Math.max(intervalMs + scrapeMs, 4 * scrapeMs);
  const rangeS = Math.max(1, Math.round(rangeMs / 1000));
  return {
    __interval: formatDuration(intervalMs),
    __interval_ms: String(intervalMs),
    __rate_interval: formatDuration(rateMs),
    __range: formatDuration(rangeS * 1000),
    __range_s: String(rangeS),
    __range_ms: String(rangeS * 1000),
  };
}

const REF_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Replaces variable references in `expr`. A name that is neither a variable nor a built-in is left as it
 * is (it may be a regex anchor or a typo the user should see in the query error).
 */
export function interpolate(
  expr: string,
  vars: ReadonlyMap<string, VariableValue>,
  builtins: Readonly<Record<string, string>> = {},
): string {
  return expr.replace(REF_RE, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const v = vars.get(name);
    if (v) return formatVariable(v);
    if (Object.hasOwn(builtins, name)) return builtins[name]!;
    return whole;
  });
}

/** The names of `known` variables that `expr` refers to. */
export function referencedVariables(expr: string, known: Iterable<string>): string[] {
  const names = new Set(known);
  const out = new Set<string>();
  for (const m of expr.matchAll(REF_RE)) {
    const name = m[1] ?? m[2]!;
    if (names.has(name)) out.add(name);
  }
  return [...out];
}

/** What a variable's query asks for: values of `label`, on series matching `selector` when given. */
export type VariableQuery = { label: string; selector?: string } | { error: string };

/**
 * Parses `label_values(job)` or `label_values(up{env="x"}, instance)`. The selector is not checked here;
 * the server reports a bad one when the values are fetched (and when the dashboard is saved).
 */
export function parseVariableQuery(query: string): VariableQuery {
  const m = /^\s*label_values\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (!m) return { error: 'must be label_values(<label>) or label_values(<series selector>, <label>)' };
  const inner = m[1]!;
  let depth = 0;
  let quote = '';
  let comma = -1;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('{(['.includes(c)) depth++;
    else if ('})]'.includes(c)) depth--;
    else if (c === ',' && depth === 0) comma = i;
  }
  const label = (comma < 0 ? inner : inner.slice(comma + 1)).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(label)) return { error: `"${label}" is not a label name` };
  if (comma < 0) return { label };
  const selector = inner.slice(0, comma).trim();
  if (selector === '') return { error: 'the series selector before the comma is empty' };
  return { label, selector };
}

/** Variable values as the URL carries them (`var-job=a&var-job=b`); undefined when the URL has none. */
export function readUrlValues(params: URLSearchParams, name: string): string[] | undefined {
  const vs = params.getAll(`var-${name}`);
  return vs.length > 0 ? vs : undefined;
}

/** A copy of `params` with the values of one variable replaced. */
export function writeUrlValues(
  params: URLSearchParams,
  name: string,
  values: readonly string[],
): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete(`var-${name}`);
  for (const v of values) next.append(`var-${name}`, v);
  return next;
}

/** Turns selected values (possibly containing the All marker) into a VariableValue. */
export function toVariableValue(
  selected: readonly string[],
  v: { multi: boolean; includeAll: boolean },
): VariableValue {
  const all = v.includeAll && selected.includes(ALL_VALUE);
  const values = selected.filter((x) => x !== ALL_VALUE);
  return { values: v.multi ? values : values.slice(0, 1), all, regex: v.multi || v.includeAll };
}
