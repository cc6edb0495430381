/**
 * Scoring a grouping strategy on the corpus: the case is replayed every `stepMs`; at each step the strategy
 * groups the alerts active then. Each alert's final group is the one it was in when last active.
 *
 * - pairwise precision / recall: over pairs of alerts of one case, "in the same final group" against "in the
 *   same ground-truth incident";
 * - root-cause accuracy: over incidents with two or more alerts, the final group holding most of the
 *   incident's alerts named the incident's true cause as its root cause when the group was largest;
 * - notifications: a correlated group notifies when it appears and when a new alert becomes its root cause; Alertmanager-style
 *   groups notify again whenever they come back (see `Strategy.notifiesOnce`); compared with one notification
 *   per alert episode;
 * - incidents notified: incidents one of whose alerts was the root cause of a notification. Updates to a
 *   notified group that do not change its root cause (a new member) are not counted for any strategy.
 */
import { correlate, EMPTY_STATE, type CorrelationState } from '../correlate.ts';
import type { CorrelatedGroup, CorrelationAlert, CorrelationOptions } from '../model.ts';
import { StormStage, type StormOptions } from '../../storm/stage.ts';
import type { StoredAlert } from '../../store.ts';
import type { CorpusCase } from './generate.ts';

/** A group as a strategy reports it. */
export interface StrategyGroup {
  readonly id: string;
  readonly members: readonly string[];
  readonly root: string;
}

/**
 * Groups the alerts active at `now`; may keep state between calls of one case. `notifiesOnce`: a group
 * notifies when it appears, and when a newly arrived alert becomes its root cause (the cause shows up after its
 * symptoms); a root cause changing among known members, or a group that comes back (re-fire, flapping),
 * continues its incident silently. Otherwise (Alertmanager's aggregation groups) a group notifies when it appears, and anew whenever
 * it emptied and comes back.
 */
export interface Strategy {
  readonly group: (active: readonly CorrelationAlert[], now: number) => StrategyGroup[];
  readonly notifiesOnce: boolean;
  /**
   * When present, the notifications are the ones this returns for each step (called after `group`): the
   * fingerprint of each notification's leading alert (a storm summary's root-cause candidate), and whether it
   * updates a notified group without a new leading alert (counted apart, in `updates`, as for the other
   * strategies such updates are not counted). `notifiesOnce` is then unused.
   */
  readonly notify?: (now: number) => readonly { readonly root: string; readonly update: boolean }[];
}

export interface Score {
  readonly alerts: number;
  readonly episodes: number;
  readonly incidents: number;
  readonly truePairs: number;
  readonly predictedPairs: number;
  readonly correctPairs: number;
  readonly rootCorrect: number;
  readonly rootTotal: number;
  readonly notifications: number;
  /** Notifications updating a notified group with the same leading alert (only strategies with `notify`). */
  readonly updates: number;
  readonly incidentsNotified: number;
}

export const EMPTY_SCORE: Score = {
  alerts: 0,
  episodes: 0,
  incidents: 0,
  truePairs: 0,
  predictedPairs: 0,
  correctPairs: 0,
  rootCorrect: 0,
  rootTotal: 0,
  notifications: 0,
  updates: 0,
  incidentsNotified: 0,
};

export function addScores(a: Score, b: Score): Score {
  const out: Record<string, number> = {};
  for (const k of Object.keys(a) as (keyof Score)[]) out[k] = a[k] + b[k];
  return out as unknown as Score;
}

/** Derived figures of a score. */
export function figures(s: Score) {
  return {
    precision: s.predictedPairs ? s.correctPairs / s.predictedPairs : 1,
    recall: s.truePairs ? s.correctPairs / s.truePairs : 1,
    rootCauseAccuracy: s.rootTotal ? s.rootCorrect / s.rootTotal : 1,
    notificationsPerAlert: s.episodes ? s.notifications / s.episodes : 0,
    reduction: s.episodes ? 1 - s.notifications / s.episodes : 0,
    incidentsNotified: s.incidents ? s.incidentsNotified / s.incidents : 1,
  };
}

export function scoreCase(c: CorpusCase, strategy: Strategy, stepMs = 30_000): Score {
  const finalGroup = new Map<string, string>();
  /** Root cause of each group at its largest (first such step): what an operator saw at the peak. */
  const peakRoot = new Map<string, { size: number; root: string }>();
  const present = new Set<string>();
  /** Every alert each group ID has held. */
  const seen = new Map<string, Set<string>>();
  const rootsSeen = new Set<string>();
  let notifications = 0;
  let updates = 0;
  for (let now = c.start; now <= c.end; now += stepMs) {
    const active: CorrelationAlert[] = [];
    for (const a of c.alerts) {
      const e = a.episodes.find((x) => x.start <= now && now < x.end);
      if (e)
        active.push({
          fingerprint: a.fingerprint,
          labels: a.labels,
          annotations: a.annotations,
          startsAt: e.start,
        });
    }
    const groups = strategy.group(active, now);
    if (strategy.notify)
      for (const n of strategy.notify(now)) {
        if (n.update) updates++;
        else notifications++;
        rootsSeen.add(n.root);
      }
    const ids = new Set<string>();
    for (const g of groups) {
      ids.add(g.id);
      const known = seen.get(g.id);
      const fresh = strategy.notifiesOnce ? !known?.has(g.root) : !present.has(g.id);
      if (fresh && !strategy.notify) {
        notifications++;
        rootsSeen.add(g.root);
      }
      if (!known) seen.set(g.id, new Set(g.members));
      else for (const m of g.members) known.add(m);
      for (const m of g.members) finalGroup.set(m, g.id);
      if ((peakRoot.get(g.id)?.size ?? 0) < g.members.length)
        peakRoot.set(g.id, { size: g.members.length, root: g.root });
    }
    present.clear();
    for (const id of ids) present.add(id);
  }
  const incidentOf = new Map(c.alerts.map((a) => [a.fingerprint, a.incident]));
  let truePairs = 0;
  let predictedPairs = 0;
  let correctPairs = 0;
  const fps = c.alerts.map((a) => a.fingerprint).filter((fp) => finalGroup.has(fp));
  for (let i = 0; i < fps.length; i++)
    for (let j = i + 1; j < fps.length; j++) {
      const t = incidentOf.get(fps[i]!) === incidentOf.get(fps[j]!);
      const p = finalGroup.get(fps[i]!) === finalGroup.get(fps[j]!);
      if (t) truePairs++;
      if (p) predictedPairs++;
      if (t && p) correctPairs++;
    }
  let rootCorrect = 0;
  let rootTotal = 0;
  let incidentsNotified = 0;
  for (const inc of c.incidents) {
    const members = c.alerts.filter((a) => a.incident === inc.id).map((a) => a.fingerprint);
    if (members.some((m) => rootsSeen.has(m))) incidentsNotified++;
    if (members.length < 2) continue;
    rootTotal++;
    const count = new Map<string, number>();
    for (const m of members) {
      const g = finalGroup.get(m);
      if (g !== undefined) count.set(g, (count.get(g) ?? 0) + 1);
    }
    const top = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    if (top !== undefined && peakRoot.get(top)?.root === inc.root) rootCorrect++;
  }
  return {
    alerts: c.alerts.length,
    episodes: c.alerts.reduce((n, a) => n + a.episodes.length, 0),
    incidents: c.incidents.length,
    truePairs,
    predictedPairs,
    correctPairs,
    rootCorrect,
    rootTotal,
    notifications,
    updates,
    incidentsNotified,
  };
}

/** Vigil's correlation, with state kept across the steps of one case. */
export function correlationStrategy(c: CorpusCase, options: Partial<CorrelationOptions> = {}): Strategy {
  let state: CorrelationState = EMPTY_STATE;
  return {
    notifiesOnce: true,
    group: (active, now) => {
      const r = correlate(active, c.topology, state, now, options);
      state = r.state;
      return r.groups.map((g) => ({
        id: g.id,
        members: g.members.map((m) => m.fingerprint),
        root: g.rootCause.fingerprint,
      }));
    },
  };
}

/** Alertmanager's `group_by: [alertname]`: one group per alert name, its earliest alert as root. */
export const alertnameStrategy: Strategy = {
  notifiesOnce: false,
  group: (active) => {
    const by = new Map<string, CorrelationAlert[]>();
    for (const a of active) {
      const k = a.labels.alertname ?? '';
      by.set(k, [...(by.get(k) ?? []), a]);
    }
    return [...by].map(([k, as]) => ({
      id: `alertname:${k}`,
      members: as.map((a) => a.fingerprint),
      root: [...as].sort((x, y) => x.startsAt - y.startsAt)[0]!.fingerprint,
    }));
  },
};

/** No grouping: every alert episode notifies on its own. */
export const noGroupingStrategy: Strategy = {
  notifiesOnce: true,
  group: (active) =>
    active.map((a) => ({
      id: `${a.fingerprint}@${a.startsAt}`,
      members: [a.fingerprint],
      root: a.fingerprint,
    })),
};

export function scoreCorpus(cases: readonly CorpusCase[], make: (c: CorpusCase) => Strategy): Score {
  return cases.reduce((s, c) => addScores(s, scoreCase(c, make(c))), EMPTY_SCORE);
}

/** How the storm strategy's Alertmanager in front of the stage is set up. */
export interface StormReplayOptions {
  readonly storm: Partial<StormOptions>;
  /** Of the storm summaries (Alertmanager's default 5m). */
  readonly groupIntervalMs: number;
  /** Assumed resolve_timeout of an active alert: its endsAt as the stage sees it, ms after each step. */
  readonly resolveTimeoutMs: number;
}

export const DEFAULT_STORM_REPLAY: StormReplayOptions = {
  storm: {},
  groupIntervalMs: 5 * 60_000,
  resolveTimeoutMs: 5 * 60_000,
};

/**
 * Vigil's storm protection (src/alerts/storm/stage.ts, the code the pipeline runs) behind an Alertmanager that
 * gives every alert its own aggregation group (`group_by: ['...']`, group_wait = one step, send_resolved off):
 * each new firing episode is one group notification, which the stage lets through, collapses into its
 * correlated group's storm summary, defers (rate limit) or holds (flapping). Every notification the stage lets
 * out counts: group notifications, deferred ones, first summaries and their updates.
 */
export function stormStrategy(c: CorpusCase, replay: StormReplayOptions = DEFAULT_STORM_REPLAY): Strategy {
  let state: CorrelationState = EMPTY_STATE;
  let groups: readonly CorrelatedGroup[] = [];
  const stage = new StormStage<string>(replay.storm, () => groups);
  /** The alerts as the pipeline would hold them: active ones and those that resolved. */
  const current = new Map<string, StoredAlert>();
  /** Per alert, the episode (startsAt) its group last told or handed to the stage. */
  const told = new Map<string, number>();
  let active: readonly CorrelationAlert[] = [];
  /**
   * Alerts that led a notification. A summary led by one of them updates what was told (a summary after its
   * critical root cause went out on its own, or a later summary with the same root cause).
   */
  const leaders = new Set<string>();
  return {
    notifiesOnce: true,
    group: (list, now) => {
      active = list;
      const r = correlate(list, c.topology, state, now);
      state = r.state;
      groups = r.groups;
      return r.groups.map((g) => ({
        id: g.id,
        members: g.members.map((m) => m.fingerprint),
        root: g.rootCause.fingerprint,
      }));
    },
    notify: (now) => {
      const roots: { root: string; update: boolean }[] = [];
      const ids = new Set(active.map((a) => a.fingerprint));
      for (const [fp, a] of current)
        if (!ids.has(fp) && a.endsAt > now) {
          const resolved = { ...a, endsAt: now };
          current.set(fp, resolved);
          stage.observe(resolved, ['oncall'], now);
        }
      for (const a of active) {
        const stored: StoredAlert = {
          fingerprint: a.fingerprint,
          labels: a.labels,
          annotations: a.annotations,
          startsAt: a.startsAt,
          endsAt: now + replay.resolveTimeoutMs,
          generatorURL: '',
          updatedAt: now,
          timeout: true,
        };
        current.set(a.fingerprint, stored);
        stage.observe(stored, ['oncall'], now);
      }
      for (const a of active) {
        const stored = current.get(a.fingerprint)!;
        if (stage.flaps.held(stored, now)) continue;
        const released = (stage.flaps.releasedAt(a.fingerprint) ?? -Infinity) === now;
        if (told.get(a.fingerprint) === a.startsAt && !released) continue;
        const d = stage.route(
          {
            receiver: 'oncall',
            integration: 'webhook[0]',
            groupKey: a.fingerprint,
            groupWaitMs: 0,
            groupIntervalMs: replay.groupIntervalMs,
            repeatIntervalMs: 4 * 3_600_000,
            sendResolved: false,
            alerts: [stored],
          },
          a.fingerprint,
          now,
        );
        if (d.kind !== 'send') continue; // the stage hands it out from `due` (token free, wait over)
        told.set(a.fingerprint, a.startsAt);
        if (d.alerts.length) {
          roots.push({ root: d.alerts[0]!.fingerprint, update: false });
          leaders.add(d.alerts[0]!.fingerprint);
        }
      }
      for (const item of stage.due(now, (fp) => current.get(fp))) {
        if (item.kind === 'summary') {
          const root = item.alerts[0]?.fingerprint;
          if (root !== undefined) {
            roots.push({ root, update: leaders.has(root) });
            leaders.add(root);
          }
        } else {
          roots.push({ root: item.payload, update: false });
          leaders.add(item.payload);
          const a = current.get(item.payload);
          if (a) told.set(item.payload, a.startsAt);
        }
        stage.done(item, true, now);
      }
      return roots;
    },
  };
}
