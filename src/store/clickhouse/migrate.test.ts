import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChdbTransport } from './chdb.ts';
import { applyMigrations, type Migration } from './migrate.ts';
import { TransportError } from './transport.ts';

// chDB: one data folder per process, one fresh database per test.
const dir = mkdtempSync(join(tmpdir(), 'vigil-migrate-'));
const chdb = new ChdbTransport(dir);
let n = 0;
afterAll(async () => {
  await chdb.close();
  rmSync(dir, { recursive: true, force: true });
});

const one: Migration = {
  version: 1,
  name: 'things',
  statements: (db) => [`CREATE TABLE ${db}.things (id UInt32) ENGINE = MergeTree ORDER BY id`],
};
const two: Migration = {
  version: 2,
  name: 'things_seed',
  statements: (db) => [`INSERT INTO ${db}.things VALUES (7)`],
};

const versions = (db: string, table: string) =>
  chdb.queryRows<{ version: number; name: string }>(
    `SELECT version, name FROM ${db}.${table} ORDER BY version`,
  );

describe('applyMigrations', () => {
  it('applies pending migrations in order, records them in its own table, and runs each once', async () => {
    const db = `m${++n}`;
    expect(await applyMigrations(chdb, db, 'a_versions', [one])).toBe(1);
    expect(await applyMigrations(chdb, db, 'a_versions', [one, two])).toBe(2);
    // Again: nothing to do (a second CREATE TABLE or INSERT would fail or duplicate the row).
    expect(await applyMigrations(chdb, db, 'a_versions', [one, two])).toBe(2);
    expect(await chdb.queryRows(`SELECT id FROM ${db}.things`)).toEqual([{ id: 7 }]);
    expect((await versions(db, 'a_versions')).map((r) => [Number(r.version), r.name])).toEqual([
      [1, 'things'],
      [2, 'things_seed'],
    ]);
    // A second schema in the same database keeps its own version table.
    const other: Migration = { version: 1, name: 'other', statements: () => [] };
    expect(await applyMigrations(chdb, db, 'b_versions', [other])).toBe(1);
    expect((await versions(db, 'a_versions')).length).toBe(2);
  });

  it('leaves a failed migration unrecorded, so it runs again', async () => {
    const db = `m${++n}`;
    const broken: Migration = { version: 1, name: 'broken', statements: () => ['SELECT nosuchfunction()'] };
    await expect(applyMigrations(chdb, db, 'v', [broken])).rejects.toThrow();
    expect(await versions(db, 'v')).toEqual([]);
    expect(await applyMigrations(chdb, db, 'v', [one])).toBe(1);
  });

  it('refuses names that are not identifiers', async () => {
    await expect(applyMigrations(chdb, 'a-b', 'v', [one])).rejects.toThrow(TransportError);
    await expect(applyMigrations(chdb, 'ok', 'v; DROP', [one])).rejects.toThrow(TransportError);
  });
});
