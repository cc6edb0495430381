/**
 * Replaying the labelled alert-storm corpus (src/alerts/correlate/corpus) into real alert pipelines, time
 * compressed, and scoring the webhook notifications they send against the corpus's ground truth. Pure: the
 * benchmark does the posting, the waiting and the receiving.
 */
import type { CorpusCase } from '../../src/alerts/correlate/corpus/generate.ts';

const MIN = 60_000;

/** Label every replayed alert carries: the corpus case it comes from, so notifications can be attributed. */
export const CASE_LABEL = 'bench_case';

/** An alert starting or ending during a replay. */
export interface ReplayEvent {
  /** Real milliseconds after the replay of the case starts. */
  readonly at: number;
  readonly kind: 'fire' | 'resolve';
  /** Index into the case's `alerts`. */
  readonly alert: number;
}

/**
 * The case's episode starts and ends on a compressed clock: `minuteMs` real milliseconds per corpus minute,
 * starting `leadMinutes` corpus minutes before the first episode (the quiet start of a case is skipped).
 * Sorted by time; at equal times resolves come first, so an alert that ends and starts again stays active.
 */
export function replayTimeline(
  c: CorpusCase,
  minuteMs: number,
  leadMinutes = 1,
): { events: ReplayEvent[]; durationMs: number } {
  if (!(minuteMs > 0)) throw new Error(`replayTimeline: minuteMs must be positive, got ${minuteMs}`);
  const episodes = c.alerts.flatMap((a, i) => a.episodes.map((e) => ({ ...e, i })));
  if (!episodes.length) return { events: [], durationMs: 0 };
  const origin = Math.min(...episodes.map((e) => e.start)) - leadMinutes * MIN;
  const real = (t: number) => ((t - origin) / MIN) * minuteMs;
  const events: ReplayEvent[] = [];
  for (const e of episodes) {
    events.push({ at: real(e.start), kind: 'fire', alert: e.i });
    events.push({ at: real(e.end), kind: 'resolve', alert: e.i });
  }
  events.sort(
    (x, y) => x.at - y.at || (x.kind === y.kind ? x.alert - y.alert : x.kind === 'resolve' ? -1 : 1),
  );
  return { events, durationMs: events[events.length - 1]!.at };
}

/** Route timers scaled like the corpus clock: `seconds` of corpus time as real milliseconds. */
export function scaled(seconds: number, minuteMs: number): number {
  return Math.max(1, Math.round((seconds / 60) * minuteMs));
}

/** The identity of an alert in a notification: its labels without the case label and Vigil's own markers. */
export function alertKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== CASE_LABEL && !k.startsWith('vigil_'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** What the scoring needs of a webhook notification. */
export interface ScoredNotification {
  readonly alerts: readonly { readonly status: string; readonly labels: Record<string, string> }[];
}

/** One system's notifications on the replayed cases, against the ground truth. */
export interface ReplayScore {
  readonly alerts: number;
  /** Firing periods replayed: what a pipeline without grouping would notify once each. */
  readonly episodes: number;
  readonly incidents: number;
  /** Every webhook notification. */
  readonly notifications: number;
  /** Notifications with at least one firing alert. */
  readonly firing: number;
  /** Notifications whose alerts had all resolved. */
  readonly resolvedOnly: number;
  /** Incidents one of whose alerts was firing in some notification. */
  readonly incidentsNotified: number;
  /** Firing alerts in notifications that match no replayed alert (should be 0). */
  readonly unknownAlerts: number;
}

/** Scores `notifications` (all of one system) against `cases`, attributing alerts by the case label. */
export function scoreReplay(
  cases: readonly CorpusCase[],
  notifications: readonly ScoredNotification[],
): ReplayScore {
  const incidentOf = new Map<string, string>();
  for (const c of cases)
    for (const a of c.alerts)
      incidentOf.set(`${c.name}\u0000${alertKey(a.labels)}`, `${c.name}\u0000${a.incident}`);
  const notified = new Set<string>();
  let firing = 0;
  let resolvedOnly = 0;
  let unknownAlerts = 0;
  for (const n of notifications) {
    const live = n.alerts.filter((a) => a.status === 'firing');
    if (!live.length) {
      resolvedOnly++;
      continue;
    }
    firing++;
    for (const a of live) {
      const inc = incidentOf.get(`${a.labels[CASE_LABEL] ?? ''}\u0000${alertKey(a.labels)}`);
      if (inc) notified.add(inc);
      else unknownAlerts++;
    }
  }
  return {
    alerts: cases.reduce((n, c) => n + c.alerts.length, 0),
    episodes: cases.reduce((n, c) => n + c.alerts.reduce((m, a) => m + a.episodes.length, 0), 0),
    incidents: cases.reduce((n, c) => n + c.incidents.length, 0),
    notifications: notifications.length,
    firing,
    resolvedOnly,
    incidentsNotified: notified.size,
    unknownAlerts,
  };
}

/** The time-dependent settings of Vigil's `alerting.storm` section (src/alerts/config/storm.ts). */
export interface StormTimings {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly window: number;
  readonly calm_period: number;
  readonly rate_limit: { readonly per_minute: number; readonly burst: number };
  readonly flapping: { readonly max_fires: number; readonly window: number; readonly stable_for: number };
}

/**
 * Vigil's `alerting.storm` settings moved onto the compressed clock (one corpus minute = `minuteMs`), as YAML
 * for the `alerting:` section: windows and periods shrink, the rate limit per real minute grows, counts stay.
 * The burst is written out, since its default follows `per_minute`.
 */
export function scaledStormYaml(s: StormTimings, minuteMs: number): string {
  const ms = (v: number) => `${scaled(v / 1000, minuteMs)}ms`;
  const perMinute = s.rate_limit.per_minute * (60_000 / minuteMs);
  const burst = s.rate_limit.burst || Math.max(1, Math.ceil(s.rate_limit.per_minute));
  return (
    `storm: {enabled: ${s.enabled}, threshold: ${s.threshold}, window: ${ms(s.window)}, ` +
    `calm_period: ${ms(s.calm_period)}, rate_limit: {per_minute: ${perMinute}, burst: ${burst}}, ` +
    `flapping: {max_fires: ${s.flapping.max_fires}, window: ${ms(s.flapping.window)}, ` +
    `stable_for: ${ms(s.flapping.stable_for)}}}`
  );
}
