/**
 * The tracing views end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) holding
 * traces sent over OTLP/JSON, driven in Debian's Chromium. Search, the waterfall (tree, critical path,
 * error origin, orphans, clock skew, details, links, keyboard), the flame graph, a 10,000-span trace,
 * comparison and the service map.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { waitFor, type TestVigil } from '../helpers.ts';
import { useUiTestBed } from './testbed.ts';
import { bulk, checkout, fanOut, orphaned, sendTraces, spanIdOf, traceIdOf } from './trace-data.ts';

const EVIL_IMG = '<img src=x onerror="window.__xss=1">';
const EVIL_SCRIPT = '<script>window.__xss=2</script>';

const FAST = traceIdOf(0xa11ce, 1);
const SLOW = traceIdOf(0xa11ce, 2);
const ORPHAN = traceIdOf(0xa11ce, 3);
const FAN = traceIdOf(0xa11ce, 4);
const BULK = traceIdOf(0xa11ce, 5);
const EVIL = traceIdOf(0xa11ce, 6);

async function seed(v: TestVigil) {
  const now = Date.now();
  await sendTraces(v.url, [
    checkout(FAST, now - 20 * 60_000, false, 1),
    checkout(SLOW, now - 10 * 60_000, true, 2),
    orphaned(ORPHAN, now - 8 * 60_000, { traceId: FAST, spanId: spanIdOf(101) }),
    fanOut(FAN, now - 6 * 60_000),
    {
      traceId: EVIL,
      base: now - 4 * 60_000,
      spans: [
        {
          id: spanIdOf(7001),
          service: 'evil-svc',
          name: EVIL_SCRIPT,
          kind: 2,
          at: 0,
          dur: 5,
          attrs: { note: EVIL_IMG },
        },
      ],
    },
  ]);
  await sendTraces(v.url, [bulk(BULK, now - 2 * 60_000)]);
}

const ui = useUiTestBed(seed);

async function ready(page: Page, view: string) {
  await page.waitForSelector(`[data-view="${view}"][data-ready=true]`, { timeout: 30_000 });
}

const param = (page: Page, k: string) => new URL(page.url()).searchParams.get(k);

describe('trace search', () => {
  it('lists traces with durations, counts and service chips, and filters by service in the URL', async () => {
    const page = await ui.open('/traces?from=now-1h');
    await ready(page, 'traces');
    const list = page.locator('[data-testid=trace-list]');
    await list.waitFor();
    expect(Number(await list.getAttribute('data-rows'))).toBeGreaterThanOrEqual(6);
    const slow = page.locator(`tr[data-trace="${SLOW}"]`);
    expect(await slow.locator('.trace-name a').textContent()).toBe('gateway: POST /checkout');
    expect(await slow.locator('td.num').nth(0).textContent()).toBe('7');
    expect(await slow.locator('td.num').nth(1).textContent()).toBe('4');
    expect(await slow.locator('.svc-chip .svc-name').allTextContents()).toEqual(
      expect.arrayContaining(['gateway', 'orders', 'postgres', 'mailer']),
    );
    expect(await page.locator('[data-testid=scatter] circle').count()).toBeGreaterThanOrEqual(6);

    await page.locator('[data-testid=service]').selectOption('postgres');
    await page.locator('[data-testid=search]').click();
    await expect.poll(() => param(page, 'service')).toBe('postgres');
    await expect.poll(() => list.getAttribute('data-rows')).toBe('2');

    // The search survives a reload, and the operations offered are the service's.
    await page.reload();
    await ready(page, 'traces');
    expect(await page.locator('[data-testid=service]').inputValue()).toBe('postgres');
    // The service's operations arrive in their own request after the view is ready.
    await expect
      .poll(() => page.locator('[data-testid=operation] option').allTextContents())
      .toEqual(['All operations', 'INSERT orders']);
    await expect.poll(() => list.getAttribute('data-rows')).toBe('2');
  });

  it('filters by status, attribute condition and duration', async () => {
    const page = await ui.open('/traces?from=now-1h&status=error');
    await ready(page, 'traces');
    const ids = () =>
      page
        .locator('[data-testid=trace-list] tbody tr')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-trace')));
    await expect.poll(ids).toEqual(expect.arrayContaining([SLOW, FAN, BULK]));
    expect(await ids()).not.toContain(FAST);

    await page.goto(`${ui.vigil.url}/traces?from=now-1h&attr=${encodeURIComponent('customer.tier=gold')}`);
    await ready(page, 'traces');
    await expect.poll(ids).toEqual([SLOW]);

    await page.goto(`${ui.vigil.url}/traces?from=now-1h&service=gateway&minDuration=200ms`);
    await ready(page, 'traces');
    await expect.poll(ids).toEqual([SLOW]);
  });

  it('explains bad input before searching, and shows the server’s refusal in place', async () => {
    const page = await ui.open('/traces?from=now-1h');
    await ready(page, 'traces');
    await page.locator('[data-testid=min-duration]').fill('fast');
    await page.locator('[data-testid=add-attr]').click();
    await page.locator('[data-testid=attr]').fill('http.status_code>abc');
    await page.locator('[data-testid=search]').click();
    const problems = page.locator('[data-testid=form-problems]');
    await expect.poll(() => problems.textContent()).toMatch(/"fast" is not a duration/);
    expect(await problems.textContent()).toMatch(/compares numbers/);
    expect(param(page, 'minDuration')).toBeNull();

    // A condition only the server can judge (an unknown status) comes back as its 400 message.
    await page.goto(`${ui.vigil.url}/traces?from=now-1h&status=broken`);
    await ready(page, 'traces');
    const err = page.locator('.trace-results [data-testid=error]');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/status/);
  });

  it('compares two ticked results', async () => {
    const page = await ui.open('/traces?from=now-1h&service=gateway');
    await ready(page, 'traces');
    await page.locator(`tr[data-trace="${FAST}"] input[type=checkbox]`).check();
    await page.locator(`tr[data-trace="${SLOW}"] input[type=checkbox]`).check();
    await page.locator('[data-testid=compare]').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/traces/compare');
    expect([param(page, 'a'), param(page, 'b')]).toEqual([FAST, SLOW]);
    await ready(page, 'trace-compare');
    const table = page.locator('[data-testid=compare-table]');
    await table.waitFor();
    expect(await table.getAttribute('data-rows')).toBe('7');
    const onlyB = table.locator('tr[data-only=b]');
    expect(await onlyB.count()).toBe(1);
    expect(await onlyB.textContent()).toMatch(/retry INSERT.*only in B/);
    const insert = table.locator('tr', { hasText: 'INSERT orders' });
    expect(await insert.locator('td.delta').textContent()).toBe('+125 ms');
    expect(await page.locator('[data-testid=duration-b]').textContent()).toBe('240 ms');
    await page.locator('[data-testid=sort-delta]').click();
    await expect
      .poll(() => table.locator('tbody tr').first().textContent())
      .toMatch(/POST \/checkout|POST orders|POST \/orders|INSERT/);
  });
});

describe('trace view', () => {
  it('draws the waterfall with the critical path, the error origin and what it propagated to', async () => {
    const page = await ui.open(`/traces/${SLOW}`);
    await ready(page, 'trace');
    expect(await page.locator('[data-testid=trace-title]').textContent()).toBe('gateway: POST /checkout');
    expect(await page.locator('[data-testid=trace-duration]').textContent()).toBe('240 ms');
    const wf = page.locator('[data-testid=waterfall]');
    expect(await wf.getAttribute('data-spans')).toBe('7');
    const db = page.locator(`.wf-row[data-span="${spanIdOf(205)}"]`);
    expect(await db.locator('.mark.err-origin').count()).toBe(1);
    expect(await page.locator(`.wf-row[data-span="${spanIdOf(203)}"] .mark.err-prop`).count()).toBe(1);
    expect(await page.locator('.wf-crit').count()).toBeGreaterThan(0);
    expect(await db.locator('.wf-crit').count()).toBeGreaterThan(0);

    // Details, with attributes and events; the selection is in the URL.
    await db.click();
    await expect.poll(() => param(page, 'span')).toBe(spanIdOf(205));
    const details = page.locator('[data-testid=span-details]');
    await details.waitFor();
    expect(await details.textContent()).toMatch(/deadlock detected/);
    expect(await details.textContent()).toContain('INSERT INTO orders VALUES ($1, $2)');
    expect(await details.textContent()).toMatch(/exception/);
    expect(await details.textContent()).toMatch(/deployment\.environment/);
  });

  it('is usable from the keyboard: arrows move, left folds, right unfolds', async () => {
    const page = await ui.open(`/traces/${SLOW}?span=${spanIdOf(201)}`);
    await ready(page, 'trace');
    const tree = page.locator('[role=tree]');
    await tree.focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => param(page, 'span')).toBe(spanIdOf(202));
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => param(page, 'span')).toBe(spanIdOf(203));
    await expect.poll(() => page.locator('.wf-row.selected').getAttribute('data-span')).toBe(spanIdOf(203));
    const wf = page.locator('[data-testid=waterfall]');
    await page.keyboard.press('ArrowLeft'); // fold "POST /orders"
    await expect.poll(() => wf.getAttribute('data-rows')).toBe('3');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => wf.getAttribute('data-rows')).toBe('7');
    await page.keyboard.press('End');
    await expect
      .poll(() => page.locator('.wf-row.selected').getAttribute('data-span'))
      .not.toBe(spanIdOf(203));
    await page.keyboard.press('Home');
    await expect.poll(() => param(page, 'span')).toBe(spanIdOf(201));
  });

  it('shows orphans under a synthetic root, clock skew, and links that navigate', async () => {
    const page = await ui.open(`/traces/${ORPHAN}`);
    await ready(page, 'trace');
    await page.locator('.wf-row.synthetic').waitFor();
    expect(await page.locator('.wf-row .mark.orphan').count()).toBeGreaterThan(0);
    expect(await page.locator('.wf-row .mark.skew').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=trace-warnings]').textContent()).toBeTruthy();

    await page.locator(`.wf-row[data-span="${spanIdOf(9001)}"]`).click();
    const link = page.locator('[data-testid=span-links] a');
    await link.click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/traces/${FAST}`);
    await ready(page, 'trace');
    expect(await page.locator('[data-testid=trace-id]').textContent()).toBe(FAST);
    await expect.poll(() => page.locator('.wf-row.selected').getAttribute('data-span')).toBe(spanIdOf(101));
  });

  it('shows the journey of a message fanned out to delivery channels', async () => {
    const page = await ui.open(`/traces/${FAN}`);
    await ready(page, 'trace');
    const journey = page.locator('[data-testid=journey]');
    await journey.waitFor();
    expect(await journey.locator('tbody tr').count()).toBe(3);
    expect(await journey.locator('tbody tr', { hasText: 'sms' }).textContent()).toMatch(/error/);
    await journey.getByRole('button', { name: `span ${spanIdOf(8002)}` }).click();
    await expect.poll(() => param(page, 'span')).toBe(spanIdOf(8002));
  });

  it('shows a flame graph with self time', async () => {
    const page = await ui.open(`/traces/${SLOW}`);
    await ready(page, 'trace');
    await page.locator('[data-testid=tab-flame]').click();
    expect(param(page, 'tab')).toBe('flame');
    const flame = page.locator('[data-testid=flame]');
    await flame.waitFor();
    expect(Number(await flame.getAttribute('data-frames'))).toBe(7);
    expect(await page.locator('[data-testid=self-time] tbody tr').first().textContent()).toMatch(
      /INSERT orders/,
    );
    await flame.locator('.flame-frame', { hasText: 'postgres: INSERT orders' }).click();
    await expect.poll(() => param(page, 'span')).toBe(spanIdOf(205));
  });

  it('stays fast with 10,000 spans: only the rows in view are in the page', async () => {
    const page = await ui.browser.newPage();
    const t0 = Date.now();
    await page.goto(`${ui.vigil.url}/traces/${BULK}`);
    await ready(page, 'trace');
    const loaded = Date.now() - t0;
    const wf = page.locator('[data-testid=waterfall]');
    expect(await wf.getAttribute('data-spans')).toBe('10000');
    const rendered = await page.locator('.wf-row').count();
    expect(rendered).toBeLessThan(200);
    await page.locator('[role=tree]').focus();
    const t1 = Date.now();
    await page.keyboard.press('End');
    await page.locator('.wf-row.selected').waitFor();
    const toEnd = Date.now() - t1;
    expect(await page.locator('.wf-row').count()).toBeLessThan(200);
    const t2 = Date.now();
    await page.locator('[data-testid=tab-flame]').click();
    await page.locator('[data-testid=flame]').waitFor();
    const flame = Date.now() - t2;
    console.log(
      `10,000-span trace: page ready in ${loaded} ms (${rendered} rows in the DOM), End key ${toEnd} ms, flame graph ${flame} ms`,
    );
  });

  it('says when a trace does not exist', async () => {
    const page = await ui.open(`/traces/${traceIdOf(0xdead, 99)}`);
    await ready(page, 'trace');
    expect(await page.locator('[data-testid=empty]').textContent()).toMatch(/No trace with ID/);
  });

  it('renders span names and attributes as text and never runs them', async () => {
    const page = await ui.open(`/traces/${EVIL}?span=${spanIdOf(7001)}`);
    await ready(page, 'trace');
    expect(await page.locator('[data-testid=trace-title]').textContent()).toContain(EVIL_SCRIPT);
    expect(await page.locator('[data-testid=span-details]').textContent()).toContain(EVIL_IMG);
    const search = await ui.open('/traces?from=now-1h&service=evil-svc');
    await ready(search, 'traces');
    await search.locator(`tr[data-trace="${EVIL}"]`).waitFor();
    for (const p of [page, search]) {
      expect(await p.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
      expect(await p.locator('main img, main script').count()).toBe(0);
    }
  });
});

describe('service map', () => {
  it('lays out services by call depth with rate, errors and p95, and opens a service’s traces', async () => {
    const page = await ui.open('/service-map?from=now-1h');
    await ready(page, 'service-map');
    const map = page.locator('[data-testid=service-map]');
    await map.waitFor();
    const x = async (s: string) =>
      Number(
        (await map.locator(`.map-node[data-service="${s}"]`).getAttribute('transform'))!.match(
          /translate\(([\d.]+)/,
        )![1],
      );
    expect(await x('gateway')).toBeLessThan(await x('orders'));
    expect(await x('orders')).toBeLessThan(await x('postgres'));
    expect(await x('router')).toBeLessThan(await x('sms-sender'));
    const edge = map.locator('.map-edge[data-edge="orders->postgres"]');
    expect(await edge.getAttribute('class')).toMatch(/\berr\b/);
    expect(await edge.locator('.edge-label').textContent()).toMatch(/\/(s|min) · \d+% · p95 /);
    expect(await map.locator('.map-node[data-service="sms-sender"]').getAttribute('class')).toMatch(
      /\berr\b/,
    );

    await map.locator('.map-node[data-service="postgres"]').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/traces');
    expect(param(page, 'service')).toBe('postgres');
    await ready(page, 'traces');
    await expect.poll(() => page.locator('[data-testid=trace-list]').getAttribute('data-rows')).toBe('2');
  });

  it('opens a service from the keyboard and lists bottlenecks of an endpoint', async () => {
    const page = await ui.open('/service-map?from=now-1h&bnService=gateway&bnOperation=POST%20%2Fcheckout');
    await ready(page, 'service-map');
    const table = page.locator('[data-testid=bottlenecks]');
    await table.waitFor();
    expect(await table.textContent()).toMatch(/INSERT orders/);
    await page.locator('.map-node[data-service="mailer"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => param(page, 'service')).toBe('mailer');
  });
});

describe('exemplars in Explore', () => {
  it('draws the exemplars of span metrics on the chart, and one opens its trace', async () => {
    const query = 'traces_span_metrics_duration_seconds_bucket{service_name="postgres"}';
    // Span metrics and their exemplars are written at each flush of the span-metrics pipeline.
    await waitFor(
      'span-metric exemplars',
      async () => {
        const now = Date.now() / 1000;
        const res = await fetch(
          `${ui.vigil.url}/api/v1/query_exemplars?${new URLSearchParams({ query, start: String(now - 3600), end: String(now) })}`,
        );
        const body = (await res.json()) as { data?: unknown[] };
        return (body.data?.length ?? 0) > 0;
      },
      60_000,
    );
    const page = await ui.open(`/explore?${new URLSearchParams({ q: query, from: 'now-1h' })}`);
    await ready(page, 'explore');
    const marker = page.locator('.chart-marker').first();
    await marker.waitFor();
    expect(await marker.getAttribute('aria-label')).toMatch(/^Exemplar: trace [0-9a-f]{32} /);
    await marker.click();
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/traces\/[0-9a-f]{32}$/);
    expect([FAST, SLOW]).toContain(new URL(page.url()).pathname.split('/')[2]);
    await ready(page, 'trace');
    await page.locator('[data-testid=waterfall]').waitFor();
  });
});
