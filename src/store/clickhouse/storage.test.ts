import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storageSuite } from '../storage.cases.ts';
import { ChdbTransport } from './chdb.ts';
import { ClickHouseServerTransport } from './server.ts';
import { ClickHouseStorage } from './storage.ts';
import { MIGRATIONS, migrate } from './schema.ts';

// chDB: one data folder per process, one fresh database per test.
const dir = mkdtempSync(join(tmpdir(), 'vigil-chdb-'));
const chdb = new ChdbTransport(dir);
let n = 0;
afterAll(async () => {
  await chdb.close();
  rmSync(dir, { recursive: true, force: true });
});

storageSuite('chDB', async () => ClickHouseStorage.open(chdb, { database: `t${++n}` }));
// The same contract with every sample also held in the in-memory head (a window reaching back centuries).
storageSuite('chDB with a head', async () =>
  ClickHouseStorage.open(chdb, { database: `t${++n}`, headWindowMs: 1e13 }),
);

// A ClickHouse server is tested when one is reachable (Debian's packaged server is too old for this schema).
const serverUrl = process.env.VIGIL_TEST_CLICKHOUSE_URL;
if (serverUrl) {
  const server = new ClickHouseServerTransport({ url: serverUrl });
  storageSuite('ClickHouse server', async () =>
    ClickHouseStorage.open(server, { database: `vigil_test_${Date.now()}_${++n}` }),
  );
} else {
  describe.skip('Storage contract: ClickHouse server (set VIGIL_TEST_CLICKHOUSE_URL to a ClickHouse >= 23.3 server)', () => {
    it('skipped', () => {});
  });
}

describe('chDB schema', () => {
  it('migrations are idempotent and the index reloads on reopen', async () => {
    const db = `reopen${++n}`;
    const s1 = await ClickHouseStorage.open(chdb, { database: db, retentionMs: 15 * 86_400_000 });
    const app = s1.appender();
    app.append({ __name__: 'persisted', a: 'b' }, Date.now(), 42);
    await app.commit();
    await s1.close();
    expect(await migrate(chdb, db)).toBe(MIGRATIONS.at(-1)!.version);
    const s2 = await ClickHouseStorage.open(chdb, { database: db, retentionMs: 0 });
    const got = await s2
      .querier(Date.now() - 60_000, Date.now())
      .select([{ name: '__name__', type: '=', value: 'persisted' }]);
    expect(got[0]!.labels).toEqual({ __name__: 'persisted', a: 'b' });
    expect([...got[0]!.v]).toEqual([42]);
    await s2.close();
  });
});
