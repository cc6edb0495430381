import { describe, expect, it } from 'vitest';
import type { ComponentHealth, Flow, FlowPart, HealthCheck } from '../../lib/health.ts';
import {
  filterChecks,
  filterComponents,
  filterFlows,
  flowStatus,
  formatFlowFigure,
  formatRate,
  healthFiltersFrom,
  impactText,
  type HealthFilters,
} from './model.ts';

const all: HealthFilters = { tab: 'components', status: '', q: '' };

function component(
  name: string,
  status: ComponentHealth['status'],
  dependsOn: string[] = [],
): ComponentHealth {
  return { name, kind: 'declared', status, ownStatus: status, reasons: [], dependsOn, impactedBy: [] };
}

function check(name: string, up: boolean | null, target = `127.0.0.1:${name.length}`): HealthCheck {
  return { name, kind: 'tcp', target, up, lastRun: null, durationMs: null, reason: '', history: [] };
}

function part(name: string, status: FlowPart['status']): FlowPart {
  return { name, status, checks: [], rates: { in: null, out: null, dropped: null } };
}

function flow(name: string, stages: FlowPart[]): Flow {
  return { name, intervalMs: 60_000, lastEvaluation: null, stages, channels: [] };
}

describe('healthFiltersFrom', () => {
  it.each([
    ['', { tab: 'components', status: '', q: '' }],
    ['tab=flows&status=problems&q=db', { tab: 'flows', status: 'problems', q: 'db' }],
    ['tab=nonsense&status=weird', { tab: 'components', status: '', q: '' }],
  ])('%s', (qs, want) => expect(healthFiltersFrom(new URLSearchParams(qs))).toEqual(want));
});

describe('filterComponents', () => {
  const list = [
    component('web', 'healthy', ['api']),
    component('api', 'degraded'),
    component('db', 'down'),
    component('cache', 'unknown'),
  ];
  it('puts problems first: down, degraded, unknown, healthy', () => {
    expect(filterComponents(list, all).map((c) => c.name)).toEqual(['db', 'api', 'cache', 'web']);
  });
  it.each([
    [{ status: 'problems' }, ['db', 'api']],
    [{ status: 'ok' }, ['web']],
    [{ status: 'unknown' }, ['cache']],
    [{ q: 'API' }, ['api', 'web']], // a dependency's name matches too
  ] as const)('%j', (patch, want) => {
    expect(filterComponents(list, { ...all, ...patch }).map((c) => c.name)).toEqual(want);
  });
});

describe('filterChecks', () => {
  it('puts failing checks first and keeps the configuration order otherwise', () => {
    const list = [check('a', true), check('b', null), check('c', false), check('d', true)];
    expect(filterChecks(list, all).map((c) => c.name)).toEqual(['c', 'b', 'a', 'd']);
    expect(filterChecks(list, { ...all, q: '127.0.0.1:1' }).map((c) => c.name)).toEqual(['c', 'b', 'a', 'd']);
    expect(filterChecks(list, { ...all, status: 'problems' }).map((c) => c.name)).toEqual(['c']);
  });
});

describe('flows', () => {
  it('take the worst status of their parts and sort violated first', () => {
    const clean = flow('clean', [part('a', 'ok')]);
    const lossy = flow('lossy', [part('a', 'ok'), part('b', 'violated')]);
    const learning = flow('learning', [part('a', 'unknown')]);
    expect([clean, lossy, learning].map(flowStatus)).toEqual(['ok', 'violated', 'unknown']);
    expect(filterFlows([clean, lossy, learning], all).map((f) => f.name)).toEqual([
      'lossy',
      'learning',
      'clean',
    ]);
    expect(filterFlows([clean, lossy], { ...all, q: 'b' }).map((f) => f.name)).toEqual(['lossy']);
  });
});

describe('text', () => {
  it('says what impacts a component and through which', () => {
    expect(impactText({ component: 'db', via: [] })).toBe('impacted by db');
    expect(impactText({ component: 'db', via: ['api', 'queue'] })).toBe('impacted by db (via api → queue)');
  });
  it.each([
    [null, '—'],
    [0, '0/s'],
    [5, '5/s'],
    [2.5, '2.5/s'],
    [12.34, '12.3/s'],
    [1234.5, '1235/s'],
  ])('formatRate(%s) = %s', (v, want) => expect(formatRate(v)).toBe(want));
  it.each([
    ['handoff', 0.15789, '15.79%'],
    ['conservation', 0.02, '2%'],
    ['freshness', 125.4, '125s'],
    ['throughput', 40, '40.0/s'],
    ['lag', 61.234, '61.23'],
    ['lag', null, '—'],
  ])('formatFlowFigure(%s, %s) = %s', (k, v, want) => expect(formatFlowFigure(k, v)).toBe(want));
});
