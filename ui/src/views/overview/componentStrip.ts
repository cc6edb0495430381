/**
 * The Overview's component status strip as pure functions over `/api/vigil/v1/components`: counts per
 * status, the components with a problem (worst first) each with one line saying why, and the rest.
 */
import type { ComponentHealth, ComponentStatus } from '../../lib/health.ts';

export const STRIP_STATUSES: readonly ComponentStatus[] = ['down', 'degraded', 'unknown', 'healthy'];

const RANK: Record<ComponentStatus, number> = { down: 0, degraded: 1, unknown: 2, healthy: 3 };

export interface StripItem {
  readonly name: string;
  readonly status: ComponentStatus;
  /** One line: why it has this status (empty for a healthy component with nothing to say). */
  readonly why: string;
}

export interface Strip {
  readonly counts: Record<ComponentStatus, number>;
  /** Down and degraded components, worst first, then by name. */
  readonly problems: StripItem[];
  /** Unknown and healthy components, unknown first, then by name. */
  readonly others: StripItem[];
}

/**
 * Why a component has its status, in one line. A status made worse by a dependency reads
 * `down because database is down (via payments)`; otherwise its worst own reason (`scrape: connection
 * refused`) is given.
 */
export function whyText(c: ComponentHealth): string {
  const worstFirst = <T extends { status: ComponentStatus }>(xs: readonly T[]) =>
    [...xs].sort((a, b) => RANK[a.status] - RANK[b.status]);
  const impact = worstFirst(c.impactedBy)[0];
  const because = (i: NonNullable<typeof impact>) =>
    `${c.status} because ${i.component} is ${i.status}${i.via.length ? ` (via ${i.via.join(' → ')})` : ''}`;
  // A dependency made it worse than its own inputs: that is the news.
  if (impact && RANK[c.status] < RANK[c.ownStatus]) return because(impact);
  const own = worstFirst(c.reasons.filter((r) => r.source !== 'dependency'))[0];
  if (own) return `${own.source}: ${own.detail}`;
  if (impact) return because(impact);
  return c.status === 'unknown' ? 'nothing known about it yet' : '';
}

export function buildStrip(list: readonly ComponentHealth[]): Strip {
  const counts: Record<ComponentStatus, number> = { down: 0, degraded: 0, unknown: 0, healthy: 0 };
  const items = list.map((c) => {
    counts[c.status]++;
    return { name: c.name, status: c.status, why: whyText(c) };
  });
  items.sort((a, b) => RANK[a.status] - RANK[b.status] || a.name.localeCompare(b.name));
  return {
    counts,
    problems: items.filter((i) => i.status === 'down' || i.status === 'degraded'),
    others: items.filter((i) => i.status === 'unknown' || i.status === 'healthy'),
  };
}

/** The Health view's link for one component or a status filter. */
export function healthLink(opts: { q?: string; status?: 'problems' | 'ok' | 'unknown' }): string {
  const p = new URLSearchParams();
  if (opts.q) p.set('q', opts.q);
  if (opts.status) p.set('status', opts.status);
  const s = p.toString();
  return s ? `/health?${s}` : '/health';
}
