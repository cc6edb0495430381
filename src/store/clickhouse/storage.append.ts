/**
 * The write path: appenders buffer samples as binary rows; commits queue up and are written by group-commit
 * loops, so that under load many requests share one ClickHouse insert (large parts, few merges) and under
 * light load a commit is written at once (no timer adds latency). A commit resolves after its insert returns.
 */
import { isStaleNaN, labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import { storageSeries, writeBatchSize, writeDuration, writeQueueSamples } from '../../self/metrics.ts';
import { OverloadedError, StorageError, type Appender, type MetricMetadata } from '../interface.ts';
import { seriesId } from '../../model/labels.ts';
import { FLAG_CHANGED, FLAG_RESET } from './schema.ts';
import { indexedSeries, type IndexedSeries, type SeriesIndex } from './series-index.ts';
import type { RollupManager, StaleRange } from './rollups.ts';
import type { SampleHead } from './head.ts';
import type { SqlTransport } from './transport.ts';

interface SeriesRef {
  readonly s: IndexedSeries;
  minT: number;
  maxT: number;
  count: number;
  /** Earliest sample appended at or before an earlier one of this appender (Infinity: none). */
  unordered: number;
  /** The series' previous non-stale value as this appender sees it, for the counter flags. */
  prev: number;
  hasPrev: boolean;
  /** `s.version` when this appender read the series' previous value. */
  version: number;
}

/**
 * Inserts in flight at once. One insert has a fixed cost (a new part) that a second one can overlap; under
 * load each still carries every commit queued meanwhile.
 */
const MAX_CONCURRENT_INSERTS = 2;

/**
 * Bytes of one RowBinary row: series_id UInt64, ts Int64, value Float64, flags UInt8, reset_prev Float64,
 * little-endian.
 */
const ROW_BYTES = 33;
const TWO_32 = 4294967296;
export const SAMPLE_STRUCTURE = 'series_id UInt64, ts Int64, value Float64, flags UInt8, reset_prev Float64';

/**
 * Append-only buffer of binary sample rows in off-heap chunks. Fixed-width rows cost no formatting, create
 * no garbage, and carry every float bit-exact (the stale-marker NaN included).
 */
class RowChunks {
  private readonly chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(ROW_BYTES * 512);
  private dv = new DataView(this.cur.buffer, this.cur.byteOffset, this.cur.byteLength);
  private off = 0;

  row(s: IndexedSeries, t: number, v: number, flags: number, resetPrev: number): void {
    if (this.off + ROW_BYTES > this.cur.length) {
      this.chunks.push(this.cur);
      this.cur = Buffer.allocUnsafe(Math.min(this.cur.length * 2, ROW_BYTES * 65_536));
      this.dv = new DataView(this.cur.buffer, this.cur.byteOffset, this.cur.byteLength);
      this.off = 0;
    }
    const dv = this.dv;
    const o = this.off;
    dv.setUint32(o, s.idLo, true);
    dv.setUint32(o + 4, s.idHi, true);
    // Int64 as two halves; floor keeps two's complement right for times before 1970.
    const hi = Math.floor(t / TWO_32);
    dv.setUint32(o + 8, t - hi * TWO_32, true);
    dv.setInt32(o + 12, hi, true);
    dv.setFloat64(o + 16, v, true);
    dv.setUint8(o + 24, flags);
    dv.setFloat64(o + 25, resetPrev, true);
    this.off = o + ROW_BYTES;
  }

  /** The written rows as a list of buffers. */
  finish(): Buffer[] {
    if (this.off > 0) this.chunks.push(this.cur.subarray(0, this.off));
    this.off = 0;
    return this.chunks;
  }
}

interface PendingCommit {
  /** Binary rows for the samples table. */
  readonly rows: Buffer[];
  /** Samples older than the rollups' closing time: their buckets must be recomputed. */
  readonly late: StaleRange | undefined;
  readonly count: number;
  readonly refs: SeriesRef[];
  /** Series this commit writes out of time order, and from which timestamp on. */
  readonly unordered: [IndexedSeries, number][];
  readonly meta: [string, MetricMetadata][];
  resolve(): void;
  reject(err: Error): void;
}

export class GroupCommitWriter {
  private queue: PendingCommit[] = [];
  private queuedSamples = 0;
  /** Drain loops running; each takes everything queued and writes it as one insert. */
  private loops = 0;
  private idleWaiters: (() => void)[] = [];
  /** Series created by appenders but not yet written; shared so concurrent appenders agree on one object. */
  private readonly unwritten = new Map<string, IndexedSeries>();
  private closed = false;
  /** Marks of failed writes, recorded with the next write. */
  private readonly lostMarks: [IndexedSeries, number][] = [];
  /** Rollups to tell about samples written after their buckets were aggregated. */
  rollups: RollupManager | undefined;
  /** The in-memory head of recent samples, extended with every insert once it has returned. */
  head: SampleHead | undefined;
  /** Resolves when the previous write has updated the head: writes update it in the order they started. */
  private headTurn: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: SqlTransport,
    private readonly db: string,
    private readonly index: SeriesIndex,
    private readonly meta: Map<string, MetricMetadata>,
    private readonly maxPendingSamples: number,
  ) {}

  /**
   * Series by label-object identity: ingest paths that reuse one label object per series (the remote-write
   * series cache) skip building the canonical key on every request.
   */
  private readonly byLabels = new WeakMap<Labels, IndexedSeries>();

  private lookup(labels: Labels): IndexedSeries {
    const s = this.resolveSeries(labelsKey(labels), labels);
    this.byLabels.set(labels, s);
    return s;
  }

  private resolveSeries(key: string, labels: Labels): IndexedSeries {
    const known = this.index.getByKey(key) ?? this.unwritten.get(key);
    if (known) return known;
    const sorted: Record<string, string> = {};
    for (const n of Object.keys(labels).sort()) if (labels[n] !== '') sorted[n] = labels[n]!;
    const s = indexedSeries(seriesId(key), key, sorted, Infinity, -Infinity);
    this.unwritten.set(key, s);
    return s;
  }

  appender(): Appender {
    const refs = new Map<IndexedSeries, SeriesRef>();
    const meta: [string, MetricMetadata][] = [];
    let rows: RowChunks | undefined = new RowChunks();
    let count = 0;
    let lastLabels: Labels | undefined;
    let lastRef: SeriesRef | undefined;
    let done = false;
    const check = () => {
      if (done) throw new StorageError('appender already committed or rolled back');
    };
    return {
      append: (labels, t, v) => {
        check();
        let ref = labels === lastLabels ? lastRef : undefined;
        if (!ref) {
          const s = this.byLabels.get(labels) ?? this.lookup(labels);
          ref = refs.get(s);
          if (!ref) {
            ref = {
              s,
              minT: t,
              maxT: t,
              count: 0,
              unordered: Infinity,
              prev: s.lastValue,
              hasPrev: s.hasLastValue,
              version: s.version,
            };
            refs.set(s, ref);
          }
          lastLabels = labels;
          lastRef = ref;
        }
        if (ref.count > 0 && t <= ref.maxT && t < ref.unordered) ref.unordered = t;
        // An estimate for pushdown decisions only: the gap to the series' previous newest sample.
        const prevT = ref.count > 0 ? ref.maxT : ref.s.queuedMaxT;
        if (t > prevT && prevT > -Infinity) ref.s.recentInterval = t - prevT;
        if (t < ref.minT) ref.minT = t;
        if (t > ref.maxT) ref.maxT = t;
        ref.count++;
        // Counter flags against the previous non-stale value (stale markers are no sample to a range function).
        let flags = 0;
        let resetPrev = 0;
        if (!(v !== v && isStaleNaN(v))) {
          if (ref.hasPrev) {
            const p = ref.prev;
            if (v < p) {
              flags = FLAG_RESET;
              resetPrev = p;
            }
            if (v !== p && !(v !== v && p !== p)) flags |= FLAG_CHANGED;
          }
          ref.prev = v;
          ref.hasPrev = true;
        }
        rows!.row(ref.s, t, v, flags, resetPrev);
        count++;
      },
      appendMetadata: (metric, m) => {
        check();
        meta.push([metric, m]);
      },
      get count() {
        return count;
      },
      commit: () => {
        check();
        done = true;
        if (count === 0 && meta.length === 0) return Promise.resolve();
        const written = rows!.finish();
        rows = undefined;
        return this.enqueue(written, count, [...refs.values()], meta);
      },
      rollback: () => {
        done = true;
        rows = undefined;
      },
    };
  }

  private enqueue(
    rows: Buffer[],
    count: number,
    refs: SeriesRef[],
    meta: [string, MetricMetadata][],
  ): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('storage is closed'));
    if (this.queuedSamples > 0 && this.queuedSamples + count > this.maxPendingSamples)
      return Promise.reject(
        new OverloadedError(`write queue is full (${this.queuedSamples} samples waiting); retry shortly`, 1),
      );
    // Enqueueing is synchronous, so comparing with what was queued before orders concurrent commits too.
    const unordered: [IndexedSeries, number][] = [];
    const lateBefore = this.rollups?.lateBefore() ?? -Infinity;
    const lateIds: bigint[] = [];
    let lateFrom = Infinity;
    let lateTo = -Infinity;
    for (const r of refs) {
      if (r.minT <= lateBefore) {
        lateIds.push(r.s.id);
        lateFrom = Math.min(lateFrom, r.minT);
        lateTo = Math.max(lateTo, Math.min(r.maxT, lateBefore));
      }
      const s = r.s;
      let since = r.unordered;
      // Older than what was queued before, or flagged against a previous value that another commit has
      // since replaced: the flags of this commit's first samples may be wrong.
      if ((r.minT <= s.queuedMaxT || r.version !== s.version) && r.minT < since) since = r.minT;
      if (r.maxT > s.queuedMaxT) s.queuedMaxT = r.maxT;
      s.version++;
      s.lastValue = r.prev;
      s.hasLastValue = r.hasPrev;
      if (since < s.unorderedSince) {
        s.unorderedSince = since;
        unordered.push([s, since]);
      }
    }
    return new Promise<void>((resolve, reject) => {
      const late = lateIds.length ? { ids: lateIds, from: lateFrom, to: lateTo } : undefined;
      this.queue.push({ rows, late, count, refs, unordered, meta, resolve, reject });
      this.queuedSamples += count;
      writeQueueSamples.set(this.queuedSamples);
      if (this.loops < MAX_CONCURRENT_INSERTS) {
        this.loops++;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      let n = 0;
      for (const c of batch) n += c.count;
      try {
        await this.write(batch, n);
        for (const c of batch) c.resolve();
      } catch (err) {
        const e = new StorageError(`storage write failed: ${(err as Error).message}`, { cause: err });
        // Later commits were flagged against these samples, which are not stored: mark their series, and
        // record the marks with the next write that succeeds.
        for (const c of batch)
          for (const r of c.refs)
            if (r.minT < r.s.unorderedSince) {
              r.s.unorderedSince = r.minT;
              this.lostMarks.push([r.s, r.minT]);
            }
        for (const c of batch) c.reject(e);
      } finally {
        this.queuedSamples -= n;
        writeQueueSamples.set(this.queuedSamples);
      }
    }
    if (--this.loops === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async write(batch: PendingCommit[], n: number): Promise<void> {
    // Taken before the first await, so that the head sees batches in the order they were formed (two inserts
    // may be in flight, and either may return first).
    const turn = this.headTurn;
    let release!: () => void;
    this.headTurn = new Promise<void>((r) => (release = r));
    try {
      await this.writeBatch(batch, n);
      await turn;
      if (this.head) for (const c of batch) this.head.appendRows(c.rows, ROW_BYTES);
    } catch (err) {
      await turn;
      // Whether any of these samples were stored is unknown: their series are read from ClickHouse from now on.
      if (this.head) for (const c of batch) for (const r of c.refs) this.head.exclude(r.s.id);
      throw err;
    } finally {
      release();
    }
  }

  private async writeBatch(batch: PendingCommit[], n: number): Promise<void> {
    const started = performance.now();
    const fresh = new Map<string, IndexedSeries>();
    for (const c of batch) for (const r of c.refs) if (!this.index.getByKey(r.s.key)) fresh.set(r.s.key, r.s);
    if (fresh.size) {
      let json = '';
      for (const s of fresh.values())
        json +=
          JSON.stringify({ series_id: s.idStr, metric: s.labels[METRIC_NAME] ?? '', labels: s.labels }) +
          '\n';
      await this.sql.insertJSON(`${this.db}.series`, Buffer.from(json));
    }
    const metaRows: string[] = [];
    for (const c of batch)
      for (const [metric, m] of c.meta) {
        const old = this.meta.get(metric);
        if (old && old.type === m.type && old.help === m.help && old.unit === m.unit) continue;
        this.meta.set(metric, m);
        metaRows.push(JSON.stringify({ metric, type: m.type, help: m.help, unit: m.unit }));
      }
    if (metaRows.length)
      await this.sql.insertJSON(`${this.db}.metadata`, Buffer.from(metaRows.join('\n') + '\n'));
    // Recorded before the samples: a crash in between leaves a mark too many, never one too few.
    const lost = this.lostMarks.splice(0);
    const marks = [...lost, ...batch.flatMap((c) => c.unordered)];
    if (marks.length) {
      try {
        await this.sql.insertJSON(
          `${this.db}.series_unordered`,
          Buffer.from(
            marks.map(([s, since]) => JSON.stringify({ series_id: s.idStr, since })).join('\n') + '\n',
          ),
        );
      } catch (err) {
        this.lostMarks.push(...lost);
        throw err;
      }
    }
    const late = batch.flatMap((c) => (c.late ? [c.late] : []));
    if (late.length) await this.rollups?.record(late);
    // Backfill may span many days; one insert may then touch many daily partitions.
    const settings = { max_partitions_per_insert_block: 0 };
    const rows = batch.flatMap((c) => c.rows);
    if (rows.length)
      await this.sql.insertRowBinary(`${this.db}.samples`, SAMPLE_STRUCTURE, Buffer.concat(rows), settings);
    for (const s of fresh.values()) {
      this.index.add(s);
      this.unwritten.delete(s.key);
    }
    for (const c of batch)
      for (const r of c.refs) {
        if (r.minT < r.s.minT) r.s.minT = r.minT;
        if (r.maxT > r.s.maxT) r.s.maxT = r.maxT;
        r.s.samples += r.count;
      }
    if (late.length) this.rollups?.schedule();
    storageSeries.set(this.index.size);
    writeBatchSize.observe(n);
    writeDuration.observe((performance.now() - started) / 1000);
  }

  /** Resolves when everything committed so far has been written. */
  async flushed(): Promise<void> {
    if (this.loops > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.flushed();
    this.closed = true;
  }
}
