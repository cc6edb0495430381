import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRules, testRules, type Output } from './rules.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Output & { text: () => string } {
  let s = '';
  return { out: (x) => (s += x), err: (x) => (s += x), text: () => s };
}

describe('vigil check-rules', () => {
  it('prints promtool-style results and exits 1 on any failure', () => {
    const good = join(dir, 'good.yml');
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      good,
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n      - alert: B\n        expr: up == 0\n',
    );
    writeFileSync(bad, 'groups:\n  - name: g\n    rules:\n      - record: a-b\n        expr: up\n');
    const o = capture();
    expect(checkRules([good, bad, join(dir, 'missing.yml')], o)).toBe(1);
    expect(o.text()).toBe(
      [
        `Checking ${good}`,
        '  SUCCESS: 2 rules found',
        '',
        `Checking ${bad}`,
        '  FAILED:',
        `${bad}:4:17: group "g", rule 1 ("a-b"): invalid recording rule name: "a-b" (must match [a-zA-Z_:][a-zA-Z0-9_:]*)`,
        '',
        `Checking ${join(dir, 'missing.yml')}`,
        '  FAILED:',
        `${join(dir, 'missing.yml')}: cannot read the file: ENOENT: no such file or directory, open '${join(dir, 'missing.yml')}'`,
        '',
        '',
      ].join('\n'),
    );
    const ok = capture();
    expect(checkRules([good], ok)).toBe(0);
  });
});

describe('vigil test-rules', () => {
  it('runs the example tests', async () => {
    const file = join(import.meta.dirname, '..', 'rules', 'testdata', 'recording.test.yml');
    const o = capture();
    expect(await testRules([file], {}, o)).toBe(0);
    expect(o.text()).toBe(`Unit Testing:  ${file}\n  SUCCESS\n\n`);
  });

  it('reports an unreadable test file and exits 1', async () => {
    const o = capture();
    expect(await testRules([join(dir, 'nope.yml')], {}, o)).toBe(1);
    expect(o.text()).toContain('  FAILED:\n');
  });
});
