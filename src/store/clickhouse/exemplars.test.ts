import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EX_T0, exemplarRecord, exemplarStoreSuite } from '../exemplars.cases.ts';
import { ChdbTransport } from './chdb.ts';
import { ClickHouseExemplarStore, EXEMPLAR_MIGRATIONS } from './exemplars.ts';
import { ClickHouseServerTransport } from './server.ts';

// chDB: one data folder per process, one fresh database per test.
const dir = mkdtempSync(join(tmpdir(), 'vigil-exemplars-'));
const chdb = new ChdbTransport(dir);
let n = 0;
afterAll(async () => {
  await chdb.close();
  rmSync(dir, { recursive: true, force: true });
});

exemplarStoreSuite('chDB', async () =>
  ClickHouseExemplarStore.open(chdb, { database: `ex${++n}`, retentionMs: 15 * 86_400_000 }),
);

// A ClickHouse server is tested when one is reachable (Debian's packaged server is too old for this schema).
const serverUrl = process.env.VIGIL_TEST_CLICKHOUSE_URL;
if (serverUrl) {
  const server = new ClickHouseServerTransport({ url: serverUrl });
  exemplarStoreSuite('ClickHouse server', async () =>
    ClickHouseExemplarStore.open(server, {
      database: `vigil_ex_${Date.now()}_${++n}`,
      retentionMs: 15 * 86_400_000,
    }),
  );
} else {
  describe.skip('ExemplarStore contract: ClickHouse server (set VIGIL_TEST_CLICKHOUSE_URL to a ClickHouse >= 23.3 server)', () => {
    it('skipped', () => {});
  });
}

describe('ClickHouseExemplarStore', () => {
  const sel = [[{ name: '__name__', type: '=' as const, value: 'lat_bucket' }]];

  it('migrates once, sets and removes the retention TTL, and finds stored exemplars after reopening', async () => {
    const db = `reopen${++n}`;
    const s1 = await ClickHouseExemplarStore.open(chdb, { database: db, retentionMs: 86_400_000 });
    await s1.append([exemplarRecord({ __name__: 'lat_bucket', le: '0.1' }, 1000, 0.05)]);
    await s1.close();
    const ttl = async () =>
      (
        await chdb.queryRows<{ q: string }>(
          `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = 'exemplars'`,
        )
      )[0]!.q;
    expect(await ttl()).toMatch(/TTL toDateTime\(intDiv\(ts, 1000\)\) \+ toIntervalSecond\(86400\)/);

    const s2 = await ClickHouseExemplarStore.open(chdb, { database: db, retentionMs: 0 });
    expect(await ttl()).not.toMatch(/\bTTL\b/);
    const versions = await chdb.queryRows<{ version: number }>(
      `SELECT version FROM ${db}.exemplar_schema_versions ORDER BY version`,
    );
    expect(versions.map((v) => Number(v.version))).toEqual(EXEMPLAR_MIGRATIONS.map((m) => m.version));
    const got = await s2.select(EX_T0, EX_T0 + 5000, sel);
    expect(got.series).toEqual([
      {
        seriesLabels: { __name__: 'lat_bucket', le: '0.1' },
        exemplars: [
          { labels: { span_id: 'b'.repeat(16), trace_id: 'a'.repeat(32) }, value: 0.05, t: EX_T0 + 1000 },
        ],
      },
    ]);
    await s2.close();
  });

  it('reads matching series in several queries when there are many', async () => {
    const s = await ClickHouseExemplarStore.open(chdb, { database: `many${++n}`, retentionMs: 0 });
    const records = Array.from({ length: 12_000 }, (_, i) =>
      exemplarRecord({ __name__: 'lat_bucket', le: String(i) }, i, i),
    );
    await s.append(records);
    const all = await s.select(EX_T0, EX_T0 + 20_000, sel);
    expect(all.series).toHaveLength(12_000);
    expect(all.truncated).toBe(false);
    const newest = await s.select(EX_T0, EX_T0 + 20_000, sel, { limit: 10 });
    expect(newest.truncated).toBe(true);
    expect(newest.series.map((x) => x.exemplars[0]!.value).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => 11_990 + i),
    );
    await s.close();
  });
});
