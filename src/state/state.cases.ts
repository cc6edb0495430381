/**
 * The shared StateStore suite, run against every driver (`sqlite.test.ts`, `postgres.test.ts`).
 * `open` must return a store over the same database on every call (migration idempotence is checked by
 * opening it again); tests isolate themselves by unique uids, tags and namespaces, not by emptying tables.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  InvalidInputError,
  NotFoundError,
  StateStoreError,
  VersionConflictError,
} from './errors.ts';
import type { DashboardInput, IncidentInput, JsonObject, JsonValue, StateStore } from './interface.ts';

let seq = 0;
/** A name unique within and across runs, valid as uid, tag and namespace. */
function unique(prefix: string): string {
  seq++;
  return `${prefix}-${seq}-${randomUUID().slice(0, 8)}`;
}

function panelBody(n: number): JsonObject {
  return { schemaVersion: 1, panels: Array.from({ length: n }, (_, i) => ({ id: i, type: 'timeseries' })) };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

export function runStateStoreSuite(
  name: string,
  open: () => Promise<StateStore>,
  cleanup: () => Promise<void>,
): void {
  describe(`StateStore: ${name}`, () => {
    let store: StateStore;

    beforeAll(async () => {
      store = await open();
    });

    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    describe('dashboards', () => {
      it('creates and reads back a dashboard', async () => {
        const uid = unique('crud');
        const body = { schemaVersion: 1, panels: [{ id: 1, title: 'CPU', targets: [{ expr: 'up' }] }] };
        const before = Date.now();
        const created = await store.dashboards.create({
          uid,
          title: '  Overview ',
          tags: ['ops'],
          body,
          createdBy: 'ana',
        });
        expect(created).toMatchObject({
          uid,
          title: 'Overview',
          tags: ['ops'],
          body,
          version: 1,
          createdBy: 'ana',
        });
        expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(created.createdAt).toBeGreaterThanOrEqual(before);
        expect(created.updatedAt).toBe(created.createdAt);
        expect(await store.dashboards.get(uid)).toEqual(created);
      });

      it('generates a uid when none is given, and defaults tags and creator', async () => {
        const d = await store.dashboards.create({ title: 'generated', body: {} });
        expect(d.uid).toMatch(/^[A-Za-z0-9_-]{12}$/);
        expect(d.tags).toEqual([]);
        expect(d.createdBy).toBeNull();
        expect((await store.dashboards.get(d.uid))?.title).toBe('generated');
      });

      it('trims and de-duplicates tags, keeping their order', async () => {
        const d = await store.dashboards.create({ title: 't', tags: ['b', ' a ', 'b', 'a'], body: {} });
        expect(d.tags).toEqual(['b', 'a']);
        expect((await store.dashboards.get(d.uid))?.tags).toEqual(['b', 'a']);
      });

      it('returns undefined for an unknown or malformed uid', async () => {
        expect(await store.dashboards.get(unique('missing'))).toBeUndefined();
        expect(await store.dashboards.get('not a uid / \u0000')).toBeUndefined();
      });

      it('refuses a second dashboard with the same uid and keeps the first', async () => {
        const uid = unique('dup');
        await store.dashboards.create({ uid, title: 'first', body: { a: 1 } });
        const err = await rejection(store.dashboards.create({ uid, title: 'second', body: { a: 2 } }));
        expect(err).toBeInstanceOf(AlreadyExistsError);
        expect(err).toBeInstanceOf(StateStoreError);
        expect((err as Error).message).toContain(uid);
        expect((await store.dashboards.get(uid))?.title).toBe('first');
      });

      const invalid: [string, DashboardInput, RegExp][] = [
        ['empty title', { title: '  ', body: {} }, /title must not be empty/],
        ['title with NUL', { title: 'a\u0000b', body: {} }, /NUL/],
        ['uid with a space', { uid: 'a b', title: 't', body: {} }, /invalid dashboard uid/],
        ['uid too long', { uid: 'x'.repeat(41), title: 't', body: {} }, /invalid dashboard uid/],
        ['array body', { title: 't', body: [] as unknown as JsonObject }, /body must be a JSON object/],
        ['null body', { title: 't', body: null as unknown as JsonObject }, /body must be a JSON object/],
        [
          'tags not an array',
          { title: 't', tags: 'ops' as unknown as string[], body: {} },
          /tags must be an array/,
        ],
        ['empty tag', { title: 't', tags: ['ok', ''], body: {} }, /tags\[1\] must not be empty/],
        [
          'bigint in body',
          { title: 't', body: { n: 1n } as unknown as JsonObject },
          /not serializable as JSON/,
        ],
      ];
      it.each(invalid)('rejects invalid input: %s', async (_case, input, msg) => {
        const err = await rejection(store.dashboards.create(input));
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as Error).message).toMatch(msg);
      });

      it('updates with the expected version and bumps it', async () => {
        const uid = unique('upd');
        const d1 = await store.dashboards.create({
          uid,
          title: 'v1',
          tags: ['x'],
          body: { n: 1 },
          createdBy: 'ana',
        });
        const d2 = await store.dashboards.update(uid, { title: 'v2', body: { n: 2 } }, 1);
        expect(d2).toMatchObject({
          id: d1.id,
          uid,
          title: 'v2',
          tags: ['x'],
          body: { n: 2 },
          version: 2,
          createdBy: 'ana',
        });
        expect(d2.createdAt).toBe(d1.createdAt);
        expect(d2.updatedAt).toBeGreaterThanOrEqual(d1.updatedAt);
        const d3 = await store.dashboards.update(uid, { tags: ['y', 'z'] }, 2);
        expect(d3).toMatchObject({ title: 'v2', tags: ['y', 'z'], body: { n: 2 }, version: 3 });
        expect(await store.dashboards.get(uid)).toEqual(d3);
      });

      it('refuses an update carrying a stale version and leaves the dashboard unchanged', async () => {
        const uid = unique('stale');
        await store.dashboards.create({ uid, title: 'base', body: { n: 0 } });
        await store.dashboards.update(uid, { title: 'theirs' }, 1);
        const err = await rejection(store.dashboards.update(uid, { title: 'mine' }, 1));
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err).toMatchObject({ expectedVersion: 1, actualVersion: 2, id: uid });
        expect((err as Error).message).toMatch(/expected version 1, current version is 2/);
        const now = await store.dashboards.get(uid);
        expect(now).toMatchObject({ title: 'theirs', version: 2 });
      });

      it('reports a missing dashboard on update and delete', async () => {
        const uid = unique('gone');
        expect(await rejection(store.dashboards.update(uid, { title: 'x' }, 1))).toBeInstanceOf(
          NotFoundError,
        );
        expect(await rejection(store.dashboards.delete(uid))).toBeInstanceOf(NotFoundError);
      });

      it('rejects a version that is not a positive integer', async () => {
        const uid = unique('ver');
        await store.dashboards.create({ uid, title: 't', body: {} });
        for (const v of [0, -1, 1.5, Number.NaN]) {
          expect(await rejection(store.dashboards.update(uid, { title: 'x' }, v))).toBeInstanceOf(
            InvalidInputError,
          );
        }
      });

      it('deletes a dashboard, after which it is gone', async () => {
        const uid = unique('del');
        await store.dashboards.create({ uid, title: 'bye', body: {} });
        await store.dashboards.delete(uid);
        expect(await store.dashboards.get(uid)).toBeUndefined();
        expect(await rejection(store.dashboards.delete(uid))).toBeInstanceOf(NotFoundError);
        // The uid is free again.
        expect((await store.dashboards.create({ uid, title: 'again', body: {} })).version).toBe(1);
      });

      it('lists summaries filtered by tag and by title, ordered by title', async () => {
        const tag = unique('list');
        await store.dashboards.create({ title: 'Zeta network', tags: [tag], body: panelBody(2) });
        await store.dashboards.create({ title: 'alpha disks', tags: [tag, 'storage'], body: {} });
        await store.dashboards.create({ title: 'Übersicht network', tags: [tag], body: {} });
        await store.dashboards.create({ title: 'Beta network', tags: ['other'], body: {} });

        const all = await store.dashboards.list({ tag });
        expect(all.map((d) => d.title)).toEqual(['alpha disks', 'Übersicht network', 'Zeta network']);
        expect(all[0]).not.toHaveProperty('body');

        const net = await store.dashboards.list({ tag, query: 'NETW' });
        expect(net.map((d) => d.title)).toEqual(['Übersicht network', 'Zeta network']);
        // Case folding beyond ASCII.
        expect((await store.dashboards.list({ tag, query: 'über' })).map((d) => d.title)).toEqual([
          'Übersicht network',
        ]);
        expect(await store.dashboards.list({ tag, query: 'no such title' })).toEqual([]);

        const everything = await store.dashboards.list();
        expect(everything.some((d) => d.title === 'Beta network')).toBe(true);
        expect((await store.dashboards.list({ query: 'network' })).length).toBeGreaterThanOrEqual(2);
      });

      it('lets exactly one of several concurrent updates with the same version win', async () => {
        const uid = unique('race');
        await store.dashboards.create({ uid, title: 'race', body: { winner: null } });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => store.dashboards.update(uid, { body: { winner: i } }, 1)),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(11);
        for (const o of lost)
          expect((o as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
        const final = await store.dashboards.get(uid);
        expect(final?.version).toBe(2);
        expect(final?.body).toEqual((won[0] as PromiseFulfilledResult<{ body: JsonObject }>).value.body);
      });

      it('loses no update when concurrent writers retry on conflict', async () => {
        const uid = unique('retry');
        await store.dashboards.create({ uid, title: 'retry', tags: [], body: {} });
        const writers = 8;
        await Promise.all(
          Array.from({ length: writers }, async (_, i) => {
            for (;;) {
              const cur = await store.dashboards.get(uid);
              try {
                await store.dashboards.update(uid, { tags: [...cur!.tags, `w${i}`] }, cur!.version);
                return;
              } catch (err) {
                if (!(err instanceof VersionConflictError)) throw err;
              }
            }
          }),
        );
        const final = await store.dashboards.get(uid);
        expect(final?.version).toBe(1 + writers);
        expect([...final!.tags].sort()).toEqual(Array.from({ length: writers }, (_, i) => `w${i}`).sort());
      });

      it('keeps unicode text exactly', async () => {
        const uid = unique('uni');
        const title = 'Zustellung 📨 — 配信 · تسليم · Доставка';
        const tags = ['канал', '🚀', 'e\u0301'];
        const body: JsonObject = {
          text: 'emoji 👩‍👩‍👧 CJK 漢字 RTL עברית combining e\u0301 vs é, astral 𝔘𝔫𝔦',
          escaped: 'nul \u0000 and quote " and backslash \\ and newline\n',
          nested: { 'ключ 🔑': ['ü', 'ß', 'İ'] },
        };
        await store.dashboards.create({ uid, title, tags, body });
        const got = await store.dashboards.get(uid);
        expect(got).toMatchObject({ title, tags, body });
        expect((await store.dashboards.list({ tag: '🚀', query: '📨' })).map((d) => d.uid)).toContain(uid);
      });

      it('stores and returns a large body unchanged', async () => {
        const uid = unique('big');
        const body: JsonObject = {
          panels: Array.from({ length: 20_000 }, (_, i) => ({
            id: i,
            title: `panel ${i} ✓`,
            targets: [{ expr: `rate(vigil_ingest_samples_total{protocol="p${i}"}[5m])` }],
            thresholds: [0.5, 0.9, i / 3],
          })),
        };
        expect(JSON.stringify(body).length).toBeGreaterThan(2_000_000);
        await store.dashboards.create({ uid, title: 'big', body });
        expect((await store.dashboards.get(uid))?.body).toEqual(body);
        const bigger = { ...body, extra: 'x'.repeat(1_000_000) };
        await store.dashboards.update(uid, { body: bigger }, 1);
        expect((await store.dashboards.get(uid))?.body).toEqual(bigger);
      });
    });

    describe('kv', () => {
      it('round-trips every kind of JSON value, including null', async () => {
        const ns = unique('kv');
        const values: [string, JsonValue][] = [
          ['null', null],
          ['true', true],
          ['zero', 0],
          ['float', -12.5e-3],
          ['string', 'héllo 🌍'],
          ['empty', ''],
          ['array', [1, 'two', null, [3]]],
          ['object', { a: { b: [true, false] }, ключ: 'значение' }],
        ];
        for (const [k, v] of values) await store.kv.set(ns, k, v);
        for (const [k, v] of values) expect(await store.kv.get(ns, k)).toEqual(v);
        expect(await store.kv.get(ns, 'absent')).toBeUndefined();
      });

      it('overwrites on set and lists a namespace in key order, isolated from others', async () => {
        const ns = unique('kvlist');
        const other = unique('kvother');
        await store.kv.set(ns, 'b', 1);
        await store.kv.set(ns, 'a', 1);
        await store.kv.set(ns, 'B', 1);
        await store.kv.set(other, 'a', 'not mine');
        const before = Date.now();
        await store.kv.set(ns, 'a', { changed: true });
        const entries = await store.kv.list(ns);
        expect(entries.map((e) => e.key)).toEqual(['B', 'a', 'b']);
        expect(entries[1]).toMatchObject({ key: 'a', value: { changed: true } });
        expect(entries[1]!.updatedAt).toBeGreaterThanOrEqual(before);
        expect(await store.kv.get(other, 'a')).toBe('not mine');
        expect(await store.kv.list(unique('empty'))).toEqual([]);
      });

      it('deletes idempotently', async () => {
        const ns = unique('kvdel');
        await store.kv.set(ns, 'k', 1);
        expect(await store.kv.delete(ns, 'k')).toBe(true);
        expect(await store.kv.delete(ns, 'k')).toBe(false);
        expect(await store.kv.get(ns, 'k')).toBeUndefined();
      });

      it('rejects values JSON cannot hold and empty names', async () => {
        const ns = unique('kvbad');
        expect(await rejection(store.kv.set(ns, 'k', undefined as unknown as JsonValue))).toBeInstanceOf(
          InvalidInputError,
        );
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        expect(await rejection(store.kv.set(ns, 'k', cyclic as JsonValue))).toBeInstanceOf(InvalidInputError);
        expect(await rejection(store.kv.set('', 'k', 1))).toBeInstanceOf(InvalidInputError);
        expect(await rejection(store.kv.get(ns, ''))).toBeInstanceOf(InvalidInputError);
        expect(await store.kv.get(ns, 'k')).toBeUndefined();
      });
    });

    describe('transactions', () => {
      it('commits every change together and returns the callback result', async () => {
        const uid = unique('txok');
        const ns = unique('txok');
        const result = await store.transaction(async (tx) => {
          await tx.dashboards.create({ uid, title: 'in tx', body: {} });
          await tx.dashboards.update(uid, { title: 'in tx, updated' }, 1);
          await tx.kv.set(ns, 'home', uid);
          // Reads inside the transaction see its own writes.
          expect((await tx.dashboards.get(uid))?.version).toBe(2);
          return 42;
        });
        expect(result).toBe(42);
        expect(await store.dashboards.get(uid)).toMatchObject({ title: 'in tx, updated', version: 2 });
        expect(await store.kv.get(ns, 'home')).toBe(uid);
      });

      it('rolls everything back when the callback throws, and rethrows the same error', async () => {
        const keep = unique('txkeep');
        const fresh = unique('txfresh');
        const ns = unique('txrb');
        await store.dashboards.create({ uid: keep, title: 'before', body: { n: 1 } });
        await store.kv.set(ns, 'k', 'before');
        const boom = new Error('boom');
        const err = await rejection(
          store.transaction(async (tx) => {
            await tx.dashboards.update(keep, { title: 'during', body: { n: 2 } }, 1);
            await tx.dashboards.create({ uid: fresh, title: 'during', body: {} });
            await tx.dashboards.delete(keep).catch(() => undefined);
            await tx.kv.set(ns, 'k', 'during');
            await tx.kv.set(ns, 'k2', 'during');
            throw boom;
          }),
        );
        expect(err).toBe(boom);
        expect(await store.dashboards.get(keep)).toMatchObject({
          title: 'before',
          version: 1,
          body: { n: 1 },
        });
        expect(await store.dashboards.get(fresh)).toBeUndefined();
        expect(await store.kv.list(ns)).toMatchObject([{ key: 'k', value: 'before' }]);
      });

      it('rolls back on a version conflict raised inside the transaction', async () => {
        const a = unique('txa');
        const b = unique('txb');
        await store.dashboards.create({ uid: a, title: 'a', body: {} });
        await store.dashboards.create({ uid: b, title: 'b', body: {} });
        await store.dashboards.update(b, { title: 'b2' }, 1);
        const err = await rejection(
          store.transaction(async (tx) => {
            await tx.dashboards.update(a, { title: 'a2' }, 1);
            await tx.dashboards.update(b, { title: 'b3' }, 1);
          }),
        );
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(await store.dashboards.get(a)).toMatchObject({ title: 'a', version: 1 });
        expect(await store.dashboards.get(b)).toMatchObject({ title: 'b2', version: 2 });
      });

      it('refuses to commit after a statement failed, even if the callback caught the error', async () => {
        const taken = unique('txtaken');
        const other = unique('txother');
        await store.dashboards.create({ uid: taken, title: 'taken', body: {} });
        const err = await rejection(
          store.transaction(async (tx) => {
            await tx.dashboards.create({ uid: other, title: 'other', body: {} });
            const dup = await rejection(tx.dashboards.create({ uid: taken, title: 'dup', body: {} }));
            expect(dup).toBeInstanceOf(AlreadyExistsError);
            // Every driver refuses further work in a failed transaction.
            expect(await rejection(tx.kv.set('x', 'y', 1))).toBeInstanceOf(StateStoreError);
          }),
        );
        expect(err).toBeInstanceOf(StateStoreError);
        expect((err as Error).message).toMatch(/rolled back/);
        expect(await store.dashboards.get(other)).toBeUndefined();
      });

      it('keeps concurrent transactions apart', async () => {
        const ns = unique('txconc');
        await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            store
              .transaction(async (tx) => {
                await tx.kv.set(ns, `k${i}`, i);
                await tx.dashboards.create({ uid: `${ns}-${i}`, title: `t${i}`, body: {} });
                if (i % 2 === 1) throw new Error(`abort ${i}`);
              })
              .catch((err: Error) => {
                expect(err.message).toBe(`abort ${i}`);
              }),
          ),
        );
        expect((await store.kv.list(ns)).map((e) => e.key)).toEqual(['k0', 'k2', 'k4']);
        for (let i = 0; i < 6; i++)
          expect(Boolean(await store.dashboards.get(`${ns}-${i}`))).toBe(i % 2 === 0);
      });
    });

    describe('on-call documents', () => {
      it('stores, replaces, lists and deletes documents of each kind separately', async () => {
        const id = unique('ana');
        await store.users.put({ id, name: ' Ana ', body: { contacts: [{ type: 'email', to: 'a@x' }] } });
        expect(await store.users.get(id)).toMatchObject({
          id,
          name: 'Ana',
          body: { contacts: [{ to: 'a@x' }] },
        });
        expect(await store.teams.get(id)).toBeUndefined();
        await store.users.put({ id, name: 'Ana B', body: {} });
        expect((await store.users.get(id))?.name).toBe('Ana B');
        expect((await store.users.list()).filter((u) => u.id === id)).toHaveLength(1);
        expect(await store.users.delete(id)).toBe(true);
        expect(await store.users.delete(id)).toBe(false);
        expect(await store.users.get(id)).toBeUndefined();
      });

      it('refuses malformed ids and names', async () => {
        expect(await rejection(store.policies.put({ id: 'a b', name: 'x', body: {} }))).toBeInstanceOf(
          InvalidInputError,
        );
        expect(await rejection(store.schedules.put({ id: 'ok', name: ' ', body: {} }))).toBeInstanceOf(
          InvalidInputError,
        );
      });
    });

    describe('incidents', () => {
      const base = (over: Partial<IncidentInput> = {}): IncidentInput => ({
        title: 'checkout errors',
        severity: 'critical',
        status: 'triggered',
        assignee: null,
        groupId: unique('g'),
        policyId: 'default',
        services: ['checkout', 'checkout'],
        components: [],
        alerts: ['fp1'],
        labels: { alertname: 'HighErrorRate' },
        createdAt: 1_700_000_000_000,
        ackedAt: null,
        ackedBy: null,
        resolvedAt: null,
        resolvedBy: null,
        escalation: { step: 0, loop: 0, nextAt: 1_700_000_060_000 },
        ...over,
      });

      it('creates an incident and reads it back', async () => {
        const created = await store.incidents.create(base());
        expect(created.id).toMatch(/^[A-Z2-9]{8}$/);
        expect(created).toMatchObject({
          version: 1,
          services: ['checkout'],
          escalation: { nextAt: 1_700_000_060_000 },
        });
        expect(await store.incidents.get(created.id)).toEqual(created);
        expect(await store.incidents.get('no such id')).toBeUndefined();
      });

      it('lets exactly one of two concurrent acknowledgements win', async () => {
        const inc = await store.incidents.create(base());
        const results = await Promise.allSettled(
          ['ana', 'bob'].map((who) =>
            store.incidents.update(
              inc.id,
              { status: 'acknowledged', ackedAt: 1_700_000_010_000, ackedBy: who },
              inc.version,
            ),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(lost.reason).toBeInstanceOf(VersionConflictError);
        const now = await store.incidents.get(inc.id);
        expect(now).toMatchObject({ status: 'acknowledged', version: 2 });
        expect(await rejection(store.incidents.update('NOPE', {}, 1))).toBeInstanceOf(NotFoundError);
      });

      it('filters by status, service, group, time and open-or-recently-resolved, newest first', async () => {
        const g = unique('filter');
        const a = await store.incidents.create(base({ groupId: g, createdAt: 1000, services: ['s-' + g] }));
        const b = await store.incidents.create(
          base({ groupId: g, createdAt: 2000, status: 'resolved', resolvedAt: 5000, resolvedBy: 'vigil' }),
        );
        expect((await store.incidents.list({ groupId: g })).map((i) => i.id)).toEqual([b.id, a.id]);
        expect((await store.incidents.list({ groupId: g, status: ['resolved'] })).map((i) => i.id)).toEqual([
          b.id,
        ]);
        expect((await store.incidents.list({ service: 's-' + g })).map((i) => i.id)).toEqual([a.id]);
        expect(
          (await store.incidents.list({ groupId: g, since: 1500, until: 2500 })).map((i) => i.id),
        ).toEqual([b.id]);
        expect(
          (await store.incidents.list({ groupId: g, openOrResolvedSince: 6000 })).map((i) => i.id),
        ).toEqual([a.id]);
        expect(
          (await store.incidents.list({ groupId: g, openOrResolvedSince: 4000 })).map((i) => i.id),
        ).toEqual([b.id, a.id]);
      });

      it('pages through a filtered list by key, stable under inserts, with ties and mixed-case ids', async () => {
        const g = unique('keyset');
        const tag = randomUUID().slice(0, 6);
        // 150 incidents over 5 milliseconds: every batch boundary falls inside a run of equal createdAt. Ids
        // differ only in case and punctuation where a collation would reorder them.
        const stems = ['a', 'B', 'b', 'A', '_', '-', 'z', 'Z', '0', '9'];
        const made = [];
        for (let n = 0; n < 150; n++)
          made.push(
            await store.incidents.create(
              base({
                id: `${stems[n % stems.length]}${tag}${String(n).padStart(3, '0')}`,
                groupId: g,
                createdAt: 10_000 + (n % 5),
                services: n % 3 === 0 ? ['pay-' + g] : ['other'],
              }),
            ),
          );
        const order = (l: { createdAt: number; id: string }[]) =>
          [...l].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
        const all = await store.incidents.list({ groupId: g });
        expect(all.map((i) => i.id)).toEqual(order(made).map((i) => i.id));

        const walk = async (filter: { service?: string }, size: number, insertAfterFirst = false) => {
          const seen: string[] = [];
          let after: { createdAt: number; id: string } | undefined;
          for (let guard = 0; guard < 200; guard++) {
            const page = await store.incidents.list({ groupId: g, ...filter, after, limit: size });
            seen.push(...page.map((i) => i.id));
            if (page.length < size) return seen;
            const last = page[page.length - 1]!;
            after = { createdAt: last.createdAt, id: last.id };
            if (insertAfterFirst && guard === 0)
              // Newer incidents, and one tied with the cursor but ordered before it, arrive meanwhile.
              for (const [id, createdAt] of [
                [`new${tag}`, 20_000],
                [`zz${tag}`, last.createdAt],
              ] as const)
                await store.incidents.create(base({ id, groupId: g, createdAt, services: ['other'] }));
          }
          throw new Error('paging did not end');
        };
        expect(await walk({}, 7)).toEqual(all.map((i) => i.id));
        expect(await walk({}, 150)).toEqual(all.map((i) => i.id));
        const pay = all.filter((i) => i.services.includes('pay-' + g)).map((i) => i.id);
        expect(pay).toHaveLength(50);
        expect(await walk({ service: 'pay-' + g }, 4)).toEqual(pay);
        expect(await walk({}, 11, true)).toEqual(all.map((i) => i.id));

        // A key that is not in the table still positions the page; a bad key or limit is refused.
        const mid = all[75]!;
        const next = await store.incidents.list({
          groupId: g,
          after: { createdAt: mid.createdAt, id: mid.id + '!' },
          limit: 3,
        });
        expect(next.map((i) => i.id)).toEqual(all.slice(75, 78).map((i) => i.id));
        expect(await store.incidents.list({ groupId: g, limit: 0 })).toEqual([]);
        expect(
          await rejection(store.incidents.list({ after: { createdAt: 'x', id: 1 } as never, limit: 1 })),
        ).toBeInstanceOf(InvalidInputError);
        expect(await rejection(store.incidents.list({ limit: -1 }))).toBeInstanceOf(InvalidInputError);
      });

      it('keeps the timeline and pages in write order, even within one millisecond', async () => {
        const inc = await store.incidents.create(base());
        for (const kind of ['created', 'page', 'escalated', 'acknowledged'])
          await store.incidents.addEvent({
            incidentId: inc.id,
            at: 5,
            kind,
            actor: 'vigil',
            detail: { kind },
          });
        expect((await store.incidents.events(inc.id)).map((e) => e.kind)).toEqual([
          'created',
          'page',
          'escalated',
          'acknowledged',
        ]);
        await store.incidents.addPage({
          incidentId: inc.id,
          step: 0,
          userId: 'ana',
          channel: 'email',
          outcome: 'failed',
          error: 'smtp down',
          at: 7,
        });
        await store.incidents.addPage({
          incidentId: inc.id,
          step: 0,
          userId: 'ana',
          channel: 'webhook',
          outcome: 'delivered',
          error: null,
          at: 7,
        });
        const pages = await store.incidents.pages({ incidentId: inc.id });
        expect(pages.map((p) => [p.channel, p.outcome, p.error])).toEqual([
          ['email', 'failed', 'smtp down'],
          ['webhook', 'delivered', null],
        ]);
      });

      it('lists events of some kinds across incidents, oldest first', async () => {
        const a = await store.incidents.create(base());
        const b = await store.incidents.create(base());
        const kind = `kb_${a.id}`;
        await store.incidents.addEvent({ incidentId: b.id, at: 20, kind, actor: 'x', detail: { n: 2 } });
        await store.incidents.addEvent({ incidentId: a.id, at: 10, kind, actor: 'x', detail: { n: 1 } });
        await store.incidents.addEvent({ incidentId: a.id, at: 10, kind: 'other', actor: 'x', detail: {} });
        await store.incidents.addEvent({ incidentId: a.id, at: 30, kind, actor: 'x', detail: { n: 3 } });
        const all = await store.incidents.eventsOfKinds([kind]);
        expect(all.map((e) => [e.incidentId, e.detail.n])).toEqual([
          [a.id, 1],
          [b.id, 2],
          [a.id, 3],
        ]);
        expect((await store.incidents.eventsOfKinds([kind], [b.id])).map((e) => e.detail.n)).toEqual([2]);
        expect(await store.incidents.eventsOfKinds([])).toEqual([]);
        expect(await store.incidents.eventsOfKinds([kind], [])).toEqual([]);
      });

      it('rolls an incident and its first event back together', async () => {
        let id = '';
        await store
          .transaction(async (tx) => {
            const inc = await tx.incidents.create(base());
            id = inc.id;
            await tx.incidents.addEvent({
              incidentId: inc.id,
              at: 1,
              kind: 'created',
              actor: 'vigil',
              detail: {},
            });
            throw new Error('abort');
          })
          .catch(() => undefined);
        expect(await store.incidents.get(id)).toBeUndefined();
        expect(await store.incidents.events(id)).toEqual([]);
      });
    });

    describe('migrations', () => {
      it('opens an existing database again without changing it, even while it is open', async () => {
        const uid = unique('reopen');
        await store.dashboards.create({ uid, title: 'persisted', body: { k: 'v' } });
        const second = await open();
        try {
          expect(await second.dashboards.get(uid)).toMatchObject({ title: 'persisted', body: { k: 'v' } });
          await second.kv.set(uid, 'from', 'second');
        } finally {
          await second.close();
        }
        expect(await store.kv.get(uid, 'from')).toBe('second');
      });

      it('survives several stores opening the same database at once', async () => {
        const stores = await Promise.all([open(), open(), open()]);
        try {
          const uid = unique('many');
          await stores[0]!.dashboards.create({ uid, title: 'many', body: {} });
          for (const s of stores) expect((await s.dashboards.get(uid))?.title).toBe('many');
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      });

      it('closes idempotently', async () => {
        const s = await open();
        await s.close();
        await s.close();
        expect(await rejection(s.dashboards.get('x'))).toBeInstanceOf(StateStoreError);
        expect(await rejection(s.kv.set('ns', 'k', 1))).toBeInstanceOf(StateStoreError);
        expect(await rejection(s.transaction(() => Promise.resolve(1)))).toBeInstanceOf(StateStoreError);
      });
    });
  });
}
