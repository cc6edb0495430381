/**
 * The Health view end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) with a TCP
 * check against a closed port and an HTTP check against a live local server, declared components depending
 * on each other, and a flow whose counters are written through the storage appender so that items go
 * missing between two stages; driven in Debian's Chromium. Component statuses with "impacted by … (via …)",
 * the checks' history cells, the flow diagram marking the lossy stage, filters kept in the URL.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freePort, startTestVigil, waitFor, type TestVigil } from '../helpers.ts';
import { openBrowser, type TestBrowser } from './browser.ts';

const EVIL = '<img src=x onerror="window.__xss=1">';

let vigil: TestVigil;
let browser: TestBrowser;
let live: Server;

beforeAll(async () => {
  live = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
  const livePort = (live.address() as AddressInfo).port;
  const closedPort = await freePort();
  [vigil, browser] = await Promise.all([
    startTestVigil(`
health_checks:
  - name: api-http
    kind: http
    target: http://127.0.0.1:${livePort}/healthz
    interval: 1s
    timeout: 1s
  - name: db-port
    kind: tcp
    target: 127.0.0.1:${closedPort}
    interval: 1s
    timeout: 1s
components:
  - name: database
    checks: [db-port]
  - name: api
    checks: [api-http]
    depends_on: [database]
  - name: frontend
    depends_on: [api]
  - name: '${EVIL}'
flows:
  - name: notifications
    interval: 1s
    tolerance: 0.02
    stages:
      - name: ingest
        in: sum(rate(ingest_received_total[2m]))
        out: sum(rate(ingest_passed_total[2m]))
        dropped: sum(rate(ingest_rejected_total[2m]))
      - name: router
        in: sum(rate(router_received_total[2m]))
        out: sum(rate(router_sent_total[2m]))
    channels:
      - name: email
        stage: router
        in: sum(rate(email_received_total[2m]))
        out: sum(rate(email_sent_total[2m]))
      - name: sms
        stage: router
        in: sum(rate(sms_received_total[2m]))
        out: sum(rate(sms_sent_total[2m]))
`),
    openBrowser(),
  ]);
  // Ten minutes of counters up to now, one sample every 15 s: 95/s leave ingest, 80/s reach the router.
  const end = Date.now();
  const app = vigil.storage.appender();
  for (let t = end - 600_000; t <= end; t += 15_000) {
    const s = (t - (end - 600_000)) / 1000;
    const c = (name: string, perSecond: number) =>
      app.append({ __name__: name, job: 'pipeline' }, t, perSecond * s);
    c('ingest_received_total', 100);
    c('ingest_passed_total', 95);
    c('ingest_rejected_total', 5);
    c('router_received_total', 80);
    c('router_sent_total', 80);
    c('email_received_total', 50);
    c('email_sent_total', 50);
    c('sms_received_total', 30);
    c('sms_sent_total', 30);
  }
  await app.commit();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await vigil?.stop();
  await new Promise((r) => live?.close(r));
});

async function open(path: string, theme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await browser.newPage({ theme });
  await page.goto(`${vigil.url}${path}`);
  await ready(page);
  return page;
}

async function ready(page: Page) {
  await page.waitForSelector('[data-view="health"][data-ready=true]', { timeout: 30_000 });
}

const param = (page: Page, k: string) => new URL(page.url()).searchParams.get(k);

describe('health view', () => {
  it('shows components with their status, problems first, and what impacts them', async () => {
    // Wait until the first probes have run, so the statuses are settled.
    await waitFor('database down', async () => {
      const body = (await (await fetch(`${vigil.url}/api/vigil/v1/components`)).json()) as {
        components: { name: string; status: string }[];
      };
      const byName = new Map(body.components.map((c) => [c.name, c.status]));
      return byName.get('database') === 'down' && byName.get('api') === 'degraded';
    });
    const page = await open('/health');
    const rows = await page.$$eval('[data-testid=component]', (els) =>
      els.map((e) => [e.getAttribute('data-component'), e.getAttribute('data-status')]),
    );
    expect(rows).toEqual([
      ['database', 'down'],
      ['api', 'degraded'],
      ['frontend', 'degraded'],
      [EVIL, 'unknown'],
    ]);
    const api = page.locator('[data-component=api]');
    expect(await api.locator('[data-testid=impact]').allTextContents()).toEqual([
      'impacted by database: down',
    ]);
    expect(await api.locator('[data-testid=dependency]').getAttribute('data-status')).toBe('down');
    const frontend = page.locator('[data-component=frontend]');
    expect(await frontend.locator('[data-testid=impact]').allTextContents()).toEqual([
      'impacted by database (via api): down',
    ]);
    const database = page.locator('[data-component=database]');
    expect(await database.locator('[data-testid=reason]').first().textContent()).toContain('db-port');
    // Text is data: a name with markup is shown as text and runs nothing.
    expect(await page.locator('[data-testid=component]').nth(3).locator('strong').textContent()).toBe(EVIL);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    // Filters live in the URL and survive a reload.
    await page.fill('[data-testid=health-search]', 'front');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=component]').length === 1);
    expect(param(page, 'q')).toBe('front');
    await page.fill('[data-testid=health-search]', '');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=component]').length === 4);
    await page.selectOption('[data-testid=health-status]', 'problems');
    expect(param(page, 'status')).toBe('problems');
    await page.reload();
    await ready(page);
    expect(await page.inputValue('[data-testid=health-status]')).toBe('problems');
    expect(param(page, 'q')).toBeNull();
    expect(await page.locator('[data-testid=component]').count()).toBe(3);
    await page.close();
  });

  it('lists checks with status, reason and a history strip of their results', async () => {
    await waitFor('three probes of each check', async () => {
      const body = (await (await fetch(`${vigil.url}/api/vigil/v1/health/checks`)).json()) as {
        checks: { history: unknown[] }[];
      };
      return body.checks.every((c) => c.history.length >= 3);
    });
    const page = await open('/health?tab=checks');
    const rows = await page.$$eval('[data-testid=check]', (els) =>
      els.map((e) => [e.getAttribute('data-check'), e.getAttribute('data-status')]),
    );
    // Failing first.
    expect(rows).toEqual([
      ['db-port', 'bad'],
      ['api-http', 'ok'],
    ]);
    const db = page.locator('[data-check=db-port]');
    expect(await db.locator('[data-testid=status]').textContent()).toBe('down');
    expect((await db.locator('.check-reason').textContent())!.length).toBeGreaterThan(3);
    const dbCells = await db
      .locator('[data-testid=history-cell]')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-up'), e.getAttribute('title')]));
    expect(dbCells.length).toBeGreaterThanOrEqual(3);
    for (const [up, title] of dbCells) {
      expect(up).toBe('false');
      expect(title).toMatch(/: down in [\d.]+ ms$/);
    }
    const apiCells = await page
      .locator('[data-check=api-http] [data-testid=history-cell]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-up')));
    expect(apiCells.length).toBeGreaterThanOrEqual(3);
    expect(new Set(apiCells)).toEqual(new Set(['true']));
    expect(await page.locator('[data-check=api-http] svg.spark path').count()).toBe(1);
    await page.close();
  });

  it('draws the flow with the lossy stage marked and the violated check with its numbers', async () => {
    await waitFor('flow evaluated', async () => {
      const body = (await (await fetch(`${vigil.url}/api/vigil/v1/flows`)).json()) as {
        flows: { lastEvaluation: number | null }[];
      };
      return body.flows[0]!.lastEvaluation !== null;
    });
    const page = await open('/health?tab=flows');
    const flow = page.locator('[data-testid=flow][data-flow=notifications]');
    expect(await flow.getAttribute('data-status')).toBe('violated');
    const parts = await flow
      .locator('[data-testid=flow-part]')
      .evaluateAll((els) =>
        els.map((e) => [
          e.getAttribute('data-part'),
          e.getAttribute('data-kind'),
          e.getAttribute('data-status'),
        ]),
      );
    expect(parts).toEqual(
      expect.arrayContaining([
        ['router', 'stage', 'violated'],
        ['email', 'channel', expect.stringMatching(/^(ok|unknown)$/)],
        ['sms', 'channel', expect.stringMatching(/^(ok|unknown)$/)],
        ['ingest', 'stage', expect.stringMatching(/^(ok|unknown)$/)],
      ]),
    );
    expect(parts).toHaveLength(4);
    // The arrow into the router is the lossy one.
    expect(await flow.locator('[data-testid=flow-edge][data-to=router]').getAttribute('data-lossy')).toBe(
      'true',
    );
    const router = flow.locator('[data-testid=flow-part][data-part=router]');
    expect(await router.textContent()).toContain('in 80.0/s');
    expect(await router.textContent()).toContain('handoff');
    const ingest = flow.locator('[data-testid=flow-part][data-part=ingest]');
    expect(await ingest.textContent()).toContain('dropped 5/s');
    const violated = flow.locator('[data-testid=violated-check]');
    expect(await violated.count()).toBe(1);
    expect(await violated.getAttribute('data-part')).toBe('router');
    expect(await violated.getAttribute('data-check')).toBe('handoff');
    const cells = await violated.locator('td').allTextContents();
    expect(cells[2]).toMatch(/^15\.\d+%$/);
    expect(cells[3]).toBe('≤ 2%');
    await page.close();
  });

  it('switches tabs with buttons and keeps the tab in the URL', async () => {
    const page = await open('/health');
    await page.click('[data-testid=tab-flows]');
    await page.waitForSelector('[data-view=health][data-tab=flows][data-ready=true]');
    expect(param(page, 'tab')).toBe('flows');
    await page.click('[data-testid=tab-components]');
    await page.waitForSelector('[data-view=health][data-tab=components][data-ready=true]');
    expect(param(page, 'tab')).toBeNull();
    await page.close();
  });
});
