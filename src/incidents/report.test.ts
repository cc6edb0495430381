/**
 * The post-incident report of a demo incident, compared with the committed example
 * (docs/examples/post-incident-report.md). Run with VIGIL_UPDATE_GOLDEN=1 to rewrite the example after an
 * intended change, then review the diff.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent, Page } from '../state/interface.ts';
import { humanDuration, incidentReport } from './report.ts';

const GOLDEN = join(import.meta.dirname, '../../docs/examples/post-incident-report.md');
const T = Date.UTC(2026, 10, 24, 14, 2, 10);
const S = 1000;

const db = {
  alertname: 'PostgresConnectionsExhausted',
  service: 'payments-db',
  severity: 'critical',
  component: 'payments-db',
};
const api = {
  alertname: 'CheckoutErrorRate',
  service: 'checkout',
  severity: 'critical',
  component: 'checkout-api',
};

const incident: Incident = {
  id: 'K7QH2M9D',
  title: 'payments-db: all 100 connections in use',
  severity: 'critical',
  status: 'resolved',
  assignee: 'ana',
  groupId: '3f9a1c07b2d4e815',
  policyId: 'payments',
  services: ['payments-db', 'checkout'],
  components: ['payments-db', 'checkout-api'],
  alerts: ['a1f0c3d2e4b5a697', 'b2e1d4c3f5a6b708'],
  labels: db,
  createdAt: T,
  ackedAt: T + 204 * S,
  ackedBy: 'bob',
  resolvedAt: T + 1930 * S,
  resolvedBy: 'vigil',
  escalation: { step: 1, loop: 0, nextAt: null },
  version: 9,
  updatedAt: T + 1930 * S,
};

let n = 0;
const ev = (offset: number, kind: string, actor: string, detail: IncidentEvent['detail']): IncidentEvent => ({
  id: `e${++n}`,
  incidentId: incident.id,
  at: T + offset * S,
  kind,
  actor,
  detail,
});

const events: IncidentEvent[] = [
  ev(0, 'created', 'vigil', {
    groupId: incident.groupId!,
    policy: 'payments',
    rootCause: 'a1f0c3d2e4b5a697',
    severity: 'critical',
  }),
  ev(0, 'alert_firing', 'vigil', {
    fingerprint: 'a1f0c3d2e4b5a697',
    labels: db,
    startsAt: T - 40 * S,
    generatorURL:
      'http://vigil.example:9400/explore?q=pg_stat_activity_count+%3E%3D+pg_settings_max_connections',
  }),
  ev(0, 'alert_firing', 'vigil', {
    fingerprint: 'b2e1d4c3f5a6b708',
    labels: api,
    startsAt: T - 25 * S,
    generatorURL: '',
  }),
  ev(1, 'page', 'vigil', { step: 0, loop: 0, user: 'ana', channel: 'email' }),
  ev(1, 'page', 'vigil', { step: 0, loop: 0, receiver: 'payments-slack' }),
  ev(181, 'escalated', 'vigil', { step: 1, loop: 0 }),
  ev(183, 'page', 'vigil', {
    step: 1,
    loop: 0,
    user: 'bob',
    channel: 'email',
    fallbackFrom: ['webhook: unexpected status code 503'],
  }),
  ev(204, 'acknowledged', 'bob', { via: 'signed link' }),
  ev(260, 'assigned', 'bob', { assignee: 'ana' }),
  ev(412, 'note', 'ana', {
    text: 'Connection leak in the refund worker since deploy 2026.11.24-3; rolling back.',
  }),
  ev(1500, 'alert_resolved', 'vigil', { fingerprint: 'b2e1d4c3f5a6b708', alertname: 'CheckoutErrorRate' }),
  ev(1930, 'alert_resolved', 'vigil', {
    fingerprint: 'a1f0c3d2e4b5a697',
    alertname: 'PostgresConnectionsExhausted',
  }),
  ev(1930, 'resolved', 'vigil', { reason: 'all linked alerts resolved' }),
];

const page = (
  offset: number,
  step: number,
  userId: string | null,
  channel: string,
  outcome: Page['outcome'],
  error: string | null = null,
): Page => ({
  id: `p${offset}${channel}`,
  incidentId: incident.id,
  step,
  userId,
  channel,
  outcome,
  error,
  at: T + offset * S,
});

const pages: Page[] = [
  page(1, 0, 'ana', 'email', 'delivered'),
  page(1, 0, null, 'receiver:payments-slack', 'delivered'),
  page(182, 1, 'bob', 'webhook', 'failed', 'webhook: unexpected status code 503'),
  page(183, 1, 'bob', 'email', 'delivered'),
];

describe('incidentReport', () => {
  const md = incidentReport({
    incident,
    events,
    pages,
    externalURL: 'http://vigil.example:9400',
    traces: ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7a3ce929d0e0e4736'],
    generatedAt: T + 2000 * S,
  });

  it('matches the committed example', () => {
    if (process.env.VIGIL_UPDATE_GOLDEN === '1') {
      mkdirSync(dirname(GOLDEN), { recursive: true });
      writeFileSync(GOLDEN, md);
    }
    expect(md).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('has the sections a person completes, and escapes table cells', () => {
    for (const s of ['## Impact', '## Root cause', '## Resolution', '## Action items'])
      expect(md).toContain(s);
    const piped = incidentReport({
      incident: { ...incident, title: 'a|b' },
      events: [ev(0, 'note', 'ana', { text: 'x | y\nz' })],
      pages: [],
      externalURL: 'http://v',
    });
    expect(piped).toContain('Note: x \\| y z');
  });

  it('carries the resolution note and the similar-incident suggestion', () => {
    const out = incidentReport({
      incident,
      events: [
        ev(1, 'similar_incidents', 'vigil', {
          text: 'similar past incidents: OLD1 "Checkout errors" (0.90: same alert X)',
        }),
        ev(2, 'resolved', 'ana', { note: 'Rolled back deploy 4821' }),
      ],
      pages: [],
      externalURL: 'http://v',
    });
    expect(out).toContain('What fixed it: Rolled back deploy 4821');
    expect(out).toContain('Resolved (Rolled back deploy 4821)');
    expect(out).toContain('similar past incidents: OLD1');
  });

  it.each([
    [0, '0s'],
    [45_000, '45s'],
    [3_723_000, '1h 2m 3s'],
    [7_200_000, '2h'],
  ])('formats %i ms as %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});
