import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChdbTransport } from '../store/clickhouse/chdb.ts';
import { TRACE_MIGRATIONS } from './schema.ts';
import { T0, span } from './store.cases.ts';
import { ClickHouseSpanStore } from './store.clickhouse.ts';

const dir = join(tmpdir(), `vigil-trace-schema-${process.pid}`);
const sql = new ChdbTransport(dir);
afterAll(async () => {
  await sql.close();
  rmSync(dir, { recursive: true, force: true });
});

const MS = 1_000_000n;

/** A JSONEachRow line of the version-1 spans table, as spans were written before RowBinary inserts. */
function oldJsonLine(s: ReturnType<typeof span>): string {
  const dt = (ns: bigint) => `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  return JSON.stringify({
    start: dt(s.startNs),
    service: s.service,
    name: s.name,
    kind: s.kind,
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    trace_state: s.traceState,
    flags: s.flags,
    duration_ns: (s.endNs - s.startNs).toString(),
    status_code: s.statusCode,
    status_message: s.statusMessage,
    resource_attributes: s.resourceAttributes,
    resource_attribute_types: s.resourceAttributeTypes,
    scope_name: s.scopeName,
    scope_version: s.scopeVersion,
    attributes: s.attributes,
    attribute_types: s.attributeTypes,
    event_times: s.events.map((e) => dt(e.timeNs)),
    event_names: s.events.map((e) => e.name),
    event_attributes: s.events.map((e) => e.attributes),
    link_trace_ids: s.links.map((l) => l.traceId),
    link_span_ids: s.links.map((l) => l.spanId),
    link_trace_states: s.links.map((l) => l.traceState),
    link_attributes: s.links.map((l) => l.attributes),
  });
}

describe('trace schema', () => {
  it('moves spans written under version 2 into the version 3 layout, and keeps the trace lookup working', async () => {
    const db = 'traces_v2_upgrade';
    await sql.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await sql.exec(
      `CREATE TABLE ${db}.trace_schema_versions (version UInt32, name String, applied_at DateTime DEFAULT now())
       ENGINE = MergeTree ORDER BY version`,
    );
    for (const m of TRACE_MIGRATIONS.filter((x) => x.version <= 2)) {
      for (const stmt of m.statements(db)) await sql.exec(stmt);
      await sql.exec(
        `INSERT INTO ${db}.trace_schema_versions (version, name) VALUES (${m.version}, '${m.name}')`,
      );
    }
    const old = [
      span(),
      span({
        spanId: 'c7ad6b7169203332',
        parentSpanId: 'b7ad6b7169203331',
        service: 'cart',
        name: 'cart.get',
        startNs: T0 + 2n * MS,
        endNs: T0 + 5n * MS,
        events: [{ timeNs: T0 + 3n * MS, name: 'retry', attributes: { attempt: '2' } }],
        links: [
          { traceId: '1bf7651916cd43dd8448eb211c80319d', spanId: 'a1', traceState: 'k=v', attributes: {} },
        ],
      }),
    ];
    await sql.insertJSON(`${db}.spans`, Buffer.from(old.map(oldJsonLine).join('\n') + '\n'));

    const store = await ClickHouseSpanStore.open(sql, { database: db, retentionMs: 7 * 86_400_000 });
    const q = await sql.queryRows<{ sorting_key: string; primary_key: string }>(
      `SELECT sorting_key, primary_key FROM system.tables WHERE database = '${db}' AND name = 'spans'`,
    );
    expect(q[0]!.sorting_key).toMatch(
      /^service, toStartOfInterval\(start, toIntervalMinute\(10\)\), trace_id, start$/,
    );
    const tables = await sql.queryRows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`,
    );
    expect(tables.map((t) => t.name)).toEqual([
      'spans',
      'trace_id_ts',
      'trace_id_ts_mv',
      'trace_schema_versions',
    ]);
    expect(await store.trace(old[0]!.traceId)).toEqual(old);

    // New writes go through the re-created view into the lookup table.
    const later = span({
      traceId: '2cf7651916cd43dd8448eb211c80319e',
      spanId: 'd7ad6b7169203333',
      startNs: T0 + 86_400_000n * MS,
      endNs: T0 + 86_400_000n * MS + 7n * MS,
    });
    await store.write([later]);
    expect(await store.trace(later.traceId)).toEqual([later]);
    const lookups = await sql.queryRows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${db}.trace_id_ts`,
    );
    expect(Number(lookups[0]!.n)).toBe(2);
    await store.close();
  });

  it('stores text of any length and alphabet exactly (RowBinary strings, maps and arrays)', async () => {
    const store = await ClickHouseSpanStore.open(sql, { database: 'traces_text', retentionMs: 0 });
    const long = 'x'.repeat(200) + 'é';
    const s = span({
      name: 'überweisung 送金',
      statusMessage: 'a'.repeat(127),
      traceState: 'b'.repeat(128),
      attributes: { ключ: 'значение', long, empty: '', quote: `'"\\\n\t` },
      attributeTypes: {},
      resourceAttributes: { 'service.name': 'frontend', emoji: '🚀'.repeat(40) },
      events: [
        { timeNs: T0 + 1n, name: 'first', attributes: {} },
        { timeNs: T0 + 999_999_999n, name: 'ошибка', attributes: { long } },
      ],
      links: [
        {
          traceId: '1bf7651916cd43dd8448eb211c80319d',
          spanId: 'b7ad6b7169203331',
          traceState: '',
          attributes: { a: 'b' },
        },
        {
          traceId: '2cf7651916cd43dd8448eb211c80319e',
          spanId: 'c7ad6b7169203332',
          traceState: 'x=y',
          attributes: {},
        },
      ],
      flags: 255,
      endNs: T0 + 2n ** 40n,
    });
    await store.write([s]);
    expect(await store.trace(s.traceId)).toEqual([s]);
    await store.close();
  });

  it('reads about one granule per service for a trace, wherever its spans are', async () => {
    const store = await ClickHouseSpanStore.open(sql, { database: 'traces_layout', retentionMs: 0 });
    const services = ['frontend', 'cart', 'checkout'];
    const spans = [];
    // 300 traces of 100 spans over three services, spread over an hour (6 buckets of 10 minutes).
    for (let t = 0; t < 300; t++) {
      const traceId = (t + 1).toString(16).padStart(32, '0');
      const start = T0 + BigInt(t * 12_000) * MS;
      for (let i = 0; i < 100; i++)
        spans.push(
          span({
            traceId,
            spanId: (t * 100 + i + 1).toString(16).padStart(16, '0'),
            service: services[i % 3]!,
            name: `op ${i % 7}`,
            startNs: start + BigInt(i) * MS,
            endNs: start + BigInt(i + 5) * MS,
          }),
        );
    }
    await store.write(spans);
    const id = (150).toString(16).padStart(32, '0');
    expect(await store.trace(id)).toHaveLength(100);
    const w = (
      await sql.queryRows<{ lo: string; hi: string }>(
        `SELECT toString(min(start)) AS lo, toString(max(end)) AS hi FROM traces_layout.trace_id_ts WHERE trace_id = '${id}'`,
      )
    )[0]!;
    const plan = await sql.queryRows<{ explain: string }>(
      `EXPLAIN indexes = 1 SELECT * FROM traces_layout.spans WHERE trace_id = '${id}'
         AND start BETWEEN toDateTime64('${w.lo}', 9, 'UTC') AND toDateTime64('${w.hi}', 9, 'UTC')`,
    );
    const lines = plan.map((r) => r.explain);
    const pk = lines.findIndex((l) => l.trim() === 'PrimaryKey');
    const granules = lines
      .slice(pk)
      .find((l) => /Granules: \d+\/\d+/.test(l))!
      .match(/(\d+)\/(\d+)/)!;
    expect(Number(granules[2])).toBeGreaterThanOrEqual(29);
    expect(Number(granules[1])).toBeLessThanOrEqual(2 * services.length);
    await store.close();
  });

  it('refuses a write whose span cannot be encoded, and keeps working', async () => {
    const store = await ClickHouseSpanStore.open(sql, { database: 'traces_bad', retentionMs: 0 });
    const good = span();
    const backwards = span({ spanId: 'c7ad6b7169203332', startNs: T0, endNs: T0 - 1n });
    await expect(store.write([good, backwards])).rejects.toThrow(
      /^span 1 \(trace 0af7651916cd43dd8448eb211c80319c\) cannot be stored: /,
    );
    expect(await store.trace(good.traceId)).toEqual([]);
    await store.write([good]);
    expect(await store.trace(good.traceId)).toEqual([good]);
    await store.close();
  });
});
