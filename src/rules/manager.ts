/**
 * Runs every loaded rule group on its own schedule and keeps, per group, two things in the state store's kv:
 * the last scheduled evaluation timestamp (namespace `rules`), so a restart resumes right after it, and the
 * alerts of its alerting rules (namespace `rule_alerts`), so pending and firing alerts survive a restart
 * without duplicate or lost notifications. Groups with alerting rules are also evaluated as soon as samples
 * of a metric they read are ingested (throttled), so an alert can fire well within a second. Rule files can
 * be reloaded while running; unchanged groups keep running untouched, changed ones keep their alerts.
 */
import type { JsonValue, KvRepo } from '../state/interface.ts';
import type { RuleGroupDef } from './file.ts';
import { RuleGroup, type GroupOptions } from './group.ts';
import * as m from './metrics.ts';
import type { NotifiedAlert, NotifyFn } from './notify.ts';
import { spendTrigger, triggerTime, type SubscribeIngested, type TriggerBudget } from './trigger.ts';
import { kvAnomalyStore } from '../anomaly/state.ts';

/** Namespace of the state store's kv repository holding `{ lastEvaluation: ms }` per group key. */
export const STATE_NAMESPACE = 'rules';
/** Namespace holding each group's alerts (`SavedGroupAlerts`) per group key. */
export const ALERTS_NAMESPACE = 'rule_alerts';

/** Evaluation on ingestion: when and how often a group whose metrics were written is evaluated. */
export interface IngestEvaluation {
  readonly subscribe: SubscribeIngested;
  /**
   * Least time between the starts of two ingest-triggered evaluations of a group: a write to a group with
   * credit left is evaluated at once, and the rest of a burst of writes shares one evaluation this long after.
   */
  readonly delayMs: number;
  /**
   * Ingest-triggered evaluations of a group refill at one per this time, up to TRIGGER_BURST (2) in hand: on
   * average at most one per interval, and never more than two within one.
   */
  readonly minIntervalMs: number;
  /**
   * Most ingest-triggered group evaluations running at once (default 1), which bounds their CPU use. Due
   * groups wait in a queue that serves the least recently triggered group first, so a group whose metric
   * is rarely written (a threshold just crossed) goes ahead of groups whose metrics are written all the time.
   */
  readonly concurrency?: number;
  /**
   * Share of one core that ingest-triggered evaluation may use when metrics are written all the time (default
   * 0.5). Each group waits at least `cost × hot / share` between triggered evaluations, where `cost` is its
   * last triggered evaluation's duration and `hot` the number of groups triggered within the last 10 s, so
   * together they stay within the share. A group not triggered lately is not held back at all.
   */
  readonly busyShare?: number;
}

export interface RuleManagerOptions extends Omit<GroupOptions, 'saveAlerts'> {
  /** Where progress and alerts are kept across restarts; without it every start begins afresh. */
  readonly kv?: KvRepo;
  /** Most missed evaluations per group to catch up on after a restart (default 10). */
  readonly maxCatchUp?: number;
  /** Pending alerts are restored only after an outage at most this long (default 1h). */
  readonly forOutageToleranceMs?: number;
  /** A restored pending alert fires no sooner than this after a restart (default 10m). */
  readonly forGracePeriodMs?: number;
  /** Evaluate groups with alerting rules when their metrics are ingested; off when absent. */
  readonly ingest?: IngestEvaluation;
}

interface Loop {
  readonly ctl: AbortController;
  readonly done: Promise<void>;
}

/** A group's definition as a string: equal strings mean the group needs no restart on reload. */
function fingerprint(d: RuleGroupDef): string {
  return JSON.stringify([
    d.file,
    d.name,
    d.intervalMs ?? null,
    d.queryOffsetMs ?? null,
    d.limit,
    Object.entries(d.labels).sort(),
    d.rules.map((r) =>
      r.kind === 'recording'
        ? [r.kind, r.name, r.expr, Object.entries(r.labels).sort()]
        : r.kind === 'anomaly' || r.kind === 'forecast'
          ? [
              r.kind,
              JSON.stringify({ ...r, query: undefined, line: undefined }),
              Object.entries(r.labels).sort(),
            ]
          : [
              r.kind,
              r.name,
              r.expr,
              r.forMs,
              r.keepFiringForMs,
              Object.entries(r.labels).sort(),
              Object.entries(r.annotations).sort(),
            ],
    ),
  ]);
}

export class RuleManager {
  private current: RuleGroup[];
  private readonly fingerprints = new WeakMap<RuleGroup, string>();
  private readonly loops = new Map<RuleGroup, Loop>();
  private readonly groupOpts: GroupOptions;
  private started = false;
  private stopped = false;
  private notifyTail: Promise<void> = Promise.resolve();
  /** Ingest triggering: groups by metric name they read, groups that may read any metric. */
  private byName = new Map<string, RuleGroup[]>();
  private anyName: RuleGroup[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly timers = new Map<RuleGroup, ReturnType<typeof setTimeout>>();
  private readonly lastTriggered = new Map<RuleGroup, number>();
  private readonly triggered = new Set<Promise<void>>();
  private readonly due = new Set<RuleGroup>();
  /** Duration (ms) of each group's last ingest-triggered evaluation. */
  private readonly cost = new Map<RuleGroup, number>();
  /** Each group's allowance of ingest-triggered evaluations. */
  private readonly budget = new Map<RuleGroup, TriggerBudget>();

  constructor(
    defs: readonly RuleGroupDef[],
    private readonly opts: RuleManagerOptions,
  ) {
    const kv = opts.kv;
    const notify = opts.notify;
    this.groupOpts = {
      ...opts,
      evaluateAlerts: opts.evaluateAlerts ?? true,
      notify: notify ? (alerts) => this.enqueueNotification(notify, alerts) : undefined,
      saveAlerts: kv
        ? (g, _ts, state) => kv.set(ALERTS_NAMESPACE, g.key, state as unknown as JsonValue)
        : undefined,
      anomalyStore: opts.anomalyStore ?? (kv ? kvAnomalyStore(kv) : undefined),
    };
    this.current = defs.map((d) => this.newGroup(d));
  }

  /** The groups currently loaded, in file order. */
  get groups(): readonly RuleGroup[] {
    return this.current;
  }

  private newGroup(d: RuleGroupDef): RuleGroup {
    const g = new RuleGroup(d, this.groupOpts);
    this.fingerprints.set(g, fingerprint(d));
    return g;
  }

  /**
   * Reads each group's saved progress and alerts, restores the alerts and starts evaluating. Resolves once
   * every group is scheduled.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('rule manager already started');
    this.started = true;
    const saved = new Map<string, number>();
    const kv = this.opts.kv;
    if (kv && this.current.length) {
      for (const e of await kv.list(STATE_NAMESPACE)) {
        const v = e.value as { lastEvaluation?: unknown } | null;
        if (v && typeof v === 'object' && typeof v.lastEvaluation === 'number')
          saved.set(e.key, v.lastEvaluation);
      }
      const now = (this.opts.clock ?? { now: () => Date.now() }).now();
      const alerts = new Map((await kv.list(ALERTS_NAMESPACE)).map((e) => [e.key, e.value]));
      for (const g of this.current) {
        const a = alerts.get(g.key);
        if (a !== undefined) g.restoreAlerts(a, now, this.restoreOptions());
      }
    }
    for (const g of this.current) this.startLoop(g, saved.get(g.key));
    // The rule files loaded at start count as a successful load, as in Prometheus.
    m.rulesLastReloadSuccessful.set(1);
    m.rulesLastReloadTime.set(Date.now() / 1000);
    this.indexForIngest();
    if (this.opts.ingest) this.unsubscribe = this.opts.ingest.subscribe((names) => this.onIngested(names));
  }

  private restoreOptions() {
    return {
      outageToleranceMs: this.opts.forOutageToleranceMs ?? 3_600_000,
      gracePeriodMs: this.opts.forGracePeriodMs ?? 600_000,
    };
  }

  private startLoop(g: RuleGroup, resumeAfter: number | undefined): void {
    const ctl = new AbortController();
    const kv = this.opts.kv;
    const done = g
      .run(ctl.signal, {
        resumeAfter,
        maxCatchUp: this.opts.maxCatchUp,
        onEvaluated: kv ? (ts) => kv.set(STATE_NAMESPACE, g.key, { lastEvaluation: ts }) : undefined,
      })
      .catch((err: Error) => this.opts.log?.(`rule group ${JSON.stringify(g.name)} stopped: ${err.message}`));
    this.loops.set(g, { ctl, done });
  }

  private async stopLoop(g: RuleGroup): Promise<void> {
    const t = this.timers.get(g);
    if (t) clearTimeout(t);
    this.timers.delete(g);
    this.due.delete(g);
    this.lastTriggered.delete(g);
    this.cost.delete(g);
    this.budget.delete(g);
    const loop = this.loops.get(g);
    if (!loop) return;
    this.loops.delete(g);
    loop.ctl.abort();
    await loop.done;
  }

  /**
   * Replaces the rule groups with `defs` while running (the caller has validated them). A group whose
   * definition is unchanged keeps running as it is; a changed group restarts and keeps the alerts of rules
   * with the same name and expression; a removed group stops and its saved alerts are dropped (its firing
   * alerts end at their `endsAt`, as in Prometheus).
   */
  async reload(defs: readonly RuleGroupDef[]): Promise<void> {
    if (this.stopped) throw new Error('rule manager stopped');
    const old = new Map(this.current.map((g) => [g.key, g]));
    const next: RuleGroup[] = [];
    const restarted: { g: RuleGroup; from: RuleGroup | undefined }[] = [];
    for (const d of defs) {
      const prev = old.get(`${d.file};${d.name}`);
      if (prev && this.fingerprints.get(prev) === fingerprint(d)) {
        next.push(prev);
        old.delete(prev.key);
        continue;
      }
      const g = this.newGroup(d);
      next.push(g);
      restarted.push({ g, from: prev });
    }
    // Stop what changed or went away before the replacements start, so no two loops share a group key.
    for (const { from } of restarted) if (from) await this.stopLoop(from);
    const kept = new Set(next);
    for (const g of old.values()) {
      if (kept.has(g)) continue;
      if (!restarted.some((r) => r.from === g)) {
        await this.stopLoop(g);
        g.forgetMetrics();
        await this.opts.kv?.delete(ALERTS_NAMESPACE, g.key);
        await this.opts.kv?.delete(STATE_NAMESPACE, g.key);
        await g.dropAnomalyState();
      }
    }
    this.current = next;
    for (const { g, from } of restarted) {
      if (from) g.adoptState(from);
      if (this.started) this.startLoop(g, from?.lastTimestamp);
    }
    this.indexForIngest();
  }

  /** Stops every group, waits for evaluations in flight and for queued notifications to be delivered. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.due.clear();
    await Promise.all([...this.loops.keys()].map((g) => this.stopLoop(g)));
    await Promise.all([...this.triggered]);
    // Anomaly detectors are saved once more, so a restart resumes from the latest evaluation.
    for (const g of this.current) await g.checkpointAnomalies();
    await this.notifyTail;
    for (const g of this.current) g.forgetMetrics();
  }

  /** Notifications go out one call at a time, in order, without holding up evaluation. */
  private enqueueNotification(notify: NotifyFn, alerts: NotifiedAlert[]): Promise<void> {
    this.notifyTail = this.notifyTail
      .then(() => notify(alerts))
      .catch((err: Error) => this.opts.log?.(`cannot send ${alerts.length} alert(s): ${err.message}`));
    return Promise.resolve();
  }

  private indexForIngest(): void {
    this.byName = new Map();
    this.anyName = [];
    if (!this.opts.ingest || this.groupOpts.evaluateAlerts === false) return;
    for (const g of this.current) {
      if (!g.hasAlertingRules) continue;
      const names = g.metricNames();
      if (!names) {
        this.anyName.push(g);
        continue;
      }
      for (const n of names) {
        const list = this.byName.get(n);
        if (list) list.push(g);
        else this.byName.set(n, [g]);
      }
    }
  }

  private onIngested(names: ReadonlySet<string>): void {
    if (this.stopped) return;
    for (const g of this.anyName) this.schedule(g);
    for (const n of names) for (const g of this.byName.get(n) ?? []) this.schedule(g);
  }

  /** Time per ingest-triggered evaluation of `g` at which its allowance refills (throttle and busy share). */
  private gapFor(g: RuleGroup, now: number): number {
    const ing = this.opts.ingest!;
    let hot = 0;
    for (const t of this.lastTriggered.values()) if (now - t < 10_000) hot++;
    const share = Math.min(1, Math.max(0.01, ing.busyShare ?? 0.5));
    return Math.max(ing.minIntervalMs, ((this.cost.get(g) ?? 0) * hot) / share);
  }

  /**
   * Makes `g` due at once when it has credit for a triggered evaluation (or `delayMs` after the previous one
   * started), otherwise once its credit has refilled; due groups then run as the concurrency limit allows.
   */
  private schedule(g: RuleGroup): void {
    const ing = this.opts.ingest!;
    if (this.timers.has(g) || this.due.has(g) || !this.loops.has(g)) return;
    const now = Date.now();
    const at = triggerTime(this.budget.get(g), now, this.gapFor(g, now), ing.delayMs);
    const timer = setTimeout(() => {
      this.timers.delete(g);
      this.due.add(g);
      this.pump();
    }, at - now);
    this.timers.set(g, timer);
  }

  /** Starts due groups, least recently triggered first, up to the concurrency limit. */
  private pump(): void {
    const max = Math.max(1, this.opts.ingest?.concurrency ?? 1);
    while (this.triggered.size < max && this.due.size && !this.stopped) {
      let g: RuleGroup | undefined;
      for (const c of this.due)
        if (!g || (this.lastTriggered.get(c) ?? -Infinity) < (this.lastTriggered.get(g) ?? -Infinity)) g = c;
      this.due.delete(g!);
      const loop = this.loops.get(g!);
      if (!loop || loop.ctl.signal.aborted) continue;
      const now = Date.now();
      this.budget.set(g!, spendTrigger(this.budget.get(g!), now, this.gapFor(g!, now)));
      this.lastTriggered.set(g!, now);
      m.ruleIngestEvaluations.inc({ rule_group: g!.key });
      const t0 = performance.now();
      const p: Promise<void> = g!
        .evaluateTriggered(loop.ctl.signal)
        .catch((err: Error) => this.opts.log?.(`rule group ${JSON.stringify(g!.name)}: ${err.message}`))
        .finally(() => {
          this.cost.set(g!, performance.now() - t0);
          this.triggered.delete(p);
          this.pump();
        });
      this.triggered.add(p);
    }
  }
}
