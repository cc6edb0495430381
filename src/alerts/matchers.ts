/**
 * Alertmanager's matcher syntax, used by `matchers:` in routes and inhibit rules, by the API's `filter`
 * parameter and by amtool: `name="value"`, `name=~"re"`, `name!=value`, optionally in `{...}`, comma
 * separated. Values may be quoted (Go string escapes) or bare. Regexes are fully anchored.
 */
import {
  compileMatcher,
  type CompiledMatcher,
  type MatchType,
  InvalidMatcherError,
} from '../model/matcher.ts';
import type { Labels } from '../model/labels.ts';

export { InvalidMatcherError };

const OPS: readonly MatchType[] = ['=~', '!~', '!=', '='];

function unquote(s: string, whole: string): string {
  try {
    return JSON.parse(s.replace(/\\'/g, "'")) as string;
  } catch {
    throw new InvalidMatcherError(`bad matcher format: ${whole}: invalid quoted value ${s}`);
  }
}

/** Parses one matcher such as `severity=~"warning|critical"`. Throws InvalidMatcherError. */
export function parseMatcher(text: string): CompiledMatcher {
  const s = text.trim();
  const m = /^([^=!~\s"]+|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*(.*)$/s.exec(s);
  if (!m) throw new InvalidMatcherError(`bad matcher format: ${text}`);
  let name = m[1]!;
  if (name.startsWith('"')) name = unquote(name, text);
  const type = m[2] as MatchType;
  const raw = m[3]!.trim();
  let value: string;
  if (raw.startsWith('"')) {
    if (raw.length < 2 || !raw.endsWith('"'))
      throw new InvalidMatcherError(`bad matcher format: ${text}: unterminated quote`);
    value = unquote(raw, text);
  } else {
    if (/["]/.test(raw)) throw new InvalidMatcherError(`bad matcher format: ${text}: unexpected quote`);
    value = raw;
  }
  if (!OPS.includes(type)) throw new InvalidMatcherError(`bad matcher format: ${text}`);
  if (name === '') throw new InvalidMatcherError(`bad matcher format: ${text}: empty label name`);
  return compileMatcher({ name, type, value });
}

/** Splits `{a="x,y", b=~"z"}` or `a=x, b=y` at top-level commas. */
function splitMatchers(text: string): string[] {
  let s = text.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new InvalidMatcherError(`bad matcher format: ${text}: missing closing "}"`);
    s = s.slice(1, -1);
  }
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quoted) throw new InvalidMatcherError(`bad matcher format: ${text}: unterminated quote`);
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

/** Parses a list of matchers in either form. Throws InvalidMatcherError. */
export function parseMatchers(text: string): CompiledMatcher[] {
  return splitMatchers(text).map(parseMatcher);
}

/** Alertmanager's `Matcher.String()`: `name="value"` with the value quoted as Go's %q does. */
export function matcherString(m: { name: string; type: MatchType; value: string }): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}

/** `{a="1",b=~"x"}`, as used in route keys. */
export function matchersString(ms: readonly { name: string; type: MatchType; value: string }[]): string {
  return `{${ms.map(matcherString).join(',')}}`;
}

/** True if every matcher accepts the labels (absent labels match as ""). */
export function matchAll(ms: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of ms) if (!m.matches(labels[m.name] ?? '')) return false;
  return true;
}
