/**
 * A real headless Chromium (Debian's `chromium`) driven by playwright-core, for end-to-end tests of the web
 * UI against a real Vigil. Never downloads a browser: it uses the one installed on the machine.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  readonly browser: Browser;
  newPage(opts?: { theme?: 'light' | 'dark'; width?: number; height?: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set VIGIL_CHROMIUM`,
    );
  const profile = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async newPage(opts = {}) {
      const ctx = await browser.newContext({
        viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
        colorScheme: opts.theme ?? 'light',
      });
      contexts.push(ctx);
      const page = await ctx.newPage();
      // Surface UI crashes in the test output instead of a silent blank page.
      page.on('pageerror', (err) => console.error(`[browser] ${err.message}`));
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
