import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'ui/src/**/*.test.ts', 'bench/**/*.test.ts'],
    // chDB allows one data folder per process: every test file gets its own process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One retry absorbs a timing hiccup on a small, loaded machine; test/flaky-reporter.ts names every
    // test that needed it, so flaky tests stay visible.
    retry: 1,
    reporters: ['default', './test/flaky-reporter.ts'],
  },
});
