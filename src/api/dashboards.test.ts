import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/interface.ts';
import { dashboardsApi } from './dashboards.ts';

const URL_BASE = '/api/vigil/v1/dashboards';
let dir: string;
let state: StateStore;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-dash-api-'));
  state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
  app = Fastify();
  await app.register(dashboardsApi({ state }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await state?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const d of await state.dashboards.list()) await state.dashboards.delete(d.uid);
});

function doc(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    title: 'Checkout',
    tags: ['shop'],
    panels: [
      {
        id: 'a',
        title: 'Requests',
        kind: 'timeseries',
        queries: [{ expr: 'sum(rate(http_requests_total[5m]))' }],
        grid: { x: 0, y: 0, w: 12, h: 8 },
      },
    ],
    ...over,
  };
}

const post = (body: unknown, query = '') =>
  app.inject({ method: 'POST', url: URL_BASE + query, payload: body as object });
const get = (uid: string) => app.inject({ method: 'GET', url: `${URL_BASE}/${uid}` });
const put = (uid: string, body: unknown) =>
  app.inject({ method: 'PUT', url: `${URL_BASE}/${uid}`, payload: body as object });

describe('dashboards API', () => {
  it('creates, reads, lists, updates and deletes a dashboard', async () => {
    const created = await post(doc({ uid: 'checkout' }));
    expect(created.statusCode).toBe(201);
    const c = created.json();
    expect(c).toMatchObject({ version: 1, provisioned: false, createdBy: null });
    expect(c.dashboard).toEqual({
      schemaVersion: 1,
      uid: 'checkout',
      title: 'Checkout',
      tags: ['shop'],
      variables: [],
      panels: [doc().panels as unknown[]].flat(),
    });
    expect(typeof c.updatedAt).toBe('number');

    const got = await get('checkout');
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(c);

    const listed = await app.inject({ method: 'GET', url: URL_BASE });
    expect(listed.json()).toEqual([
      {
        uid: 'checkout',
        title: 'Checkout',
        tags: ['shop'],
        version: 1,
        updatedAt: c.updatedAt,
        createdBy: null,
        provisioned: false,
      },
    ]);

    const edited = { ...c.dashboard, title: 'Checkout v2' };
    const updated = await put('checkout', { dashboard: edited, version: 1 });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({
      version: 2,
      dashboard: { title: 'Checkout v2', uid: 'checkout' },
    });

    const del = await app.inject({ method: 'DELETE', url: `${URL_BASE}/checkout` });
    expect(del.statusCode).toBe(204);
    expect((await get('checkout')).statusCode).toBe(404);
  });

  it('generates a uid when the document has none', async () => {
    const res = await post(doc());
    expect(res.statusCode).toBe(201);
    expect(res.json().dashboard.uid).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('filters the list by title substring and tag', async () => {
    await post(doc({ uid: 'a', title: 'Alpha API', tags: ['x'] }));
    await post(doc({ uid: 'b', title: 'Beta', tags: ['x', 'y'] }));
    await post(doc({ uid: 'c', title: 'Gamma api', tags: [] }));
    const uids = async (q: string) =>
      (await app.inject({ method: 'GET', url: URL_BASE + q })).json().map((d: { uid: string }) => d.uid);
    expect(await uids('?query=api')).toEqual(['a', 'c']);
    expect(await uids('?tag=x')).toEqual(['a', 'b']);
    expect(await uids('?tag=y&query=bet')).toEqual(['b']);
    expect(await uids('?query=nothing')).toEqual([]);
  });

  it('answers 404 with a message for an unknown uid', async () => {
    for (const res of [
      await get('nope'),
      await put('nope', { dashboard: doc(), version: 1 }),
      await app.inject({ method: 'DELETE', url: `${URL_BASE}/nope` }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'dashboard "nope" not found' });
    }
  });

  it('refuses an invalid document with every problem located', async () => {
    const bad = doc({ title: '' });
    (bad.panels as any[])[0].grid = { x: 20, y: 0, w: 8, h: 8 };
    (bad.panels as any[])[0].kind = 'pie';
    const res = await post(bad);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toMatch(/^invalid dashboard: title: must not be empty \(and 2 more, see details\)$/);
    expect(body.details.map((d: { path: string }) => d.path)).toEqual([
      'title',
      'panels[0].kind',
      'panels[0].grid.w',
    ]);
  });

  it('explains JSON syntax errors, missing bodies and wrong content types', async () => {
    const syntax = await app.inject({
      method: 'POST',
      url: URL_BASE,
      headers: { 'content-type': 'application/json' },
      payload: '{"schemaVersion": 1,\n "title": "x",}',
    });
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json().error).toMatch(/^request body is not valid JSON: .* \(line 2, column 15\)$/);

    const empty = await app.inject({
      method: 'POST',
      url: URL_BASE,
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toMatch(/request body is empty/);

    const none = await app.inject({ method: 'POST', url: URL_BASE });
    expect(none.statusCode).toBe(400);
    expect(none.json().error).toMatch(/request body is missing/);

    const text = await app.inject({
      method: 'POST',
      url: URL_BASE,
      headers: { 'content-type': 'text/yaml' },
      payload: 'title: x',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toMatch(/Content-Type: application\/json/);

    const proto = await app.inject({
      method: 'POST',
      url: URL_BASE,
      headers: { 'content-type': 'application/json' },
      payload: '{"schemaVersion":1,"title":"x","__proto__":{"polluted":true}}',
    });
    expect(proto.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts a JSON body with a charset parameter', async () => {
    const res = await app.inject({
      method: 'POST',
      url: URL_BASE,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: JSON.stringify(doc({ uid: 'charset' })),
    });
    expect(res.statusCode).toBe(201);
  });

  it('answers 409 for an existing uid, and replaces it with ?overwrite=true', async () => {
    expect((await post(doc({ uid: 'dup' }))).statusCode).toBe(201);
    const again = await post(doc({ uid: 'dup', title: 'Other' }));
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatch(/uid "dup" already exists \("Checkout"\).*overwrite=true/);

    const replaced = await post(doc({ uid: 'dup', title: 'Other' }), '?overwrite=true');
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ version: 2, dashboard: { title: 'Other' } });
  });

  it('detects concurrent edits: the second save with the same version gets 409', async () => {
    const c = (await post(doc({ uid: 'race' }))).json();
    const first = await put('race', { dashboard: { ...c.dashboard, title: 'Mine' }, version: 1 });
    expect(first.statusCode).toBe(200);
    const second = await put('race', { dashboard: { ...c.dashboard, title: 'Theirs' }, version: 1 });
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toBe(
      'dashboard "race" was changed by someone else: they saved version 2 while you were editing version 1; ' +
        'reload it and apply your change again',
    );
    expect((await get('race')).json().dashboard.title).toBe('Mine');
  });

  it('keeps the uid of the URL when the document names another', async () => {
    const c = (await post(doc({ uid: 'url-uid' }))).json();
    const res = await put('url-uid', { dashboard: { ...c.dashboard, uid: 'other' }, version: 1 });
    expect(res.statusCode).toBe(200);
    expect(res.json().dashboard.uid).toBe('url-uid');
    expect((await get('other')).statusCode).toBe(404);
  });

  it('validates the PUT envelope', async () => {
    await post(doc({ uid: 'env' }));
    const missing = await put('env', { dashboard: doc() });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().details).toEqual([{ path: 'version', message: expect.stringMatching(/^missing/) }]);

    const bad = await put('env', { dashboard: { ...doc(), title: 5 }, version: 0 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.map((d: { path: string }) => d.path)).toEqual(['dashboard.title', 'version']);

    const noDoc = await put('env', { version: 1 });
    expect(noDoc.json().details[0]).toEqual({
      path: 'dashboard',
      message: 'missing: must be a dashboard document',
    });

    const array = await put('env', [1]);
    expect(array.statusCode).toBe(400);
    expect(array.json().error).toMatch(/"dashboard": <document>, "version"/);
  });

  it('round-trips HTML, script and label values as plain data', async () => {
    const title = '<script>alert("x")</script> & <b>bold</b>';
    const expr = 'up{job="<img src=x onerror=alert(1)>", path="a\\"b"}';
    const created = await post(
      doc({
        uid: 'xss',
        title,
        tags: ['<i>tag</i>'],
        description: '</textarea><svg onload=alert(1)>',
        panels: [
          {
            id: '<p>',
            title: '"><script>',
            kind: 'stat',
            queries: [{ expr, legend: '{{job}} <u>' }],
            grid: { x: 0, y: 0, w: 4, h: 4 },
          },
        ],
      }),
    );
    expect(created.statusCode).toBe(201);
    const res = await get('xss');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const d = res.json().dashboard;
    expect(d.title).toBe(title);
    expect(d.tags).toEqual(['<i>tag</i>']);
    expect(d.description).toBe('</textarea><svg onload=alert(1)>');
    expect(d.panels[0]).toMatchObject({
      id: '<p>',
      title: '"><script>',
      queries: [{ expr, legend: '{{job}} <u>' }],
    });
  });

  it('treats provisioned dashboards as read-only', async () => {
    await state.dashboards.create({
      uid: 'prov',
      title: 'From file',
      body: { schemaVersion: 1, variables: [], panels: [] },
      createdBy: 'file:team/prov.json',
    });
    const got = (await get('prov')).json();
    expect(got).toMatchObject({ provisioned: true, createdBy: 'file:team/prov.json' });

    const edit = await put('prov', { dashboard: got.dashboard, version: 1 });
    expect(edit.statusCode).toBe(403);
    expect(edit.json().error).toMatch(
      /provisioned from the file "team\/prov.json"; change that file instead/,
    );
    expect((await app.inject({ method: 'DELETE', url: `${URL_BASE}/prov` })).statusCode).toBe(403);
    expect((await post(got.dashboard, '?overwrite=true')).statusCode).toBe(403);
    expect((await get('prov')).json().version).toBe(1);
  });
});
