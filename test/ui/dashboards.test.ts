/**
 * Dashboards end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) with data written
 * through its storage appender, driven in Debian's Chromium: build and save a dashboard with a variable by
 * clicking, reload and reopen it, switch the variable, export and re-import, reject invalid imports without
 * losing the text, render hostile label values as text, and fill a 12-panel dashboard.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestVigil } from '../helpers.ts';
import { useUiTestBed } from './testbed.ts';

const EVIL = '<img src=x onerror="window.__xss=1">';

async function seed(v: TestVigil) {
  const now = Date.now();
  const start = now - 30 * 60_000;
  const app = v.storage.appender();
  for (let t = start; t <= now; t += 15_000) {
    const i = (t - start) / 15_000;
    app.append({ __name__: 'dash_requests_total', job: 'api', instance: 'a' }, t, i * 10);
    app.append({ __name__: 'dash_requests_total', job: 'web', instance: 'b' }, t, i * 40);
    app.append({ __name__: 'dash_evil', job: EVIL, note: EVIL }, t, 7);
    // A classic histogram: cumulative buckets growing at different speeds.
    const les: [string, number][] = [
      ['0.1', 3],
      ['0.5', 7],
      ['1', 9],
      ['+Inf', 10],
    ];
    for (const [le, per] of les)
      app.append({ __name__: 'dash_latency_seconds_bucket', job: 'api', le }, t, i * per);
  }
  await app.commit();
}

async function api<T = any>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${ui.vigil.url}/api/vigil/v1/${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function createDoc(doc: Record<string, unknown>): Promise<string> {
  const res = await api<{ dashboard: { uid: string } }>('dashboards', {
    method: 'POST',
    body: JSON.stringify(doc),
  });
  expect(res.status).toBe(201);
  return res.body.dashboard.uid;
}

async function viewReady(page: Page, view: 'dashboard' | 'dashboards') {
  await page.waitForSelector(`[data-view=${view}][data-ready=true]`, { timeout: 20_000 });
}

const legendTexts = (page: Page) => page.locator('.legend-label').allTextContents();

const ui = useUiTestBed(seed);

describe('Dashboards', () => {
  it('builds and saves a dashboard with a variable by clicking, reopens it, and follows the variable', async () => {
    const page = await ui.open('/dashboards');
    await viewReady(page, 'dashboards');
    await expect(page.getByText('No dashboards yet').isVisible()).resolves.toBe(true);

    await page.click('[data-testid=new-dashboard]');
    await page.fill('[data-testid=new-title]', 'Service overview');
    await page.click('[data-testid=create]');
    await page.waitForURL(/\/d\/[^/?]+\?edit=1/);

    // The new dashboard's empty panel: give it a query that uses a variable not defined yet.
    await page.click('[aria-label="Edit panel"]');
    await page.waitForSelector('[data-testid=panel-editor]');
    await page.fill('[data-testid=panel-title]', 'Request rate');
    await page.locator('.promql-input .cm-content').first().click();
    await page.keyboard.type('sum by (job) (rate(dash_requests_total{job=~"$job"}[$__rate_interval]))');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await page.getByLabel('Legend of query A').fill('{{job}}');
    await page.click('[data-testid=panel-editor-close]');

    // Now the variable.
    await page.click('[data-testid=settings]');
    await page.click('[data-testid=settings-tab-variables]');
    await page.click('[data-testid=add-variable]');
    await page.fill('[data-testid=variable-name]', 'job');
    await page.fill('[data-testid=variable-query]', 'label_values(dash_requests_total, job)');
    await page.click('[data-testid=settings-close]');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => !new URL(location.href).searchParams.has('edit'));
    const uid = new URL(page.url()).pathname.split('/').pop()!;

    // Reload, find it in the list, open it: the panel shows data for the first value of the variable.
    await page.reload();
    await page.goto(`${ui.vigil.url}/dashboards`);
    await viewReady(page, 'dashboards');
    await page.getByRole('link', { name: 'Service overview' }).click();
    await page.waitForURL(new RegExp(`/d/${uid}$`));
    await viewReady(page, 'dashboard');
    await page.waitForSelector('.dash-panel .chart[data-series="1"]');
    expect(await legendTexts(page)).toEqual(['api']);

    // Switch the variable: the URL carries it and the panel follows.
    await page.click('[data-testid=var-job]');
    await page.getByRole('option', { name: 'web' }).click();
    await page.waitForURL(/var-job=web/);
    await page.waitForFunction(() => document.querySelector('.legend-label')?.textContent === 'web');

    // The saved document has what was clicked together.
    const saved = await api<{ dashboard: any; version: number }>(`dashboards/${uid}`);
    expect(saved.body.dashboard.variables).toEqual([
      expect.objectContaining({ name: 'job', query: 'label_values(dash_requests_total, job)' }),
    ]);
    expect(saved.body.dashboard.panels[0]).toMatchObject({
      title: 'Request rate',
      queries: [
        {
          expr: 'sum by (job) (rate(dash_requests_total{job=~"$job"}[$__rate_interval]))',
          legend: '{{job}}',
        },
      ],
    });
  });

  it('exports JSON and imports it under a new uid with the same panels', async () => {
    const uid = await createDoc({
      schemaVersion: 1,
      uid: 'roundtrip',
      title: 'Round trip',
      tags: ['io'],
      variables: [{ name: 'job', query: 'label_values(job)', multi: true, includeAll: true }],
      panels: [
        {
          id: 'a',
          title: 'Rate',
          kind: 'timeseries',
          queries: [{ expr: 'sum by (job) (rate(dash_requests_total{job=~"$job"}[$__rate_interval]))' }],
          grid: { x: 0, y: 0, w: 12, h: 8 },
          options: { unit: 'reqps', stacked: true },
        },
        {
          id: 'b',
          title: 'Total',
          kind: 'stat',
          queries: [{ expr: 'sum(dash_requests_total)' }],
          grid: { x: 12, y: 0, w: 6, h: 4 },
          options: { thresholds: [{ value: 100, color: 'red' }] },
        },
      ],
    });
    const page = await ui.open(`/d/${uid}`);
    await viewReady(page, 'dashboard');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export]')]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(download.suggestedFilename()).toBe('round-trip.json');
    expect(JSON.parse(exported)).toMatchObject({ uid: 'roundtrip', title: 'Round trip' });

    await page.goto(`${ui.vigil.url}/dashboards`);
    await viewReady(page, 'dashboards');
    await page.click('[data-testid=import-open]');
    await page.fill('[data-testid=import-text]', exported);
    // As it is, the uid exists: the server refuses, the text stays.
    await page.click('[data-testid=import-submit]');
    await expect(page.locator('[data-testid=dashboard-error]').textContent()).resolves.toMatch(
      /already exists/,
    );
    expect(await page.inputValue('[data-testid=import-text]')).toBe(exported);
    // As a copy it gets a new uid.
    await page.check('[data-testid=import-mode-copy]');
    await page.click('[data-testid=import-submit]');
    await page.waitForURL((u) => u.pathname.startsWith('/d/') && !u.pathname.endsWith('/roundtrip'));
    await viewReady(page, 'dashboard');
    const newUid = new URL(page.url()).pathname.split('/').pop()!;
    expect(newUid).not.toBe('roundtrip');
    const [a, b] = await Promise.all([api<any>(`dashboards/roundtrip`), api<any>(`dashboards/${newUid}`)]);
    expect(b.body.dashboard.panels).toEqual(a.body.dashboard.panels);
    expect(b.body.dashboard.variables).toEqual(a.body.dashboard.variables);
    expect(await page.locator('[data-panel-id]').count()).toBe(2);
  });

  it('shows why an import is invalid and keeps the pasted text', async () => {
    const page = await ui.open('/dashboards');
    await viewReady(page, 'dashboards');
    await page.click('[data-testid=import-open]');

    const broken = '{\n  "schemaVersion": 1,\n  "title": "Broken",\n  oops\n}';
    await page.fill('[data-testid=import-text]', broken);
    await page.click('[data-testid=import-submit]');
    await expect(page.locator('[data-testid=dashboard-error]').textContent()).resolves.toMatch(
      /not valid JSON \(line 4/,
    );
    expect(await page.inputValue('[data-testid=import-text]')).toBe(broken);

    const invalid = JSON.stringify(
      {
        schemaVersion: 1,
        title: 'Too wide',
        panels: [
          { id: 'p', title: 'Wide', kind: 'timeseries', queries: [], grid: { x: 0, y: 0, w: 30, h: 8 } },
        ],
      },
      null,
      2,
    );
    await page.fill('[data-testid=import-text]', invalid);
    await page.click('[data-testid=import-submit]');
    const problem = page.locator('[data-testid=dashboard-error]');
    await expect(problem.textContent()).resolves.toMatch(/panels\[0\]/);
    await expect(problem.locator('code').first().textContent()).resolves.toBe(
      'panel "Wide" (panels[0]): grid.w',
    );
    expect(await page.inputValue('[data-testid=import-text]')).toBe(invalid);

    // Closing the dialog by mistake loses nothing either.
    await page.keyboard.press('Escape');
    await page.click('[data-testid=import-open]');
    expect(await page.inputValue('[data-testid=import-text]')).toBe(invalid);
    const list = await api<unknown[]>('dashboards');
    expect(list.body.some((d: any) => d.title === 'Too wide')).toBe(false);
  });

  it('renders titles and label values as text, never as markup', async () => {
    const uid = await createDoc({
      schemaVersion: 1,
      title: `Evil ${EVIL}`,
      tags: [EVIL],
      variables: [
        { name: 'job', label: EVIL, query: 'label_values(dash_evil, job)', multi: true, includeAll: false },
      ],
      panels: [
        {
          id: 't',
          title: EVIL,
          description: EVIL,
          kind: 'table',
          queries: [{ expr: 'dash_evil{job=~"$job"}' }],
          grid: { x: 0, y: 0, w: 12, h: 6 },
        },
        {
          id: 'b',
          title: 'Bars',
          kind: 'bar',
          queries: [{ expr: 'dash_evil{job=~"$job"}', legend: '{{note}}' }],
          grid: { x: 12, y: 0, w: 12, h: 6 },
        },
      ],
    });
    const page = await ui.open('/dashboards');
    await viewReady(page, 'dashboards');
    await expect(page.getByRole('link', { name: `Evil ${EVIL}` }).isVisible()).resolves.toBe(true);
    await page.goto(`${ui.vigil.url}/d/${uid}`);
    await viewReady(page, 'dashboard');
    await expect(page.locator('[data-testid=dashboard-title]').textContent()).resolves.toBe(`Evil ${EVIL}`);
    // The variable's value (the evil job) was chosen by default and matched: the table shows it as text.
    await expect(page.locator('.panel-table td', { hasText: EVIL }).first().textContent()).resolves.toBe(
      EVIL,
    );
    await expect(page.locator('.bar-label').first().textContent()).resolves.toBe(EVIL);
    await page.click('[data-testid=var-job]');
    await expect(page.getByRole('option', { name: EVIL }).isVisible()).resolves.toBe(true);
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
  });

  it('keeps unsaved edits across a reload and handles someone else saving meanwhile', async () => {
    const uid = await createDoc({
      schemaVersion: 1,
      title: 'Shared',
      panels: [
        {
          id: 'a',
          title: 'Up',
          kind: 'stat',
          queries: [{ expr: 'sum(dash_evil)' }],
          grid: { x: 0, y: 0, w: 6, h: 4 },
        },
      ],
    });
    const page = await ui.open(`/d/${uid}`);
    await viewReady(page, 'dashboard');
    await page.click('[data-testid=edit]');
    await page.click('[data-testid=settings]');
    await page.fill('[data-testid=settings-title]', 'Shared, edited by me');
    await page.reload();
    await page.click('[data-testid=restore]');
    await expect(page.locator('[data-testid=dashboard-title]').textContent()).resolves.toBe(
      'Shared, edited by me',
    );

    // Someone else saves version 2 meanwhile.
    const current = await api<any>(`dashboards/${uid}`);
    const theirs = await api<any>(`dashboards/${uid}`, {
      method: 'PUT',
      body: JSON.stringify({
        dashboard: { ...current.body.dashboard, title: 'Shared, edited by them' },
        version: 1,
      }),
    });
    expect(theirs.status).toBe(200);
    await page.click('[data-testid=save]');
    const dialog = page.locator('[data-testid=conflict-dialog]');
    await expect(dialog.textContent()).resolves.toMatch(/changed by someone else/);
    await dialog.getByRole('button', { name: 'Overwrite with mine' }).click();
    await page.waitForFunction(() => !new URL(location.href).searchParams.has('edit'));
    const after = await api<any>(`dashboards/${uid}`);
    expect(after.body).toMatchObject({ version: 3, dashboard: { title: 'Shared, edited by me' } });
  });

  it('fills a 12-panel dashboard of every kind', async () => {
    const kinds: [string, string][] = [
      ['timeseries', 'sum by (job) (rate(dash_requests_total[$__rate_interval]))'],
      ['stat', 'sum(rate(dash_requests_total[$__rate_interval]))'],
      ['gauge', 'sum(rate(dash_requests_total[5m]))'],
      ['table', 'dash_requests_total'],
      ['bar', 'sum by (job) (dash_requests_total)'],
      ['heatmap', 'sum by (le) (rate(dash_latency_seconds_bucket[$__rate_interval]))'],
    ];
    const panels = Array.from({ length: 12 }, (_v, i) => {
      const [kind, expr] = kinds[i % kinds.length]!;
      return {
        id: `p${i}`,
        title: `${kind} ${i}`,
        kind,
        queries: [{ expr }],
        grid: { x: (i % 4) * 6, y: Math.floor(i / 4) * 7, w: 6, h: 7 },
      };
    });
    const uid = await createDoc({
      schemaVersion: 1,
      title: 'Twelve',
      time: { from: 'now-30m', to: 'now' },
      panels,
    });
    const page = await ui.open(`/d/${uid}`, { height: 1400 });
    await viewReady(page, 'dashboard');
    expect(await page.locator('[data-panel-id][data-ready=true]').count()).toBe(12);
    expect(await page.locator('.panel-state.error').count()).toBe(0);
    expect(await page.locator('.dash-panel .chart').count()).toBe(2);
    expect(await page.locator('.heatmap-canvas[data-buckets="4"]').count()).toBe(2);
    expect(await page.locator('.gauge').count()).toBe(2);
    expect(await page.locator('.bar-row').count()).toBe(4);
    // The dashboard's default range went into effect: 30 minutes.
    await expect(page.locator('[data-testid=time-range]').textContent()).resolves.toMatch(/30 minutes/);
  });
});
