/**
 * The knowledge base through a real Vigil: an alert with a runbook opens an incident, which is noted and
 * resolved with a resolution note; the alert resolves and fires again later, opening a new incident whose
 * timeline and `/similar` name the old one with its resolution. Search finds incidents by their notes,
 * resolution, labels and services; bad input is refused with the parameter named and changes nothing.
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

let vigil: TestVigil;
let hook: Server;
const dir = tempDir('incidents-kb');
const BASE = '/api/vigil/v1/incidents';

beforeAll(async () => {
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/page`;
  writeFileSync(
    join(dir, 'oncall.yml'),
    `users:
  - id: ana
    contacts:
      - webhook: ${hookUrl}
escalation_policies:
  - id: all
    steps:
      - delay: 1h
        targets: [{user: ana}]
`,
  );
  // No grace: an alert firing again after its incident resolved opens a new incident.
  vigil = await startTestVigil(
    `incidents:
  oncall_file: ${join(dir, 'oncall.yml')}
  reopen_grace: 0s
`,
  );
}, 120_000);

afterAll(async () => {
  await vigil?.stop();
  await new Promise<void>((r) => hook.close(() => r()));
});

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(vigil.url + path, init);
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}
const post = (path: string, body: unknown) =>
  api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const LABELS = {
  alertname: 'CheckoutErrors',
  service: 'checkout',
  severity: 'critical',
  component: 'payments-db',
};
const ANNOTATIONS = {
  summary: 'Checkout error rate above 5%',
  runbook_url: 'https://runbooks.example.com/checkout-errors',
};

async function openIncidentOf(exclude: string[]): Promise<any> {
  return waitFor(
    'an incident opened from the CheckoutErrors alert',
    async () => {
      const { body } = await api(`${BASE}?status=triggered`);
      return (body.incidents as any[]).find((i) => i.alerts.length > 0 && !exclude.includes(i.id));
    },
    60_000,
  );
}

describe('knowledge base end to end', () => {
  it('suggests the resolved incident of the same alert, with its resolution, when it fires again', async () => {
    expect((await post('/api/v2/alerts', [{ labels: LABELS, annotations: ANNOTATIONS }])).status).toBe(200);
    const first = await openIncidentOf([]);
    // The runbook stays on the timeline with the alert.
    const d1 = (await api(`${BASE}/${first.id}`)).body;
    const firing = d1.events.find((e: any) => e.kind === 'alert_firing');
    expect(firing.detail.annotations.runbook_url).toBe(ANNOTATIONS.runbook_url);

    expect(
      (await post(`${BASE}/${first.id}/notes`, { actor: 'ana', text: 'Error spike after deploy 4821' }))
        .status,
    ).toBe(201);
    // A bad resolution note is refused and changes nothing.
    const bad = await post(`${BASE}/${first.id}/resolve`, { actor: 'ana', note: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('resolution note');
    expect((await api(`${BASE}/${first.id}`)).body.incident.status).toBe('triggered');
    const resolved = await post(`${BASE}/${first.id}/resolve`, {
      actor: 'ana',
      note: 'Rolled back deploy 4821; error rate back to 0.1%',
    });
    expect(resolved.status).toBe(200);
    const d1r = (await api(`${BASE}/${first.id}`)).body;
    expect(d1r.events.at(-1)).toMatchObject({
      kind: 'resolved',
      actor: 'ana',
      detail: { note: 'Rolled back deploy 4821; error rate back to 0.1%' },
    });

    // The alert resolves, then fires again: a new incident.
    expect(
      (await post('/api/v2/alerts', [{ labels: LABELS, endsAt: new Date().toISOString() }])).status,
    ).toBe(200);
    await waitFor(
      'the alert to be gone',
      async () => {
        const res = await fetch(`${vigil.url}/api/v2/alerts`);
        const alerts = (await res.json()) as any[];
        return alerts.every((a) => a.labels.alertname !== 'CheckoutErrors') ? true : undefined;
      },
      30_000,
    );
    expect((await post('/api/v2/alerts', [{ labels: LABELS, annotations: ANNOTATIONS }])).status).toBe(200);
    const second = await openIncidentOf([first.id]);
    expect(second.id).not.toBe(first.id);

    const similar = (await api(`${BASE}/${second.id}/similar`)).body.similar as any[];
    expect(similar[0]).toMatchObject({
      id: first.id,
      resolution: 'Rolled back deploy 4821; error rate back to 0.1%',
      resolvedBy: 'ana',
      runbooks: [ANNOTATIONS.runbook_url],
    });
    expect(similar[0].reasons).toEqual(
      expect.arrayContaining(['same alert CheckoutErrors', 'same service checkout']),
    );
    expect(similar[0].score).toBeGreaterThan(0.8);
    expect(similar[0].mttrSeconds).toBeGreaterThanOrEqual(0);

    // The suggestion is in the new incident's timeline, naming the old one and how it was resolved.
    const event = await waitFor('the similar-incidents event', async () => {
      const d = (await api(`${BASE}/${second.id}`)).body;
      return d.events.find((e: any) => e.kind === 'similar_incidents');
    });
    expect(event.detail.text).toContain(`similar past incidents: ${first.id}`);
    expect(event.detail.text).toContain('resolution: Rolled back deploy 4821');
    expect(event.detail.suggestions[0].id).toBe(first.id);
    // The first incident had no history to compare with: no such event.
    expect(d1r.events.some((e: any) => e.kind === 'similar_incidents')).toBe(false);
  });

  it('searches titles, notes, resolutions, labels and services across statuses', async () => {
    await post(BASE, { title: 'Certificate expired on edge', services: ['edge'] });
    const ids = async (q: string) =>
      ((await api(`${BASE}?${q}`)).body.incidents as any[]).map((i) => i.title as string);
    // Only the first incident's note and resolution mention the deploy.
    expect(await ids('q=4821')).toEqual(['Checkout error rate above 5%']);
    expect(await ids('q=checkout')).toHaveLength(2);
    expect(await ids('q=rolled%20back&status=resolved')).toEqual(['Checkout error rate above 5%']);
    expect(await ids('search=certificate')).toEqual(['Certificate expired on edge']);
    expect(await ids('q=component%3Dpayments-db')).toHaveLength(2);
    expect(await ids('q=EDGE')).toEqual(['Certificate expired on edge']);
    expect(await ids('q=checkout%20edge')).toEqual([]);
    expect(await ids('q=checkout&limit=1')).toHaveLength(1);
  });

  it('refuses bad input with the parameter named', async () => {
    const long = await api(`${BASE}?q=${'x'.repeat(501)}`);
    expect(long.status).toBe(400);
    expect(long.body.error).toContain('query parameter q');
    const unknown = await api(`${BASE}/NOPE1234/similar`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain('NOPE1234');
    const { body } = await api(`${BASE}?limit=1`);
    const lim = await api(`${BASE}/${body.incidents[0].id}/similar?limit=0`);
    expect(lim.status).toBe(400);
    expect(lim.body.error).toContain('limit');
  });
});
