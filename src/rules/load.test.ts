import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/config.ts';
import { formatRuleProblem } from './file.ts';
import { expandGlob, loadRuleFiles, ruleProblemsError } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-rule-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'a'));
mkdirSync(join(dir, 'b'));
const RULES = 'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n';
for (const f of ['a/x.yml', 'a/y.yaml', 'b/z.yml', 'b/.hidden.yml', 'top.yml'])
  writeFileSync(join(dir, f), RULES);

describe('expandGlob', () => {
  it.each([
    ['*/*.yml', ['a/x.yml', 'b/.hidden.yml', 'b/z.yml']],
    ['a/?.y*ml', ['a/x.yml', 'a/y.yaml']],
    ['[ab]/[^x]*', ['a/y.yaml', 'b/.hidden.yml', 'b/z.yml']],
    ['*.yml', ['top.yml']],
    ['c/*.yml', []],
  ])('%s', (pattern, want) => {
    expect(expandGlob(join(dir, pattern))).toEqual(want.map((f) => join(dir, f)));
  });
});

describe('loadRuleFiles', () => {
  it('reads every matched file once, relative to the base folder', () => {
    const r = loadRuleFiles(['a/*', 'a/x.yml'], dir);
    expect(r.files).toEqual([join(dir, 'a/x.yml'), join(dir, 'a/y.yaml')]);
    expect(r.groups.map((g) => g.file)).toEqual(r.files);
    expect(r.problems).toEqual([]);
  });

  it('reports a missing file and every problem of a bad one', () => {
    writeFileSync(
      join(dir, 'bad.yml'),
      'groups:\n  - name: g\n    rules:\n      - record: 1x\n        expr: up\n',
    );
    const r = loadRuleFiles(['missing.yml', 'bad.yml'], dir);
    expect(r.problems.map(formatRuleProblem)).toEqual([
      expect.stringMatching(new RegExp(`^${join(dir, 'missing.yml')}: cannot read the rule file: ENOENT`)),
      `${join(dir, 'bad.yml')}:4:17: group "g", rule 1 ("1x"): invalid recording rule name: "1x" (must match [a-zA-Z_:][a-zA-Z0-9_:]*)`,
    ]);
    expect(ruleProblemsError(r.problems.slice(1)).message).toBe(formatRuleProblem(r.problems[1]!));
  });
});

describe('rule_files in the configuration', () => {
  it('resolves relative patterns against the configuration file folder', () => {
    const cfg = loadConfigText('rule_files: [rules/*.yml, /abs/r.yml]\n', join(dir, 'conf', 'vigil.yml'));
    expect(cfg.rule_files).toEqual([join(dir, 'conf', 'rules/*.yml'), '/abs/r.yml']);
    expect(loadConfigText('', 'x.yml').rule_files).toEqual([]);
  });
});
