import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../store/memory.ts';
import { Engine } from './engine.ts';
import { ParseError, QueryCanceledError, QueryTimeoutError, TooManySamplesError } from './errors.ts';
import { FUNCTIONS } from './functions.ts';
import { AGGREGATORS } from './parser.ts';
import { parseTestScript, testCases } from './promqltest.ts';

const dir = join(import.meta.dirname, 'testdata');

for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.test'))
  .sort()) {
  describe(file, () => {
    for (const c of testCases(readFileSync(join(dir, file), 'utf8'), file)) {
      it(c.name, () => c.run());
    }
  });
}

describe('testdata coverage', () => {
  const evals = readdirSync(dir)
    .filter((f) => f.endsWith('.test'))
    .flatMap((f) => parseTestScript(readFileSync(join(dir, f), 'utf8'), f))
    .filter((c) => c.kind === 'eval');
  const succeeding = evals.filter((c) => !c.fail).map((c) => c.query);
  const failing = evals.filter((c) => c.fail).map((c) => c.query);
  const calls = (queries: string[], name: string) =>
    queries.some((q) => new RegExp(`(^|[^a-zA-Z0-9_:])${name}\\s*(\\(|by|without)`).test(q));

  // A function added to functions.ts without a case fails here, so coverage stays complete.
  it.each([...FUNCTIONS.keys(), ...AGGREGATORS.keys()])(
    '%s has a case that succeeds and one that fails',
    (name) => {
      expect(calls(succeeding, name), `no eval of ${name}(...)`).toBe(true);
      expect(calls(failing, name), `no eval_fail of ${name}(...)`).toBe(true);
    },
  );

  it.each(['+', '-', '*', '/', '%', '^', 'atan2', '==', '!=', '<', '<=', '>', '>=', 'and', 'or', 'unless'])(
    'operator %s has a case',
    (op) => {
      const re = /^[a-z]/.test(op)
        ? new RegExp(`\\s${op}\\s`)
        : new RegExp(`\\s${op.replace(/[\^*+]/g, '\\$&')}\\s`);
      expect(succeeding.some((q) => re.test(q))).toBe(true);
    },
  );
});

describe("windows: 'prometheus2' (closed windows, as Prometheus 2.x)", () => {
  const script = [
    'load 1m',
    '  m 0+10x10',
    '  g 5 _ _ _ _ _ _ 7',
    // The sample exactly 5m old is still visible, and a 5m range holds 6 samples.
    'eval instant at 5m g',
    '  g 5',
    'eval instant at 5m count_over_time(m[5m])',
    '  {} 6',
    'eval instant at 5m m[2m]',
    '  m 30 40 50',
    'eval range from 0 to 12m step 3m g',
    '  g 5 5 _ 7 7',
    // Subquery steps start at the range start when it is a multiple of the step.
    'eval instant at 5m count_over_time(m[2m:1m])',
    '  {} 3',
    // The zero-point limit of counter extrapolation is applied before the threshold test, as up to 2.51.
    'eval instant at 5m increase(m[5m])',
    '  {} 50',
    'eval instant at 4m30s increase(m[3m])',
    '  {} 30',
  ].join('\n');
  for (const c of testCases(script, 'prometheus2', new Engine({ windows: 'prometheus2' })))
    it(c.name, () => c.run());
});

describe('engine limits', () => {
  const st = new MemoryStorage();
  for (let s = 0; s < 10; s++)
    for (let i = 0; i <= 60; i++) st.add({ __name__: 'm', i: String(s) }, i * 60_000, i);

  it('rejects queries over maxSamples', async () => {
    const eng = new Engine({ maxSamples: 100 });
    await expect(eng.rangeQuery(st, 'm', 0, 3_600_000, 60_000)).rejects.toBeInstanceOf(TooManySamplesError);
    await expect(eng.instantQuery(st, 'sum(m)', 3_600_000)).resolves.toMatchObject({ resultType: 'vector' });
  });

  it('counts samples, not steps: an empty result over a long grid is fine, a huge subquery grid is not', async () => {
    const eng = new Engine({ maxSamples: 100 });
    await expect(eng.rangeQuery(st, 'sum(nonexistent)', 0, 3_600_000, 1000)).resolves.toEqual({
      resultType: 'matrix',
      result: [],
    });
    await expect(eng.instantQuery(st, 'max_over_time(m[10y:1s])', 0)).rejects.toBeInstanceOf(
      TooManySamplesError,
    );
  });

  it('honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(new Engine().instantQuery(st, 'm', 0, { signal: ac.signal })).rejects.toBeInstanceOf(
      QueryCanceledError,
    );
  });

  it('reports an abort by AbortSignal.timeout() as a timeout', async () => {
    const signal = AbortSignal.timeout(0);
    await new Promise((r) => setTimeout(r, 5));
    await expect(new Engine().instantQuery(st, 'm', 0, { signal })).rejects.toBeInstanceOf(QueryTimeoutError);
  });

  it('times out', async () => {
    await expect(new Engine({ timeoutMs: -1 }).instantQuery(st, 'm', 0)).rejects.toBeInstanceOf(
      QueryTimeoutError,
    );
  });

  it('hands storages the deadline, and reports a read failing past it as a timeout', async () => {
    let seen: number | undefined;
    const failing = {
      querier: (mint: number, maxt: number) => ({
        ...st.querier(mint, maxt),
        select: async (_m: unknown, hints?: { deadline?: number }) => {
          seen = hints?.deadline;
          // As ClickHouse does when max_execution_time runs out.
          await new Promise((r) => setTimeout(r, 80));
          throw new Error('Code: 159. DB::Exception: Timeout exceeded');
        },
      }),
    };
    const started = Date.now();
    await expect(new Engine({ timeoutMs: 50 }).instantQuery(failing, 'm', 0)).rejects.toBeInstanceOf(
      QueryTimeoutError,
    );
    expect(seen).toBeGreaterThanOrEqual(started + 50);
    expect(seen).toBeLessThan(started + 1000);
  });

  it('cancels while running when the signal fires', async () => {
    const ac = new AbortController();
    const slow = {
      querier: (mint: number, maxt: number) => {
        const inner = st.querier(mint, maxt);
        return {
          ...inner,
          select: async (...args: Parameters<typeof inner.select>) => {
            ac.abort();
            return inner.select(...args);
          },
        };
      },
    };
    await expect(new Engine().instantQuery(slow, 'm', 0, { signal: ac.signal })).rejects.toBeInstanceOf(
      QueryCanceledError,
    );
  });

  it('uses the configured lookback', async () => {
    const res = await new Engine({ lookbackDeltaMs: 30_000 }).instantQuery(st, 'm{i="0"}', 90_000);
    expect(res).toEqual({ resultType: 'vector', result: [] });
    const res2 = await new Engine({ lookbackDeltaMs: 31_000 }).instantQuery(st, 'm{i="0"}', 90_000);
    expect(res2).toMatchObject({ result: [{ value: [90, '1'] }] });
  });

  it('reports stats when asked', async () => {
    const res = await new Engine().rangeQuery(st, 'rate(m[5m])', 600_000, 1_200_000, 60_000, { stats: true });
    expect(res.stats?.samples.totalQueryableSamples).toBeGreaterThan(0);
    expect(res.stats?.samples.peakSamples).toBeGreaterThan(0);
  });

  it('returns matrices sorted by labels for range queries and keeps timestamps in seconds', async () => {
    const res = await new Engine().rangeQuery(st, 'm', 0, 120_000, 60_000);
    expect(res.resultType).toBe('matrix');
    if (res.resultType !== 'matrix') return;
    expect(res.result.map((r) => r.metric.i)).toEqual(
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].sort(),
    );
    expect(res.result[0]!.values).toEqual([
      [0, '0'],
      [60, '1'],
      [120, '2'],
    ]);
  });

  it('rejects range queries over range vectors and strings', async () => {
    await expect(new Engine().rangeQuery(st, 'm[5m]', 0, 60_000, 60_000)).rejects.toThrow(
      'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    );
    await expect(new Engine().rangeQuery(st, '"x"', 0, 60_000, 60_000)).rejects.toThrow(
      'invalid expression type "string"',
    );
  });

  it('formats values like Go and timestamps as (fractional) seconds', async () => {
    const res = await new Engine().instantQuery(
      st,
      'vector(1e21) or label_replace(vector(-1/0), "a", "b", "", "") or label_replace(vector(0/0), "a", "c", "", "")',
      1234,
    );
    expect(res).toEqual({
      resultType: 'vector',
      result: [
        { metric: {}, value: [1.234, '1000000000000000000000'] },
        { metric: { a: 'b' }, value: [1.234, '-Inf'] },
        { metric: { a: 'c' }, value: [1.234, 'NaN'] },
      ],
    });
  });

  it('returns raw samples for an instant query of a range selector', async () => {
    const res = await new Engine().instantQuery(st, 'm{i="3"}[2m]', 180_000);
    expect(res).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'm', i: '3' },
          values: [
            [120, '2'],
            [180, '3'],
          ],
        },
      ],
    });
  });

  it('rejects bad range parameters', async () => {
    await expect(new Engine().rangeQuery(st, 'm', 0, 60_000, 0)).rejects.toThrow(
      'zero or negative query resolution step widths are not accepted',
    );
    await expect(new Engine().rangeQuery(st, 'm', 60_000, 0, 1000)).rejects.toThrow(
      'end timestamp must not be before start time',
    );
  });

  it('throws ParseError for syntax errors', async () => {
    await expect(new Engine().instantQuery(st, 'sum(', 0)).rejects.toBeInstanceOf(ParseError);
  });

  it('returns scalars and strings for instant queries', async () => {
    await expect(new Engine().instantQuery(st, '1 + 2', 1500)).resolves.toEqual({
      resultType: 'scalar',
      result: [1.5, '3'],
    });
    await expect(new Engine().instantQuery(st, '"hi"', 1000)).resolves.toEqual({
      resultType: 'string',
      result: [1, 'hi'],
    });
  });
});
