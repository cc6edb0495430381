/** Filtering, grouping and column choice for the Overview: pure functions over the API's components. */
import type { OverviewComponent } from '../../lib/api.ts';

export type StatusFilter = 'all' | 'up' | 'down' | 'stale';
export type GroupBy = 'none' | 'job' | 'namespace' | 'kind';

export const KIND_LABEL: Record<OverviewComponent['kind'], string> = {
  vigil: 'Vigil',
  host: 'Host',
  scrape: 'Scrape target',
  otlp: 'OTLP service',
};

/** Figure columns in the order operators read them: traffic, errors, latency, then resources. */
export const FIGURE_ORDER = ['samples', 'requests', 'errors', 'latency_p95', 'cpu', 'memory'];

/** Case-insensitive match on name, job, instance, namespace and the status reason; all words must match. */
export function matches(c: OverviewComponent, search: string): boolean {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = [
    c.name,
    c.job,
    c.instance,
    c.namespace ?? '',
    c.kind,
    KIND_LABEL[c.kind],
    c.status,
    c.reason ?? '',
  ]
    .join(' ')
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}

export function filterComponents(
  list: readonly OverviewComponent[],
  search: string,
  status: StatusFilter,
): OverviewComponent[] {
  return list.filter((c) => (status === 'all' || c.status === status) && matches(c, search));
}

const STATUS_RANK = { down: 0, stale: 1, up: 2 } as const;

/** Problems first, then by name: what needs attention is at the top. */
export function sortComponents(list: OverviewComponent[]): OverviewComponent[] {
  return list.sort(
    (a, b) =>
      STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
      a.name.localeCompare(b.name) ||
      a.instance.localeCompare(b.instance),
  );
}

export interface Group {
  readonly key: string;
  readonly label: string;
  readonly items: OverviewComponent[];
  readonly counts: Record<'up' | 'down' | 'stale', number>;
}

export function countStatus(list: readonly OverviewComponent[]): Record<'up' | 'down' | 'stale', number> {
  const counts = { up: 0, down: 0, stale: 0 };
  for (const c of list) counts[c.status]++;
  return counts;
}

/** Groups components; groups with problems come first, then alphabetically. */
export function groupComponents(list: readonly OverviewComponent[], by: GroupBy): Group[] {
  if (by === 'none')
    return [{ key: '', label: '', items: sortComponents([...list]), counts: countStatus(list) }];
  const map = new Map<string, OverviewComponent[]>();
  for (const c of list) {
    const key = by === 'job' ? c.job : by === 'namespace' ? (c.namespace ?? '') : c.kind;
    let items = map.get(key);
    if (!items) map.set(key, (items = []));
    items.push(c);
  }
  const groups = [...map.entries()].map(([key, items]) => ({
    key,
    label:
      by === 'kind'
        ? KIND_LABEL[key as OverviewComponent['kind']]
        : key === ''
          ? by === 'namespace'
            ? '(no namespace)'
            : '(no job)'
          : key,
    items: sortComponents(items),
    counts: countStatus(items),
  }));
  return groups.sort(
    (a, b) =>
      Number(b.counts.down > 0) - Number(a.counts.down > 0) ||
      Number(b.counts.stale > 0) - Number(a.counts.stale > 0) ||
      a.label.localeCompare(b.label),
  );
}

/** The figure columns present in any of the components, in FIGURE_ORDER then the rest by name. */
export function figureColumns(
  list: readonly OverviewComponent[],
): { key: string; label: string; unit: string }[] {
  const seen = new Map<string, { key: string; label: string; unit: string }>();
  for (const c of list) for (const f of c.figures) if (!seen.has(f.key)) seen.set(f.key, f);
  const rank = (k: string) => {
    const i = FIGURE_ORDER.indexOf(k);
    return i < 0 ? FIGURE_ORDER.length : i;
  };
  return [...seen.values()].sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
}

/** "12 s ago", "3 min ago", "2 h ago". */
export function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
