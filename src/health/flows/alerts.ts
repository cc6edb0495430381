/**
 * Turns flow results into Alertmanager alerts: a violated check fires (re-sent every evaluation with an
 * `endsAt` a few intervals ahead, as Prometheus does, so a stopped Vigil's alerts expire), a check that passes
 * again is resolved with `endsAt` = now. A check that turns unknown is not re-sent and expires by itself:
 * without data there is no evidence either way.
 */
import type { PostableAlert } from '../../alerts/sink.ts';
import type { FlowConfig } from './config.ts';
import {
  ALERT_NAMES,
  type CheckKind,
  type CheckResult,
  type FlowResult,
  type PartResult,
} from './evaluate.ts';

/** How many intervals ahead `endsAt` of a firing alert lies. */
const ENDS_AFTER_INTERVALS = 4;

interface Firing {
  readonly labels: Record<string, string>;
  readonly startsAt: string;
}

function severityOf(flow: FlowConfig, kind: CheckKind): string {
  switch (kind) {
    case 'conservation':
    case 'handoff':
      return flow.severity.conservation;
    case 'freshness':
      return flow.severity.stale;
    case 'throughput':
      return flow.severity.throughput;
    case 'lag':
      return flow.severity.lag;
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
}

function where(flow: string, part: PartResult): string {
  return part.channel
    ? `channel ${part.name} (from stage ${part.stage}) of flow ${flow}`
    : `stage ${part.name} of flow ${flow}`;
}

function summary(flow: string, part: PartResult, c: CheckResult): string {
  const w = where(flow, part);
  switch (c.kind) {
    case 'conservation':
      return `Items unaccounted for at ${w}: ${fmt(c.numbers.gap_percent ?? 0)}% gap`;
    case 'handoff':
      return `Items lost on the way into ${w}: ${fmt(c.numbers.gap_percent ?? 0)}% gap`;
    case 'freshness':
      return `No new data at ${w} for ${fmt(c.value ?? 0)}s`;
    case 'throughput':
      return `Throughput drop at ${w}: ${fmt(c.value ?? 0)}/s against a baseline of ${fmt(c.numbers.baseline ?? 0)}/s`;
    case 'lag':
      return `Lag at ${w} is ${fmt(c.value ?? 0)} (max ${fmt(c.expected ?? 0)})`;
  }
}

/**
 * Keeps which flow alerts fire and builds the alerts to send after each evaluation. Not safe for concurrent
 * use; one instance per monitor.
 */
export class FlowAlerts {
  private readonly firing = new Map<string, Firing>();

  /** Alerts to send for `result` (firing and newly resolved); `intervalMs` sets how far ahead `endsAt` lies. */
  update(flow: FlowConfig, result: FlowResult, intervalMs: number): PostableAlert[] {
    const now = new Date(result.t).toISOString();
    const out: PostableAlert[] = [];
    const seen = new Set<string>();
    for (const part of [...result.stages, ...result.channels]) {
      for (const c of part.checks) {
        const labels: Record<string, string> = {
          ...flow.labels,
          alertname: ALERT_NAMES[c.kind],
          flow: flow.name,
          stage: part.stage,
          check: c.kind,
          severity: severityOf(flow, c.kind),
        };
        if (part.channel) labels.channel = part.name;
        const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
        const was = this.firing.get(key);
        if (c.status === 'violated') {
          seen.add(key);
          const f = was ?? { labels, startsAt: now };
          this.firing.set(key, f);
          out.push({
            labels,
            annotations: annotations(flow.name, part, c),
            startsAt: f.startsAt,
            endsAt: new Date(result.t + ENDS_AFTER_INTERVALS * intervalMs).toISOString(),
          });
        } else if (c.status === 'ok') {
          seen.add(key);
          if (was) {
            this.firing.delete(key);
            out.push({
              labels: was.labels,
              annotations: annotations(flow.name, part, c),
              startsAt: was.startsAt,
              endsAt: now,
            });
          }
        } else if (was) {
          // Unknown: not re-sent, so the alert expires at its last endsAt; forgotten here so a later pass
          // does not send a resolution for an alert the pipeline already let go.
          this.firing.delete(key);
        }
      }
    }
    return out;
  }
}

function annotations(flow: string, part: PartResult, c: CheckResult): Record<string, string> {
  const a: Record<string, string> = {
    summary: summary(flow, part, c),
    description: c.reason,
  };
  for (const [k, v] of Object.entries(c.numbers)) a[k] = fmt(v);
  if (c.value !== null) a.value = fmt(c.value);
  if (c.expected !== null) a.expected = fmt(c.expected);
  return a;
}
