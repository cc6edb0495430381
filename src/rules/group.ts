/**
 * A rule group: its rules evaluated in order at aligned timestamps, results written through an AppendFn, stale
 * markers for series that disappeared since the previous evaluation, health and timing kept per rule. A rule
 * that fails records its error and the group carries on with the next rule.
 *
 * Timing follows Prometheus: evaluation timestamps are `k * interval + offset`, where the offset is a stable
 * hash of the group's file and name modulo the interval, so groups spread over the interval and each group's
 * timestamps do not drift across restarts.
 */
import { STALE_NAN, labelsKey, seriesId, type Labels } from '../model/labels.ts';
import { AlertingRule, type AlertContext } from './alerting.ts';
import { systemClock, type Clock } from './clock.ts';
import type { RuleGroupDef } from './file.ts';
import * as m from './metrics.ts';
import { RecordingRule } from './recording.ts';
import type { AppendFn, OutputSample, QueryFn } from './rule.ts';

export type Rule = RecordingRule | AlertingRule;

export interface GroupOptions {
  readonly query: QueryFn;
  readonly append: AppendFn;
  /** Interval of groups that set none (global.evaluation_interval). */
  readonly defaultIntervalMs: number;
  /**
   * Whether alerting rules are evaluated. Off in the server until alert notification exists (they are listed
   * with health "unknown"); on in the unit-test runner.
   */
  readonly evaluateAlerts?: boolean;
  readonly alertContext?: AlertContext;
  readonly clock?: Clock;
  readonly log?: (msg: string) => void;
}

/** How `run` starts and what it reports after each evaluation. */
export interface RunOptions {
  /** Evaluation timestamp already done before a restart: resume at the next aligned timestamp after it. */
  readonly resumeAfter?: number;
  /** Most missed evaluations to catch up on after a restart; older ones are skipped (default 10). */
  readonly maxCatchUp?: number;
  /** Called after each completed evaluation (to persist it); a failure is logged and ignored. */
  readonly onEvaluated?: (ts: number) => Promise<void>;
}

export class RuleGroup {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  readonly limit: number;
  readonly queryOffsetMs: number;
  readonly rules: readonly Rule[];
  /** Wall-clock start of the last evaluation, undefined before the first. */
  lastEvaluation: number | undefined;
  /** Duration of the last evaluation in ms. */
  evaluationMs = 0;
  /** Timestamp of the last evaluation (the samples' time), undefined before the first. */
  lastTimestamp: number | undefined;
  /** Per rule: the series written by its last successful evaluation, for stale markers. */
  private readonly previous: Map<string, Labels>[];
  private readonly clock: Clock;
  private readonly metricKey: string;

  constructor(
    def: RuleGroupDef,
    private readonly opts: GroupOptions,
  ) {
    this.name = def.name;
    this.file = def.file;
    this.intervalMs = def.intervalMs ?? opts.defaultIntervalMs;
    this.limit = def.limit;
    this.queryOffsetMs = def.queryOffsetMs ?? 0;
    this.rules = def.rules.map((r) =>
      r.kind === 'recording' ? new RecordingRule(r, def.labels) : new AlertingRule(r, def.labels),
    );
    this.previous = this.rules.map(() => new Map());
    this.clock = opts.clock ?? systemClock;
    this.metricKey = this.key;
    m.ruleGroupInterval.set({ rule_group: this.metricKey }, this.intervalMs / 1000);
    m.ruleGroupRules.set({ rule_group: this.metricKey }, this.rules.length);
  }

  /** `FILE;NAME`: identifies the group across restarts (state key and metric label, as in Prometheus). */
  get key(): string {
    return `${this.file};${this.name}`;
  }

  /** The group's stable offset within its interval, in ms. */
  get offsetMs(): number {
    return Number(seriesId(labelsKey({ file: this.file, name: this.name })) % BigInt(this.intervalMs));
  }

  /** The latest aligned evaluation timestamp at or before `t`. */
  alignedAtOrBefore(t: number): number {
    const off = this.offsetMs;
    const adj = t - off;
    return adj - (((adj % this.intervalMs) + this.intervalMs) % this.intervalMs) + off;
  }

  /** The first aligned evaluation timestamp strictly after `t`. */
  alignedAfter(t: number): number {
    return this.alignedAtOrBefore(t) + this.intervalMs;
  }

  /**
   * Evaluates every rule once at timestamp `ts`, in order; a later rule sees what earlier ones wrote. Never
   * throws for a failing rule: its health and last error record the failure.
   */
  async evaluate(ts: number, signal?: AbortSignal): Promise<void> {
    const wallStart = this.clock.now();
    const t0 = performance.now();
    const g = { rule_group: this.metricKey };
    let written = 0;
    for (const [i, rule] of this.rules.entries()) {
      if (signal?.aborted) break;
      if (rule.kind === 'alerting' && !this.opts.evaluateAlerts) continue;
      const r0 = performance.now();
      rule.status.lastEvaluation = this.clock.now();
      m.ruleEvaluations.inc(g);
      try {
        const out =
          rule.kind === 'recording'
            ? await rule.eval(ts - this.queryOffsetMs, this.opts.query, this.limit, signal)
            : await rule.eval(
                ts,
                this.queryOffsetMs,
                this.opts.query,
                this.limit,
                this.opts.alertContext ?? { externalLabels: {}, externalURL: '' },
                signal,
              );
        const seen = new Map<string, Labels>();
        for (const s of out) seen.set(labelsKey(s.labels), s.labels);
        const stale: OutputSample[] = [];
        for (const [key, labels] of this.previous[i]!)
          if (!seen.has(key)) stale.push({ labels, t: ts - this.queryOffsetMs, v: STALE_NAN });
        await this.opts.append(stale.length ? [...out, ...stale] : out);
        this.previous[i] = seen;
        written += out.length;
        rule.status.health = 'ok';
        rule.status.lastError = '';
      } catch (err) {
        rule.status.health = 'err';
        rule.status.lastError = (err as Error)?.message ?? String(err);
        m.ruleEvaluationFailures.inc(g);
        if (!signal?.aborted)
          this.opts.log?.(
            `rule group ${JSON.stringify(this.name)} (${this.file}): rule ${JSON.stringify(rule.name)} failed: ${rule.status.lastError}`,
          );
      }
      rule.status.evaluationMs = performance.now() - r0;
      rule.status.lastTimestamp = ts;
      m.ruleEvaluationDuration.observe(rule.status.evaluationMs / 1000);
    }
    this.lastEvaluation = wallStart;
    this.evaluationMs = performance.now() - t0;
    this.lastTimestamp = ts;
    m.ruleGroupIterations.inc(g);
    m.ruleGroupLastDuration.set(g, this.evaluationMs / 1000);
    m.ruleGroupLastEvaluation.set(g, ts / 1000);
    m.ruleGroupLastSamples.set(g, written);
  }

  /**
   * Evaluates the group on its schedule until `signal` aborts. Without `resumeAfter` the first evaluation is at
   * the next aligned timestamp (as Prometheus). With it, evaluations missed since then are caught up first,
   * at most `maxCatchUp` of them; a timestamp at or before `resumeAfter` is never evaluated again. When an
   * evaluation overruns, the timestamps it overran are skipped and counted as missed.
   */
  async run(signal: AbortSignal, ro: RunOptions = {}): Promise<void> {
    const interval = this.intervalMs;
    const g = { rule_group: this.metricKey };
    const started = this.clock.now();
    let next: number;
    let catchUpUntil = -Infinity;
    if (ro.resumeAfter !== undefined) {
      next = this.alignedAfter(ro.resumeAfter);
      const latest = this.alignedAtOrBefore(started);
      if (latest >= next) {
        const missed = Math.round((latest - next) / interval) + 1;
        const max = Math.max(0, ro.maxCatchUp ?? 10);
        if (missed > max) {
          const skipped = missed - max;
          m.ruleGroupIterationsMissed.inc(g, skipped);
          this.opts.log?.(
            `rule group ${JSON.stringify(this.name)}: ${skipped} evaluation(s) missed while stopped are too old to catch up`,
          );
          next += skipped * interval;
        }
        catchUpUntil = latest;
      }
    } else {
      next = this.alignedAfter(started);
    }
    while (!signal.aborted) {
      const wait = next - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait, signal);
      if (signal.aborted) break;
      await this.evaluate(next, signal);
      // An evaluation cut short by shutdown is not recorded as done: it runs again after the restart.
      if (signal.aborted) break;
      if (ro.onEvaluated) {
        try {
          await ro.onEvaluated(next);
        } catch (err) {
          this.opts.log?.(
            `rule group ${JSON.stringify(this.name)}: cannot save its progress: ${(err as Error).message}`,
          );
        }
      }
      next += interval;
      const now = this.clock.now();
      if (next > catchUpUntil && now - next >= interval) {
        const behind = Math.floor((now - next) / interval);
        m.ruleGroupIterationsMissed.inc(g, behind);
        next += behind * interval;
      }
    }
  }

  /** Drops this group's metric series. */
  forgetMetrics(): void {
    m.forgetGroupMetrics(this.metricKey);
  }
}
