/**
 * An alerting rule's state machine, as Prometheus runs it: every series of the expression's result is an
 * alert, pending until it has been active for `for`, then firing; an alert whose series disappears becomes
 * inactive (resolved), unless `keep_firing_for` keeps it firing a while longer. Each evaluation also yields the
 * `ALERTS` and `ALERTS_FOR_STATE` series. `alertsToSend` picks what a notifier must send (Prometheus's
 * `sendAlerts`); `snapshot`/`restore` carry the state across a restart.
 */
import { METRIC_NAME, labelsKey, normalizeLabels, type Labels } from '../model/labels.ts';
import { formatExpr } from '../query/promql/index.ts';
import type { AlertingRuleDef } from './file.ts';
import { RuleEvalError, RuleStatus, type OutputSample, type QueryFn } from './rule.ts';
import { expandTemplate, parseTemplate, type Template } from './template.ts';

export type AlertState = 'inactive' | 'pending' | 'firing';

/** One alert of a rule: the identity is its label set. Times in ms. */
export interface Alert {
  readonly labels: Labels;
  annotations: Readonly<Record<string, string>>;
  state: AlertState;
  value: number;
  activeAt: number;
  firedAt: number | undefined;
  resolvedAt: number | undefined;
  keepFiringSince: number | undefined;
  /** Evaluation time the alert was last handed to the notifier. */
  lastSentAt: number | undefined;
  /** `endsAt` of the last notification of a firing alert. */
  validUntil: number | undefined;
}

/** An alert as kept in the state store (JSON): times in ms, the value as a string (NaN and ±Inf survive). */
export interface SavedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: AlertState;
  readonly value: string;
  readonly activeAt: number;
  readonly firedAt: number | null;
  readonly resolvedAt: number | null;
  readonly keepFiringSince: number | null;
  readonly lastSentAt: number | null;
  readonly validUntil: number | null;
}

/** How pending alerts are restored after a restart (Prometheus's `rules.alert.for-*` flags). */
export interface RestoreOptions {
  /** Evaluation time the saved state belongs to (when Vigil went down). */
  readonly savedAt: number;
  /** Time of the restore (the first evaluation after the restart). */
  readonly now: number;
  /** Pending alerts are restored only when Vigil was down at most this long. */
  readonly outageToleranceMs: number;
  /** A restored pending alert fires no sooner than this after the restart. */
  readonly gracePeriodMs: number;
}

/** What templates may read besides the alert's own labels and value. */
export interface AlertContext {
  readonly externalLabels: Labels;
  readonly externalURL: string;
}

/** Resolved alerts are kept this long so a notifier can still send them as resolved (as Prometheus). */
const RESOLVED_RETENTION_MS = 15 * 60_000;

export class AlertingRule {
  readonly kind = 'alerting';
  readonly status = new RuleStatus();
  readonly labels: Readonly<Record<string, string>>;
  readonly query: string;
  private readonly active = new Map<string, Alert>();
  /** Templates of every label, the group's included (those are templates too in Prometheus). */
  private readonly labelTemplates = new Map<string, Template>();

  constructor(
    readonly def: AlertingRuleDef,
    groupLabels: Readonly<Record<string, string>> = {},
  ) {
    this.labels = { ...groupLabels, ...def.labels };
    this.query = formatExpr(def.query);
    for (const [k, v] of Object.entries(this.labels)) {
      const own = def.labelTemplates.get(k);
      if (own && k in def.labels) this.labelTemplates.set(k, own);
      else {
        try {
          this.labelTemplates.set(k, parseTemplate(v));
        } catch {
          // A group label that is not a valid template is used as written.
        }
      }
    }
  }

  get name(): string {
    return this.def.name;
  }

  /** The rule's state: the most severe state of its alerts. */
  get state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }

  /** Pending and firing alerts (resolved ones kept for notification are left out), sorted by labels. */
  activeAlerts(): Alert[] {
    return [...this.active.values()]
      .filter((a) => a.state !== 'inactive')
      .sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
  }

  /**
   * Evaluates at `ts` (the query runs at `ts - queryOffsetMs`) and advances every alert's state. Returns the
   * `ALERTS` / `ALERTS_FOR_STATE` samples for pending and firing alerts. Throws when the query fails (state
   * untouched), when two alerts end up with the same labels, or when more than `limit` alerts are active.
   */
  async eval(
    ts: number,
    queryOffsetMs: number,
    query: QueryFn,
    limit: number,
    ctx: AlertContext,
    signal?: AbortSignal,
  ): Promise<OutputSample[]> {
    const vector = await query(this.def.expr, ts - queryOffsetMs, signal);
    const current = new Map<string, Alert>();
    for (const s of vector) {
      const data = {
        labels: s.labels,
        externalLabels: ctx.externalLabels,
        externalURL: ctx.externalURL,
        value: s.value,
      };
      const l: Record<string, string> = { ...s.labels };
      delete l[METRIC_NAME];
      for (const [k, v] of Object.entries(this.labels)) {
        const t = this.labelTemplates.get(k);
        l[k] = t ? expandTemplate(t, data) : v;
      }
      l.alertname = this.def.name;
      const annotations: Record<string, string> = {};
      for (const [k, t] of this.def.annotationTemplates) annotations[k] = expandTemplate(t, data);
      const labels = normalizeLabels(l);
      const key = labelsKey(labels);
      if (current.has(key))
        throw new RuleEvalError('vector contains metrics with the same labelset after applying alert labels');
      current.set(key, {
        labels,
        annotations,
        state: 'pending',
        value: s.value,
        activeAt: ts,
        firedAt: undefined,
        resolvedAt: undefined,
        keepFiringSince: undefined,
        lastSentAt: undefined,
        validUntil: undefined,
      });
    }
    for (const [key, a] of current) {
      const prev = this.active.get(key);
      if (prev && prev.state !== 'inactive') {
        prev.value = a.value;
        prev.annotations = a.annotations;
      } else this.active.set(key, a);
    }

    const out: OutputSample[] = [];
    const sampleTs = ts - queryOffsetMs;
    let activeCount = 0;
    for (const [key, a] of this.active) {
      if (!current.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.def.keepFiringForMs > 0) {
          a.keepFiringSince ??= ts;
          keepFiring = ts - a.keepFiringSince < this.def.keepFiringForMs;
        }
        if (
          a.state === 'pending' ||
          (a.resolvedAt !== undefined && ts - a.resolvedAt > RESOLVED_RETENTION_MS)
        )
          this.active.delete(key);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = undefined;
      }
      activeCount++;
      if (a.state === 'pending' && ts - a.activeAt >= this.def.forMs) {
        a.state = 'firing';
        a.firedAt = ts;
      }
      out.push({
        labels: normalizeLabels({ ...a.labels, [METRIC_NAME]: 'ALERTS', alertstate: a.state }),
        t: sampleTs,
        v: 1,
      });
      out.push({
        labels: normalizeLabels({ ...a.labels, [METRIC_NAME]: 'ALERTS_FOR_STATE' }),
        t: sampleTs,
        v: a.activeAt / 1000,
      });
    }
    if (limit > 0 && activeCount > limit) {
      this.active.clear();
      throw new RuleEvalError(`exceeded limit of ${limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /**
   * Alerts the notifier must be given after the evaluation at `ts`, marked as sent (Prometheus's
   * `sendAlerts`): firing alerts not sent within `resendDelayMs`, and resolved alerts (kept 15 minutes after
   * resolving) that were resolved since their last send or not sent within `resendDelayMs`. A firing alert's
   * `validUntil` becomes `ts + 4 × max(resendDelayMs, intervalMs)`, so it survives two missed evaluations or
   * sends. Pending alerts are never sent.
   */
  alertsToSend(ts: number, resendDelayMs: number, intervalMs: number): Alert[] {
    const out: Alert[] = [];
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue;
      const due =
        a.lastSentAt === undefined ||
        (a.resolvedAt !== undefined && a.resolvedAt > a.lastSentAt) ||
        a.lastSentAt + resendDelayMs < ts;
      if (!due) continue;
      a.lastSentAt = ts;
      a.validUntil = ts + 4 * Math.max(resendDelayMs, intervalMs);
      out.push({ ...a });
    }
    return out;
  }

  /** Every alert the rule holds (resolved ones still to be notified included), for the state store. */
  snapshot(): SavedAlert[] {
    return [...this.active.values()].map((a) => ({
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      state: a.state,
      value: String(a.value),
      activeAt: a.activeAt,
      firedAt: a.firedAt ?? null,
      resolvedAt: a.resolvedAt ?? null,
      keepFiringSince: a.keepFiringSince ?? null,
      lastSentAt: a.lastSentAt ?? null,
      validUntil: a.validUntil ?? null,
    }));
  }

  /**
   * Takes over alerts saved before a restart, replacing the rule's (empty) state. Firing and resolved alerts
   * come back as saved (same activeAt, firedAt, resolvedAt: no new firing episode), marked as not sent: the
   * alert pipeline runs in the same process and has forgotten them, so the first evaluation re-sends them
   * with their original `startsAt` (its notification log keeps receivers from being notified twice); a
   * firing alert whose condition cleared while Vigil was down is sent as resolved. Pending alerts follow Prometheus's for-state restore:
   * dropped after an outage longer than `outageToleranceMs` or when `for` is shorter than the grace period
   * (they start pending again), otherwise their pending time excludes the outage and they fire no sooner than
   * `gracePeriodMs` after the restart. Entries that do not have the expected shape are skipped.
   */
  restore(saved: readonly unknown[], o: RestoreOptions): void {
    this.active.clear();
    // The state is as of `savedAt`: an evaluation at an older timestamp must not move it back.
    this.status.lastTimestamp = o.savedAt;
    const down = Math.max(0, o.now - o.savedAt);
    for (const raw of saved) {
      const a = toAlert(raw);
      if (!a) continue;
      if (a.state === 'pending') {
        if (down > o.outageToleranceMs || this.def.forMs < o.gracePeriodMs) continue;
        const remaining = this.def.forMs - (o.savedAt - a.activeAt);
        if (remaining <= 0) {
          // It would have fired at the next evaluation: it does so after the restart.
        } else if (remaining < o.gracePeriodMs) a.activeAt = o.now + o.gracePeriodMs - this.def.forMs;
        else a.activeAt += down;
      }
      a.lastSentAt = undefined;
      this.active.set(labelsKey(a.labels), a);
    }
  }

  /** Takes over the alerts of the same rule from before a reload (the objects move, nothing is copied). */
  adoptState(from: AlertingRule): void {
    this.active.clear();
    for (const [k, a] of from.active) this.active.set(k, a);
    Object.assign(this.status, from.status);
  }

  /** Whether the rule holds any alert (pending, firing, or resolved but still to be notified). */
  get hasAlerts(): boolean {
    return this.active.size > 0;
  }
}

const STATES: readonly AlertState[] = ['inactive', 'pending', 'firing'];

function isStringMap(x: unknown): x is Record<string, string> {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    Object.values(x).every((v) => typeof v === 'string')
  );
}

const optTime = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);

function toAlert(raw: unknown): Alert | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (!isStringMap(r.labels) || !isStringMap(r.annotations)) return undefined;
  if (!STATES.includes(r.state as AlertState) || typeof r.activeAt !== 'number') return undefined;
  return {
    labels: normalizeLabels(r.labels),
    annotations: r.annotations,
    state: r.state as AlertState,
    value: typeof r.value === 'string' ? Number(r.value) : NaN,
    activeAt: r.activeAt,
    firedAt: optTime(r.firedAt),
    resolvedAt: optTime(r.resolvedAt),
    keepFiringSince: optTime(r.keepFiringSince),
    lastSentAt: optTime(r.lastSentAt),
    validUntil: optTime(r.validUntil),
  };
}
