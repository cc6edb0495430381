import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  formatPath,
  fromStored,
  parseVariableQuery,
  toStored,
  validateDashboard,
  type DashboardDocument,
} from './model.ts';

/** A valid document; cases change one thing. */
function base(): Record<string, any> {
  return {
    schemaVersion: 1,
    uid: 'svc-overview',
    title: 'Service overview',
    tags: ['team-a', 'prod'],
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    variables: [{ name: 'job', query: 'label_values(job)' }],
    panels: [
      {
        id: 'p1',
        title: 'Requests',
        kind: 'timeseries',
        queries: [
          { expr: 'sum(rate(http_requests_total{job=~"$job"}[$__rate_interval]))', legend: '{{job}}' },
        ],
        grid: { x: 0, y: 0, w: 12, h: 8 },
        options: { unit: 'reqps', decimals: 2, thresholds: [{ value: 100, color: 'red' }] },
      },
      {
        id: 'p2',
        title: '',
        kind: 'stat',
        queries: [],
        grid: { x: 12, y: 0, w: 12, h: 8 },
      },
    ],
  };
}

function mutate(fn: (d: Record<string, any>) => void): Record<string, any> {
  const d = base();
  fn(d);
  return d;
}

describe('validateDashboard accepts', () => {
  const cases: [string, Record<string, any>][] = [
    ['the full example', base()],
    ['a minimal document', { schemaVersion: 1, title: 'x' }],
    [
      'ISO and epoch-ms times',
      mutate((d) => (d.time = { from: '2024-01-01T00:00:00Z', to: '1704074400000' })),
    ],
    ['rounded relative times', mutate((d) => (d.time = { from: 'now-1d/d', to: 'now/d' }))],
    ['refresh off', mutate((d) => (d.refresh = 'off'))],
    [
      'label_values with a selector',
      mutate((d) => (d.variables[0].query = 'label_values(up{env="x", job=~"$job"}, instance)')),
    ],
    ['a panel touching the right edge', mutate((d) => (d.panels[1].grid = { x: 20, y: 3, w: 4, h: 40 }))],
    ['HTML in titles (stored as plain text)', mutate((d) => (d.title = '<script>alert(1)</script>'))],
    [
      'every panel kind',
      mutate(
        (d) =>
          (d.panels = ['timeseries', 'stat', 'gauge', 'table', 'bar', 'heatmap'].map((kind, i) => ({
            id: `p${i}`,
            title: kind,
            kind,
            queries: [],
            grid: { x: 0, y: i * 4, w: 24, h: 4 },
          }))),
      ),
    ],
  ];
  it.each(cases)('%s', (_name, doc) => {
    const r = validateDashboard(doc);
    expect(r.ok ? [] : r.problems).toEqual([]);
  });

  it('applies defaults and normalises title and tags', () => {
    const r = validateDashboard({
      schemaVersion: 1,
      title: '  Padded  ',
      tags: [' a ', 'a', 'b'],
      variables: [{ name: 'v', query: 'label_values(job)' }],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.document.title).toBe('Padded');
    expect(r.document.tags).toEqual(['a', 'b']);
    expect(r.document.panels).toEqual([]);
    expect(r.document.variables[0]).toEqual({
      name: 'v',
      query: 'label_values(job)',
      multi: false,
      includeAll: false,
    });
  });
});

describe('validateDashboard refuses', () => {
  const cases: [string, unknown, { path: string; message: RegExp }[]][] = [
    ['a non-object', [], [{ path: '', message: /must be an object, got array/ }]],
    [
      'a missing schemaVersion',
      mutate((d) => delete d.schemaVersion),
      [{ path: 'schemaVersion', message: /missing; this Vigil reads schemaVersion 1/ }],
    ],
    [
      'a future schemaVersion',
      mutate((d) => (d.schemaVersion = 2)),
      [{ path: 'schemaVersion', message: /schemaVersion 2 is not supported/ }],
    ],
    [
      'a missing title',
      mutate((d) => delete d.title),
      [{ path: 'title', message: /missing: must be a string/ }],
    ],
    ['a blank title', mutate((d) => (d.title = '   ')), [{ path: 'title', message: /must not be empty/ }]],
    [
      'a long title',
      mutate((d) => (d.title = 'x'.repeat(201))),
      [{ path: 'title', message: /at most 200 characters/ }],
    ],
    ['a bad uid', mutate((d) => (d.uid = 'has space')), [{ path: 'uid', message: /1 to 40 letters/ }]],
    [
      'an empty tag',
      mutate((d) => (d.tags = ['ok', ' '])),
      [{ path: 'tags[1]', message: /must not be empty/ }],
    ],
    ['an unknown field', mutate((d) => (d.panel = [])), [{ path: 'panel', message: /unknown field/ }]],
    [
      'a bad relative time',
      mutate((d) => (d.time.from = 'now-6x')),
      [{ path: 'time.from', message: /relative time/ }],
    ],
    [
      'from after to',
      mutate((d) => (d.time = { from: '2024-01-02', to: '2024-01-01' })),
      [{ path: 'time.from', message: /before time.to/ }],
    ],
    [
      'a bad refresh',
      mutate((d) => (d.refresh = 'often')),
      [{ path: 'refresh', message: /"off" or a duration/ }],
    ],
    [
      'a too short refresh',
      mutate((d) => (d.refresh = '100ms')),
      [{ path: 'refresh', message: /at least 1s/ }],
    ],
    [
      'a bad variable name',
      mutate((d) => (d.variables[0].name = '1job')),
      [{ path: 'variables[0].name', message: /must start with a letter/ }],
    ],
    [
      'duplicate variable names',
      mutate((d) => d.variables.push({ name: 'job', query: 'label_values(instance)' })),
      [
        {
          path: 'variables[1].name',
          message: /duplicate variable name "job" \(already used by variables\[0\]\)/,
        },
      ],
    ],
    [
      'an unsupported variable query',
      mutate((d) => (d.variables[0].query = 'query_result(up)')),
      [{ path: 'variables[0].query', message: /label_values\(<label>\)/ }],
    ],
    [
      'a bad label in a variable query',
      mutate((d) => (d.variables[0].query = 'label_values(up, 1x)')),
      [{ path: 'variables[0].query', message: /"1x" is not a label name/ }],
    ],
    [
      'a bad selector in a variable query',
      mutate((d) => (d.variables[0].query = 'label_values(up{job=}, instance)')),
      [{ path: 'variables[0].query', message: /does not parse/ }],
    ],
    [
      'a non-selector in a variable query',
      mutate((d) => (d.variables[0].query = 'label_values(sum(up), job)')),
      [{ path: 'variables[0].query', message: /is not a series selector/ }],
    ],
    [
      'a bad panel kind',
      mutate((d) => (d.panels[0].kind = 'pie')),
      [{ path: 'panels[0].kind', message: /must be one of "timeseries", "stat"/ }],
    ],
    [
      'a too wide panel',
      mutate((d) => (d.panels[1].grid.w = 25)),
      [{ path: 'panels[1].grid.w', message: /at most 24/ }],
    ],
    [
      'a panel past the right edge',
      mutate((d) => (d.panels[1].grid = { x: 12, y: 0, w: 13, h: 1 })),
      [{ path: 'panels[1].grid.w', message: /x \+ w must be at most 24.*12 \+ 13/ }],
    ],
    [
      'a fractional grid value',
      mutate((d) => (d.panels[0].grid.h = 2.5)),
      [{ path: 'panels[0].grid.h', message: /must be an integer/ }],
    ],
    [
      'a too tall panel',
      mutate((d) => (d.panels[0].grid.h = 41)),
      [{ path: 'panels[0].grid.h', message: /at most 40/ }],
    ],
    [
      'a negative y',
      mutate((d) => (d.panels[0].grid.y = -1)),
      [{ path: 'panels[0].grid.y', message: /at least 0/ }],
    ],
    [
      'duplicate panel ids',
      mutate((d) => (d.panels[1].id = 'p1')),
      [{ path: 'panels[1].id', message: /duplicate panel id "p1"/ }],
    ],
    [
      'too many queries',
      mutate((d) => (d.panels[0].queries = Array.from({ length: 11 }, () => ({ expr: 'up' })))),
      [{ path: 'panels[0].queries', message: /at most 10 entries/ }],
    ],
    [
      'a query without expr',
      mutate((d) => (d.panels[0].queries = [{ legend: 'x' }])),
      [{ path: 'panels[0].queries[0].expr', message: /missing/ }],
    ],
    [
      'too many decimals',
      mutate((d) => (d.panels[0].options.decimals = 11)),
      [{ path: 'panels[0].options.decimals', message: /at most 10/ }],
    ],
    [
      'min not below max',
      mutate((d) => Object.assign(d.panels[0].options, { min: 5, max: 5 })),
      [{ path: 'panels[0].options.max', message: /greater than min/ }],
    ],
    [
      'a threshold without color',
      mutate((d) => (d.panels[0].options.thresholds = [{ value: 1 }])),
      [{ path: 'panels[0].options.thresholds[0].color', message: /missing/ }],
    ],
    ['a NUL in the title', mutate((d) => (d.title = 'a\u0000b')), [{ path: 'title', message: /NUL/ }]],
  ];
  it.each(cases)('%s', (_name, doc, want) => {
    const r = validateDashboard(doc);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(want.length);
    want.forEach((w, i) => {
      expect(r.problems[i]!.path).toBe(w.path);
      expect(r.problems[i]!.message).toMatch(w.message);
    });
  });

  it('lists every problem at once', () => {
    const r = validateDashboard(
      mutate((d) => {
        d.title = '';
        d.panels[0].grid.w = 0;
        d.panels[1].kind = 'x';
      }),
    );
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual([
      'title',
      'panels[0].grid.w',
      'panels[1].kind',
    ]);
  });
});

describe('parseVariableQuery', () => {
  const cases: [string, unknown][] = [
    ['label_values(job)', { label: 'job' }],
    [' label_values( instance ) ', { label: 'instance' }],
    ['label_values(up{env="a,b"}, instance)', { label: 'instance', selector: 'up{env="a,b"}' }],
    [
      'label_values({__name__=~"node_.*", job="x"}, cpu)',
      { label: 'cpu', selector: '{__name__=~"node_.*", job="x"}' },
    ],
  ];
  it.each(cases)('%s', (q, want) => expect(parseVariableQuery(q)).toEqual(want));
});

describe('formatPath', () => {
  const cases: [PropertyKey[], string][] = [
    [[], ''],
    [['title'], 'title'],
    [['panels', 2, 'grid', 'w'], 'panels[2].grid.w'],
    [['panels', 0, 'options', 'thresholds', 1, 'color'], 'panels[0].options.thresholds[1].color'],
  ];
  it.each(cases)('%j → %s', (path, want) => expect(formatPath(path)).toBe(want));
});

describe('toStored / fromStored', () => {
  const valid = (d: unknown): DashboardDocument => {
    const r = validateDashboard(d);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.document;
  };

  it('puts title and tags in columns and the rest in the body', () => {
    const parts = toStored(valid(base()));
    expect(parts.uid).toBe('svc-overview');
    expect(parts.title).toBe('Service overview');
    expect(parts.tags).toEqual(['team-a', 'prod']);
    expect(Object.keys(parts.body).sort()).toEqual([
      'panels',
      'refresh',
      'schemaVersion',
      'time',
      'variables',
    ]);
  });

  it('round-trips a document through the stored form', () => {
    const doc = valid(base());
    const parts = toStored(doc);
    const back = fromStored({ uid: parts.uid!, title: parts.title, tags: parts.tags, body: parts.body });
    expect(back).toEqual(doc);
    expect(canonicalJson(back)).toBe(canonicalJson(doc));
    // Still a valid document: what GET returns can be PUT back unchanged.
    expect(validateDashboard(back).ok).toBe(true);
  });

  it('gives a document without uid or tags an empty tag list', () => {
    const parts = toStored(valid({ schemaVersion: 1, title: 't' }));
    expect(parts).toEqual({ title: 't', tags: [], body: { schemaVersion: 1, variables: [], panels: [] } });
    expect(fromStored({ uid: 'u', title: 't', tags: [], body: parts.body })).toEqual({
      schemaVersion: 1,
      uid: 'u',
      title: 't',
      tags: [],
      variables: [],
      panels: [],
    });
  });
});

describe('canonicalJson', () => {
  it('ignores key order but not array order', () => {
    expect(canonicalJson({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });
});
