/**
 * `vigil check-rules FILE...` and `vigil test-rules FILE...`: promtool's `check rules` and `test rules` with
 * the same output, so scripts and CI jobs written for promtool keep working. Exit code 1 on any failure.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatRuleProblem, parseRuleFile } from '../rules/file.ts';
import { describeLoadError, fsIO, runUnitTestFile, type UnitTestIO } from '../rules/unittest.ts';

/** Where the commands write; process streams by default. */
export interface Output {
  out(s: string): void;
  err(s: string): void;
}

const processOutput: Output = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** Checks rule files: `Checking FILE` then `  SUCCESS: N rules found` or `  FAILED:` and every problem. */
export function checkRules(files: readonly string[], o: Output = processOutput): number {
  let failed = false;
  for (const f of files) {
    o.out(`Checking ${f}\n`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch (err) {
      o.err(`  FAILED:\n${f}: cannot read the file: ${(err as Error).message}\n`);
      o.out('\n');
      failed = true;
      continue;
    }
    const r = parseRuleFile(bytes, f);
    if (r.ok) {
      const n = r.groups.reduce((sum, g) => sum + g.rules.length, 0);
      o.out(`  SUCCESS: ${n} rules found\n`);
    } else {
      o.err('  FAILED:\n');
      for (const p of r.problems) o.err(formatRuleProblem(p) + '\n');
      failed = true;
    }
    o.out('\n');
  }
  return failed ? 1 : 0;
}

/** Runs rule unit tests: `Unit Testing:  FILE` then `  SUCCESS` or `  FAILED:` and each failure. */
export async function testRules(
  files: readonly string[],
  opts: { windows?: 'prometheus3' | 'prometheus2' } = {},
  o: Output = processOutput,
  io: UnitTestIO = fsIO,
): Promise<number> {
  let failed = false;
  for (const f of files) {
    o.out(`Unit Testing:  ${f}\n`);
    let errs: string[];
    try {
      errs = await runUnitTestFile(f, io, opts);
    } catch (err) {
      errs = describeLoadError(err);
    }
    if (errs.length) {
      o.err('  FAILED:\n');
      for (const e of errs) {
        o.err(e + '\n');
        o.out('\n');
      }
      failed = true;
    } else o.out('  SUCCESS\n');
    o.out('\n');
  }
  return failed ? 1 : 0;
}

/** Entry points for src/cli/main.ts: parse the arguments, run, return the exit code. */
export async function rulesCommand(cmd: 'check-rules' | 'test-rules', argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { compatibility: { type: 'string' } },
    strict: true,
  });
  if (!positionals.length) throw new RulesUsageError(`${cmd} needs at least one FILE`);
  if (cmd === 'check-rules') {
    if (values.compatibility !== undefined)
      throw new RulesUsageError('--compatibility applies to test-rules only');
    return checkRules(positionals);
  }
  const windows = values.compatibility;
  if (windows !== undefined && windows !== 'prometheus3' && windows !== 'prometheus2')
    throw new RulesUsageError(
      `--compatibility must be prometheus3 or prometheus2, got ${JSON.stringify(windows)}`,
    );
  return testRules(positionals, { windows });
}

/** Wrong arguments: main.ts prints the usage. */
export class RulesUsageError extends Error {
  override name = 'RulesUsageError';
}
