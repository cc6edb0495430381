import { describe, expect, it } from 'vitest';
import type { Incident, Page } from '../state/interface.ts';
import { incidentAnalytics } from './analytics.ts';

const H = 3_600_000;

function inc(id: string, o: Partial<Incident>): Incident {
  return {
    id,
    title: id,
    severity: 'critical',
    status: 'resolved',
    assignee: null,
    groupId: null,
    policyId: null,
    services: [],
    components: [],
    alerts: [],
    labels: {},
    createdAt: 0,
    ackedAt: null,
    ackedBy: null,
    resolvedAt: null,
    resolvedBy: null,
    escalation: { step: 0, loop: 0, nextAt: null },
    version: 1,
    updatedAt: 0,
    ...o,
  };
}

const page = (userId: string | null, outcome: Page['outcome'], at: number): Page => ({
  id: `${userId}-${at}`,
  incidentId: 'x',
  step: 0,
  userId,
  channel: 'email',
  outcome,
  error: null,
  at,
});

describe('incidentAnalytics', () => {
  const incidents = [
    inc('a', {
      createdAt: 0,
      ackedAt: 60_000,
      ackedBy: 'ana',
      resolvedAt: 600_000,
      services: ['checkout'],
      components: ['db'],
    }),
    inc('b', {
      createdAt: H,
      ackedAt: H + 180_000,
      ackedBy: 'bob',
      resolvedAt: H + 1_200_000,
      services: ['checkout', 'cart'],
      components: ['db', 'db'],
    }),
    inc('c', {
      createdAt: 2 * H,
      severity: 'warning',
      status: 'triggered',
      services: ['cart'],
      assignee: 'ana',
    }),
    inc('outside', { createdAt: 5 * H, ackedAt: 5 * H + 1, resolvedAt: 5 * H + 2 }),
  ];
  const teams = [
    { id: 'payments', name: 'Payments', members: ['ana'] },
    { id: 'platform', name: 'Platform', members: ['bob', 'ana'] },
  ];
  const a = incidentAnalytics(
    incidents,
    [
      page('ana', 'delivered', 10),
      page('bob', 'failed', 20),
      page('bob', 'delivered', 30),
      page(null, 'delivered', 40),
      page('ana', 'delivered', 5 * H),
    ],
    teams,
    { from: 0, to: 3 * H, intervalMs: H },
  );

  it('computes MTTA and MTTR overall and per service, severity and team', () => {
    expect(a.overall).toEqual({
      incidents: 3,
      acknowledged: 2,
      resolved: 2,
      mttaSeconds: 120,
      mttrSeconds: 900,
    });
    expect(a.byService).toEqual({
      cart: { incidents: 2, acknowledged: 1, resolved: 1, mttaSeconds: 180, mttrSeconds: 1200 },
      checkout: { incidents: 2, acknowledged: 2, resolved: 2, mttaSeconds: 120, mttrSeconds: 900 },
    });
    expect(a.bySeverity.warning).toEqual({
      incidents: 1,
      acknowledged: 0,
      resolved: 0,
      mttaSeconds: null,
      mttrSeconds: null,
    });
    expect(a.byTeam.payments!.incidents).toBe(2);
    expect(a.byTeam.platform!.incidents).toBe(3);
  });

  it('buckets over time and counts pages per person and incidents per component', () => {
    expect(a.overTime.map((b) => [b.start, b.incidents, b.mttaSeconds])).toEqual([
      [0, 1, 60],
      [H, 1, 180],
      [2 * H, 1, null],
    ]);
    expect(a.pagesPerUser).toEqual({ ana: { delivered: 1, failed: 0 }, bob: { delivered: 1, failed: 1 } });
    expect(a.incidentsPerComponent).toEqual({ db: 2 });
  });
});
