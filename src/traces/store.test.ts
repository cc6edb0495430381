import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import { T0, span, spanStoreTests } from './store.cases.ts';
import { ClickHouseSpanStore } from './store.clickhouse.ts';
import { MemorySpanStore } from './store.memory.ts';
import { SpanStoreOverloadedError } from './store.ts';

spanStoreTests('memory', async () => new MemorySpanStore());

// chDB: one data folder per process, a fresh database per test.
const dir = join(tmpdir(), `vigil-spans-${process.pid}`);
const sql = new ChdbTransport(dir);
let seq = 0;
afterAll(async () => {
  await sql.close();
  rmSync(dir, { recursive: true, force: true });
});
const openChdb = (opts: { maxPendingSpans?: number; retentionMs?: number } = {}) =>
  ClickHouseSpanStore.open(sql, {
    database: `traces_${++seq}`,
    retentionMs: opts.retentionMs ?? 7 * 86_400_000,
    maxPendingSpans: opts.maxPendingSpans,
  });

spanStoreTests('chdb', () => openChdb());

describe('ClickHouseSpanStore', () => {
  it('migrates once, records the version and sets the retention TTL', async () => {
    const s = await openChdb({ retentionMs: 86_400_000 });
    const db = `traces_${seq}`;
    const again = await ClickHouseSpanStore.open(sql, { database: db, retentionMs: 0 });
    const versions = await sql.queryRows<{ version: number }>(
      `SELECT version FROM ${db}.trace_schema_versions ORDER BY version`,
    );
    expect(versions.map((v) => Number(v.version))).toEqual([1]);
    const q = await sql.queryRows<{ q: string }>(
      `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = 'spans'`,
    );
    expect(q[0]!.q).not.toMatch(/TTL/);
    await ClickHouseSpanStore.open(sql, { database: db, retentionMs: 86_400_000 });
    const q2 = await sql.queryRows<{ q: string }>(
      `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = 'spans'`,
    );
    expect(q2[0]!.q).toMatch(/TTL toDateTime\(start\) \+ toIntervalSecond\(86400\)/);
    await s.close();
    await again.close();
  });

  it('commits writes that arrive during an insert together, and refuses writes beyond the pending limit', async () => {
    const s = await openChdb({ maxPendingSpans: 3 });
    const db = `traces_${seq}`;
    const mk = (i: number) =>
      span({
        spanId: (i + 1).toString(16).padStart(16, '0'),
        startNs: T0 + BigInt(i),
      });
    const first = s.write([mk(0)]);
    const second = s.write([mk(1)]);
    const third = s.write([mk(2)]);
    await expect(s.write([mk(3)])).rejects.toBeInstanceOf(SpanStoreOverloadedError);
    await Promise.all([first, second, third]);
    // The first insert went alone; the two that queued behind it went as one.
    const parts = await sql.queryRows<{ n: string }>(
      `SELECT toString(count()) AS n FROM system.parts WHERE database = '${db}' AND table = 'spans' AND active`,
    );
    expect(Number(parts[0]!.n)).toBeLessThanOrEqual(2);
    expect(await s.trace(mk(0).traceId)).toHaveLength(3);
    await s.close();
  });
});
