/**
 * The Explore view end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) with data
 * written through its storage appender and OTLP/HTTP, driven in Debian's Chromium.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestVigil } from '../helpers.ts';
import { useUiTestBed } from './testbed.ts';

const EVIL_IMG = '<img src=x onerror="window.__xss=1">';
const EVIL_SCRIPT = '<script>window.__xss=2</script>';

async function seed(v: TestVigil) {
  const now = Date.now();
  const app = v.storage.appender();
  for (let t = now - 30 * 60_000; t <= now; t += 15_000) {
    const i = (t - (now - 30 * 60_000)) / 15_000;
    app.append({ __name__: 'explore_requests_total', job: 'api', instance: 'a' }, t, i * 10);
    app.append({ __name__: 'explore_requests_total', job: 'api', instance: 'b' }, t, i * 25);
    app.append({ __name__: 'explore_xss', job: 'xss', evil: EVIL_IMG, tag: EVIL_SCRIPT }, t, 7);
  }
  await app.commit();
}

/** One gauge point over OTLP/HTTP JSON: ingestion that live streams are told about. */
async function pushLive(v: TestVigil, value: number) {
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'livesvc' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'explore_live_value',
                gauge: {
                  dataPoints: [{ asDouble: value, timeUnixNano: String(BigInt(Date.now()) * 1_000_000n) }],
                },
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${v.url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

async function ready(page: Page) {
  await page.waitForSelector('[data-view=explore][data-ready=true]', { timeout: 15_000 });
}

async function typeQuery(page: Page, expr: string) {
  await page.locator('.cm-content').first().click();
  await page.keyboard.type(expr);
  await page.keyboard.press('Escape'); // close the completion list so Enter runs
  await page.keyboard.press('Enter');
}

const ui = useUiTestBed(seed);

describe('Explore', () => {
  it('runs a typed query, keeps it in the URL, and shows the same chart after a reload', async () => {
    const page = await ui.open('/explore?from=now-30m');
    await ready(page);
    await typeQuery(page, 'rate(explore_requests_total[5m])');
    const chart = page.locator('.chart[data-series="2"]');
    await chart.waitFor({ timeout: 15_000 });
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(10);
    expect(new URL(page.url()).searchParams.getAll('q')).toEqual(['rate(explore_requests_total[5m])']);
    await expect
      .poll(() => page.locator('[data-testid=stats]').textContent())
      .toMatch(/2 series · [\d,]+ points/);

    await page.reload();
    await ready(page);
    await page.locator('.chart[data-series="2"]').waitFor();
    expect(await page.locator('.cm-content').first().textContent()).toBe('rate(explore_requests_total[5m])');
    expect(await page.locator('.legend-item').count()).toBe(2);

    // The query went into the history, which offers it from the dropdown.
    await page.locator('[data-testid=history-button]').first().click();
    await expect
      .poll(() => page.locator('.history-list [role=option]').allTextContents())
      .toContain('rate(explore_requests_total[5m])');
  });

  it('adds a line on Shift+Enter, runs on Enter, and zooms by dragging on the chart', async () => {
    const page = await ui.open('/explore?from=now-30m');
    await ready(page);
    await page.locator('.cm-content').first().click();
    await page.keyboard.type('sum(explore_requests_total)');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('/ 2');
    await page.keyboard.press('Escape');
    expect(await page.locator('.cm-line').count()).toBe(2);
    expect(new URL(page.url()).searchParams.get('q')).toBeNull(); // not run yet
    await page.keyboard.press('Enter');
    await page.locator('.chart[data-series="1"]').waitFor();
    expect(new URL(page.url()).searchParams.get('q')).toBe('sum(explore_requests_total)\n/ 2');

    const box = (await page.locator('.chart .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).toMatch(/^\d{13}$/);
    expect(new URL(page.url()).searchParams.get('to')).toMatch(/^\d{13}$/);
    await ready(page);
    await page.locator('.chart[data-series="1"]').waitFor();
  });

  it('picks a query from the history with the keyboard', async () => {
    const page = await ui.open('/explore?q=explore_requests_total&from=now-30m');
    await ready(page);
    await page.goto(`${ui.vigil.url}/explore?q=explore_xss&from=now-30m`);
    await ready(page);
    await page.locator('[data-testid=history-button]').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.type('requests');
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.getAll('q')).toEqual(['explore_requests_total']);
    await ready(page);
    await page.locator('.chart[data-series="2"]').waitFor();
  });

  it('shows an instant table, sortable by value', async () => {
    const page = await ui.open('/explore?q=explore_requests_total&from=now-30m&mode=table');
    await ready(page);
    const table = page.locator('[data-testid=result-table]');
    await table.waitFor();
    expect(await table.getAttribute('data-rows')).toBe('2');
    // Default: value descending, so instance b (25 per step) comes first.
    const instances = () => page.locator('.explore-table tbody tr td:nth-child(2)').allTextContents();
    expect(await instances()).toEqual(['b', 'a']);
    await page.getByRole('button', { name: /^Value/ }).click();
    await expect.poll(instances).toEqual(['a', 'b']);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('value');
  });

  it('shows a syntax error inline with its position', async () => {
    const page = await ui.open(`/explore?q=${encodeURIComponent('up{job=}')}`);
    await ready(page);
    const err = page.locator('[data-testid=promql-error]');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/line 1, column 8.*parse error: unexpected "}"/);
    // The position is underlined in the editor.
    await page.locator('.cm-lintRange-error').first().waitFor();
  });

  it('explains an empty result', async () => {
    const page = await ui.open('/explore?q=explore_no_such_metric');
    await ready(page);
    const empty = page.locator('[data-testid=empty]');
    await empty.waitFor();
    expect(await empty.textContent()).toMatch(/No data in this time range.*metric name/);
  });

  it('shows the warnings a query returns', async () => {
    const page = await ui.open(
      `/explore?q=${encodeURIComponent('quantile(2, explore_requests_total)')}&from=now-30m`,
    );
    await ready(page);
    await page.locator('.chart[data-series="1"]').waitFor();
    expect(await page.locator('[data-testid=warnings]').textContent()).toMatch(/PromQL warning: .*quantile/);
  });

  it('renders label values as text and never runs them', async () => {
    const page = await ui.open('/explore?q=explore_xss&from=now-30m');
    await ready(page);
    await page.locator('.chart[data-series="1"]').waitFor();
    const legend = await page.locator('.legend-label').first().textContent();
    expect(legend).toContain(EVIL_IMG.replace(/"/g, '\\"'));
    expect(legend).toContain(EVIL_SCRIPT);
    // The tooltip shows the label too.
    const box = (await page.locator('.chart .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width - 20, box.y + box.height / 2);
    await expect.poll(() => page.locator('.chart-tip').textContent()).toContain(EVIL_SCRIPT);

    await page.locator('[data-testid=mode-table]').click();
    await page.locator('[data-testid=result-table]').waitFor();
    expect(await page.locator('.explore-table tbody').textContent()).toContain(EVIL_IMG);
    await page.locator('[data-testid=labels-text]').click();
    await expect.poll(() => page.locator('.explore-table .series-cell').textContent()).toContain(EVIL_SCRIPT);

    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
  });

  it('extends the chart in live mode as samples arrive', async () => {
    await pushLive(ui.vigil, 1);
    const page = await ui.open('/explore?q=explore_live_value&from=now-5m&live=1');
    await ready(page);
    // The first sample can land after the range query's step-aligned end; the live stream then brings
    // the next one, so keep writing the same value until the series is on the chart.
    await expect
      .poll(
        async () => {
          await pushLive(ui.vigil, 1);
          return page.locator('.chart[data-series="1"]').count();
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBe(1);
    expect(await page.locator('.legend-last').first().textContent()).toBe('1');
    let rangeQueries = 0;
    page.on('request', (r) => r.url().includes('/api/v1/query_range') && rangeQueries++);
    // Keep writing until the stream has carried a new value to the chart.
    let value = 100;
    await expect
      .poll(
        async () => {
          await pushLive(ui.vigil, ++value);
          return page.locator('.legend-last').first().textContent();
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toMatch(/^1\d\d$/);
    // The new value came over the live stream, not from running the range query again.
    expect(rangeQueries).toBe(0);
  });
});
