/**
 * The alerting views end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) with
 * alerting rules, an Alertmanager configuration routing to a webhook, and alerts posted to
 * `/api/v2/alerts`, driven in Debian's Chromium. Alerts grouped and filtered, a silence created from an
 * alert and expired, API validation errors in the form, rules with their health and errors, the
 * notification history.
 */
import { createServer, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestVigil, tempDir, waitFor, type TestVigil } from '../helpers.ts';
import { openBrowser, type TestBrowser } from './browser.ts';

const EVIL_IMG = '<img src=x onerror="window.__xss=1">';
const EVIL_SCRIPT = '<script>window.__xss=2</script>';

const dir = tempDir('ui-alerts');
let vigil: TestVigil;
let browser: TestBrowser;
let hook: Server;
const received: unknown[] = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as AddressInfo).port;
  writeFileSync(
    join(dir, 'rules.yml'),
    [
      'groups:',
      '  - name: synthetic',
      '    interval: 1s',
      '    rules:',
      '      - alert: AlwaysFiring',
      '        expr: vector(1) > 0',
      '        labels: {severity: info, team: platform}',
      '        annotations: {summary: "Fires for the tests"}',
      '      - record: broken:rule',
      '        expr: \'"not a vector"\'',
    ].join('\n') + '\n',
  );
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: default',
      "  group_by: ['alertname']",
      '  group_wait: 0s',
      '  group_interval: 1s',
      '  routes:',
      '    - receiver: db-team',
      '      matchers: [team="db"]',
      'receivers:',
      '  - name: default',
      '  - name: db-team',
      '    webhook_configs:',
      `      - url: http://127.0.0.1:${hookPort}/hook`,
      'inhibit_rules:',
      '  - source_matchers: [severity="critical"]',
      '    target_matchers: [severity="warning"]',
      '    equal: [alertname]',
    ].join('\n') + '\n',
  );
  [vigil, browser] = await Promise.all([
    startTestVigil(
      [
        'global: {evaluation_interval: 1s}',
        `rule_files: [${join(dir, 'rules.yml')}]`,
        `alerting: {config_file: ${join(dir, 'alertmanager.yml')}}`,
        '',
      ].join('\n'),
    ),
    openBrowser(),
  ]);
  const res = await fetch(`${vigil.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      {
        labels: { alertname: 'DiskFull', severity: 'critical', team: 'db', instance: 'db-1' },
        annotations: {
          summary: 'Disk of db-1 is 97% full',
          description: 'Free space below 3% on /var/lib/postgresql',
          runbook_url: 'https://runbooks.example.com/disk-full',
          vigil_sources: '["prometheus-a", "prometheus-b"]',
        },
      },
      {
        labels: { alertname: 'DiskFull', severity: 'warning', team: 'db', instance: 'db-2' },
        annotations: { summary: 'Disk of db-2 is 85% full' },
      },
      {
        labels: { alertname: 'HighLatency', severity: 'warning', service: 'api' },
        annotations: {
          summary: EVIL_IMG,
          description: EVIL_SCRIPT,
          runbook_url: 'javascript:window.__xss=3',
        },
      },
    ]),
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await browser?.close();
  await vigil?.stop();
  await new Promise((r) => hook?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function open(path: string, view: string, theme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await browser.newPage({ theme });
  await page.goto(`${vigil.url}${path}`);
  await ready(page, view);
  return page;
}

async function ready(page: Page, view: string) {
  await page.waitForSelector(`[data-view="${view}"][data-ready=true]`, { timeout: 30_000 });
}

const param = (page: Page, k: string) => new URL(page.url()).searchParams.get(k);
const alertnames = (page: Page) =>
  page.$$eval('[data-testid=alert]', (els) => els.map((e) => e.getAttribute('data-alertname')));

describe('alerts', () => {
  it('lists alerts grouped by receiver and group labels, most severe first, with annotations', async () => {
    const page = await open('/alerts', 'alerts');
    // The rule's alert reaches the pipeline once the group has been evaluated.
    await page.waitForSelector('[data-alertname=AlwaysFiring]', { timeout: 50_000 });
    const groups = await page.$$eval('[data-testid=alert-group]', (els) =>
      els.map((e) => [e.getAttribute('data-receiver'), e.querySelectorAll('[data-testid=alert]').length]),
    );
    expect(groups).toEqual([
      ['db-team', 2],
      ['default', 1],
      ['default', 1],
    ]);
    const first = page.locator('[data-testid=alert-group]').first();
    expect(await first.locator('[data-testid=alert]').first().getAttribute('data-state')).toBe('active');
    expect(await first.locator('[data-severity]').allTextContents()).toEqual(['critical', 'warning']);
    // The warning DiskFull is inhibited by the critical one.
    const inhibited = first.locator('[data-testid=alert]').nth(1);
    expect(await inhibited.getAttribute('data-state')).toBe('suppressed');
    expect(await inhibited.textContent()).toContain('inhibited by');
    const critical = first.locator('[data-testid=alert]').first();
    expect(await critical.textContent()).toContain('Disk of db-1 is 97% full');
    expect(await critical.locator('[data-testid=runbook]').getAttribute('href')).toBe(
      'https://runbooks.example.com/disk-full',
    );
    expect(await critical.locator('[data-testid=alert-sources] li').allTextContents()).toEqual([
      'prometheus-a',
      'prometheus-b',
    ]);
    // Text is data: markup in annotations is shown as text, and a javascript: runbook is not a link.
    const evil = page.locator('[data-alertname=HighLatency]');
    expect(await evil.textContent()).toContain(EVIL_IMG);
    expect(await evil.locator('a[data-testid=runbook]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.close();
  });

  it('filters by matchers, state and receiver, kept in the URL', async () => {
    const page = await open('/alerts', 'alerts');
    await page.fill('[data-testid=alert-filter]', 'alertname=~"Disk.*" severity="critical"');
    await page.press('[data-testid=alert-filter]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=alert]').length === 1);
    expect(param(page, 'filter')).toBe('alertname=~"Disk.*" severity="critical"');
    expect(await alertnames(page)).toEqual(['DiskFull']);

    // A reload shows the same.
    await page.reload();
    await ready(page, 'alerts');
    expect(await page.inputValue('[data-testid=alert-filter]')).toBe(
      'alertname=~"Disk.*" severity="critical"',
    );
    expect(await alertnames(page)).toEqual(['DiskFull']);

    // A mistake is named before anything is sent.
    await page.fill('[data-testid=alert-filter]', 'alertname="Disk');
    expect(await page.textContent('[data-testid=filter-problem]')).toContain('no closing quote');
    await page.fill('[data-testid=alert-filter]', '');
    await page.press('[data-testid=alert-filter]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=alert]').length === 4);

    await page.selectOption('[data-testid=alert-state]', 'suppressed');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=alert]').length === 1);
    expect(param(page, 'state')).toBe('suppressed');
    await page.selectOption('[data-testid=alert-state]', '');
    await page.selectOption('[data-testid=alert-receiver]', 'db-team');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=alert]').length === 2);
    expect(param(page, 'receiver')).toBe('db-team');
    expect(await alertnames(page)).toEqual(['DiskFull', 'DiskFull']);
    await page.close();
  });
});

describe('silences', () => {
  it('silences an alert from its row, shows it as silenced, and expires the silence', async () => {
    const page = await open('/alerts?filter=alertname%3D%22HighLatency%22', 'alerts');
    await page.click('[data-alertname=HighLatency] [data-testid=silence-alert]');
    const form = page.locator('[data-testid=silence-form]');
    await form.waitFor();
    // Prefilled with the alert's labels, one = matcher each, and previewing the alert.
    const rows = await form.locator('[data-testid=matcher-row]').evaluateAll((els) =>
      els.map((e) =>
        Array.from(e.querySelectorAll('input,select'))
          .map((i) => (i as HTMLInputElement).value)
          .join(''),
      ),
    );
    expect(rows).toEqual(['alertname=HighLatency', 'service=api', 'severity=warning']);
    await form.locator('[data-testid=silence-preview] li').first().waitFor();
    expect(await form.locator('[data-testid=silence-preview] li').count()).toBe(1);

    // A problem only the server sees comes back as its message.
    await form.getByRole('button', { name: 'Start and end' }).click();
    await form.locator('[data-testid=silence-start]').fill('2020-01-01T00:00');
    await form.locator('[data-testid=silence-end]').fill('2020-01-02T00:00');
    await form.locator('[data-testid=silence-creator]').fill('oncall');
    await form.locator('[data-testid=silence-comment]').fill('deploying a fix');
    await form.locator('[data-testid=silence-save]').click();
    await form.locator('[data-testid=error]').waitFor();
    expect(await form.locator('[data-testid=error]').textContent()).toContain(
      "end time can't be in the past",
    );

    await form.getByRole('button', { name: 'Duration' }).click();
    await form.locator('[data-testid=silence-duration]').fill('1h');
    await form.locator('[data-testid=silence-save]').click();
    await form.waitFor({ state: 'detached' });
    await page.waitForSelector('[data-alertname=HighLatency][data-state=suppressed]');
    expect(await page.textContent('[data-alertname=HighLatency]')).toContain('silenced by');

    // The silence is listed as active with its matchers, creator and comment.
    await page.click('[data-alertname=HighLatency] .suppressor a');
    await ready(page, 'silences');
    const row = page.locator('[data-testid=silence][data-state=active]');
    await row.waitFor();
    const text = await row.textContent();
    expect(text).toContain('alertname="HighLatency"');
    expect(text).toContain('oncall');
    expect(text).toContain('deploying a fix');

    // Edit: the same silence gets a new comment.
    await row.locator('[data-testid=edit-silence]').click();
    await form.locator('[data-testid=silence-comment]').fill('fix deployed, watching');
    await form.locator('[data-testid=silence-save]').click();
    await form.waitFor({ state: 'detached' });
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=silence][data-state=active]')?.textContent?.includes('watching'),
    );

    // Expire it: it moves to the expired tab and the alert is active again.
    await page.locator('[data-testid=silence][data-state=active] [data-testid=expire-silence]').click();
    await page.locator('[data-testid=confirm-dialog]').getByRole('button', { name: 'Expire' }).click();
    await page.locator('[data-testid=confirm-dialog]').waitFor({ state: 'detached' });
    await page.click('[data-testid=silences-expired]');
    await page.waitForSelector('[data-testid=silence][data-state=expired]');
    const silences = (await (await fetch(`${vigil.url}/api/v2/silences`)).json()) as {
      status: { state: string };
    }[];
    expect(silences.filter((s) => s.status.state === 'active')).toHaveLength(0);
    await page.goto(`${vigil.url}/alerts?filter=alertname%3D%22HighLatency%22`);
    await ready(page, 'alerts');
    await page.waitForSelector('[data-alertname=HighLatency][data-state=active]');
    await page.close();
  });
});

describe('rules', () => {
  it('shows groups and rules with health, errors, state and active alerts; filters in the URL', async () => {
    const page = await open('/rules', 'rules');
    await page.waitForSelector('[data-rule="broken:rule"][data-health=err]', { timeout: 30_000 });
    expect(await page.textContent('[data-rule="broken:rule"] [data-testid=rule-error]')).toBe(
      'rule result is not a vector or scalar',
    );
    await page.waitForSelector('[data-rule=AlwaysFiring] .rstate.firing');
    expect(await page.locator('[data-testid=rule-alert]').count()).toBe(1);
    await page.selectOption('[data-testid=rule-health]', 'err');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=rule]').length === 1);
    expect(param(page, 'health')).toBe('err');
    await page.selectOption('[data-testid=rule-health]', '');
    await page.fill('[data-testid=rule-search]', 'always');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=rule]').length === 1);
    expect(await page.getAttribute('[data-testid=rule]', 'data-rule')).toBe('AlwaysFiring');
    await page.close();
  });
});

describe('history', () => {
  it('lists the notifications sent, newest first, with receiver, status and outcome', async () => {
    const post = (endsAt?: string) =>
      fetch(`${vigil.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname: 'BackupFailed', team: 'db', severity: 'critical' },
            ...(endsAt ? { endsAt } : {}),
          },
        ]),
      });
    const sent = (status: string) =>
      received.some(
        (b) =>
          (b as { status: string; groupLabels: { alertname?: string } }).status === status &&
          (b as { groupLabels: { alertname?: string } }).groupLabels.alertname === 'BackupFailed',
      );
    expect((await post()).status).toBe(200);
    await waitFor('the firing notification', async () => (sent('firing') ? true : undefined));
    expect((await post(new Date().toISOString())).status).toBe(200);
    await waitFor('the resolved notification', async () => (sent('resolved') ? true : undefined));

    const page = await open('/alerts/history', 'alert-history', 'dark');
    await page.waitForSelector('[data-testid=notification]');
    const first = page.locator('[data-testid=notification]').first();
    expect(await first.getAttribute('data-status')).toBe('resolved');
    const text = await first.textContent();
    expect(text).toContain('db-team');
    expect(text).toContain('webhook[0]');
    expect(text).toContain('delivered');
    expect(text).toContain('alertname=BackupFailed');
    await page.selectOption('[data-testid=history-outcome]', 'firing');
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('[data-testid=notification]')).every(
        (e) => e.getAttribute('data-status') === 'firing',
      ),
    );
    expect(param(page, 'outcome')).toBe('firing');
    await page.close();
  });
});
