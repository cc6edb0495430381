import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../rules/clock.ts';
import { loadAlertmanagerConfigText } from '../alerts/config/load.ts';
import { AlertPipeline } from '../alerts/pipeline.ts';
import { MemoryIntegration } from '../notify/memory.ts';
import { createServer } from './server.ts';
import { alertmanagerApi } from './alertmanager.ts';

const T0 = Date.parse('2026-11-27T20:30:52.426Z');
const CONFIG = `route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [team="db"]
      receiver: db
receivers:
  - name: default
  - name: db
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [cluster]
`;

let app: FastifyInstance;
let pipeline: AlertPipeline;
const clock = new ManualClock(T0);

beforeAll(async () => {
  const config = loadAlertmanagerConfigText(CONFIG, 'am.yml');
  const integrations = new Map(
    config.receivers.map((r) => [r.name, [new MemoryIntegration(() => clock.now())]]),
  );
  pipeline = await AlertPipeline.start({ config, clock, externalURL: 'http://vigil.example', integrations });
  app = createServer({ bodyLimit: 1 << 20 });
  await app.register(
    alertmanagerApi({
      pipeline,
      versionInfo: {
        version: '0.1.0',
        revision: 'r',
        branch: 'b',
        buildUser: 'u',
        buildDate: 'd',
        goVersion: 'node',
      },
    }),
  );
});
afterAll(async () => {
  await pipeline.stop();
  await app.close();
});

const post = (url: string, body: unknown) =>
  app.inject({
    method: 'POST',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

describe('POST/GET /api/v2/alerts', () => {
  it("accepts alerts and lists them with Alertmanager's shape", async () => {
    const r = await post('/api/v2/alerts', [
      { labels: { alertname: 'X', job: 'j' }, annotations: { summary: 's' } },
    ]);
    expect(r.statusCode).toBe(200);
    const list = await app.inject('/api/v2/alerts');
    expect(list.json()).toEqual([
      {
        annotations: { summary: 's' },
        endsAt: '2026-11-27T20:35:52.426Z',
        fingerprint: '73e97ba8ea424605',
        receivers: [{ name: 'default' }],
        startsAt: '2026-11-27T20:30:52.426Z',
        status: { inhibitedBy: [], silencedBy: [], state: 'active' },
        updatedAt: '2026-11-27T20:30:52.426Z',
        labels: { alertname: 'X', job: 'j' },
      },
    ]);
  });

  it.each([
    [[{ labels: {} }], 400, '"at least one label pair required"'],
    [
      [{ labels: { a: 'b' }, startsAt: '2026-11-27T20:00:00Z', endsAt: '2026-11-27T19:00:00Z' }],
      400,
      '"start time must be before end time"',
    ],
    [
      [{ labels: { a: 'b' }, annotations: { 'x-y': '1' } }, { labels: { 'a-b': 'x' } }],
      400,
      '"invalid annotations: invalid name \\"x-y\\"; invalid label set: invalid name \\"a-b\\""',
    ],
    [[{ annotations: { a: 'b' } }], 422, '{"code":422,"message":"0.labels in body is required"}'],
    [
      { labels: { a: 'b' } },
      400,
      '{"code":400,"message":"parsing alerts body failed: expected a JSON array of alerts"}',
    ],
  ])('rejects %j', async (body, status, answer) => {
    const r = await post('/api/v2/alerts', body);
    expect(r.statusCode).toBe(status);
    expect(r.body).toBe(answer);
    expect(r.headers['content-type']).toContain('application/json');
  });

  it('rejects bad time strings and malformed JSON with a 400', async () => {
    const r = await post('/api/v2/alerts', [{ labels: { a: 'b' }, startsAt: 'garbage' }]);
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toContain('startsAt');
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v2/alerts',
      payload: '[{',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe(400);
  });

  it('keeps valid alerts of a batch with invalid ones', async () => {
    await post('/api/v2/alerts', [{ labels: { 'bad-name': 'x' } }, { labels: { alertname: 'Kept' } }]);
    const r = await app.inject('/api/v2/alerts?filter=alertname="Kept"');
    expect(r.json()).toHaveLength(1);
  });

  it('filters by matchers, receiver, silenced and inhibited', async () => {
    await post('/api/v2/alerts', [
      { labels: { alertname: 'Db', team: 'db', severity: 'warning', cluster: 'c1' } },
      { labels: { alertname: 'Crit', severity: 'critical', cluster: 'c1' } },
    ]);
    const names = async (q: string) =>
      ((await app.inject(`/api/v2/alerts${q}`)).json() as { labels: { alertname: string } }[])
        .map((a) => a.labels.alertname)
        .sort();
    expect(await names('?receiver=db')).toEqual(['Db']);
    expect(await names('?filter=alertname=~"D.*"&filter=cluster="c1"')).toEqual(['Db']);
    expect(await names('?inhibited=false&filter=cluster=c1')).toEqual(['Crit']);
    expect(await names('?active=false')).toEqual(['Db']);
    const db = (await app.inject('/api/v2/alerts?receiver=db')).json()[0];
    expect(db.status.state).toBe('suppressed');
    expect(db.status.inhibitedBy).toEqual([
      (await app.inject('/api/v2/alerts?filter=alertname=Crit')).json()[0].fingerprint,
    ]);
    expect(db.receivers).toEqual([{ name: 'db' }]);
    const bad = await app.inject('/api/v2/alerts?filter=foo');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toBe('"bad matcher format: foo"');
    const badRe = await app.inject('/api/v2/alerts?receiver=(');
    expect(badRe.statusCode).toBe(400);
    expect(badRe.json()).toContain('failed to parse receiver param');
    expect((await app.inject('/api/v2/alerts?active=maybe')).statusCode).toBe(400);
  });

  it('lists alert groups', async () => {
    const groups = (await app.inject('/api/v2/alerts/groups?filter=alertname="X"')).json();
    expect(groups).toEqual([
      {
        alerts: [expect.objectContaining({ fingerprint: '73e97ba8ea424605' })],
        labels: { alertname: 'X' },
        receiver: { name: 'default' },
      },
    ]);
    const db = (await app.inject('/api/v2/alerts/groups?receiver=db')).json();
    expect(db.map((g: { labels: unknown }) => g.labels)).toEqual([{ alertname: 'Db' }]);
  });
});

describe('silences API', () => {
  let id = '';
  const body = {
    matchers: [{ name: 'job', value: 'j', isRegex: false }],
    startsAt: '2026-11-27T20:00:00Z',
    endsAt: '2026-11-28T20:00:00Z',
    createdBy: 'me',
    comment: 'c',
  };

  it('creates, lists, gets, expires', async () => {
    const r = await post('/api/v2/silences', body);
    expect(r.statusCode).toBe(200);
    id = r.json().silenceID;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const expected = {
      id,
      status: { state: 'active' },
      updatedAt: '2026-11-27T20:30:52.426Z',
      comment: 'c',
      createdBy: 'me',
      endsAt: '2026-11-28T20:00:00.000Z',
      matchers: [{ isEqual: true, isRegex: false, name: 'job', value: 'j' }],
      startsAt: '2026-11-27T20:30:52.426Z',
    };
    expect((await app.inject('/api/v2/silences')).json()).toEqual([expected]);
    expect((await app.inject(`/api/v2/silence/${id}`)).json()).toEqual(expected);
    const alert = (await app.inject('/api/v2/alerts?filter=alertname=X')).json()[0];
    expect(alert.status).toEqual({ inhibitedBy: [], silencedBy: [id], state: 'suppressed' });
    expect((await app.inject('/api/v2/alerts?silenced=false&filter=alertname=X')).json()).toEqual([]);
    expect((await app.inject('/api/v2/silences?filter=job="j"')).json()).toHaveLength(1);
    expect((await app.inject('/api/v2/silences?filter=job="other"')).json()).toHaveLength(0);

    const del = await app.inject({ method: 'DELETE', url: `/api/v2/silence/${id}` });
    expect(del.statusCode).toBe(200);
    expect((await app.inject(`/api/v2/silence/${id}`)).json().status.state).toBe('expired');
    const again = await app.inject({ method: 'DELETE', url: `/api/v2/silence/${id}` });
    expect(again.statusCode).toBe(400);
  });

  it.each([
    [{ endsAt: '2026-11-27T20:10:00Z' }, 400, '"Failed to create silence: end time can\'t be in the past"'],
    [
      { startsAt: '2026-11-29T20:00:00Z', endsAt: '2026-11-28T20:10:00Z' },
      400,
      '"Failed to create silence: start time must be before end time"',
    ],
    [{ matchers: [] }, 422, '{"code":422,"message":"matchers in body should have at least 1 items"}'],
    [
      { matchers: [{ name: 'job', value: '.*', isRegex: true }] },
      400,
      '"silence invalid: at least one matcher must not match the empty string"',
    ],
    [
      { matchers: [{ name: 'job', value: '(', isRegex: true }] },
      400,
      /^"silence invalid: invalid regular expression/,
    ],
    [{ id: '7d3f8452-91de-4c47-a09f-a6a88cecbe80' }, 404, '"silence not found"'],
    [{ createdBy: undefined }, 422, '{"code":422,"message":"createdBy in body is required"}'],
  ])('rejects %j', async (over, status, answer) => {
    const r = await post('/api/v2/silences', { ...body, ...over });
    expect(r.statusCode).toBe(status);
    if (typeof answer === 'string') expect(r.body).toBe(answer);
    else expect(r.body).toMatch(answer);
  });

  it('answers unknown and malformed IDs', async () => {
    expect((await app.inject('/api/v2/silence/7d3f8452-91de-4c47-a09f-a6a88cecbe80')).statusCode).toBe(404);
    const bad = await app.inject('/api/v2/silence/nope');
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toEqual({ code: 422, message: 'silenceID in path must be of type uuid: "nope"' });
    const del = await app.inject({
      method: 'DELETE',
      url: '/api/v2/silence/7d3f8452-91de-4c47-a09f-a6a88cecbe80',
    });
    expect(del.statusCode).toBe(404);
  });
});

describe("Vigil's alerting views", () => {
  it('lists groups with stable IDs and the notification log', async () => {
    await clock.advanceTo(T0 + 60_000);
    const groups = (await app.inject('/api/vigil/v1/alerting/groups')).json().groups;
    const x = groups.find((g: { groupKey: string }) => g.groupKey === '{}:{alertname="X"}');
    expect(x).toMatchObject({
      receiver: 'default',
      labels: { alertname: 'X' },
      alerts: ['73e97ba8ea424605'],
    });
    expect(x.id).toMatch(/^[0-9a-f]{64}$/);
    const notes = (await app.inject(`/api/vigil/v1/alerting/notifications?group_id=${x.id}`)).json()
      .notifications;
    // The silence on X was expired above, so its group notified after group_wait.
    expect(notes).toEqual([
      expect.objectContaining({ groupId: x.id, receiver: 'default', status: 'firing', ok: true }),
    ]);
    expect(notes[0].alerts).toEqual([
      { fingerprint: '73e97ba8ea424605', status: 'firing', labels: { alertname: 'X', job: 'j' } },
    ]);
    const all = (await app.inject('/api/vigil/v1/alerting/notifications?receiver=default')).json()
      .notifications;
    expect(all.map((n: { groupKey: string }) => n.groupKey)).toContain('{}:{alertname="Kept"}');
    expect(all[0]).toMatchObject({ receiver: 'default', integration: 'memory[0]', ok: true, attempts: 1 });
    expect(all[0].id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('status and receivers', () => {
  it('answers like Alertmanager with clustering disabled', async () => {
    const s = (await app.inject('/api/v2/status')).json();
    expect(s).toEqual({
      cluster: { peers: [], status: 'disabled' },
      config: { original: CONFIG },
      uptime: '2026-11-27T20:30:52.426Z',
      versionInfo: {
        version: '0.1.0',
        revision: 'r',
        branch: 'b',
        buildUser: 'u',
        buildDate: 'd',
        goVersion: 'node',
      },
    });
    expect((await app.inject('/api/v2/receivers')).json()).toEqual([{ name: 'default' }, { name: 'db' }]);
  });
});
