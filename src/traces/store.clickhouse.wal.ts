/**
 * The write path of ClickHouseSpanStore with a write-ahead log: a write is acknowledged once its rows are synced
 * to the WAL (wal.ts), and a background inserter moves the WAL into ClickHouse in big batches, so the fixed cost
 * of an insert (a new synced part in `spans` and one in `trace_id_ts`) is paid per flush interval, not per
 * handful of requests, and senders never wait for ClickHouse.
 *
 * Visibility: reads call `visible(READ_WAIT_MS)` first, which starts an insert at once and waits until every
 * span acknowledged before the call is in ClickHouse, so a read sees every acknowledged span, but waits at most
 * 1 s: while a backlog is being inserted (ClickHouse slower than ingestion), reads lag by up to the backlog.
 *
 * Crash safety: spans are acknowledged only once synced to the WAL; a segment is deleted only after its insert
 * returned (with `fsync_after_insert` the parts are synced by then). A crash between the two replays that
 * segment as the same inserts, which ClickHouse's block deduplication skips (schema version 4), so nothing is
 * stored twice.
 */
import { SpanWal, type WalRecord, type WalSegment } from './wal.ts';

/**
 * Inserts RowBinary span rows of `structure` (the current one, or an earlier version's for a segment an older
 * Vigil left) into ClickHouse; resolves once they are durable there.
 */
export type InsertRowsFn = (rows: Buffer, spans: number, structure: string) => Promise<void>;

export interface WalSpanWriterOptions {
  readonly dir: string;
  /** The RowBinary structure of the rows (SPAN_STRUCTURE); recorded in each segment and checked at replay. */
  readonly structure: string;
  readonly insert: InsertRowsFn;
  /** Longest time an acknowledged span waits before its insert starts. Default 500 ms. */
  readonly flushIntervalMs?: number;
  /** Spans that start an insert at once, without waiting for the interval. Default 200,000. */
  readonly batchSpans?: number;
  /** Receives replay reports and insert failures (which are retried). */
  readonly log?: (msg: string) => void;
}

/** Most a read waits for acknowledged spans to be inserted before it reads what is there. */
export const READ_WAIT_MS = 1_000;
/** Most flush() waits for every acknowledged span to be in ClickHouse before it rejects. */
export const FLUSH_WAIT_MS = 60_000;
/** A failing WAL write is logged at most once per this interval (every failed write is refused to its sender). */
const WRITE_FAILURE_LOG_MS = 10_000;
const DEFAULT_BATCH_SPANS = 200_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

interface Reader {
  readonly target: number;
  /** A strict reader (flush) is not released by a failed insert, only once its spans are inserted. */
  readonly strict: boolean;
  resolve(): void;
  reject(err: Error): void;
}

export class WalSpanWriter {
  /** Spans acknowledged (in the WAL) but not yet inserted. */
  private unflushed = 0;
  /** Bytes of those spans' rows, held in memory until inserted. */
  private unflushedBytes = 0;
  /** Spans inserted since open, in WAL order: a prefix of `acked`. */
  private inserted = 0;
  /** Spans acknowledged since open. */
  private acked = 0;
  private readers: Reader[] = [];
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  /** True while the inserter sleeps with nothing acknowledged. */
  private idle = false;
  /** The latest failed insert's message, for flush()'s refusal. */
  private lastInsertError = '';
  private lastWriteFailureLogged = -Infinity;

  private constructor(
    private readonly wal: SpanWal,
    private readonly opts: WalSpanWriterOptions,
  ) {}

  /**
   * Opens the WAL folder, inserts whatever an earlier process left in it (reporting damage through `log`,
   * never failing on it), and starts the background inserter. Rejects when a replayed insert fails: the
   * segments stay for the next start.
   */
  static async open(opts: WalSpanWriterOptions): Promise<WalSpanWriter> {
    const { wal, replay } = SpanWal.open(opts.dir, opts.structure);
    for (const p of replay.problems) opts.log?.(`traces WAL: ${p}`);
    // Each segment goes in as the same inserts the running inserter makes of it (same chunks, so the same
    // blocks): an insert ClickHouse committed just before a crash is then skipped by its block deduplication
    // (schema version 4) instead of storing those spans twice.
    let total = 0;
    for (const seg of replay.segments) {
      for (const part of chunks(seg.records, opts.batchSpans ?? DEFAULT_BATCH_SPANS)) {
        const spans = part.reduce((n, r) => n + r.spans, 0);
        try {
          await opts.insert(Buffer.concat(part.map((r) => r.rows)), spans, seg.structure);
        } catch (err) {
          throw new Error(`traces WAL: replaying ${spans} spans failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
      }
      await wal.remove(seg.seq);
      total += seg.spans;
    }
    if (replay.segments.length)
      opts.log?.(`traces WAL: replayed ${total} spans from ${replay.segments.length} segment(s)`);
    return new WalSpanWriter(wal, opts);
  }

  /** Spans acknowledged and not yet in ClickHouse. */
  get pending(): number {
    return this.unflushed;
  }

  /** Bytes of rows acknowledged (or being written) and not yet in ClickHouse. */
  get pendingBytes(): number {
    return this.unflushedBytes;
  }

  /**
   * Appends the rows to the WAL; resolves once synced (the acknowledgement point), rejects when the WAL
   * cannot be written (nothing of the call is then inserted).
   */
  async write(rows: Buffer, spans: number): Promise<void> {
    this.unflushed += spans;
    this.unflushedBytes += rows.length;
    try {
      await this.wal.append(rows, spans);
    } catch (err) {
      this.unflushed -= spans;
      this.unflushedBytes -= rows.length;
      const now = performance.now();
      if (now - this.lastWriteFailureLogged >= WRITE_FAILURE_LOG_MS) {
        this.lastWriteFailureLogged = now;
        this.opts.log?.(`traces WAL: refusing spans: ${(err as Error).message}`);
      }
      throw err;
    }
    this.acked += spans;
    this.start();
    if (this.idle || this.wal.spans >= this.batchSpans) this.wake?.();
  }

  private get batchSpans(): number {
    return this.opts.batchSpans ?? DEFAULT_BATCH_SPANS;
  }

  /**
   * Resolves once every span acknowledged before the call is in ClickHouse, or its insert failed, or after
   * `maxWaitMs` (a backlog behind a slow ClickHouse would otherwise hold reads for seconds).
   */
  visible(maxWaitMs = Infinity): Promise<void> {
    return this.wait(false, maxWaitMs);
  }

  /**
   * Inserts everything acknowledged now; resolves once it is all in ClickHouse. Unlike reads it does not give up
   * on a failed insert (a backup must not miss acknowledged spans): it rejects, naming the latest insert error,
   * when that has not happened within `maxWaitMs`, or when the store closes with spans left in the WAL.
   */
  flush(maxWaitMs = FLUSH_WAIT_MS): Promise<void> {
    return this.wait(true, maxWaitMs);
  }

  private wait(strict: boolean, maxWaitMs: number): Promise<void> {
    const target = this.acked;
    if (this.inserted >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = Number.isFinite(maxWaitMs) ? setTimeout(expire, maxWaitMs) : undefined;
      const reader: Reader = {
        target,
        strict,
        resolve() {
          clearTimeout(timer);
          resolve();
        },
        reject(err) {
          clearTimeout(timer);
          reject(err);
        },
      };
      const readers = () => this.readers;
      const pending = () => target - this.inserted;
      const lastError = () => this.lastInsertError;
      function expire() {
        const list = readers();
        const i = list.indexOf(reader);
        if (i >= 0) list.splice(i, 1);
        if (!strict) return resolve();
        reject(
          new Error(
            `traces WAL: ${pending()} acknowledged spans are not in ClickHouse after ${maxWaitMs} ms` +
              (lastError() ? ` (latest insert error: ${lastError()})` : ''),
          ),
        );
      }
      this.readers.push(reader);
      this.start();
      this.wake?.();
    });
  }

  /**
   * Releases the readers whose spans are inserted; with `failed`, also every non-strict one (reads get what
   * ClickHouse has rather than waiting for an outage to end); with `closing`, rejects the strict ones left.
   */
  private releaseReaders(failed: boolean, closing = false): void {
    if (!this.readers.length) return;
    const waiting: Reader[] = [];
    for (const r of this.readers)
      if (r.target <= this.inserted || (failed && !r.strict)) r.resolve();
      else if (closing)
        r.reject(
          new Error('traces WAL: closed with acknowledged spans not yet in ClickHouse (kept in the WAL)'),
        );
      else waiting.push(r);
    this.readers = waiting;
  }

  /**
   * Starts the background inserter unless it runs. It never throws: an unexpected error (a file operation on a
   * failing disk) is logged, and the inserter starts again after a pause, keeping what it had not inserted.
   */
  private start(): void {
    this.loop ??= this.run().catch(async (err: unknown) => {
      this.opts.log?.(
        `traces WAL: the inserter stopped on an error (${(err as Error).message}); restarting it`,
      );
      await new Promise((r) => setTimeout(r, RETRY_MAX_MS));
      this.loop = undefined;
      if (this.readers.length || this.acked > this.inserted || this.closed) this.start();
    });
  }

  /** Sleeps `ms` (forever when undefined) or until woken. */
  private sleep(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private due(): boolean {
    return this.closed || this.readers.length > 0 || this.wal.spans >= this.batchSpans;
  }

  /** The background inserter: runs until the store closes and everything acknowledged is inserted. */
  private async run(): Promise<void> {
    const interval = this.opts.flushIntervalMs ?? 500;
    let failures = 0;
    for (;;) {
      // The interval runs from the oldest waiting span, so a backlog is inserted back to back.
      const wait = interval - this.wal.age;
      if (!this.due() && wait > 0) await this.sleep(wait);
      const seg = await this.wal.roll();
      if (!seg) {
        if (this.closed) break;
        // Nothing acknowledged: sleep until a write or reader arrives.
        if (!this.due()) {
          this.idle = true;
          await this.sleep();
          this.idle = false;
        }
        continue;
      }
      // A segment that grew while ClickHouse was slow goes in inserts of at most batchSpans.
      for (const part of chunks(seg.records, this.batchSpans)) {
        const spans = part.reduce((n, r) => n + r.spans, 0);
        for (;;) {
          try {
            await this.opts.insert(Buffer.concat(part.map((r) => r.rows)), spans, seg.structure);
            failures = 0;
            break;
          } catch (err) {
            failures++;
            const waitMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
            this.lastInsertError = (err as Error).message;
            this.releaseReaders(true);
            if (this.closed) {
              this.opts.log?.(
                `traces WAL: inserting ${spans} spans failed while closing (${(err as Error).message}); ` +
                  `they stay in the WAL and are inserted at the next start`,
              );
              return this.giveUp(seg);
            }
            this.opts.log?.(
              `traces WAL: inserting ${spans} spans failed (${(err as Error).message}); retrying in ${waitMs} ms`,
            );
            await new Promise((r) => setTimeout(r, waitMs));
          }
        }
      }
      // Its spans are in ClickHouse: a file left behind is replayed at the next start and skipped there by
      // ClickHouse's block deduplication, so a failing delete is reported and not retried.
      await this.wal.remove(seg.seq).catch((err: unknown) => {
        this.opts.log?.(`traces WAL: removing an inserted segment failed: ${(err as Error).message}`);
      });
      this.inserted += seg.spans;
      this.unflushed -= seg.spans;
      this.unflushedBytes -= bytesOf(seg);
      this.releaseReaders(false);
    }
    this.loop = undefined;
  }

  /** On close with ClickHouse failing: leaves this and every later segment on disk for the next start. */
  private async giveUp(seg: WalSegment): Promise<void> {
    let rest: WalSegment | undefined = seg;
    while (rest) {
      this.unflushed -= rest.spans;
      this.unflushedBytes -= bytesOf(rest);
      rest = await this.wal.roll();
    }
    this.releaseReaders(true, true);
    this.loop = undefined;
  }

  /** Stops taking writes, inserts everything acknowledged, and closes the WAL. */
  async close(): Promise<void> {
    this.closed = true;
    this.start();
    this.wake?.();
    // A restarted inserter (see start) replaces the promise; wait for the last one.
    while (this.loop) await this.loop;
    await this.wal.close();
  }
}

function bytesOf(seg: WalSegment): number {
  let n = 0;
  for (const r of seg.records) n += r.rows.length;
  return n;
}

/** Consecutive runs of records of at most `maxSpans` spans each (a bigger single record alone). */
function chunks(records: readonly WalRecord[], maxSpans: number): WalRecord[][] {
  const out: WalRecord[][] = [];
  let cur: WalRecord[] = [];
  let n = 0;
  for (const r of records) {
    if (cur.length && n + r.spans > maxSpans) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(r);
    n += r.spans;
  }
  if (cur.length) out.push(cur);
  return out;
}
