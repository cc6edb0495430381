import { describe, expect, it } from 'vitest';
import { Correlator } from './correlator.ts';
import type { CorrelationAlert, Topology } from './model.ts';

const T0 = Date.parse('2026-05-04T10:00:00Z');

function alert(name: string, service: string, startsAt: number): CorrelationAlert {
  return {
    fingerprint: `${name}-${service}`,
    labels: { alertname: name, service },
    annotations: {},
    startsAt,
  };
}

function setup(topology?: () => Promise<Topology>) {
  let alerts: CorrelationAlert[] = [];
  let version = 0;
  let evaluations = 0;
  const logs: string[] = [];
  const c = new Correlator({
    alerts: () => {
      evaluations++;
      return alerts;
    },
    version: () => version,
    topology,
    log: (m) => logs.push(m),
  });
  const set = (xs: CorrelationAlert[]) => {
    alerts = xs;
    version++;
  };
  return { c, set, logs, evaluations: () => evaluations };
}

const GRAPH: Topology = { edges: [{ parent: 'api', child: 'db', calls: 100 }], windowMs: 3_600_000 };

describe('Correlator', () => {
  it('evaluates again only when the alerts change or 30 s pass', async () => {
    const { c, set, evaluations } = setup();
    set([alert('DbDown', 'db', T0), alert('ApiErrors', 'api', T0 + 60_000)]);
    const first = c.groups(T0 + 70_000);
    expect(c.groups(T0 + 75_000)).toBe(first);
    expect(evaluations()).toBe(1);
    c.groups(T0 + 95_000); // next 30 s bucket
    expect(evaluations()).toBe(2);
    set([alert('DbDown', 'db', T0)]);
    expect(c.groups(T0 + 95_000)[0]!.members).toHaveLength(1);
    expect(evaluations()).toBe(3);
  });

  it('joins over the service graph once read, keeping the group ID', async () => {
    let reads = 0;
    const { c, set } = setup(async () => {
      reads++;
      return GRAPH;
    });
    // Far apart in time and without shared labels: only the call graph joins them.
    set([alert('DbDown', 'db', T0), alert('ApiErrors', 'api', T0 + 4 * 60_000)]);
    const r = await c.current(T0 + 5 * 60_000);
    expect(reads).toBe(1);
    expect(r.graph).toBe(GRAPH);
    expect(r.graphError).toBeUndefined();
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0]!.rootCause.labels.alertname).toBe('DbDown');
    // The synchronous reader sees the same groups.
    expect(c.groups(T0 + 5 * 60_000).map((g) => g.id)).toEqual([r.groups[0]!.id]);
    await c.idle();
  });

  it('reports an unreadable graph, logs it once, and correlates on labels and time', async () => {
    const { c, set, logs } = setup(() => Promise.reject(new Error('span store closed')));
    set([alert('DbDown', 'db', T0)]);
    const r = await c.current(T0 + 60_000);
    expect(r.graphError).toBe('span store closed');
    expect(r.groups).toHaveLength(1);
    await c.current(T0 + 120_000);
    expect(logs).toEqual(['alert correlation: service graph unavailable: span store closed']);
  });

  it('previews other settings from the shared memory without changing it', async () => {
    const { c, set } = setup(async () => GRAPH);
    set([alert('DbDown', 'db', T0), alert('ApiErrors', 'api', T0 + 60_000)]);
    const shared = await c.current(T0 + 2 * 60_000);
    expect(shared.groups).toHaveLength(1);
    // Without the graph the two would be apart; remembered membership keeps them together under the same ID.
    const preview = c.preview(T0 + 2 * 60_000, { windowMs: 1000 }, { edges: [], windowMs: 3_600_000 });
    expect(preview.map((g) => g.id)).toContain(shared.groups[0]!.id);
    expect((await c.current(T0 + 2 * 60_000)).groups).toBe(shared.groups);
  });
});
