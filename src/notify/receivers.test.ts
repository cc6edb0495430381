/**
 * Slack, PagerDuty, Microsoft Teams and e-mail integrations against real local receivers: an HTTP server
 * standing in for the vendors' endpoints and an SMTP server (smtp-server), checking the bytes they get.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../rules/clock.ts';
import { loadAlertmanagerConfigText } from '../alerts/config/load.ts';
import { deliver } from './deliver.ts';
import type { NotificationMessage } from './message.ts';
import { buildIntegrations } from './receivers.ts';

let http: Server;
let httpBase = '';
const posts: { path: string; body: any; headers: IncomingHttpHeaders }[] = [];
let smtp: SMTPServer;
let smtpPort = 0;
const mails: { from: string; to: string[]; raw: string; user?: string }[] = [];
const dir = mkdtempSync(join(tmpdir(), 'vigil-receivers-'));

beforeAll(async () => {
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({
        path: req.url!,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        headers: req.headers,
      });
      res.writeHead(req.url === '/pd' ? 202 : 200).end(req.url === '/pd' ? '{"status":"success"}' : 'ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpBase = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  smtp = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, cb) {
      if (auth.username === 'am' && auth.password === 'secret') cb(null, { user: 'am' });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: (session.envelope.mailFrom as { address: string }).address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
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
  rmSync(dir, { recursive: true, force: true });
});

const msg = (status: 'firing' | 'resolved'): NotificationMessage => ({
  id: 'n1',
  groupId: 'c0ffee',
  groupKey: '{}:{alertname="DiskFull"}',
  receiver: 'all',
  status,
  alerts: [
    {
      status,
      labels: { alertname: 'DiskFull', instance: 'db1', severity: 'critical' },
      annotations: { summary: 'disk full on db1' },
      startsAt: Date.parse('2026-02-03T04:05:06Z'),
      endsAt: status === 'resolved' ? Date.parse('2026-02-03T05:00:00Z') : undefined,
      generatorURL: 'http://prom/graph',
      fingerprint: 'f1',
    },
  ],
  groupLabels: { alertname: 'DiskFull' },
  commonLabels: { alertname: 'DiskFull', instance: 'db1', severity: 'critical' },
  commonAnnotations: { summary: 'disk full on db1' },
  externalURL: 'http://vigil:9093',
});

function integrations() {
  writeFileSync(
    join(dir, 'custom.tmpl'),
    '{{ define "custom.title" }}Vigil says: {{ .CommonAnnotations.summary }}{{ end }}',
  );
  const cfg = loadAlertmanagerConfigText(
    `global:
  slack_api_url: ${httpBase}/slack
  pagerduty_url: ${httpBase}/pd
  smtp_smarthost: 127.0.0.1:${smtpPort}
  smtp_from: vigil@example.org
  smtp_require_tls: false
templates: ['*.tmpl']
route: {receiver: all}
receivers:
  - name: all
    slack_configs:
      - channel: '#ops'
        title: '{{ template "custom.title" . }}'
        fields: [{title: Severity, value: '{{ .CommonLabels.severity }}', short: true}]
    pagerduty_configs:
      - routing_key: rk-123
        severity: '{{ .CommonLabels.severity }}'
    msteams_configs:
      - webhook_url: ${httpBase}/teams
    email_configs:
      - to: oncall@example.org
        auth_username: am
        auth_password: secret
        headers: {X-Team: ops}
        text: '{{ template "email.default.text" . }}'
`,
    join(dir, 'am.yml'),
  );
  return buildIntegrations(cfg).get('all')!;
}

describe('receiver integrations', () => {
  it('builds one integration per configured entry', () => {
    expect(integrations().map((i) => `${i.name}[${i.index}]`)).toEqual([
      'slack[0]',
      'email[0]',
      'pagerduty[0]',
      'msteams[0]',
    ]);
  });

  it('Slack: attachment with the default and custom templates', async () => {
    posts.length = 0;
    const slack = integrations().find((i) => i.name === 'slack')!;
    expect(await deliver(slack, msg('firing'), { clock: systemClock, timeoutMs: 10_000 })).toMatchObject({
      ok: true,
    });
    expect(posts[0]!.path).toBe('/slack');
    expect(posts[0]!.body).toEqual({
      channel: '#ops',
      username: 'Vigil',
      attachments: [
        {
          title: 'Vigil says: disk full on db1',
          title_link: 'http://vigil:9093/#/alerts?receiver=all',
          pretext: '',
          text: '',
          fallback: '[FIRING:1] DiskFull (db1 critical) | http://vigil:9093/#/alerts?receiver=all',
          callback_id: '',
          footer: '',
          color: 'danger',
          mrkdwn_in: ['fallback', 'pretext', 'text'],
          fields: [{ title: 'Severity', value: 'critical', short: true }],
        },
      ],
    });
  });

  it('PagerDuty: Events API v2 trigger and resolve with the group as dedup key', async () => {
    posts.length = 0;
    const pd = integrations().find((i) => i.name === 'pagerduty')!;
    await deliver(pd, msg('firing'), { clock: systemClock, timeoutMs: 10_000 });
    await deliver(pd, msg('resolved'), { clock: systemClock, timeoutMs: 10_000 });
    expect(posts.map((p) => p.path)).toEqual(['/pd', '/pd']);
    expect(posts[0]!.body).toMatchObject({
      routing_key: 'rk-123',
      event_action: 'trigger',
      dedup_key: 'c0ffee',
      client: 'Vigil',
      client_url: 'http://vigil:9093/#/alerts?receiver=all',
      payload: {
        summary: '[FIRING:1] DiskFull (db1 critical)',
        source: 'Vigil',
        severity: 'critical',
        custom_details: { num_firing: '1', num_resolved: '0' },
      },
    });
    expect(posts[0]!.body.payload.custom_details.firing).toContain(' - instance = db1');
    expect(posts[1]!.body).toEqual({ routing_key: 'rk-123', event_action: 'resolve', dedup_key: 'c0ffee' });
  });

  it('Microsoft Teams: MessageCard', async () => {
    posts.length = 0;
    const teams = integrations().find((i) => i.name === 'msteams')!;
    await deliver(teams, msg('resolved'), { clock: systemClock, timeoutMs: 10_000 });
    expect(posts[0]!.body).toMatchObject({
      '@context': 'http://schema.org/extensions',
      type: 'MessageCard',
      title: '[RESOLVED] DiskFull (db1 critical)',
      themeColor: '2DC72D',
    });
    expect(posts[0]!.body.text).toContain('# Alerts Resolved:');
  });

  it('e-mail: SMTP with auth, headers, HTML and text bodies', async () => {
    mails.length = 0;
    const email = integrations().find((i) => i.name === 'email')!;
    expect(await deliver(email, msg('firing'), { clock: systemClock, timeoutMs: 10_000 })).toMatchObject({
      ok: true,
    });
    expect(mails).toHaveLength(1);
    const m = mails[0]!;
    expect(m).toMatchObject({ from: 'vigil@example.org', to: ['oncall@example.org'], user: 'am' });
    expect(m.raw).toContain('Subject: [FIRING:1] DiskFull (db1 critical)');
    expect(m.raw).toContain('X-Team: ops');
    expect(m.raw).toContain('text/html');
    expect(m.raw).toContain('1 alert firing:');
  });

  it("e-mail: a refused login is a failed notification with the server's answer", async () => {
    const cfg = loadAlertmanagerConfigText(
      `route: {receiver: m}
receivers:
  - name: m
    email_configs:
      - {to: a@example.org, from: b@example.org, smarthost: '127.0.0.1:${smtpPort}', require_tls: false, auth_username: am, auth_password: wrong}
`,
      'am.yml',
    );
    const email = buildIntegrations(cfg).get('m')![0]!;
    const out = await deliver(email, msg('firing'), { clock: systemClock, timeoutMs: 10_000 });
    expect(out.ok).toBe(false);
    expect(out.error).toContain('invalid credentials');
  });
});
