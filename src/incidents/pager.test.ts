/**
 * Pages through the real integrations: a local HTTP server stands in for Slack and webhooks, smtp-server for
 * the mail server. Every channel carries the signed acknowledge link.
 */
import { createServer, type Server } from 'node:http';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAlertmanagerConfigText, type AlertmanagerConfig } from '../alerts/config/load.ts';
import type { Incident } from '../state/interface.ts';
import { notifyPager, pageMessage } from './pager.ts';

let http: Server;
let base = '';
const posts: { path: string; body: any }[] = [];
let smtp: SMTPServer;
let smtpPort = 0;
const mails: { to: string[]; raw: string }[] = [];

beforeAll(async () => {
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(req.url === '/down' ? 500 : req.url === '/gone' ? 404 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  smtpPort = (smtp.server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => http.close(() => r()));
  await new Promise<void>((r) => smtp.close(() => r()));
});

const incident: Incident = {
  id: 'ABCD2345',
  title: 'Checkout <errors> & "timeouts"',
  severity: 'critical',
  status: 'triggered',
  assignee: null,
  groupId: 'g',
  policyId: 'p',
  services: ['checkout'],
  components: [],
  alerts: ['fp'],
  labels: {},
  createdAt: 0,
  ackedAt: null,
  ackedBy: null,
  resolvedAt: null,
  resolvedBy: null,
  escalation: { step: 0, loop: 0, nextAt: null },
  version: 1,
  updatedAt: 0,
};
const links = {
  ackUrl: 'http://vigil.test/api/vigil/v1/incidents/ABCD2345/ack?exp=99&sig=s1g',
  resolveUrl: 'http://vigil.test/api/vigil/v1/incidents/ABCD2345/resolve?exp=99&sig=r3s',
  incidentUrl: 'http://vigil.test/incidents/ABCD2345',
};
const msg = pageMessage(
  incident,
  [
    {
      status: 'firing',
      labels: { alertname: 'CheckoutErrors', service: 'checkout' },
      annotations: { summary: 'error rate 7%' },
      startsAt: 0,
      endsAt: undefined,
      generatorURL: '',
      fingerprint: 'fp',
    },
  ],
  links,
  1,
  'http://vigil.test',
);

function config(withSmtp: boolean): AlertmanagerConfig {
  const global = withSmtp
    ? `global:\n  smtp_smarthost: 127.0.0.1:${smtpPort}\n  smtp_from: vigil@example.com\n  smtp_require_tls: false\n`
    : '';
  return loadAlertmanagerConfigText(
    `${global}route:\n  receiver: ops\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: ${base}/ops\n  - name: empty\n`,
    'am.yml',
  );
}

describe('notifyPager', () => {
  const pager = notifyPager(() => config(true));

  it('puts the links into the Slack text', async () => {
    expect(await pager.sendToContact({ type: 'slack', url: `${base}/slack` }, msg)).toEqual({ status: 'ok' });
    const a = posts.find((p) => p.path === '/slack')!.body.attachments[0];
    expect(a.title).toBe('Incident ABCD2345: Checkout <errors> & "timeouts"');
    expect(a.title_link).toBe(links.incidentUrl);
    expect(a.text).toContain(`<${links.ackUrl}|Acknowledge>`);
    expect(a.text).toContain('CheckoutErrors: error rate 7%');
  });

  it('puts the links into the webhook JSON', async () => {
    expect(await pager.sendToContact({ type: 'webhook', url: `${base}/hook` }, msg)).toEqual({
      status: 'ok',
    });
    const body = posts.find((p) => p.path === '/hook')!.body;
    expect(body.commonAnnotations).toMatchObject({
      incident_id: 'ABCD2345',
      ack_url: links.ackUrl,
      escalation_step: '1',
    });
    expect(body.alerts[0].labels.alertname).toBe('CheckoutErrors');
  });

  it('puts the links into the e-mail, escaping the title in HTML', async () => {
    expect(await pager.sendToContact({ type: 'email', address: 'ana@example.com' }, msg)).toEqual({
      status: 'ok',
    });
    const raw = mails.find((m) => m.to.includes('ana@example.com'))!.raw.replace(/=\r?\n/g, '');
    // The subject is MIME-encoded (it holds quotes and angle brackets).
    expect(raw).toMatch(/Subject: =\?UTF-8\?Q\?=5BVigil_CRITICAL=5D_Incident_ABCD2345/);
    expect(raw).toContain('ack?exp=3D99&sig=3Ds1g');
    expect(raw).toContain('&lt;errors&gt;');
  });

  it.each([
    ['a server error', 'webhook', '/down', /webhook: unexpected status code 500/],
    ['a refused request', 'webhook', '/gone', /unexpected status code 404/],
    ['nothing listening', 'slack', 'http://127.0.0.1:1/x', /slack: /],
  ] as const)('reports %s as a failure', async (_n, type, path, error) => {
    const url = path.startsWith('http') ? path : `${base}${path}`;
    const r = await pager.sendToContact({ type, url }, msg);
    expect(r.status).not.toBe('ok');
    expect('error' in r ? r.error : '').toMatch(error);
  });

  it('explains an e-mail page without SMTP settings', async () => {
    const r = await notifyPager(() => config(false)).sendToContact({ type: 'email', address: 'a@b.c' }, msg);
    expect(r).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/set global.smtp_smarthost and global.smtp_from/),
    });
  });

  it('pages a receiver through its integrations, and explains unknown or empty receivers', async () => {
    expect(await pager.sendToReceiver('ops', msg)).toEqual([{ status: 'ok' }]);
    expect(posts.find((p) => p.path === '/ops')!.body.receiver).toBe('ops');
    expect((await pager.sendToReceiver('nope', msg))[0]).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/not configured/),
    });
    expect((await pager.sendToReceiver('empty', msg))[0]).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/no integrations/),
    });
  });
});
