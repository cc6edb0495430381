import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../query/promql/index.ts';
import { MemoryStorage } from '../store/memory.ts';
import { parseRuleFile } from '../rules/file.ts';
import { RuleGroup } from '../rules/group.ts';
import { engineQueryFn, storageAppendFn } from '../rules/rule.ts';
import { createServer } from './server.ts';
import { rulesApi } from './rules.ts';

const FILE = '/etc/vigil/rules.yml';
const parsed = parseRuleFile(
  [
    'groups:',
    '  - name: rec',
    '    interval: 30s',
    '    rules:',
    '      - record: job:up:sum',
    '        expr: sum by(job)(up)',
    '        labels: {team: web}',
    '      - record: broken',
    '        expr: \'"a string"\'',
    '  - name: alerts',
    '    rules:',
    '      - alert: Down',
    '        expr: up == 0',
    '        for: 5m',
    '        labels: {severity: page}',
    '        annotations: {summary: down}',
  ].join('\n'),
  FILE,
);

const storage = new MemoryStorage();
storage.add({ __name__: 'up', job: 'a' }, 0, 1);
const groups = parsed.ok
  ? parsed.groups.map(
      (d) =>
        new RuleGroup(d, {
          query: engineQueryFn(new Engine(), storage),
          append: storageAppendFn(storage),
          defaultIntervalMs: 60_000,
        }),
    )
  : [];
const app = createServer({ bodyLimit: 1 << 20 });

beforeAll(async () => {
  await app.register(rulesApi({ groups: () => groups }));
  await groups[0]!.evaluate(30_000);
});
afterAll(() => app.close());

async function get(query: string) {
  const res = await app.inject({ method: 'GET', url: `/api/v1/rules${query}` });
  return { status: res.statusCode, body: res.json() };
}

describe('GET /api/v1/rules', () => {
  it('answers in Prometheus shape', async () => {
    const { status, body } = await get('');
    expect(status).toBe(200);
    expect(body.status).toBe('success');
    const [rec, alerts] = body.data.groups;
    expect(rec).toMatchObject({ name: 'rec', file: FILE, interval: 30, limit: 0 });
    expect(rec.lastEvaluation).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(typeof rec.evaluationTime).toBe('number');
    expect(rec.rules[0]).toEqual({
      name: 'job:up:sum',
      query: 'sum by (job) (up)',
      labels: { team: 'web' },
      health: 'ok',
      evaluationTime: expect.any(Number),
      lastEvaluation: expect.any(String),
      type: 'recording',
    });
    expect(rec.rules[1]).toMatchObject({
      name: 'broken',
      health: 'err',
      lastError: 'rule result is not a vector or scalar',
    });
    expect(alerts).toMatchObject({ name: 'alerts', interval: 60, lastEvaluation: '0001-01-01T00:00:00Z' });
    expect(alerts.rules[0]).toEqual({
      state: 'inactive',
      name: 'Down',
      query: 'up == 0',
      duration: 300,
      keepFiringFor: 0,
      labels: { severity: 'page' },
      annotations: { summary: 'down' },
      alerts: [],
      health: 'unknown',
      evaluationTime: 0,
      lastEvaluation: '0001-01-01T00:00:00Z',
      type: 'alerting',
    });
  });

  it.each([
    ['?type=record', ['rec']],
    ['?type=alert', ['alerts']],
    ['?type=ALERT', ['alerts']],
    ['?rule_name[]=Down&rule_name[]=broken', ['rec', 'alerts']],
    ['?rule_group[]=rec', ['rec']],
    [`?file[]=${encodeURIComponent(FILE)}&rule_group[]=alerts`, ['alerts']],
    ['?file[]=other.yml', []],
  ])('filters %s', async (q, names) => {
    const { body } = await get(q);
    expect(body.data.groups.map((g: { name: string }) => g.name)).toEqual(names);
  });

  it('drops rules filtered out by name within a group', async () => {
    const { body } = await get('?rule_name[]=broken');
    expect(body.data.groups[0].rules.map((r: { name: string }) => r.name)).toEqual(['broken']);
  });

  it('rejects an unknown type', async () => {
    expect(await get('?type=both')).toEqual({
      status: 400,
      body: {
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "type": not supported value "both"',
      },
    });
  });
});

describe('GET /api/v1/alerts and POST /-/reload', () => {
  const def = parseRuleFile(
    [
      'groups:',
      '  - name: a',
      '    rules:',
      '      - alert: Firing',
      '        expr: up > 0',
      '        keep_firing_for: 10m',
      '        annotations: {v: "{{ $value }}"}',
      '      - alert: Pending',
      '        expr: up > 0',
      '        for: 1h',
    ].join('\n'),
    FILE,
  );
  const mem = new MemoryStorage();
  mem.add({ __name__: 'up', job: 'a' }, 0, 1);
  const group = def.ok
    ? new RuleGroup(def.groups[0]!, {
        query: engineQueryFn(new Engine(), mem),
        append: storageAppendFn(mem),
        defaultIntervalMs: 60_000,
        evaluateAlerts: true,
      })
    : undefined;
  let reloads = 0;
  let failNext = false;
  const server = createServer({ bodyLimit: 1 << 20 });
  beforeAll(async () => {
    await server.register(
      rulesApi({
        groups: () => [group!],
        reload: async () => {
          reloads++;
          if (failNext) throw new Error('rules.yml:3:5: group "a": bad');
        },
      }),
    );
    await group!.evaluate(60_000);
    // The series goes away: kept firing by keep_firing_for.
    mem.add({ __name__: 'up', job: 'a' }, 70_000, 0);
    await group!.evaluate(120_000);
  });
  afterAll(() => server.close());

  it('lists pending and firing alerts in Prometheus shape', async () => {
    const res = await server.inject({ method: 'GET', url: '/api/v1/alerts' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'success',
      data: {
        alerts: [
          {
            labels: { alertname: 'Firing', job: 'a' },
            annotations: { v: '1' },
            state: 'firing',
            activeAt: '1970-01-01T00:01:00Z',
            keepFiringSince: '1970-01-01T00:02:00Z',
            value: '1e+00',
          },
        ],
      },
    });
  });

  it('reloads with 200 and reports a failed reload with 500 and the reason', async () => {
    const ok = await server.inject({ method: 'POST', url: '/-/reload' });
    expect([ok.statusCode, ok.body]).toEqual([200, '']);
    failNext = true;
    const bad = await server.inject({ method: 'PUT', url: '/-/reload' });
    expect(bad.statusCode).toBe(500);
    expect(bad.body).toBe('failed to reload config: rules.yml:3:5: group "a": bad\n');
    expect(reloads).toBe(2);
    expect((await server.inject({ method: 'GET', url: '/-/reload' })).statusCode).toBe(404);
  });
});
