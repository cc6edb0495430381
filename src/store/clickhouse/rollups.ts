/**
 * Rollups: per resolution R, a table of one row per series and bucket `(end - R, end]` (min, max, sum, count,
 * first and last samples, the newest stale marker, and the counter flags' resets, changes and reset
 * corrections), kept for its own retention. Every column is a simple aggregate (sum, min or max, of numbers or of
 * (time, value) tuples) whose merge does not depend on order, so background merges are exact and readers can
 * also take unmerged rows as segments of their own. Layout: docs/format/metrics-tables.md; use: docs/storage.md.
 *
 * ClickHouse fills them with refreshable materialized views: every refresh aggregates the samples of the buckets
 * that closed since the last one (a bucket closes `grace` after its end) and appends them, with a sentinel row
 * (series 0) at the new end, so that `max(bucket)` is each table's progress. A coarser rollup whose resolution is
 * a multiple of a finer one refreshes from it, after it. Aggregating a few minutes of samples at once costs far
 * less than a view run on every insert. Samples written after their bucket closed (backfill, late senders) and
 * deleted samples are repaired by `RollupManager`: the buckets they touch are recomputed.
 */
import { FLAG_CHANGED, FLAG_REPEATED, FLAG_RESET, STALE_BITS_SQL } from './schema.ts';
import { sqlString, type SqlTransport } from './transport.ts';

export interface RollupSpec {
  /** Bucket length in milliseconds (whole seconds). */
  readonly resolutionMs: number;
  /** Buckets older than this are dropped (whole monthly parts); 0 keeps them forever. */
  readonly retentionMs: number;
}

export interface RollupTiming {
  /** Seconds between refreshes. */
  readonly refreshSeconds: number;
  /** How long after its end a bucket is aggregated: samples up to this late still count as on time. */
  readonly graceMs: number;
}

export const DEFAULT_ROLLUP_TIMING: RollupTiming = { refreshSeconds: 30, graceMs: 60_000 };

/** A repair waits for late writes to pause this long, but starts at most this long after the first one. */
const QUIET_MS = 2000;
const MAX_REPAIR_DELAY_MS = 60_000;

/** Most history one refresh aggregates, so that catching up after downtime happens in bounded steps. */
const MAX_REFRESH_SPAN_MS = 7 * 86_400_000;

export class RollupConfigError extends Error {
  override name = 'RollupConfigError';
}

export function rollupTable(db: string, resolutionMs: number): string {
  return `${db}.rollup_${resolutionMs / 1000}s`;
}

const STALE = `reinterpretAsUInt64(value) = ${STALE_BITS_SQL}`;
const LIVE = `NOT (${STALE})`;
const KNOWN = `flags < ${FLAG_REPEATED}`;
/** Neutral elements of min and max over (time, …) tuples, for rows that do not count. */
const MAX_TS = 'toInt64(9223372036854775807)';
const MIN_TS = 'toInt64(-9223372036854775808)';

/** Bucket end for a time: the smallest multiple of R at or after it (negative times included). */
function bucketSql(r: number, ts: string): string {
  return `if(${ts} > 0, intDiv(${ts} + ${r - 1}, ${r}), -intDiv(-${ts}, ${r})) * ${r}`;
}

function createTable(db: string, spec: RollupSpec): string {
  const ttl =
    spec.retentionMs > 0
      ? `TTL toDateTime(intDiv(bucket, 1000)) + INTERVAL ${Math.floor(spec.retentionMs / 1000)} SECOND`
      : '';
  return `CREATE TABLE ${rollupTable(db, spec.resolutionMs)} (
      series_id UInt64 CODEC(Delta, ZSTD(1)),
      bucket Int64 CODEC(DoubleDelta, ZSTD(1)),
      count SimpleAggregateFunction(sum, UInt64) CODEC(T64, ZSTD(1)),
      sum SimpleAggregateFunction(sum, Float64) CODEC(Gorilla, ZSTD(1)),
      numbers SimpleAggregateFunction(sum, UInt64) CODEC(T64, ZSTD(1)),
      min SimpleAggregateFunction(min, Float64) CODEC(Gorilla, ZSTD(1)),
      max SimpleAggregateFunction(max, Float64) CODEC(Gorilla, ZSTD(1)),
      first SimpleAggregateFunction(min, Tuple(Int64, Float64)) CODEC(ZSTD(1)),
      last SimpleAggregateFunction(max, Tuple(Int64, Float64)) CODEC(ZSTD(1)),
      unknown SimpleAggregateFunction(sum, UInt64) CODEC(T64, ZSTD(1)),
      resets SimpleAggregateFunction(sum, UInt64) CODEC(T64, ZSTD(1)),
      changes SimpleAggregateFunction(sum, UInt64) CODEC(T64, ZSTD(1)),
      corrections SimpleAggregateFunction(sum, Float64) CODEC(Gorilla, ZSTD(1)),
      head SimpleAggregateFunction(min, Tuple(Int64, UInt8, Float64)) CODEC(ZSTD(1)),
      stale_t SimpleAggregateFunction(max, Int64) CODEC(T64, ZSTD(1))
    ) ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(toDateTime(intDiv(bucket, 1000)))
    ORDER BY (series_id, bucket)
    ${ttl}
    SETTINGS ttl_only_drop_parts = 1, materialize_ttl_after_modify = 0, index_granularity = 256`;
}

/**
 * The aggregation of samples into buckets. Stale markers only count as `stale_t` (what an instant selector
 * needs); NaN takes part in everything but min and max.
 */
function fromSamples(db: string, r: number, where: string): string {
  return `SELECT series_id, ${bucketSql(r, 'ts')} AS bucket,
      countIf(${LIVE}) AS count,
      sumIf(value, ${LIVE}) AS sum,
      countIf(${LIVE} AND NOT isNaN(value)) AS numbers,
      min(if(${STALE} OR isNaN(value), inf, value)) AS min,
      max(if(${STALE} OR isNaN(value), -inf, value)) AS max,
      min(if(${STALE}, (${MAX_TS}, 0.), (ts, value))) AS first,
      max(if(${STALE}, (${MIN_TS}, 0.), (ts, value))) AS last,
      countIf(${LIVE} AND NOT (${KNOWN})) AS unknown,
      countIf(${LIVE} AND ${KNOWN} AND bitAnd(flags, ${FLAG_RESET}) != 0) AS resets,
      countIf(${LIVE} AND ${KNOWN} AND bitAnd(flags, ${FLAG_CHANGED}) != 0) AS changes,
      sumIf(reset_prev, ${LIVE} AND ${KNOWN}) AS corrections,
      min(if(${STALE}, (${MAX_TS}, toUInt8(0), 0.), (ts, flags, reset_prev))) AS head,
      max(if(${STALE}, ts, ${MIN_TS})) AS stale_t
    FROM ${db}.samples ${where}
    GROUP BY series_id, bucket`;
}

/** The same from a finer rollup whose resolution divides r: each of its buckets lies within one of ours. */
function fromRollup(db: string, r: number, source: number, where: string): string {
  return `SELECT series_id, ${bucketSql(r, 'bucket')} AS bucket,
      sum(count) AS count, sum(sum) AS sum, sum(numbers) AS numbers, min(min) AS min, max(max) AS max,
      min(first) AS first, max(last) AS last, sum(unknown) AS unknown, sum(resets) AS resets,
      sum(changes) AS changes, sum(corrections) AS corrections, min(head) AS head, max(stale_t) AS stale_t
    FROM ${rollupTable(db, source)} ${where}
    GROUP BY series_id, bucket`;
}

/** The progress marker: series 0 (no real series) at the end of what has been aggregated. */
function sentinel(end: string): string {
  return `SELECT toUInt64(0) AS series_id, toInt64(${end}) AS bucket, toUInt64(0) AS count, 0. AS sum,
      toUInt64(0) AS numbers, inf AS min, -inf AS max, (${MAX_TS}, 0.) AS first, (${MIN_TS}, 0.) AS last,
      toUInt64(0) AS unknown, toUInt64(0) AS resets, toUInt64(0) AS changes, 0. AS corrections,
      (${MAX_TS}, toUInt8(0), 0.) AS head, ${MIN_TS} AS stale_t`;
}

/** The finest-grained input for a resolution: the coarsest configured finer rollup dividing it, or samples. */
function sourceOf(r: number, resolutions: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const x of resolutions) if (x < r && r % x === 0 && (best === undefined || x > best)) best = x;
  return best;
}

function aggregate(db: string, r: number, source: number | undefined, where: string): string {
  return source === undefined ? fromSamples(db, r, where) : fromRollup(db, r, source, where);
}

/**
 * One refresh: from this table's progress to the newest closed bucket (at most MAX_REFRESH_SPAN_MS further), or
 * for a rollup of a rollup, to the newest of our buckets its source has completed.
 */
function refreshQuery(db: string, r: number, source: number | undefined, timing: RollupTiming): string {
  const done = `(SELECT max(bucket) FROM ${rollupTable(db, r)})`;
  const closed =
    source === undefined
      ? `intDiv(toUnixTimestamp64Milli(now64(3)) - ${timing.graceMs}, ${r}) * ${r}`
      : `intDiv((SELECT max(bucket) FROM ${rollupTable(db, source)}), ${r}) * ${r}`;
  const until = `greatest(${done}, least(${closed}, ${done} + ${MAX_REFRESH_SPAN_MS}))`;
  const t = source === undefined ? 'ts' : 'bucket';
  return `${aggregate(db, r, source, `WHERE ${t} > ${done} AND ${t} <= ${until}`)}
    UNION ALL ${sentinel(until)}`;
}

interface RollupState {
  ready: boolean;
  retentionSeconds: number;
}

async function readState(sql: SqlTransport, db: string, key: string): Promise<RollupState | undefined> {
  const rows = await sql.queryRows<{ value: string }>(
    `SELECT argMax(value, updated_at) AS value FROM ${db}.settings WHERE key = ${sqlString(key)}`,
  );
  const v = rows[0]?.value;
  if (!v) return undefined;
  try {
    return JSON.parse(v) as RollupState;
  } catch {
    return undefined;
  }
}

async function writeState(sql: SqlTransport, db: string, key: string, state: RollupState): Promise<void> {
  await sql.exec(
    `INSERT INTO ${db}.settings (key, value) VALUES (${sqlString(key)}, ${sqlString(JSON.stringify(state))})`,
  );
}

/** Checks a list: whole seconds (configuration asks for at least a minute), no resolution twice. */
export function validateRollups(specs: readonly RollupSpec[]): void {
  const seen = new Set<number>();
  for (const s of specs) {
    if (!(s.resolutionMs >= 1000) || s.resolutionMs % 1000 !== 0)
      throw new RollupConfigError(
        `rollup resolution ${s.resolutionMs / 1000}s: must be whole seconds (for example 5m or 1h)`,
      );
    if (seen.has(s.resolutionMs))
      throw new RollupConfigError(`rollup resolution ${s.resolutionMs / 1000}s is listed twice`);
    if (s.retentionMs < 0)
      throw new RollupConfigError('rollup retention must not be negative (0 keeps forever)');
    seen.add(s.resolutionMs);
  }
}

async function rollupTables(sql: SqlTransport, db: string): Promise<Set<string>> {
  const rows = await sql.queryRows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${sqlString(db)} AND match(name, '^rollup_[0-9]+s$')`,
  );
  return new Set(rows.map((r) => r.name));
}

/** Resolutions of the ready rollup tables, coarsest first, leaving them as they are (tools that open storage). */
export async function readyRollups(sql: SqlTransport, db: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await rollupTables(sql, db))
    if ((await readState(sql, db, name))?.ready) out.push(Number(name.slice('rollup_'.length, -1)) * 1000);
  return out.sort((a, b) => b - a);
}

/** Retention recorded for each ready rollup (ms; 0 keeps forever). */
export async function rollupRetentions(
  sql: SqlTransport,
  db: string,
  resolutions: readonly number[],
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const r of resolutions)
    out.set(r, ((await readState(sql, db, `rollup_${r / 1000}s`))?.retentionSeconds ?? 0) * 1000);
  return out;
}

/**
 * Creates, backfills, re-retains and drops rollup tables to match `specs`, then (re)creates their refreshable
 * views. Runs at start, before any write: a new table is filled up to the newest closed bucket from the finest
 * finer rollup that divides its resolution, or from samples (a backfill interrupted by a crash is started over),
 * and its views take over from there. Returns the ready resolutions, coarsest first.
 */
export async function applyRollups(
  sql: SqlTransport,
  db: string,
  specs: readonly RollupSpec[],
  timing: RollupTiming = DEFAULT_ROLLUP_TIMING,
  log: (msg: string) => void = () => {},
): Promise<number[]> {
  validateRollups(specs);
  const existing = await rollupTables(sql, db);
  for (const name of existing) await sql.exec(`DROP VIEW IF EXISTS ${db}.${name}_mv`);
  const wanted = new Set(specs.map((s) => `rollup_${s.resolutionMs / 1000}s`));
  for (const name of existing) {
    if (wanted.has(name)) continue;
    log(`rollups: dropping ${name} (no longer configured)`);
    await sql.exec(`DROP TABLE IF EXISTS ${db}.${name}`);
    await writeState(sql, db, name, { ready: false, retentionSeconds: 0 });
  }
  const resolutions = specs.map((s) => s.resolutionMs).sort((a, b) => a - b);
  const ordered = [...specs].sort((a, b) => a.resolutionMs - b.resolutionMs);
  for (const spec of ordered) {
    const r = spec.resolutionMs;
    const name = `rollup_${r / 1000}s`;
    const table = rollupTable(db, r);
    const retentionSeconds = Math.floor(spec.retentionMs / 1000);
    const state = await readState(sql, db, name);
    if (state?.ready && existing.has(name)) {
      if (state.retentionSeconds !== retentionSeconds) {
        if (retentionSeconds === 0) await sql.exec(`ALTER TABLE ${table} REMOVE TTL`);
        else
          await sql.exec(
            `ALTER TABLE ${table} MODIFY TTL toDateTime(intDiv(bucket, 1000)) + INTERVAL ${retentionSeconds} SECOND`,
          );
        await writeState(sql, db, name, { ready: true, retentionSeconds });
      }
      continue;
    }
    const started = Date.now();
    await sql.exec(`DROP TABLE IF EXISTS ${table}`);
    await sql.exec(createTable(db, spec));
    const source = sourceOf(r, resolutions);
    const t = source === undefined ? 'ts' : 'bucket';
    const from = source === undefined ? `${db}.samples` : rollupTable(db, source);
    const closed =
      source === undefined
        ? Math.floor((Date.now() - timing.graceMs) / r) * r
        : Math.floor(
            Number((await sql.queryRows<{ m: string }>(`SELECT max(bucket) AS m FROM ${from}`))[0]?.m ?? 0) /
              r,
          ) * r;
    // A finer source kept for less time than this rollup has already lost its oldest buckets (or will while
    // this runs): the weeks before its retention, plus a day, are aggregated from samples instead.
    const sourceKeep = specs.find((x) => x.resolutionMs === source)?.retentionMs ?? 0;
    const partial =
      source !== undefined && sourceKeep > 0 && (spec.retentionMs === 0 || spec.retentionMs > sourceKeep);
    const fromSourceAfter = partial ? Date.now() - sourceKeep + 86_400_000 : -Infinity;
    const spans = await sql.queryRows<{ lo: string; n: string }>(
      `SELECT min(${t}) AS lo, count() AS n FROM ${from} WHERE ${t} <= ${closed}${source === undefined ? '' : ' AND series_id != 0'}` +
        (partial
          ? ` UNION ALL SELECT min(ts) AS lo, count() AS n FROM ${db}.samples WHERE ts <= ${closed}`
          : ''),
    );
    const counted = spans.filter((x) => Number(x.n) > 0);
    const n = counted.reduce((sum, x) => sum + Number(x.n), 0);
    if (n > 0) {
      // Weeks of whole buckets, newest first, each in slices of the series-id space (the tables' leading key,
      // so a slice reads only its own rows), to bound the memory of the aggregation.
      const chunk = r * Math.ceil((7 * 86_400_000) / r);
      const oldest = Math.min(...counted.map((x) => Number(x.lo)));
      const lo = Math.floor(oldest / r) * r - r;
      const slices = 16;
      const width = 2n ** 64n / BigInt(slices);
      // Only the weeks that hold data: history is often sparse (an import of last year, then live data).
      const occupied = new Set(
        (
          await sql.queryRows<{ k: string }>(
            `SELECT DISTINCT intDiv(${closed} - ${t}, ${chunk}) AS k FROM ${from} WHERE ${t} <= ${closed}` +
              (partial
                ? ` UNION ALL SELECT DISTINCT intDiv(${closed} - ts, ${chunk}) AS k FROM ${db}.samples WHERE ts <= ${closed}`
                : ''),
          )
        ).map((x) => Number(x.k)),
      );
      for (let k = 0, end = closed; end > lo; k++, end -= chunk) {
        if (!occupied.has(k)) continue;
        const start = Math.max(end - chunk, lo);
        const src = start < fromSourceAfter ? undefined : source;
        const col = src === undefined ? 'ts' : 'bucket';
        for (let i = 0; i < slices; i++) {
          const a = width * BigInt(i);
          const b = i === slices - 1 ? 2n ** 64n - 1n : width * BigInt(i + 1) - 1n;
          const where = `WHERE series_id BETWEEN ${a} AND ${b} AND ${col} > ${start} AND ${col} <= ${end}`;
          await sql.exec(
            `INSERT INTO ${table} ${aggregate(db, r, src, `${where}${src === undefined ? '' : ' AND series_id != 0'}`)}`,
            { max_partitions_per_insert_block: 0 },
          );
        }
      }
      log(`rollups: ${name} backfilled from ${n} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    await sql.exec(`INSERT INTO ${table} ${sentinel(String(closed))}`);
    await writeState(sql, db, name, { ready: true, retentionSeconds });
  }
  for (const spec of ordered) {
    const r = spec.resolutionMs;
    const table = rollupTable(db, r);
    const source = sourceOf(r, resolutions);
    const depends = source === undefined ? '' : ` DEPENDS ON ${rollupTable(db, source)}_mv`;
    await sql.exec(
      `CREATE MATERIALIZED VIEW ${table}_mv REFRESH EVERY ${timing.refreshSeconds} SECOND${depends}
       APPEND TO ${table} AS ${refreshQuery(db, r, source, timing)}`,
    );
  }
  return [...resolutions].reverse();
}

/** Series whose samples in `[from, to]` the rollups may not reflect yet. */
export interface StaleRange {
  readonly ids: readonly bigint[];
  readonly from: number;
  readonly to: number;
}

/**
 * Keeps rollups right when samples arrive after their bucket was aggregated, or are deleted: such ranges are
 * recorded (in `rollup_repairs`, before the samples are written, so a crash cannot lose them) and recomputed in
 * the background, finest resolution first, each only up to that table's progress (later buckets are still to be
 * aggregated by its view). Until repaired, readers treat those series as not rolled up. Also caches each table's
 * progress for readers.
 */
/** A table's progress: the query for it, and once known (or while a newer one loads), its value. */
interface ProgressEntry {
  readonly at: number;
  readonly value: Promise<number>;
  known?: number;
}

export class RollupManager {
  /** Per series, the span awaiting repair and the sequence number of its latest record. */
  private readonly pending = new Map<bigint, { from: number; to: number; seq: number }>();
  private seq = Date.now() * 1000;
  /** When the oldest unrepaired range and the newest one were recorded (0: none pending). */
  private firstPendingAt = 0;
  private lastRecordAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly progressCache = new Map<number, ProgressEntry>();

  constructor(
    private readonly sql: SqlTransport,
    private readonly db: string,
    /** Ready resolutions, coarsest first. */
    readonly resolutions: readonly number[],
    readonly timing: RollupTiming,
    private readonly log: (msg: string) => void = () => {},
    /** Retention of each resolution (ms; 0 or absent keeps forever). */
    private readonly retentions: ReadonlyMap<number, number> = new Map(),
  ) {}

  /**
   * Whether a rollup still holds buckets back to `mint`: older ones are dropped by its TTL, and samples (when
   * kept longer) must answer instead.
   */
  covers(resolutionMs: number, mint: number, now = Date.now()): boolean {
    const keep = this.retentions.get(resolutionMs) ?? 0;
    return keep === 0 || mint > now - keep;
  }

  /** Loads ranges recorded before a restart and starts repairing them. */
  async open(): Promise<void> {
    if (!this.resolutions.length) return;
    const rows = await this.sql.queryRows<{ ids: string[]; from: string; to: string; seq: string }>(
      `SELECT arrayMap(x -> toString(x), ids) AS ids, from_ts AS from, to_ts AS to, toString(seq) AS seq
       FROM ${this.db}.rollup_repairs`,
    );
    for (const r of rows)
      for (const id of r.ids) this.merge(BigInt(id), Number(r.from), Number(r.to), Number(r.seq));
    if (this.pending.size) this.log(`rollups: ${this.pending.size} series have samples to roll up again`);
    this.schedule();
  }

  private merge(id: bigint, from: number, to: number, seq: number): void {
    const p = this.pending.get(id);
    if (p) {
      p.from = Math.min(p.from, from);
      p.to = Math.max(p.to, to);
      p.seq = Math.max(p.seq, seq);
    } else this.pending.set(id, { from, to, seq });
    if (!this.firstPendingAt) this.firstPendingAt = Date.now();
    this.lastRecordAt = Date.now();
  }

  /** Samples older than this (ms) may already have been aggregated: writing them needs a repair. */
  lateBefore(now = Date.now()): number {
    return this.resolutions.length ? now - this.timing.graceMs : -Infinity;
  }

  /** Records ranges to repair (one row per range); call before writing the samples. */
  async record(ranges: readonly StaleRange[]): Promise<void> {
    if (!this.resolutions.length || !ranges.length) return;
    const seq = ++this.seq;
    const rows = ranges.map((r) =>
      JSON.stringify({ ids: r.ids.map(String), from_ts: r.from, to_ts: r.to, seq: String(seq) }),
    );
    await this.sql.insertJSON(`${this.db}.rollup_repairs`, Buffer.from(rows.join('\n') + '\n'));
    for (const r of ranges) for (const id of r.ids) this.merge(id, r.from, r.to, seq);
  }

  /**
   * Starts a repair once late writes pause for a moment (a bulk backfill is repaired in few large steps), and at
   * the latest a minute after the first unrepaired range.
   */
  schedule(): void {
    if (this.closed || this.timer || this.running || !this.pending.size) return;
    const now = Date.now();
    const at = Math.min(this.lastRecordAt + QUIET_MS, (this.firstPendingAt || now) + MAX_REPAIR_DELAY_MS);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (
          Date.now() < this.lastRecordAt + QUIET_MS &&
          Date.now() < this.firstPendingAt + MAX_REPAIR_DELAY_MS
        ) {
          this.schedule();
          return;
        }
        this.running = this.repair().finally(() => {
          this.running = undefined;
          this.schedule();
        });
      },
      Math.max(50, at - now),
    );
    this.timer.unref();
  }

  /** Whether the rollups may lack samples of this series in `[from, to]`. */
  isStale(id: bigint, from: number, to: number): boolean {
    const p = this.pending.get(id);
    return p !== undefined && p.from <= to && p.to >= from;
  }

  /**
   * End of the newest bucket aggregated into a table (its sentinel), cached briefly. Progress only moves
   * forward (sentinels stay, repairs never touch them), so an older value is a safe answer, only costlier:
   * readers take more of the tail from samples. A value up to a refresh period old is answered at once while
   * a fresh one loads, which keeps this query off the path of dashboard queries.
   */
  progress(resolutionMs: number): Promise<number> {
    const hit = this.progressCache.get(resolutionMs);
    const now = Date.now();
    if (hit && now - hit.at < 1000) return hit.value;
    const entry: ProgressEntry = {
      at: now,
      value: this.sql
        .queryRows<{ m: string }>(`SELECT max(bucket) AS m FROM ${rollupTable(this.db, resolutionMs)}`)
        .then((rows) => Number(rows[0]?.m ?? -Infinity)),
    };
    this.progressCache.set(resolutionMs, entry);
    entry.value.then(
      (v) => (entry.known = v),
      () => {
        if (this.progressCache.get(resolutionMs) === entry) this.progressCache.delete(resolutionMs);
      },
    );
    if (hit?.known !== undefined && now - hit.at < this.timing.refreshSeconds * 1000) {
      // Keep the older value known until the fresh one arrives.
      entry.known = hit.known;
      return Promise.resolve(hit.known);
    }
    return entry.value;
  }

  private async repair(): Promise<void> {
    if (!this.pending.size) return;
    // One recomputation: the union of series over the union of their spans.
    const batch = [...this.pending].map(([id, p]) => ({ id, ...p }));
    let from = Infinity;
    let to = -Infinity;
    let seq = 0;
    for (const b of batch) {
      from = Math.min(from, b.from);
      to = Math.max(to, b.to);
      seq = Math.max(seq, b.seq);
    }
    const list = batch.map((b) => b.id.toString());
    const ascending = [...this.resolutions].sort((a, b) => a - b);
    const views = ascending.map((r) => `${rollupTable(this.db, r)}_mv`);
    try {
      // No refresh may read or extend a table while its buckets are being replaced.
      for (const v of views) await this.sql.exec(`SYSTEM STOP VIEW ${v}`);
      for (const v of views) await this.sql.exec(`SYSTEM WAIT VIEW ${v}`);
      for (const r of ascending) {
        const done = await this.progressNow(r);
        const lo = Math.ceil(from / r) * r;
        const hi = Math.min(Math.ceil(to / r) * r, done);
        if (lo > hi) continue;
        const source = sourceOf(r, ascending);
        const t = source === undefined ? 'ts' : 'bucket';
        for (let i = 0; i < list.length; i += 10_000) {
          const which = `series_id IN (${list.slice(i, i + 10_000).join(',')})`;
          await this.sql.exec(
            `DELETE FROM ${rollupTable(this.db, r)} WHERE ${which} AND bucket >= ${lo} AND bucket <= ${hi}`,
          );
          await this.sql.exec(
            `INSERT INTO ${rollupTable(this.db, r)} ${aggregate(this.db, r, source, `WHERE ${which} AND ${t} > ${lo - r} AND ${t} <= ${hi}`)}`,
            { max_partitions_per_insert_block: 0 },
          );
        }
      }
      await this.sql.exec(`DELETE FROM ${this.db}.rollup_repairs WHERE seq <= ${seq}`);
      // Series recorded again meanwhile stay pending.
      for (const b of batch) if (this.pending.get(b.id)?.seq === b.seq) this.pending.delete(b.id);
      this.firstPendingAt = this.pending.size ? Date.now() : 0;
    } catch (err) {
      if (!this.closed) this.log(`rollups: repair failed, will retry: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 5000).unref());
    } finally {
      for (const v of views) await this.sql.exec(`SYSTEM START VIEW ${v}`).catch(() => {});
    }
  }

  /** Runs every view's refresh now and waits for them (tests and benchmarks). */
  async refreshNow(): Promise<void> {
    const ascending = [...this.resolutions].sort((a, b) => a - b);
    for (const r of ascending) {
      const v = `${rollupTable(this.db, r)}_mv`;
      await this.sql.exec(`SYSTEM REFRESH VIEW ${v}`);
      await this.sql.exec(`SYSTEM WAIT VIEW ${v}`);
    }
    this.progressCache.clear();
  }

  private async progressNow(r: number): Promise<number> {
    this.progressCache.delete(r);
    return this.progress(r);
  }

  /** Repairs every recorded range now and resolves when done (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.pending.size && !this.closed) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      if (this.running) await this.running;
      else {
        this.running = this.repair().finally(() => (this.running = undefined));
        await this.running;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
