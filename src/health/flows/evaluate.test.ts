import { describe, expect, it } from 'vitest';
import { Engine } from '../../query/promql/index.ts';
import { engineQueryFn, type QueryFn } from '../../rules/rule.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { flowSchema, flowsSchema } from './config.ts';
import { evaluateFlow, FlowState, throughput, type CheckResult } from './evaluate.ts';

/** A QueryFn answering from a table: a number is one sample, an array several, null no series, Error a failure. */
function tableQuery(table: Record<string, number | number[] | null | Error>): QueryFn {
  return async (expr) => {
    if (!(expr in table)) throw new Error(`unexpected query ${expr}`);
    const v = table[expr];
    if (v instanceof Error) throw v;
    if (v === null || v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map((value, i) => ({ labels: { i: String(i) }, value }));
  };
}

const T = 1_700_000_000_000;

const flow = flowSchema.parse({
  name: 'notifications',
  tolerance: 0.01,
  stages: [
    { name: 'ingest', in: 'a_in', out: 'a_out', dropped: 'a_drop', throughput: false },
    { name: 'router', in: 'b_in', out: 'b_out', throughput: false },
  ],
  channels: [{ name: 'sms', stage: 'router', in: 'c_in', out: 'c_out', throughput: false }],
});

const check = (checks: readonly CheckResult[], kind: string) => checks.find((c) => c.kind === kind)!;

describe('evaluateFlow', () => {
  const cases: {
    name: string;
    table: Record<string, number | number[] | null | Error>;
    ingest: string;
    router: { conservation: string; handoff: string };
    sms: string;
  }[] = [
    {
      name: 'balanced flow',
      table: { a_in: 100, a_out: 90, a_drop: 10, b_in: 90, b_out: 90, c_in: 30, c_out: 30 },
      ingest: 'ok',
      router: { conservation: 'ok', handoff: 'ok' },
      sms: 'ok',
    },
    {
      name: 'loss inside a stage and between stages',
      table: { a_in: 100, a_out: 80, a_drop: 0, b_in: 60, b_out: 60, c_in: [10, 10], c_out: 15 },
      ingest: 'violated',
      router: { conservation: 'ok', handoff: 'violated' },
      sms: 'violated',
    },
    {
      name: 'gap within the tolerance',
      table: { a_in: 1000, a_out: 995, a_drop: 0, b_in: 995, b_out: 994, c_in: 1, c_out: 1 },
      ingest: 'ok',
      router: { conservation: 'ok', handoff: 'ok' },
      sms: 'ok',
    },
    {
      name: 'missing series and failing queries',
      table: { a_in: 1, a_out: null, a_drop: null, b_in: 1, b_out: new Error('boom'), c_in: 0, c_out: 0 },
      ingest: 'unknown',
      router: { conservation: 'unknown', handoff: 'unknown' },
      sms: 'ok',
    },
  ];
  for (const c of cases)
    it(c.name, async () => {
      const r = await evaluateFlow(flow, tableQuery(c.table), T, new FlowState());
      expect(check(r.stages[0]!.checks, 'conservation').status).toBe(c.ingest);
      expect(check(r.stages[1]!.checks, 'conservation').status).toBe(c.router.conservation);
      expect(check(r.stages[1]!.checks, 'handoff').status).toBe(c.router.handoff);
      expect(check(r.channels[0]!.checks, 'conservation').status).toBe(c.sms);
      expect(r.channels[0]).toMatchObject({ name: 'sms', stage: 'router', channel: true });
    });

  it('says the numbers and the reason', async () => {
    const r = await evaluateFlow(
      flow,
      tableQuery({ a_in: 100, a_out: 80, a_drop: null, b_in: 60, b_out: 60, c_in: null, c_out: 1 }),
      T,
      new FlowState(),
    );
    const ingest = check(r.stages[0]!.checks, 'conservation');
    expect(ingest).toMatchObject({ status: 'violated', value: 0.2, expected: 0.01 });
    expect(ingest.numbers).toMatchObject({ in: 100, out: 80, dropped: 0, gap: 20, gap_percent: 20 });
    expect(ingest.reason).toContain('20.00% of items unaccounted for');
    expect(ingest.reason).toContain('dropped taken as 0 (no series for "a_drop")');
    expect(r.stages[0]!.rates).toEqual({ in: 100, out: 80, dropped: null });
    const hand = check(r.stages[1]!.checks, 'handoff');
    expect(hand.reason).toContain('lost between ingest and this stage');
    expect(hand.numbers).toMatchObject({ out: 80, in: 60, gap: 20, gap_percent: 25 });
    const sms = r.channels[0]!;
    expect(sms.status).toBe('unknown');
    expect(check(sms.checks, 'conservation').reason).toBe('no series for "c_in"');
  });

  it('counts a growing in_flight gauge as kept, using real PromQL', async () => {
    const storage = new MemoryStorage();
    const app = storage.appender();
    // 10/s in, 8/s out, the queue grows 2/s: nothing is lost. The source stopped writing 5 minutes ago.
    for (let s = 0; s <= 600; s += 15) {
      const t = T - 600_000 + s * 1000;
      app.append({ __name__: 'in_total' }, t, 10 * s);
      app.append({ __name__: 'out_total' }, t, 8 * s);
      app.append({ __name__: 'queue_depth' }, t, 2 * s);
      if (s <= 300) app.append({ __name__: 'source_last' }, t, s);
    }
    await app.commit();
    const f = flowSchema.parse({
      name: 'q',
      interval: '1m',
      stages: [
        {
          name: 'queue',
          in: 'sum(rate(in_total[2m]))',
          out: 'sum(rate(out_total[2m]))',
          in_flight: 'sum(queue_depth)',
          freshness: { series: 'source_last', max_age: '2m' },
          lag: { expr: 'max(queue_depth)', max: 1000 },
          throughput: false,
        },
      ],
    });
    const r = await evaluateFlow(f, engineQueryFn(new Engine(), storage), T, new FlowState());
    const checks = r.stages[0]!.checks;
    expect(check(checks, 'conservation')).toMatchObject({ status: 'ok' });
    expect(check(checks, 'conservation').numbers.in_flight_change).toBeCloseTo(2);
    expect(check(checks, 'freshness')).toMatchObject({ status: 'violated', value: 300, expected: 120 });
    expect(check(checks, 'lag')).toMatchObject({ status: 'violated', value: 1200, expected: 1000 });
    const missing = await evaluateFlow(
      flowSchema.parse({ ...f, stages: [{ ...f.stages[0], freshness: { series: 'nope', max_age: '1m' } }] }),
      engineQueryFn(new Engine(), storage),
      T,
      new FlowState(),
    );
    expect(check(missing.stages[0]!.checks, 'freshness')).toMatchObject({
      status: 'unknown',
      reason: 'no samples of nope in the last 3600s',
    });
  });
});

describe('throughput baseline', () => {
  const cfg = { min_drop: 0.5, deviations: 4, alpha: 0.1, warmup: 5, min_rate: 0, relearn_after: 30 };
  it('learns, then flags a sudden drop but not normal noise', () => {
    const b = { mean: 0, dev: 0, n: 0, violations: 0 };
    const statuses = [100, 104, 96, 101, 99, 103, 97, 100, 40, 0].map((v) => throughput(cfg, b, v).status);
    expect(statuses).toEqual([
      'unknown',
      'unknown',
      'unknown',
      'unknown',
      'unknown',
      'ok',
      'ok',
      'ok',
      'violated',
      'violated',
    ]);
  });
  it('stays violated while traffic is gone and recovers when it returns', () => {
    const b = { mean: 100, dev: 2, n: 10, violations: 0 };
    for (let i = 0; i < 20; i++) expect(throughput(cfg, b, 0).status).toBe('violated');
    expect(throughput(cfg, b, 100).status).toBe('ok');
  });
  it('learns a lasting lower level as the new normal after relearn_after drops', () => {
    const b = { mean: 100, dev: 2, n: 10, violations: 0 };
    for (let i = 0; i < 30; i++) expect(throughput(cfg, b, 30).status).toBe('violated');
    // The 30th drop restarts learning with its own value, so 4 more complete the warm-up of 5.
    for (let i = 0; i < 4; i++) expect(throughput(cfg, b, 30).status).toBe('unknown');
    expect(throughput(cfg, b, 30).status).toBe('ok');
  });
});

describe('flows configuration', () => {
  const problems = (v: unknown) => {
    const r = flowsSchema.safeParse(v);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('reports bad PromQL, unknown stages and duplicates with their place', () => {
    expect(
      problems([
        {
          name: 'f',
          stages: [
            { name: 'a', in: 'rate(x[5m]', out: 'y', freshness: { series: 'rate(x[5m])', max_age: '1m' } },
            { name: 'a', in: 'x', out: 'y', lag: { expr: 'q', max: 'soon' } },
          ],
          channels: [{ name: 'sms', stage: 'b', in: 'x', out: 'y' }],
          labels: { stage: 'x' },
        },
      ]),
    ).toEqual([
      expect.stringMatching(/^0\.stages\.0\.in: not valid PromQL/),
      '0.stages.0.freshness.series: expected a series selector such as foo_total{job="x"}',
      expect.stringMatching(/^0\.stages\.1\.lag\.max: .*a number or a duration/),
    ]);
    expect(
      problems([
        {
          name: 'f',
          stages: [
            { name: 'a', in: 'x', out: 'y' },
            { name: 'a', in: 'x', out: 'y' },
          ],
          channels: [{ name: 'sms', stage: 'b', in: 'x', out: 'y' }],
          labels: { stage: 'x' },
        },
      ]),
    ).toEqual([
      '0.stages.1.name: stage "a" is listed twice',
      '0.channels.0.stage: no stage "b" in this flow (stages: a)',
      '0.labels.stage: not a valid label name here (letters, digits, _; not alertname, flow, stage, channel, severity, __name__)',
    ]);
    expect(problems([{ name: 'f', stages: [] }])).toEqual(['0.stages: a flow needs at least one stage']);
  });
  it('fills defaults', () => {
    const [f] = flowsSchema.parse([
      { name: 'f', stages: [{ name: 'a', in: 'x', out: 'y', lag: { expr: 'q', max: '60s' } }] },
    ]);
    expect(f).toMatchObject({
      interval: 60_000,
      tolerance: 0.01,
      channels: [],
      severity: { conservation: 'critical' },
    });
    expect(f!.stages[0]!.lag!.max).toBe(60);
    expect(f!.stages[0]!.throughput).toMatchObject({ min_drop: 0.5, warmup: 10 });
  });
});
