import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STALE_NAN, isStaleNaN } from '../../model/labels.ts';
import type { Matcher } from '../../model/matcher.ts';
import { ChdbTransport } from './chdb.ts';
import { SampleHead } from './head.ts';
import { MIGRATIONS, migrate } from './schema.ts';
import { ClickHouseStorage } from './storage.ts';
import type { SqlTransport } from './transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-head-'));
const chdb = new ChdbTransport(dir);
let n = 0;
afterAll(async () => {
  await chdb.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The chDB transport, counting the sample reads (RowBinary queries) that reach it. */
function counting(inner: SqlTransport) {
  const t = Object.create(inner) as SqlTransport & { reads: number };
  t.reads = 0;
  t.queryRowBinary = (sql, signal, settings) => {
    t.reads++;
    return inner.queryRowBinary(sql, signal, settings);
  };
  return t;
}

const HOUR = 3_600_000;
const up: Matcher[] = [{ name: '__name__', type: '=', value: 'up' }];
/** Whole seconds, so that test times line up with the head's window arithmetic. */
const NOW = Math.floor(Date.now() / 1000) * 1000;

async function write(s: ClickHouseStorage, points: [job: string, t: number, v: number][]) {
  const app = s.appender();
  for (const [job, t, v] of points) app.append({ __name__: 'up', job }, t, v);
  await app.commit();
}

const plain = (got: { labels: object; t: Float64Array; v: Float64Array }[]) =>
  got.map((s) => ({ labels: s.labels, t: [...s.t], v: [...s.v].map((x) => (isStaleNaN(x) ? 'stale' : x)) }));

describe('the in-memory head of recent samples', () => {
  it('answers reads within its window without ClickHouse, the same as ClickHouse does', async () => {
    const db = `head${++n}`;
    const sql = counting(chdb);
    const withHead = await ClickHouseStorage.open(sql, { database: db, headWindowMs: 2 * HOUR });
    const t0 = NOW - HOUR;
    for (let k = 0; k < 5; k++)
      await write(withHead, [
        ['a', t0 + k * 15_000, k],
        ['b', t0 + k * 15_000, k === 3 ? STALE_NAN : 10 * k],
      ]);
    const reads = sql.reads;
    const got = await withHead.querier(t0 + 15_000, t0 + 45_000).select(up);
    expect(sql.reads).toBe(reads);
    expect(plain(got)).toEqual([
      { labels: { __name__: 'up', job: 'a' }, t: [t0 + 15_000, t0 + 30_000, t0 + 45_000], v: [1, 2, 3] },
      {
        labels: { __name__: 'up', job: 'b' },
        t: [t0 + 15_000, t0 + 30_000, t0 + 45_000],
        v: [10, 20, 'stale'],
      },
    ]);
    // Before the window: read from ClickHouse, with the same answer.
    const old = await withHead.querier(NOW - 3 * HOUR, t0 + 45_000).select(up);
    expect(sql.reads).toBe(reads + 1);
    expect(plain(old).map((s) => s.t.length)).toEqual([4, 4]);
    await withHead.close();

    // Reopened, the head is loaded from what was written.
    const reopened = await ClickHouseStorage.open(sql, { database: db, headWindowMs: 2 * HOUR });
    const before = sql.reads;
    const again = await reopened.querier(t0 + 15_000, t0 + 45_000).select(up);
    expect(sql.reads).toBe(before);
    expect(plain(again)).toEqual(plain(got));
    await reopened.close();
  });

  it('hands series written out of order, or deleted from, to ClickHouse', async () => {
    const db = `head${++n}`;
    const sql = counting(chdb);
    const s = await ClickHouseStorage.open(sql, { database: db, headWindowMs: 2 * HOUR });
    const t0 = NOW - HOUR;
    await write(s, [
      ['a', t0 + 30_000, 3],
      ['b', t0 + 30_000, 3],
    ]);
    // An older sample of a, and a repeated timestamp of b (a retried write: one sample is kept).
    await write(s, [
      ['a', t0 + 15_000, 1],
      ['b', t0 + 30_000, 3],
    ]);
    const reads = sql.reads;
    const got = await s.querier(t0, t0 + 60_000).select(up);
    expect(sql.reads).toBe(reads + 1);
    expect(plain(got)).toEqual([
      { labels: { __name__: 'up', job: 'a' }, t: [t0 + 15_000, t0 + 30_000], v: [1, 3] },
      { labels: { __name__: 'up', job: 'b' }, t: [t0 + 30_000], v: [3] },
    ]);

    await write(s, [['c', t0 + 30_000, 7]]);
    await s.deleteSeries([[{ name: 'job', type: '=', value: 'c' }]], t0, t0 + 60_000);
    const afterDelete = await s
      .querier(t0, t0 + 60_000)
      .select([...up, { name: 'job', type: '=', value: 'c' }]);
    expect(afterDelete).toEqual([]);

    // Two rows of one timestamp with different values: after a restart that series is still read from
    // ClickHouse (which of the two a scan returns last is not fixed), while b's identical repeat is held once.
    await write(s, [['d', t0 + 30_000, 5]]);
    await write(s, [['d', t0 + 30_000, 6]]);
    await s.close();
    const reopened = await ClickHouseStorage.open(sql, { database: db, headWindowMs: 2 * HOUR });
    const job = (j: string): Matcher[] => [...up, { name: 'job', type: '=', value: j }];
    const before = sql.reads;
    expect(plain(await reopened.querier(t0, t0 + 60_000).select(job('b')))).toEqual([
      { labels: { __name__: 'up', job: 'b' }, t: [t0 + 30_000], v: [3] },
    ]);
    expect(sql.reads).toBe(before);
    await reopened.querier(t0, t0 + 60_000).select(job('d'));
    expect(sql.reads).toBe(before + 1);
    await reopened.close();
  });

  it('holds no more than the retention keeps', async () => {
    const db = `head${++n}`;
    const sql = counting(chdb);
    const s = await ClickHouseStorage.open(sql, { database: db, headWindowMs: 2 * HOUR, retentionMs: HOUR });
    await write(s, [['a', NOW - 30 * 60_000, 1]]);
    const reads = sql.reads;
    // 90 minutes back is inside the 2 h window but past the 1 h retention: ClickHouse answers.
    await s.querier(NOW - 90 * 60_000, NOW).select(up);
    expect(sql.reads).toBe(reads + 1);
    await s.querier(NOW - 50 * 60_000, NOW).select(up);
    expect(sql.reads).toBe(reads + 1);
    await s.close();
  });

  it('reads inclusive ranges and drops samples half a window past its window', async () => {
    const db = `head${++n}`;
    expect(await migrate(chdb, db)).toBe(MIGRATIONS.at(-1)!.version);
    let now = 100_000;
    const head = await SampleHead.load(chdb, db, 10_000, -Infinity, () => now);
    expect(head.coveredFrom).toBe(90_000);
    // Rows in the writer's layout (id, ts, value at the start of each row), here 24 bytes a row.
    const rows = (id: number, points: [number, number][]) => {
      const b = new Uint8Array(24 * points.length);
      const dv = new DataView(b.buffer);
      points.forEach(([t, v], k) => {
        dv.setUint32(k * 24, id, true);
        dv.setUint32(k * 24 + 8, t, true);
        dv.setFloat64(k * 24 + 16, v, true);
      });
      return b;
    };
    head.appendRows(
      [
        rows(7, [
          [85_000, 0],
          [91_000, 1],
          [95_000, 2],
          [99_000, 3],
        ]),
      ],
      24,
    );
    expect(head.size).toBe(3);
    const r = head.read(7n, 91_000, 95_000)!;
    expect([...r.t]).toEqual([91_000, 95_000]);
    expect([...r.v]).toEqual([1, 2]);
    expect(head.read(7n, 89_000, 95_000)).toBeUndefined();
    expect([...head.read(8n, 91_000, 99_000)!.t]).toEqual([]);
    now = 104_000;
    head.trim();
    expect(head.coveredFrom).toBe(90_000);
    now = 106_000;
    head.trim();
    expect(head.coveredFrom).toBe(96_000);
    expect(head.size).toBe(1);
    expect([...head.read(7n, 96_000, 200_000)!.t]).toEqual([99_000]);
    // Not newer than what is held: the series is read from ClickHouse from now on.
    head.appendRows([rows(7, [[99_000, 4]])], 24);
    expect(head.read(7n, 96_000, 200_000)).toBeUndefined();
  });
});
