/**
 * Lists, at the end of a run, every test that failed and then passed on its retry (vitest.config.ts
 * allows one). A retry keeps a timing hiccup on a small, loaded machine from failing the whole run; this
 * list keeps such tests visible so they get fixed rather than forgotten.
 */
import type { Reporter, TestCase } from 'vitest/node';

export default class FlakyReporter implements Reporter {
  private readonly flaky: string[] = [];

  onTestCaseResult(test: TestCase): void {
    const d = test.diagnostic();
    if (d?.flaky)
      this.flaky.push(`${test.module.moduleId.replace(process.cwd() + '/', '')} > ${test.fullName}`);
  }

  onTestRunEnd(): void {
    if (this.flaky.length === 0) return;
    console.log(`\nPassed only on retry (${this.flaky.length}); these are flaky and need a fix:`);
    for (const name of this.flaky) console.log(`  - ${name}`);
  }
}
