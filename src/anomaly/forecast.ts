/**
 * Time-to-exhaustion forecasts: a trend line plus, with enough history, a time-of-day profile, fitted to a
 * window of past values; then the first time the fitted curve reaches a limit. Pure code, no I/O.
 *
 * The line is a weighted least-squares fit (recent points weigh more, time constant half the window) of the
 * values minus the profile; the profile is the mean residual of the line per 30-minute bucket of the UTC day,
 * centred on 0. Both are refitted in turn a few times. A slope that is not clearly positive (less than two
 * standard errors) counts as flat, so noise on a flat series never predicts an exhaustion; the daily profile
 * still does when its peak alone reaches the limit.
 */

const DAY = 86_400;
const BUCKETS = 48;
/** Fits alternate between line and profile this many times (converges in two or three). */
const ROUNDS = 3;
/** A slope counts only when it is this many standard errors above 0. */
const SLOPE_Z = 2;

export interface ForecastOptions {
  /** Fit a daily profile; it is used only when the points span at least `minSeasonSpan` seconds. */
  readonly daily: boolean;
  /** Seconds of history needed before a daily profile is fitted (default two days). */
  readonly minSeasonSpan?: number;
  /** Fewest points for any fit (default 10). */
  readonly minPoints?: number;
}

/** A fitted model: `at(t)` is the predicted value at Unix second t. */
export interface ForecastModel {
  /** Value of the line at `t0` (the last point's time) and its slope per second (0 when not significant). */
  readonly level: number;
  readonly slope: number;
  readonly t0: number;
  /** Per 30-minute bucket of the UTC day, the profile; null when none was fitted. */
  readonly profile: Float64Array | null;
  /** Standard deviation of the residuals. */
  readonly sigma: number;
  at(t: number): number;
}

function profileAt(p: Float64Array, t: number): number {
  const phase = ((((t % DAY) + DAY) % DAY) / DAY) * BUCKETS - 0.5;
  const fl = Math.floor(phase);
  const f = phase - fl;
  const b0 = (fl + BUCKETS) % BUCKETS;
  return p[b0]! + f * (p[(b0 + 1) % BUCKETS]! - p[b0]!);
}

/**
 * Fits a model to points (Unix seconds, ascending; non-finite values are skipped). Undefined when there are
 * too few points or they span no time: no forecast is better than a wild one.
 */
export function fitForecast(
  times: readonly number[],
  values: readonly number[],
  o: ForecastOptions,
): ForecastModel | undefined {
  const ts: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < times.length; i++)
    if (Number.isFinite(values[i]) && Number.isFinite(times[i])) {
      ts.push(times[i]!);
      ys.push(values[i]!);
    }
  const n = ts.length;
  if (n < (o.minPoints ?? 10)) return undefined;
  const t0 = ts[n - 1]!;
  const span = t0 - ts[0]!;
  if (!(span > 0)) return undefined;
  const tau = span / 2;
  const w = ts.map((t) => Math.exp(-(t0 - t) / tau));
  const seasonal = o.daily && span >= (o.minSeasonSpan ?? 2 * DAY);
  const profile = seasonal ? new Float64Array(BUCKETS) : null;
  let level = 0;
  let slope = 0;
  let slopeSE = 0;
  let sigma = 0;
  for (let round = 0; round < (seasonal ? ROUNDS : 1); round++) {
    // Weighted least squares of (value - profile) on (t - t0).
    let sw = 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < n; i++) {
      const y = ys[i]! - (profile ? profileAt(profile, ts[i]!) : 0);
      sw += w[i]!;
      sx += w[i]! * (ts[i]! - t0);
      sy += w[i]! * y;
    }
    const mx = sx / sw;
    const my = sy / sw;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const dx = ts[i]! - t0 - mx;
      sxx += w[i]! * dx * dx;
      sxy += w[i]! * dx * (ys[i]! - (profile ? profileAt(profile, ts[i]!) : 0) - my);
    }
    slope = sxx > 0 ? sxy / sxx : 0;
    level = my - slope * mx;
    // Residual spread and the slope's standard error (with the effective number of weighted points).
    let ss = 0;
    let sw2 = 0;
    for (let i = 0; i < n; i++) {
      const r = ys[i]! - (profile ? profileAt(profile, ts[i]!) : 0) - (level + slope * (ts[i]! - t0));
      ss += w[i]! * r * r;
      sw2 += w[i]! * w[i]!;
    }
    const nEff = (sw * sw) / sw2;
    sigma = Math.sqrt(ss / sw);
    slopeSE = sxx > 0 && nEff > 2 ? Math.sqrt(((ss / sw) * nEff) / (nEff - 2) / (sxx / sw) / nEff) : Infinity;
    if (!profile) break;
    // Profile: mean residual of the line per bucket, spread over the two nearest bucket centres.
    const acc = new Float64Array(BUCKETS);
    const cnt = new Float64Array(BUCKETS);
    for (let i = 0; i < n; i++) {
      const r = ys[i]! - (level + slope * (ts[i]! - t0));
      const phase = ((((ts[i]! % DAY) + DAY) % DAY) / DAY) * BUCKETS - 0.5;
      const fl = Math.floor(phase);
      const f = phase - fl;
      const b0 = (fl + BUCKETS) % BUCKETS;
      const b1 = (b0 + 1) % BUCKETS;
      acc[b0]! += (1 - f) * r;
      cnt[b0]! += 1 - f;
      acc[b1]! += f * r;
      cnt[b1]! += f;
    }
    let mean = 0;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++)
      if (cnt[b]! > 0) {
        profile[b] = acc[b]! / cnt[b]!;
        mean += profile[b]!;
        seen++;
      }
    mean = seen ? mean / seen : 0;
    for (let b = 0; b < BUCKETS; b++) profile[b] = cnt[b]! > 0 ? profile[b]! - mean : 0;
  }
  if (!(slope > SLOPE_Z * slopeSE) && !(slope < -SLOPE_Z * slopeSE)) {
    // Not a clear trend: a flat line at the weighted mean of the deseasonalised values.
    let sw = 0;
    let sy = 0;
    for (let i = 0; i < n; i++) {
      sw += w[i]!;
      sy += w[i]! * (ys[i]! - (profile ? profileAt(profile, ts[i]!) : 0));
    }
    level = sy / sw;
    slope = 0;
  }
  const model: ForecastModel = {
    level,
    slope,
    t0,
    profile,
    sigma,
    at: (t) => level + slope * (t - t0) + (profile ? profileAt(profile, t) : 0),
  };
  return model;
}

/**
 * Seconds from `now` until the model first reaches `limit` (rising to it), looking at most `horizon` seconds
 * ahead; 0 when `current` (the latest value) already reached it; undefined when it does not within the horizon.
 */
export function secondsToReach(
  model: ForecastModel,
  now: number,
  horizon: number,
  limit: number,
  current: number,
): number | undefined {
  if (current >= limit) return 0;
  // Scan in steps fine enough for the 30-minute profile, then interpolate within the step that crosses.
  const step = Math.max(10, Math.min(900, horizon / 2000));
  let prevT = now;
  let prevV = Math.min(model.at(now), current);
  for (let dt = step; dt <= horizon + step / 2; dt += step) {
    const t = now + Math.min(dt, horizon);
    const v = model.at(t);
    if (v >= limit) {
      const f = v > prevV ? (limit - prevV) / (v - prevV) : 1;
      return Math.max(0, prevT - now + f * (t - prevT));
    }
    prevT = t;
    prevV = v;
  }
  return undefined;
}
