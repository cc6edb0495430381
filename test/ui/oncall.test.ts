/**
 * The on-call views end to end: a real Vigil (serving ui/dist, so run `npm run build:ui` first) seeded through
 * its on-call API with users, a team and two schedules (one with a gap in the next days, one with nobody on
 * call now), driven in Debian's Chromium. Who is on call now, the 14-day timeline with the gap marked, "who is
 * on call at T", an override added from the page, users, teams and an escalation policy created in the UI with
 * the API's validation errors shown next to the field they name. Screenshots go to docs/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useUiTestBed } from './testbed.ts';

const SHOTS = join(import.meta.dirname, '../../docs/screenshots');
const EVIL = '<img src=x onerror="window.__xss=1">';
const H = 3_600_000;
const DAY = 24 * H;

/** `YYYY-MM-DDTHH:MM` in UTC: the schedules below use the UTC zone, so this is their wall clock. */
const wall = (ms: number) => new Date(ms).toISOString().slice(0, 16);
// Whole hours, so the shifts and the gap have round edges.
const T0 = Math.floor(Date.now() / H) * H;
const GAP_START = T0 + 3 * DAY;
const GAP_END = T0 + 4 * DAY;

async function api(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}/api/vigil/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const bed = useUiTestBed(async (v) => {
  const post = (path: string, body: unknown) => api(v.url, 'POST', path, body);
  await post('/users', { id: 'ana', name: 'Ana Ops', contacts: [{ email: 'ana@example.com' }] });
  await post('/users', {
    id: 'bo',
    name: 'Bo Backup',
    contacts: [{ slack: 'https://hooks.example.com/bo' }, { email: 'bo@example.com' }],
  });
  await post('/users', { id: 'cy', name: EVIL, contacts: [{ webhook: 'https://pager.example.com/cy' }] });
  await post('/teams', { id: 'platform', name: 'Platform', members: ['ana', 'bo'] });
  // Ana until the gap, nobody for a day, then Bo; a business-hours layer of Cy on top overlaps both.
  await post('/schedules', {
    id: 'primary',
    name: 'Platform primary',
    timeZone: 'UTC',
    layers: [
      { name: 'first', users: ['ana'], rotation: 'weekly', start: wall(T0 - 7 * DAY), end: wall(GAP_START) },
      { name: 'second', users: ['bo'], rotation: 'weekly', start: wall(GAP_END) },
      {
        name: 'weekend-days',
        users: ['cy'],
        rotation: 'weekly',
        start: wall(GAP_END + 5 * DAY),
        end: wall(GAP_END + 6 * DAY),
      },
    ],
  });
  await post('/schedules', {
    id: 'nights',
    name: 'Nights (not staffed yet)',
    timeZone: 'UTC',
    layers: [{ name: 'later', users: ['bo'], rotation: 'daily', start: wall(T0 + 30 * DAY) }],
  });
});

async function open(path: string, view: string, theme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await bed.open(path, { theme });
  await ready(page, view);
  return page;
}

async function ready(page: Page, view: string) {
  await page.waitForSelector(`[data-view="${view}"][data-ready=true]`, { timeout: 30_000 });
}

async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('schedules', () => {
  it('lists schedules with who is on call now, a gap for the one nobody covers', async () => {
    const page = await open('/oncall', 'oncall');
    const primary = page.locator('[data-testid=schedule-row][data-id=primary]');
    expect(await primary.locator('[data-testid=oncall-now]').textContent()).toContain('ana');
    const nights = page.locator('[data-testid=schedule-row][data-id=nights]');
    await nights.locator('[data-testid=nobody]').waitFor();
    await shot(page, 'oncall-light');
    await page.close();
  });

  it('shows the next 14 days with the gap and overlap marked, who is on call at T, and adds an override', async () => {
    const page = await open('/schedules/primary', 'schedule');
    expect(await page.textContent('[data-testid=schedule-oncall-now]')).toContain('ana');
    const final = page.locator('[data-testid=tl-row][data-row=final]');
    expect(await final.locator('[data-testid=tl-shift][data-user=ana]').count()).toBe(1);
    expect(await final.locator('[data-testid=tl-shift][data-user=bo]').count()).toBeGreaterThan(0);
    expect(await final.locator('[data-testid=tl-gap]').count()).toBe(1);
    const gap = await page.textContent('[data-testid=coverage-gap]');
    expect(gap).toContain('nobody on call');
    expect(gap).toContain('(24 h)');
    expect(await page.locator('[data-testid=coverage-overlap]').count()).toBe(1);
    expect(await page.getAttribute('[data-testid=ical-link]', 'href')).toBe(
      '/api/vigil/v1/schedules/primary.ics',
    );
    await shot(page, 'oncall-schedule-light');

    // Who is on call at a time inside the gap, then in Bo's week (the picker takes the browser's time zone).
    const local = (ms: number) =>
      page.evaluate((t) => {
        const d = new Date(t);
        const p = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
      }, ms);
    await page.fill('[data-testid=oncall-at]', await local(GAP_START + 2 * H));
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=oncall-at-result]')?.textContent?.includes('nobody'),
    );
    await page.fill('[data-testid=oncall-at]', await local(GAP_END + 2 * H));
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=oncall-at-result]')?.textContent?.includes('bo'),
    );

    // An override is checked in the browser first (end before start), then saved; it closes part of the gap.
    await page.selectOption('[data-testid=override-user]', 'cy');
    await page.fill('[data-testid=override-start]', wall(GAP_START + 6 * H));
    await page.fill('[data-testid=override-end]', wall(GAP_START));
    await page.click('[data-testid=override-save]');
    expect(await page.textContent('.override-form [data-testid=field-problem]')).toContain('after the start');
    await page.fill('[data-testid=override-end]', wall(GAP_START + 6 * H));
    await page.fill('[data-testid=override-start]', wall(GAP_START));
    await page.click('[data-testid=override-save]');
    await page.waitForSelector(
      '[data-testid=tl-row][data-row=overrides] [data-testid=tl-shift][data-user=cy]',
    );
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=coverage-gap]')?.textContent?.includes('(18 h)'),
    );
    expect(await page.locator('[data-testid=override-row]').count()).toBe(1);
    // Text is data: the markup in Cy's name never runs.
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await shot(page, 'oncall-schedule-override-light');
    await page.close();

    const dark = await open('/schedules/primary', 'schedule', 'dark');
    await shot(dark, 'oncall-schedule-dark');
    await dark.close();
  });
});

describe('users and teams', () => {
  it('creates a user, with the API naming a bad contact next to it', async () => {
    const page = await open('/oncall?tab=users', 'oncall');
    expect(await page.locator('[data-testid=user-row]').count()).toBe(3);
    await page.click('[data-testid=new-user]');
    const form = page.locator('[data-testid=user-form]');
    await form.locator('[data-testid=user-id]').fill('dee');
    await form.locator('[data-testid=user-name]').fill('Dee Night');
    await form.locator('[data-testid=contact-address]').fill('not-an-address');
    await form.locator('[data-testid=user-save]').click();
    await form.locator('[data-testid=field-problem]').waitFor();
    expect(await form.locator('[data-testid=field-problem]').textContent()).toContain(
      'must be an e-mail address',
    );
    await form.locator('[data-testid=contact-address]').fill('dee@example.com');
    await form.locator('[data-testid=user-save]').click();
    await form.waitFor({ state: 'detached' });
    await page.waitForSelector('[data-testid=user-row][data-id=dee]');
    expect(await page.textContent('[data-testid=user-row][data-id=dee]')).toContain('dee@example.com');
    await shot(page, 'oncall-users-light');
    await page.close();
  });

  it('creates a team and refuses an unknown member by name', async () => {
    const page = await open('/oncall?tab=teams', 'oncall');
    await page.click('[data-testid=new-team]');
    const form = page.locator('[data-testid=team-form]');
    await form.locator('[data-testid=team-id]').fill('nights');
    await form.locator('[data-testid=team-name]').fill('Night owls');
    await form.locator('[data-testid=team-members]').fill('bo, zed');
    await form.locator('[data-testid=team-save]').click();
    await form.locator('[data-testid=field-problem]').waitFor();
    expect(await form.locator('[data-testid=field-problem]').textContent()).toContain('unknown user "zed"');
    await form.locator('[data-testid=team-members]').fill('bo, cy');
    await form.locator('[data-testid=team-save]').click();
    await form.waitFor({ state: 'detached' });
    await page.waitForSelector('[data-testid=team-row][data-id=nights]');
    expect(await page.textContent('[data-testid=team-row][data-id=nights]')).toContain('bo, cy');
    await page.close();
  });
});

describe('escalation policies', () => {
  it('creates a policy in the editor, shows what the API refuses next to the field, then its steps', async () => {
    const page = await open('/oncall?tab=policies', 'oncall');
    await page.click('[data-testid=new-policy]');
    await ready(page, 'policy');
    await page.fill('[data-testid=policy-id]', 'checkout');
    await page.fill('[data-testid=policy-name]', 'Checkout, critical');
    const step1 = page.locator('[data-testid=step-edit]').first();
    await step1.locator('[data-testid=target-id]').fill('primary');
    await step1.locator('[data-testid=step-delay]').fill('5');
    await page.click('[data-testid=add-step]');
    const step2 = page.locator('[data-testid=step-edit]').nth(1);
    await step2.locator('[data-testid=target-id]').fill('zed');
    await step2.locator('[data-testid=step-delay]').fill('0');
    await page.fill('[data-testid=policy-match]', 'service="checkout"\nenv=~"prod');
    await page.fill('[data-testid=policy-repeat]', '1');
    await page.click('[data-testid=policy-save]');
    // Each problem sits next to its field: the unknown user, the zero delay, the broken matcher.
    await step2.locator('[data-testid=field-problem]').first().waitFor();
    const step2Problems = await step2.locator('[data-testid=field-problem]').allTextContents();
    expect(step2Problems.join(' | ')).toContain('unknown user "zed"');
    expect(step2Problems.join(' | ')).toContain('above 0');
    expect(await page.locator('.policy-form [data-testid=field-problem]').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('invalid matcher')]),
    );
    await shot(page, 'escalation-policy-edit-light');

    await step2.locator('[data-testid=target-id]').fill('bo');
    await step2.locator('[data-testid=step-delay]').fill('10');
    await page.fill('[data-testid=policy-match]', 'service="checkout"');
    await page.click('[data-testid=policy-save]');
    await page.waitForSelector('[data-testid=policy-steps]');
    expect(new URL(page.url()).pathname).toBe('/escalation-policies/checkout');
    const steps = page.locator('[data-testid=policy-step]');
    expect(await steps.count()).toBe(2);
    expect(await steps.nth(0).textContent()).toContain('schedule primary');
    expect(await steps.nth(0).textContent()).toContain('5 min');
    expect(await steps.nth(1).textContent()).toContain('at 5 min if nobody acknowledged');
    expect(await steps.nth(1).textContent()).toContain('user bo');
    expect(await page.textContent('[data-testid=policy-match]')).toContain('service="checkout"');
    await shot(page, 'escalation-policy-light');

    const list = await open('/oncall?tab=policies', 'oncall', 'dark');
    expect(await list.textContent('[data-testid=policy-row][data-id=checkout]')).toContain('1×');
    await shot(list, 'escalation-policies-dark');
    await list.close();
    await page.close();
  });
});
