/**
 * The anomaly rule (`anomaly: NAME` in a rule group, a Vigil extension): at each evaluation of its group it
 * runs `expr`, feeds each series' value to that series' AnomalyDetector and returns `anomaly:score`,
 * `anomaly:expected`, `anomaly:lower` and `anomaly:upper` samples (the input labels, the rule's labels and
 * `anomaly="NAME"`), which the group stores like recording-rule output.
 *
 * State: one detector per output label set, in memory; checkpointed through an AnomalyStateStore and restored
 * at the first evaluation; dropped once a series has been absent for `forget_after`. At the first evaluation
 * the detectors are trained from stored history (a range query over the warm-up window, or from the
 * checkpoint's time when there is one), so a restart neither restarts warm-up nor leaves a gap.
 */
import { METRIC_NAME, labelsKey, normalizeLabels, type Labels } from '../model/labels.ts';
import { formatExpr } from '../query/promql/index.ts';
import type { AnomalyRuleDef } from '../rules/file.ts';
import {
  RuleEvalError,
  RuleStatus,
  type OutputSample,
  type QueryFn,
  type RangeQueryFn,
} from '../rules/rule.ts';
import { AnomalyDetector, type AnomalyPoint, type DetectorOptions } from './detector.ts';
import { decodeState, encodeState, type AnomalyStateStore, type SavedAnomalyRule } from './state.ts';

const DAY_MS = 86_400_000;
/** Series names the rule writes. */
export const ANOMALY_SERIES = {
  score: 'anomaly:score',
  expected: 'anomaly:expected',
  lower: 'anomaly:lower',
  upper: 'anomaly:upper',
} as const;
/** Label carrying the rule's name on every series it writes. */
export const ANOMALY_LABEL = 'anomaly';

/**
 * An instant query shows the latest sample for up to 5 minutes (PromQL's lookback): the same value seen again
 * within that time is the same sample, and learning it twice would overweight it and break the detector's
 * drift statistics. It is scored once; later evaluations repeat its result.
 */
const REPEAT_SECONDS = 300;
/** Series that appear after the first warm-up are trained from history at most this often. */
const WARMUP_RETRY_MS = 600_000;
/** Warm-up range queries use at most about this many steps. */
const WARMUP_STEPS = 2016;

/** The default warm-up window for a rule's seasons: enough for the profiles to be usable. */
export function defaultWarmupMs(seasons: readonly string[]): number {
  if (seasons.includes('weekly')) return 14 * DAY_MS;
  if (seasons.includes('daily')) return 3 * DAY_MS;
  return DAY_MS;
}

/** What an anomaly or forecast rule evaluation may use, besides the evaluation time. */
export interface StatefulRuleContext {
  readonly query: QueryFn;
  /** Needed for warm-up (anomaly) and fitting (forecast); without it anomaly rules start cold. */
  readonly rangeQuery?: RangeQueryFn;
  /** Most output series per rule (0 = no limit), as the group's `limit`. */
  readonly limit: number;
  /** The group's interval: no warm-up step is finer. */
  readonly intervalMs: number;
  /** Identifies the rule across restarts (state key): `FILE;GROUP;NAME`. */
  readonly ruleKey: string;
  readonly store?: AnomalyStateStore;
  readonly signal?: AbortSignal;
  readonly log?: (msg: string) => void;
}

interface Tracked {
  /** Output labels without `__name__`. */
  readonly labels: Labels;
  readonly detector: AnomalyDetector;
  lastSeen: number;
  lastValue: number;
  lastFedT: number;
  last: AnomalyPoint | undefined;
}

interface Resolved {
  readonly key: string;
  readonly names: {
    readonly labels: Labels;
    readonly score: Labels;
    readonly expected: Labels;
    readonly lower: Labels;
    readonly upper: Labels;
  };
}

export class AnomalyRule {
  readonly kind = 'anomaly';
  readonly status = new RuleStatus();
  /** The rule's labels merged over its group's (the rule's win). */
  readonly labels: Readonly<Record<string, string>>;
  /** The expression as Prometheus prints it back. */
  readonly query: string;
  private readonly detectorOptions: Partial<DetectorOptions>;
  private readonly series = new Map<string, Tracked>();
  /** Input labels key -> output key and label sets (a cache; cleared when series are dropped). */
  private readonly byInput = new Map<string, Resolved>();
  private loaded = false;
  /** Evaluation time of the last warm-up, undefined before the first. */
  private lastWarmUp: number | undefined;
  private restoredFrom: number | undefined;
  private lastCheckpoint = 0;

  constructor(
    readonly def: AnomalyRuleDef,
    groupLabels: Readonly<Record<string, string>> = {},
  ) {
    this.labels = { ...groupLabels, ...def.labels };
    this.query = formatExpr(def.query);
    const o: { -readonly [K in keyof DetectorOptions]?: DetectorOptions[K] } = { seasons: [...def.seasons] };
    if (def.levelTauMs !== undefined) o.levelTau = def.levelTauMs / 1000;
    if (def.shiftTauMs !== undefined) o.shiftTau = def.shiftTauMs / 1000;
    this.detectorOptions = o;
  }

  get name(): string {
    return this.def.name;
  }

  /** Series with a detector in memory. */
  get seriesCount(): number {
    return this.series.size;
  }

  /** Settings that make a saved detector usable: the expression, the output labels and the detector's options. */
  get config(): string {
    return JSON.stringify([this.query, Object.entries(this.labels).sort(), this.detectorOptions]);
  }

  private track(key: string, labels: Labels): Tracked {
    let tr = this.series.get(key);
    if (!tr) {
      tr = {
        labels,
        detector: new AnomalyDetector(this.detectorOptions),
        lastSeen: 0,
        lastValue: NaN,
        lastFedT: -Infinity,
        last: undefined,
      };
      this.series.set(key, tr);
    }
    return tr;
  }

  /** Output labels (without `__name__`) of an input series. */
  private outputLabels(input: Labels): Labels {
    const l: Record<string, string> = { ...input };
    delete l[METRIC_NAME];
    for (const [k, v] of Object.entries(this.labels)) l[k] = v;
    l[ANOMALY_LABEL] = this.def.name;
    return normalizeLabels(l);
  }

  private feed(tr: Tracked, tSec: number, v: number): void {
    if (tSec <= tr.lastFedT) return; // already learnt (warm-up overlapping a checkpoint)
    if (v === tr.lastValue && tSec - tr.lastFedT < REPEAT_SECONDS) return;
    tr.last = tr.detector.push(tSec, v);
    tr.lastFedT = tSec;
    tr.lastValue = v;
  }

  /**
   * Evaluates at `ts` (ms): restores the checkpoint and warms up at the first call, then scores the current
   * values. Returns the samples to store. Throws RuleEvalError (or the query's error) when the query fails,
   * two series end up with the same labels, or the output exceeds `limit` series.
   */
  async eval(ts: number, ctx: StatefulRuleContext): Promise<OutputSample[]> {
    if (!this.loaded) {
      this.loaded = true;
      if (ctx.store) await this.restore(ctx.store, ctx.ruleKey, ctx.log);
    }
    const vector = await ctx.query(this.def.expr, ts, ctx.signal);
    if (ctx.rangeQuery) {
      // The first warm-up trains every series; later ones only series that appeared since, at most every
      // WARMUP_RETRY_MS, so churning series cannot turn every evaluation into a range query.
      const fresh = new Set<string>();
      for (const s of vector) {
        const key = this.resolve(s.labels).key;
        if (!this.series.has(key)) fresh.add(key);
      }
      if (
        this.lastWarmUp === undefined
          ? vector.length > 0 || this.series.size > 0
          : fresh.size > 0 && ts - this.lastWarmUp >= WARMUP_RETRY_MS
      ) {
        const only = this.lastWarmUp === undefined ? undefined : fresh;
        this.lastWarmUp = ts;
        await this.warmUp(ts, ctx, only);
      }
    }
    const out: OutputSample[] = [];
    const seen = new Set<string>();
    for (const s of vector) {
      const { key, names } = this.resolve(s.labels);
      if (seen.has(key))
        throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      const tr = this.track(key, names.labels);
      tr.lastSeen = ts;
      this.feed(tr, ts / 1000, s.value);
      const p = tr.last;
      out.push({ labels: names.score, t: ts, v: p?.score ?? 0 });
      if (p && Number.isFinite(p.expected) && Number.isFinite(p.lower) && Number.isFinite(p.upper))
        out.push(
          { labels: names.expected, t: ts, v: p.expected },
          { labels: names.lower, t: ts, v: p.lower },
          { labels: names.upper, t: ts, v: p.upper },
        );
    }
    if (ctx.limit > 0 && seen.size > ctx.limit)
      throw new RuleEvalError(`exceeded limit of ${ctx.limit} with ${seen.size} series`);
    let dropped = false;
    for (const [key, tr] of this.series)
      if (!seen.has(key) && ts - tr.lastSeen > this.def.forgetAfterMs) {
        this.series.delete(key);
        dropped = true;
      }
    if (dropped || this.byInput.size > 2 * this.series.size + 1000) this.byInput.clear();
    return out;
  }

  /**
   * The output key and label sets of an input series, cached by the input's labels: building and sorting
   * label sets is most of an evaluation's cost otherwise.
   */
  private resolve(input: Labels): Resolved {
    const ik = labelsKey(input);
    let r = this.byInput.get(ik);
    if (!r) {
      const labels = this.outputLabels(input);
      const named = (name: string) => normalizeLabels({ ...labels, [METRIC_NAME]: name });
      r = {
        key: labelsKey(labels),
        names: {
          labels,
          score: named(ANOMALY_SERIES.score),
          expected: named(ANOMALY_SERIES.expected),
          lower: named(ANOMALY_SERIES.lower),
          upper: named(ANOMALY_SERIES.upper),
        },
      };
      this.byInput.set(ik, r);
    }
    return r;
  }

  /**
   * Trains detectors from history before their first score: the warm-up window, or only the time since the
   * checkpoint when one was restored; with `only`, just those series (new ones). A failed query is logged and
   * the series start cold.
   */
  private async warmUp(ts: number, ctx: StatefulRuleContext, only?: ReadonlySet<string>): Promise<void> {
    const windowMs = this.def.warmupMs ?? defaultWarmupMs(this.def.seasons);
    const stepMs = Math.max(ctx.intervalMs, Math.ceil(windowMs / WARMUP_STEPS / 1000) * 1000);
    let start = ts - windowMs;
    if (this.restoredFrom !== undefined && !only) start = Math.max(start, this.restoredFrom + 1);
    const end = ts - 1;
    if (end < start) return;
    let history;
    try {
      history = await ctx.rangeQuery!(this.def.expr, start, end, stepMs, ctx.signal);
    } catch (err) {
      ctx.log?.(
        `anomaly rule ${JSON.stringify(this.name)}: cannot read history for warm-up, starting cold: ${(err as Error).message}`,
      );
      return;
    }
    for (const s of history) {
      const labels = this.outputLabels(s.labels);
      const key = labelsKey(labels);
      if (only && !only.has(key)) continue;
      const tr = this.track(key, labels);
      for (let i = 0; i < s.times.length; i++) this.feed(tr, s.times[i]! / 1000, s.values[i]!);
      tr.lastSeen = Math.max(tr.lastSeen, s.times[s.times.length - 1] ?? 0);
    }
  }

  /** Restores detectors saved by `checkpoint` when their settings match; a failure is logged. */
  private async restore(store: AnomalyStateStore, key: string, log?: (msg: string) => void): Promise<void> {
    let saved: SavedAnomalyRule | undefined;
    try {
      saved = await store.load(key);
    } catch (err) {
      log?.(
        `anomaly rule ${JSON.stringify(this.name)}: cannot read its saved state: ${(err as Error).message}`,
      );
      return;
    }
    if (!saved || saved.config !== this.config) return;
    let oldest = Infinity;
    for (const s of saved.series) {
      const state = typeof s.state === 'string' ? decodeState(s.state) : undefined;
      if (!state || typeof s.labels !== 'object') continue;
      const labels = normalizeLabels(s.labels);
      const key = labelsKey(labels);
      const det = new AnomalyDetector(this.detectorOptions);
      if (!det.loadState(state)) continue;
      const num = (x: number | null | undefined) => (typeof x === 'number' ? x : NaN);
      const [score, expected, lower, upper] = (s.last ?? []).map(num);
      const lastFedT = typeof s.lastFedT === 'number' ? s.lastFedT : -Infinity;
      this.series.set(key, {
        labels,
        detector: det,
        lastSeen: Number(s.lastSeen) || 0,
        lastValue: num(s.lastValue),
        lastFedT,
        last:
          score === undefined
            ? undefined
            : {
                t: lastFedT,
                value: num(s.lastValue),
                score,
                expected: expected!,
                lower: lower!,
                upper: upper!,
              },
      });
      if (Number.isFinite(lastFedT)) oldest = Math.min(oldest, lastFedT * 1000);
    }
    // Warm-up then reads only what came after the checkpoint; each detector skips what it already learnt.
    if (this.series.size && Number.isFinite(oldest)) this.restoredFrom = oldest;
  }

  /** The detectors as a checkpoint. */
  snapshot(now: number): SavedAnomalyRule {
    const series = [];
    const n = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : null);
    for (const tr of this.series.values())
      series.push({
        labels: { ...tr.labels },
        state: encodeState(tr.detector.saveState()),
        lastSeen: tr.lastSeen,
        lastValue: n(tr.lastValue),
        lastFedT: n(tr.lastFedT),
        last: tr.last ? [tr.last.score, tr.last.expected, tr.last.lower, tr.last.upper].map(n) : [],
      });
    return { config: this.config, savedAt: now, series };
  }

  /**
   * Saves a checkpoint when `everyMs` has passed since the last one (always with `everyMs` 0). Only after the
   * first evaluation: before it the rule holds nothing newer than what is stored.
   */
  async checkpoint(store: AnomalyStateStore, key: string, now: number, everyMs = 0): Promise<void> {
    if (!this.loaded || now - this.lastCheckpoint < everyMs) return;
    this.lastCheckpoint = now;
    await store.save(key, this.snapshot(now));
  }

  /** Takes over the detectors of the same rule before a reload, when its settings did not change. */
  adoptState(old: AnomalyRule): void {
    if (old.config !== this.config) return;
    for (const [k, tr] of old.series) this.series.set(k, tr);
    this.loaded = old.loaded;
    this.lastWarmUp = old.lastWarmUp;
    this.lastCheckpoint = old.lastCheckpoint;
    this.status.health = old.status.health;
    this.status.lastError = old.status.lastError;
    this.status.lastEvaluation = old.status.lastEvaluation;
    this.status.lastTimestamp = old.status.lastTimestamp;
    this.status.evaluationMs = old.status.evaluationMs;
  }
}
