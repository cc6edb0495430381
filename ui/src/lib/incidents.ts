/**
 * The incident API as the UI sees it (`/api/vigil/v1/incidents...`): list, one incident with its timeline
 * and pages, acknowledge, resolve, assign, notes, creation by hand, analytics and the post-incident report.
 * Errors arrive as ApiErrors (a 409 from a lost acknowledgement race included) whose message can be shown.
 */
import { request } from './api.ts';

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['triggered', 'acknowledged', 'resolved'];

/** One incident as the API returns it (times are epoch milliseconds). */
export interface Incident {
  id: string;
  title: string;
  severity: string;
  status: IncidentStatus;
  assignee: string | null;
  groupId: string | null;
  policyId: string | null;
  services: string[];
  components: string[];
  /** Fingerprints of the linked alerts, first linked first. */
  alerts: string[];
  labels: Record<string, string>;
  createdAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  /** Links to traces and dashboards, when the API has them. */
  traces?: string[];
  dashboards?: string[];
  version?: number;
}

/** One timeline entry; `detail` is free-form JSON written by whoever recorded the event. */
export interface IncidentEvent {
  id: string;
  at: number;
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
}

/** One page (a notification to a person or receiver through one channel) with its delivery outcome. */
export interface PageRecord {
  id: string;
  step: number;
  userId: string | null;
  channel: string;
  outcome: 'delivered' | 'failed';
  error: string | null;
  at: number;
}

/** An incident with its timeline (oldest first) and pages. */
export interface IncidentDetail {
  incident: Incident;
  events: IncidentEvent[];
  pages: PageRecord[];
}

export interface IncidentQuery {
  status?: readonly IncidentStatus[];
  severity?: string;
  service?: string;
  /** Words that must all occur in the title, notes, resolution, labels, alerts, services or components. */
  q?: string;
  limit?: number;
  /** The `next` of the previous page, with the same filters. */
  cursor?: string;
}

/** One page of the list: `next` continues it (absent on the last page). */
export interface IncidentListPage {
  incidents: Incident[];
  next?: string;
}

/** A resolved incident like the one shown: how alike (0..1), why, and how it was resolved. */
export interface SimilarIncident {
  id: string;
  title: string;
  severity: string;
  status: IncidentStatus;
  createdAt: number;
  resolvedAt: number | null;
  resolvedBy: string | null;
  mttrSeconds: number | null;
  score: number;
  reasons: string[];
  resolution: string | null;
  notes: string[];
  runbooks: string[];
}

/** MTTA/MTTR in seconds (null when nothing was acknowledged/resolved yet) for one group of incidents. */
export interface ResponseFigures {
  incidents: number;
  acknowledged: number;
  resolved: number;
  mttaSeconds: number | null;
  mttrSeconds: number | null;
}

/** Analytics of the incidents created in [from, to): overall and per service, team and severity. */
export interface IncidentAnalytics {
  from: number;
  to: number;
  overall: ResponseFigures;
  byService: Record<string, ResponseFigures>;
  bySeverity: Record<string, ResponseFigures>;
  byTeam: Record<string, ResponseFigures>;
  overTime?: (ResponseFigures & { start: number })[];
  pagesPerUser: Record<string, { delivered: number; failed: number }>;
  incidentsPerComponent: Record<string, number>;
}

/** What "create incident" sends. */
export interface NewIncident {
  title: string;
  severity: string;
  services: string[];
  components: string[];
  assignee?: string;
  policyId?: string;
  actor?: string;
}

const BASE = '/api/vigil/v1/incidents';
const enc = encodeURIComponent;

function qs(q: IncidentQuery): string {
  const p = new URLSearchParams();
  if (q.status?.length) p.set('status', q.status.join(','));
  if (q.severity) p.set('severity', q.severity);
  if (q.service) p.set('service', q.service);
  if (q.q) p.set('q', q.q);
  p.set('limit', String(q.limit ?? LIST_LIMIT));
  if (q.cursor) p.set('cursor', q.cursor);
  const s = p.toString();
  return s ? `?${s}` : '';
}

function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The most incidents one list request asks for (the API's ceiling; further pages follow its cursor). */
export const LIST_LIMIT = 10_000;

/** One page of incidents matching the query, newest first, and the cursor of the next page if any. */
export async function fetchIncidentPage(q: IncidentQuery, signal?: AbortSignal): Promise<IncidentListPage> {
  const body = await request<IncidentListPage>(`${BASE}${qs(q)}`, { signal });
  return { incidents: body.incidents, ...(body.next ? { next: body.next } : {}) };
}

export async function fetchIncident(id: string, signal?: AbortSignal): Promise<IncidentDetail> {
  const body = await request<
    IncidentDetail | (Incident & { events?: IncidentEvent[]; pages?: PageRecord[] })
  >(`${BASE}/${enc(id)}`, { signal });
  if ('incident' in body)
    return { incident: body.incident, events: body.events ?? [], pages: body.pages ?? [] };
  const { events = [], pages = [], ...incident } = body;
  return { incident: incident as Incident, events, pages };
}

export function createIncident(input: NewIncident): Promise<Incident> {
  return post<Incident>(BASE, input);
}

/** Acknowledges as `actor`; a 409 ApiError says who acknowledged first. */
export function acknowledge(id: string, actor: string): Promise<unknown> {
  return post(`${BASE}/${enc(id)}/ack`, { actor });
}

/** Resolves as `actor`; `note` (what fixed it) is kept as the resolution shown on similar incidents later. */
export function resolve(id: string, actor: string, note?: string): Promise<unknown> {
  return post(`${BASE}/${enc(id)}/resolve`, note ? { actor, note } : { actor });
}

/** Resolved incidents most like this one, best first. */
export async function fetchSimilar(id: string, signal?: AbortSignal): Promise<SimilarIncident[]> {
  return (await request<{ similar: SimilarIncident[] }>(`${BASE}/${enc(id)}/similar`, { signal })).similar;
}

/** Assigns to a user id, or unassigns with an empty string. */
export function assign(id: string, assignee: string, actor: string): Promise<unknown> {
  return post(`${BASE}/${enc(id)}/assign`, { assignee: assignee || null, actor });
}

export function addNote(id: string, text: string, actor: string): Promise<unknown> {
  return post(`${BASE}/${enc(id)}/notes`, { text, actor });
}

export function fetchAnalytics(sinceMs: number, signal?: AbortSignal): Promise<IncidentAnalytics> {
  return request<IncidentAnalytics>(`${BASE}/analytics?since=${sinceMs}`, { signal });
}

/** Where the post-incident report (Markdown) of an incident is served. */
export function reportUrl(id: string): string {
  return `${BASE}/${enc(id)}/report.md`;
}
