import { appendFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import type { SqlTransport } from '../store/clickhouse/transport.ts';
import { T0, span, spanStoreTests } from './store.cases.ts';
import { ClickHouseSpanStore, SpanRowBinaryEncoder, columnsOf } from './store.clickhouse.ts';
import { SPAN_COLUMNS, SPAN_STRUCTURE } from './schema.ts';
import { SpanWal } from './wal.ts';
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
const openChdb = (
  opts: { maxPendingSpans?: number; maxPendingBytes?: number; retentionMs?: number; wal?: boolean } = {},
) =>
  ClickHouseSpanStore.open(sql, {
    database: `traces_${++seq}`,
    retentionMs: opts.retentionMs ?? 7 * 86_400_000,
    maxPendingSpans: opts.maxPendingSpans,
    maxPendingBytes: opts.maxPendingBytes,
    walDir: opts.wal ? join(dir, `wal_${seq}`) : undefined,
  });

spanStoreTests('chdb', () => openChdb());
// Reads wait for acknowledged spans to be inserted, so the same cases hold with the write-ahead log.
spanStoreTests('chdb with WAL', () => openChdb({ wal: true }));

describe('ClickHouseSpanStore', () => {
  it('migrates once, records the version and sets the retention TTL', async () => {
    const s = await openChdb({ retentionMs: 86_400_000 });
    const db = `traces_${seq}`;
    const again = await ClickHouseSpanStore.open(sql, { database: db, retentionMs: 0 });
    const versions = await sql.queryRows<{ version: number }>(
      `SELECT version FROM ${db}.trace_schema_versions ORDER BY version`,
    );
    expect(versions.map((v) => Number(v.version))).toEqual([1, 2, 3, 4]);
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

  it('replays WAL rows an earlier version left with fewer columns; the newer columns take their defaults', async () => {
    // An "earlier" structure without the last column (link_attributes): a span with no links ends its row with
    // that column's empty array (one zero byte), so the row without its last byte is the earlier version's row.
    expect(SPAN_COLUMNS.at(-1)![0]).toBe('link_attributes');
    const older = SPAN_COLUMNS.slice(0, -1)
      .map(([n, t]) => `${n} ${t}`)
      .join(', ');
    const old = span({ spanId: '00000000000000b1' });
    const enc = new SpanRowBinaryEncoder(1024);
    enc.span(old);
    const row = enc.finish();
    expect(row.at(-1)).toBe(0);
    const walDir = join(dir, `wal_old_${seq}`);
    const { wal } = SpanWal.open(walDir, older);
    await wal.append(Buffer.from(row.subarray(0, row.length - 1)), 1);
    await wal.close();

    const logs: string[] = [];
    const s = await ClickHouseSpanStore.open(sql, {
      database: `traces_${++seq}`,
      retentionMs: 0,
      walDir,
      log: (m) => logs.push(m),
    });
    expect(logs).toEqual([
      'traces WAL: 0000000000000001.wal: rows of an earlier span table structure, inserted into the columns they name',
      'traces WAL: replayed 1 spans from 1 segment(s)',
    ]);
    const got = await s.trace(old.traceId);
    expect(got.map((x) => [x.spanId, x.links])).toEqual([[old.spanId, []]]);
    await s.close();
  });

  it('names the columns of a RowBinary structure, commas inside types included', () => {
    expect(
      columnsOf('a UInt8, m Map(LowCardinality(String), String) ,  b Array(Tuple(x Int8, y String))'),
    ).toEqual(['a', 'm', 'b']);
    expect(columnsOf(SPAN_STRUCTURE)).toEqual(SPAN_COLUMNS.map(([n]) => n));
  });

  it('with the WAL, refuses writes beyond the bytes waiting for ClickHouse, and takes them once those are in', async () => {
    const s = await openChdb({ wal: true, maxPendingBytes: 4096 });
    const small = span({ spanId: '00000000000000a1' });
    const big = span({ spanId: '00000000000000a2', attributes: { blob: 'x'.repeat(8192) } });
    await s.write([small]);
    await expect(s.write([big])).rejects.toThrow(/bytes of spans are waiting to be written \(limit 4096\)/);
    await s.flush();
    // Nothing waits: one write of any size goes in.
    await s.write([big]);
    expect(await s.trace(small.traceId)).toHaveLength(2);
    await s.close();
  });

  it('lets a sender answered by one insert join the writes queued for the next', async () => {
    // The real transport, counting the inserts it is given.
    const sizes: number[] = [];
    const counting: SqlTransport = Object.create(sql, {
      insertRowBinary: {
        value: (table: string, structure: string, body: Buffer, settings?: Record<string, number>) => {
          sizes.push(body.length);
          return sql.insertRowBinary(table, structure, body, settings);
        },
      },
    }) as SqlTransport;
    const s = await ClickHouseSpanStore.open(counting, { database: `traces_${++seq}`, retentionMs: 0 });
    const mk = (i: number) =>
      span({ spanId: (i + 1).toString(16).padStart(16, '0'), startNs: T0 + BigInt(i) });
    let again: Promise<void> | undefined;
    const first = s.write([mk(0)]).then(() => {
      again = s.write([mk(3)]);
    });
    const queued = [s.write([mk(1)]), s.write([mk(2)])];
    await Promise.all([first, ...queued]);
    await again;
    // One insert for the first write, one for the two queued behind it plus the answered sender's next write.
    expect(sizes).toHaveLength(2);
    expect(sizes[1]).toBe(sizes[0]! * 3);
    expect(await s.trace(mk(0).traceId)).toHaveLength(4);
    await s.close();
  });

  it('with a WAL, acknowledges before inserting and inserts in few parts', async () => {
    const s = await ClickHouseSpanStore.open(sql, {
      database: `traces_${++seq}`,
      retentionMs: 0,
      walDir: join(dir, `wal_${seq}`),
      flushIntervalMs: 60_000,
    });
    const db = `traces_${seq}`;
    const mk = (i: number) =>
      span({ spanId: (i + 1).toString(16).padStart(16, '0'), startNs: T0 + BigInt(i) });
    for (let i = 0; i < 5; i++) await s.write([mk(i)]);
    const count = async () =>
      Number((await sql.queryRows<{ n: string }>(`SELECT toString(count()) AS n FROM ${db}.spans`))[0]!.n);
    expect(await count()).toBe(0);
    // A read waits for the acknowledged spans and sees them all, inserted together.
    expect(await s.trace(mk(0).traceId)).toHaveLength(5);
    const parts = await sql.queryRows<{ n: string }>(
      `SELECT toString(count()) AS n FROM system.parts WHERE database = '${db}' AND table = 'spans' AND active`,
    );
    expect(Number(parts[0]!.n)).toBe(1);
    await s.close();
  });

  it('with a WAL, inserts at open what a crashed process acknowledged, and reports a torn last record', async () => {
    const database = `traces_${++seq}`;
    const walDir = join(dir, `wal_${seq}`);
    const mk = (i: number) =>
      span({ spanId: (i + 1).toString(16).padStart(16, '0'), startNs: T0 + BigInt(i) });
    // A store whose inserts never reach ClickHouse, then dropped without close: a crash after the acknowledgements.
    const broken: SqlTransport = Object.create(sql, {
      insertRowBinary: { value: () => new Promise<never>(() => {}) },
    }) as SqlTransport;
    const crashed = await ClickHouseSpanStore.open(broken, { database, retentionMs: 0, walDir });
    await crashed.write([mk(0), mk(1)]);
    await crashed.write([mk(2)]);
    // The process died part way through appending a third write.
    const seg = join(walDir, readdirSync(walDir)[0]!);
    appendFileSync(seg, Buffer.from([200, 1, 0, 0, 1, 0, 0, 0, 9, 9, 9, 9, 1, 2, 3]));
    const logs: string[] = [];
    const s = await ClickHouseSpanStore.open(sql, {
      database,
      retentionMs: 0,
      walDir,
      log: (m) => logs.push(m),
    });
    expect((await s.trace(mk(0).traceId)).map((r) => r.spanId)).toEqual([0, 1, 2].map((i) => mk(i).spanId));
    expect(logs).toEqual([
      expect.stringMatching(
        /^traces WAL: 0+1\.wal: torn record at byte \d+ \(456 bytes announced, 3 present\), dropped$/,
      ),
      'traces WAL: replayed 3 spans from 1 segment(s)',
    ]);
    expect(readdirSync(walDir)).toEqual([]);
    await s.close();
  });

  it('with a WAL, an insert ClickHouse committed before a crash is not stored twice at replay', async () => {
    const database = `traces_${++seq}`;
    const walDir = join(dir, `wal_${seq}`);
    const mk = (i: number) =>
      span({ spanId: (i + 1).toString(16).padStart(16, '0'), startNs: T0 + BigInt(i) });
    // Inserts reach ClickHouse, but the process dies before it learns so: the segment stays in the WAL.
    const dying: SqlTransport = Object.create(sql, {
      insertRowBinary: {
        value: async (...args: Parameters<SqlTransport['insertRowBinary']>) => {
          await sql.insertRowBinary(...args);
          return new Promise<never>(() => {});
        },
      },
    }) as SqlTransport;
    const crashed = await ClickHouseSpanStore.open(dying, {
      database,
      retentionMs: 0,
      walDir,
      flushIntervalMs: 1,
    });
    await crashed.write([mk(0), mk(1), mk(2)]);
    const count = async () =>
      Number(
        (await sql.queryRows<{ n: string }>(`SELECT toString(count()) AS n FROM ${database}.spans`))[0]!.n,
      );
    await vi.waitFor(async () => expect(await count()).toBe(3));
    expect(readdirSync(walDir)).toHaveLength(1);
    const s = await ClickHouseSpanStore.open(sql, { database, retentionMs: 0, walDir });
    expect(readdirSync(walDir)).toEqual([]);
    expect(await count()).toBe(3);
    expect(await s.trace(mk(0).traceId)).toHaveLength(3);
    const ids = await sql.queryRows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${database}.trace_id_ts WHERE trace_id = '${mk(0).traceId}'`,
    );
    expect(Number(ids[0]!.n)).toBe(1);
    await s.close();
  });
});
