/**
 * The shared Storage test suite: every implementation (memory, chDB, ClickHouse server when reachable) must
 * pass it. Call `storageSuite(name, open)` from a test file; `open` returns a fresh, empty storage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN, type Labels } from '../model/labels.ts';
import type { Storage } from './interface.ts';

const m = (name: string, extra: Record<string, string> = {}): Labels => ({ __name__: name, ...extra });

export function storageSuite(name: string, open: () => Promise<Storage>): void {
  describe(`Storage contract: ${name}`, () => {
    let store: Storage | undefined;
    const fresh = async () => (store = await open());
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('returns committed samples in range, inclusive at both ends, sorted by time', async () => {
      const s = await fresh();
      const app = s.appender();
      for (const t of [5000, 1000, 3000, 2000, 4000]) app.append(m('up', { job: 'a' }), t, t / 1000);
      expect(app.count).toBe(5);
      await app.commit();
      const got = await s.querier(2000, 4000).select([{ name: '__name__', type: '=', value: 'up' }]);
      expect(got).toHaveLength(1);
      expect(got[0]!.labels).toEqual({ __name__: 'up', job: 'a' });
      expect([...got[0]!.t]).toEqual([2000, 3000, 4000]);
      expect([...got[0]!.v]).toEqual([2, 3, 4]);
    });

    it('does not expose rolled-back samples', async () => {
      const s = await fresh();
      const app = s.appender();
      app.append(m('x'), 1000, 1);
      app.rollback();
      expect(await s.querier(0, 10_000).select([{ name: '__name__', type: '=', value: 'x' }])).toEqual([]);
      expect(() => app.append(m('x'), 1, 1)).toThrow();
    });

    it('supports every matcher type and treats a missing label as empty', async () => {
      const s = await fresh();
      const app = s.appender();
      app.append(m('req', { code: '200', path: '/a' }), 1000, 1);
      app.append(m('req', { code: '500', path: '/b' }), 1000, 2);
      app.append(m('req', { code: '404' }), 1000, 3);
      app.append(m('other', { code: '200' }), 1000, 4);
      await app.commit();
      const q = s.querier(0, 2000);
      const codes = async (...ms: { name: string; type: '=' | '!=' | '=~' | '!~'; value: string }[]) =>
        (await q.select([{ name: '__name__', type: '=', value: 'req' }, ...ms]))
          .map((x) => x.labels.code)
          .sort();
      expect(await codes({ name: 'code', type: '=', value: '200' })).toEqual(['200']);
      expect(await codes({ name: 'code', type: '!=', value: '200' })).toEqual(['404', '500']);
      expect(await codes({ name: 'code', type: '=~', value: '[45]..' })).toEqual(['404', '500']);
      expect(await codes({ name: 'code', type: '!~', value: '5.*' })).toEqual(['200', '404']);
      expect(await codes({ name: 'path', type: '=', value: '' })).toEqual(['404']);
      expect(await codes({ name: 'path', type: '=~', value: '/a|' })).toEqual(['200', '404']);
      const all = await q.select([{ name: '__name__', type: '=~', value: 'req|other' }]);
      expect(all).toHaveLength(4);
    });

    it('accepts out-of-order and historical samples (backfill)', async () => {
      const s = await fresh();
      const year = 365 * 86_400_000;
      const now = Date.now();
      const a1 = s.appender();
      a1.append(m('bf'), now, 3);
      await a1.commit();
      const a2 = s.appender();
      a2.append(m('bf'), now - year, 1);
      a2.append(m('bf'), now - 60_000, 2);
      await a2.commit();
      const got = await s.querier(now - 2 * year, now).select([{ name: '__name__', type: '=', value: 'bf' }]);
      expect([...got[0]!.v]).toEqual([1, 2, 3]);
    });

    it('stores NaN, +Inf, -Inf and keeps the stale marker bit-exact', async () => {
      const s = await fresh();
      const app = s.appender();
      app.append(m('special'), 1000, NaN);
      app.append(m('special'), 2000, Infinity);
      app.append(m('special'), 3000, -Infinity);
      app.append(m('special'), 4000, STALE_NAN);
      app.append(m('special'), 5000, 1e21);
      app.append(m('special'), 6000, -0.000123);
      await app.commit();
      const [got] = await s.querier(0, 10_000).select([{ name: '__name__', type: '=', value: 'special' }]);
      const v = [...got!.v];
      expect(Number.isNaN(v[0]) && !isStaleNaN(v[0]!)).toBe(true);
      expect(v.slice(1, 3)).toEqual([Infinity, -Infinity]);
      expect(isStaleNaN(v[3]!)).toBe(true);
      expect(v.slice(4)).toEqual([1e21, -0.000123]);
    });

    it('serves concurrent commits, each visible once it resolves', async () => {
      const s = await fresh();
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const app = s.appender();
          for (let t = 0; t < 50; t++) app.append(m('conc', { w: String(i) }), t * 1000, t);
          await app.commit();
          const got = await s.querier(0, 100_000).select([
            { name: '__name__', type: '=', value: 'conc' },
            { name: 'w', type: '=', value: String(i) },
          ]);
          expect(got[0]!.t.length).toBe(50);
        }),
      );
      const all = await s.querier(0, 100_000).select([{ name: '__name__', type: '=', value: 'conc' }]);
      expect(all).toHaveLength(20);
      expect((await s.stats()).series).toBe(20);
    });

    it('lists series, label names and values restricted to the time range and matchers', async () => {
      const s = await fresh();
      const app = s.appender();
      app.append(m('a', { job: 'x', env: 'prod' }), 1000, 1);
      app.append(m('a', { job: 'y' }), 50_000, 1);
      app.append(m('b', { zone: 'z1' }), 1000, 1);
      await app.commit();
      const q = s.querier(0, 10_000);
      expect(await q.labelNames([])).toEqual(['__name__', 'env', 'job', 'zone']);
      expect(await q.labelValues('job', [])).toEqual(['x']);
      expect(await q.labelValues('__name__', [])).toEqual(['a', 'b']);
      const sel = [[{ name: '__name__', type: '=' as const, value: 'b' }]];
      expect(await q.labelNames(sel)).toEqual(['__name__', 'zone']);
      expect(await q.series(sel)).toEqual([{ __name__: 'b', zone: 'z1' }]);
      expect(await s.querier(0, 100_000).labelValues('job', [])).toEqual(['x', 'y']);
    });

    it('deletes samples of matching series within a range', async () => {
      const s = await fresh();
      const app = s.appender();
      for (let t = 1; t <= 10; t++) {
        app.append(m('del', { k: 'a' }), t * 1000, t);
        app.append(m('del', { k: 'b' }), t * 1000, t);
      }
      await app.commit();
      await s.deleteSeries([[{ name: 'k', type: '=', value: 'a' }]], 3000, 7000);
      const q = s.querier(0, 20_000);
      const a = await q.select([{ name: 'k', type: '=', value: 'a' }]);
      expect([...a[0]!.t]).toEqual([1000, 2000, 8000, 9000, 10_000]);
      const b = await q.select([{ name: 'k', type: '=', value: 'b' }]);
      expect(b[0]!.t.length).toBe(10);
      await s.deleteSeries([[{ name: 'k', type: '=', value: 'a' }]], -Infinity, Infinity);
      await s.cleanTombstones();
      expect(await s.querier(0, 20_000).select([{ name: 'k', type: '=', value: 'a' }])).toEqual([]);
    });

    it('records metric metadata', async () => {
      const s = await fresh();
      const app = s.appender();
      app.appendMetadata('http_requests_total', { type: 'counter', help: 'Requests.', unit: '' });
      app.append(m('http_requests_total'), 1000, 1);
      await app.commit();
      const md = await s.metadata();
      expect(md.get('http_requests_total')).toEqual([{ type: 'counter', help: 'Requests.', unit: '' }]);
      expect((await s.metadata('nope')).size).toBe(0);
    });
  });
}
