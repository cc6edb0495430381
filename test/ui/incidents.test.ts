/**
 * The incident views end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) seeded through
 * its APIs with users (paged by webhook: one reachable local server, one closed port), a schedule, an
 * escalation policy, incidents opened by hand and one opened by the alert pipeline from a posted alert; driven
 * in Debian's Chromium. The list with its figures, open-first order, filters in the URL and pages; an incident
 * acknowledged, noted, assigned and resolved from its page with the timeline growing; a lost acknowledgement
 * race (409) naming who won; an incident created by hand; the report link; the knowledge base (runbook links,
 * a `javascript:` runbook shown as text, search, similar past incidents with their resolution) and MTTA/MTTR
 * over time. Screenshots go to docs/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freePort, waitFor } from '../helpers.ts';
import { useUiTestBed } from './testbed.ts';

const SHOTS = join(import.meta.dirname, '../../docs/screenshots');
const EVIL = '<img src=x onerror="window.__xss=1">';
const RUNBOOK = 'https://runbooks.example.com/checkout-errors';
const DAY = 86_400_000;

interface Incident {
  id: string;
  title: string;
  status: string;
  alerts: string[];
}

let hook: Server | undefined;
const ids: Record<string, string> = {};

async function api<T = unknown>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const bed = useUiTestBed(async (v) => {
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/page`;
  const closed = `http://127.0.0.1:${await freePort()}/page`;
  const post = <T = unknown>(path: string, body: unknown) =>
    api<T>(v.url, 'POST', `/api/vigil/v1${path}`, body);

  await post('/users', { id: 'ana', name: 'Ana Ops', contacts: [{ webhook: hookUrl }] });
  await post('/users', { id: 'bo', name: 'Bo Backup', contacts: [{ webhook: closed }] });
  const wall = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  await post('/schedules', {
    id: 'primary',
    name: 'Primary',
    timeZone: 'UTC',
    layers: [{ name: 'main', users: ['ana'], rotation: 'weekly', start: wall(Date.now() - 7 * DAY) }],
  });
  await post('/escalation-policies', {
    id: 'checkout',
    name: 'Checkout',
    match: ['service="checkout"'],
    severities: ['critical'],
    steps: [
      { delay: '30m', targets: [{ schedule: 'primary' }] },
      { delay: '30m', targets: [{ user: 'bo' }] },
    ],
  });

  // Enough low-severity incidents for a second page of the list.
  for (let i = 0; i < 55; i++)
    await post('/incidents', { title: `Slow batch job ${i}`, severity: 'info', services: ['batch'] });
  ids.race = (
    await post<Incident>('/incidents', {
      title: 'Payments queue backing up',
      severity: 'warning',
      services: ['payments'],
      policyId: 'checkout',
    })
  ).id;
  ids.done = (
    await post<Incident>('/incidents', {
      title: 'Certificate expired',
      severity: 'error',
      services: ['edge'],
    })
  ).id;
  await post(`/incidents/${ids.done}/ack`, { actor: 'bo' });
  await post(`/incidents/${ids.done}/resolve`, { actor: 'bo' });
  ids.evil = (
    await post<Incident>('/incidents', { title: EVIL, severity: 'warning', services: ['frontend'] })
  ).id;

  // One incident from the alert pipeline: a critical alert of the checkout service routes to the policy.
  await api(v.url, 'POST', '/api/v2/alerts', [
    {
      labels: { alertname: 'CheckoutErrors', severity: 'critical', service: 'checkout', instance: 'co-1' },
      annotations: { summary: 'Checkout error rate above 5%', runbook_url: RUNBOOK },
    },
  ]);
  const fromAlert = await waitFor(
    'an incident opened from the CheckoutErrors alert',
    async () => {
      const { incidents } = await api<{ incidents: Incident[] }>(
        v.url,
        'GET',
        '/api/vigil/v1/incidents?limit=1000',
      );
      return incidents.find((i) => i.alerts.length > 0);
    },
    60_000,
  );
  ids.alert = fromAlert.id;
});

afterAll(async () => {
  await new Promise((r) => (hook ? hook.close(r) : r(undefined)));
});

async function open(path: string, view: string, theme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await bed.open(path, { theme });
  await ready(page, view);
  return page;
}

async function ready(page: Page, view: string) {
  await page.waitForSelector(`[data-view="${view}"][data-ready=true]`, { timeout: 30_000 });
}

/** A screenshot into docs/screenshots/; the long list is taken at the window's size. */
async function shot(page: Page, name: string, fullPage = true) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

const param = (page: Page, k: string) => new URL(page.url()).searchParams.get(k);
const rowStatuses = (page: Page) =>
  page.$$eval('[data-testid=incident-row]', (els) => els.map((e) => e.getAttribute('data-status')));

describe('incident list', () => {
  it('shows figures, open incidents first, filters in the URL and pages', async () => {
    const page = await open('/incidents', 'incidents');
    await page.waitForSelector('[data-testid=incident-row]');
    expect(await page.textContent('[data-testid=fig-triggered]')).toMatch(/\d+/);
    await page.waitForFunction(
      () => !document.querySelector('[data-testid=fig-mttr]')?.textContent?.includes('…'),
    );
    // Certificate expired was resolved by hand: MTTR is a duration, not a dash.
    expect(await page.textContent('[data-testid=fig-mttr]')).not.toContain('—');
    const statuses = await rowStatuses(page);
    expect(statuses).toHaveLength(50);
    expect(statuses[0]).toBe('triggered');
    // The critical incident from the alert comes first.
    expect(await page.getAttribute('[data-testid=incident-row] >> nth=0', 'data-id')).toBe(ids.alert);
    expect(await page.getAttribute('[data-testid=incident-count]', 'data-total')).toBe('59');
    await shot(page, 'incidents-light', false);

    // Analytics per severity, service and team fold out (kept in the URL).
    await page.click('[data-testid=analytics] summary');
    const errors = page.locator('[data-testid=analytics-severity][data-key=error]');
    await errors.waitFor();
    expect(param(page, 'analytics')).toBe('1');
    expect(await errors.locator('td').nth(1).textContent()).toBe('1');
    expect(await errors.locator('td').nth(3).textContent()).not.toBe('—');
    // MTTA and MTTR over time: Certificate expired was acknowledged and resolved today.
    const chart = page.locator('[data-testid=overtime-chart]');
    expect(await chart.locator('[data-testid=overtime-bar][data-kind=mttr]').count()).toBeGreaterThanOrEqual(
      1,
    );
    expect(await chart.locator('[data-testid=overtime-bar][data-kind=mtta]').count()).toBeGreaterThanOrEqual(
      1,
    );
    await shot(page, 'incidents-analytics-light', false);
    await page.click('[data-testid=analytics] summary');

    await page.click('[data-testid=page-next]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=incident-row]').length === 9);
    expect(param(page, 'page')).toBe('2');
    // Resolved ones come last.
    expect((await rowStatuses(page)).at(-1)).toBe('resolved');

    await page.selectOption('[data-testid=incident-status-filter]', 'resolved');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=incident-row]').length === 1);
    expect(param(page, 'status')).toBe('resolved');
    expect(param(page, 'page')).toBeNull();
    await page.selectOption('[data-testid=incident-status-filter]', '');
    await page.fill('[data-testid=incident-service-filter]', 'payments');
    await page.press('[data-testid=incident-service-filter]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=incident-row]').length === 1);
    expect(param(page, 'service')).toBe('payments');
    await page.reload();
    await ready(page, 'incidents');
    expect(await page.getAttribute('[data-testid=incident-row]', 'data-id')).toBe(ids.race);

    // Text is data: a title with markup is shown as text.
    await page.goto(`${bed.vigil.url}/incidents?service=frontend`);
    await ready(page, 'incidents');
    expect(await page.textContent('[data-testid=incident-row]')).toContain(EVIL);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.close();

    const dark = await open('/incidents', 'incidents', 'dark');
    await shot(dark, 'incidents-dark', false);
    await dark.close();
  });
});

describe('older incidents', () => {
  it('follows the API cursor when "Load older incidents" is clicked', async () => {
    // The API pages at 10,000 incidents; here its answers are cut at 40 so that the 59 seeded ones make two
    // pages. The cursor the page sends back is checked; the API's own paging is tested in the API tests.
    const page = await bed.browser.newPage();
    const cursors: (string | null)[] = [];
    await page.route(
      (url) => url.pathname === '/api/vigil/v1/incidents',
      async (route) => {
        const url = new URL(route.request().url());
        const cursor = url.searchParams.get('cursor');
        cursors.push(cursor);
        url.searchParams.delete('cursor');
        const res = await route.fetch({ url: url.toString() });
        const all = ((await res.json()) as { incidents: unknown[] }).incidents;
        await route.fulfill({
          response: res,
          json:
            cursor === null
              ? { incidents: all.slice(0, 40), next: 'older-than-40' }
              : { incidents: cursor === 'older-than-40' ? all.slice(40) : [] },
        });
      },
    );
    await page.goto(`${bed.vigil.url}/incidents`);
    await ready(page, 'incidents');
    const total = page.locator('[data-testid=incident-count]');
    await expect.poll(() => total.getAttribute('data-total')).toBe('40');
    const more = page.locator('[data-testid=load-older-incidents]');
    expect(await more.textContent()).toBe('Load 10,000 older incidents');
    await more.click();
    await expect.poll(() => total.getAttribute('data-total')).toBe('59');
    expect(cursors).toContain('older-than-40');
    await page.locator('[data-testid=incident-list-more]').waitFor({ state: 'detached' });
    await page.close();
  });
});

describe('incident page', () => {
  it('acknowledges, notes, assigns and resolves, the timeline growing at each step', async () => {
    const page = await open(`/incidents/${ids.alert}`, 'incident');
    expect(await page.getAttribute('[data-testid=incident-status]', 'data-status')).toBe('triggered');
    // The linked alert opens the Alerts view filtered on it.
    const link = page.locator('[data-testid=linked-alert] [data-testid=alert-link]');
    expect(await link.textContent()).toBe('CheckoutErrors');
    expect(decodeURIComponent((await link.getAttribute('href'))!)).toContain('alertname="CheckoutErrors"');
    expect(await page.textContent('[data-testid=services]')).toContain('checkout');
    // The alert's runbook, on the alert and in the header (the only alert, so all share it).
    expect(await page.getAttribute('[data-testid=linked-alert] [data-testid=alert-runbook]', 'href')).toBe(
      RUNBOOK,
    );
    expect(await page.getAttribute('a[data-testid=incident-runbook]', 'href')).toBe(RUNBOOK);
    // Step 1 paged Ana (on call in the schedule) by webhook.
    await page.waitForSelector('[data-testid=page][data-outcome=delivered]', { timeout: 30_000 });
    const count = async () => Number(await page.getAttribute('[data-testid=timeline-count]', 'data-count'));
    const before = await count();
    const grew = (n: number) =>
      page.waitForFunction(
        (k) =>
          Number(document.querySelector('[data-testid=timeline-count]')?.getAttribute('data-count')) >= k,
        n,
      );

    // Actions need to know who acts.
    expect(await page.isDisabled('[data-testid=ack]')).toBe(true);
    await page.selectOption('[data-testid=actor]', 'ana');
    await page.click('[data-testid=ack]');
    await page.waitForSelector('[data-testid=incident-status][data-status=acknowledged]');
    await grew(before + 1);
    expect(await page.textContent('[data-testid=acked]')).toContain('ana');
    expect(await page.locator('[data-testid=timeline-event][data-kind=acknowledged]').count()).toBe(1);

    await page.fill('[data-testid=note-text]', 'Rolled back deploy 4821; error rate falling.');
    await page.click('[data-testid=add-note]');
    await page.waitForSelector('[data-testid=timeline-event][data-kind=note]');
    expect(await page.textContent('[data-testid=timeline-event][data-kind=note]')).toContain(
      'Rolled back deploy 4821',
    );
    expect(await page.inputValue('[data-testid=note-text]')).toBe('');

    await page.selectOption('[data-testid=assignee]', 'bo');
    await page.click('[data-testid=assign]');
    await page.waitForSelector('[data-testid=timeline-event][data-kind=assigned]');
    await shot(page, 'incidents-page-light');

    await page.fill('[data-testid=resolve-note]', 'Rolled back deploy 4821');
    await page.click('[data-testid=resolve]');
    await page.waitForSelector('[data-testid=incident-status][data-status=resolved]');
    await page.waitForSelector('[data-testid=timeline-event][data-kind=resolved]');
    expect(await page.textContent('[data-testid=timeline-event][data-kind=resolved]')).toContain(
      'Rolled back deploy 4821',
    );
    expect(await page.textContent('[data-testid=resolved]')).toContain('ana');
    expect(await page.isDisabled('[data-testid=resolve]')).toBe(true);
    expect(await count()).toBeGreaterThanOrEqual(before + 4);

    // The report is Markdown.
    const href = await page.getAttribute('[data-testid=report-link]', 'href');
    const report = await fetch(`${bed.vigil.url}${href}`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toContain('markdown');
    expect(await report.text()).toContain('#');
    await page.close();

    const dark = await open(`/incidents/${ids.alert}`, 'incident', 'dark');
    await shot(dark, 'incidents-page-dark');
    await dark.close();
  });

  it('tells the loser of a concurrent acknowledgement who won', async () => {
    const page = await open(`/incidents/${ids.race}`, 'incident');
    // Hold the page's refreshes of this incident, so it keeps showing it as triggered, as a page opened a
    // moment before someone else acknowledged would. The acknowledgement itself goes through.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route(`**/api/vigil/v1/incidents/${ids.race}`, async (route) => {
      if (route.request().method() === 'GET') await held;
      await route.continue().catch(() => {});
    });
    await page.selectOption('[data-testid=actor]', 'ana');
    await api(bed.vigil.url, 'POST', `/api/vigil/v1/incidents/${ids.race}/ack`, { actor: 'bo' });
    expect(await page.getAttribute('[data-testid=incident-status]', 'data-status')).toBe('triggered');
    await page.click('[data-testid=ack]');
    const error = page.locator('.incident-action-error [data-testid=error]');
    await error.waitFor();
    const text = await error.textContent();
    expect(text).toContain('Someone else acted first');
    expect(text).toContain('already acknowledged by bo');
    release();
    await page.waitForSelector('[data-testid=incident-status][data-status=acknowledged]');
    expect(await page.textContent('[data-testid=acked]')).toContain('bo');
    await shot(page, 'incidents-conflict-light');
    await page.close();
  });

  it('creates an incident by hand', async () => {
    const page = await open('/incidents', 'incidents');
    await page.click('[data-testid=new-incident]');
    const form = page.locator('[data-testid=new-incident-form]');
    await form.locator('[data-testid=ni-save]').click();
    expect(await form.locator('[data-testid=field-problem]').textContent()).toContain('title');
    await form.locator('[data-testid=ni-title]').fill('Search results empty for some users');
    await form.locator('[data-testid=ni-severity]').selectOption('warning');
    await form.locator('[data-testid=ni-services]').fill('search, api');
    await form.locator('[data-testid=ni-components]').fill('elastic');
    await form.locator('[data-testid=ni-assignee]').selectOption('ana');
    await form.locator('[data-testid=ni-save]').click();
    await ready(page, 'incident');
    expect(await page.textContent('[data-testid=incident-title]')).toBe(
      'Search results empty for some users',
    );
    expect(await page.textContent('[data-testid=services]')).toContain('search');
    expect(await page.textContent('[data-testid=components]')).toContain('elastic');
    expect(await page.inputValue('[data-testid=assignee]')).toBe('ana');
    expect(await page.locator('[data-testid=timeline-event][data-kind=created]').count()).toBe(1);

    // An unknown incident is a contained error naming it; the shell keeps working.
    await page.goto(`${bed.vigil.url}/incidents/NOPE1234`);
    await ready(page, 'incident');
    expect(await page.textContent('[data-testid=error]')).toContain('No incident NOPE1234');
    expect(await page.textContent('[data-testid=error]')).toContain('not found');
    await page.close();
  });
});

describe('signed link in a browser', () => {
  it('shows the incident on opening, changes nothing, and acknowledges from the button', async () => {
    const v = bed.vigil;
    const inc = await api<Incident>(v.url, 'POST', '/api/vigil/v1/incidents', {
      title: `${EVIL} link target`,
      severity: 'critical',
      services: ['frontend'],
    });
    const detail = await api<{ links: { ack: string } }>(v.url, 'GET', `/api/vigil/v1/incidents/${inc.id}`);
    const link = new URL(detail.links.ack);
    const page = await bed.open(link.pathname + link.search);
    await page.waitForSelector('[data-testid=link-confirm]');
    expect(await page.textContent('[data-field=title]')).toBe(`${EVIL} link target`);
    expect(await page.textContent('[data-field=severity]')).toBe('critical');
    expect(await page.textContent('[data-field=status]')).toBe('triggered');
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    // Opening it (twice, as a prefetching scanner would) acknowledged nothing.
    await page.reload();
    await page.waitForSelector('[data-testid=link-confirm]');
    const still = await api<{ incident: Incident }>(v.url, 'GET', `/api/vigil/v1/incidents/${inc.id}`);
    expect(still.incident.status).toBe('triggered');

    await page.click('[data-testid=link-confirm]');
    await page.waitForSelector('[data-testid=link-done]');
    expect(await page.textContent('[data-testid=link-done]')).toBe(`Incident ${inc.id} acknowledged`);
    expect(await page.textContent('[data-field=status]')).toBe('acknowledged');
    const after = await api<{ incident: Incident & { ackedBy: string } }>(
      v.url,
      'GET',
      `/api/vigil/v1/incidents/${inc.id}`,
    );
    expect(after.incident).toMatchObject({ status: 'acknowledged', ackedBy: 'link' });

    // A tampered link shows the refusal in words.
    const bad = new URL(link);
    bad.searchParams.set('exp', String(Number(link.searchParams.get('exp')) + 1));
    const refused = await bed.open(bad.pathname + bad.search);
    await refused.waitForSelector('[data-testid=link-refused]');
    expect(await refused.textContent('body')).toMatch(/signature is not valid.*nothing was changed/s);
  });
});

describe('knowledge base', () => {
  it('shows a javascript: runbook as text, never as a link', async () => {
    const page = await bed.browser.newPage({ theme: 'light' });
    // Give the linked alert a hostile runbook on its way to the browser: the page must not make it a link.
    await page.route(`**/api/vigil/v1/incidents/${ids.alert}`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const e of body.events)
        if (e.kind === 'alert_firing') e.detail.annotations = { runbook_url: 'javascript:window.__xss=2' };
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(`${bed.vigil.url}/incidents/${ids.alert}`);
    await ready(page, 'incident');
    const rb = page.locator('[data-testid=linked-alert] [data-testid=alert-runbook]');
    expect(await rb.textContent()).toBe('runbook: javascript:window.__xss=2');
    expect(await page.locator('a[data-testid=alert-runbook]').count()).toBe(0);
    expect(await page.locator('a[data-testid=incident-runbook]').count()).toBe(0);
    expect(await page.textContent('[data-testid=incident-runbook]')).toContain('javascript:');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.close();
  });

  it('suggests the resolved incident with its resolution, and finds it by search', async () => {
    // A new incident like the one resolved above (same service, same words) lists it with its resolution.
    const again = await api<Incident>(bed.vigil.url, 'POST', '/api/vigil/v1/incidents', {
      title: 'Checkout error rate above 5% again',
      severity: 'critical',
      services: ['checkout'],
    });
    const page = await open(`/incidents/${again.id}`, 'incident');
    const item = page.locator(`[data-testid=similar-incident][data-id="${ids.alert}"]`);
    await item.waitFor({ timeout: 30_000 });
    expect(await item.locator('[data-testid=similar-resolution]').textContent()).toBe(
      'Rolled back deploy 4821',
    );
    expect(await item.textContent()).toContain('same service checkout');
    // The suggestion was recorded in the timeline when the incident opened.
    await page.waitForSelector('[data-testid=timeline-event][data-kind=similar_incidents]', {
      timeout: 30_000,
    });
    expect(await page.textContent('[data-testid=timeline-event][data-kind=similar_incidents]')).toContain(
      ids.alert,
    );
    await shot(page, 'incidents-similar-light');
    await item.locator('a.incident-link').click();
    await page.waitForURL(`**/incidents/${ids.alert}`);
    await ready(page, 'incident');
    expect(await page.textContent('[data-testid=incident-title]')).toBe('Checkout error rate above 5%');

    // Search finds it by its resolution note, resolved or not, and keeps the words in the URL.
    await page.goto(`${bed.vigil.url}/incidents`);
    await ready(page, 'incidents');
    await page.fill('[data-testid=incident-search]', 'deploy 4821');
    await page.press('[data-testid=incident-search]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=incident-row]').length === 1);
    expect(param(page, 'q')).toBe('deploy 4821');
    expect(await page.getAttribute('[data-testid=incident-row]', 'data-id')).toBe(ids.alert);
    await page.reload();
    await ready(page, 'incidents');
    expect(await page.inputValue('[data-testid=incident-search]')).toBe('deploy 4821');
    await page.fill('[data-testid=incident-search]', 'no-such-words-anywhere');
    await page.press('[data-testid=incident-search]', 'Enter');
    await page.waitForSelector('text=No incident matches.');
    await page.close();
  });
});
