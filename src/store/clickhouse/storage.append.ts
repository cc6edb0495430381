/**
 * The write path: appenders buffer samples as binary rows; commits queue up and are written by group-commit
 * loops, so that under load many requests share one ClickHouse insert (large parts, few merges) and under
 * light load a commit is written at once (no timer adds latency). A commit resolves after its insert returns.
 */
import { labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import { storageSeries, writeBatchSize, writeDuration, writeQueueSamples } from '../../self/metrics.ts';
import { OverloadedError, StorageError, type Appender, type MetricMetadata } from '../interface.ts';
import { seriesId } from '../../model/labels.ts';
import { indexedSeries, type IndexedSeries, type SeriesIndex } from './series-index.ts';
import type { SqlTransport } from './transport.ts';

interface SeriesRef {
  readonly s: IndexedSeries;
  minT: number;
  maxT: number;
}

/**
 * Inserts in flight at once. One insert has a fixed cost (a new part) that a second one can overlap; under
 * load each still carries every commit queued meanwhile.
 */
const MAX_CONCURRENT_INSERTS = 2;

/** Bytes of one RowBinary row: series_id UInt64, ts Int64, value Float64, little-endian. */
const ROW_BYTES = 24;
const TWO_32 = 4294967296;
export const SAMPLE_STRUCTURE = 'series_id UInt64, ts Int64, value Float64';

/**
 * Append-only buffer of binary sample rows in off-heap chunks. Fixed-width rows cost no formatting, create
 * no garbage, and carry every float bit-exact (the stale-marker NaN included).
 */
class RowChunks {
  private readonly chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(ROW_BYTES * 512);
  private dv = new DataView(this.cur.buffer, this.cur.byteOffset, this.cur.byteLength);
  private off = 0;

  row(s: IndexedSeries, t: number, v: number): void {
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
  readonly count: number;
  readonly refs: SeriesRef[];
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
            ref = { s, minT: t, maxT: t };
            refs.set(s, ref);
          }
          lastLabels = labels;
          lastRef = ref;
        }
        if (t < ref.minT) ref.minT = t;
        if (t > ref.maxT) ref.maxT = t;
        rows!.row(ref.s, t, v);
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
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, count, refs, meta, resolve, reject });
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
      }
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
