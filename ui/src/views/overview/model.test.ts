import { describe, expect, it } from 'vitest';
import type { OverviewComponent } from '../../lib/api.ts';
import { ago, figureColumns, filterComponents, groupComponents } from './model.ts';

const comp = (p: Partial<OverviewComponent> & { id: string }): OverviewComponent => ({
  kind: 'scrape',
  name: p.id,
  job: 'api',
  instance: `${p.id}:9100`,
  status: 'up',
  lastSeen: 0,
  figures: [],
  ...p,
});

const list = [
  comp({ id: 'a', job: 'api', namespace: 'prod' }),
  comp({ id: 'b', job: 'api', status: 'down', reason: 'connection refused' }),
  comp({ id: 'c', job: 'db', status: 'stale', namespace: 'prod' }),
  comp({ id: 'd', job: 'db', kind: 'otlp' }),
];

describe('overview model', () => {
  it('filters by every word of the search and by status', () => {
    expect(filterComponents(list, 'refused', 'all').map((c) => c.id)).toEqual(['b']);
    expect(filterComponents(list, 'db prod', 'all').map((c) => c.id)).toEqual(['c']);
    expect(filterComponents(list, '', 'up').map((c) => c.id)).toEqual(['a', 'd']);
  });
  it('groups with problems first, and problems first inside each group', () => {
    const g = groupComponents(list, 'job');
    expect(g.map((x) => x.key)).toEqual(['api', 'db']);
    expect(g[0]!.items.map((c) => c.id)).toEqual(['b', 'a']);
    expect(g[1]!.counts).toEqual({ up: 1, down: 0, stale: 1 });
    expect(groupComponents(list, 'namespace').map((x) => x.label)).toEqual(['(no namespace)', 'prod']);
  });
  it('orders figure columns traffic, errors, latency, resources', () => {
    const f = (key: string) => ({ key, label: key, unit: 'short', value: 1, spark: [], query: key });
    const cols = figureColumns([comp({ id: 'x', figures: [f('memory'), f('zzz'), f('requests')] })]);
    expect(cols.map((c) => c.key)).toEqual(['requests', 'memory', 'zzz']);
  });
  it('says how long ago', () => {
    expect(ago(null, 0)).toBe('never');
    expect(ago(0, 42_000)).toBe('42 s ago');
    expect(ago(0, 7_200_000)).toBe('2 h ago');
  });
});
