/**
 * The read path: series selection from the in-memory index, samples from ClickHouse in one RowBinary query
 * per select (24 bytes a row, floats bit-exact so stale markers survive), grouped into typed arrays.
 */
import type { Matcher } from '../../model/matcher.ts';
import type { Labels } from '../../model/labels.ts';
import type {
  LastSelectParams,
  Querier,
  RangeFunction,
  RangeSelectParams,
  RangeSelection,
  SelectHints,
  SeriesData,
  StepValues,
} from '../interface.ts';
import type { IndexedSeries, SeriesIndex } from './series-index.ts';
import type { RollupManager } from './rollups.ts';
import type { SampleHead } from './head.ts';
import { selectLast, selectRange, type PushdownContext } from './storage.pushdown.ts';
import { deadlineSettings, TransportError, type SqlTransport } from './transport.ts';

/** Series ids per sample query; larger selections are read in chunks to keep the SQL text bounded. */
const MAX_IDS_IN_SQL = 20_000;

function byKey(a: IndexedSeries, b: IndexedSeries): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Thrown when a read is abandoned because its caller's signal fired. */
export class ReadAbortedError extends TransportError {
  override name = 'ReadAbortedError';
}

/**
 * A RowBinary result of 8-byte columns as Float64 and Uint32 views: the result itself when it is 8-byte
 * aligned (chDB's usually is), else a copy. RowBinary is little-endian, like every machine Vigil runs on.
 */
function alignedWords(bytes: Uint8Array): { f64: Float64Array; u32: Uint32Array } {
  // Whole words only: callers check that the rows are whole.
  const len = bytes.byteLength - (bytes.byteLength % 8);
  let buf: ArrayBufferLike = bytes.buffer;
  let off = bytes.byteOffset;
  if (off % 8 !== 0) {
    const copy = new Uint8Array(len);
    copy.set(bytes.subarray(0, len));
    buf = copy.buffer;
    off = 0;
  }
  return {
    f64: new Float64Array(buf, off, len / 8),
    u32: new Uint32Array(buf, off, len / 4),
  };
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted)
    throw new ReadAbortedError('read abandoned: the query was cancelled', { cause: signal.reason });
}

export class ClickHouseQuerier implements Querier {
  private readonly pushdown: PushdownContext;

  constructor(
    private readonly sql: SqlTransport,
    private readonly db: string,
    private readonly index: SeriesIndex,
    readonly mint: number,
    readonly maxt: number,
    minSamplesPerStep = 3,
    rollups?: RollupManager,
    private readonly head?: SampleHead,
  ) {
    this.pushdown = {
      sql,
      db,
      index,
      minSamplesPerStep,
      rollups,
      maxIds: MAX_IDS_IN_SQL,
      readRaw: (series, lo, hi, signal, deadline) => this.read(series, lo, hi, signal, deadline),
      checkAborted,
    };
  }

  async select(matchers: readonly Matcher[], hints?: SelectHints): Promise<SeriesData[]> {
    const hit = this.index.selectSorted(matchers, this.mint, this.maxt);
    if (!hit.length) return [];
    if (hints?.labelsOnly)
      return hit.map((s) => ({ labels: s.labels, t: new Float64Array(0), v: new Float64Array(0) }));
    return this.read(hit, this.mint, this.maxt, hints?.signal, hints?.deadline);
  }

  selectRange(
    fn: RangeFunction,
    matchers: readonly Matcher[],
    params: RangeSelectParams,
  ): Promise<RangeSelection | undefined> {
    return selectRange(this.pushdown, fn, matchers, params);
  }

  selectLast(matchers: readonly Matcher[], params: LastSelectParams): Promise<StepValues[] | undefined> {
    return selectLast(this.pushdown, matchers, params);
  }

  /**
   * Samples of these series (ordered by labels) in `[mint, maxt]`: from the head where it holds them, else one
   * query per chunk of series.
   */
  private async read(
    series: IndexedSeries[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
    deadline?: number,
  ): Promise<SeriesData[]> {
    const lo = Math.ceil(mint);
    const hi = Math.floor(maxt);
    if (this.head && lo >= this.head.coveredFrom) {
      const fromHead = new Map<IndexedSeries, SeriesData>();
      const rest: IndexedSeries[] = [];
      for (const s of series) {
        const r = this.head.read(s.id, lo, hi);
        if (!r) rest.push(s);
        else if (r.t.length) fromHead.set(s, { labels: s.labels, t: r.t, v: r.v });
      }
      if (!rest.length) return series.flatMap((s) => fromHead.get(s) ?? []);
      const read = new Map<IndexedSeries, SeriesData>();
      const data = await this.readChunks(rest, mint, maxt, signal, deadline);
      // Both lists follow `series`' order; merge them back into it.
      let k = 0;
      for (const s of rest) if (k < data.length && data[k]!.labels === s.labels) read.set(s, data[k++]!);
      return series.flatMap((s) => fromHead.get(s) ?? read.get(s) ?? []);
    }
    return this.readChunks(series, mint, maxt, signal, deadline);
  }

  private async readChunks(
    series: IndexedSeries[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
    deadline?: number,
  ): Promise<SeriesData[]> {
    const out: SeriesData[] = [];
    for (let i = 0; i < series.length; i += MAX_IDS_IN_SQL) {
      checkAborted(signal);
      await this.readInto(
        series.slice(i, i + MAX_IDS_IN_SQL),
        out,
        Math.ceil(mint),
        Math.floor(maxt),
        signal,
        deadline,
      );
    }
    return out;
  }

  private async readInto(
    part: IndexedSeries[],
    out: SeriesData[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
    deadline?: number,
  ): Promise<void> {
    // Times as Float64 (exact for every millisecond time below 2^53), so that each row is three 8-byte words
    // read through typed-array views instead of per-field DataView calls.
    const bytes = await this.sql.queryRowBinary(
      `SELECT series_id, toFloat64(ts), value FROM ${this.db}.samples
       WHERE series_id IN (${part.map((s) => s.idStr).join(',')}) AND ts >= ${mint} AND ts <= ${maxt}
       ORDER BY series_id, ts`,
      signal,
      deadlineSettings(deadline),
    );
    if (bytes.byteLength % 24 !== 0)
      throw new TransportError(
        `internal error: a sample read returned ${bytes.byteLength} bytes, not whole rows`,
      );
    const { f64, u32 } = alignedWords(bytes);
    const rows = f64.length / 3;
    // All series' times and values share two buffers; each series gets views of its stretch.
    const allT = new Float64Array(rows);
    const allV = new Float64Array(rows);
    const byId = new Map<bigint, SeriesData>();
    // Ids are compared as 32-bit halves: a BigInt per row made reads several times slower.
    let i = 0;
    let w = 0;
    while (i < rows) {
      const lo = u32[i * 6]!;
      const hi = u32[i * 6 + 1]!;
      let j = i + 1;
      while (j < rows && u32[j * 6] === lo && u32[j * 6 + 1] === hi) j++;
      // Duplicate timestamps (a retried write) keep one sample.
      const start = w;
      for (let k = i; k < j; k++) {
        const ts = f64[k * 3 + 1]!;
        if (w > start && allT[w - 1] === ts) w--;
        allT[w] = ts;
        allV[w] = f64[k * 3 + 2]!;
        w++;
      }
      const id = (BigInt(hi) << 32n) | BigInt(lo);
      byId.set(id, {
        labels: this.index.getById(id)?.labels ?? {},
        t: allT.subarray(start, w),
        v: allV.subarray(start, w),
      });
      i = j;
    }
    for (const s of part) {
      const d = byId.get(s.id);
      if (d) out.push(d);
    }
  }

  private matching(sets: readonly (readonly Matcher[])[]): IndexedSeries[] {
    if (!sets.length) return this.index.select([], this.mint, this.maxt);
    if (sets.length === 1) return this.index.select(sets[0]!, this.mint, this.maxt);
    const seen = new Set<IndexedSeries>();
    for (const ms of sets) for (const s of this.index.select(ms, this.mint, this.maxt)) seen.add(s);
    return [...seen];
  }

  async series(sets: readonly (readonly Matcher[])[]): Promise<Labels[]> {
    return this.matching(sets)
      .sort(byKey)
      .map((s) => s.labels);
  }

  async labelNames(sets: readonly (readonly Matcher[])[]): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.matching(sets)) for (const n in s.labels) names.add(n);
    return [...names].sort();
  }

  async labelValues(name: string, sets: readonly (readonly Matcher[])[]): Promise<string[]> {
    const values = new Set<string>();
    for (const s of this.matching(sets)) {
      const v = s.labels[name];
      if (v !== undefined) values.add(v);
    }
    return [...values].sort();
  }
}
