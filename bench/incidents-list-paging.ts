/**
 * Incident list paging (src/state/store.incidents.ts `list` with `after` and `limit`).
 *
 *   npx tsx bench/incidents-list-paging.ts [--driver sqlite|postgres] [--incidents 50000] [--page 500]
 *
 * Seeds --incidents incidents (a quarter of them in runs sharing one millisecond, a third on one service)
 * into a fresh store, then times, as medians of 7 runs: the first page; a page deep in the list (after the
 * key of the incident 1000 from the end); the same deep page the way the list had to be read before keyset
 * paging (everything, sorted, sliced); the first and the deep page with a service filter (checked in
 * JavaScript); and the whole list walked page by page. Prints figures in ms, asserts nothing. PostgreSQL is
 * postgres://postgres@127.0.0.1:5432/test (or $VIGIL_TEST_PG_URL) in a schema dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { IncidentFilter, IncidentInput, StateStore } from '../src/state/interface.ts';
import { openStateStore } from '../src/state/open.ts';

const { values } = parseArgs({
  options: {
    driver: { type: 'string', default: 'sqlite' },
    incidents: { type: 'string', default: '50000' },
    page: { type: 'string', default: '500' },
  },
});
const n = Number(values.incidents);
const pageSize = Number(values.page);
const pgUrl = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `vigil_bench_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-paging-'));

async function open(): Promise<StateStore> {
  if (values.driver === 'postgres') return openStateStore({ driver: 'postgres', url: pgUrl, schema });
  if (values.driver !== 'sqlite') throw new Error(`--driver: use sqlite or postgres, not ${values.driver}`);
  return openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
}

function incident(i: number): IncidentInput {
  return {
    title: `incident ${i}`,
    severity: i % 7 === 0 ? 'critical' : 'warning',
    status: 'resolved',
    assignee: null,
    groupId: null,
    policyId: null,
    services: [i % 3 === 0 ? 'checkout' : `svc-${i % 50}`],
    components: [],
    alerts: [`fp${i}`],
    labels: { alertname: 'Bench' },
    // A quarter of the incidents come in runs of 8 sharing a millisecond.
    createdAt: 1_700_000_000_000 + (i % 4 === 0 ? i - (i % 32) : i) * 1000,
    ackedAt: null,
    ackedBy: null,
    resolvedAt: 1_800_000_000_000,
    resolvedBy: 'vigil',
    escalation: { step: 0, loop: 0, nextAt: null },
  };
}

async function median(fn: () => Promise<unknown>, runs = 7): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const store = await open();
try {
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000)
    await store.transaction(async (tx) => {
      for (let j = i; j < Math.min(n, i + 1000); j++) await tx.incidents.create(incident(j));
    });
  console.log(
    `driver ${values.driver}, ${n} incidents seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s, page ${pageSize}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const all = await store.incidents.list({});
  const deepKey = all[all.length - 1000]!;
  const after = { createdAt: deepKey.createdAt, id: deepKey.id };
  const rows: [string, () => Promise<unknown>][] = [
    ['first page', () => store.incidents.list({ limit: pageSize })],
    ['deep page (keyset)', () => store.incidents.list({ after, limit: pageSize })],
    [
      'deep page (read all, sort, slice: before)',
      async () => {
        const every = await store.incidents.list({});
        const at = every.findIndex((i) => i.id === after.id);
        return every.slice(at + 1, at + 1 + pageSize);
      },
    ],
    ['first page, service=checkout', () => store.incidents.list({ service: 'checkout', limit: pageSize })],
    [
      'deep page, service=checkout',
      () => store.incidents.list({ service: 'checkout', after, limit: pageSize }),
    ],
  ];
  for (const [name, fn] of rows) console.log(`${name.padEnd(44)} ${(await median(fn)).toFixed(1)} ms`);
  const walk = async (filter: IncidentFilter) => {
    let key: IncidentFilter['after'];
    let pages = 0;
    for (;;) {
      const page = await store.incidents.list({ ...filter, after: key, limit: pageSize });
      pages++;
      if (page.length < pageSize) return pages;
      const last = page[page.length - 1]!;
      key = { createdAt: last.createdAt, id: last.id };
    }
  };
  const t1 = performance.now();
  const pages = await walk({});
  console.log(
    `${'whole list walked page by page'.padEnd(44)} ${(performance.now() - t1).toFixed(0)} ms (${pages} pages)`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (values.driver === 'postgres') {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.end();
  }
}
