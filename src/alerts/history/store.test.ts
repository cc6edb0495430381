import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChdbTransport } from '../../store/clickhouse/chdb.ts';
import { ClickHouseAlertHistoryStore } from './clickhouse.ts';
import { MemoryAlertHistoryStore } from './memory.ts';
import { alertHistoryStoreTests, event, notification, T0 } from './store.cases.ts';

alertHistoryStoreTests('memory', async () => new MemoryAlertHistoryStore());

// chDB: one data folder per process, a fresh database per test.
const dir = join(tmpdir(), `vigil-alert-history-${process.pid}`);
const sql = new ChdbTransport(dir);
let seq = 0;
afterAll(async () => {
  await sql.close();
  rmSync(dir, { recursive: true, force: true });
});
const openChdb = (retentionMs = 90 * 86_400_000) =>
  ClickHouseAlertHistoryStore.open(sql, { database: `alert_history_${++seq}`, retentionMs });

alertHistoryStoreTests('chdb', () => openChdb());

describe('MemoryAlertHistoryStore', () => {
  it('drops entries older than the retention', async () => {
    const s = new MemoryAlertHistoryStore(60_000, () => T0 + 60_000);
    await s.append([event({ at: T0 - 1 }), event({ at: T0 })], [notification({ at: T0 - 1 })]);
    expect((await s.events({ start: 0, end: T0 * 2, matchers: [], events: [], limit: 10 })).length).toBe(1);
    expect(await s.notifications({ start: 0, end: T0 * 2, limit: 10 })).toEqual([]);
  });
});

describe('ClickHouseAlertHistoryStore', () => {
  const createQuery = async (db: string, table: string) =>
    (
      await sql.queryRows<{ q: string }>(
        `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = '${table}'`,
      )
    )[0]!.q;

  it('migrates once, records the version, sets and removes the retention TTL', async () => {
    const s = await openChdb(86_400_000);
    const db = `alert_history_${seq}`;
    for (const t of ['alert_events', 'alert_notifications'])
      expect(await createQuery(db, t)).toMatch(/TTL toDateTime\(time\) \+ toIntervalSecond\(86400\)/);
    await s.append([event()], [notification()]);
    const again = await ClickHouseAlertHistoryStore.open(sql, { database: db, retentionMs: 0 });
    const versions = await sql.queryRows<{ version: number }>(
      `SELECT version FROM ${db}.alert_history_schema_versions ORDER BY version`,
    );
    expect(versions.map((v) => Number(v.version))).toEqual([1]);
    for (const t of ['alert_events', 'alert_notifications'])
      expect(await createQuery(db, t)).not.toMatch(/TTL/);
    // Data written before the re-open is still there.
    expect(await again.events({ start: 0, end: T0 * 2, matchers: [], events: [], limit: 10 })).toEqual([
      event(),
    ]);
    await s.close();
    await again.close();
  });

  it('refuses an invalid database name', async () => {
    await expect(
      ClickHouseAlertHistoryStore.open(sql, { database: 'x; DROP', retentionMs: 0 }),
    ).rejects.toThrow(/invalid ClickHouse identifier/);
  });
});
