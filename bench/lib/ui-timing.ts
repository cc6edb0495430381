/**
 * Timing a view of the web UI as a user meets it: navigation in a fresh browser context (empty cache) until
 * the view marks itself ready and the next frame is painted. Shared by the UI benchmarks.
 */
import type { Browser, Page } from 'playwright-core';

/** Median (upper middle for an even count) and worst of a non-empty list. */
export function stats(xs: readonly number[]): { median: number; worst: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, worst: s.at(-1)! };
}

/**
 * Loads `url` `runs + 1` times, each in a new context, waiting for `selector`; the first load warms the
 * server and is not counted. `inspect` runs on the loaded page of each counted run (the last answer is
 * returned), before its context closes.
 */
export async function timeViewLoads<T = undefined>(
  browser: Browser,
  url: string,
  selector: string,
  runs: number,
  inspect?: (page: Page) => Promise<T>,
): Promise<{ median: number; worst: number; times: number[]; inspected: T | undefined }> {
  const times: number[] = [];
  let inspected: T | undefined;
  for (let i = 0; i <= runs; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await ctx.newPage();
    const start = performance.now();
    await page.goto(url);
    await page.waitForSelector(selector, { timeout: 60_000 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    const ms = performance.now() - start;
    if (i > 0) {
      times.push(ms);
      if (inspect) inspected = await inspect(page);
    }
    await ctx.close();
  }
  return { ...stats(times), times, inspected };
}
