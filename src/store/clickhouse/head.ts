/**
 * The head: every series' newest samples (the last `windowMs`, stale markers included) held in memory, so that
 * dashboards over the last hour read no ClickHouse at all, as Prometheus answers them from its head block.
 * Loaded at open from ClickHouse, then extended by the writer once each insert has returned, in insert order.
 *
 * Invariant: for every series not excluded, every stored sample at or after `from` is held, in time order,
 * one per timestamp. A series whose samples arrive out of order or twice, or whose write failed, or that is
 * deleted from, is excluded: reads of it go to ClickHouse, which sorts and de-duplicates.
 */
import type { SqlTransport } from './transport.ts';
import { deadlineSettings } from './transport.ts';

/** One series' samples, `t[start..n)` ascending. */
interface HeadSeries {
  t: Float64Array;
  v: Float64Array;
  start: number;
  n: number;
}

const TWO_32 = 4294967296;

/** Samples of one series in a range, copied out of the head (the caller owns them). */
export interface HeadRead {
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export class SampleHead {
  private readonly series = new Map<bigint, HeadSeries>();
  private readonly excluded = new Set<bigint>();
  /** Samples held, for the memory they take (16 bytes each plus slack). */
  private held = 0;
  private appendsSinceTrim = 0;

  private constructor(
    /** How much recent time is held. */
    readonly windowMs: number,
    /** Every sample at or after this time (of series not excluded) is held. */
    private from: number,
    private readonly now: () => number,
  ) {}

  /**
   * Loads the samples of the last `windowMs` (before the older of now and `newestMs`, so that data written
   * before a restart is covered, and a sample stamped in the future does not leave the window empty) from
   * `db.samples`.
   */
  static async load(
    sql: SqlTransport,
    db: string,
    windowMs: number,
    newestMs: number,
    now: () => number = Date.now,
  ): Promise<SampleHead> {
    const from = Math.floor(Math.min(now(), Number.isFinite(newestMs) ? newestMs : now()) - windowMs);
    const head = new SampleHead(windowMs, from, now);
    const bytes = await sql.queryRowBinary(
      `SELECT series_id, toFloat64(ts), value FROM ${db}.samples WHERE ts >= ${from} ORDER BY series_id, ts`,
      undefined,
      deadlineSettings(undefined),
    );
    if (bytes.byteLength % 24 !== 0)
      throw new Error(`internal error: the head's read returned ${bytes.byteLength} bytes, not whole rows`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rows = bytes.byteLength / 24;
    let lastLo = -1;
    let lastHi = -1;
    let id = 0n;
    for (let k = 0; k < rows; k++) {
      const o = k * 24;
      const lo = dv.getUint32(o, true);
      const hi = dv.getUint32(o + 4, true);
      // Rows of a series are adjacent: a BigInt only when the id changes.
      if (lo !== lastLo || hi !== lastHi) {
        lastLo = lo;
        lastHi = hi;
        id = (BigInt(hi) << 32n) | BigInt(lo);
      }
      const t = dv.getFloat64(o + 8, true);
      const v = dv.getFloat64(o + 16, true);
      if (head.excluded.has(id)) continue;
      const s = head.series.get(id);
      // Rows come sorted. A repeated timestamp with the same value (a retried write) is held once; with
      // another value the order among the two rows is not fixed, so the series is read from ClickHouse, as
      // when that happens while running.
      if (s && s.n > s.start && s.t[s.n - 1] === t) {
        if (!Object.is(s.v[s.n - 1], v)) head.exclude(id);
      } else head.push(id, t, v);
    }
    return head;
  }

  /** The time from which the head answers reads. */
  get coveredFrom(): number {
    return this.from;
  }

  /** Samples held now. */
  get size(): number {
    return this.held;
  }

  /**
   * Adds inserted rows (in the writer's binary layout: id UInt64, ts Int64, value Float64 at the start of each
   * `rowBytes`-byte row). Rows of a series must come after everything held for it: one that does not excludes
   * the series.
   */
  appendRows(chunks: readonly Uint8Array[], rowBytes: number): void {
    for (const c of chunks) {
      const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
      for (let o = 0; o + rowBytes <= c.byteLength; o += rowBytes) {
        const t = dv.getInt32(o + 12, true) * TWO_32 + dv.getUint32(o + 8, true);
        if (t < this.from) continue;
        const id = (BigInt(dv.getUint32(o + 4, true)) << 32n) | BigInt(dv.getUint32(o, true));
        if (this.excluded.has(id)) continue;
        const s = this.series.get(id);
        if (s && s.n > s.start && s.t[s.n - 1]! >= t) {
          this.exclude(id);
          continue;
        }
        this.push(id, t, dv.getFloat64(o + 16, true));
      }
    }
    if (++this.appendsSinceTrim >= 64) {
      this.appendsSinceTrim = 0;
      this.trim();
    }
  }

  /** Stops answering for a series: reads of it go to ClickHouse from now on. */
  exclude(id: bigint): void {
    const s = this.series.get(id);
    if (s) {
      this.held -= s.n - s.start;
      this.series.delete(id);
    }
    this.excluded.add(id);
  }

  /**
   * Samples of series `id` in `[mint, maxt]`, or undefined when the head cannot answer (the range starts
   * before what it holds, or the series is excluded).
   */
  read(id: bigint, mint: number, maxt: number): HeadRead | undefined {
    if (mint < this.from || this.excluded.has(id)) return undefined;
    const s = this.series.get(id);
    if (!s) return { t: new Float64Array(0), v: new Float64Array(0) };
    const lo = lowerBound(s.t, s.start, s.n, mint);
    let hi = lowerBound(s.t, lo, s.n, maxt);
    if (hi < s.n && s.t[hi] === maxt) hi++;
    return { t: s.t.slice(lo, hi), v: s.v.slice(lo, hi) };
  }

  /** Drops samples older than the window, once they are half a window past it. */
  trim(): void {
    const target = Math.floor(this.now() - this.windowMs);
    if (target - this.from < this.windowMs / 2) return;
    this.from = target;
    for (const [id, s] of this.series) {
      const lo = lowerBound(s.t, s.start, s.n, target);
      this.held -= lo - s.start;
      if (lo === s.n) this.series.delete(id);
      else s.start = lo;
    }
  }

  private push(id: bigint, t: number, v: number): void {
    let s = this.series.get(id);
    if (!s) {
      s = { t: new Float64Array(64), v: new Float64Array(64), start: 0, n: 0 };
      this.series.set(id, s);
    }
    if (s.n === s.t.length) {
      // Compact when the dropped head is most of the array, grow otherwise.
      const live = s.n - s.start;
      const cap = live * 2 > s.t.length ? s.t.length * 2 : s.t.length;
      const t = new Float64Array(cap);
      const nv = new Float64Array(cap);
      t.set(s.t.subarray(s.start, s.n));
      nv.set(s.v.subarray(s.start, s.n));
      s.t = t;
      s.v = nv;
      s.start = 0;
      s.n = live;
    }
    s.t[s.n] = t;
    s.v[s.n] = v;
    s.n++;
    this.held++;
  }
}

/** First index in `a[lo..hi)` (ascending) whose value is at least x. */
function lowerBound(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
