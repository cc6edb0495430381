import { describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent } from '../state/interface.ts';
import {
  factsOf,
  matchesQuery,
  queryTerms,
  runbookOf,
  similarIncidents,
  similarSummary,
  tokens,
  type IncidentFacts,
} from './similar.ts';

let seq = 0;
function inc(p: Partial<Incident> & { id: string }): Incident {
  return {
    title: 'Something broke',
    severity: 'critical',
    status: 'resolved',
    assignee: null,
    groupId: null,
    policyId: null,
    services: [],
    components: [],
    alerts: [],
    labels: {},
    createdAt: 1_000_000,
    ackedAt: null,
    ackedBy: null,
    resolvedAt: 1_600_000,
    resolvedBy: 'ana',
    escalation: { step: 0, loop: 0, nextAt: null },
    version: 1,
    updatedAt: 0,
    ...p,
  };
}

function ev(incidentId: string, kind: string, detail: IncidentEvent['detail'], at = ++seq): IncidentEvent {
  return { id: `e${seq}`, incidentId, at, kind, actor: 'ana', detail };
}

const firing = (id: string, labels: Record<string, string>, annotations: Record<string, string> = {}) =>
  ev(id, 'alert_firing', { labels, annotations });

function facts(p: Partial<Incident> & { id: string }, events: IncidentEvent[] = []): IncidentFacts {
  return factsOf(inc(p), events);
}

describe('factsOf', () => {
  it('reads alerts, labels, runbooks, notes and the resolution from the timeline', () => {
    const f = facts({ id: 'A', labels: { service: 'checkout', alertname: 'CheckoutErrors' } }, [
      firing(
        'A',
        { alertname: 'CheckoutErrors', service: 'checkout', pod: 'co-1' },
        { runbook_url: 'https://rb/co' },
      ),
      firing('A', { alertname: 'DbSlow', service: 'checkout' }, { runbook: 'see wiki' }),
      ev('A', 'note', { text: 'looked at db' }),
      ev('A', 'note', { text: 'rolled back 4821' }),
      ev('A', 'resolved', { note: 'rolled back deploy 4821' }),
    ]);
    expect(f.alertnames).toEqual(['CheckoutErrors', 'DbSlow']);
    expect(f.labelPairs).toEqual(['pod=co-1', 'service=checkout']);
    expect(f.runbooks).toEqual(['https://rb/co', 'see wiki']);
    expect(f.notes).toEqual(['looked at db', 'rolled back 4821']);
    expect(f.resolution).toBe('rolled back deploy 4821');
  });

  it.each([
    ['the resolve note', [ev('X', 'note', { text: 'n1' }), ev('X', 'resolved', { note: 'fix' })], 'fix'],
    ['else the last note', [ev('X', 'note', { text: 'n1' }), ev('X', 'note', { text: 'n2' })], 'n2'],
    [
      'else the reason',
      [ev('X', 'resolved', { reason: 'all linked alerts resolved' })],
      'all linked alerts resolved',
    ],
    ['else nothing', [], null],
  ])('resolution is %s', (_, events, want) => {
    expect(facts({ id: 'X' }, events).resolution).toBe(want);
  });
});

describe('runbookOf', () => {
  it.each([
    [{ runbook_url: 'https://a' }, 'https://a'],
    [{ runbook: 'https://b' }, 'https://b'],
    [{ runbook_url: ' ', runbook: 'x' }, 'x'],
    [{ summary: 's' }, undefined],
    [null, undefined],
  ])('%j → %s', (a, want) => expect(runbookOf(a)).toBe(want));
});

describe('search', () => {
  const f = facts(
    {
      id: 'ABC123',
      title: 'Checkout error rate above 5%',
      services: ['checkout'],
      components: ['payments-db'],
    },
    [
      firing('ABC123', { alertname: 'CheckoutErrors', region: 'eu' }),
      ev('ABC123', 'resolved', { note: 'Rolled back deploy 4821' }),
    ],
  );
  it.each([
    ['checkout', true],
    ['CHECKOUT errors', true],
    ['deploy 4821', true],
    ['"rolled back"', true],
    ['"back rolled"', false],
    ['payments-db', true],
    ['region=eu', true],
    ['abc123', true],
    ['checkout mongo', false],
    ['', true],
  ])('%j matches: %s', (q, want) => expect(matchesQuery(f, queryTerms(q))).toBe(want));
});

describe('tokens', () => {
  it('splits camelCase, drops stop words, digits-only words and single letters', () => {
    expect(tokens('CheckoutErrors on the checkout-api: 5% x 4821 v2')).toEqual([
      'checkout',
      'errors',
      'checkout',
      'api',
      'v2',
    ]);
  });
});

describe('similarIncidents', () => {
  const target = facts(
    {
      id: 'NEW',
      status: 'triggered',
      resolvedAt: null,
      title: 'Checkout error rate above 5%',
      services: ['checkout'],
      components: ['payments-db'],
      labels: { service: 'checkout', env: 'prod' },
    },
    [firing('NEW', { alertname: 'CheckoutErrors', service: 'checkout', env: 'prod' })],
  );
  const sameAlert = facts(
    {
      id: 'OLD1',
      title: 'Checkout error rate above 5%',
      services: ['checkout'],
      components: ['payments-db'],
      labels: { service: 'checkout', env: 'prod' },
      createdAt: 100,
      resolvedAt: 100 + 720_000,
    },
    [
      firing(
        'OLD1',
        { alertname: 'CheckoutErrors', service: 'checkout', env: 'prod' },
        { runbook_url: 'https://rb' },
      ),
      ev('OLD1', 'resolved', { note: 'Rolled back deploy 4821' }),
    ],
  );
  const sameService = facts(
    { id: 'OLD2', title: 'Checkout latency high', services: ['checkout'], labels: { service: 'checkout' } },
    [firing('OLD2', { alertname: 'CheckoutLatency', service: 'checkout' })],
  );
  const unrelated = facts(
    { id: 'OLD3', title: 'Certificate expired', services: ['edge'], labels: { service: 'edge' } },
    [firing('OLD3', { alertname: 'CertExpiry', service: 'edge' })],
  );
  const stillOpen = facts(
    {
      id: 'OPEN',
      status: 'acknowledged',
      resolvedAt: null,
      title: 'Checkout error rate above 5%',
      services: ['checkout'],
    },
    [firing('OPEN', { alertname: 'CheckoutErrors', service: 'checkout' })],
  );

  it('ranks the same alert first, then the same service; drops unrelated and open ones', () => {
    const got = similarIncidents(target, [unrelated, sameService, stillOpen, sameAlert, target]);
    expect(got.map((s) => s.id)).toEqual(['OLD1', 'OLD2']);
    const [best] = got;
    expect(best!.score).toBeGreaterThan(0.9);
    expect(best!.reasons).toEqual([
      'same alert CheckoutErrors',
      'same service checkout',
      'same component payments-db',
      '2 shared labels',
      'similar text (checkout, error, rate)',
    ]);
    expect(best!.resolution).toBe('Rolled back deploy 4821');
    expect(best!.mttrSeconds).toBe(720);
    expect(best!.runbooks).toEqual(['https://rb']);
    expect(got[1]!.reasons[0]).toBe('same service checkout');
    expect(similarSummary(got.slice(0, 1))).toBe(
      'similar past incidents: OLD1 "Checkout error rate above 5%" (1.00: same alert CheckoutErrors, same service checkout, same component payments-db, 2 shared labels, similar text (checkout, error, rate); resolution: Rolled back deploy 4821)',
    );
  });

  it.each([
    ['limit', { limit: 1 }, ['OLD1']],
    ['a high minimum score', { minScore: 0.95 }, ['OLD1']],
    // "Checkout latency high" shares one word only: below the minimum score on text alone.
    ['text only', { weights: { alerts: 0, labels: 0, services: 0, text: 1 } }, ['OLD1']],
    ['services only', { weights: { alerts: 0, labels: 0, services: 1, text: 0 } }, ['OLD1', 'OLD2']],
  ])('honours %s', (_, opts, want) => {
    expect(similarIncidents(target, [unrelated, sameService, sameAlert], opts).map((s) => s.id)).toEqual(
      want,
    );
  });

  it('weights a rare shared alert above a common one', () => {
    const noisy = (id: string, extra: string) =>
      facts({ id, title: 'x', createdAt: 5 }, [
        firing(id, { alertname: 'HostDown' }),
        firing(id, { alertname: extra }),
      ]);
    const t = facts({ id: 'T', status: 'triggered', title: 'y' }, [
      firing('T', { alertname: 'HostDown' }),
      firing('T', { alertname: 'DiskFull' }),
    ]);
    const pool = [noisy('N1', 'A1'), noisy('N2', 'A2'), noisy('N3', 'A3'), noisy('RARE', 'DiskFull')];
    // RARE shares HostDown too; a candidate sharing only the rare DiskFull still beats one sharing HostDown.
    const onlyRare = facts({ id: 'R2', title: 'z', createdAt: 4 }, [firing('R2', { alertname: 'DiskFull' })]);
    const got = similarIncidents(t, [...pool, onlyRare], { minScore: 0 });
    expect(got[0]!.id).toBe('RARE');
    expect(got.findIndex((s) => s.id === 'R2')).toBeLessThan(got.findIndex((s) => s.id === 'N1'));
  });

  it('scores a hand-made incident (no alerts) by services and text alone', () => {
    const manual = facts({
      id: 'M',
      status: 'triggered',
      title: 'Checkout errors after deploy',
      services: ['checkout'],
    });
    const got = similarIncidents(manual, [sameAlert, unrelated]);
    expect(got.map((s) => s.id)).toEqual(['OLD1']);
    expect(got[0]!.reasons[0]).toBe('same service checkout');
  });

  it('suggests nothing from an empty history or a target with nothing to compare', () => {
    expect(similarIncidents(target, [])).toEqual([]);
    expect(similarIncidents(facts({ id: 'E', title: 'the a' }), [sameAlert])).toEqual([]);
  });
});
