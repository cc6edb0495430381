/**
 * Pushdown: range functions and instant selectors evaluated by ClickHouse next to the data, so that a few
 * values per series and step cross into JS instead of every sample (docs/storage.md, "Pushdown").
 *
 * - Segment reductions (rate, increase, delta, resets, changes and the `*_over_time` family): every series'
 *   samples are split into segments that belong to the same set of windows (windows overlap when the range is
 *   longer than the step), each segment is reduced in SQL with order-independent aggregates, and each window's
 *   value is combined here from its segments with the engine's arithmetic (src/store/rangefn.ts). Counter
 *   resets and value changes come from the per-sample flags the writer stores (schema.ts); a series with
 *   samples of unknown flags is handed back raw. Counts, minima, maxima, first and last values, resets, changes
 *   and rate/increase/delta are bit-identical to the engine's (rate/increase only differ when one segment holds
 *   two resets, whose corrections SQL adds in its own order); sums and averages add segment sums instead of
 *   samples, so they can differ in the last bits.
 * - irate and idelta use ClickHouse's `timeSeriesInstant*ToGrid` aggregates (windows `(end - range, end]`,
 *   repeated timestamps dropped, Prometheus's arithmetic). They do not treat NaN and infinite values as PromQL
 *   does, so series holding one are handed back raw.
 * - Instant selectors take, per series and step bucket, the newest sample (stale markers included), and carry it
 *   forward over empty buckets within the lookback.
 * - Rollups (rollups.ts), where every window is made of whole buckets, stand in for samples: their rows are
 *   segments like the others, read up to the rollup's progress and followed by samples after it.
 *
 * Segment rows are decoded as typed-array views over RowBinary (every column 8 bytes wide); this assumes a
 * little-endian machine, as RowBinary is.
 */
import { isStaleNaN } from '../../model/labels.ts';
import type { Matcher } from '../../model/matcher.ts';
import type {
  LastSelectParams,
  RangeFunction,
  RangeSelectParams,
  RangeSelection,
  SeriesData,
  StepGrid,
  StepValues,
} from '../interface.ts';
import { extrapolatedRate } from '../rangefn.ts';
import { FLAG_CHANGED, FLAG_REPEATED, FLAG_RESET, STALE_BITS_SQL } from './schema.ts';
import { rollupTable, type RollupManager } from './rollups.ts';
import type { IndexedSeries, SeriesIndex } from './series-index.ts';
import { deadlineSettings, type SqlTransport } from './transport.ts';

const NOT_STALE = `reinterpretAsUInt64(value) != ${STALE_BITS_SQL}`;
const TS_SETTINGS = { allow_experimental_time_series_aggregate_functions: 1 };

/**
 * ClickHouse aggregates for functions of the last two samples. Their value depends only on the samples in the
 * window, not its length, so a closed window `[end - r, end]` is the left-open `(end - r - 1, end]`
 * (timestamps are whole milliseconds).
 */
const GRID_FUNCTIONS: Partial<Record<RangeFunction, string>> = {
  irate: 'timeSeriesInstantRateToGrid',
  idelta: 'timeSeriesInstantDeltaToGrid',
};

/** What a function needs from a segment (its count is always read). */
interface SegmentNeeds {
  readonly sum?: boolean;
  readonly minMax?: boolean;
  readonly first?: boolean;
  readonly last?: boolean;
  /** Resets, changes and reset corrections from the sample flags. */
  readonly counter?: boolean;
}

const SEGMENT_FUNCTIONS: Partial<Record<RangeFunction, SegmentNeeds>> = {
  rate: { first: true, last: true, counter: true },
  increase: { first: true, last: true, counter: true },
  delta: { first: true, last: true },
  resets: { counter: true },
  changes: { counter: true },
  count_over_time: {},
  present_over_time: {},
  sum_over_time: { sum: true },
  avg_over_time: { sum: true },
  min_over_time: { minMax: true },
  max_over_time: { minMax: true },
  last_over_time: { last: true },
  first_over_time: { first: true },
  ts_of_last_over_time: { last: true },
  ts_of_first_over_time: { first: true },
};

/** What the pushdown needs from the querier it serves. */
export interface PushdownContext {
  readonly sql: SqlTransport;
  readonly db: string;
  readonly index: SeriesIndex;
  /** Estimated samples per series and step below which raw samples are read instead; 0 always pushes down. */
  readonly minSamplesPerStep: number;
  /** Series ids per query. */
  readonly maxIds: number;
  /** Ready rollups (resolutions coarsest first, progress, ranges awaiting repair); none without. */
  readonly rollups: RollupManager | undefined;
  /** Raw samples of these series (ordered by labels) in `[mint, maxt]`, as `select` returns them. */
  readRaw(
    series: IndexedSeries[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
    deadline?: number,
  ): Promise<SeriesData[]>;
  /** Called between queries: throws when the caller gave up. */
  checkAborted(signal?: AbortSignal): void;
}

/** Steps that need computing: with step 0 every step has the same window. */
function distinctSteps(g: StepGrid): number {
  return g.step === 0 ? Math.min(1, g.steps) : g.steps;
}

function lastEnd(g: StepGrid): number {
  return g.firstEnd + (distinctSteps(g) - 1) * g.step;
}

/**
 * Samples expected in `[mint, maxt]`: each series' samples spread evenly over its span, or at its recent interval
 * if that is denser (erring towards more samples only makes pushdown likelier, which is never much slower).
 */
export function estimateSamples(series: readonly IndexedSeries[], mint: number, maxt: number): number {
  let n = 0;
  for (const s of series) {
    if (s.samples <= 0) continue;
    const span = s.maxT - s.minT;
    if (span <= 0) {
      n += s.samples;
      continue;
    }
    const lo = Math.max(mint, s.minT);
    const hi = Math.min(maxt, s.maxT);
    if (hi < lo) continue;
    const even = (s.samples * (hi - lo + 1)) / (span + 1);
    const recent = s.recentInterval > 0 ? (hi - lo) / s.recentInterval + 1 : 0;
    n += Math.max(even, recent);
  }
  return n;
}

/** Whether reading these series' samples would ship at least `min` samples per series and step. */
function worthIt(
  ctx: PushdownContext,
  hit: readonly IndexedSeries[],
  g: StepGrid,
  mint: number,
  maxt: number,
) {
  if (ctx.minSamplesPerStep <= 0) return true;
  return estimateSamples(hit, mint, maxt) >= ctx.minSamplesPerStep * hit.length * distinctSteps(g);
}

const lit = (n: number) => String(Math.round(n));

/** SQL for a millisecond count as a ClickHouse decimal of seconds (exact: whole milliseconds). */
function seconds(ms: number): string {
  return `toDecimal64('${(Math.round(ms) / 1000).toFixed(3)}', 3)`;
}

/**
 * SQL for the first window index containing the sample at `ts` (windows end at `e0 + i * step`): the bucket
 * `(e_{i-1}, e_i]` it falls in, 0 for samples at or before the first end.
 */
function firstWindowSql(g: StepGrid, ts = 'ts'): string {
  if (g.step === 0) return 'toInt32(0)';
  return `toInt32(if(${ts} <= ${lit(g.firstEnd)}, 0, intDiv(${ts} - (${lit(g.firstEnd - g.step + 1)}), ${lit(g.step)})))`;
}

/** SQL for the last window index containing `ts` (before clamping to the grid). */
function lastWindowSql(g: StepGrid, rangeMs: number, leftOpen: boolean, ts = 'ts'): string {
  if (g.step === 0) return 'toInt32(0)';
  // Left-open: e_i - r < ts, so i <= (ts + r - e0 - 1) / step; closed: e_i - r <= ts, so i <= (ts + r - e0) / step.
  // The numerator is never negative: samples are read from the first window's start on.
  const base = g.firstEnd - rangeMs + (leftOpen ? 1 : 0);
  return `toInt32(least(intDiv(${ts} - (${lit(base)}), ${lit(g.step)}), ${distinctSteps(g) - 1}))`;
}

/**
 * A rollup resolution that answers these windows exactly: windows made of whole buckets (left-open, their ends
 * and length multiples of the resolution). The coarsest one: a bucket row never outnumbers the samples in it.
 */
function rollupFor(
  ctx: PushdownContext,
  g: StepGrid,
  rangeMs: number | undefined,
  mint: number,
): number | undefined {
  for (const r of ctx.rollups?.resolutions ?? []) {
    if (rangeMs !== undefined && rangeMs % r !== 0) continue;
    if (!ctx.rollups!.covers(r, mint)) continue;
    if (mod(g.firstEnd, r) !== 0 || (g.step !== 0 && g.step % r !== 0)) continue;
    return r;
  }
  return undefined;
}

/**
 * How a chunk of series is read with a rollup: buckets up to the rollup's progress from it, samples after that
 * from `samples`; series with samples awaiting a rollup repair entirely from `samples`.
 */
async function rollupSplit(
  ctx: PushdownContext,
  r: number,
  part: readonly IndexedSeries[],
  mint: number,
  maxt: number,
): Promise<{ split: number; rolled: IndexedSeries[]; rest: IndexedSeries[] }> {
  const split = Math.min(maxt, await ctx.rollups!.progress(r));
  const rolled: IndexedSeries[] = [];
  const rest: IndexedSeries[] = [];
  for (const s of part) (ctx.rollups!.isStale(s.id, mint, split) ? rest : rolled).push(s);
  return { split, rolled, rest };
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Sequential reader of a RowBinary result. */
class Reader {
  private readonly dv: DataView;
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get done(): boolean {
    return this.pos >= this.bytes.byteLength;
  }
  private lo = -1;
  private hi = -1;
  private last = 0n;
  /** A UInt64 series id. Rows of one series are adjacent, so a BigInt is only built when the id changes. */
  id(): bigint {
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (lo !== this.lo || hi !== this.hi) {
      this.lo = lo;
      this.hi = hi;
      this.last = (BigInt(hi) << 32n) | BigInt(lo);
    }
    return this.last;
  }
  f64(): number {
    const x = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }
  i32(): number {
    const x = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return x;
  }
  u8(): number {
    return this.bytes[this.pos++]!;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.bytes[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  }
}

/** Copies step 0 to every step when all steps share one window (`@` modifiers). */
function broadcast(v: StepValues, steps: number): StepValues {
  if (v.v.length === steps) return v;
  const out = {
    labels: v.labels,
    v: new Float64Array(steps).fill(v.v[0]!),
    has: new Uint8Array(steps).fill(v.has[0]!),
  };
  return v.sampleT ? { ...out, sampleT: new Float64Array(steps).fill(v.sampleT[0]!) } : out;
}

function broadcastCounts(c: Float64Array, steps: number): Float64Array {
  return c.length === steps ? c : new Float64Array(steps).fill(c[0] ?? 0);
}

/** `Querier.selectRange` for ClickHouse. */
export async function selectRange(
  ctx: PushdownContext,
  fn: RangeFunction,
  matchers: readonly Matcher[],
  p: RangeSelectParams,
): Promise<RangeSelection | undefined> {
  if (p.steps <= 0) return undefined;
  const grid = GRID_FUNCTIONS[fn];
  const segments = SEGMENT_FUNCTIONS[fn];
  let rangeMs = p.rangeMs;
  let leftOpen = p.leftOpen;
  if (grid && !leftOpen) {
    rangeMs += 1;
    leftOpen = true;
  }
  if (!grid && !segments) return undefined;
  const mint = p.firstEnd - rangeMs + (leftOpen ? 1 : 0);
  const maxt = lastEnd(p);
  const hit = ctx.index.selectSorted(matchers, mint, maxt);
  const rollupMs = segments && leftOpen ? rollupFor(ctx, p, rangeMs, mint) : undefined;
  if (rollupMs === undefined && !worthIt(ctx, hit, p, mint, maxt)) return undefined;
  const n = distinctSteps(p);
  const series: StepValues[] = [];
  const raw: SeriesData[] = [];
  const perStep = new Float64Array(n);
  // Series written out of order may hold repeated timestamps, which reads de-duplicate but SQL reductions would
  // count twice: the engine evaluates those.
  const unordered = hit.filter((s) => s.unorderedSince <= maxt);
  if (unordered.length) raw.push(...(await ctx.readRaw(unordered, mint, maxt, p.signal, p.deadline)));
  const ordered = unordered.length ? hit.filter((s) => s.unorderedSince > maxt) : hit;
  for (let i = 0; i < ordered.length; i += ctx.maxIds) {
    ctx.checkAborted(p.signal);
    const part = ordered.slice(i, i + ctx.maxIds);
    if (grid) {
      const bad = await gridChunk(ctx, grid, part, p, rangeMs, mint, maxt, series, perStep);
      if (bad.length) raw.push(...(await ctx.readRaw(bad, mint, maxt, p.signal, p.deadline)));
    } else {
      const bad = await segmentChunk(
        ctx,
        fn,
        segments!,
        part,
        p,
        leftOpen,
        mint,
        maxt,
        rollupMs,
        series,
        perStep,
      );
      if (bad.length) raw.push(...(await ctx.readRaw(bad, mint, maxt, p.signal, p.deadline)));
    }
  }
  return {
    series: series.map((s) => broadcast(s, p.steps)),
    raw,
    samplesPerStep: broadcastCounts(perStep, p.steps),
  };
}

/**
 * One chunk of series through a `timeSeries*ToGrid` aggregate. Appends results to `out` in label order and
 * returns the series that hold NaN or infinite values (their results are not PromQL's).
 */
async function gridChunk(
  ctx: PushdownContext,
  fnSql: string,
  part: IndexedSeries[],
  p: RangeSelectParams,
  rangeMs: number,
  mint: number,
  maxt: number,
  out: StepValues[],
  perStep: Float64Array,
): Promise<IndexedSeries[]> {
  const n = distinctSteps(p);
  const stepMs = p.step === 0 ? 1000 : p.step;
  const ia = firstWindowSql(p);
  const ib = lastWindowSql(p, rangeMs, true);
  // Per series: its sample count, how many are not finite, the difference of histograms of first and last+1
  // window indexes (prefix sums give the samples in each window), and the function on the grid.
  const sql = `SELECT series_id, toFloat64(count()), toFloat64(countIf(NOT isFinite(value))),
      arrayMap((a, b) -> toInt32(toInt64(a) - toInt64(b)), countResample(0, ${n}, 1)(ia), countResample(0, ${n}, 1)(ib + 1)),
      ${fnSql}(fromUnixTimestamp64Milli(toInt64(${lit(p.firstEnd)})), fromUnixTimestamp64Milli(toInt64(${lit(maxt)})),
        ${seconds(stepMs)}, ${seconds(rangeMs)})(fromUnixTimestamp64Milli(ts), value)
    FROM (
      SELECT series_id, ts, value, ${ia} AS ia, ${ib} AS ib FROM ${ctx.db}.samples
      WHERE series_id IN (${part.map((s) => s.idStr).join(',')}) AND ts >= ${lit(mint)} AND ts <= ${lit(maxt)}
        AND ${NOT_STALE}
    )
    WHERE ia <= ib
    GROUP BY series_id`;
  const r = new Reader(
    await ctx.sql.queryRowBinary(sql, p.signal, { ...deadlineSettings(p.deadline), ...TS_SETTINGS }),
  );
  const byId = new Map<bigint, StepValues>();
  const bad = new Set<bigint>();
  const counts = new Float64Array(n);
  while (!r.done) {
    const id = r.id();
    r.f64();
    const nonFinite = r.f64();
    const dl = r.varint();
    let c = 0;
    for (let i = 0; i < dl; i++) {
      c += r.i32();
      counts[i] = c;
    }
    const len = r.varint();
    const v = new Float64Array(n);
    const has = new Uint8Array(n);
    for (let i = 0; i < len; i++) {
      if (r.u8()) continue;
      v[i] = r.f64();
      has[i] = 1;
    }
    if (nonFinite > 0) {
      bad.add(id);
      continue;
    }
    for (let i = 0; i < n; i++) perStep[i] = perStep[i]! + counts[i]!;
    byId.set(id, { labels: ctx.index.getById(id)?.labels ?? {}, v, has });
  }
  for (const s of part) {
    const d = byId.get(s.id);
    if (d) out.push(d);
  }
  return part.filter((s) => bad.has(s.id));
}

/**
 * Flags refer to the pair (previous sample, this one). A window leaves out its first sample's pair, so segments
 * also report the flags and reset correction of their first sample.
 */
const KNOWN = `flags < ${FLAG_REPEATED}`;

/**
 * SQL reducing the samples of every (series, segment) to one row: series_id, ia, ib, the segment's first
 * sample time, its count, then what `need` asks for (see `decodeSegments`). Rows come in no particular order.
 */
function rawSegmentsSql(
  db: string,
  need: SegmentNeeds,
  p: RangeSelectParams,
  leftOpen: boolean,
  ids: string,
  mint: number,
  maxt: number,
): string {
  const cols = ['toFloat64(min(ts))', 'toFloat64(count())'];
  if (need.sum) cols.push('sum(value)');
  if (need.minMax)
    cols.push(
      'toFloat64(countIf(NOT isNaN(value)))',
      'minIf(value, NOT isNaN(value))',
      'maxIf(value, NOT isNaN(value))',
    );
  if (need.first) cols.push('argMin(value, ts)');
  if (need.last) cols.push('toFloat64(max(ts))', 'argMax(value, ts)');
  if (need.counter)
    cols.push(
      `toFloat64(countIf(NOT (${KNOWN})))`,
      `toFloat64(countIf(${KNOWN} AND bitAnd(flags, ${FLAG_RESET}) != 0))`,
      `toFloat64(countIf(${KNOWN} AND bitAnd(flags, ${FLAG_CHANGED}) != 0))`,
      `sumIf(reset_prev, ${KNOWN})`,
      'toFloat64(argMin(flags, ts))',
      'argMin(reset_prev, ts)',
    );
  return `SELECT series_id, ia, ib, ${cols.join(', ')}
    FROM (
      SELECT series_id, ts, value, ${need.counter ? 'flags, reset_prev, ' : ''}${firstWindowSql(p)} AS ia,
        ${lastWindowSql(p, p.rangeMs, leftOpen)} AS ib
      FROM ${db}.samples
      WHERE series_id IN (${ids}) AND ts >= ${lit(mint)} AND ts <= ${lit(maxt)} AND ${NOT_STALE}
    )
    WHERE ia <= ib
    GROUP BY series_id, ia, ib`;
}

/**
 * The same columns from a rollup table, one row per stored row: every bucket lies wholly inside or outside each
 * window, and rows of one bucket not merged yet (written by different inserts) cover disjoint spans of time,
 * so each is a segment of its own.
 */
function rollupSegmentsSql(
  db: string,
  need: SegmentNeeds,
  p: RangeSelectParams,
  r: number,
  ids: string,
  mint: number,
  maxt: number,
): string {
  const cols = ['toFloat64(first.1)', 'toFloat64(count)'];
  if (need.sum) cols.push('sum');
  if (need.minMax) cols.push('toFloat64(numbers)', 'min', 'max');
  if (need.first) cols.push('first.2');
  if (need.last) cols.push('toFloat64(last.1)', 'last.2');
  if (need.counter)
    cols.push(
      'toFloat64(unknown)',
      'toFloat64(resets)',
      'toFloat64(changes)',
      'corrections',
      'toFloat64(head.2)',
      'head.3',
    );
  return `SELECT series_id, ${firstWindowSql(p, 'bucket')} AS ia,
      ${lastWindowSql(p, p.rangeMs, true, `bucket - ${r - 1}`)} AS ib, ${cols.join(', ')}
    FROM ${rollupTable(db, r)}
    WHERE series_id IN (${ids}) AND bucket >= ${lit(mint + r - 1)} AND bucket <= ${lit(maxt)} AND count > 0
      AND ia <= ib`;
}

/**
 * Where each column sits in a segment row, in 8-byte words: every column is 8 bytes wide (the window indexes
 * two Int32 in one word), so rows decode as typed-array views without per-field parsing.
 */
interface SegmentLayout {
  readonly words: number;
  readonly sum: number;
  readonly minMax: number;
  readonly firstV: number;
  readonly last: number;
  readonly counter: number;
}

function segmentLayout(need: SegmentNeeds): SegmentLayout {
  // 0: series id, 1: ia and ib, 2: first sample time, 3: count.
  let w = 4;
  const at = (on: boolean | undefined, width: number) => {
    if (!on) return -1;
    const o = w;
    w += width;
    return o;
  };
  const sum = at(need.sum, 1);
  const minMax = at(need.minMax, 3);
  const firstV = at(need.first, 1);
  const last = at(need.last, 2);
  const counter = at(need.counter, 6);
  return { words: w, sum, minMax, firstV, last, counter };
}

/** Segment rows of one chunk of series, as 8-byte words (see SegmentLayout). */
interface Segments {
  readonly n: number;
  readonly layout: SegmentLayout;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  /** Index into the chunk's series of each row. */
  readonly series: Int32Array;
}

/** Decodes the RowBinary results of queries over the same chunk of series (all with the same layout). */
function decodeSegments(
  results: readonly Uint8Array[],
  need: SegmentNeeds,
  part: readonly IndexedSeries[],
): Segments {
  const layout = segmentLayout(need);
  const rowBytes = layout.words * 8;
  const total = results.reduce((a, r) => a + r.byteLength, 0);
  if (total % rowBytes !== 0)
    throw new Error(`internal error: ${total} bytes are not whole rows of ${rowBytes}`);
  // RowBinary rows of 8-byte columns are plain arrays of words: view a single aligned result as it is, copy
  // several (or a misaligned one) into one aligned buffer.
  let buf: ArrayBuffer;
  let base: number;
  const only = results.length === 1 ? results[0]! : undefined;
  if (only && only.byteOffset % 8 === 0 && only.buffer instanceof ArrayBuffer) {
    buf = only.buffer;
    base = only.byteOffset;
  } else {
    buf = new ArrayBuffer(total);
    base = 0;
    const bytes = new Uint8Array(buf);
    let o = 0;
    for (const r of results) {
      bytes.set(r, o);
      o += r.byteLength;
    }
  }
  const n = total / rowBytes;
  const u32 = new Uint32Array(buf, base, total / 4);
  // Series by the low half of their id (rarely shared), so that rows need no BigInt.
  const byLo = new Map<number, number[]>();
  part.forEach((s, k) => {
    const l = byLo.get(s.idLo);
    if (l) l.push(k);
    else byLo.set(s.idLo, [k]);
  });
  const series = new Int32Array(n);
  let lastLo = -1;
  let lastHi = -1;
  let lastIdx = -1;
  for (let k = 0; k < n; k++) {
    const w = k * layout.words * 2;
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    // Rows of one series mostly come together.
    if (lo !== lastLo || hi !== lastHi) {
      const cands = byLo.get(lo);
      const idx = cands?.find((c) => part[c]!.idHi === hi);
      if (idx === undefined) throw new Error('internal error: a segment row names a series not asked for');
      lastLo = lo;
      lastHi = hi;
      lastIdx = idx;
    }
    series[k] = lastIdx;
  }
  return {
    n,
    layout,
    f64: new Float64Array(buf, base, total / 8),
    i32: new Int32Array(buf, base, total / 4),
    series,
  };
}

/** Per-step accumulators of one series' windows. */
interface WindowAcc {
  count: Float64Array;
  /** Neumaier sum and compensation. */
  sum?: Float64Array;
  comp?: Float64Array;
  /** Samples that are not NaN, and their minimum and maximum. */
  numbers?: Float64Array;
  min?: Float64Array;
  max?: Float64Array;
  firstT?: Float64Array;
  firstV?: Float64Array;
  lastT?: Float64Array;
  lastV?: Float64Array;
  resets?: Float64Array;
  changes?: Float64Array;
  /** Reset corrections in time order, where there are any. */
  corrections?: (number[] | undefined)[];
  /** Samples of unknown flags (beyond windows' first samples): the series must be evaluated raw. */
  unknown?: boolean;
}

/**
 * One chunk of series through segment reductions; appends results to `out` in label order. Returns the series
 * to evaluate from raw samples: those with samples of unknown flags, and those whose sums are not finite
 * somewhere (the engine sums samples in order and, for averages, switches to an incremental mean before
 * overflowing, so only it can give their exact result).
 */
async function segmentChunk(
  ctx: PushdownContext,
  fn: RangeFunction,
  need: SegmentNeeds,
  part: IndexedSeries[],
  p: RangeSelectParams,
  leftOpen: boolean,
  mint: number,
  maxt: number,
  rollupMs: number | undefined,
  out: StepValues[],
  perStep: Float64Array,
): Promise<IndexedSeries[]> {
  const n = distinctSteps(p);
  const ids = (list: readonly IndexedSeries[]) => list.map((s) => s.idStr).join(',');
  const queries: string[] = [];
  if (rollupMs === undefined) queries.push(rawSegmentsSql(ctx.db, need, p, leftOpen, ids(part), mint, maxt));
  else {
    const { split, rolled, rest } = await rollupSplit(ctx, rollupMs, part, mint, maxt);
    if (rolled.length && split >= mint + rollupMs - 1)
      queries.push(rollupSegmentsSql(ctx.db, need, p, rollupMs, ids(rolled), mint, split));
    if (rolled.length && split < maxt)
      queries.push(rawSegmentsSql(ctx.db, need, p, leftOpen, ids(rolled), Math.max(mint, split + 1), maxt));
    if (rest.length) queries.push(rawSegmentsSql(ctx.db, need, p, leftOpen, ids(rest), mint, maxt));
  }
  const results: Uint8Array[] = [];
  for (const q of queries) {
    ctx.checkAborted(p.signal);
    results.push(await ctx.sql.queryRowBinary(q, p.signal, deadlineSettings(p.deadline)));
  }
  const seg = decodeSegments(results, need, part);
  // Rows of each series (grouped by a counting sort into one array: no array per series), then put in time order.
  const firstRow = new Int32Array(part.length + 1);
  for (let k = 0; k < seg.n; k++) firstRow[seg.series[k]! + 1]!++;
  for (let i = 0; i < part.length; i++) firstRow[i + 1] = firstRow[i + 1]! + firstRow[i]!;
  const grouped = new Int32Array(seg.n);
  const fill = firstRow.slice(0, part.length);
  for (let k = 0; k < seg.n; k++) grouped[fill[seg.series[k]!]!++] = k;
  const W = seg.layout.words;
  const before = (x: number, y: number) =>
    seg.i32[x * W * 2 + 2]! - seg.i32[y * W * 2 + 2]! ||
    seg.i32[x * W * 2 + 3]! - seg.i32[y * W * 2 + 3]! ||
    seg.f64[x * W + 2]! - seg.f64[y * W + 2]!;
  const bad: IndexedSeries[] = [];
  part.forEach((s, idx) => {
    const rows = grouped.subarray(firstRow[idx]!, firstRow[idx + 1]!);
    if (!rows.length) return;
    for (let j = 1; j < rows.length; j++)
      if (before(rows[j - 1]!, rows[j]!) > 0) {
        rows.sort(before);
        break;
      }
    const a = accumulate(seg, rows, need, n);
    if (a.unknown || (a.sum && !a.sum.every(Number.isFinite))) {
      bad.push(s);
      return;
    }
    const v = new Float64Array(n);
    const has = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = a.count[i]!;
      if (c === 0) continue;
      perStep[i] = perStep[i]! + c;
      const x = finish(fn, a, i, c, p.firstEnd + i * p.step, p.rangeMs, !p.leftOpen);
      if (x === undefined) continue;
      has[i] = 1;
      v[i] = x;
    }
    out.push({ labels: s.labels, v, has });
  });
  return bad;
}

/** Adds one series' segments (in time order) to the windows each belongs to. */
function accumulate(seg: Segments, rows: Int32Array, need: SegmentNeeds, n: number): WindowAcc {
  const a: WindowAcc = { count: new Float64Array(n) };
  if (need.sum) {
    a.sum = new Float64Array(n);
    a.comp = new Float64Array(n);
  }
  if (need.minMax) {
    a.numbers = new Float64Array(n);
    a.min = new Float64Array(n).fill(NaN);
    a.max = new Float64Array(n).fill(NaN);
  }
  if (need.first) {
    a.firstT = new Float64Array(n).fill(Infinity);
    a.firstV = new Float64Array(n);
  }
  if (need.last) {
    a.lastT = new Float64Array(n).fill(-Infinity);
    a.lastV = new Float64Array(n);
  }
  if (need.counter) {
    a.resets = new Float64Array(n);
    a.changes = new Float64Array(n);
    a.corrections = new Array<number[] | undefined>(n);
  }
  const { f64, i32, layout: L } = seg;
  const W = L.words;
  for (const k of rows) {
    const w = k * W;
    const start = f64[w + 2]!;
    const count = f64[w + 3]!;
    let unknown = 0;
    let resets = 0;
    let changes = 0;
    let corr = 0;
    let tailUnknown = 0;
    let tailResets = 0;
    let tailChanges = 0;
    let tailCorr = 0;
    if (L.counter >= 0) {
      const c = w + L.counter;
      unknown = f64[c]!;
      resets = f64[c + 1]!;
      changes = f64[c + 2]!;
      corr = f64[c + 3]!;
      // Without the first sample's pair, for a window's first segment.
      const headFlags = f64[c + 4]!;
      const headKnown = headFlags < FLAG_REPEATED;
      const headReset = headKnown && (headFlags & FLAG_RESET) !== 0;
      tailUnknown = unknown - (headKnown ? 0 : 1);
      tailResets = resets - (headReset ? 1 : 0);
      tailChanges = changes - (headKnown && (headFlags & FLAG_CHANGED) !== 0 ? 1 : 0);
      // One reset: its correction exactly; more: their SQL sum less the first's (exact for whole numbers).
      tailCorr = tailResets === 0 ? 0 : headReset ? corr - f64[c + 5]! : corr;
    }
    const ia = i32[w * 2 + 2]!;
    const ib = i32[w * 2 + 3]!;
    for (let i = ia; i <= ib; i++) {
      if (a.resets) {
        const head = a.count[i] === 0;
        const r = head ? tailResets : resets;
        if ((head ? tailUnknown : unknown) > 0) a.unknown = true;
        a.resets[i] = a.resets[i]! + r;
        a.changes![i] = a.changes![i]! + (head ? tailChanges : changes);
        if (r > 0) (a.corrections![i] ??= []).push(head ? tailCorr : corr);
      }
      a.count[i] = a.count[i]! + count;
      if (a.sum) {
        const x = f64[w + L.sum]!;
        const s = a.sum[i]!;
        const t = s + x;
        if (t === Infinity || t === -Infinity) a.comp![i] = 0;
        else if (Math.abs(s) >= Math.abs(x)) a.comp![i] = a.comp![i]! + (s - t + x);
        else a.comp![i] = a.comp![i]! + (x - t + s);
        a.sum[i] = t;
      }
      if (a.numbers) {
        const numbers = f64[w + L.minMax]!;
        if (numbers > 0) {
          const mn = f64[w + L.minMax + 1]!;
          const mx = f64[w + L.minMax + 2]!;
          if (a.numbers[i] === 0 || mn < a.min![i]!) a.min![i] = mn;
          if (a.numbers[i] === 0 || mx > a.max![i]!) a.max![i] = mx;
          a.numbers[i] = a.numbers[i]! + numbers;
        }
      }
      if (a.firstT && start < a.firstT[i]!) {
        a.firstT[i] = start;
        a.firstV![i] = f64[w + L.firstV]!;
      }
      if (a.lastT) {
        const lastT = f64[w + L.last]!;
        if (lastT > a.lastT[i]!) {
          a.lastT[i] = lastT;
          a.lastV![i] = f64[w + L.last + 1]!;
        }
      }
    }
  }
  return a;
}

/** A window's value from its accumulated segments, as the engine computes it from samples. */
function finish(
  fn: RangeFunction,
  a: WindowAcc,
  i: number,
  count: number,
  end: number,
  rangeMs: number,
  legacy: boolean,
): number | undefined {
  switch (fn) {
    case 'rate':
    case 'increase':
    case 'delta': {
      if (count < 2) return undefined;
      let result = a.lastV![i]! - a.firstV![i]!;
      if (fn !== 'delta') for (const c of a.corrections![i] ?? []) result += c;
      const isCounter = fn !== 'delta';
      const firstT = a.firstT![i]!;
      return extrapolatedRate(
        result,
        count,
        firstT,
        a.lastT![i]!,
        a.firstV![i]!,
        end,
        rangeMs,
        isCounter,
        fn === 'rate',
        legacy,
      );
    }
    case 'resets':
      return a.resets![i]!;
    case 'changes':
      return a.changes![i]!;
    case 'count_over_time':
      return count;
    case 'present_over_time':
      return 1;
    case 'sum_over_time': {
      const s = a.sum![i]!;
      return Number.isFinite(s) ? s + a.comp![i]! : s;
    }
    case 'avg_over_time': {
      const s = a.sum![i]!;
      return (Number.isFinite(s) ? s + a.comp![i]! : s) / count;
    }
    case 'min_over_time':
      return a.numbers![i]! > 0 ? a.min![i]! : NaN;
    case 'max_over_time':
      return a.numbers![i]! > 0 ? a.max![i]! : NaN;
    case 'last_over_time':
      return a.lastV![i]!;
    case 'first_over_time':
      return a.firstV![i]!;
    case 'ts_of_last_over_time':
      return a.lastT![i]! / 1000;
    case 'ts_of_first_over_time':
      return a.firstT![i]! / 1000;
    default:
      throw new Error(`internal error: ${fn} is not a segment reduction`);
  }
}

/** `Querier.selectLast` for ClickHouse. */
export async function selectLast(
  ctx: PushdownContext,
  matchers: readonly Matcher[],
  p: LastSelectParams,
): Promise<StepValues[] | undefined> {
  if (p.steps <= 0) return undefined;
  const n = distinctSteps(p);
  const mint = p.firstEnd - p.lookbackMs;
  const maxt = lastEnd(p);
  const hit = ctx.index.selectSorted(matchers, mint, maxt);
  // Rollups answer when every step ends on a bucket boundary: the newest sample of a bucket is what is needed.
  const rollupMs = rollupFor(ctx, p, undefined, mint);
  if (rollupMs === undefined && !worthIt(ctx, hit, p, mint, maxt)) return undefined;
  const out: StepValues[] = [];
  const ids = (list: readonly IndexedSeries[]) => list.map((s) => s.idStr).join(',');
  // The newest sample of each step bucket (e_{i-1}, e_i], stale markers included: a stale marker hides the
  // series exactly when it is the newest sample in the lookback.
  const fromSamples = (
    list: readonly IndexedSeries[],
    lo: number,
  ) => `SELECT series_id, ia, toFloat64(max(ts)), argMax(value, ts)
      FROM (
        SELECT series_id, ts, value, ${firstWindowSql(p)} AS ia FROM ${ctx.db}.samples
        WHERE series_id IN (${ids(list)}) AND ts >= ${lit(lo)} AND ts <= ${lit(maxt)}
      )
      GROUP BY series_id, ia`;
  const fromRollup = (r: number, list: readonly IndexedSeries[], hi: number) => `SELECT series_id, ia,
        toFloat64(greatest(l.1, st)), if(st > l.1, reinterpretAsFloat64(toUInt64(${STALE_BITS_SQL})), l.2)
      FROM (
        SELECT series_id, ${firstWindowSql(p, 'bucket')} AS ia, max(last) AS l, max(stale_t) AS st
        FROM ${rollupTable(ctx.db, r)}
        WHERE series_id IN (${ids(list)}) AND bucket >= ${lit(mint)} AND bucket <= ${lit(hi)}
        GROUP BY series_id, ia
      )`;
  for (let c = 0; c < hit.length; c += ctx.maxIds) {
    ctx.checkAborted(p.signal);
    const part = hit.slice(c, c + ctx.maxIds);
    const queries: string[] = [];
    if (rollupMs === undefined) queries.push(fromSamples(part, mint));
    else {
      const { split, rolled, rest } = await rollupSplit(ctx, rollupMs, part, mint, maxt);
      if (rolled.length && split >= mint) queries.push(fromRollup(rollupMs, rolled, split));
      if (rolled.length && split < maxt) queries.push(fromSamples(rolled, Math.max(mint, split + 1)));
      if (rest.length) queries.push(fromSamples(rest, mint));
    }
    const rows = new Map<IndexedSeries, { ia: number; t: number; v: number }[]>();
    for (const q of queries) {
      ctx.checkAborted(p.signal);
      const r = new Reader(await ctx.sql.queryRowBinary(q, p.signal, deadlineSettings(p.deadline)));
      while (!r.done) {
        const s = ctx.index.getById(r.id());
        const row = { ia: r.i32(), t: r.f64(), v: r.f64() };
        if (!s) continue;
        const list = rows.get(s);
        if (list) list.push(row);
        else rows.set(s, [row]);
      }
    }
    for (const s of part) {
      const list = rows.get(s);
      if (!list) continue;
      list.sort((a, b) => a.ia - b.ia || a.t - b.t);
      const v = new Float64Array(n);
      const has = new Uint8Array(n);
      const t = new Float64Array(n);
      let any = false;
      // Each step sees the newest sample up to its end, if within the lookback and not a stale marker.
      let k = -1;
      for (let i = 0; i < n; i++) {
        while (k + 1 < list.length && list[k + 1]!.ia <= i) k++;
        if (k < 0) continue;
        const row = list[k]!;
        const end = p.firstEnd + i * p.step;
        if (row.t < end - p.lookbackMs) continue;
        if (row.v !== row.v && isStaleNaN(row.v)) continue;
        v[i] = row.v;
        t[i] = row.t;
        has[i] = 1;
        any = true;
      }
      if (any) out.push(broadcast({ labels: s.labels, v, has, sampleT: t }, p.steps));
    }
  }
  return out;
}
