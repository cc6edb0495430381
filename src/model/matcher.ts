import type { Labels } from './labels.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

/** A label matcher as written in a PromQL selector. Regexes are fully anchored, as in Prometheus. */
export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** A matcher compiled for repeated use. */
export interface CompiledMatcher extends Matcher {
  matches(value: string): boolean;
}

export class InvalidMatcherError extends Error {
  override name = 'InvalidMatcherError';
}

export function compileMatcher(m: Matcher): CompiledMatcher {
  switch (m.type) {
    case '=':
      return { ...m, matches: (v) => v === m.value };
    case '!=':
      return { ...m, matches: (v) => v !== m.value };
    case '=~':
    case '!~': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${m.value})$`, 's');
      } catch (err) {
        throw new InvalidMatcherError(
          `invalid regular expression in matcher ${m.name}${m.type}"${m.value}"`,
          {
            cause: err,
          },
        );
      }
      return m.type === '=~' ? { ...m, matches: (v) => re.test(v) } : { ...m, matches: (v) => !re.test(v) };
    }
  }
}

/** True if every matcher accepts the labels (absent labels match as the empty string). */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) {
    if (!m.matches(labels[m.name] ?? '')) return false;
  }
  return true;
}
