/**
 * The forecast rule (`forecast: NAME` in a rule group, a Vigil extension): at each evaluation it reads `expr`
 * over `lookback` (a range query), fits trend and daily seasonality per series (forecast.ts) and, for every
 * series predicted to reach its capacity within `horizon`, returns
 *   forecast:seconds_to_exhaustion{forecast="NAME", ...}       seconds from the evaluation time
 *   forecast:exhaustion_timestamp_seconds{forecast="NAME", ...} the predicted time (Unix seconds)
 * Series not predicted to run out within the horizon write nothing (their series go stale), so an alerting rule
 * on the first series fires exactly while exhaustion is predicted. Without `capacity`, `expr` is a free
 * amount and exhaustion is reaching 0.
 */
import { METRIC_NAME, dropMetricName, labelsKey, normalizeLabels, type Labels } from '../model/labels.ts';
import { formatExpr } from '../query/promql/index.ts';
import type { ForecastRuleDef } from '../rules/file.ts';
import { RuleEvalError, RuleStatus, type OutputSample } from '../rules/rule.ts';
import { fitForecast, secondsToReach } from './forecast.ts';
import type { StatefulRuleContext } from './rule.ts';

export const FORECAST_SERIES = {
  seconds: 'forecast:seconds_to_exhaustion',
  timestamp: 'forecast:exhaustion_timestamp_seconds',
} as const;
/** Label carrying the rule's name on every series it writes. */
export const FORECAST_LABEL = 'forecast';
/** The lookback is read in about this many steps (never finer than 15 s). */
const FIT_STEPS = 2000;

export class ForecastRule {
  readonly kind = 'forecast';
  readonly status = new RuleStatus();
  readonly labels: Readonly<Record<string, string>>;
  readonly query: string;

  constructor(
    readonly def: ForecastRuleDef,
    groupLabels: Readonly<Record<string, string>> = {},
  ) {
    this.labels = { ...groupLabels, ...def.labels };
    this.query = formatExpr(def.query);
  }

  get name(): string {
    return this.def.name;
  }

  /** Step of the lookback range query (ms). */
  get stepMs(): number {
    return Math.max(15_000, Math.ceil(this.def.lookbackMs / FIT_STEPS / 1000) * 1000);
  }

  /**
   * Evaluates at `ts` (ms). Throws RuleEvalError when there is no range query function, a query fails, two
   * series end up with the same labels or the output exceeds `limit` series.
   */
  async eval(ts: number, ctx: StatefulRuleContext): Promise<OutputSample[]> {
    if (!ctx.rangeQuery)
      throw new RuleEvalError('forecast rules need range queries, which are not available here');
    const history = await ctx.rangeQuery(
      this.def.expr,
      ts - this.def.lookbackMs,
      ts,
      this.stepMs,
      ctx.signal,
    );
    // Capacity per series: a number for all, or the capacity expression's value with the same labels.
    const cap = this.def.capacity;
    let capacityOf: (l: Labels) => number | undefined;
    if (cap === undefined) capacityOf = () => 0;
    else if (typeof cap === 'number') capacityOf = () => cap;
    else {
      const vec = await ctx.query(cap.expr, ts, ctx.signal);
      const byKey = new Map(vec.map((s) => [labelsKey(dropMetricName(s.labels)), s.value]));
      const only =
        vec.length === 1 && Object.keys(dropMetricName(vec[0]!.labels)).length === 0
          ? vec[0]!.value
          : undefined;
      capacityOf = (l) => byKey.get(labelsKey(dropMetricName(l))) ?? only;
    }
    const free = cap === undefined;
    const out: OutputSample[] = [];
    const seen = new Set<string>();
    const now = ts / 1000;
    for (const s of history) {
      const l: Record<string, string> = { ...dropMetricName(s.labels) };
      for (const [k, v] of Object.entries(this.labels)) l[k] = v;
      l[FORECAST_LABEL] = this.def.name;
      const labels = normalizeLabels(l);
      const key = labelsKey(labels);
      if (seen.has(key))
        throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      const limit = capacityOf(s.labels);
      if (limit === undefined || !Number.isFinite(limit)) continue;
      // A free amount running out is usage (its negative) rising to 0.
      const values = free ? s.values.map((v) => -v) : s.values;
      const model = fitForecast(
        s.times.map((t) => t / 1000),
        values,
        { daily: this.def.season === 'daily' },
      );
      if (!model) continue;
      // The latest value decides "already exhausted"; a NaN one (0/0 in expr) leaves it to the model.
      const last = values[values.length - 1]!;
      const current = Number.isFinite(last) ? last : model.at(now);
      // The latest point must be recent: a series that stopped long ago says nothing about now.
      if (now - s.times[s.times.length - 1]! / 1000 > 2 * (this.stepMs / 1000) + 300) continue;
      const secs = secondsToReach(model, now, this.def.horizonMs / 1000, limit, current);
      if (secs === undefined) continue;
      out.push({ labels: { ...labels, [METRIC_NAME]: FORECAST_SERIES.seconds }, t: ts, v: secs });
      out.push({ labels: { ...labels, [METRIC_NAME]: FORECAST_SERIES.timestamp }, t: ts, v: now + secs });
    }
    if (ctx.limit > 0 && out.length / 2 > ctx.limit)
      throw new RuleEvalError(`exceeded limit of ${ctx.limit} with ${out.length / 2} series`);
    return out;
  }
}
