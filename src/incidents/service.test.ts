/**
 * The incident service over a real SQLite state store and a real alert pipeline, with a manual clock and the
 * in-memory pager: incident creation from a correlated group, escalation, fallback between contact methods,
 * concurrent acknowledgement, ack-timeout re-escalation, auto-resolution and re-opening.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALERTMANAGER_CONFIG_YAML, loadAlertmanagerConfigText } from '../alerts/config/load.ts';
import { AlertPipeline } from '../alerts/pipeline.ts';
import { ManualClock } from '../rules/clock.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/interface.ts';
import { verifyLink } from './links.ts';
import { MemoryPager } from './pager.ts';
import { IncidentConflictError, IncidentService } from './service.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const MIN = 60_000;

let dir: string;
let state: StateStore;
let clock: ManualClock;
let pipeline: AlertPipeline;
let pager: MemoryPager;
let svc: IncidentService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-incidents-'));
  state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
  clock = new ManualClock(T0);
  pipeline = await AlertPipeline.start({
    config: loadAlertmanagerConfigText(DEFAULT_ALERTMANAGER_CONFIG_YAML, 'am.yml'),
    clock,
    externalURL: 'http://vigil.test',
  });
  pager = new MemoryPager();
  await state.users.put({
    id: 'ana',
    name: 'Ana',
    body: { id: 'ana', contacts: [{ email: 'ana@example.com' }, { webhook: 'http://hooks.test/ana' }] },
  });
  await state.users.put({
    id: 'bob',
    name: 'Bob',
    body: { id: 'bob', contacts: [{ email: 'bob@example.com' }, { webhook: 'http://hooks.test/bob' }] },
  });
  await state.policies.put({
    id: 'checkout',
    name: 'Checkout',
    body: {
      id: 'checkout',
      match: ['service="checkout"'],
      ackTimeoutMs: 10 * MIN,
      steps: [
        { delayMs: 2 * MIN, targets: [{ type: 'user', id: 'ana' }] },
        { delayMs: 5 * MIN, targets: [{ type: 'user', id: 'bob' }] },
      ],
    },
  });
  svc = await IncidentService.start({
    state,
    alerts: pipeline,
    clock,
    pager,
    externalURL: () => 'http://vigil.test',
    settings: { reopenGraceMs: 30 * MIN },
  });
});

afterEach(async () => {
  await svc.stop();
  await pipeline.stop();
  await state.close();
  rmSync(dir, { recursive: true, force: true });
});

async function fire(labels: Record<string, string>, resolved = false): Promise<void> {
  const now = clock.now();
  const r = await pipeline.receive(
    [
      {
        labels,
        annotations: { summary: `${labels.alertname} is bad` },
        startsAt: new Date(now - 1000).toISOString(),
        // Firing alerts carry an end well ahead, as Prometheus sends them, so resolve_timeout never ends them.
        endsAt: new Date(resolved ? now : now + 3_600_000).toISOString(),
      },
    ],
    'test',
  );
  expect(r.rejected).toEqual([]);
  await svc.idle();
}

async function advance(ms: number): Promise<void> {
  await clock.advanceTo(clock.now() + ms);
  await svc.idle();
}

const CHECKOUT = { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical' };

describe('IncidentService', () => {
  it('walks a full escalation and keeps an exact timeline', async () => {
    await fire(CHECKOUT);
    const [inc] = await state.incidents.list();
    expect(inc).toMatchObject({
      title: 'HighErrorRate is bad',
      severity: 'critical',
      status: 'triggered',
      policyId: 'checkout',
      services: ['checkout'],
      escalation: { step: 0, loop: 0, nextAt: T0 + 2 * MIN },
    });
    expect(pager.sent.map((p) => p.to)).toEqual(['email:ana@example.com']);
    const ann = pager.sent[0]!.msg.commonAnnotations;
    expect(ann.incident_id).toBe(inc!.id);
    const ack = new URL(ann.ack_url!);
    expect(ack.pathname).toBe(`/api/vigil/v1/incidents/${inc!.id}/ack`);
    expect(
      verifyLink(
        await svc.linkSecret(),
        inc!.id,
        'ack',
        ack.searchParams.get('exp'),
        ack.searchParams.get('sig'),
        T0,
      ),
    ).toEqual({ ok: true });

    // No acknowledgement within 2 minutes: step 1 pages Bob, whose e-mail fails and whose webhook works.
    pager.failing.add('bob@example.com');
    await advance(2 * MIN);
    expect(pager.sent.map((p) => [p.to, p.ok])).toEqual([
      ['email:ana@example.com', true],
      ['email:bob@example.com', false],
      ['webhook:http://hooks.test/bob', true],
    ]);
    const pages = await state.incidents.pages({ incidentId: inc!.id });
    expect(pages.map((p) => [p.step, p.userId, p.channel, p.outcome, p.error])).toEqual([
      [0, 'ana', 'email', 'delivered', null],
      [1, 'bob', 'email', 'failed', 'email: refused by test'],
      [1, 'bob', 'webhook', 'delivered', null],
    ]);

    // Ana and Bob acknowledge at once: exactly one wins; the other is told who did.
    await advance(MIN);
    const results = await Promise.allSettled([
      svc.acknowledge(inc!.id, 'ana', 'api'),
      svc.acknowledge(inc!.id, 'bob', 'link'),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(IncidentConflictError);
    expect((lost[0]!.reason as Error).message).toMatch(/already acknowledged by (ana|bob)/);
    const acked = await state.incidents.get(inc!.id);
    expect(acked).toMatchObject({ status: 'acknowledged', ackedAt: T0 + 3 * MIN });
    expect(acked!.escalation.nextAt).toBe(T0 + 13 * MIN);

    // Acknowledged but unresolved for 10 minutes: re-escalation from step 0.
    await advance(10 * MIN);
    expect((await state.incidents.get(inc!.id))!.status).toBe('triggered');
    expect(pager.sent.at(-1)!.to).toBe('email:ana@example.com');
    await svc.acknowledge(inc!.id, 'ana', 'api');

    // The alert resolves: the incident resolves by itself.
    await advance(MIN);
    await fire(CHECKOUT, true);
    const done = await state.incidents.get(inc!.id);
    expect(done).toMatchObject({ status: 'resolved', resolvedBy: 'vigil', ackedAt: T0 + 3 * MIN });
    expect(done!.resolvedAt! - done!.createdAt).toBe(14 * MIN);
    expect(done!.ackedAt! - done!.createdAt).toBe(3 * MIN);

    const kinds = (await state.incidents.events(inc!.id)).map((e) => e.kind);
    expect(kinds).toEqual([
      'created',
      'alert_firing',
      'page',
      'escalated',
      'page',
      'acknowledged',
      're_escalated',
      'page',
      'acknowledged',
      'alert_resolved',
      'resolved',
    ]);

    // Firing again within the grace period re-opens the same incident and pages from step 0.
    await advance(5 * MIN);
    await fire(CHECKOUT);
    expect(await state.incidents.list()).toHaveLength(1);
    expect((await state.incidents.get(inc!.id))!.status).toBe('triggered');
    expect((await state.incidents.events(inc!.id)).map((e) => e.kind).slice(-3)).toEqual([
      'reopened',
      'alert_firing',
      'page',
    ]);
  });

  it('creates the link secret only when the first link is made', async () => {
    expect(await svc.issuedLinkSecret()).toBeUndefined();
    expect(await state.kv.list('incidents')).toEqual([]);
    await fire(CHECKOUT);
    const secret = await svc.issuedLinkSecret();
    expect(secret?.length).toBe(32);
    expect(await svc.linkSecret()).toEqual(secret);
  });

  it('opens no incident for a group no policy takes', async () => {
    await fire({ alertname: 'DiskFull', service: 'batch', severity: 'warning' });
    expect(await state.incidents.list()).toEqual([]);
    expect(pager.sent).toEqual([]);
  });

  it('opens no incident for a silenced alert', async () => {
    await pipeline.silences.set(
      {
        matchers: [{ name: 'alertname', value: 'HighErrorRate', isRegex: false, isEqual: true }],
        startsAt: T0,
        endsAt: T0 + 3_600_000,
        createdBy: 'ops',
        comment: 'maintenance',
      },
      clock.now(),
    );
    await fire(CHECKOUT);
    expect(await state.incidents.list()).toEqual([]);
    expect(pager.sent).toEqual([]);
  });

  it('records a page to a schedule with nobody on call as failed, naming the schedule', async () => {
    await state.schedules.put({
      id: 'night',
      name: 'Night',
      body: {
        id: 'night',
        spec: {
          name: 'Night',
          timeZone: 'UTC',
          layers: [{ name: 'l', users: ['ana'], rotation: 'daily', start: '2027-01-01T00:00' }],
        },
      },
    });
    await state.policies.put({
      id: 'checkout',
      name: 'Checkout',
      body: { id: 'checkout', steps: [{ delayMs: MIN, targets: [{ type: 'schedule', id: 'night' }] }] },
    });
    await fire(CHECKOUT);
    const [inc] = await state.incidents.list();
    const failed = (await state.incidents.events(inc!.id)).find((e) => e.kind === 'page_failed');
    expect(failed?.detail.reason).toBe('schedule night: nobody is on call now (a gap in the schedule)');
    expect(pager.sent).toEqual([]);
  });

  it('records a page that failed on every contact method', async () => {
    pager.failing.add('ana@example.com');
    pager.failing.add('http://hooks.test/ana');
    await fire(CHECKOUT);
    const [inc] = await state.incidents.list();
    const events = await state.incidents.events(inc!.id);
    const failed = events.find((e) => e.kind === 'page_failed');
    expect(failed?.detail).toMatchObject({ user: 'ana', step: 0 });
    expect(String(failed?.detail.reason)).toMatch(/every contact method failed: email: .*; webhook: /);
  });

  it('stops after the last step of the last pass, and refuses to resolve twice', async () => {
    await fire(CHECKOUT);
    const [inc] = await state.incidents.list();
    await advance(2 * MIN);
    await advance(5 * MIN);
    const after = await state.incidents.get(inc!.id);
    expect(after!.escalation.nextAt).toBeNull();
    expect((await state.incidents.events(inc!.id)).at(-1)!.kind).toBe('escalation_exhausted');
    await svc.resolve(inc!.id, 'ana');
    await expect(svc.resolve(inc!.id, 'bob')).rejects.toThrow(/already resolved by ana/);
    await expect(svc.acknowledge(inc!.id, 'bob', 'api')).rejects.toBeInstanceOf(IncidentConflictError);
  });

  it('carries on escalating after a restart, from the state stored in the incident', async () => {
    await fire(CHECKOUT);
    const [inc] = await state.incidents.list();
    await svc.stop();
    // Down through the step delay: the new service finds the step overdue and runs it at once.
    clock.set(T0 + 3 * MIN);
    svc = await IncidentService.start({
      state,
      alerts: pipeline,
      clock,
      pager,
      externalURL: () => 'http://vigil.test',
    });
    await clock.advanceTo(T0 + 3 * MIN);
    await svc.idle();
    expect(pager.sent.map((p) => p.to)).toEqual(['email:ana@example.com', 'email:bob@example.com']);
    expect((await state.incidents.get(inc!.id))!.escalation).toEqual({
      step: 1,
      loop: 0,
      nextAt: T0 + 8 * MIN,
    });
  });

  it('opens incidents by hand, with notes and an assignee', async () => {
    const inc = await svc.create({ title: 'Manual', severity: 'warning', policyId: 'checkout' }, 'ana');
    await svc.idle();
    expect(pager.sent.map((p) => p.to)).toEqual(['email:ana@example.com']);
    await svc.addNote(inc.id, 'ana', 'looking into it');
    await svc.assign(inc.id, 'bob', 'ana');
    await expect(svc.assign(inc.id, 'zed', 'ana')).rejects.toThrow(/unknown user "zed"/);
    await expect(svc.create({ title: 'x', policyId: 'nope' }, 'ana')).rejects.toThrow(
      /unknown escalation policy/,
    );
    const events = await state.incidents.events(inc.id);
    expect(events.map((e) => e.kind)).toEqual(['created', 'page', 'note', 'assigned']);
    expect((await state.incidents.get(inc.id))!.assignee).toBe('bob');
  });
});
