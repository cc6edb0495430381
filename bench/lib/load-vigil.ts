/**
 * Writes the seeded pipeline dataset straight into a Vigil data folder through Vigil's own storage (the same
 * appender and ClickHouse tables a running Vigil uses), for benchmarks that measure queries rather than
 * ingestion. Runs in a child process because chDB allows one data folder per process:
 *
 *   node --import tsx bench/lib/load-vigil.ts '<json: {dataDir, seed, times: {startMs, intervalMs, steps}[],
 *                                                    rollups?: {resolutionMs, retentionMs}[]}>'
 *
 * With `rollups`, reopens the storage with them afterwards, so that they are backfilled here rather than at
 * Vigil's start, and merges every table (OPTIMIZE), as a data folder that has been running a while would be.
 * Prints progress lines and, last, one JSON line `{samples, seconds, rollupSeconds}`.
 */
import { join } from 'node:path';
import { ChdbTransport } from '../../src/store/clickhouse/chdb.ts';
import type { RollupSpec } from '../../src/store/clickhouse/rollups.ts';
import { ClickHouseStorage } from '../../src/store/clickhouse/storage.ts';
import { Dataset } from './dataset.ts';

export interface TimeSegment {
  readonly startMs: number;
  readonly intervalMs: number;
  readonly steps: number;
}

/** The timestamps of consecutive evenly spaced segments. */
export function scheduleTimes(segments: readonly TimeSegment[]): Float64Array {
  const n = segments.reduce((a, s) => a + s.steps, 0);
  const out = new Float64Array(n);
  let k = 0;
  for (const s of segments) for (let i = 0; i < s.steps; i++) out[k++] = s.startMs + i * s.intervalMs;
  return out;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as {
    dataDir: string;
    seed: number;
    times: TimeSegment[];
    rollups?: RollupSpec[];
  };
  const times = scheduleTimes(args.times);
  const ds = new Dataset({
    seed: args.seed,
    steps: times.length,
    intervalMs: args.times.at(-1)!.intervalMs,
    startMs: times[0]!,
    times,
  });
  const sql = new ChdbTransport(join(args.dataDir, 'clickhouse'));
  const storage = await ClickHouseStorage.open(sql, { database: 'vigil' });
  const labels = ds.series.map((pairs) => Object.fromEntries(pairs));
  const started = performance.now();
  let pending: Promise<void>[] = [];
  let next = 0.1;
  for (let k = 0; k < times.length; k++) {
    ds.next();
    const app = storage.appender();
    const t = times[k]!;
    for (let i = 0; i < labels.length; i++) app.append(labels[i]!, t, ds.values[i]!);
    pending.push(app.commit());
    if (pending.length >= 8) {
      await Promise.all(pending);
      pending = [];
    }
    if ((k + 1) / times.length >= next) {
      process.stdout.write(
        `  loaded ${Math.round(((k + 1) / times.length) * 100)}% in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
      );
      next += 0.1;
    }
  }
  await Promise.all(pending);
  await storage.optimize();
  await storage.close();
  const seconds = (performance.now() - started) / 1000;
  let rollupSeconds = 0;
  if (args.rollups?.length) {
    const t0 = performance.now();
    const withRollups = await ClickHouseStorage.open(sql, {
      database: 'vigil',
      rollups: args.rollups,
      log: (msg) => process.stdout.write(`  ${msg}\n`),
    });
    await withRollups.optimize();
    await withRollups.close();
    rollupSeconds = (performance.now() - t0) / 1000;
  }
  await sql.close();
  process.stdout.write(
    `${JSON.stringify({ samples: times.length * labels.length, seconds, rollupSeconds })}\n`,
  );
}

if (process.argv[1]?.endsWith('load-vigil.ts'))
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`load-vigil failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
