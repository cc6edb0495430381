import { describe, expect, it } from 'vitest';
import { fingerprint } from '../model.ts';
import {
  correlate,
  EMPTY_STATE,
  formatDuration,
  memberHash,
  severityRank,
  type CorrelationState,
} from './correlate.ts';
import type { CorrelationAlert, Topology } from './model.ts';

const T = Date.parse('2026-11-27T10:00:00Z');
const MIN = 60_000;

function alert(labels: Record<string, string>, startMin: number, summary = ''): CorrelationAlert {
  const l = { env: 'prod', ...labels };
  return {
    fingerprint: fingerprint(l),
    labels: l,
    annotations: summary ? { summary } : {},
    startsAt: T + startMin * MIN,
  };
}

// frontend → checkout → payments → payments-db; search → search-index (another branch).
const TOPOLOGY: Topology = {
  windowMs: 3_600_000,
  edges: [
    { parent: 'frontend', child: 'checkout', calls: 60_000 },
    { parent: 'checkout', child: 'payments', calls: 18_720 },
    { parent: 'payments', child: 'payments-db', calls: 30_000 },
    { parent: 'frontend', child: 'search', calls: 90_000 },
    { parent: 'search', child: 'search-index', calls: 88_000 },
  ],
};

const db = alert(
  { alertname: 'PostgresDown', service: 'payments-db', severity: 'critical' },
  2,
  'payments-db is down',
);
const pay = alert(
  { alertname: 'HighErrorRate', service: 'payments', severity: 'error' },
  1,
  'payments: 5xx above 5%',
);
const chk = alert(
  { alertname: 'HighLatency', service: 'checkout', severity: 'warning' },
  3,
  'checkout: p99 above 2s',
);
const cert = alert({ alertname: 'CertificateExpiringSoon', service: 'reporting', severity: 'warning' }, 2);
const batch = alert(
  { alertname: 'BatchJobFailed', job: 'nightly-export', severity: 'critical' },
  2,
  'export failed',
);
const idx = alert({ alertname: 'SearchIndexUnavailable', service: 'search-index', severity: 'critical' }, 2);
const srch = alert(
  { alertname: 'HighErrorRate', service: 'search', severity: 'error' },
  3,
  'search: 5xx above 5%',
);

const members = (r: ReturnType<typeof correlate>) =>
  r.groups
    .map((g) => g.members.map((m) => m.labels.alertname + '/' + (m.labels.service ?? m.labels.job)).sort())
    .sort();

describe('correlate', () => {
  it('joins a cascade and ranks the upstream dependency as root cause, even when a symptom fired first', () => {
    const r = correlate([pay, chk, db], TOPOLOGY, EMPTY_STATE, T + 5 * MIN);
    expect(r.groups).toHaveLength(1);
    const g = r.groups[0]!;
    expect(g.rootCause.fingerprint).toBe(db.fingerprint);
    expect(g.severity).toBe('critical');
    expect(g.startedAt).toBe(pay.startsAt);
    expect(g.members[0]!.reasons[0]!.kind).toBe('root-cause');
    const payReasons = g.members.find((m) => m.fingerprint === pay.fingerprint)!.reasons;
    expect(payReasons).toContainEqual({
      kind: 'topology',
      detail: 'payments calls payments-db (500 calls/min)',
      score: 0.9,
    });
    expect(payReasons.find((x) => x.kind === 'time')!.detail).toBe(
      'started 1m before PostgresDown (payments-db)',
    );
    const chkReasons = g.members.find((m) => m.fingerprint === chk.fingerprint)!.reasons;
    expect(chkReasons.find((x) => x.kind === 'topology')!.detail).toBe(
      'checkout calls payments-db via payments (312 calls/min on the thinnest hop)',
    );
  });

  it('keeps unrelated alerts at the same time apart, critical ones included', () => {
    const r = correlate([pay, chk, db, cert, batch], TOPOLOGY, EMPTY_STATE, T + 5 * MIN);
    expect(members(r)).toEqual(
      [
        ['BatchJobFailed/nightly-export'],
        ['CertificateExpiringSoon/reporting'],
        ['HighErrorRate/payments', 'HighLatency/checkout', 'PostgresDown/payments-db'].sort(),
      ].sort(),
    );
    expect(r.groups.find((g) => g.rootCause.fingerprint === batch.fingerprint)!.members[0]!.reasons).toEqual([
      { kind: 'root-cause', detail: 'alone: no related alert', score: 1 },
    ]);
  });

  it('separates two simultaneous causes in different parts of the graph', () => {
    const r = correlate([pay, chk, db, idx, srch], TOPOLOGY, EMPTY_STATE, T + 5 * MIN);
    expect(r.groups).toHaveLength(2);
    expect(r.groups.map((g) => g.rootCause.fingerprint).sort()).toEqual(
      [db.fingerprint, idx.fingerprint].sort(),
    );
  });

  it('joins a node storm through the label scope and names the node alert as root', () => {
    const node = alert(
      { alertname: 'NodeDown', node: 'node-7', job: 'node-exporter', severity: 'critical' },
      0,
    );
    const pods = ['checkout', 'search', 'cart', 'billing'].map((s, k) =>
      alert(
        {
          alertname: 'KubePodNotReady',
          namespace: 'shop',
          node: 'node-7',
          pod: `${s}-${k}`,
          service: s,
          severity: 'warning',
        },
        k * 0.5,
      ),
    );
    const other = alert(
      { alertname: 'ContainerOOMKilled', node: 'node-2', pod: 'x-1', service: 'ledger', severity: 'warning' },
      1,
    );
    const r = correlate([node, ...pods, other], TOPOLOGY, EMPTY_STATE, T + 5 * MIN);
    const big = r.groups[0]!;
    expect(big.members).toHaveLength(5);
    expect(big.rootCause.fingerprint).toBe(node.fingerprint);
    expect(big.members.find((m) => m.fingerprint === pods[0]!.fingerprint)!.reasons).toContainEqual(
      expect.objectContaining({
        kind: 'topology',
        detail: 'NodeDown (node-exporter, node-7) is about node="node-7", which the other runs on',
      }),
    );
    expect(r.groups.find((g) => g.rootCause.fingerprint === other.fingerprint)!.members).toHaveLength(1);
  });

  it('keeps group IDs stable: same members, a grown group, and a new group', () => {
    const a = correlate([pay, db], TOPOLOGY, EMPTY_STATE, T + 3 * MIN);
    expect(a.groups[0]!.id).toBe(memberHash([pay.fingerprint, db.fingerprint]));
    const again = correlate([pay, db], TOPOLOGY, a.state, T + 4 * MIN);
    expect(again.groups[0]!.id).toBe(a.groups[0]!.id);
    const grown = correlate([pay, db, chk], TOPOLOGY, again.state, T + 5 * MIN);
    expect(grown.groups[0]!.id).toBe(a.groups[0]!.id);
    // Same members evaluated from scratch get the same ID too.
    expect(correlate([db, pay], TOPOLOGY, EMPTY_STATE, T + 3 * MIN).groups[0]!.id).toBe(a.groups[0]!.id);
  });

  it('a split keeps the ID with the part that overlaps most', () => {
    const s0 = correlate([pay, chk, db], TOPOLOGY, EMPTY_STATE, T + 5 * MIN);
    const id = s0.groups[0]!.id;
    // A state that put an unrelated alert in the same group: it now leaves; the cascade keeps the ID.
    const forced: CorrelationState = {
      alerts: new Map([
        ...s0.state.alerts,
        [cert.fingerprint, { groupId: id, lastSeen: T + 5 * MIN, startsAt: cert.startsAt, episodes: 1 }],
      ]),
    };
    const r = correlate([pay, chk, db, { ...cert, startsAt: T + 40 * MIN }], TOPOLOGY, forced, T + 41 * MIN, {
      historyScore: 0,
    });
    expect(r.groups.find((g) => g.rootCause.fingerprint === db.fingerprint)!.id).toBe(id);
    expect(r.groups.find((g) => g.rootCause.fingerprint === cert.fingerprint)!.id).not.toBe(id);
  });

  it('brings a flapping alert back to its group, with its episodes and a history reason', () => {
    let st = correlate([pay, chk, db], TOPOLOGY, EMPTY_STATE, T + 5 * MIN);
    const id = st.groups[0]!.id;
    st = correlate([chk, db], TOPOLOGY, st.state, T + 10 * MIN); // payments resolved
    // Fires again 30 minutes later: beyond the time window, only history links it.
    const refire = { ...pay, startsAt: T + 31 * MIN };
    const r = correlate([refire, chk, db], TOPOLOGY, st.state, T + 32 * MIN);
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0]!.id).toBe(id);
    const m = r.groups[0]!.members.find((x) => x.fingerprint === pay.fingerprint)!;
    expect(m.episodes).toBe(2);
    expect(m.reasons.map((x) => x.kind)).toContain('history');
    expect(m.reasons.find((x) => x.detail.startsWith('fired 2 times'))).toBeDefined();
  });

  it('a re-fire after the whole group resolved gets the old group ID back', () => {
    const s0 = correlate([pay, db], TOPOLOGY, EMPTY_STATE, T + 3 * MIN);
    const s1 = correlate([], TOPOLOGY, s0.state, T + 20 * MIN);
    expect(s1.groups).toEqual([]);
    const r = correlate([{ ...db, startsAt: T + 30 * MIN }], TOPOLOGY, s1.state, T + 31 * MIN);
    expect(r.groups[0]!.id).toBe(s0.groups[0]!.id);
    // After the memory expired, it is a new incident.
    const later = correlate([{ ...db, startsAt: T + 200 * MIN }], TOPOLOGY, s1.state, T + 200 * MIN);
    expect(later.groups[0]!.id).toBe(memberHash([db.fingerprint]));
  });

  it('works without a service graph, from shared service labels and similarity', () => {
    const a = alert(
      { alertname: 'HighErrorRate', service: 'api', instance: 'api-1', severity: 'error' },
      0,
      'api: 5xx above 5%',
    );
    const b = alert(
      { alertname: 'HighErrorRate', service: 'api', instance: 'api-2', severity: 'error' },
      1,
      'api: 5xx above 5%',
    );
    const r = correlate([a, b, cert], { edges: [], windowMs: 3_600_000 }, EMPTY_STATE, T + 2 * MIN);
    expect(members(r)).toEqual([
      ['CertificateExpiringSoon/reporting'],
      ['HighErrorRate/api', 'HighErrorRate/api'],
    ]);
  });

  it('handles no alerts and duplicate fingerprints', () => {
    expect(correlate([], TOPOLOGY, EMPTY_STATE, T).groups).toEqual([]);
    expect(correlate([db, db], TOPOLOGY, EMPTY_STATE, T + MIN).groups[0]!.members).toHaveLength(1);
  });
});

describe('helpers', () => {
  it.each([
    [0, '0s'],
    [45_000, '45s'],
    [90_000, '1m30s'],
    [-120_000, '2m'],
    [3_900_000, '1h5m'],
  ])('formatDuration(%d) = %s', (ms, s) => expect(formatDuration(ms)).toBe(s));

  it.each([
    ['critical', 3],
    ['P1', 3],
    ['warn', 1],
    ['info', 0],
    ['purple', -1],
    [undefined, -1],
  ])('severityRank(%s) = %d', (v, n) => expect(severityRank(v)).toBe(n));
});
