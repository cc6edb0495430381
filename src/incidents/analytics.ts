/**
 * Incident analytics, pure: MTTA (created → first acknowledgement) and MTTR (created → resolved) per service,
 * team and severity, over time buckets, pages per person and incidents per component. An incident counts
 * toward a team when its acknowledger or assignee is a member.
 */
import type { Incident, Page } from '../state/interface.ts';
import type { Team } from './model.ts';

/** Means in seconds; null when no incident of the set was acknowledged (MTTA) or resolved (MTTR). */
export interface Durations {
  readonly incidents: number;
  readonly acknowledged: number;
  readonly resolved: number;
  readonly mttaSeconds: number | null;
  readonly mttrSeconds: number | null;
}

export interface Analytics {
  readonly from: number;
  readonly to: number;
  readonly overall: Durations;
  readonly byService: Record<string, Durations>;
  readonly byTeam: Record<string, Durations>;
  readonly bySeverity: Record<string, Durations>;
  /** Buckets of `intervalMs` starting at `from`, by incident creation time. */
  readonly overTime: (Durations & { readonly start: number })[];
  readonly pagesPerUser: Record<string, { readonly delivered: number; readonly failed: number }>;
  readonly incidentsPerComponent: Record<string, number>;
}

function durations(list: readonly Incident[]): Durations {
  const acked = list.filter((i) => i.ackedAt !== null);
  const resolved = list.filter((i) => i.resolvedAt !== null);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length / 1000 : null);
  return {
    incidents: list.length,
    acknowledged: acked.length,
    resolved: resolved.length,
    mttaSeconds: mean(acked.map((i) => i.ackedAt! - i.createdAt)),
    mttrSeconds: mean(resolved.map((i) => i.resolvedAt! - i.createdAt)),
  };
}

function groupBy(
  list: readonly Incident[],
  keys: (i: Incident) => readonly string[],
): Record<string, Durations> {
  const groups = new Map<string, Incident[]>();
  for (const i of list)
    for (const k of new Set(keys(i))) {
      const g = groups.get(k);
      if (g) g.push(i);
      else groups.set(k, [i]);
    }
  return Object.fromEntries(
    [...groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, g]) => [k, durations(g)]),
  );
}

/** Analytics of the incidents created in [from, to) and the pages sent in that range. */
export function incidentAnalytics(
  incidents: readonly Incident[],
  pages: readonly Page[],
  teams: readonly Team[],
  range: { readonly from: number; readonly to: number; readonly intervalMs: number },
): Analytics {
  const list = incidents.filter((i) => i.createdAt >= range.from && i.createdAt < range.to);
  const teamsOf = (user: string | null) =>
    user ? teams.filter((t) => t.members.includes(user)).map((t) => t.id) : [];
  const overTime: (Durations & { start: number })[] = [];
  for (let start = range.from; start < range.to; start += range.intervalMs) {
    const end = Math.min(start + range.intervalMs, range.to);
    overTime.push({ start, ...durations(list.filter((i) => i.createdAt >= start && i.createdAt < end)) });
  }
  const pagesPerUser: Record<string, { delivered: number; failed: number }> = {};
  for (const p of pages) {
    if (p.at < range.from || p.at >= range.to || p.userId === null) continue;
    const e = (pagesPerUser[p.userId] ??= { delivered: 0, failed: 0 });
    e[p.outcome]++;
  }
  const incidentsPerComponent: Record<string, number> = {};
  for (const i of list)
    for (const c of new Set(i.components)) incidentsPerComponent[c] = (incidentsPerComponent[c] ?? 0) + 1;
  return {
    from: range.from,
    to: range.to,
    overall: durations(list),
    byService: groupBy(list, (i) => i.services),
    byTeam: groupBy(list, (i) => [...teamsOf(i.ackedBy), ...teamsOf(i.assignee)]),
    bySeverity: groupBy(list, (i) => [i.severity]),
    overTime,
    pagesPerUser,
    incidentsPerComponent,
  };
}
