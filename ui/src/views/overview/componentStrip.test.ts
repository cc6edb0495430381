import { describe, expect, it } from 'vitest';
import type { ComponentHealth } from '../../lib/health.ts';
import { buildStrip, healthLink, whyText } from './componentStrip.ts';

const comp = (p: Partial<ComponentHealth> & { name: string }): ComponentHealth => ({
  kind: 'declared',
  status: 'healthy',
  ownStatus: p.status ?? 'healthy',
  reasons: [],
  dependsOn: [],
  impactedBy: [],
  ...p,
});

describe('whyText', () => {
  it.each([
    [comp({ name: 'a' }), ''],
    [comp({ name: 'a', status: 'unknown' }), 'nothing known about it yet'],
    [
      comp({
        name: 'db',
        status: 'down',
        reasons: [
          { source: 'alert', detail: 'DiskFilling (warning)', status: 'degraded' },
          { source: 'check', detail: 'db-port: connection refused', status: 'down' },
        ],
      }),
      'check: db-port: connection refused',
    ],
    [
      comp({
        name: 'web',
        status: 'degraded',
        ownStatus: 'healthy',
        reasons: [{ source: 'dependency', detail: 'mailer is down', status: 'degraded' }],
        impactedBy: [
          { component: 'mailer', status: 'degraded', via: [] },
          { component: 'queue', status: 'down', via: ['mailer'] },
        ],
      }),
      'degraded because queue is down (via mailer)',
    ],
    [
      // Its own inputs are as bad as it gets: its own reason comes first.
      comp({
        name: 'api',
        status: 'down',
        ownStatus: 'down',
        reasons: [{ source: 'scrape', detail: '2 of 2 targets down', status: 'down' }],
        impactedBy: [{ component: 'db', status: 'down', via: [] }],
      }),
      'scrape: 2 of 2 targets down',
    ],
  ])('%#', (c, want) => {
    expect(whyText(c)).toBe(want);
  });
});

describe('buildStrip', () => {
  it('counts statuses and lists problems worst first, then the rest', () => {
    const s = buildStrip([
      comp({ name: 'b' }),
      comp({ name: 'z', status: 'degraded' }),
      comp({ name: 'q', status: 'unknown' }),
      comp({ name: 'a', status: 'down' }),
      comp({ name: 'c', status: 'down' }),
    ]);
    expect(s.counts).toEqual({ down: 2, degraded: 1, unknown: 1, healthy: 1 });
    expect(s.problems.map((i) => i.name)).toEqual(['a', 'c', 'z']);
    expect(s.others.map((i) => i.name)).toEqual(['q', 'b']);
  });

  it('is empty without components', () => {
    expect(buildStrip([])).toEqual({
      counts: { down: 0, degraded: 0, unknown: 0, healthy: 0 },
      problems: [],
      others: [],
    });
  });
});

it('links to the Health view with its filters', () => {
  expect(healthLink({})).toBe('/health');
  expect(healthLink({ q: 'a b' })).toBe('/health?q=a+b');
  expect(healthLink({ status: 'problems' })).toBe('/health?status=problems');
});
