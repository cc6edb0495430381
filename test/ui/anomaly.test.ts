/**
 * Anomaly overlays in Explore, end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first)
 * holding eight days of a daily pattern with one spike, written through its storage appender; Explore with
 * the Anomalies switch on draws the expected band, marks the spike and shows scores in the tooltip.
 * Takes docs/screenshots/explore-anomalies.png.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestVigil } from '../helpers.ts';
import { useUiTestBed } from './testbed.ts';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
const DAY = 86_400_000;
const EVERY = 2 * 60_000;

/** A repeatable pseudo-random sequence in [-0.5, 0.5) (xorshift32). */
function noise(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000 - 0.5;
  };
}

async function seed(v: TestVigil) {
  const end = Math.floor(Date.now() / EVERY) * EVERY;
  const spikeAt = end - 40 * EVERY; // 80 minutes before the data ends
  const app = v.storage.appender();
  const r = noise(11);
  for (let t = end - 8 * DAY; t <= end; t += EVERY) {
    const phase = (2 * Math.PI * (t % DAY)) / DAY;
    // Checkout traffic: a daily wave with noise; one instance has a burst at spikeAt.
    const a = 120 + 45 * Math.sin(phase) + 3 * r();
    const b = 50 + 15 * Math.sin(phase + 0.6) + 2 * r();
    app.append({ __name__: 'checkout_requests_per_second', instance: 'eu-1' }, t, t === spikeAt ? a + 70 : a);
    app.append({ __name__: 'checkout_requests_per_second', instance: 'us-1' }, t, b);
  }
  // Many young series: more than the band's series limit, with less history than the detector needs.
  for (let i = 0; i < 60; i++)
    for (let t = end - 3600_000; t <= end; t += EVERY)
      app.append({ __name__: 'young_queue', shard: String(i) }, t, i);
  await app.commit();
}

const ui = useUiTestBed(seed);

async function ready(page: Page) {
  await page.waitForSelector('[data-view=explore][data-ready=true]', { timeout: 60_000 });
}

/**
 * Moves the cursor along the time axis until the tooltip shows a score of 0.8 or more (or the axis ends);
 * returns the highest score seen. Leaves the cursor there.
 */
async function highestScore(page: Page, box: { x: number; y: number; width: number; height: number }) {
  let best = 0;
  for (let i = 0; i <= 300 && best < 0.8; i++) {
    await page.mouse.move(box.x + (box.width * i) / 300, box.y + box.height * 0.3);
    const scores = await page.locator('.chart-tip .tip-score').allTextContents();
    for (const s of scores) best = Math.max(best, Number(s.replace('score ', '')));
  }
  return best;
}

describe('Explore anomaly overlays', () => {
  it('switches the band on from the toolbar, keeps it in the URL, and marks the spike', async () => {
    const page = await ui.open('/explore?q=checkout_requests_per_second&from=now-6h');
    await ready(page);
    const chart = page.locator('.chart[data-series="2"]');
    await chart.waitFor({ timeout: 60_000 });
    expect(await chart.getAttribute('data-anomaly-bands')).toBe('0');

    // The box is driven by the URL, which updates a moment after the click: click, then wait for both.
    await page.locator('[data-testid=anomalies]').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('anomaly'), { timeout: 30_000 }).toBe('1');
    await expect
      .poll(() => page.locator('[data-testid=anomalies]').isChecked(), { timeout: 30_000 })
      .toBe(true);
    await ready(page);
    // Both series get a band; the spike of eu-1 is marked (it lasts one sample, shown at one or more steps).
    await expect.poll(() => chart.getAttribute('data-anomaly-bands'), { timeout: 60_000 }).toBe('2');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-anomalies')), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
    expect(await page.locator('[data-testid=warnings]').count()).toBe(0);
    expect(await page.locator('[data-testid=stats]').textContent()).toMatch(
      /step \S+ · \d+ anomalous points? ·/,
    );

    await page.reload();
    await ready(page);
    expect(await page.locator('[data-testid=anomalies]').isChecked()).toBe(true);
    await expect.poll(() => chart.getAttribute('data-anomaly-bands'), { timeout: 60_000 }).toBe('2');

    // Hiding a series hides its band.
    await page.locator('.legend-item', { hasText: 'us-1' }).click();
    await expect.poll(() => chart.getAttribute('data-anomaly-bands'), { timeout: 30_000 }).toBe('1');
  }, 180_000); // generous: several page loads on a busy machine

  it('says when bands are limited or still warming up, under the chart', async () => {
    const page = await ui.open('/explore?q=young_queue&from=now-1h&anomaly=1');
    await ready(page);
    const warnings = page.locator('[data-testid=warnings]');
    await warnings.waitFor({ timeout: 60_000 });
    const text = await warnings.textContent();
    expect(text).toContain(
      'Anomalies: the query returned 60 series: bands are computed for the first 50 only',
    );
    expect(text).toContain('Anomalies: 50 of 50 series have less history than the detector needs');
    await expect
      .poll(() => page.locator('.chart[data-series="60"]').getAttribute('data-anomaly-bands'), {
        timeout: 30_000,
      })
      .toBe('50');
  }, 180_000);

  it('shows the score of each series in the tooltip, high at the spike', async () => {
    const page = await ui.open('/explore?q=checkout_requests_per_second&from=now-6h&anomaly=1');
    await ready(page);
    const chart = page.locator('.chart[data-series="2"]');
    await expect.poll(() => chart.getAttribute('data-anomaly-bands'), { timeout: 60_000 }).toBe('2');
    const box = (await page.locator('.chart .u-over').boundingBox())!;
    const best = await highestScore(page, box);
    expect(best).toBeGreaterThanOrEqual(0.8);
    expect(await page.locator('.chart-tip .tip-score').count()).toBe(2);
  }, 180_000); // generous: the cursor scan is many round trips to the browser on a busy machine

  it('takes the screenshot', async () => {
    const page = await ui.open('/explore?q=checkout_requests_per_second&from=now-6h&anomaly=1', {
      width: 1280,
      height: 760,
    });
    await ready(page);
    const chart = page.locator('.chart[data-series="2"]');
    await expect.poll(() => chart.getAttribute('data-anomaly-bands'), { timeout: 60_000 }).toBe('2');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-anomalies')), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
    // Point at the spike so the tooltip with its score is in the picture.
    const box = (await page.locator('.chart .u-over').boundingBox())!;
    await highestScore(page, box);
    await page.screenshot({ path: join(SHOTS, 'explore-anomalies.png') });
  }, 180_000); // generous: the cursor scan is many round trips to the browser on a busy machine
});
