/**
 * A full escalation through a real Vigil: an alert fires, the on-call user of the primary schedule is paged
 * by e-mail (a real SMTP server) while the ops webhook receiver gets the page JSON, nobody acknowledges, the
 * policy escalates to the secondary schedule (whose user's webhook fails, so e-mail is the fallback), the
 * page's signed link, opened (which changes nothing) and confirmed by its button, acknowledges (forged and
 * expired links are refused first), the alert resolves and so does
 * the incident; the timeline, MTTA/MTTR, pages, metrics, CLI and report are checked.
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentCommand } from '../src/cli/incident.ts';
import { signLink } from '../src/incidents/links.ts';
import { startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

let vigil: TestVigil;
let http: Server;
let hookBase = '';
const hooks: { path: string; body: any }[] = [];
let smtp: SMTPServer;
const mails: { to: string[]; raw: string }[] = [];
const dir = tempDir('incidents');

/** The text of a MIME message with quoted-printable soft breaks and escapes undone (enough to find links). */
function decoded(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function ackLink(text: string): string {
  const m = /(http:\/\/[^\s"<>]+\/ack\?exp=\d+&(?:amp;)?sig=[A-Za-z0-9_-]+)/.exec(text);
  if (!m) throw new Error(`no acknowledge link in:\n${text}`);
  return m[1]!.replace('&amp;', '&');
}

beforeAll(async () => {
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ path: req.url!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      // Bob's webhook is down: his page falls back to e-mail.
      res.writeHead(req.url === '/bob' ? 503 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  hookBase = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
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
  const smtpPort = (smtp.server.address() as { port: number }).port;

  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `global:
  smtp_smarthost: 127.0.0.1:${smtpPort}
  smtp_from: vigil@example.com
  smtp_require_tls: false
route:
  receiver: default
receivers:
  - name: default
  - name: ops-webhook
    webhook_configs:
      - url: ${hookBase}/ops
`,
  );
  writeFileSync(
    join(dir, 'oncall.yml'),
    `users:
  - id: ana
    name: Ana Lima
    contacts:
      - email: ana@example.com
  - id: bob
    name: Bob Stone
    contacts:
      - webhook: ${hookBase}/bob
      - email: bob@example.com
teams:
  - id: checkout-team
    members: [ana, bob]
schedules:
  - id: primary
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        users: [ana]
        rotation: weekly
        start: '2026-01-05T09:00'
  - id: secondary
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        users: [bob]
        rotation: weekly
        start: '2026-01-05T09:00'
escalation_policies:
  - id: checkout
    match: ['service="checkout"']
    severities: [critical]
    steps:
      - delay: 2s
        targets: [{schedule: primary}, {receiver: ops-webhook}]
      - delay: 1h
        targets: [{schedule: secondary}]
`,
  );
  vigil = await startTestVigil(
    `alerting:
  config_file: ${join(dir, 'alertmanager.yml')}
incidents:
  oncall_file: ${join(dir, 'oncall.yml')}
`,
  );
}, 120_000);

afterAll(async () => {
  await vigil?.stop();
  await new Promise<void>((r) => http.close(() => r()));
  await new Promise<void>((r) => smtp.close(() => r()));
});

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(vigil.url + path, init);
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const post = (path: string, body: unknown) =>
  api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const ALERT = {
  alertname: 'CheckoutErrors',
  service: 'checkout',
  severity: 'critical',
  component: 'payments-db',
};

describe('incidents end to end', () => {
  it('pages, escalates, is acknowledged through the signed link and resolves with an exact timeline', async () => {
    expect(
      (
        await post('/api/v2/alerts', [
          { labels: ALERT, annotations: { summary: 'Checkout error rate above 5%' } },
        ])
      ).status,
    ).toBe(200);

    // Step 0: Ana (on call in "primary") by e-mail, and the ops webhook receiver.
    const anaMail = await waitFor('the page e-mail to ana', async () =>
      mails.find((m) => m.to.includes('ana@example.com')),
    );
    const anaText = decoded(anaMail.raw);
    expect(anaText).toContain('Checkout error rate above 5%');
    const ops = await waitFor('the ops webhook page', async () => hooks.find((h) => h.path === '/ops'));
    const id: string = ops.body.commonAnnotations.incident_id;
    expect(ops.body.commonAnnotations.ack_url).toMatch(
      new RegExp(`/api/vigil/v1/incidents/${id}/ack\\?exp=\\d+&sig=`),
    );
    expect(ops.body.alerts[0].labels).toMatchObject(ALERT);
    expect(ackLink(anaText)).toContain(`/incidents/${id}/ack`);

    // Nobody acknowledges: after 2 s, step 1 pages Bob ("secondary"): his webhook fails, e-mail delivers.
    const bobMail = await waitFor('the escalation e-mail to bob', async () =>
      mails.find((m) => m.to.includes('bob@example.com')),
    );
    expect(hooks.some((h) => h.path === '/bob')).toBe(true);

    // Forged and expired links change nothing.
    const link = new URL(ackLink(decoded(bobMail.raw)));
    const forged = new URL(link);
    forged.searchParams.set(
      'sig',
      link.searchParams.get('sig')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    const forgedRes = await api(forged.pathname + forged.search);
    expect(forgedRes.status).toBe(403);
    expect(forgedRes.body.error).toMatch(/signature is not valid.*nothing was changed/);
    const past = Date.now() - 1000;
    const expired = `/api/vigil/v1/incidents/${id}/ack?exp=${past}&sig=${signLink(await vigil.incidents.linkSecret(), id, 'ack', past)}`;
    const expiredRes = await api(expired);
    expect(expiredRes.status).toBe(403);
    expect(expiredRes.body.error).toMatch(/expired/);
    const resolveWithAckSig = `/api/vigil/v1/incidents/${id}/resolve${link.search}`;
    expect((await api(resolveWithAckSig)).status).toBe(403);
    // The server parses HTML forms for Prometheus clients, but a cross-site form cannot act on incidents.
    const formNote = await api(`/api/vigil/v1/incidents/${id}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'text=hi&actor=mallory',
    });
    expect(formNote.status).toBe(415);
    expect((await api(`/api/vigil/v1/incidents/${id}`)).body.incident.status).toBe('triggered');

    // Opening the real link (as a browser, or a link scanner) changes nothing: it shows the incident and a
    // button. The button's form POST acknowledges; a second acknowledgement is told who was first.
    const opened = await api(link.pathname + link.search, { headers: { accept: 'text/html' } });
    expect(opened.status).toBe(200);
    expect(opened.body).toContain('Checkout error rate above 5%');
    expect(opened.body).toContain('<form method="post" action="ack">');
    expect((await api(`/api/vigil/v1/incidents/${id}`)).body.incident.status).toBe('triggered');
    const acked = await api(link.pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ exp: link.searchParams.get('exp')!, sig: link.searchParams.get('sig')! }),
    });
    expect(acked.status).toBe(200);
    expect(acked.body.incident).toMatchObject({ id, status: 'acknowledged', ackedBy: 'link' });
    const again = await post(`/api/vigil/v1/incidents/${id}/ack`, { actor: 'ana' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/already acknowledged by link/);

    // The CLI sees it.
    let out = '';
    expect(await incidentCommand(['list', '--url', vigil.url], (s) => (out += s))).toBe(0);
    expect(out).toMatch(new RegExp(`${id}\\s+acknowledged\\s+critical`));

    // The alert resolves: the incident resolves by itself.
    expect((await post('/api/v2/alerts', [{ labels: ALERT, endsAt: new Date().toISOString() }])).status).toBe(
      200,
    );
    const detail = await waitFor('the incident to resolve', async () => {
      const d = (await api(`/api/vigil/v1/incidents/${id}`)).body;
      return d.incident.status === 'resolved' ? d : undefined;
    });
    const inc = detail.incident;
    expect(inc).toMatchObject({
      severity: 'critical',
      policyId: 'checkout',
      services: ['checkout'],
      components: ['payments-db'],
      resolvedBy: 'vigil',
    });
    expect(detail.events.map((e: { kind: string }) => e.kind)).toEqual([
      'created',
      'alert_firing',
      'page',
      'page',
      'escalated',
      'page',
      'acknowledged',
      'alert_resolved',
      'resolved',
    ]);
    const pages = detail.pages.map((p: any) => [p.step, p.userId, p.channel, p.outcome]);
    expect(pages).toEqual(
      expect.arrayContaining([
        [0, 'ana', 'email', 'delivered'],
        [0, null, 'receiver:ops-webhook', 'delivered'],
        [1, 'bob', 'webhook', 'failed'],
        [1, 'bob', 'email', 'delivered'],
      ]),
    );
    expect(pages).toHaveLength(4);
    // Escalation came after the step delay, measured on the same clock the incident records.
    const escalatedAt = detail.events.find((e: { kind: string }) => e.kind === 'escalated').at;
    expect(escalatedAt - inc.createdAt).toBeGreaterThanOrEqual(2000);

    // MTTA and MTTR are exactly the recorded differences.
    const a = (await api(`/api/vigil/v1/incidents/analytics?since=${inc.createdAt - 1000}`)).body;
    expect(a.overall).toEqual({
      incidents: 1,
      acknowledged: 1,
      resolved: 1,
      mttaSeconds: (inc.ackedAt - inc.createdAt) / 1000,
      mttrSeconds: (inc.resolvedAt - inc.createdAt) / 1000,
    });
    expect(a.byService.checkout.mttaSeconds).toBe((inc.ackedAt - inc.createdAt) / 1000);
    expect(a.bySeverity.critical.incidents).toBe(1);
    expect(a.pagesPerUser).toEqual({ ana: { delivered: 1, failed: 0 }, bob: { delivered: 1, failed: 1 } });
    expect(a.incidentsPerComponent).toEqual({ 'payments-db': 1 });

    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toMatch(/vigil_incident_mtta_seconds_count\{severity="critical"\} 1/);
    expect(metrics).toMatch(/vigil_incident_pages_total\{channel="webhook",outcome="failed"\} 1/);

    const report = await api(`/api/vigil/v1/incidents/${id}/report.md`);
    expect(report.status).toBe(200);
    for (const section of ['## Impact', '## Root cause', '## Timeline', '## Resolution', '## Action items'])
      expect(report.body).toContain(section);
    expect(report.body).toContain('CheckoutErrors');
  }, 60_000);

  it('refuses policies naming unknown users, and deleting users still referenced', async () => {
    const bad = await post('/api/vigil/v1/escalation-policies', {
      id: 'broken',
      steps: [{ delayMinutes: 5, targets: [{ type: 'user', id: 'zed' }, { schedule: 'nope' }] }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/unknown user "zed"/);
    expect(bad.body.details).toEqual([
      { path: 'steps[0].targets[0].user', message: 'unknown user "zed"' },
      { path: 'steps[0].targets[1].schedule', message: 'unknown schedule "nope"' },
    ]);
    const del = await api('/api/vigil/v1/users/ana', { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(del.body.error).toMatch(/team checkout-team.*schedule primary/);
    const oncall = await api('/api/vigil/v1/schedules/primary/oncall');
    expect(oncall.body.users).toEqual(['ana']);
    const ics = await api('/api/vigil/v1/schedules/primary.ics');
    expect(ics.body).toContain('BEGIN:VCALENDAR');
  });
});
