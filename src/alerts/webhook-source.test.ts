import { describe, expect, it } from 'vitest';
import {
  getPath,
  mapWebhookPayload,
  webhookSourceSchema,
  webhookSourcesSchema,
  WebhookPayloadError,
} from './webhook-source.ts';

const NOW = Date.parse('2026-05-04T12:00:00Z');

describe('getPath', () => {
  const doc = { data: { items: [{ id: 7, tags: ['a', 'b'] }], flag: false, none: null } };
  it.each([
    ['.', doc],
    ['data.items.0.id', 7],
    ['data.items.0.tags.1', 'b'],
    ['data.flag', false],
    ['data.none', null],
  ])('%s finds its value', (path, value) => {
    expect(getPath(doc, path)).toEqual({ found: true, value });
  });

  it.each([
    'data.missing',
    'data.items.1',
    'data.items.x',
    'data.items.0.id.deeper',
    'constructor',
    'data.__proto__',
  ])('%s finds nothing', (path) => {
    expect(getPath(doc, path)).toEqual({ found: false });
  });
});

const monitor = webhookSourceSchema.parse({
  name: 'channel-monitor',
  alerts: 'data.items',
  labels: { alertname: 'check', channel: 'channel.name', host: 'where.host' },
  static_labels: { team: 'pipeline' },
  annotations: { summary: 'message' },
  status: { path: 'state', firing: ['down', 'failing'], resolved: ['up'] },
  starts_at: 'since',
  ends_at: 'until',
  severity: 'level',
  generator_url: 'link',
});

describe('mapWebhookPayload', () => {
  it('maps every item of the alerts path onto an alert', () => {
    const r = mapWebhookPayload(
      monitor,
      {
        data: {
          items: [
            {
              check: 'ChannelDown',
              channel: { name: 'orders' },
              where: { host: 'mq1' },
              message: 'no messages for 5m',
              state: 'DOWN',
              since: '2026-05-04T11:55:00Z',
              level: 'P1',
              link: 'http://monitor/orders',
            },
            { check: 'ChannelDown', channel: { name: 'billing' }, state: 'up', since: 1_777_895_400 },
          ],
        },
      },
      NOW,
    );
    expect(r.errors).toEqual([]);
    expect(r.alerts).toEqual([
      {
        index: 0,
        alert: {
          labels: {
            team: 'pipeline',
            alertname: 'ChannelDown',
            channel: 'orders',
            host: 'mq1',
            severity: 'P1',
          },
          annotations: { summary: 'no messages for 5m' },
          startsAt: '2026-05-04T11:55:00Z',
          generatorURL: 'http://monitor/orders',
        },
      },
      {
        index: 1,
        alert: {
          labels: { team: 'pipeline', alertname: 'ChannelDown', channel: 'billing' },
          annotations: {},
          startsAt: '2026-05-04T11:50:00.000Z',
          endsAt: new Date(NOW).toISOString(),
        },
      },
    ]);
  });

  it("takes the body as one alert with '.'", () => {
    const one = webhookSourceSchema.parse({ name: 'cron', labels: { alertname: 'job', instance: 'host' } });
    const r = mapWebhookPayload(one, { job: 'BackupFailed', host: 'db1' }, NOW);
    expect(r.alerts.map((a) => a.alert.labels)).toEqual([{ alertname: 'BackupFailed', instance: 'db1' }]);
  });

  it('reports bad items with index and field, and keeps the good ones', () => {
    const r = mapWebhookPayload(
      monitor,
      {
        data: {
          items: [
            { check: 'A', state: 'down' },
            { channel: { name: 'x' }, state: 'down' },
            { check: 'B', state: 'sideways' },
            { check: 'C', state: 'down', since: 'yesterday' },
            { check: 'D', channel: { name: ['x'] }, state: 'down' },
            'not an object',
            { check: 'E' },
          ],
        },
      },
      NOW,
    );
    expect(r.alerts.map((a) => [a.index, a.alert.labels.alertname])).toEqual([[0, 'A']]);
    expect(r.errors).toEqual([
      { index: 1, error: 'item 1: labels.alertname: path check has no value' },
      { index: 2, error: 'item 2: status: "sideways" at path state is not one of "down", "failing", "up"' },
      {
        index: 3,
        error: 'item 3: starts_at: "yesterday" at path since is neither an RFC 3339 time nor Unix seconds',
      },
      { index: 4, error: 'item 4: labels.channel: path channel.name is an array, not a value' },
      { index: 5, error: 'item 5: must be a JSON object, not string' },
      {
        index: 6,
        error: 'item 6: status: path state has no value (expected one of "down", "failing", "up")',
      },
    ]);
  });

  it('refuses a payload without the alerts array', () => {
    expect(() => mapWebhookPayload(monitor, { data: {} }, NOW)).toThrow(WebhookPayloadError);
    expect(() => mapWebhookPayload(monitor, { data: {} }, NOW)).toThrow(
      'the payload has nothing at data.items (alerts path of webhook channel-monitor)',
    );
    expect(() => mapWebhookPayload(monitor, { data: { items: {} } }, NOW)).toThrow(
      'data.items in the payload must be an array of alerts (webhook channel-monitor)',
    );
  });
});

describe('webhook source configuration', () => {
  it.each([
    [{ name: 'a', labels: { host: 'h' } }, 'labels.alertname (a path) is required'],
    [{ name: 'a b', labels: { alertname: 'x' } }, 'use letters, digits'],
    [{ name: 'a', labels: { alertname: 'x..y' } }, 'names separated by single dots'],
    [{ name: 'a', labels: { 'bad-name': 'x', alertname: 'x' } }, 'not a valid label name'],
  ])('refuses %j', (cfg, message) => {
    const r = webhookSourceSchema.safeParse(cfg);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(message);
  });

  it('refuses two sources with one name', () => {
    const r = webhookSourcesSchema.safeParse([
      { name: 'a', labels: { alertname: 'x' } },
      { name: 'a', labels: { alertname: 'y' } },
    ]);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('webhook name a is used twice');
  });
});
