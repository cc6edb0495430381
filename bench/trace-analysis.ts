/**
 * Trace analysis benchmark: reconstruction and critical path of one large trace.
 *
 *   npx tsx bench/trace-analysis.ts [--spans 10000] [--services 12] [--runs 15] [--seed 7] [--no-store]
 *
 * Generates a seeded trace up front: a root request fanning out through client → server calls across
 * --services services, each on its own host whose clock is off by up to ±50 ms (so reconstruction has skew
 * to repair), a few messaging hand-offs that outlive their parent, errors, a few spans lost (their children
 * become orphans) and a few received twice; then shuffles the spans, as a store returning late arrivals
 * might. Each run times, on the same input: reconstruction (tree, orphans, duplicates, clock skew, order),
 * the critical path, and the whole answer of `GET /api/vigil/v1/traces/:id` (also self time and error
 * propagation, serialised to JSON). Then, unless --no-store, writes the trace to a chDB span store in a
 * temporary folder and times the whole way a request takes: reading the trace back plus the full answer.
 * Prints the median and worst of --runs after one warm-up.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { traceJson } from '../src/api/trace-analysis.ts';
import { criticalPath } from '../src/traces/analysis/critical-path.ts';
import { sp } from '../src/traces/analysis/fixtures.ts';
import { reconstruct } from '../src/traces/analysis/tree.ts';
import { ClickHouseSpanStore } from '../src/traces/store.clickhouse.ts';
import { ChdbTransport } from '../src/store/clickhouse/chdb.ts';
import type { SpanRow } from '../src/traces/model.ts';
import { mulberry32 } from './lib/dataset.ts';
import { num, textTable } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    spans: { type: 'string', default: '10000' },
    services: { type: 'string', default: '12' },
    runs: { type: 'string', default: '15' },
    seed: { type: 'string', default: '7' },
    'no-store': { type: 'boolean', default: false },
  },
});
const SPANS = Number(args.spans);
const SERVICES = Number(args.services);
const RUNS = Number(args.runs);
const random = mulberry32(Number(args.seed));

interface Planned {
  id: string;
  parent: string;
  service: number;
  start: number;
  end: number;
}

/** Builds the trace in true time (ms), then records each span on its service's skewed clock. */
function generate(): SpanRow[] {
  const clock = Array.from({ length: SERVICES }, (_, i) => (i === 0 ? 0 : (random() - 0.5) * 100));
  const planned: Planned[] = [{ id: '1', parent: '', service: 0, start: 0, end: 2000 }];
  const rows: SpanRow[] = [];
  const record = (p: Planned, over: Parameters<typeof sp>[5] = {}) =>
    rows.push(
      sp(p.id, p.parent, `svc-${p.service}`, p.start + clock[p.service]!, p.end + clock[p.service]!, {
        name: `op-${p.service}-${Number.parseInt(p.id, 16) % 7}`,
        host: `host-${p.service}`,
        ...over,
      }),
    );
  record(planned[0]!, { kind: 'server' });
  let next = 2;
  const newId = () => (next++).toString(16);
  while (planned.length < SPANS) {
    // Prefer recent spans as parents, so the tree gets deep as well as wide.
    const parent = planned[Math.floor(planned.length * (1 - random() ** 3))] ?? planned[0]!;
    const len = parent.end - parent.start;
    const start = parent.start + random() * len * 0.8;
    const end = start + random() * (parent.end - start);
    const r = random();
    const error = random() < 0.03 ? { statusCode: 'error' as const } : {};
    if (r < 0.3 && planned.length + 2 <= SPANS) {
      // A call to another service: a client span here, a server span there, a little later and earlier.
      const other = Math.floor(random() * SERVICES);
      const client: Planned = { id: newId(), parent: parent.id, service: parent.service, start, end };
      const net = (end - start) * 0.05;
      const server: Planned = {
        id: newId(),
        parent: client.id,
        service: other,
        start: start + net,
        end: end - net,
      };
      planned.push(client, server);
      record(client, { kind: 'client' });
      record(server, { kind: 'server', ...error });
    } else if (r < 0.32) {
      // A message handed to another service that keeps working after the parent ended.
      const other = Math.floor(random() * SERVICES);
      const consumer: Planned = {
        id: newId(),
        parent: parent.id,
        service: other,
        start: end,
        end: end + random() * 300,
      };
      planned.push(consumer);
      record(consumer, { kind: 'consumer' });
    } else {
      const child: Planned = { id: newId(), parent: parent.id, service: parent.service, start, end };
      planned.push(child);
      record(child, error);
    }
  }
  // Lose 0.5% of the spans (their children become orphans) and receive 0.2% twice.
  const kept = rows.filter((s, i) => i === 0 || random() >= 0.005);
  for (let i = 0; i < rows.length * 0.002; i++) kept.push(kept[Math.floor(random() * kept.length)]!);
  for (let i = kept.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kept[i], kept[j]] = [kept[j]!, kept[i]!];
  }
  return kept;
}

const spans = generate();
const loadBefore = loadavg()[0]!;

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const stages: Record<string, number[]> = {
  reconstruction: [],
  'critical path': [],
  'reconstruction + critical path': [],
  'full trace answer (JSON)': [],
};
let jsonBytes = 0;
for (let run = 0; run <= RUNS; run++) {
  let tree = reconstruct(spans);
  const rec = time(() => {
    tree = reconstruct(spans);
  });
  const cp = time(() => criticalPath(tree));
  const full = time(() => {
    jsonBytes = JSON.stringify(traceJson(reconstruct(spans))).length;
  });
  if (run === 0) continue; // warm-up
  stages.reconstruction!.push(rec);
  stages['critical path']!.push(cp);
  stages['reconstruction + critical path']!.push(rec + cp);
  stages['full trace answer (JSON)']!.push(full);
}

if (!args['no-store']) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-traces-'));
  const sql = new ChdbTransport(dir);
  try {
    const store = await ClickHouseSpanStore.open(sql, { database: 'bench', retentionMs: 0 });
    await store.write(spans);
    const times: number[] = [];
    for (let run = 0; run <= RUNS; run++) {
      const t0 = performance.now();
      const stored = await store.trace(spans[0]!.traceId);
      jsonBytes = JSON.stringify(traceJson(reconstruct(stored))).length;
      if (run > 0) times.push(performance.now() - t0);
    }
    stages['read from chDB + full trace answer'] = times;
    await store.close();
  } finally {
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const tree = reconstruct(spans);
const path = criticalPath(tree);
let maxDepth = 0;
let orphans = 0;
let shifted = 0;
for (const n of tree.nodes) {
  maxDepth = Math.max(maxDepth, n.depth);
  if (n.orphan) orphans++;
  if (n.skewNs !== 0) shifted++;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `trace: ${num(spans.length)} spans received (${num(tree.nodes.length)} nodes after de-duplication), ` +
    `${SERVICES} services on skewed clocks, depth ${maxDepth}, ${orphans} orphans, ${shifted} spans moved ` +
    `for clock skew, ${path.length} critical-path segments, ${tree.warnings.length} warnings; ` +
    `answer ${num(jsonBytes / 1024)} KiB of JSON`,
);
console.log(
  `seed ${args.seed}, ${RUNS} runs after one warm-up, Node ${process.version}, ` +
    `load average ${loadBefore.toFixed(2)} before the runs\n`,
);
console.log(
  textTable(
    ['stage', 'median ms', 'worst ms'],
    Object.entries(stages).map(([name, xs]) => [name, num(median(xs), 1), num(Math.max(...xs), 1)]),
  ),
);
