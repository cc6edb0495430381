/**
 * The on-call API as the UI sees it: users, teams, schedules (who is on call, final shifts, coverage gaps and
 * overlaps, overrides, iCalendar) and escalation policies. Validation errors come back as ApiErrors whose
 * `details` carry the JSON path of each problem, so forms can show them next to the field.
 */
import { request } from './api.ts';

export type ContactKind = 'email' | 'slack' | 'webhook';

/**
 * One way to reach a person, tried in order. The API stores e-mail as `address` and Slack/webhook as `url`;
 * `fetchUsers` fills `address` for every kind, and the API accepts `address` for every kind on input.
 */
export interface ContactMethod {
  type: ContactKind;
  address: string;
  url?: string;
}

export interface User {
  id: string;
  name: string;
  contacts: ContactMethod[];
}

export interface Team {
  id: string;
  name: string;
  members: string[];
}

export interface Restriction {
  days: string[];
  from: string;
  to: string;
}

/** A rotation layer; times are wall-clock `YYYY-MM-DDTHH:MM` in the schedule's zone. */
export interface Layer {
  name: string;
  users: string[];
  rotation: 'daily' | 'weekly' | 'custom';
  turnHours?: number;
  start: string;
  end?: string;
  restrictions?: Restriction[];
}

export interface Override {
  user: string;
  start: string;
  end: string;
}

export interface Schedule {
  id: string;
  name: string;
  timeZone: string;
  layers: Layer[];
  overrides: Override[];
  /** Who is on call now, when the list endpoint includes it. */
  onCallNow?: string[];
}

/** A final shift, [start, end) in epoch milliseconds. */
export interface Shift {
  user: string;
  start: number;
  end: number;
  layer?: string;
  override?: boolean;
}

export interface Coverage {
  gaps: { start: number; end: number }[];
  overlaps: { start: number; end: number; layers: string[] }[];
}

export interface OnCall {
  users: string[];
  layer?: string;
  override?: boolean;
}

export type TargetKind = 'user' | 'schedule' | 'team' | 'receiver';

export interface Target {
  type: TargetKind;
  id: string;
}

export interface PolicyStep {
  targets: Target[];
  /** Wait for an acknowledgement after this step's pages before the next step. */
  delayMs: number;
}

/** An escalation policy as the API returns it. */
export interface Policy {
  id: string;
  name: string;
  steps: PolicyStep[];
  /** Extra passes through all steps after the first (0 = one pass). */
  repeat: number;
  /** Label matchers (Alertmanager syntax, `service="checkout"`) an alert group must all satisfy. */
  match: string[];
  /** Severities routed here; empty means any. */
  severities: string[];
  /** Lower first when several policies match. */
  priority: number;
  /** An acknowledged incident still open this long after acknowledgement re-escalates; 0 = never. */
  ackTimeoutMs: number;
}

/** What the policy form sends (the API's input form: delays in minutes). */
export interface PolicyInput {
  id: string;
  name: string;
  match: string[];
  severities: string[];
  priority: number;
  repeat: number;
  ackTimeoutMs: number;
  steps: { delayMinutes: number; targets: Target[] }[];
}

const BASE = '/api/vigil/v1';
const enc = encodeURIComponent;

function send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return request<T>(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Unwraps `{key: [...]}` or a bare array. */
function list<T>(body: Record<string, T[]> | T[], key: string): T[] {
  return Array.isArray(body) ? body : (body[key] ?? []);
}

export async function fetchUsers(signal?: AbortSignal): Promise<User[]> {
  const users = list(await request<Record<string, User[]> | User[]>(`${BASE}/users`, { signal }), 'users');
  return users.map((u) => ({
    ...u,
    contacts: (u.contacts ?? []).map((c) => ({ ...c, address: c.address ?? c.url ?? '' })),
  }));
}
export function saveUser(u: User, isNew: boolean): Promise<User> {
  return isNew ? send('POST', `${BASE}/users`, u) : send('PUT', `${BASE}/users/${enc(u.id)}`, u);
}

export async function fetchTeams(signal?: AbortSignal): Promise<Team[]> {
  return list(await request<Record<string, Team[]> | Team[]>(`${BASE}/teams`, { signal }), 'teams');
}
export function saveTeam(t: Team, isNew: boolean): Promise<Team> {
  return isNew ? send('POST', `${BASE}/teams`, t) : send('PUT', `${BASE}/teams/${enc(t.id)}`, t);
}

export async function fetchSchedules(signal?: AbortSignal): Promise<Schedule[]> {
  return list(
    await request<Record<string, Schedule[]> | Schedule[]>(`${BASE}/schedules`, { signal }),
    'schedules',
  );
}
export function fetchSchedule(id: string, signal?: AbortSignal): Promise<Schedule> {
  return request<Schedule>(`${BASE}/schedules/${enc(id)}`, { signal });
}
export function saveSchedule(s: Schedule): Promise<Schedule> {
  return send('PUT', `${BASE}/schedules/${enc(s.id)}`, s);
}

/** Who is on call at `atMs` (now when absent). */
export function fetchOnCall(id: string, atMs?: number, signal?: AbortSignal): Promise<OnCall> {
  const q = atMs === undefined ? '' : `?at=${atMs}`;
  return request<OnCall>(`${BASE}/schedules/${enc(id)}/oncall${q}`, { signal });
}

export async function fetchShifts(
  id: string,
  from: number,
  to: number,
  signal?: AbortSignal,
): Promise<Shift[]> {
  const body = await request<{ shifts: Shift[] } | Shift[]>(
    `${BASE}/schedules/${enc(id)}/shifts?from=${from}&to=${to}`,
    { signal },
  );
  return Array.isArray(body) ? body : body.shifts;
}

export function fetchCoverage(id: string, from: number, to: number, signal?: AbortSignal): Promise<Coverage> {
  return request<Coverage>(`${BASE}/schedules/${enc(id)}/coverage?from=${from}&to=${to}`, { signal });
}

/** Adds an override to the schedule (the server validates it against the schedule's users and zone). */
export function addOverride(id: string, o: Override): Promise<unknown> {
  return send('POST', `${BASE}/schedules/${enc(id)}/overrides`, o);
}

/** The iCalendar feed of a schedule's final shifts. */
export function icalUrl(id: string): string {
  return `${BASE}/schedules/${enc(id)}.ics`;
}

export async function fetchPolicies(signal?: AbortSignal): Promise<Policy[]> {
  return list(
    await request<Record<string, Policy[]> | Policy[]>(`${BASE}/escalation-policies`, { signal }),
    'policies',
  );
}
export function fetchPolicy(id: string, signal?: AbortSignal): Promise<Policy> {
  return request<Policy>(`${BASE}/escalation-policies/${enc(id)}`, { signal });
}
export function savePolicy(p: PolicyInput, isNew: boolean): Promise<Policy> {
  return isNew
    ? send('POST', `${BASE}/escalation-policies`, p)
    : send('PUT', `${BASE}/escalation-policies/${enc(p.id)}`, p);
}
