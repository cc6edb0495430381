import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStoreError } from './errors.ts';
import { openStateStore } from './open.ts';
import { runStateStoreSuite } from './state.cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-state-'));
const path = join(dir, 'nested', 'state.db');

runStateStoreSuite(
  'sqlite',
  () => openStateStore({ driver: 'sqlite', path }),
  async () => rmSync(dir, { recursive: true, force: true }),
);

describe('SQLite specifics', () => {
  const own = mkdtempSync(join(tmpdir(), 'vigil-state-own-'));
  afterAll(() => rmSync(own, { recursive: true, force: true }));

  it('uses WAL, a busy timeout, and records the applied migration', async () => {
    const file = join(own, 'wal.db');
    const store = await openStateStore({ driver: 'sqlite', path: file });
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const names = db.prepare('select name from kysely_migration order by name').pluck().all();
      expect(names).toEqual(['0001_initial', '0002_incidents']);
      const tables = db
        .prepare("select name from sqlite_master where type = 'table' order by name")
        .pluck()
        .all();
      expect(tables).toEqual(
        expect.arrayContaining(['dashboards', 'kv', 'incidents', 'incident_events', 'incident_pages']),
      );
    } finally {
      db.close();
    }
  });

  it('explains a database it cannot open', async () => {
    const err = await openStateStore({
      driver: 'sqlite',
      path: join(own, 'wal.db', 'not-a-dir', 'x.db'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(/cannot open SQLite database/);
  });

  it('explains a database newer than this version of Vigil', async () => {
    const file = join(own, 'newer.db');
    await (await openStateStore({ driver: 'sqlite', path: file })).close();
    const db = new Database(file);
    db.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run(
      '9999_future',
      new Date().toISOString(),
    );
    db.close();
    const err = await openStateStore({ driver: 'sqlite', path: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(/newer\.db.*9999_future/);
  });
});
