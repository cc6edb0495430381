/**
 * A rule group: its rules evaluated in order at aligned timestamps, results written through an AppendFn, stale
 * markers for series that disappeared since the previous evaluation, health and timing kept per rule. A rule
 * that fails records its error and the group carries on with the next rule.
 *
 * Timing follows Prometheus: evaluation timestamps are `k * interval + offset`, where the offset is a stable
 * hash of the group's file and name modulo the interval, so groups spread over the interval and each group's
 * timestamps do not drift across restarts. Groups with alerting rules can also be evaluated out of schedule,
 * at the current time, when their metrics are ingested (`evaluateTriggered`); evaluations never overlap.
 * After each successful alerting-rule evaluation the alerts due are handed to the NotifyFn.
 */
import { METRIC_NAME, STALE_NAN, labelsKey, seriesId, type Labels } from '../model/labels.ts';
import type { Expr } from '../query/promql/index.ts';
import { AlertingRule, type AlertContext, type RestoreOptions } from './alerting.ts';
import { systemClock, type Clock } from './clock.ts';
import type { RuleGroupDef } from './file.ts';
import * as m from './metrics.ts';
import { generatorURL, toNotified, type NotifyFn } from './notify.ts';
import { RecordingRule } from './recording.ts';
import type { AppendFn, OutputSample, QueryFn, RangeQueryFn } from './rule.ts';
import { AnomalyRule } from '../anomaly/rule.ts';
import { ForecastRule } from '../anomaly/forecast-rule.ts';
import type { AnomalyStateStore } from '../anomaly/state.ts';

export type Rule = RecordingRule | AlertingRule | AnomalyRule | ForecastRule;

export interface GroupOptions {
  readonly query: QueryFn;
  readonly append: AppendFn;
  /** Range queries for anomaly rules' warm-up and forecast rules; without it those start cold or fail. */
  readonly rangeQuery?: RangeQueryFn;
  /** Where anomaly rules checkpoint their detectors; without it they live in memory only. */
  readonly anomalyStore?: AnomalyStateStore;
  /** Anomaly rules checkpoint at most this often (default 10m), and on stop. */
  readonly anomalyCheckpointMs?: number;
  /** Interval of groups that set none (global.evaluation_interval). */
  readonly defaultIntervalMs: number;
  /**
   * Whether alerting rules are evaluated (left out they keep health "unknown"). Off by default for a bare
   * group; the RuleManager and the unit-test runner turn it on.
   */
  readonly evaluateAlerts?: boolean;
  readonly alertContext?: AlertContext;
  /** Receives alerts to send after each successful evaluation of an alerting rule. */
  readonly notify?: NotifyFn;
  /** Firing alerts are re-sent this often (default 1m, as Prometheus's `rules.alert.resend-delay`). */
  readonly resendDelayMs?: number;
  /**
   * Called after every evaluation that left alerts in the group (or removed the last of them), with the
   * evaluation timestamp and the group's alert state, so it survives a restart. Awaited before the next
   * evaluation of the group starts; a failure is logged and ignored.
   */
  readonly saveAlerts?: (group: RuleGroup, ts: number, state: SavedGroupAlerts) => Promise<void>;
  readonly clock?: Clock;
  readonly log?: (msg: string) => void;
}

/** A group's alert state in the state store: per alerting rule (by name and expression), its alerts. */
export interface SavedGroupAlerts {
  readonly savedAt: number;
  readonly rules: { readonly name: string; readonly query: string; readonly alerts: unknown[] }[];
}

/**
 * Metric names an expression selects. `undefined` when some selector does not fix the name (no name, or a
 * regex/negative matcher on `__name__`): such an expression may read any metric.
 */
export function selectedMetricNames(expr: Expr): Set<string> | undefined {
  const names = new Set<string>();
  let any = false;
  const walk = (e: Expr): void => {
    switch (e.type) {
      case 'VectorSelector': {
        const eq = e.matchers.find((x) => x.name === METRIC_NAME && x.type === '=');
        if (eq) names.add(eq.value);
        else any = true;
        return;
      }
      case 'MatrixSelector':
        return walk(e.vector);
      case 'SubqueryExpr':
      case 'ParenExpr':
      case 'UnaryExpr':
        return walk(e.expr);
      case 'BinaryExpr':
        walk(e.lhs);
        return walk(e.rhs);
      case 'AggregateExpr':
        if (e.param) walk(e.param);
        return walk(e.expr);
      case 'Call':
        for (const a of e.args) walk(a);
        return;
      default:
        return;
    }
  };
  walk(expr);
  return any ? undefined : names;
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
  /** Evaluations run one at a time: scheduled ones and those triggered by ingestion queue up here. */
  private tail: Promise<void> = Promise.resolve();
  /** Whether the last saved alert state had alerts (an empty state is saved once, then not again). */
  private savedNonEmpty = false;

  constructor(
    def: RuleGroupDef,
    private readonly opts: GroupOptions,
  ) {
    this.name = def.name;
    this.file = def.file;
    this.intervalMs = def.intervalMs ?? opts.defaultIntervalMs;
    this.limit = def.limit;
    this.queryOffsetMs = def.queryOffsetMs ?? 0;
    this.rules = def.rules.map((r) => {
      switch (r.kind) {
        case 'recording':
          return new RecordingRule(r, def.labels);
        case 'alerting':
          return new AlertingRule(r, def.labels);
        case 'anomaly':
          return new AnomalyRule(r, def.labels);
        case 'forecast':
          return new ForecastRule(r, def.labels);
      }
    });
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

  /** Whether the group has alerting rules (only those groups are evaluated on ingestion). */
  get hasAlertingRules(): boolean {
    return this.rules.some((r) => r.kind === 'alerting');
  }

  /** Metric names the group's rules read, or `undefined` when some rule may read any metric. */
  metricNames(): Set<string> | undefined {
    const all = new Set<string>();
    for (const r of this.rules) {
      const names = selectedMetricNames(r.def.query);
      if (!names) return undefined;
      for (const n of names) all.add(n);
    }
    return all;
  }

  /** The group's alert state, as `saveAlerts` receives it. */
  alertState(ts: number): SavedGroupAlerts {
    const rules = [];
    for (const r of this.rules)
      if (r.kind === 'alerting') rules.push({ name: r.name, query: r.query, alerts: r.snapshot() });
    return { savedAt: ts, rules };
  }

  /**
   * Restores alert state saved before a restart: each alerting rule takes the saved alerts of the rule with
   * the same name and expression (the n-th such rule the n-th saved one). Rules that changed start empty.
   */
  restoreAlerts(saved: unknown, now: number, o: Omit<RestoreOptions, 'savedAt' | 'now'>): void {
    if (typeof saved !== 'object' || saved === null) return;
    const { savedAt, rules } = saved as { savedAt?: unknown; rules?: unknown };
    if (typeof savedAt !== 'number' || !Array.isArray(rules)) return;
    const used = new Set<unknown>();
    for (const r of this.rules) {
      if (r.kind !== 'alerting') continue;
      const match = rules.find(
        (x: { name?: unknown; query?: unknown; alerts?: unknown }) =>
          !used.has(x) && x?.name === r.name && x?.query === r.query && Array.isArray(x.alerts),
      ) as { alerts: unknown[] } | undefined;
      if (!match) continue;
      used.add(match);
      r.restore(match.alerts, { ...o, savedAt, now });
      if (r.hasAlerts) this.savedNonEmpty = true;
    }
  }

  /**
   * Takes over the state of the same group before a reload: rules with the same name and expression keep
   * their alerts, health and timing; stale-marker tracking carries over for rules at the same position.
   */
  adoptState(old: RuleGroup): void {
    const used = new Set<AlertingRule>();
    for (const r of this.rules) {
      if (r.kind !== 'alerting') continue;
      const o = old.rules.find(
        (x): x is AlertingRule =>
          x.kind === 'alerting' && !used.has(x) && x.name === r.name && x.query === r.query,
      );
      if (!o) continue;
      used.add(o);
      r.adoptState(o);
    }
    for (const r of this.rules) {
      if (r.kind !== 'anomaly') continue;
      const o = old.rules.find((x): x is AnomalyRule => x.kind === 'anomaly' && x.name === r.name);
      if (o) r.adoptState(o);
    }
    this.savedNonEmpty = old.savedNonEmpty;
    this.lastEvaluation = old.lastEvaluation;
    this.lastTimestamp = old.lastTimestamp;
    this.evaluationMs = old.evaluationMs;
  }

  /** State key of an anomaly rule: `FILE;GROUP;NAME`. */
  ruleKey(r: Rule): string {
    return `${this.file};${this.name};${r.name}`;
  }

  /** Saves every anomaly rule's detectors now (on stop), after an evaluation in flight. Errors are logged. */
  checkpointAnomalies(): Promise<void> {
    return this.locked(() => this.checkpointNow(0));
  }

  private async checkpointNow(everyMs: number): Promise<void> {
    const store = this.opts.anomalyStore;
    if (!store) return;
    for (const r of this.rules) {
      if (r.kind !== 'anomaly') continue;
      try {
        await r.checkpoint(store, this.ruleKey(r), this.clock.now(), everyMs);
      } catch (err) {
        this.opts.log?.(
          `anomaly rule ${JSON.stringify(r.name)}: cannot save its detectors: ${(err as Error).message}`,
        );
      }
    }
  }

  /** Removes the saved detectors of this group's anomaly rules (the group was removed). */
  async dropAnomalyState(): Promise<void> {
    const store = this.opts.anomalyStore;
    if (!store) return;
    for (const r of this.rules) if (r.kind === 'anomaly') await store.delete(this.ruleKey(r));
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
   * throws for a failing rule: its health and last error record the failure. `skipAlerts` leaves alerting
   * rules out (catch-up evaluations after a restart). Waits for an evaluation in flight to end first.
   */
  evaluate(ts: number, signal?: AbortSignal, skipAlerts = false): Promise<void> {
    return this.locked(() => this.evaluateNow(ts, signal, skipAlerts));
  }

  /**
   * Evaluates the group now, out of schedule (new samples of a metric it reads arrived), at the current time
   * but never before the group's last evaluation. Queues behind an evaluation in flight.
   */
  evaluateTriggered(signal?: AbortSignal): Promise<void> {
    return this.locked(() =>
      this.evaluateNow(Math.max(this.clock.now(), (this.lastTimestamp ?? 0) + 1), signal),
    );
  }

  private locked(fn: () => Promise<void>): Promise<void> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }

  private async evaluateNow(ts: number, signal?: AbortSignal, skipAlerts = false): Promise<void> {
    const wallStart = this.clock.now();
    const t0 = performance.now();
    const g = { rule_group: this.metricKey };
    let written = 0;
    for (const [i, rule] of this.rules.entries()) {
      if (signal?.aborted) break;
      if (rule.kind === 'alerting' && (!this.opts.evaluateAlerts || skipAlerts)) continue;
      // An ingest-triggered evaluation already moved this rule past `ts`: its state is newer than `ts`.
      if (
        rule.kind === 'alerting' &&
        rule.status.lastTimestamp !== undefined &&
        ts <= rule.status.lastTimestamp
      )
        continue;
      const r0 = performance.now();
      rule.status.lastEvaluation = this.clock.now();
      m.ruleEvaluations.inc(g);
      try {
        const out =
          rule.kind === 'recording'
            ? await rule.eval(ts - this.queryOffsetMs, this.opts.query, this.limit, signal)
            : rule.kind === 'anomaly' || rule.kind === 'forecast'
              ? await rule.eval(ts - this.queryOffsetMs, {
                  query: this.opts.query,
                  rangeQuery: this.opts.rangeQuery,
                  limit: this.limit,
                  intervalMs: this.intervalMs,
                  ruleKey: this.ruleKey(rule),
                  store: this.opts.anomalyStore,
                  signal,
                  log: this.opts.log,
                })
              : await rule.eval(
                  ts,
                  this.queryOffsetMs,
                  this.opts.query,
                  this.limit,
                  this.opts.alertContext ?? { externalLabels: {}, externalURL: '' },
                  signal,
                );
        if (rule.kind === 'alerting') {
          // As Prometheus: alerts go out before the ALERTS series is written, so a slow write never delays a
          // notification; they are marked sent even when nothing receives them (no notifier wired).
          const sent = rule.alertsToSend(ts, this.opts.resendDelayMs ?? 60_000, this.intervalMs);
          m.ruleAlertsSent.inc(sent.length);
          if (sent.length && this.opts.notify) {
            const ctx = this.opts.alertContext;
            const link = generatorURL(ctx?.externalURL ?? '', rule.query);
            await this.opts
              .notify(sent.map((a) => toNotified(a, link, ctx?.externalLabels)))
              .catch((err: Error) =>
                this.opts.log?.(`rule ${JSON.stringify(rule.name)}: cannot send alerts: ${err.message}`),
              );
          }
        }
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
    await this.checkpointNow(this.opts.anomalyCheckpointMs ?? 600_000);
    if (this.opts.saveAlerts && this.opts.evaluateAlerts) {
      const hasAlerts = this.rules.some((r) => r.kind === 'alerting' && r.hasAlerts);
      if (hasAlerts || this.savedNonEmpty) {
        try {
          await this.opts.saveAlerts(this, ts, this.alertState(ts));
          this.savedNonEmpty = hasAlerts;
        } catch (err) {
          this.opts.log?.(
            `rule group ${JSON.stringify(this.name)}: cannot save its alerts: ${(err as Error).message}`,
          );
        }
      }
    }
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
      // Catching up after a restart: alerting rules only take part in the newest evaluation, so no alert is
      // sent with times from the outage (Prometheus does not catch up at all).
      await this.evaluate(next, signal, next < catchUpUntil);
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
