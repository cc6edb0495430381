/**
 * An alerting rule's state machine, as Prometheus runs it: every series of the expression's result is an
 * alert, pending until it has been active for `for`, then firing; an alert whose series disappears becomes
 * inactive (resolved), unless `keep_firing_for` keeps it firing a while longer. Each evaluation also yields the
 * `ALERTS` and `ALERTS_FOR_STATE` series. Sending notifications is not this module's job.
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
}
