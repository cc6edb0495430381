import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../rules/clock.ts';
import { webhookConfigSchema } from '../alerts/config/schema.ts';
import { deliver } from './deliver.ts';
import type { NotificationMessage } from './message.ts';
import { webhookIntegration } from './webhook.ts';
import { registry } from '../self/metrics.ts';

interface Received {
  body: any;
  headers: IncomingMessage['headers'];
}

let server: Server;
let base = '';
const received: Received[] = [];
/** Status codes to answer next, in order; then 200. */
const answers: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
      const code = answers.shift() ?? 200;
      res.writeHead(code).end(code === 200 ? 'ok' : 'try later');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const msg: NotificationMessage = {
  id: 'n1',
  groupId: 'g1',
  groupKey: '{}:{alertname="A"}',
  receiver: 'hook',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'A', i: '1' },
      annotations: { summary: 'one' },
      startsAt: Date.parse('2026-01-01T00:00:00.5Z'),
      endsAt: undefined,
      generatorURL: 'http://prom/graph',
      fingerprint: 'aaaaaaaaaaaaaaaa',
    },
    {
      status: 'resolved',
      labels: { alertname: 'A', i: '2' },
      annotations: { summary: 'two' },
      startsAt: Date.parse('2026-01-01T00:00:00Z'),
      endsAt: Date.parse('2026-01-01T00:05:00Z'),
      generatorURL: '',
      fingerprint: 'bbbbbbbbbbbbbbbb',
    },
  ],
  groupLabels: { alertname: 'A' },
  commonLabels: { alertname: 'A' },
  commonAnnotations: {},
  externalURL: 'http://vigil:9090',
};

const hook = (cfg: Record<string, unknown>) => webhookIntegration(webhookConfigSchema.parse(cfg), 0);

describe('webhook receiver', () => {
  it("posts Alertmanager's version 4 payload", async () => {
    received.length = 0;
    const out = await deliver(
      hook({ url: `${base}/a`, http_config: { basic_auth: { username: 'u', password: 'p' } } }),
      msg,
      {
        clock: systemClock,
        timeoutMs: 10_000,
      },
    );
    expect(out).toEqual({ ok: true, attempts: 1 });
    expect(received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.body).toEqual({
      receiver: 'hook',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'A', i: '1' },
          annotations: { summary: 'one' },
          startsAt: '2026-01-01T00:00:00.5Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prom/graph',
          fingerprint: 'aaaaaaaaaaaaaaaa',
        },
        {
          status: 'resolved',
          labels: { alertname: 'A', i: '2' },
          annotations: { summary: 'two' },
          startsAt: '2026-01-01T00:00:00Z',
          endsAt: '2026-01-01T00:05:00Z',
          generatorURL: '',
          fingerprint: 'bbbbbbbbbbbbbbbb',
        },
      ],
      groupLabels: { alertname: 'A' },
      commonLabels: { alertname: 'A' },
      commonAnnotations: {},
      externalURL: 'http://vigil:9090',
      version: '4',
      groupKey: '{}:{alertname="A"}',
      truncatedAlerts: 0,
    });
  });

  it('truncates to max_alerts', async () => {
    received.length = 0;
    await deliver(hook({ url: base, max_alerts: 1 }), msg, { clock: systemClock, timeoutMs: 10_000 });
    expect(received[0]!.body.alerts).toHaveLength(1);
    expect(received[0]!.body.truncatedAlerts).toBe(1);
  });

  it('retries 5xx answers with backoff and counts the attempts', async () => {
    received.length = 0;
    answers.push(503, 500);
    const out = await deliver(
      hook({ url: base }),
      { ...msg, receiver: 'retry-hook' },
      { clock: systemClock, timeoutMs: 10_000 },
    );
    expect(out).toEqual({ ok: true, attempts: 3 });
    expect(received).toHaveLength(3);
    const metrics = await registry.getSingleMetricAsString('alertmanager_notification_requests_failed_total');
    expect(metrics).toContain(
      'alertmanager_notification_requests_failed_total{integration="webhook",receiver="retry-hook"} 2',
    );
  });

  it('does not retry 4xx answers', async () => {
    received.length = 0;
    answers.push(400);
    const out = await deliver(
      hook({ url: base }),
      { ...msg, receiver: 'bad-hook' },
      { clock: systemClock, timeoutMs: 10_000 },
    );
    expect(out.ok).toBe(false);
    expect(out.attempts).toBe(1);
    expect(out.error).toContain('unexpected status code 400: try later');
    const metrics = await registry.getSingleMetricAsString('alertmanager_notifications_failed_total');
    expect(metrics).toContain(
      'alertmanager_notifications_failed_total{integration="webhook",receiver="bad-hook",reason="clientError"} 1',
    );
  });

  it('reports an unreachable receiver as a failed notification', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    // A clock whose sleeps pass at once: the retries run into the 10s minimum deadline without waiting.
    let t = 0;
    const clock = { now: () => t, sleep: async (ms: number) => void (t += ms) };
    const out = await deliver(hook({ url: `http://127.0.0.1:${port}/` }), msg, { clock, timeoutMs: 0 });
    expect(out.ok).toBe(false);
    // Backoffs 0.5, 0.75, 1.125, 1.69, 2.53 s add up to 6.6 s; the next (3.8 s) would pass the deadline.
    expect(out.attempts).toBe(6);
    expect(out.error).toContain('ECONNREFUSED');
  });
});
