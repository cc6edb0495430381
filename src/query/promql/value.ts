/**
 * Evaluation-time values. The engine evaluates every node once over the whole step grid ("column at a time"),
 * so an instant vector is a set of series, each with one slot per step and a presence flag.
 */
import { labelsKey, type Labels } from '../../model/labels.ts';
import { EvalError } from './errors.ts';

/** The evaluation timestamps of a query or subquery: `ts[i] = start + i * step`. */
export interface Grid {
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly n: number;
  readonly ts: Float64Array;
}

/** One series of an instant vector across the grid; `has[i]` is 1 where the series has a value at step i. */
export interface StepSeries {
  labels: Labels;
  readonly vals: Float64Array;
  readonly has: Uint8Array;
  /** Timestamps of the underlying samples, only for plain selector results (used by `timestamp()`). */
  readonly sampleTs?: Float64Array;
}

export interface VectorValue {
  readonly kind: 'vector';
  series: StepSeries[];
}

export interface ScalarValue {
  readonly kind: 'scalar';
  readonly vals: Float64Array;
}

export interface StringValue {
  readonly kind: 'string';
  readonly value: string;
}

/** Raw samples of one series (stale markers removed). */
export interface RangeSeries {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/**
 * A range vector over the grid: at step i the window is `[ends[i] - rangeMs + lowerOffset, ends[i]]`, where
 * lowerOffset is 1 for Prometheus 3's left-open windows and 0 for Prometheus 2's closed ones.
 */
export interface MatrixValue {
  readonly kind: 'matrix';
  readonly series: RangeSeries[];
  readonly rangeMs: number;
  readonly lowerOffset: number;
  readonly ends: Float64Array;
}

export type Value = VectorValue | ScalarValue | StringValue | MatrixValue;

/** Builds a grid; `n` is 0 when end < start. */
export function makeGrid(start: number, end: number, step: number): Grid {
  const n = end < start ? 0 : Math.floor((end - start) / step) + 1;
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) ts[i] = start + i * step;
  return { start, end, step, n, ts };
}

const SLAB_SERIES = 256;

/**
 * Hands out zeroed per-series columns carved from larger buffers: allocating one small typed array per series
 * costs far more than the arithmetic for queries over thousands of series.
 */
export class SeriesAllocator {
  private vals = new Float64Array(0);
  private has = new Uint8Array(0);
  private used = 0;
  constructor(private readonly n: number) {}

  /** A fresh, empty series over n steps. */
  alloc(labels: Labels): StepSeries {
    const n = this.n;
    if (this.used + n > this.has.length) {
      this.vals = new Float64Array(n * SLAB_SERIES);
      this.has = new Uint8Array(n * SLAB_SERIES);
      this.used = 0;
    }
    const s = {
      labels,
      vals: this.vals.subarray(this.used, this.used + n),
      has: this.has.subarray(this.used, this.used + n),
    };
    this.used += n;
    return s;
  }
}

/** A fresh, empty series over n steps. */
export function newSeries(labels: Labels, n: number): StepSeries {
  return { labels, vals: new Float64Array(n), has: new Uint8Array(n) };
}

/** Number of present points, for sample accounting. */
export function countPoints(v: Value): number {
  switch (v.kind) {
    case 'scalar':
      return v.vals.length;
    case 'string':
      return 0;
    case 'matrix': {
      let c = 0;
      for (const s of v.series) c += s.t.length;
      return c;
    }
    case 'vector': {
      let c = 0;
      for (const s of v.series) {
        const h = s.has;
        for (let i = 0; i < h.length; i++) c += h[i]!;
      }
      return c;
    }
  }
}

/**
 * Merges series whose label sets became equal (e.g. after dropping `__name__`). They may coexist as long as
 * they never have a value at the same step; otherwise the result is ambiguous, which Prometheus rejects.
 */
export function mergeSameLabels(series: StepSeries[]): StepSeries[] {
  if (series.length < 2) return series;
  const byKey = new Map<string, StepSeries>();
  let merged = false;
  for (const s of series) {
    const key = labelsKey(s.labels);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, s);
      continue;
    }
    merged = true;
    const n = s.has.length;
    for (let i = 0; i < n; i++) {
      if (!s.has[i]) continue;
      if (prev.has[i]) throw new EvalError('vector cannot contain metrics with the same labelset');
      prev.has[i] = 1;
      prev.vals[i] = s.vals[i]!;
    }
  }
  return merged ? [...byKey.values()] : series;
}

/**
 * Rejects series that share a label set, whether or not they overlap in time. Prometheus checks the whole
 * result this way after unary minus and range-vector functions (other operations check per step).
 */
export function assertDistinctLabels(series: StepSeries[]): StepSeries[] {
  if (series.length < 2) return series;
  const seen = new Set<string>();
  for (const s of series) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new EvalError('vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
  return series;
}

/** Label sets compared like Prometheus' labels.Compare: pairwise by sorted name, then value. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  const l = Math.min(an.length, bn.length);
  for (let i = 0; i < l; i++) {
    const x = an[i]!;
    const y = bn[i]!;
    if (x !== y) return x < y ? -1 : 1;
    const xv = a[x]!;
    const yv = b[y]!;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return an.length - bn.length;
}
