import { describe, expect, it } from 'vitest';
import {
  checkAttr,
  checkForm,
  childFlags,
  compareTraces,
  exemplarPoints,
  flameFrames,
  formatDeltaUs,
  formatUs,
  layoutServiceMap,
  mayHaveExemplars,
  parentIndices,
  searchFromParams,
  serviceColor,
  timeTicks,
  toSearch,
  visibleRows,
  withSearch,
} from './model.ts';

/** Spans in depth-first order from an outline: one entry per span, `depth:service:name:duration:self`. */
function spans(outline: string[]) {
  return outline.map((line, i) => {
    const [depth, service, name, dur, self, code] = line.split(':');
    return {
      spanId: `s${i}`,
      depth: Number(depth),
      service: service!,
      name: name!,
      durationUs: Number(dur),
      selfTimeUs: Number(self ?? 0),
      status: { code: code ?? 'unset' },
    };
  });
}

describe('search state', () => {
  it('round-trips through the URL and keeps other parameters', () => {
    const prev = new URLSearchParams('from=now-6h&service=old&attr=a=1');
    const form = {
      service: 'api',
      operation: 'GET /x',
      kind: '',
      status: 'error',
      attr: ['http.status_code>=500', ' ', 'region=~eu-.*'],
      minDuration: '250ms',
      maxDuration: '',
      limit: '50',
    };
    const p = withSearch(prev, form);
    expect(p.get('from')).toBe('now-6h');
    expect(p.getAll('attr')).toEqual(['http.status_code>=500', 'region=~eu-.*']);
    expect(p.has('limit')).toBe(false); // the default is not written
    expect(p.has('kind')).toBe(false);
    expect(searchFromParams(p)).toEqual({ ...form, attr: ['http.status_code>=500', 'region=~eu-.*'] });
  });

  it('builds the API request with the range in seconds', () => {
    const f = searchFromParams(new URLSearchParams('service=api&limit=20&attr=x=1'));
    expect(toSearch(f, { start: 1_700_000_000_500, end: 1_700_000_360_200 })).toEqual({
      service: 'api',
      operation: undefined,
      kind: undefined,
      status: undefined,
      attr: ['x=1'],
      minDuration: undefined,
      maxDuration: undefined,
      start: 1_700_000_000,
      end: 1_700_000_361,
      limit: 20,
    });
  });

  it.each([
    ['http.route=/notify', undefined],
    ['http.status_code >= 500', undefined],
    ['channel=~sms|push', undefined],
    ['channel!~^web', undefined],
    ['peer!=db', undefined],
    ['', undefined],
    ['justakey', /not a condition/],
    ['n>abc', /compares numbers, and "abc" is not one/],
    ['x=~(', /not a valid regular expression/],
  ])('checks the attribute condition %j', (cond, problem) => {
    const r = checkAttr(cond);
    if (problem === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(problem);
  });

  it('says which field is wrong', () => {
    const f = searchFromParams(new URLSearchParams('minDuration=fast&maxDuration=1.5s&limit=0'));
    const p = checkForm(f);
    expect(p.minDuration).toMatch(/"fast" is not a duration/);
    expect(p.maxDuration).toBeUndefined();
    expect(p.limit).toMatch(/1 to 1000/);
  });
});

describe('waterfall rows', () => {
  const s = spans(['0:a:root:100', '1:a:x:10', '2:b:y:5', '1:c:z:20', '0:d:orphan:3']);
  it('knows which spans have children and their parents', () => {
    expect(childFlags(s)).toEqual([true, true, false, false, false]);
    expect(parentIndices(s)).toEqual([-1, 0, 1, 0, -1]);
  });
  it('hides the descendants of folded spans only', () => {
    expect(visibleRows(s, new Set())).toEqual([0, 1, 2, 3, 4]);
    expect(visibleRows(s, new Set(['s1']))).toEqual([0, 1, 3, 4]);
    expect(visibleRows(s, new Set(['s0']))).toEqual([0, 4]);
    expect(visibleRows(s, new Set(['s0', 's1']))).toEqual([0, 4]);
  });
  it('puts ticks at round values', () => {
    expect(timeTicks(1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(timeTicks(0)).toEqual([0]);
    expect(timeTicks(2_345_000, 5).slice(0, 3)).toEqual([0, 500_000, 1_000_000]);
  });
  it('formats durations', () => {
    expect(formatUs(850)).toBe('850 µs');
    expect(formatUs(12_500)).toBe('12.5 ms');
    expect(formatUs(3_200_000)).toBe('3.2 s');
    expect(formatDeltaUs(-2000)).toBe('−2 ms');
    expect(formatDeltaUs(0)).toBe('±0');
  });
  it('gives each service one colour', () => {
    expect(serviceColor('api')).toBe(serviceColor('api'));
    expect(serviceColor('api')).toMatch(/^#[0-9a-f]{6}$/);
  });
});

describe('flame graph', () => {
  it('merges spans with the same call path and keeps self time', () => {
    const f = flameFrames(
      spans(['0:a:root:100:40', '1:b:call:20:20', '1:b:call:30:30', '1:c:db:10:10', '2:c:q:0:0']),
    );
    const byName = Object.fromEntries(f.map((x) => [x.name, x]));
    expect(byName.root).toMatchObject({ depth: 0, x0: 0, x1: 1, totalUs: 100, selfUs: 40, count: 1 });
    expect(byName.call).toMatchObject({ depth: 1, totalUs: 50, selfUs: 50, count: 2, spanId: 's1' });
    expect(byName.call!.x1 - byName.call!.x0).toBeCloseTo(0.5);
    expect(byName.db!.x0).toBeCloseTo(0.5);
    expect(byName.db!.x1).toBeCloseTo(0.6);
  });
  it('squeezes concurrent children that add up to more than their parent', () => {
    const f = flameFrames(spans(['0:a:root:100:0', '1:b:p1:100:100', '1:c:p2:100:100']));
    const p2 = f.find((x) => x.name === 'p2')!;
    expect(p2.x1).toBeCloseTo(1);
    expect(p2.x0).toBeCloseTo(0.5);
  });
  it('lays several roots side by side', () => {
    const f = flameFrames(spans(['0:a:r1:30:30', '0:b:r2:10:10']));
    expect(f.map((x) => [x.name, x.x0, x.x1])).toEqual([
      ['r1', 0, 0.75],
      ['r2', 0.75, 1],
    ]);
  });
});

describe('compare', () => {
  it('aligns by service and operation, with differences and one-sided operations', () => {
    const a = spans(['0:api:GET:100:10', '1:db:query:30:30', '1:db:query:20:20', '1:cache:get:5:5']);
    const b = spans(['0:api:GET:160:10', '1:db:query:120:120:error', '1:mail:send:20:20']);
    const rows = compareTraces(a, b);
    expect(rows.map((r) => [r.service, r.name, r.only ?? '', r.deltaUs])).toEqual([
      ['api', 'GET', '', 60],
      ['db', 'query', '', 70],
      ['cache', 'get', 'a', undefined],
      ['mail', 'send', 'b', undefined],
    ]);
    expect(rows[1]!.a).toEqual({ count: 2, totalUs: 50, selfUs: 50, errors: 0 });
    expect(rows[1]!.b).toEqual({ count: 1, totalUs: 120, selfUs: 120, errors: 1 });
  });
  it('leaves the synthetic root out', () => {
    const a = [{ ...spans(['0:x:y:1'])[0]!, spanId: 'synthetic-root' }];
    expect(compareTraces(a, [])).toEqual([]);
  });
});

describe('service map layout', () => {
  const node = (service: string) => ({
    service,
    spans: 1,
    errors: 0,
    ratePerSecond: 1,
    errorRate: 0,
    p95Ms: 1,
  });
  const edge = (source: string, target: string) => ({
    source,
    target,
    calls: 1,
    errors: 0,
    ratePerSecond: 1,
    errorRate: 0,
    p50Ms: 1,
    p95Ms: 1,
    p99Ms: 1,
  });
  it('layers services by call depth, left to right', () => {
    const l = layoutServiceMap(['gateway', 'api', 'db', 'mail'].map(node), [
      edge('gateway', 'api'),
      edge('api', 'db'),
      edge('gateway', 'db'),
      edge('api', 'mail'),
    ]);
    const layer = Object.fromEntries(l.nodes.map((n) => [n.node.service, n.layer]));
    expect(layer).toEqual({ gateway: 0, api: 1, db: 2, mail: 2 });
    const x = Object.fromEntries(l.nodes.map((n) => [n.node.service, n.x]));
    expect(x.gateway).toBeLessThan(x.api!);
    expect(x.api).toBeLessThan(x.db!);
    expect(l.edges.every((e) => !e.back)).toBe(true);
  });
  it('survives cycles, self-calls and services known only from edges', () => {
    const l = layoutServiceMap(
      [node('a'), node('b')],
      [edge('a', 'b'), edge('b', 'a'), edge('b', 'b'), edge('b', 'external')],
    );
    expect(l.nodes.map((n) => n.node.service).sort()).toEqual(['a', 'b', 'external']);
    const layer = Object.fromEntries(l.nodes.map((n) => [n.node.service, n.layer]));
    expect(layer).toEqual({ a: 0, b: 1, external: 2 });
    expect(l.edges.filter((e) => e.back).map((e) => `${e.edge.source}->${e.edge.target}`)).toEqual([
      'b->a',
      'b->b',
    ]);
    for (const e of l.edges) expect(e.path).not.toMatch(/NaN|undefined/);
  });
  it('handles an empty map', () => {
    expect(layoutServiceMap([], []).nodes).toEqual([]);
  });
});

describe('exemplars', () => {
  it('keeps exemplars that carry a trace ID', () => {
    expect(
      exemplarPoints([
        {
          seriesLabels: { __name__: 'traces_span_metrics_duration_seconds_bucket', le: '0.5' },
          exemplars: [
            { labels: { trace_id: 'abc' }, value: '0.31', timestamp: 1700000000.5 },
            { labels: { other: 'x' }, value: '0.2', timestamp: 1700000001 },
            { labels: { trace_id: 'def' }, value: 'NaN', timestamp: 1700000002 },
          ],
        },
      ]),
    ).toEqual([
      { t: 1700000000.5, v: 0.31, traceId: 'abc', series: 'traces_span_metrics_duration_seconds_bucket' },
    ]);
  });
  it('recognises queries whose series carry exemplars', () => {
    expect(mayHaveExemplars('histogram_quantile(0.9, rate(x_bucket[5m]))')).toBe(true);
    expect(mayHaveExemplars('rate(traces_span_metrics_calls_total[5m])')).toBe(true);
    expect(mayHaveExemplars('up')).toBe(false);
  });
});
