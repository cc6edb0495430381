/**
 * The incidents and on-call APIs over a real SQLite store and the incident service (in-memory pager): bad
 * input is a 4xx naming what is wrong, and nothing already stored changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPager } from '../incidents/pager.ts';
import { IncidentService } from '../incidents/service.ts';
import { systemClock } from '../rules/clock.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/interface.ts';
import { incidentsApi } from './incidents.ts';
import { oncallApi } from './oncall.ts';

const V = '/api/vigil/v1';
let dir: string;
let state: StateStore;
let svc: IncidentService;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-incidents-api-'));
  state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
  svc = await IncidentService.start({
    state,
    clock: systemClock,
    pager: new MemoryPager(),
    externalURL: () => 'http://vigil.test',
    receivers: () => ['ops'],
  });
  app = Fastify();
  await app.register(incidentsApi({ state, incidents: svc, externalURL: () => 'http://vigil.test' }));
  await app.register(oncallApi({ state, incidents: svc }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await svc?.stop();
  await state?.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = (method: 'POST' | 'PUT' | 'GET' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('on-call API', () => {
  it('creates users, teams, schedules and policies, and answers who is on call', async () => {
    expect(
      (
        await json('POST', `${V}/users`, {
          id: 'ana',
          name: 'Ana',
          contacts: [{ type: 'email', address: 'ana@x.io' }],
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await json('POST', `${V}/users`, {
          id: 'bob',
          contacts: [{ type: 'webhook', address: 'http://h/bob' }],
        })
      ).statusCode,
    ).toBe(201);
    const users = (await json('GET', `${V}/users`)).json();
    expect(users.users.map((u: { id: string; contacts: unknown[] }) => [u.id, u.contacts])).toEqual([
      ['ana', [{ type: 'email', address: 'ana@x.io' }]],
      ['bob', [{ type: 'webhook', url: 'http://h/bob' }]],
    ]);
    expect((await json('POST', `${V}/teams`, { id: 'pay', members: ['ana', 'bob'] })).statusCode).toBe(201);
    const sched = {
      id: 'primary',
      name: 'Primary',
      timeZone: 'UTC',
      layers: [{ name: 'l', users: ['ana', 'bob'], rotation: 'daily', start: '2026-01-01T00:00' }],
    };
    expect((await json('PUT', `${V}/schedules/primary`, sched)).statusCode).toBe(200);
    const at = Date.UTC(2026, 0, 2, 12);
    expect((await json('GET', `${V}/schedules/primary/oncall?at=${at}`)).json()).toMatchObject({
      users: ['bob'],
    });
    const shifts = (
      await json(
        'GET',
        `${V}/schedules/primary/shifts?from=${Date.UTC(2026, 0, 1)}&to=${Date.UTC(2026, 0, 3)}`,
      )
    ).json();
    expect(shifts.shifts.map((s: { user: string }) => s.user)).toEqual(['ana', 'bob']);
    const pol = await json('POST', `${V}/escalation-policies`, {
      id: 'default',
      name: 'Default',
      match: [],
      severities: [],
      priority: 1,
      repeat: 1,
      ackTimeoutMs: 0,
      steps: [
        {
          delayMinutes: 5,
          targets: [
            { type: 'schedule', id: 'primary' },
            { type: 'receiver', id: 'ops' },
          ],
        },
      ],
    });
    expect(pol.statusCode).toBe(201);
    expect((await json('GET', `${V}/escalation-policies/default`)).json()).toMatchObject({
      steps: [{ delayMs: 300_000 }],
      repeat: 1,
    });
  });

  it.each([
    [
      'POST',
      `${V}/users`,
      { id: 'x', contacts: [{ type: 'pager', address: '1' }] },
      400,
      /contacts\[0\]: unknown contact method "pager"/,
    ],
    ['POST', `${V}/users`, { id: 'ana', contacts: [{ email: 'a@b.c' }] }, 409, /already exists/],
    [
      'PUT',
      `${V}/users/ana`,
      { id: 'bob', contacts: [{ email: 'a@b.c' }] },
      400,
      /differs from "ana" in the URL/,
    ],
    ['POST', `${V}/teams`, { id: 't2', members: ['zed'] }, 400, /unknown user "zed"/],
    [
      'PUT',
      `${V}/schedules/s2`,
      {
        timeZone: 'UTC',
        layers: [{ name: 'l', users: ['zed'], rotation: 'daily', start: '2026-01-01T00:00' }],
      },
      400,
      /layers\[0\]\.users\[0\]: unknown user "zed"/,
    ],
    [
      'POST',
      `${V}/escalation-policies`,
      { id: 'p2', steps: [{ delayMinutes: 5, targets: [{ type: 'schedule', id: 'ghost' }] }] },
      400,
      /unknown schedule "ghost"/,
    ],
    ['GET', `${V}/schedules/primary/shifts?from=5&to=1`, undefined, 400, /from must be before to/],
    ['GET', `${V}/schedules/primary/oncall?at=yesterday`, undefined, 400, /is not a time/],
    ['GET', `${V}/schedules/nope/oncall`, undefined, 404, /schedule "nope" not found/],
    ['DELETE', `${V}/schedules/primary`, undefined, 409, /used by escalation policy default/],
    ['DELETE', `${V}/users/bob`, undefined, 409, /team pay/],
  ] as const)('%s %s answers %i', async (method, url, body, status, message) => {
    const res = await json(method, url, body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatch(message);
  });
});

describe('incidents API', () => {
  it('opens by hand, acknowledges once, resolves, and reports', async () => {
    const created = await json('POST', `${V}/incidents`, {
      title: 'Queue stuck',
      severity: 'error',
      services: ['ingest'],
      policyId: 'default',
      actor: 'ana',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    await svc.idle();
    const list = (await json('GET', `${V}/incidents?status=triggered,acknowledged`)).json();
    expect(list.incidents.map((i: { id: string }) => i.id)).toContain(id);
    const [a, b] = await Promise.all([
      json('POST', `${V}/incidents/${id}/ack`, { actor: 'ana' }),
      json('POST', `${V}/incidents/${id}/ack`, { actor: 'bob' }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().error).toMatch(/already acknowledged by (ana|bob)/);
    expect(
      (await json('POST', `${V}/incidents/${id}/notes`, { text: 'restarted the consumer', actor: 'ana' }))
        .statusCode,
    ).toBe(201);
    expect(
      (await json('POST', `${V}/incidents/${id}/assign`, { assignee: 'bob', actor: 'ana' })).statusCode,
    ).toBe(200);
    expect((await json('POST', `${V}/incidents/${id}/resolve`, { actor: 'ana' })).statusCode).toBe(200);
    const detail = (await json('GET', `${V}/incidents/${id}`)).json();
    expect(detail.events.map((e: { kind: string }) => e.kind)).toEqual([
      'created',
      'page',
      'page',
      'acknowledged',
      'note',
      'assigned',
      'resolved',
    ]);
    expect(detail.links.ack).toMatch(
      /^http:\/\/vigil\.test\/api\/vigil\/v1\/incidents\/\w+\/ack\?exp=\d+&sig=/,
    );
    const report = await json('GET', `${V}/incidents/${id}/report.md`);
    expect(report.headers['content-type']).toMatch(/text\/markdown/);
    expect(report.body).toContain('restarted the consumer');
  });

  it.each([
    [
      'GET',
      `${V}/incidents?status=open`,
      undefined,
      400,
      /"open" is not one of triggered, acknowledged, resolved/,
    ],
    ['GET', `${V}/incidents?limit=0`, undefined, 400, /limit/],
    ['GET', `${V}/incidents?colour=red`, undefined, 400, /unknown query parameter "colour"/],
    ['POST', `${V}/incidents`, { severity: 'error' }, 400, /title must be a non-empty string/],
    ['POST', `${V}/incidents`, { title: 'x', policyId: 'ghost' }, 400, /unknown escalation policy "ghost"/],
    ['POST', `${V}/incidents/NOPE1234/ack`, {}, 404, /incident "NOPE1234" not found/],
    ['GET', `${V}/incidents/NOPE1234/ack?exp=1&sig=x`, undefined, 403, /signature is not valid/],
    [
      'GET',
      `${V}/incidents/analytics?interval=1s&since=0&until=100000000`,
      undefined,
      400,
      /at most 1000 buckets/,
    ],
  ] as const)('%s %s answers %i', async (method, url, body, status, message) => {
    const res = await json(method, url, body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatch(message);
  });
});

describe('incident list cursor', () => {
  const mk = (n: number, service: string, title: string) =>
    state.incidents.create({
      title,
      severity: 'warning',
      status: 'resolved',
      assignee: null,
      groupId: null,
      policyId: null,
      services: [service],
      components: [],
      alerts: [],
      labels: {},
      // Pairs share a millisecond, so pages end inside ties.
      createdAt: 1_600_000_000_000 + Math.floor(n / 2),
      ackedAt: null,
      ackedBy: null,
      resolvedAt: 1_600_000_100_000,
      resolvedBy: 'vigil',
      escalation: { step: 0, loop: 0, nextAt: null },
    });

  const walk = async (query: string) => {
    const ids: string[] = [];
    let url = `${V}/incidents?${query}`;
    for (let guard = 0; guard < 50; guard++) {
      const res = await json('GET', url);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { incidents: { id: string }[]; next?: string };
      ids.push(...body.incidents.map((i) => i.id));
      if (body.next === undefined) return ids;
      url = `${V}/incidents?${query}&cursor=${encodeURIComponent(body.next)}`;
    }
    throw new Error('paging did not end');
  };

  it('pages through every incident, with filters and search, and refuses forged or foreign cursors', async () => {
    const service = `paged-${Date.now()}`;
    for (let n = 0; n < 23; n++) await mk(n, service, n % 4 === 0 ? `disk full on node ${n}` : `cpu ${n}`);
    const all = (await json('GET', `${V}/incidents?service=${service}`)).json();
    expect(all.incidents).toHaveLength(23);
    expect(all.next).toBeUndefined();
    const ids = all.incidents.map((i: { id: string }) => i.id);

    expect(await walk(`service=${service}&limit=5`)).toEqual(ids);
    expect(await walk(`service=${service}&limit=2`)).toEqual(ids);
    const disk = all.incidents
      .filter((i: { title: string }) => i.title.startsWith('disk'))
      .map((i: { id: string }) => i.id);
    expect(disk).toHaveLength(6);
    expect(await walk(`service=${service}&q=disk&limit=4`)).toEqual(disk);

    const first = (await json('GET', `${V}/incidents?service=${service}&limit=5`)).json();
    const next = first.next as string;
    expect(next).toMatch(/^[\w-]+\.[\w-]+$/);
    // A new incident arriving meanwhile does not shift the next page.
    await mk(100, service, 'late arrival');
    const second = (
      await json('GET', `${V}/incidents?service=${service}&limit=5&cursor=${encodeURIComponent(next)}`)
    ).json();
    expect(second.incidents.map((i: { id: string }) => i.id)).toEqual(ids.slice(5, 10));

    const tampered = next.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    for (const [url, message] of [
      [`${V}/incidents?service=${service}&limit=5&cursor=${encodeURIComponent(tampered)}`, /not a cursor/],
      [`${V}/incidents?service=${service}&limit=5&cursor=garbage`, /not a cursor/],
      [`${V}/incidents?service=other&limit=5&cursor=${encodeURIComponent(next)}`, /other filters/],
      [`${V}/incidents?service=${service}&q=disk&cursor=${encodeURIComponent(next)}`, /other filters/],
    ] as const) {
      const res = await json('GET', url);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/^query parameter cursor: /);
      expect(res.json().error).toMatch(message);
    }
    // The limit may change between pages.
    const wide = (
      await json('GET', `${V}/incidents?service=${service}&limit=100&cursor=${encodeURIComponent(next)}`)
    ).json();
    expect(wide.incidents.map((i: { id: string }) => i.id)).toEqual(ids.slice(5));
    expect(wide.next).toBeUndefined();
  });
});

describe('signed links', () => {
  const HTML = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };
  const open = async (title: string) => {
    const inc = await svc.create({ title, severity: 'critical' }, 'test');
    const url = new URL(await svc.link(inc.id, 'ack'));
    return { id: inc.id, path: url.pathname, search: url.search, params: url.searchParams };
  };
  const statusOf = async (id: string) => (await state.incidents.get(id))!.status;

  it('shows a confirmation page on GET, changing nothing, and acts on the POST from its button', async () => {
    const l = await open('<script>alert("x")</script> & checkout');
    const eventsBefore = (await state.incidents.events(l.id)).length;
    const page = await app.inject({ method: 'GET', url: l.path + l.search, headers: HTML });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; checkout');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('<dd data-field="severity">critical</dd>');
    expect(page.body).toContain('<dd data-field="status">triggered</dd>');
    expect(page.body).toContain('<form method="post" action="ack">');
    expect(page.body).toContain(`name="sig" value="${l.params.get('sig')}"`);
    // Scanners fetch with anything for Accept, again and again, and by HEAD: still nothing changes.
    const asJson = await app.inject({ method: 'GET', url: l.path + l.search });
    expect(asJson.statusCode).toBe(200);
    expect(asJson.json()).toMatchObject({ action: 'ack', incident: { id: l.id, status: 'triggered' } });
    expect(asJson.json().message).toMatch(/nothing was changed/);
    expect((await app.inject({ method: 'HEAD', url: l.path + l.search })).statusCode).toBe(200);
    expect(await statusOf(l.id)).toBe('triggered');
    expect((await state.incidents.events(l.id)).length).toBe(eventsBefore);

    // The button: a form POST of exp and sig to the same path.
    const form = new URLSearchParams({ exp: l.params.get('exp')!, sig: l.params.get('sig')! }).toString();
    const done = await app.inject({
      method: 'POST',
      url: l.path,
      headers: { ...HTML, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });
    expect(done.statusCode).toBe(200);
    expect(done.body).toMatch(/data-testid="link-done">Incident \w+ acknowledged/);
    expect(await state.incidents.get(l.id)).toMatchObject({ status: 'acknowledged', ackedBy: 'link' });
    const events = await state.incidents.events(l.id);
    expect(events.at(-1)).toMatchObject({ kind: 'acknowledged', actor: 'link' });

    // Pressed twice: a clear 409 page; opened again: no button.
    const twice = await app.inject({
      method: 'POST',
      url: l.path,
      headers: { ...HTML, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.body).toMatch(/already acknowledged by link/);
    const reopened = await app.inject({ method: 'GET', url: l.path + l.search, headers: HTML });
    expect(reopened.body).toContain('already acknowledged');
    expect(reopened.body).not.toContain('<form');
  });

  it('acts on a POST with exp and sig in the query, answering JSON', async () => {
    const l = await open('queue stuck');
    const res = await app.inject({ method: 'POST', url: l.path + l.search });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      message: `incident ${l.id} acknowledged`,
      incident: { ackedBy: 'link' },
    });
  });

  it('refuses forged, expired and misused links on GET and POST, changing nothing', async () => {
    const l = await open('db down');
    const forged = new URLSearchParams(l.params);
    forged.set(
      'sig',
      l.params.get('sig')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    const resolvePath = l.path.replace(/\/ack$/, '/resolve');
    for (const [method, url, headers, payload] of [
      ['GET', `${l.path}?${forged}`, HTML, undefined],
      ['GET', `${l.path}?${forged}`, {}, undefined],
      ['GET', `${l.path}?exp=${Date.now() - 1000}&sig=${l.params.get('sig')}`, HTML, undefined],
      ['GET', `${resolvePath}${l.search}`, HTML, undefined],
      ['GET', l.path, {}, undefined],
      ['POST', `${l.path}?${forged}`, {}, undefined],
      ['POST', l.path, { 'content-type': 'application/x-www-form-urlencoded' }, forged.toString()],
      ['POST', `${resolvePath}${l.search}`, HTML, undefined],
    ] as const) {
      const res = await app.inject({ method, url, headers, payload });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      if ('accept' in headers) {
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.body).toMatch(/data-testid="link-refused">This (acknowledge|resolve) link is refused/);
        expect(res.body).toMatch(/nothing was changed/);
      } else expect(res.json().error).toMatch(/link refused: .*nothing was changed/);
    }
    // A form without the link's signature is not the API's JSON action either.
    const bare = await app.inject({
      method: 'POST',
      url: l.path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'actor=mallory',
    });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().error).toMatch(/signed link's exp and sig/);
    // Other actions still take JSON only.
    const note = await app.inject({
      method: 'POST',
      url: `${V}/incidents/${l.id}/notes`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'text=hi&actor=mallory',
    });
    expect(note.statusCode).toBe(415);
    expect(await statusOf(l.id)).toBe('triggered');
    expect((await state.incidents.events(l.id)).map((e) => e.kind)).toEqual(['created']);
  });
});
