/** Pure helpers of the alerting views: URL state, sorting, ages, sources. */
import {
  formatMatcher,
  severityRank,
  type AlertGroup,
  type GettableAlert,
  type Labels,
  type Matcher,
  type Rule,
  type RuleGroup,
  type Silence,
} from '../../lib/alerts.ts';

export type StateFilter = '' | 'active' | 'suppressed';

export interface AlertFilters {
  /** Matchers in amtool's text form (`alertname=~"Disk.*" severity="critical"`). */
  filter: string;
  state: StateFilter;
  receiver: string;
}

export function alertFiltersFrom(p: URLSearchParams): AlertFilters {
  const state = p.get('state') ?? '';
  return {
    filter: p.get('filter') ?? '',
    state: state === 'active' || state === 'suppressed' ? state : '',
    receiver: p.get('receiver') ?? '',
  };
}

/** `prev` with the filters set (empty ones removed), other parameters kept. */
export function withAlertFilters(prev: URLSearchParams, f: AlertFilters): URLSearchParams {
  const p = new URLSearchParams(prev);
  for (const k of ['filter', 'state', 'receiver'] as const) {
    if (f[k]) p.set(k, f[k]);
    else p.delete(k);
  }
  return p;
}

/** Whether an alert is shown under a state filter. */
export function keepState(a: GettableAlert, state: StateFilter): boolean {
  if (state === '') return true;
  return state === 'active' ? a.status.state === 'active' : a.status.state === 'suppressed';
}

/** Alerts of a group, most severe first, then the oldest first, then by name. */
export function sortAlerts(alerts: readonly GettableAlert[]): GettableAlert[] {
  return [...alerts].sort(
    (a, b) =>
      severityRank(a.labels.severity) - severityRank(b.labels.severity) ||
      Date.parse(a.startsAt) - Date.parse(b.startsAt) ||
      (a.labels.alertname ?? '').localeCompare(b.labels.alertname ?? '') ||
      a.fingerprint.localeCompare(b.fingerprint),
  );
}

/** Groups after the state filter (empty groups dropped), the group with the most severe alert first. */
export function arrangeGroups(groups: readonly AlertGroup[], state: StateFilter): AlertGroup[] {
  const kept = groups
    .map((g) => ({ ...g, alerts: sortAlerts(g.alerts.filter((a) => keepState(a, state))) }))
    .filter((g) => g.alerts.length > 0);
  const top = (g: AlertGroup) => severityRank(g.alerts[0]!.labels.severity);
  return kept.sort((a, b) => top(a) - top(b));
}

/** A short age: `42s`, `5m`, `3h 12m`, `2d 4h`. */
export function formatAge(ms: number): string {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/**
 * The sources a merged alert was built from, when de-duplication recorded them in the `vigil_sources`
 * annotation (a JSON array, or a comma- or newline-separated list); empty otherwise.
 */
export function alertSources(a: GettableAlert): string[] {
  const raw = a.annotations.vigil_sources;
  if (!raw) return [];
  try {
    const v: unknown = JSON.parse(raw);
    if (Array.isArray(v))
      return v.map((x) =>
        typeof x === 'string' ? x : x && typeof x === 'object' ? labelsText(x as Labels) : String(x),
      );
  } catch {
    // not JSON: a plain list
  }
  return raw
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function labelsText(l: Labels): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** Annotations other than the ones shown on their own (summary, description, the runbook, sources). */
export function otherAnnotations(a: GettableAlert): [string, string][] {
  // `runbook` is the runbook only when there is no `runbook_url`.
  const shown = new Set(['summary', 'description', 'runbook_url', 'vigil_sources']);
  if (!a.annotations.runbook_url) shown.add('runbook');
  return Object.entries(a.annotations).filter(([k]) => !shown.has(k));
}

/** Matchers that select exactly these labels (one `=` per label). */
export function matchersForLabels(labels: Labels): Matcher[] {
  return Object.keys(labels)
    .sort()
    .map((name) => ({ name, value: labels[name]!, isRegex: false, isEqual: true }));
}

export function matchersText(ms: readonly Matcher[]): string {
  return ms.map(formatMatcher).join(' ');
}

// ---- silences ---------------------------------------------------------------------------------------

export type SilenceState = Silence['status']['state'];

export function silencesByState(list: readonly Silence[]): Record<SilenceState, Silence[]> {
  const out: Record<SilenceState, Silence[]> = { active: [], pending: [], expired: [] };
  for (const s of list) out[s.status.state].push(s);
  return out;
}

export interface SilenceDraft {
  id?: string;
  matchers: { name: string; op: '=' | '!=' | '=~' | '!~'; value: string }[];
  /** `duration` (from `duration`, starting now) or `end` (from `startsAt`/`endsAt`). */
  mode: 'duration' | 'end';
  duration: string;
  /** `YYYY-MM-DDTHH:mm` local time, as a datetime-local input holds it. */
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** A local `YYYY-MM-DDTHH:mm` for a datetime-local input. */
export function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// ---- rules ------------------------------------------------------------------------------------------

export interface RuleFilters {
  q: string;
  health: '' | 'ok' | 'err' | 'unknown';
  type: '' | 'alerting' | 'recording';
}

export function ruleFiltersFrom(p: URLSearchParams): RuleFilters {
  const health = p.get('health') ?? '';
  const type = p.get('type') ?? '';
  return {
    q: p.get('q') ?? '',
    health: health === 'ok' || health === 'err' || health === 'unknown' ? health : '',
    type: type === 'alerting' || type === 'recording' ? type : '',
  };
}

export function keepRule(r: Rule, group: RuleGroup, f: RuleFilters): boolean {
  if (f.health && r.health !== f.health) return false;
  if (f.type && r.type !== f.type) return false;
  const q = f.q.trim().toLowerCase();
  if (q && !r.name.toLowerCase().includes(q) && !group.name.toLowerCase().includes(q)) return false;
  return true;
}

/** Groups with only the rules the filters keep; groups left empty are dropped. */
export function filterRules(groups: readonly RuleGroup[], f: RuleFilters): RuleGroup[] {
  return groups
    .map((g) => ({ ...g, rules: g.rules.filter((r) => keepRule(r, g, f)) }))
    .filter((g) => g.rules.length > 0);
}

/** Go's zero time means "never evaluated". */
export function evaluatedAt(iso: string): number | undefined {
  if (iso.startsWith('0001-')) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}
