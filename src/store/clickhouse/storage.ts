/**
 * Storage backed by ClickHouse (chDB in-process or a server): the composition of the series index, the
 * group-commit writer (storage.append.ts) and range reads (storage.read.ts).
 *
 * Durability: a commit resolves once ClickHouse has written the data part (the INSERT returned). A killed
 * process keeps everything acknowledged; there is no separate write-ahead log because the insert itself is
 * the durable write, and concurrent commits are grouped into one insert to keep parts large.
 */
import { labelsKey as keyOf } from '../../model/labels.ts';
import { compileMatcher, matchesAll, type Matcher } from '../../model/matcher.ts';
import { storageBytes, storageSeries } from '../../self/metrics.ts';
import type { Appender, MetricMetadata, MetricType, Querier, Storage, StorageStats } from '../interface.ts';
import { applyRetention, migrate, STALE_BITS_SQL } from './schema.ts';
import { SeriesIndex, indexedSeries, type IndexedSeries } from './series-index.ts';
import { sqlIdent, type SqlTransport } from './transport.ts';
import { GroupCommitWriter } from './storage.append.ts';
import { SampleHead } from './head.ts';
import { ClickHouseQuerier } from './storage.read.ts';
import {
  applyRollups,
  DEFAULT_ROLLUP_TIMING,
  readyRollups,
  RollupManager,
  rollupRetentions,
  rollupTable,
  type RollupSpec,
  type RollupTiming,
} from './rollups.ts';

export interface ClickHouseStorageOptions {
  readonly database?: string;
  /** Samples older than this are dropped (whole daily parts); 0 keeps everything. */
  readonly retentionMs?: number;
  /** Samples waiting to be written above which commits fail with OverloadedError. */
  readonly maxPendingSamples?: number;
  /**
   * Pushdown (`selectRange`, `selectLast`) is used when an estimated this many samples per series and step would
   * otherwise be read (default 3); 0 pushes down whenever possible (tests).
   */
  readonly pushdownMinSamplesPerStep?: number;
  /**
   * Rollup resolutions and their retention (docs/storage.md). When given, tables are created and backfilled,
   * re-retained or dropped at open to match; when left out, existing rollups are used as they are.
   */
  readonly rollups?: readonly RollupSpec[];
  /** How often rollup views refresh and how late a sample may be to be aggregated by them (tests). */
  readonly rollupTiming?: RollupTiming;
  /**
   * How much recent time of every series to hold in memory (the head, head.ts), so that reads of it (dashboards
   * over the last hour) need no ClickHouse query; 0 (the default) holds none. About 16 bytes a sample: 10,000
   * series scraped every 15 s take about 80 MB for 2 h. The head sees only this storage's writes: use it only
   * where this process is the one writer of the database.
   */
  readonly headWindowMs?: number;
  /** Progress messages of long start-up work (rollup backfill). */
  readonly log?: (msg: string) => void;
}

/** A Float64 from ClickHouse JSON with quoted denormals ("nan", "inf", "-inf"). */
function jsonFloat(x: number | string): number {
  if (typeof x === 'number') return x;
  if (x === 'inf' || x === '+inf') return Infinity;
  if (x === '-inf') return -Infinity;
  return Number(x);
}

export class ClickHouseStorage implements Storage {
  readonly db: string;
  readonly index = new SeriesIndex();
  private readonly meta = new Map<string, MetricMetadata>();
  private readonly writer: GroupCommitWriter;
  private readonly minSamplesPerStep: number;
  /** Ready rollups and the repair of late samples. */
  private rollups!: RollupManager;
  /** Recent samples in memory, when configured. */
  private head: SampleHead | undefined;

  private constructor(
    readonly sql: SqlTransport,
    opts: ClickHouseStorageOptions,
  ) {
    this.db = sqlIdent(opts.database ?? 'vigil');
    this.minSamplesPerStep = opts.pushdownMinSamplesPerStep ?? 3;
    this.writer = new GroupCommitWriter(
      sql,
      this.db,
      this.index,
      this.meta,
      opts.maxPendingSamples ?? 5_000_000,
    );
  }

  /** Migrates the schema, applies retention and loads the series index. */
  static async open(sql: SqlTransport, opts: ClickHouseStorageOptions = {}): Promise<ClickHouseStorage> {
    const s = new ClickHouseStorage(sql, opts);
    await migrate(sql, s.db);
    await applyRetention(sql, s.db, opts.retentionMs ?? 0);
    const timing = opts.rollupTiming ?? DEFAULT_ROLLUP_TIMING;
    const resolutions = opts.rollups
      ? await applyRollups(sql, s.db, opts.rollups, timing, opts.log)
      : await readyRollups(sql, s.db);
    s.rollups = new RollupManager(
      sql,
      s.db,
      resolutions,
      timing,
      opts.log,
      await rollupRetentions(sql, s.db, resolutions),
    );
    s.writer.rollups = s.rollups;
    await s.rollups.open();
    await s.load();
    // Never longer than retention: the head must not answer with samples ClickHouse has dropped.
    const retention = opts.retentionMs ?? 0;
    const headWindow = retention > 0 ? Math.min(opts.headWindowMs ?? 0, retention) : (opts.headWindowMs ?? 0);
    if (headWindow > 0) {
      let newest = -Infinity;
      for (const x of s.index.select([])) if (x.maxT > newest) newest = x.maxT;
      s.head = await SampleHead.load(sql, s.db, headWindow, newest);
      s.writer.head = s.head;
      opts.log?.(
        `storage: ${s.head.size} samples since ${new Date(s.head.coveredFrom).toISOString()} held in memory`,
      );
    }
    return s;
  }

  private async load(): Promise<void> {
    const series = await this.sql.queryRows<{ id: string; labels: Record<string, string> }>(
      `SELECT toString(series_id) AS id, any(labels) AS labels FROM ${this.db}.series GROUP BY series_id`,
    );
    // The newest non-stale value of each series seeds the counter flags of the next sample written.
    const spans = await this.sql.queryRows<{
      id: string;
      mint: string;
      maxt: string;
      n: string;
      last: number | string;
      live: string;
    }>(
      `SELECT toString(series_id) AS id, min(ts) AS mint, max(ts) AS maxt, count() AS n,
         argMaxIf(value, ts, reinterpretAsUInt64(value) != ${STALE_BITS_SQL}) AS last,
         countIf(reinterpretAsUInt64(value) != ${STALE_BITS_SQL}) AS live
       FROM ${this.db}.samples GROUP BY series_id
       SETTINGS output_format_json_quote_denormals = 1`,
    );
    const span = new Map(spans.map((r) => [r.id, r]));
    for (const row of series) {
      const sp = span.get(row.id);
      const labels = Object.fromEntries(Object.entries(row.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      const s = indexedSeries(
        BigInt(row.id),
        keyOf(labels),
        labels,
        sp ? Number(sp.mint) : Infinity,
        sp ? Number(sp.maxt) : -Infinity,
        sp ? Number(sp.n) : 0,
      );
      if (sp && Number(sp.live) > 0) {
        s.lastValue = jsonFloat(sp.last);
        s.hasLastValue = true;
      }
      this.index.add(s);
    }
    // Each series' recent sample interval, from its last hour of data: pushdown estimates density with it.
    const newest = spans.reduce((m, r) => Math.max(m, Number(r.maxt)), -Infinity);
    if (Number.isFinite(newest)) {
      const recent = await this.sql.queryRows<{ id: string; interval: number }>(
        `SELECT toString(series_id) AS id, (max(ts) - min(ts)) / (count() - 1) AS interval
         FROM ${this.db}.samples WHERE ts >= ${newest - 3_600_000} GROUP BY series_id HAVING count() > 1`,
      );
      for (const r of recent) {
        const s = this.index.getById(BigInt(r.id));
        if (s) s.recentInterval = Number(r.interval);
      }
    }
    const unordered = await this.sql.queryRows<{ id: string; since: string }>(
      `SELECT toString(series_id) AS id, min(since) AS since FROM ${this.db}.series_unordered GROUP BY series_id`,
    );
    for (const u of unordered) {
      const s = this.index.getById(BigInt(u.id));
      if (s) s.unorderedSince = Number(u.since);
    }
    const metas = await this.sql.queryRows<{ metric: string; type: string; help: string; unit: string }>(
      `SELECT metric, argMax(type, updated_at) AS type, argMax(help, updated_at) AS help,
              argMax(unit, updated_at) AS unit FROM ${this.db}.metadata GROUP BY metric`,
    );
    for (const m of metas)
      this.meta.set(m.metric, { type: m.type as MetricType, help: m.help, unit: m.unit });
    storageSeries.set(this.index.size);
  }

  appender(): Appender {
    return this.writer.appender();
  }

  querier(mint: number, maxt: number): Querier {
    return new ClickHouseQuerier(
      this.sql,
      this.db,
      this.index,
      mint,
      maxt,
      this.minSamplesPerStep,
      this.rollups,
      this.head,
    );
  }

  async metadata(metric?: string, limit?: number): Promise<Map<string, MetricMetadata[]>> {
    const out = new Map<string, MetricMetadata[]>();
    for (const name of [...this.meta.keys()].sort()) {
      if (metric !== undefined && name !== metric) continue;
      if (limit !== undefined && limit > 0 && out.size >= limit) break;
      out.set(name, [this.meta.get(name)!]);
    }
    return out;
  }

  async deleteSeries(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<void> {
    const compiled = sets.map((ms) => ms.map(compileMatcher));
    const hit: IndexedSeries[] = [];
    for (const s of this.index.select([], mint, maxt))
      if (compiled.some((ms) => matchesAll(ms, s.labels))) hit.push(s);
    if (!hit.length) return;
    await this.writer.flushed();
    for (const s of hit) this.head?.exclude(s.id);
    // Removing samples changes which sample precedes which: their successors' counter flags no longer hold.
    const since = Math.max(Math.floor(mint), Number.MIN_SAFE_INTEGER);
    const marked = hit.filter((s) => since < s.unorderedSince);
    for (const s of marked) s.unorderedSince = since;
    if (marked.length)
      await this.sql.insertJSON(
        `${this.db}.series_unordered`,
        Buffer.from(marked.map((s) => JSON.stringify({ series_id: s.idStr, since })).join('\n') + '\n'),
      );
    // Bounds within the data, so that rollup buckets are computed from finite times.
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of hit) {
      if (s.minT < lo) lo = s.minT;
      if (s.maxT > hi) hi = s.maxT;
    }
    lo = Math.max(Math.floor(mint), lo);
    hi = Math.min(Math.ceil(maxt), hi);
    if (lo <= hi) await this.rollups.record([{ ids: hit.map((s) => s.id), from: lo, to: hi }]);
    for (let i = 0; i < hit.length; i += 10_000) {
      const ids = hit.slice(i, i + 10_000).map((s) => s.idStr);
      // Lightweight DELETE: rows are masked at once and physically removed by merges or clean_tombstones.
      await this.sql.exec(
        `DELETE FROM ${this.db}.samples WHERE series_id IN (${ids.join(',')}) AND ts >= ${Math.floor(mint)} AND ts <= ${Math.ceil(maxt)}`,
      );
    }
    this.rollups.schedule();
    const rows = await this.sql.queryRows<{ id: string; mint: string; maxt: string; n: string }>(
      `SELECT toString(series_id) AS id, min(ts) AS mint, max(ts) AS maxt, count() AS n FROM ${this.db}.samples
       WHERE series_id IN (${hit.map((s) => s.idStr).join(',')}) GROUP BY series_id`,
    );
    const left = new Map(rows.map((r) => [r.id, r]));
    for (const s of hit) {
      const r = left.get(s.idStr);
      if (r) {
        s.minT = Number(r.mint);
        s.maxT = Number(r.maxt);
        s.samples = Number(r.n);
      } else {
        s.minT = Infinity;
        s.maxT = -Infinity;
        s.samples = 0;
      }
    }
  }

  async cleanTombstones(): Promise<void> {
    await this.writer.flushed();
    await this.sql.exec(`ALTER TABLE ${this.db}.samples APPLY DELETED MASK`, { mutations_sync: 2 });
  }

  async stats(): Promise<StorageStats> {
    const rows = await this.sql.queryRows<{ bytes: string; rows: string }>(
      `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts
       WHERE active AND database = '${this.db}' AND table = 'samples'`,
    );
    const bytesOnDisk = Number(rows[0]?.bytes ?? 0);
    storageBytes.set(bytesOnDisk);
    return { series: this.index.size, samples: Number(rows[0]?.rows ?? 0), bytesOnDisk };
  }

  /** Waits until every committed write is in ClickHouse (writes are already durable when commit resolves). */
  flushed(): Promise<void> {
    return this.writer.flushed();
  }

  /** Merges parts now: for benchmarks that measure bytes per sample after compaction. */
  async optimize(): Promise<void> {
    await this.writer.flushed();
    await this.sql.exec(`OPTIMIZE TABLE ${this.db}.samples FINAL`);
    for (const r of this.rollups.resolutions)
      await this.sql.exec(`OPTIMIZE TABLE ${rollupTable(this.db, r)} FINAL`);
  }

  /** Runs the rollup views now and waits until late samples are rolled up (tests, benchmarks). */
  async settleRollups(): Promise<void> {
    await this.writer.flushed();
    await this.rollups.settled();
    await this.rollups.refreshNow();
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.rollups.close();
  }
}
