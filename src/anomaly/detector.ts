/**
 * Streaming anomaly detection for one series: a robust, seasonal Holt-Winters-style model updated one sample
 * at a time, with time constants in seconds so irregular sample intervals are handled. Pure code, no I/O.
 *
 * Model: expected(t) = level (a line when there is no seasonality) + daily(time of day) + weekly(hour of
 * week). The seasonal profiles are bucketed (96 × 15 min, 168 × 1 h), read and updated with linear interpolation between bucket centres. Each
 * residual is winsorised at ±`clip`·σ before it updates the model, so one outlier moves it little, while a
 * lasting change still moves it (the scale grows too) and is learnt within a few time constants. σ is an
 * exponentially weighted mean absolute residual (winsorised at ±`scaleClip`·σ) turned into a normal-equivalent
 * standard deviation. See docs/anomaly.md for the method and the score mapping.
 */

const DAY = 86_400;
const WEEK = 7 * DAY;
/** E|X| = σ·√(2/π) for a normal X: turns a mean absolute deviation into σ. */
const MAD_TO_SIGMA = Math.sqrt(Math.PI / 2);

export type Seasonality = 'daily' | 'weekly';

/** Tunables. Times are in seconds. Every field has a default (DEFAULT_OPTIONS). */
export interface DetectorOptions {
  /** Which seasonal profiles to learn; empty for none. */
  readonly seasons: readonly Seasonality[];
  /** Treat the input as a monotonic counter: score its per-second rate; a drop is a reset, not an anomaly. */
  readonly counter: boolean;
  /**
   * Time constant of the level and trend: an exponentially weighted least-squares line through the
   * deseasonalised values, so a steady trend is followed without lag (from the start) and a change that is
   * fast against this time stands out.
   */
  readonly levelTau: number;
  /**
   * Follow a linear trend (true) or a level only. Default: only without seasonality. With seasonal profiles a
   * slow trend is followed by the profiles themselves, and a fitted slope picks up their day-to-day errors
   * and extrapolates them (measured in bench/anomaly.ts: more false alarms, fewer detections).
   */
  readonly trend: boolean;
  /** Memory of the seasonal profiles, in periods (each bucket remembers about this many visits). */
  readonly dailyMemory: number;
  readonly weeklyMemory: number;
  /** Time constant of the residual scale. */
  readonly scaleTau: number;
  /** Residuals are winsorised at ±clip·σ before they update level, trend and seasons. */
  readonly clip: number;
  /** Absolute residuals are winsorised at scaleClip·σ before they update the scale. */
  readonly scaleClip: number;
  /**
   * Time constant of the running mean of (winsorised) residuals: a shift or drift too small for any one sample
   * to stand out still moves this mean by more than noise would (an EWMA control chart).
   */
  readonly shiftTau: number;
  /** Time constant of the rate of residuals beyond 3σ, which widens the band for heavy-tailed noise. */
  readonly tailTau: number;
  /** Scores are 0 until this many samples (rates in counter mode) were seen ... */
  readonly warmupSamples: number;
  /** ... and this much time has passed since the first one (default: one day with daily seasonality). */
  readonly warmupSeconds: number;
  /** σ never goes below relativeFloor·|expected| nor absoluteFloor, so constant series keep a defined score. */
  readonly relativeFloor: number;
  readonly absoluteFloor: number;
}

export const DEFAULT_OPTIONS: DetectorOptions = {
  seasons: ['daily', 'weekly'],
  counter: false,
  levelTau: DAY,
  trend: true,
  dailyMemory: 7,
  weeklyMemory: 2,
  scaleTau: DAY,
  clip: 3,
  scaleClip: 3,
  tailTau: 3 * DAY,
  shiftTau: 3600,
  warmupSamples: 12,
  warmupSeconds: DAY,
  relativeFloor: 1e-3,
  absoluteFloor: 1e-9,
};

/** Number of scalar fields at the start of a saved state (see AnomalyDetector.saveState). */
const STATE_SCALARS = 15;

/** P(|X| > 3σ) for a normal X: the tail rate the band assumes before it has seen otherwise. */
const NORMAL_TAIL = 0.0027;
/** The band widens by √(tail rate / NORMAL_TAIL), at most MAX_TAIL_FACTOR times. */
const MAX_TAIL_FACTOR = 3;

/** z (residual in σ) where the score starts to rise above 0, and the width of its rise. */
const Z0 = 2;
const ZW = 2.5;
/** The score is 0.5 at this z; the bounds are expected ± Z_HALF·σ. */
export const Z_HALF = Z0 + ZW * Math.sqrt(Math.LN2);

/**
 * The running mean of residuals is autocorrelated and model error is not white, so its z is scaled down before
 * the same score mapping: it reaches 0.5 at about 2·Z_HALF standard errors.
 */
const SHIFT_Z_SCALE = 2;

/** Maps a residual in units of σ to [0, 1]: 0 up to 2σ, 0.5 at ≈4.1σ, 0.92 at 6σ, ≈1 beyond 8σ. */
export function scoreOfZ(z: number): number {
  const a = Math.abs(z);
  if (!(a > Z0)) return 0;
  const u = (a - Z0) / ZW;
  return 1 - Math.exp(-u * u);
}

/** One scored sample. In counter mode `value`, `expected`, `lower` and `upper` are per-second rates. */
export interface AnomalyPoint {
  /** Unix seconds. */
  readonly t: number;
  /** The value scored (the rate in counter mode; NaN when there is none yet, or at a reset). */
  readonly value: number;
  /** In [0, 1]; 0 while warming up, at a counter reset and for samples that cannot be scored. */
  readonly score: number;
  /** Expected value before this sample was seen, and the band where the score stays below 0.5. NaN until the first sample. */
  readonly expected: number;
  readonly lower: number;
  readonly upper: number;
  /** Why the sample was not learnt from, when it was not. */
  readonly note?: 'warmup' | 'counter-reset' | 'first-counter-sample' | 'out-of-order' | 'not-finite';
}

/**
 * The per-series state: a few numbers and two Float64Arrays (96 + 168 entries, about 2.1 KB; NaN marks a bucket
 * not seen yet). Not safe for concurrent use; feed samples in time order.
 */
export class AnomalyDetector {
  readonly options: DetectorOptions;
  private readonly daily: Float64Array | null;
  private readonly weekly: Float64Array | null;
  private n = 0;
  private t0 = NaN;
  private lastT = NaN;
  /**
   * Exponentially weighted sums for the level/trend line, with time measured from lastT: Σw, Σw·τ, Σw·y,
   * Σw·τ², Σw·τ·y.
   */
  private sw = 0;
  private st = 0;
  private sy = 0;
  private stt = 0;
  private sty = 0;
  private mad = 0;
  private tailRate = NORMAL_TAIL;
  private meanResidual = 0;
  private meanInterval = NaN;
  private lastDaily = 0;
  private prevCounter = NaN;
  private prevCounterT = NaN;

  constructor(options: Partial<DetectorOptions> = {}) {
    const seasons = options.seasons ?? DEFAULT_OPTIONS.seasons;
    const seasonal = seasons.length > 0;
    this.options = {
      ...DEFAULT_OPTIONS,
      warmupSeconds: seasonal ? DAY : 0,
      trend: !seasonal,
      ...options,
      seasons,
    };
    this.daily = seasons.includes('daily') ? new Float64Array(96).fill(NaN) : null;
    this.weekly = seasons.includes('weekly') ? new Float64Array(168).fill(NaN) : null;
  }

  /** Approximate bytes held by this detector (the typed arrays and the object's fields). */
  get approximateBytes(): number {
    return (
      160 + (this.daily ? this.daily.byteLength + 64 : 0) + (this.weekly ? this.weekly.byteLength + 64 : 0)
    );
  }

  /**
   * The learnt state as one array of doubles (NaN kept), for checkpoints: STATE_SCALARS numbers, then the daily
   * and weekly profiles when enabled. `loadState` on a detector with the same seasons restores it exactly.
   */
  saveState(): Float64Array {
    const out = new Float64Array(this.stateLength);
    out.set([
      this.n,
      this.t0,
      this.lastT,
      this.sw,
      this.st,
      this.sy,
      this.stt,
      this.sty,
      this.mad,
      this.tailRate,
      this.meanResidual,
      this.meanInterval,
      this.lastDaily,
      this.prevCounter,
      this.prevCounterT,
    ]);
    let at = STATE_SCALARS;
    if (this.daily) {
      out.set(this.daily, at);
      at += this.daily.length;
    }
    if (this.weekly) out.set(this.weekly, at);
    return out;
  }

  /** Length of `saveState()`'s array for this detector's seasons. */
  get stateLength(): number {
    return STATE_SCALARS + (this.daily?.length ?? 0) + (this.weekly?.length ?? 0);
  }

  /**
   * Restores a state saved by `saveState` of a detector with the same seasons. Returns false (and changes
   * nothing) when the array does not fit, for example after the rule's seasons changed.
   */
  loadState(s: Float64Array): boolean {
    if (s.length !== this.stateLength || !(s[0]! >= 0)) return false;
    [
      this.n,
      this.t0,
      this.lastT,
      this.sw,
      this.st,
      this.sy,
      this.stt,
      this.sty,
      this.mad,
      this.tailRate,
      this.meanResidual,
      this.meanInterval,
      this.lastDaily,
      this.prevCounter,
      this.prevCounterT,
    ] = Array.from(s.subarray(0, STATE_SCALARS));
    let at = STATE_SCALARS;
    if (this.daily) {
      this.daily.set(s.subarray(at, at + this.daily.length));
      at += this.daily.length;
    }
    if (this.weekly) this.weekly.set(s.subarray(at, at + this.weekly.length));
    return true;
  }

  /** Samples learnt from so far. */
  get samples(): number {
    return this.n;
  }

  /** Time (Unix seconds) of the last sample learnt from; NaN before the first. */
  get lastTime(): number {
    return this.lastT;
  }

  /** Scores the sample at `t` (Unix seconds) and then learns from it. */
  push(t: number, raw: number): AnomalyPoint {
    if (!Number.isFinite(t) || !Number.isFinite(raw)) return this.unscored(t, NaN, 'not-finite');
    if (t < this.lastT) return this.unscored(t, raw, 'out-of-order');
    if (!this.options.counter) return this.observe(t, raw);
    const prev = this.prevCounter;
    const prevT = this.prevCounterT;
    if (t === prevT) return this.unscored(t, NaN, 'out-of-order');
    this.prevCounter = raw;
    this.prevCounterT = t;
    if (Number.isNaN(prev)) return this.unscored(t, NaN, 'first-counter-sample');
    // A drop is a reset: the rate across it is unknown, so neither score nor learn from it.
    if (raw < prev) return this.unscored(t, NaN, 'counter-reset');
    return this.observe(t, (raw - prev) / (t - prevT));
  }

  private unscored(t: number, value: number, note: AnomalyPoint['note']): AnomalyPoint {
    const { expected, sigma } = this.forecast(t);
    const half = Z_HALF * sigma;
    return { t, value, score: 0, expected, lower: expected - half, upper: expected + half, note };
  }

  /** σ of the residuals, at least the floors. */
  private sigma(expected: number): number {
    const o = this.options;
    return Math.max(this.mad * MAD_TO_SIGMA, o.relativeFloor * Math.abs(expected), o.absoluteFloor);
  }

  /** How much wider than normal the tails of the residuals have been lately (1 for normal noise). */
  private tailFactor(): number {
    return Math.min(MAX_TAIL_FACTOR, Math.max(1, Math.sqrt(this.tailRate / NORMAL_TAIL)));
  }

  /** Expected value and σ at `t` from the state so far (NaN before the first sample). */
  forecast(t: number): { expected: number; sigma: number } {
    if (this.n === 0) return { expected: NaN, sigma: NaN };
    const dt = Math.max(0, t - this.lastT);
    const expected = this.levelAt(dt) + this.readDaily(t) + this.readWeekly(t);
    return { expected, sigma: this.sigma(expected) * this.tailFactor() };
  }

  /** The level dt seconds after the last sample; a gap is not extrapolated further than levelTau. */
  private levelAt(dt: number): number {
    const meanY = this.sy / this.sw;
    if (!this.options.trend) return meanY;
    const meanT = this.st / this.sw;
    const varT = this.stt / this.sw - meanT * meanT;
    // Too little spread in time for a slope (a few samples, or all at one time): the mean only.
    if (!(varT > 1e-6 * this.options.levelTau * this.options.levelTau)) return meanY;
    const slope = (this.sty / this.sw - meanT * meanY) / varT;
    return meanY + slope * (Math.min(dt, this.options.levelTau) - meanT);
  }

  /** Adds the deseasonalised value y at dt seconds after lastT to the level/trend sums. */
  private addToLine(dt: number, y: number): void {
    // Move the time origin to the new sample, then decay the old weights.
    this.stt = this.stt - 2 * dt * this.st + dt * dt * this.sw;
    this.sty = this.sty - dt * this.sy;
    this.st = this.st - dt * this.sw;
    const k = Math.exp(-dt / this.options.levelTau);
    this.sw = this.sw * k + 1;
    this.st *= k;
    this.sy = this.sy * k + y;
    this.stt *= k;
    this.sty *= k;
  }

  private observe(t: number, x: number): AnomalyPoint {
    const o = this.options;
    if (this.n === 0) {
      this.n = 1;
      this.t0 = t;
      this.lastT = t;
      this.addToLine(0, x);
      if (this.daily) this.updateSeason(this.daily, DAY, t, 0, 1);
      if (this.weekly) this.updateSeason(this.weekly, WEEK, t, 0, 1);
      return { t, value: x, score: 0, expected: NaN, lower: NaN, upper: NaN, note: 'warmup' };
    }
    const dt = t - this.lastT;
    const levelPred = this.levelAt(dt);
    const d = this.readDaily(t);
    const w = this.readWeekly(t);
    const expected = levelPred + d + w;
    const sigma = this.sigma(expected);
    const band = sigma * this.tailFactor();
    const r = x - expected;
    const warm = this.n >= o.warmupSamples && t - this.t0 >= o.warmupSeconds;
    if (dt > 0)
      this.meanInterval = Number.isNaN(this.meanInterval)
        ? dt
        : this.meanInterval + 0.05 * (dt - this.meanInterval);
    // Before the scale is known (few samples) nothing is winsorised.
    const scaleKnown = this.n >= Math.min(o.warmupSamples, 5);
    const e = scaleKnown ? Math.max(-o.clip * sigma, Math.min(o.clip * sigma, r)) : r;

    this.addToLine(dt, levelPred + e); // the deseasonalised value, winsorised
    // A profile's memory grows with the periods seen, up to its setting, and during its first two periods it
    // learns from the residual as it is: quick to learn the shape, then hard to sway by outliers.
    const age = t - this.t0;
    if (this.daily) {
      const memory = Math.min(o.dailyMemory, Math.max(1, age / DAY));
      const alpha = 1 - Math.exp(-dt / ((memory * DAY) / 96));
      this.updateSeason(this.daily, DAY, t, age < 2 * DAY ? r : e, alpha);
    }
    if (this.weekly) {
      const memory = Math.min(o.weeklyMemory, Math.max(1, age / WEEK));
      const alpha = 1 - Math.exp(-dt / ((memory * WEEK) / 168));
      this.updateSeason(this.weekly, WEEK, t, age < 2 * WEEK ? r : e, alpha);
    }
    const absR = scaleKnown ? Math.min(Math.abs(r), o.scaleClip * sigma) : Math.abs(r);
    // Early on, the scale's weights are at least 1/n: the first residuals are averaged, not decayed from 0.
    const aScale = Math.max(1 / (this.n + 1), 1 - Math.exp(-dt / o.scaleTau));
    this.mad += aScale * (absR - this.mad);
    const aShift = 1 - Math.exp(-dt / o.shiftTau);
    this.meanResidual += aShift * (e - this.meanResidual);
    // Standard error of the running mean of white residuals at the typical interval: σ·√(a / (2 − a)).
    const aTyp = 1 - Math.exp(-this.meanInterval / o.shiftTau);
    const shiftZ = this.meanResidual / (sigma * Math.sqrt(aTyp / (2 - aTyp))) / SHIFT_Z_SCALE;
    // The tail rate learns from noise, not from a shift or drift in progress (that would blunt its detection).
    if (scaleKnown && Math.abs(shiftZ) < Z0) {
      const aTail = 1 - Math.exp(-dt / o.tailTau);
      this.tailRate += aTail * ((Math.abs(r) > 3 * sigma ? 1 : 0) - this.tailRate);
    }

    this.n++;
    this.lastT = t;
    const half = Z_HALF * band;
    const score = warm ? Math.max(scoreOfZ(r / band), scoreOfZ((shiftZ * sigma) / band)) : 0;
    return {
      t,
      value: x,
      score,
      expected,
      lower: expected - half,
      upper: expected + half,
      ...(warm ? {} : { note: 'warmup' as const }),
    };
  }

  private readDaily(t: number): number {
    if (!this.daily) return 0;
    const v = readSeason(this.daily, DAY, t);
    if (Number.isNaN(v)) return this.lastDaily; // a part of the day not seen yet: carry the last value on
    this.lastDaily = v;
    return v;
  }

  private readWeekly(t: number): number {
    if (!this.weekly) return 0;
    const v = readSeason(this.weekly, WEEK, t);
    return Number.isNaN(v) ? 0 : v;
  }

  /**
   * Spreads the winsorised residual `e` over the two buckets around `t` in proportion to their interpolation
   * weights. A daily bucket seen for the first time starts at the value that was read for it (so the first
   * day is learnt as it comes); a weekly one at 0 (it only holds what the daily profile misses).
   */
  private updateSeason(arr: Float64Array, period: number, t: number, e: number, alpha: number): void {
    const { b0, b1, f } = position(arr.length, period, t);
    const start = arr === this.daily ? this.lastDaily : 0;
    if (Number.isNaN(arr[b0]!)) arr[b0] = start;
    if (Number.isNaN(arr[b1]!)) arr[b1] = start;
    arr[b0]! += alpha * (1 - f) * e;
    arr[b1]! += alpha * f * e;
  }
}

function position(buckets: number, period: number, t: number): { b0: number; b1: number; f: number } {
  const phase = (((t % period) + period) % period) / period;
  const p = phase * buckets - 0.5;
  const fl = Math.floor(p);
  const f = p - fl;
  const b0 = (fl + buckets) % buckets;
  return { b0, b1: (b0 + 1) % buckets, f };
}

/** Linear interpolation between bucket centres; an unseen bucket gives way to its neighbour; NaN if both unseen. */
function readSeason(arr: Float64Array, period: number, t: number): number {
  const { b0, b1, f } = position(arr.length, period, t);
  const v0 = arr[b0]!;
  const v1 = arr[b1]!;
  if (Number.isNaN(v0)) return v1;
  if (Number.isNaN(v1)) return v0;
  return v0 + f * (v1 - v0);
}
