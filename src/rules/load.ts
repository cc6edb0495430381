/**
 * Reading rule files from disk: `rule_files` globs (Go's filepath.Glob syntax: `*`, `?`, `[...]` within one
 * path segment) expanded, each file read and parsed. The parsing itself is in file.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError, type ConfigProblem } from '../config/yaml-errors.ts';
import { parseRuleFile, type RuleGroupDef, type RuleProblem } from './file.ts';
import { rulesLastReloadSuccessful, rulesLastReloadTime } from './metrics.ts';

const MAGIC = /[*?[\\]/;

/** Go's filepath.Match pattern for one path segment, as a RegExp. */
function segmentRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new Error(`syntax error in pattern ${JSON.stringify(pattern)}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '^' + cls.slice(1).replace(/\\/g, '\\\\');
      else cls = cls.replace(/\\/g, '\\\\');
      re += `[${cls}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\]]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Files matching a glob, sorted; a pattern without wildcards is returned as is (existing or not). */
export function expandGlob(pattern: string): string[] {
  if (!MAGIC.test(pattern)) return [pattern];
  const abs = isAbsolute(pattern);
  const segments = pattern.split(sep).filter((s, i) => s !== '' || i === 0);
  let bases = [abs ? sep : '.'];
  for (const [i, seg] of segments.entries()) {
    if (i === 0 && abs) continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!MAGIC.test(seg)) {
        next.push(join(base, seg));
        continue;
      }
      const re = segmentRegExp(seg);
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n)) next.push(join(base, n));
    }
    bases = next;
  }
  return bases.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** Rule groups of every file the patterns match, or every problem found. */
export interface LoadedRules {
  readonly files: readonly string[];
  readonly groups: readonly RuleGroupDef[];
  readonly problems: readonly RuleProblem[];
}

/**
 * Expands `patterns` (relative ones against `baseDir`), reads and parses each file. A pattern without
 * wildcards must name an existing file; one with wildcards may match nothing. Never throws for bad files.
 */
export function loadRuleFiles(patterns: readonly string[], baseDir = '.'): LoadedRules {
  const files: string[] = [];
  const groups: RuleGroupDef[] = [];
  const problems: RuleProblem[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    const full = resolve(baseDir, pattern);
    let matches: string[];
    try {
      matches = expandGlob(full);
    } catch (err) {
      problems.push({
        file: pattern,
        line: 0,
        column: 0,
        message: `invalid rule file pattern: ${(err as Error).message}`,
      });
      continue;
    }
    for (const file of matches) {
      if (seen.has(file)) continue;
      seen.add(file);
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        problems.push({
          file,
          line: 0,
          column: 0,
          message: `cannot read the rule file: ${(err as Error).message}`,
        });
        continue;
      }
      files.push(file);
      const r = parseRuleFile(bytes, file);
      if (r.ok) groups.push(...r.groups);
      else problems.push(...r.problems);
    }
  }
  return { files, groups, problems };
}

/** The problems as a ConfigError, so `vigil start` and `vigil check-config` report them like config errors. */
export function ruleProblemsError(problems: readonly RuleProblem[]): ConfigError {
  return new ConfigError(
    problems.map((p): ConfigProblem => ({
      file: p.file,
      line: p.line,
      column: p.column,
      path:
        p.group === undefined
          ? ''
          : `group ${JSON.stringify(p.group)}` +
            (p.rule === undefined
              ? ''
              : `, rule ${p.rule}${p.ruleName ? ` (${JSON.stringify(p.ruleName)})` : ''}`),
      message: p.message,
    })),
  );
}

/**
 * Re-reads the rule files and hands their groups to `apply` (the rule manager's reload). With any problem the
 * previous rules stay in force and the returned promise rejects with the problems as a ConfigError.
 */
export async function reloadRuleFiles(
  patterns: readonly string[],
  apply: (groups: readonly RuleGroupDef[]) => Promise<void>,
): Promise<void> {
  const r = loadRuleFiles(patterns);
  if (r.problems.length) {
    rulesLastReloadSuccessful.set(0);
    throw ruleProblemsError(r.problems);
  }
  await apply(r.groups);
  rulesLastReloadSuccessful.set(1);
  rulesLastReloadTime.set(Date.now() / 1000);
}
