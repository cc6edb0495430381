/**
 * Routing and aggregation groups with Alertmanager's timing. An alert is matched against the route tree
 * (depth first, `continue` lets later siblings match too); for every matched route it joins the group of
 * its `group_by` label values. A group first notifies `group_wait` after it was created (at once for an
 * alert that started longer than group_wait ago), then re-checks every `group_interval`; the notification
 * stages decide whether anything is sent (silences, inhibition, time intervals, notification log with
 * repeat_interval). Time comes from the injected clock.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Labels } from '../model/labels.ts';
import type { Clock } from '../rules/clock.ts';
import { deliver } from '../notify/deliver.ts';
import type { Integration } from '../notify/integration.ts';
import { commonPairs, type NotificationMessage, type NotifyAlert } from '../notify/message.ts';
import type { AlertmanagerConfig, Route } from './config/load.ts';
import { isResolved, labelSetString } from './model.ts';
import { matchAll } from './matchers.ts';
import { needsUpdate, NotificationLog } from './nflog.ts';
import type { StoredAlert } from './store.ts';
import { anyContains } from './timeintervals.ts';
import type { StormStage } from './storm/stage.ts';
import { rateLimitedTotal } from './storm/metrics.ts';

/** Routes an alert goes to (Alertmanager's `Route.Match`). */
export function matchRoutes(r: Route, labels: Labels): Route[] {
  if (!matchAll(r.matchers, labels)) return [];
  const all: Route[] = [];
  for (const c of r.routes) {
    const m = matchRoutes(c, labels);
    all.push(...m);
    if (m.length && !c.continue) break;
  }
  return all.length ? all : [r];
}

export function groupLabelsFor(r: Route, labels: Labels): Labels {
  if (r.groupByAll) return { ...labels };
  const out: Record<string, string> = {};
  for (const l of r.groupBy) if (labels[l]) out[l] = labels[l];
  return out;
}

/** Stable ID of an alert group: SHA-256 of its group key, hex (Alertmanager's `GroupKey.Hash()`). */
export function groupIdOf(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex');
}

/** One notification as recorded (delivered, failed, or nothing to send is not recorded). */
export interface NotificationRecord {
  readonly id: string;
  readonly groupId: string;
  readonly groupKey: string;
  readonly receiver: string;
  /** `webhook[0]`, `email[1]`, ... */
  readonly integration: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly {
    readonly fingerprint: string;
    readonly status: 'firing' | 'resolved';
    readonly labels: Labels;
  }[];
  readonly groupLabels: Labels;
  /** When the notification was started (epoch ms). */
  readonly at: number;
  readonly attempts: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface DispatcherDeps {
  readonly clock: Clock;
  readonly config: AlertmanagerConfig;
  /** Integrations per receiver name. */
  readonly integrations: ReadonlyMap<string, readonly Integration[]>;
  readonly nflog: NotificationLog;
  /** IDs of active silences muting the labels. */
  readonly silencedBy: (labels: Labels, now: number) => string[];
  /** Fingerprints of alerts inhibiting the labels. */
  readonly inhibitedBy: (labels: Labels, now: number) => string[];
  /** Read at every notification (the listening port may be known only after start). */
  readonly externalURL: () => string;
  readonly log: (msg: string) => void;
  readonly onNotification: (r: NotificationRecord) => void;
  /** Storm protection (docs/storm.md); absent = Alertmanager's behaviour exactly. */
  readonly storm?: StormStage<DeferredJob>;
  /** Tells the storm stage's runner that something may be due (a deferral, a new summary member). */
  readonly stormWake?: () => void;
  /**
   * How often groups left without alerts are removed (Alertmanager's dispatcher maintenance, 30 s). Until
   * then an emptied group keeps its timer: an alert joining it goes out at the group's next tick, without
   * a new group_wait, as in Alertmanager.
   */
  readonly maintenanceMs?: number;
}

/** Alertmanager's dispatcher maintenance interval. */
export const MAINTENANCE_MS = 30_000;

/**
 * A notification the storm stage deferred (rate limit): `run` delivers it, logs it in the notification log and
 * records it, and says whether delivery succeeded. Built by the aggregation group, run by the storm runner.
 */
export interface DeferredJob {
  alerts: readonly StoredAlert[];
  readonly run: (now: number) => Promise<boolean>;
}

/** Alertmanager's alert order in notifications: by job, then instance, then the whole label set. */
function compareAlerts(a: StoredAlert, b: StoredAlert): number {
  for (const k of ['job', 'instance']) {
    const x = a.labels[k];
    const y = b.labels[k];
    if (x !== undefined && y !== undefined && x !== y) return x < y ? -1 : 1;
    if (x !== undefined && y === undefined) return -1;
    if (x === undefined && y !== undefined) return 1;
  }
  const sa = labelSetString(a.labels);
  const sb = labelSetString(b.labels);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** An aggregation group: the alerts of one route with equal group labels. */
export class AggregationGroup {
  readonly id: string;
  readonly key: string;
  readonly alerts = new Map<string, StoredAlert>();
  private hasFlushed = false;
  private nextAt: number;
  private wake: AbortController | undefined;
  private readonly stop = new AbortController();
  /** Resolves when the run loop has ended. */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly route: Route,
    readonly labels: Labels,
    private readonly deps: DispatcherDeps,
  ) {
    this.key = `${route.key}:${labelSetString(labels)}`;
    this.id = groupIdOf(this.key);
    this.nextAt = deps.clock.now() + route.groupWait;
  }

  get receiver(): string {
    return this.route.receiver;
  }

  start(): void {
    this.done = this.run().catch((err: Error) => this.deps.log(`alert group ${this.key}: ${err.message}`));
  }

  stopNow(): void {
    this.stop.abort();
  }

  insert(a: StoredAlert, now: number): void {
    this.alerts.set(a.fingerprint, a);
    // An alert that started long ago is not held back by group_wait.
    if (!this.hasFlushed && a.startsAt + this.route.groupWait < now && this.nextAt > now) {
      this.nextAt = now;
      this.wake?.abort();
    }
  }

  private async run(): Promise<void> {
    const clock = this.deps.clock;
    while (!this.stop.signal.aborted) {
      const now = clock.now();
      if (now < this.nextAt) {
        const wake = new AbortController();
        this.wake = wake;
        await clock.sleep(this.nextAt - now, AbortSignal.any([wake.signal, this.stop.signal]));
        this.wake = undefined;
        continue;
      }
      this.hasFlushed = true;
      this.nextAt = now + this.route.groupInterval;
      try {
        await this.flush(now);
      } catch (err) {
        // A failing stage (for example the state store) must not end the group: retry at the next tick.
        this.deps.log(`alert group ${this.key}: flush failed: ${(err as Error).message}`);
      }
      // A group left empty keeps ticking (with nothing to send) until the dispatcher's maintenance removes it.
    }
  }

  private async flush(now: number): Promise<void> {
    const all = [...this.alerts.values()].sort(compareAlerts);
    // Flapping alerts are held: left out of notifications (and kept in the group) until they are stable.
    const storm = this.deps.storm;
    const snapshot = storm ? all.filter((a) => !storm.flaps.held(a, now)) : all;
    const ok = await this.notify(snapshot, now);
    if (!ok) return;
    // Resolved alerts that were notified (and not updated meanwhile) leave the group.
    for (const a of snapshot)
      if (isResolved(a, now) && this.alerts.get(a.fingerprint) === a) this.alerts.delete(a.fingerprint);
  }

  /** The notification stages. True when every integration succeeded (or had nothing to do). */
  private async notify(all: readonly StoredAlert[], now: number): Promise<boolean> {
    const d = this.deps;
    const alerts = all.filter(
      (a) => d.inhibitedBy(a.labels, now).length === 0 && d.silencedBy(a.labels, now).length === 0,
    );
    if (alerts.length === 0) return true;
    const intervals = (names: readonly string[]) => names.flatMap((n) => d.config.timeIntervals.get(n) ?? []);
    if (this.route.muteTimeIntervals.length && anyContains(intervals(this.route.muteTimeIntervals), now))
      return true;
    if (this.route.activeTimeIntervals.length && !anyContains(intervals(this.route.activeTimeIntervals), now))
      return true;

    const firing = new Set(alerts.filter((a) => !isResolved(a, now)).map((a) => a.fingerprint));
    const resolved = new Set(alerts.filter((a) => isResolved(a, now)).map((a) => a.fingerprint));
    const integrations = d.integrations.get(this.receiver) ?? [];
    const results = await Promise.all(
      integrations.map(async (integ) => {
        const integName = `${integ.name}[${integ.index}]`;
        const logKey = NotificationLog.key(this.key, this.receiver, integName);
        const entry = d.nflog.get(logKey);
        // An alert that stopped flapping is told once with its final state, even if its log already has it.
        const released =
          d.storm !== undefined &&
          entry !== undefined &&
          alerts.some((a) => (d.storm!.flaps.releasedAt(a.fingerprint) ?? -Infinity) > entry.timestamp);
        if (
          !released &&
          !needsUpdate(entry, firing, resolved, integ.sendResolved, this.route.repeatInterval, now)
        )
          return true;
        const sent = integ.sendResolved ? alerts : alerts.filter((a) => firing.has(a.fingerprint));
        const logEntry = { firing: [...firing], resolved: [...resolved], timestamp: now };
        if (sent.length === 0) {
          await d.nflog.set(logKey, logEntry);
          return true;
        }
        if (!d.storm) return this.send(integ, integName, sent, logKey, logEntry, now);
        const job: DeferredJob = {
          alerts: sent,
          run: (at) =>
            this.send(integ, integName, job.alerts, logKey, { ...logEntry, timestamp: at }, at, now),
        };
        const decision = d.storm.route(
          {
            receiver: this.receiver,
            integration: integName,
            groupKey: this.key,
            groupWaitMs: this.route.groupWait,
            groupIntervalMs: this.route.groupInterval,
            repeatIntervalMs: this.route.repeatInterval,
            sendResolved: integ.sendResolved,
            alerts: sent,
          },
          job,
          now,
        );
        if (decision.absorbed) d.stormWake?.();
        if (decision.kind === 'held') {
          // Storm mode: alone in its correlated group, it waits briefly for related alerts (the runner sends it).
          job.alerts = decision.alerts;
          d.stormWake?.();
          return false;
        }
        if (decision.kind === 'deferred') {
          job.alerts = decision.alerts;
          rateLimitedTotal.inc({ receiver: this.receiver });
          d.onNotification({
            ...this.recordOf(this.message(decision.alerts, now), integName, now),
            attempts: 0,
            ok: false,
            error: `${integName}: rate limited: deferred by storm protection; sent when the receiver's limit allows, merged with newer changes of the group`,
          });
          d.stormWake?.();
          return false;
        }
        if (decision.alerts.length === 0) {
          // Everything went into storm summaries, which now carry these alerts.
          await d.nflog.set(logKey, logEntry);
          return true;
        }
        return this.send(integ, integName, decision.alerts, logKey, logEntry, now);
      }),
    );
    return results.every(Boolean);
  }

  /**
   * Delivers `alerts` through one integration and records the outcome; on success logs `logEntry`. `at` is
   * when this runs; `builtAt` when the group decided to notify (alert states are as of then).
   */
  private async send(
    integ: Integration,
    integName: string,
    alerts: readonly StoredAlert[],
    logKey: string,
    logEntry: { firing: string[]; resolved: string[]; timestamp: number },
    at: number,
    builtAt = at,
  ): Promise<boolean> {
    const d = this.deps;
    const msg = this.message(alerts, builtAt);
    const outcome = await deliver(integ, msg, {
      clock: d.clock,
      timeoutMs: this.route.groupInterval,
      signal: this.stop.signal,
    });
    if (outcome.ok) await d.nflog.set(logKey, logEntry);
    else d.log(`notify ${this.receiver} ${integName} for group ${this.key}: ${outcome.error}`);
    d.onNotification({
      ...this.recordOf(msg, integName, at),
      attempts: outcome.attempts,
      ok: outcome.ok,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    return outcome.ok;
  }

  private recordOf(msg: NotificationMessage, integName: string, at: number): NotificationRecord {
    return {
      id: msg.id,
      groupId: this.id,
      groupKey: this.key,
      receiver: this.receiver,
      integration: integName,
      status: msg.status,
      alerts: msg.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.status, labels: a.labels })),
      groupLabels: this.labels,
      at,
      attempts: 0,
      ok: false,
    };
  }

  private message(alerts: readonly StoredAlert[], now: number): NotificationMessage {
    const notifyAlerts: NotifyAlert[] = alerts.map((a) => {
      const res = isResolved(a, now);
      return {
        status: res ? 'resolved' : 'firing',
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: res ? a.endsAt : undefined,
        generatorURL: a.generatorURL,
        fingerprint: a.fingerprint,
      };
    });
    return {
      id: randomUUID(),
      groupId: this.id,
      groupKey: this.key,
      receiver: this.receiver,
      status: notifyAlerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      alerts: notifyAlerts,
      groupLabels: this.labels,
      commonLabels: commonPairs(alerts.map((a) => a.labels)),
      commonAnnotations: commonPairs(alerts.map((a) => a.annotations)),
      externalURL: this.deps.externalURL(),
    };
  }
}

/** Owns the aggregation groups of one configuration. */
export class Dispatcher {
  private readonly groups = new Map<string, AggregationGroup>();
  private stopped = false;
  private readonly stopMaintenance = new AbortController();
  private maintenance: Promise<void> | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Removes the groups without alerts every maintenance interval, from the first alert until stop. */
  private async maintain(): Promise<void> {
    const every = this.deps.maintenanceMs ?? MAINTENANCE_MS;
    while (!this.stopMaintenance.signal.aborted) {
      await this.deps.clock.sleep(every, this.stopMaintenance.signal);
      if (this.stopMaintenance.signal.aborted) return;
      for (const [key, g] of this.groups)
        if (g.alerts.size === 0) {
          g.stopNow();
          this.groups.delete(key);
        }
    }
  }

  /** Routes an alert into its groups (creating and starting groups as needed). */
  process(a: StoredAlert): void {
    if (this.stopped) return;
    this.maintenance ??= this.maintain();
    const now = this.deps.clock.now();
    for (const route of matchRoutes(this.deps.config.route, a.labels)) {
      const labels = groupLabelsFor(route, a.labels);
      const mapKey = `${route.key}:${labelSetString(labels)}`;
      let g = this.groups.get(mapKey);
      if (!g) {
        g = new AggregationGroup(route, labels, this.deps);
        this.groups.set(mapKey, g);
        g.insert(a, now);
        g.start();
      } else {
        g.insert(a, now);
      }
    }
  }

  /** Current groups with alerts, in creation order (emptied groups awaiting maintenance are left out). */
  list(): AggregationGroup[] {
    return [...this.groups.values()].filter((g) => g.alerts.size > 0);
  }

  /** Stops every group and waits for running notifications to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopMaintenance.abort();
    await this.maintenance;
    const gs = [...this.groups.values()];
    for (const g of gs) g.stopNow();
    await Promise.all(gs.map((g) => g.done));
    this.groups.clear();
  }
}
