/**
 * Pure pieces of the Health view: URL filters, one "tone" for the three status vocabularies (components,
 * checks, flows), ordering with problems first and text matching.
 */
import type {
  ComponentHealth,
  Flow,
  FlowCheckStatus,
  HealthCheck,
  ComponentStatus,
} from '../../lib/health.ts';

export type Tab = 'components' | 'checks' | 'flows';
export const TABS: readonly Tab[] = ['components', 'checks', 'flows'];

/** `problems`: anything not known to be fine; `ok`: known fine; `unknown`: not known yet. */
export type StatusFilter = '' | 'problems' | 'ok' | 'unknown';

export interface HealthFilters {
  tab: Tab;
  status: StatusFilter;
  q: string;
}

export function healthFiltersFrom(p: URLSearchParams): HealthFilters {
  const tab = p.get('tab');
  const status = p.get('status');
  return {
    tab: TABS.includes(tab as Tab) ? (tab as Tab) : 'components',
    status: status === 'problems' || status === 'ok' || status === 'unknown' ? status : '',
    q: p.get('q') ?? '',
  };
}

export type Tone = 'ok' | 'warn' | 'bad' | 'unknown';

export function componentTone(s: ComponentStatus): Tone {
  return s === 'healthy' ? 'ok' : s === 'degraded' ? 'warn' : s === 'down' ? 'bad' : 'unknown';
}
export function checkTone(up: boolean | null): Tone {
  return up === null ? 'unknown' : up ? 'ok' : 'bad';
}
export function flowTone(s: FlowCheckStatus): Tone {
  return s === 'ok' ? 'ok' : s === 'violated' ? 'bad' : 'unknown';
}

const TONE_RANK: Record<Tone, number> = { bad: 0, warn: 1, unknown: 2, ok: 3 };

export function toneMatches(t: Tone, f: StatusFilter): boolean {
  if (f === '') return true;
  if (f === 'problems') return t === 'bad' || t === 'warn';
  return t === f;
}

function textMatches(q: string, ...texts: string[]): boolean {
  const needle = q.trim().toLowerCase();
  return needle === '' || texts.some((t) => t.toLowerCase().includes(needle));
}

/** Components matching the filters, worst first, then by name. */
export function filterComponents(list: readonly ComponentHealth[], f: HealthFilters): ComponentHealth[] {
  return list
    .filter((c) => toneMatches(componentTone(c.status), f.status))
    .filter((c) => textMatches(f.q, c.name, ...c.dependsOn, ...c.reasons.map((r) => r.detail)))
    .sort(
      (a, b) =>
        TONE_RANK[componentTone(a.status)] - TONE_RANK[componentTone(b.status)] ||
        a.name.localeCompare(b.name),
    );
}

/** Checks matching the filters, failing first, otherwise in configuration order. */
export function filterChecks(list: readonly HealthCheck[], f: HealthFilters): HealthCheck[] {
  return list
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => toneMatches(checkTone(c.up), f.status))
    .filter(({ c }) => textMatches(f.q, c.name, c.target, c.kind, c.reason))
    .sort((a, b) => TONE_RANK[checkTone(a.c.up)] - TONE_RANK[checkTone(b.c.up)] || a.i - b.i)
    .map(({ c }) => c);
}

/** The worst status of a flow's parts. */
export function flowStatus(f: Flow): FlowCheckStatus {
  const parts = [...f.stages, ...f.channels];
  if (parts.some((p) => p.status === 'violated')) return 'violated';
  if (parts.some((p) => p.status === 'unknown')) return 'unknown';
  return 'ok';
}

/** Flows matching the filters (a flow matches the search by its name or any part's name), worst first. */
export function filterFlows(list: readonly Flow[], f: HealthFilters): Flow[] {
  return list
    .map((fl, i) => ({ fl, i }))
    .filter(({ fl }) => toneMatches(flowTone(flowStatus(fl)), f.status))
    .filter(({ fl }) =>
      textMatches(f.q, fl.name, ...fl.stages.map((s) => s.name), ...fl.channels.map((c) => c.name)),
    )
    .sort(
      (a, b) => TONE_RANK[flowTone(flowStatus(a.fl))] - TONE_RANK[flowTone(flowStatus(b.fl))] || a.i - b.i,
    )
    .map(({ fl }) => fl);
}

/** How an "impacted by" entry reads: `impacted by database (via payments)`. */
export function impactText(i: { component: string; via: readonly string[] }): string {
  return `impacted by ${i.component}${i.via.length ? ` (via ${i.via.join(' → ')})` : ''}`;
}

/** A rate per second for a diagram box: `12.5/s`, `—` when unknown. */
export function formatRate(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const s = abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, '');
  return `${s === '-0' ? '0' : s}/s`;
}

/** A check's value against what is expected, in the unit its kind uses (docs/flows.md). */
export function formatFlowFigure(kind: string, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  if (kind === 'conservation' || kind === 'handoff') return `${(v * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
  if (kind === 'freshness') return `${Math.round(v)}s`;
  if (kind === 'throughput') return formatRate(v);
  return String(Math.round(v * 100) / 100);
}
