import { describe, expect, it } from 'vitest';
import { pointsFor, preparePanel } from './panelData.ts';
import type { Panel } from './model.ts';

const panel = (queries: Panel['queries'], kind: Panel['kind'] = 'timeseries', w = 12): Panel => ({
  id: 'p',
  title: 't',
  kind,
  queries,
  grid: { x: 0, y: 0, w, h: 8 },
});

const range = { start: 0, end: 3_600_000 };

describe('preparePanel', () => {
  it('substitutes variables and built-ins, skipping hidden and empty queries', () => {
    const p = preparePanel(
      panel([
        { expr: 'rate(x{job=~"$job"}[$__rate_interval])', legend: '{{job}}' },
        { expr: '  ' },
        { expr: 'y', hidden: true },
        { expr: 'z[$__range]' },
      ]),
      {
        range,
        values: new Map([['job', { values: ['a', 'b'], all: false, regex: true }]]),
        pending: new Set(),
      },
    );
    expect(p.points).toBe(300);
    expect(p.step).toBe(15);
    expect(p.queries).toEqual([
      {
        index: 0,
        raw: 'rate(x{job=~"$job"}[$__rate_interval])',
        expr: 'rate(x{job=~"(a|b)"}[1m])',
        legend: '{{job}}',
      },
      { index: 3, raw: 'z[$__range]', expr: 'z[1h]', legend: undefined },
    ]);
    expect(p.waiting).toEqual([]);
  });

  it('waits only for pending variables the queries use', () => {
    const ctx = { range, values: new Map(), pending: new Set(['job', 'other']) };
    expect(preparePanel(panel([{ expr: 'up{job="$job"}' }]), ctx).waiting).toEqual(['job']);
    expect(preparePanel(panel([{ expr: 'up' }]), ctx).waiting).toEqual([]);
  });

  it('uses fewer points for narrow panels and heatmaps', () => {
    expect(pointsFor(panel([], 'timeseries', 24))).toBe(600);
    expect(pointsFor(panel([], 'timeseries', 2))).toBe(60);
    expect(pointsFor(panel([], 'heatmap', 24))).toBe(120);
    expect(pointsFor(panel([], 'stat', 6))).toBe(60);
  });
});
