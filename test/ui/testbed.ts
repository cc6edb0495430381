/**
 * The setup the end-to-end UI tests share: one Vigil with the file's seeded data and one headless Chromium,
 * started before the file's tests and stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestVigil, type TestVigil } from '../helpers.ts';
import { openBrowser, type TestBrowser } from './browser.ts';

export interface UiTestBed {
  readonly vigil: TestVigil;
  readonly browser: TestBrowser;
  /** A new page showing `path` (e.g. `/dashboards`) of the Vigil. */
  open(path: string, opts?: Parameters<TestBrowser['newPage']>[0]): Promise<Page>;
}

/** Registers the file's beforeAll/afterAll; `vigil` and `browser` are there once the tests run. */
export function useUiTestBed(seed: (v: TestVigil) => Promise<void>): UiTestBed {
  let vigil: TestVigil | undefined;
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    [vigil, browser] = await Promise.all([startTestVigil(), openBrowser()]);
    await seed(vigil);
  });
  afterAll(async () => {
    await browser?.close();
    await vigil?.stop();
  });
  const bed: UiTestBed = {
    get vigil() {
      if (!vigil) throw new Error('the Vigil of the UI tests is not started (used outside a test?)');
      return vigil;
    },
    get browser() {
      if (!browser) throw new Error('the browser of the UI tests is not open (used outside a test?)');
      return browser;
    },
    async open(path, opts) {
      const page = await bed.browser.newPage(opts);
      await page.goto(`${bed.vigil.url}${path}`);
      return page;
    },
  };
  return bed;
}
