/** Pure helpers of the incident views: URL state, ordering, paging, timeline wording, figures. */
import { severityRank } from '../../lib/alerts.ts';
import {
  INCIDENT_STATUSES,
  type Incident,
  type IncidentEvent,
  type IncidentStatus,
} from '../../lib/incidents.ts';

export const PAGE_SIZE = 50;

/** What the incident list shows, as carried in the URL. */
export interface IncidentFilters {
  /** Statuses shown; empty means every status. */
  status: IncidentStatus[];
  severity: string;
  service: string;
  /** Search words (title, notes, resolution, labels, services). */
  q: string;
  /** 1-based page of the list. */
  page: number;
}

export function incidentFiltersFrom(p: URLSearchParams): IncidentFilters {
  const status = (p.get('status') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is IncidentStatus => (INCIDENT_STATUSES as readonly string[]).includes(s));
  const page = Number(p.get('page') ?? '1');
  return {
    status: [...new Set(status)],
    severity: p.get('severity') ?? '',
    service: p.get('service') ?? '',
    q: p.get('q') ?? '',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/** `prev` with the filters set (empty ones and page 1 removed), other parameters kept. */
export function withIncidentFilters(prev: URLSearchParams, f: IncidentFilters): URLSearchParams {
  const p = new URLSearchParams(prev);
  const set = (k: string, v: string) => (v ? p.set(k, v) : p.delete(k));
  set('status', f.status.join(','));
  set('severity', f.severity);
  set('service', f.service);
  set('q', f.q);
  set('page', f.page > 1 ? String(f.page) : '');
  return p;
}

const STATUS_RANK: Record<IncidentStatus, number> = { triggered: 0, acknowledged: 1, resolved: 2 };

/** Open incidents first (triggered, then acknowledged), then the most severe, then the newest. */
export function sortIncidents(list: readonly Incident[]): Incident[] {
  return [...list].sort(
    (a, b) =>
      STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
      severityRank(a.severity) - severityRank(b.severity) ||
      b.createdAt - a.createdAt ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** One page of a list: the items, the page actually shown (clamped) and the number of pages (at least 1). */
export function paginate<T>(
  list: readonly T[],
  page: number,
  size = PAGE_SIZE,
): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(list.length / size));
  const p = Math.min(Math.max(1, page), pages);
  return { items: list.slice((p - 1) * size, p * size), page: p, pages };
}

/** A duration in seconds as people read it: `45s`, `4m 12s`, `2h 5m`, `3d 4h`; an em dash for none. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  const m = Math.floor(t / 60);
  if (m < 60) return t % 60 ? `${m}m ${t % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** The tone of a timeline entry, for its dot: bad (firing, failed), warn (escalations), ok, or neutral. */
export type EventTone = 'bad' | 'warn' | 'ok' | 'neutral';

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/** A one-line description of a timeline event and its tone; unknown kinds are shown by name. */
export function describeEvent(e: IncidentEvent): { text: string; tone: EventTone } {
  const d = e.detail ?? {};
  const labels = (d.labels ?? {}) as Record<string, unknown>;
  const alert = str(d.alertname) ?? str(labels.alertname) ?? str(d.fingerprint) ?? 'an alert';
  const who = str(d.user) ?? (str(d.receiver) ? `receiver ${str(d.receiver)}` : undefined);
  const reason = str(d.reason);
  const because = reason ? `: ${reason}` : '';
  const step =
    typeof d.step === 'number'
      ? ` (step ${d.step + 1}${typeof d.loop === 'number' && d.loop > 0 ? `, repeat ${d.loop}` : ''})`
      : '';
  switch (e.kind) {
    case 'created':
      return d.manual
        ? { text: `Incident opened by hand by ${e.actor}`, tone: 'bad' }
        : { text: `Incident opened${str(d.policy) ? ` under policy ${str(d.policy)}` : ''}`, tone: 'bad' };
    case 'alert_firing':
      return { text: `Alert ${alert} firing`, tone: 'bad' };
    case 'alert_resolved':
      return { text: `Alert ${alert} resolved`, tone: 'ok' };
    case 'page':
      return {
        text: `Paged ${who ?? 'someone'}${str(d.channel) ? ` by ${str(d.channel)}` : ''}${step}`,
        tone: 'neutral',
      };
    case 'page_failed':
      return { text: `Page ${who ? `to ${who} ` : ''}failed${step}${because}`, tone: 'bad' };
    case 'escalated':
      return { text: `Nobody acknowledged: escalated${step}`, tone: 'warn' };
    case 're_escalated':
      return { text: `Escalated again${because}`, tone: 'warn' };
    case 'escalation_exhausted':
      return { text: `Escalation ran out of steps${because}`, tone: 'bad' };
    case 'escalation_stopped':
      return { text: `Escalation stopped${because}`, tone: 'warn' };
    case 'acknowledged':
      return { text: `Acknowledged by ${e.actor}${str(d.via) ? ` (${str(d.via)})` : ''}`, tone: 'ok' };
    case 'resolved':
      return {
        text: `Resolved by ${e.actor}${because}${str(d.note) ? `: ${str(d.note)}` : ''}`,
        tone: 'ok',
      };
    case 'reopened':
      return { text: `Reopened${because}`, tone: 'bad' };
    case 'assigned':
      return {
        text: d.assignee ? `Assigned to ${str(d.assignee)} by ${e.actor}` : `Unassigned by ${e.actor}`,
        tone: 'neutral',
      };
    case 'note':
      return { text: `Note by ${e.actor}`, tone: 'neutral' };
    case 'similar_incidents': {
      const ids = Array.isArray(d.suggestions)
        ? (d.suggestions as unknown[]).map((x) => str((x as Record<string, unknown>)?.id)).filter(Boolean)
        : [];
      return { text: `Similar past incidents: ${ids.join(', ') || 'see the panel'}`, tone: 'neutral' };
    }
    default:
      return { text: `${e.kind.replace(/_/g, ' ')}${because}`, tone: 'neutral' };
  }
}

/** A linked alert as the timeline knows it: its labels (from its firing event) and whether it still fires. */
export interface LinkedAlert {
  fingerprint: string;
  labels: Record<string, string>;
  state: 'firing' | 'resolved' | 'unknown';
  /** The alert's `runbook_url` (or `runbook`) annotation as written; not yet checked to be a safe URL. */
  runbook?: string;
}

/** The runbook of alert annotations: `runbook_url` (Prometheus convention), else `runbook`. */
export function runbookOf(annotations: unknown): string | undefined {
  if (!annotations || typeof annotations !== 'object') return undefined;
  const a = annotations as Record<string, unknown>;
  const pick = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  return pick(a.runbook_url) ?? pick(a.runbook);
}

/** The one runbook every linked alert names, or undefined (none, some without, or several different). */
export function sharedRunbook(alerts: readonly LinkedAlert[]): string | undefined {
  const first = alerts[0]?.runbook;
  return first && alerts.every((a) => a.runbook === first) ? first : undefined;
}

/** The incident's linked alerts, in link order, with labels and state read from the timeline. */
export function linkedAlerts(
  fingerprints: readonly string[],
  events: readonly IncidentEvent[],
): LinkedAlert[] {
  const seen = new Map<string, LinkedAlert>();
  for (const fp of fingerprints) seen.set(fp, { fingerprint: fp, labels: {}, state: 'unknown' });
  for (const e of events) {
    if (e.kind !== 'alert_firing' && e.kind !== 'alert_resolved') continue;
    const fp = str(e.detail?.fingerprint);
    if (!fp) continue;
    const a = seen.get(fp) ?? { fingerprint: fp, labels: {}, state: 'unknown' as const };
    const labels = e.detail.labels;
    if (labels && typeof labels === 'object')
      a.labels = Object.fromEntries(
        Object.entries(labels as Record<string, unknown>).filter(
          (kv): kv is [string, string] => typeof kv[1] === 'string',
        ),
      );
    if (!a.labels.alertname && str(e.detail.alertname))
      a.labels = { ...a.labels, alertname: str(e.detail.alertname)! };
    const rb = runbookOf(e.detail.annotations);
    if (rb) a.runbook = rb;
    a.state = e.kind === 'alert_firing' ? 'firing' : 'resolved';
    seen.set(fp, a);
  }
  return [...seen.values()];
}

/** Matchers (amtool text) selecting exactly these labels in the Alerts view: alertname first, then by name. */
export function alertFilterFor(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort((x, y) => (x === 'alertname' ? -1 : y === 'alertname' ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(' ');
}

/** The text of a note event (whatever key the writer used), or undefined. */
export function noteText(e: IncidentEvent): string | undefined {
  if (e.kind !== 'note') return undefined;
  return str(e.detail?.text) ?? str(e.detail?.note) ?? str(e.detail?.body);
}

/** Comma-separated names to a clean list (trimmed, no empties, no duplicates). */
export function splitList(s: string): string[] {
  return [
    ...new Set(
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ];
}

/** One bar of the MTTA/MTTR-over-time chart, in chart coordinates (y grows downwards). */
export interface TimeBar {
  kind: 'mtta' | 'mttr';
  start: number;
  seconds: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Bars of MTTA and MTTR per time bucket, side by side, scaled to the largest value over a `height`-tall plot
 * `width` wide. Buckets without an acknowledged (resolved) incident have no MTTA (MTTR) bar.
 */
export function timeBars(
  buckets: readonly { start: number; mttaSeconds: number | null; mttrSeconds: number | null }[],
  width: number,
  height: number,
): { bars: TimeBar[]; maxSeconds: number } {
  const values = buckets.flatMap((b) => [b.mttaSeconds ?? 0, b.mttrSeconds ?? 0]);
  const maxSeconds = Math.max(0, ...values);
  if (!buckets.length || maxSeconds <= 0) return { bars: [], maxSeconds };
  const slot = width / buckets.length;
  const barW = Math.max(1, slot * 0.4);
  const bars: TimeBar[] = [];
  buckets.forEach((b, i) => {
    (['mtta', 'mttr'] as const).forEach((kind, k) => {
      const v = kind === 'mtta' ? b.mttaSeconds : b.mttrSeconds;
      if (v === null || !Number.isFinite(v)) return;
      // A tiny value still shows as a sliver, so "zero" and "no data" look different.
      const h = Math.max(1, (v / maxSeconds) * height);
      bars.push({
        kind,
        start: b.start,
        seconds: v,
        x: i * slot + slot * 0.1 + k * barW,
        y: height - h,
        width: barW,
        height: h,
      });
    });
  });
  return { bars, maxSeconds };
}
