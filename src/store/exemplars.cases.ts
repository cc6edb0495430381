/**
 * The shared ExemplarStore suite: every implementation (memory, chDB, ClickHouse server when reachable) must
 * pass it. Call `exemplarStoreSuite(name, open)` from a test file; `open` returns a fresh, empty store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Labels } from '../model/labels.ts';
import type { Matcher } from '../model/matcher.ts';
import { InvalidExemplarError, type ExemplarRecord, type ExemplarStore } from './exemplars.ts';

/** A recent whole second, so retention settings of the implementations never drop test data. */
export const EX_T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const bucket = (le: string, extra: Record<string, string> = {}): Labels => ({
  __name__: 'http_duration_seconds_bucket',
  job: 'api',
  le,
  ...extra,
});

export function exemplarRecord(
  seriesLabels: Labels,
  dt: number,
  value: number,
  traceId = 'a'.repeat(32),
  spanId = 'b'.repeat(16),
): ExemplarRecord {
  return { seriesLabels, t: EX_T0 + dt, value, labels: { trace_id: traceId, span_id: spanId } };
}

const eq = (name: string, value: string): Matcher => ({ name, type: '=', value });
const re = (name: string, value: string): Matcher => ({ name, type: '=~', value });
const tid = (n: number) => n.toString(16).padStart(32, '0');

export function exemplarStoreSuite(name: string, open: () => Promise<ExemplarStore>): void {
  describe(`ExemplarStore contract: ${name}`, () => {
    let store: ExemplarStore | undefined;
    const fresh = async () => (store = await open());
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('returns exemplars of matching series in range, inclusive, series by labels, exemplars by time', async () => {
      const s = await fresh();
      await s.append([
        exemplarRecord(bucket('0.5'), 3000, 0.31, tid(3)),
        exemplarRecord(bucket('0.1'), 1000, 0.05, tid(1)),
        exemplarRecord(bucket('0.5'), 2000, 0.42, tid(2)),
        exemplarRecord(bucket('0.5'), 9000, 0.2, tid(9)),
        exemplarRecord(bucket('0.5', { job: 'other' }), 2000, 0.3, tid(4)),
      ]);
      const got = await s.select(EX_T0 + 1000, EX_T0 + 3000, [[eq('job', 'api')]]);
      expect(got.truncated).toBe(false);
      expect(got.series).toEqual([
        {
          seriesLabels: bucket('0.1'),
          exemplars: [
            { labels: { span_id: 'b'.repeat(16), trace_id: tid(1) }, value: 0.05, t: EX_T0 + 1000 },
          ],
        },
        {
          seriesLabels: bucket('0.5'),
          exemplars: [
            { labels: { span_id: 'b'.repeat(16), trace_id: tid(2) }, value: 0.42, t: EX_T0 + 2000 },
            { labels: { span_id: 'b'.repeat(16), trace_id: tid(3) }, value: 0.31, t: EX_T0 + 3000 },
          ],
        },
      ]);
      expect((await s.select(EX_T0 + 3001, EX_T0 + 8999, [[eq('job', 'api')]])).series).toEqual([]);
    });

    it('takes the union of matcher lists, regex matchers anchored, a missing label matching empty', async () => {
      const s = await fresh();
      await s.append([
        exemplarRecord(bucket('1', { path: '/a' }), 1000, 0.7),
        exemplarRecord(bucket('1', { path: '/b' }), 1000, 0.8),
        exemplarRecord(bucket('1'), 1000, 0.9),
        exemplarRecord({ __name__: 'rpc_total', path: '/a' }, 1000, 1),
      ]);
      const paths = async (...sets: Matcher[][]) =>
        (await s.select(EX_T0, EX_T0 + 5000, sets)).series.map((x) => x.seriesLabels.path ?? '-');
      expect(await paths([re('path', '/a|')])).toEqual(['-', '/a', '/a']);
      expect(await paths([re('path', 'a')])).toEqual([]);
      expect(await paths([eq('path', '')])).toEqual(['-']);
      expect(
        await paths(
          [eq('__name__', 'rpc_total')],
          [eq('path', '/b')],
          [eq('__name__', 'http_duration_seconds_bucket'), eq('path', '/b')],
        ),
      ).toEqual(['/b', '/a']);
    });

    it('keeps an exemplar appended twice once, and distinct exemplars at the same time apart', async () => {
      const s = await fresh();
      const e = exemplarRecord(bucket('0.5'), 1000, 0.25, tid(7));
      await s.append([e, e]);
      await s.append([e, exemplarRecord(bucket('0.5'), 1000, 0.25, tid(8))]);
      const got = await s.select(EX_T0, EX_T0 + 1000, [[eq('le', '0.5')]]);
      expect(got.series[0]!.exemplars.map((x) => x.labels.trace_id)).toEqual([tid(7), tid(8)]);
    });

    it('keeps the newest exemplars when more match than the limit', async () => {
      const s = await fresh();
      const records: ExemplarRecord[] = [];
      for (let i = 0; i < 10; i++) records.push(exemplarRecord(bucket(String(i % 2)), i * 1000, i, tid(i)));
      await s.append(records);
      const got = await s.select(EX_T0, EX_T0 + 100_000, [[eq('job', 'api')]], { limit: 3 });
      expect(got.truncated).toBe(true);
      expect(got.series.map((x) => [x.seriesLabels.le, x.exemplars.map((e) => e.value)])).toEqual([
        ['0', [8]],
        ['1', [7, 9]],
      ]);
      expect((await s.select(EX_T0, EX_T0 + 100_000, [[eq('job', 'api')]], { limit: 10 })).truncated).toBe(
        false,
      );
    });

    it('keeps values exactly, including non-finite ones', async () => {
      const s = await fresh();
      await s.append([
        exemplarRecord(bucket('+Inf'), 1000, 1e21),
        exemplarRecord(bucket('+Inf'), 2000, 0.1 + 0.2),
        exemplarRecord(bucket('+Inf'), 3000, Infinity),
        exemplarRecord(bucket('+Inf'), 4000, -0.000123),
      ]);
      const got = await s.select(EX_T0, EX_T0 + 5000, [[eq('le', '+Inf')]]);
      expect(got.series[0]!.exemplars.map((e) => e.value)).toEqual([1e21, 0.1 + 0.2, Infinity, -0.000123]);
    });

    it('refuses a call with an invalid record and stores none of it', async () => {
      const s = await fresh();
      const good = exemplarRecord(bucket('1'), 1000, 0.5);
      const cases: [ExemplarRecord, RegExp][] = [
        [{ ...good, seriesLabels: { job: 'api' } }, /exemplar 1: the series labels have no __name__/],
        [{ ...good, t: 1.5 }, /exemplar 1: timestamp 1.5 is not a whole number/],
        [
          { ...good, labels: { trace_id: 'x'.repeat(130) } },
          /exemplar 1: exemplar labels have 138 characters/,
        ],
      ];
      for (const [bad, msg] of cases) {
        const err = await s.append([good, bad]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidExemplarError);
        expect((err as Error).message).toMatch(msg);
      }
      expect((await s.select(EX_T0 - 86_400_000, EX_T0 + 86_400_000, [[eq('job', 'api')]])).series).toEqual(
        [],
      );
    });

    it('serves concurrent appends, each visible once it resolves', async () => {
      const s = await fresh();
      await Promise.all(
        Array.from({ length: 10 }, async (_, w) => {
          const recs = Array.from({ length: 20 }, (_, i) =>
            exemplarRecord(bucket('1', { w: String(w) }), i * 1000, i, tid(w * 100 + i)),
          );
          await s.append(recs);
          const got = await s.select(EX_T0, EX_T0 + 100_000, [[eq('w', String(w))]]);
          expect(got.series[0]!.exemplars).toHaveLength(20);
        }),
      );
      const all = await s.select(EX_T0, EX_T0 + 100_000, [[eq('job', 'api')]]);
      expect(all.series).toHaveLength(10);
    });

    it('rejects calls after close', async () => {
      const s = await fresh();
      await s.close();
      await expect(s.append([exemplarRecord(bucket('1'), 0, 1)])).rejects.toThrow(/closed/);
      await expect(s.select(0, 1, [[eq('job', 'api')]])).rejects.toThrow(/closed/);
    });
  });
}
