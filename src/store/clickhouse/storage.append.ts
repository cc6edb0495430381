/**
 * The write path: appenders buffer rows as TSV text; commits queue up and are written by one group-commit
 * loop, so that under load many requests share one ClickHouse insert (large parts, few merges) and under
 * light load a commit is written at once (no timer adds latency). A commit resolves after its insert returns.
 */
import { isStaleNaN, labelsKey, METRIC_NAME, type Labels } from '../../model/labels.ts';
import { storageSeries, writeBatchSize, writeDuration, writeQueueSamples } from '../../self/metrics.ts';
import { OverloadedError, StorageError, type Appender, type MetricMetadata } from '../interface.ts';
import { seriesId } from '../../model/labels.ts';
import type { IndexedSeries, SeriesIndex } from './series-index.ts';
import type { SqlTransport } from './transport.ts';

interface SeriesRef {
  readonly s: IndexedSeries;
  minT: number;
  maxT: number;
}

interface PendingCommit {
  readonly tsv: string;
  readonly count: number;
  readonly refs: SeriesRef[];
  readonly meta: [string, MetricMetadata][];
  resolve(): void;
  reject(err: Error): void;
}

function formatValue(v: number): string {
  if (Number.isFinite(v)) return v + '\t0\n';
  if (Number.isNaN(v)) return isStaleNaN(v) ? 'nan\t1\n' : 'nan\t0\n';
  return v > 0 ? 'inf\t0\n' : '-inf\t0\n';
}

export class GroupCommitWriter {
  private queue: PendingCommit[] = [];
  private queuedSamples = 0;
  private running: Promise<void> | null = null;
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

  private resolveSeries(key: string, labels: Labels): IndexedSeries {
    const known = this.index.getByKey(key) ?? this.unwritten.get(key);
    if (known) return known;
    const sorted: Record<string, string> = {};
    for (const n of Object.keys(labels).sort()) if (labels[n] !== '') sorted[n] = labels[n]!;
    const id = seriesId(key);
    const s: IndexedSeries = {
      id,
      idStr: id.toString(),
      key,
      labels: sorted,
      minT: Infinity,
      maxT: -Infinity,
    };
    this.unwritten.set(key, s);
    return s;
  }

  appender(): Appender {
    const refs = new Map<string, SeriesRef>();
    const meta: [string, MetricMetadata][] = [];
    let tsv = '';
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
          const key = labelsKey(labels);
          ref = refs.get(key);
          if (!ref) {
            ref = { s: this.resolveSeries(key, labels), minT: t, maxT: t };
            refs.set(key, ref);
          }
          lastLabels = labels;
          lastRef = ref;
        }
        if (t < ref.minT) ref.minT = t;
        if (t > ref.maxT) ref.maxT = t;
        tsv += ref.s.idStr + '\t' + t + '\t' + formatValue(v);
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
        return this.enqueue(tsv, count, [...refs.values()], meta);
      },
      rollback: () => {
        done = true;
        tsv = '';
      },
    };
  }

  private enqueue(
    tsv: string,
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
      this.queue.push({ tsv, count, refs, meta, resolve, reject });
      this.queuedSamples += count;
      writeQueueSamples.set(this.queuedSamples);
      this.running ??= this.drain();
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
    this.running = null;
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
    if (n > 0) {
      const body = Buffer.from(batch.length === 1 ? batch[0]!.tsv : batch.map((c) => c.tsv).join(''));
      // Backfill may span many days; one insert may then touch many daily partitions.
      await this.sql.insertTSV(`${this.db}.samples_in`, body, { max_partitions_per_insert_block: 0 });
    }
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
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    await this.flushed();
    this.closed = true;
  }
}
