import { describe, expect, it } from 'vitest';
import {
  applyLayout,
  canonical,
  copyOf,
  cssColor,
  describeProblemPath,
  duplicatePanel,
  exportFileName,
  exportJson,
  findFreeSpot,
  newDashboardDoc,
  newPanel,
  nextPanelId,
  parseTags,
  sameDoc,
  thresholdColor,
  type DashboardDoc,
  type Panel,
} from './model.ts';

const panel = (id: string, x: number, y: number, w: number, h: number): Panel => ({
  id,
  title: id,
  kind: 'timeseries',
  queries: [{ expr: 'up' }],
  grid: { x, y, w, h },
});

describe('placing panels', () => {
  it('picks unused ids', () => {
    expect(nextPanelId([])).toBe('p1');
    expect(nextPanelId([panel('p2', 0, 0, 1, 1)])).toBe('p3');
    expect(nextPanelId([panel('p2', 0, 0, 1, 1), panel('x', 0, 0, 1, 1)])).toBe('p3');
    expect(nextPanelId([panel('p1', 0, 0, 1, 1), panel('p3', 0, 0, 1, 1)])).toBe('p4');
  });

  it('fills the first free spot, else goes below', () => {
    expect(findFreeSpot([], 12, 8)).toEqual({ x: 0, y: 0, w: 12, h: 8 });
    expect(findFreeSpot([panel('a', 0, 0, 12, 8)], 12, 8)).toEqual({ x: 12, y: 0, w: 12, h: 8 });
    expect(findFreeSpot([panel('a', 0, 0, 24, 8)], 12, 8)).toEqual({ x: 0, y: 8, w: 12, h: 8 });
    expect(findFreeSpot([panel('a', 0, 0, 8, 4), panel('b', 16, 0, 8, 4)], 8, 4)).toEqual({
      x: 8,
      y: 0,
      w: 8,
      h: 4,
    });
    expect(findFreeSpot([], 40, 3).w).toBe(24);
  });

  it('a new panel is an empty time series with one query', () => {
    const p = newPanel([panel('p1', 0, 0, 24, 6)]);
    expect(p).toMatchObject({
      id: 'p2',
      kind: 'timeseries',
      queries: [{ expr: '' }],
      grid: { x: 0, y: 6, w: 12, h: 8 },
    });
  });

  it('duplicates after the original with a new id and no shared objects', () => {
    const src = { ...panel('p1', 0, 0, 12, 8), options: { thresholds: [{ value: 1, color: 'red' }] } };
    const out = duplicatePanel([src], 'p1');
    expect(out.map((p) => p.id)).toEqual(['p1', 'p2']);
    expect(out[1]).toMatchObject({ title: 'p1 (copy)', grid: { x: 12, y: 0, w: 12, h: 8 } });
    out[1]!.options!.thresholds![0]!.value = 5;
    expect(src.options.thresholds[0]!.value).toBe(1);
  });

  it('applies a layout, keeping identity when nothing moved', () => {
    const panels = [panel('a', 0, 0, 6, 6), panel('b', 6, 0, 6, 6)];
    expect(applyLayout(panels, [{ i: 'a', x: 0, y: 0, w: 6, h: 6 }])).toBe(panels);
    const moved = applyLayout(panels, [{ i: 'b', x: 0, y: 6, w: 8, h: 4 }]);
    expect(moved[1]!.grid).toEqual({ x: 0, y: 6, w: 8, h: 4 });
    expect(moved[0]).toBe(panels[0]);
  });
});

describe('documents', () => {
  const doc: DashboardDoc = {
    schemaVersion: 1,
    uid: 'abc',
    title: 'Web / API: latency',
    tags: ['web'],
    variables: [{ name: 'job', query: 'label_values(job)', multi: true, includeAll: true }],
    panels: [panel('p1', 0, 0, 12, 8)],
  };

  it('new dashboards have one empty panel', () => {
    const d = newDashboardDoc('Mine');
    expect(d).toMatchObject({ schemaVersion: 1, title: 'Mine', variables: [] });
    expect(d.panels).toHaveLength(1);
    expect(d.uid).toBeUndefined();
  });

  it('copies drop the uid', () => {
    const c = copyOf(doc, 'Copy');
    expect(c.uid).toBeUndefined();
    expect(c.title).toBe('Copy');
    expect(c.panels).toEqual(doc.panels);
  });

  it('exports in document order, and names the file from the title', () => {
    const text = exportJson({
      panels: [],
      variables: [],
      title: 't',
      schemaVersion: 1,
      description: undefined,
    });
    expect(text).toBe('{\n  "schemaVersion": 1,\n  "title": "t",\n  "variables": [],\n  "panels": []\n}\n');
    expect(exportFileName(doc)).toBe('web-api-latency.json');
    expect(exportFileName({ ...doc, title: '???' })).toBe('abc.json');
  });

  it('compares documents whatever the key order', () => {
    expect(canonical({ b: 1, a: [{ y: 1, x: 2 }] })).toBe('{"a":[{"x":2,"y":1}],"b":1}');
    expect(sameDoc(doc, JSON.parse(JSON.stringify(doc)) as DashboardDoc)).toBe(true);
    expect(sameDoc(doc, { ...doc, title: 'x' })).toBe(false);
  });

  it('names problem paths after panels and variables', () => {
    expect(describeProblemPath(doc, 'dashboard.panels[0].grid.w')).toBe('panel "p1" (panels[0]): grid.w');
    expect(describeProblemPath(doc, 'panels[5].title')).toBe('panel 6 (panels[5]): title');
    expect(describeProblemPath(doc, 'variables[0].query')).toBe('variable "job" (variables[0]): query');
    expect(describeProblemPath(doc, 'title')).toBe('title');
    expect(describeProblemPath(doc, '')).toBe('(document)');
  });

  it('parses tags', () => {
    expect(parseTags(' a, b ,, a,c ')).toEqual(['a', 'b', 'c']);
    expect(parseTags('')).toEqual([]);
  });
});

describe('colours', () => {
  it('maps names to theme tokens and passes CSS colours, never other text', () => {
    expect(cssColor('Red')).toBe('var(--bad)');
    expect(cssColor('#ABCDEF')).toBe('#abcdef');
    expect(cssColor('rgb(1, 2, 3)')).toBe('rgb(1, 2, 3)');
    expect(cssColor('purple')).toBe('purple');
    expect(cssColor('red; background: url(x)')).toBeUndefined();
    expect(cssColor('#12')).toBeUndefined();
  });

  it('colours a value by the highest threshold at or below it', () => {
    const t = [
      { value: 90, color: 'red' },
      { value: 70, color: 'orange' },
    ];
    expect(thresholdColor(50, t)).toBe('var(--ok)');
    expect(thresholdColor(70, t)).toBe('var(--warn)');
    expect(thresholdColor(95, t)).toBe('var(--bad)');
    expect(thresholdColor(95, [])).toBeUndefined();
    expect(thresholdColor(null, t)).toBeUndefined();
  });
});
