/**
 * The Overview and the application shell in a real Chromium against a real Vigil: components with their
 * status and figures, a scrape target that is down with its reason, search and grouping in the URL, the
 * component health strip (a declared component impacted by the down target), the theme switch, and a label
 * value carrying markup that must stay text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestVigil, waitFor, type TestVigil } from '../helpers.ts';
import { openBrowser, type TestBrowser } from './browser.ts';

let vigil: TestVigil;
let browser: TestBrowser;
const XSS = '<img src=x onerror="window.__xss=1">';

beforeAll(async () => {
  const closed = await freePort(); // nothing listens there: the target is down
  vigil = await startTestVigil(
    [
      'self_monitoring:',
      '  scrape_interval: 1s',
      '  host_interval: 1s',
      'scrape_configs:',
      '  - job_name: legacy',
      '    scrape_interval: 1s',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${closed}']`,
      'components:',
      '  - name: billing',
      '    depends_on: [legacy]',
      '',
    ].join('\n'),
    { selfMonitoring: true },
  );
  // An OTLP service whose name carries markup.
  const now = String(BigInt(Date.now()) * 1_000_000n);
  const res = await fetch(`${vigil.url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceMetrics: [
        {
          // Like every OpenTelemetry SDK, it sends more resource attributes than its name.
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: XSS } },
              { key: 'telemetry.sdk.language', value: { stringValue: 'nodejs' } },
            ],
          },
          scopeMetrics: [
            {
              metrics: [{ name: 'jobs_queued', gauge: { dataPoints: [{ timeUnixNano: now, asDouble: 3 }] } }],
            },
          ],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  browser = await openBrowser();
  await waitFor('the legacy target to be scraped and found down', async () => {
    const body = (await (await fetch(`${vigil.url}/api/vigil/v1/overview?range=5m`)).json()) as {
      components: { job: string; status: string }[];
    };
    return body.components.some((c) => c.job === 'legacy' && c.status === 'down');
  });
});
afterAll(async () => {
  await browser?.close();
  await vigil?.stop();
});

describe('Overview', () => {
  it('lists every component with status, reason and figures, problems first', async () => {
    const page = await browser.newPage();
    await page.goto(`${vigil.url}/`);
    await page.waitForSelector('[data-view="overview"][data-ready="true"]');
    const rows = page.locator('tr[data-component]');
    await waitFor('four components', async () => (await rows.count()) >= 4);
    // The first group is the one with a problem.
    const first = page.locator('section.group').first();
    await expect(first.locator('.group-name').textContent()).resolves.toBe('legacy');
    const legacy = page.locator('tr[data-component^="legacy/"]');
    await expect(legacy.locator('.badge').textContent()).resolves.toBe('down');
    await expect(legacy.locator('.comp-reason').textContent()).resolves.toMatch(/refused|connect/i);
    const self = page.locator('tr[data-component^="vigil/"]');
    await expect(self.locator('.badge').textContent()).resolves.toBe('up');
    expect(await self.locator('.fig-link').count()).toBeGreaterThanOrEqual(2);
    // Each figure opens its query in Explore.
    const href = await self.locator('.fig-link').first().getAttribute('href');
    expect(href).toMatch(/^\/explore\?q=/);
  });

  it('keeps search, status filter and grouping in the URL', async () => {
    const page = await browser.newPage();
    await page.goto(`${vigil.url}/`);
    await page.waitForSelector('[data-view="overview"][data-ready="true"]');
    await page.keyboard.press('/');
    await page.keyboard.type('legacy');
    await waitFor('filtered rows', async () => (await page.locator('tr[data-component]').count()) === 1);
    await waitFor(
      'the search in the URL',
      async () => new URL(page.url()).searchParams.get('q') === 'legacy',
    );
    await page.getByRole('button', { name: /^Up/ }).click();
    await page.waitForSelector('[data-testid="empty"]');
    await page.goto(`${vigil.url}/?group=kind&status=up`);
    await page.waitForSelector('[data-view="overview"][data-ready="true"]');
    const groups = await page.locator('.group-name').allTextContents();
    expect(groups).toEqual(expect.arrayContaining(['Vigil', 'Host', 'OTLP service']));
  });

  it('shows a service name carrying markup as text and never runs it', async () => {
    const page = await browser.newPage();
    await page.goto(`${vigil.url}/?q=img`);
    await page.waitForSelector('[data-view="overview"][data-ready="true"]');
    await waitFor('the OTLP component', async () => (await page.locator('.comp-name').count()) === 1);
    expect(await page.locator('.comp-name').textContent()).toBe(XSS);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
  });
});

describe('Overview component health strip', () => {
  it('lists problems with why, the others as chips, and links to the Health view', async () => {
    const page = await browser.newPage();
    await page.goto(`${vigil.url}/`);
    const strip = page.locator('[data-testid="component-strip"][data-ready="true"]');
    await strip.waitFor({ timeout: 60_000 });
    const item = (name: string) =>
      strip.locator(`[data-testid="strip-component"][data-component=${JSON.stringify(name)}]`);
    await item('legacy').waitFor();
    expect(await item('legacy').getAttribute('data-status')).toBe('down');
    expect(await item('legacy').locator('.strip-why').textContent()).toMatch(/^scrape: .*(refused|connect)/i);
    // A declared component whose dependency is down says so.
    expect(await item('billing').getAttribute('data-status')).toBe('degraded');
    expect(await item('billing').locator('.strip-why').textContent()).toBe('degraded because legacy is down');
    // Vigil itself is a healthy chip once it has scraped itself.
    await waitFor(
      'Vigil to be healthy',
      async () => (await item('vigil').getAttribute('data-status')) === 'healthy',
    );
    expect(await item('vigil').evaluate((e) => e.tagName)).toBe('A');
    // So is the host, through Vigil's own host collector (job node, as node_exporter's).
    await waitFor(
      'the host to be healthy',
      async () => (await item('node').getAttribute('data-status')) === 'healthy',
    );
    // A component name carrying markup is text.
    expect(await item(XSS).textContent()).toBe(XSS);
    expect(await strip.locator('img').count()).toBe(0);
    expect(await strip.locator('[data-testid="strip-count-down"]').textContent()).toBe('1 down');
    expect(await strip.locator('[data-testid="strip-count-degraded"]').textContent()).toBe('1 degraded');

    await item('billing').locator('a').click();
    await page.waitForURL(/\/health\?q=billing$/);
    await page.waitForSelector('[data-view="health"][data-ready="true"]');
    await page.locator('[data-testid="component"][data-component="billing"]').waitFor();
  });

  it('keeps the Overview working when the components API fails', async () => {
    const page = await browser.newPage();
    await page.route('**/api/vigil/v1/components', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":"internal error: boom"}',
      }),
    );
    await page.goto(`${vigil.url}/`);
    await page.waitForSelector('[data-view="overview"][data-ready="true"]');
    const err = page.locator('[data-testid="strip-error"]');
    await err.waitFor({ timeout: 20_000 });
    expect(await err.textContent()).toContain('internal error: boom');
    expect(await page.locator('tr[data-component]').count()).toBeGreaterThanOrEqual(3);
  });
});

describe('shell', () => {
  it('switches theme, remembers it, and navigates with links that survive a reload', async () => {
    const page = await browser.newPage({ theme: 'light' });
    await page.goto(`${vigil.url}/`);
    await page.waitForSelector('[data-view="overview"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.click('[data-testid="theme-toggle"]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByRole('link', { name: 'Dashboards' }).click();
    await page.waitForURL(/\/dashboards$/);
    await page.reload();
    await page.waitForSelector('[data-view="dashboards"]');
    await page.goto(`${vigil.url}/no/such/page`);
    await page.getByText('Page not found').waitFor();
  });

  it('shows a contained error when the API is unreachable', async () => {
    const page = await browser.newPage();
    await page.route('**/api/vigil/v1/overview*', (route) => route.abort('connectionrefused'));
    await page.goto(`${vigil.url}/`);
    await page.waitForSelector('[data-testid="error"]', { timeout: 20_000 });
    expect(await page.locator('[data-testid="error"]').textContent()).toMatch(/unreachable/i);
    // The shell still works.
    expect(await page.getByRole('link', { name: 'Explore' }).isVisible()).toBe(true);
  });
});
