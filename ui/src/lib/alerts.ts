/**
 * The alerting APIs as the UI sees them: Alertmanager's v2 API (alerts, groups, silences, receivers),
 * Prometheus' rules API and Vigil's notification log. Alertmanager answers errors with a bare JSON string or
 * `{code, message}`; both become an ApiError whose message can be shown as it is.
 */
import { ApiError, request, type ErrorKind } from './api.ts';

export type Labels = Record<string, string>;

export interface AlertStatus {
  state: 'active' | 'suppressed' | 'unprocessed';
  silencedBy: string[];
  inhibitedBy: string[];
}

export interface GettableAlert {
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  receivers: { name: string }[];
  status: AlertStatus;
  generatorURL?: string;
}

export interface AlertGroup {
  labels: Labels;
  receiver: { name: string };
  alerts: GettableAlert[];
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  createdBy: string;
  comment: string;
}

export interface PostableSilence {
  id?: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface RuleAlert {
  labels: Labels;
  annotations: Labels;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: string;
  value: string;
}

interface RuleCommon {
  name: string;
  query: string;
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  labels?: Labels;
}
export interface AlertingRule extends RuleCommon {
  type: 'alerting';
  state: 'inactive' | 'pending' | 'firing';
  duration: number;
  keepFiringFor?: number;
  annotations: Labels;
  alerts: RuleAlert[];
}
export interface RecordingRule extends RuleCommon {
  type: 'recording';
}
export type Rule = AlertingRule | RecordingRule;

export interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  limit?: number;
  evaluationTime: number;
  lastEvaluation: string;
  rules: Rule[];
}

export interface NotificationEntry {
  id: string;
  groupId: string;
  groupKey: string;
  receiver: string;
  integration: string;
  status: 'firing' | 'resolved';
  alerts: { fingerprint: string; status: 'firing' | 'resolved'; labels: Labels }[];
  groupLabels: Labels;
  at: string;
  attempts: number;
  ok: boolean;
  error?: string;
}

function kindFor(status: number): ErrorKind {
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status >= 400 && status < 500) return 'bad_data';
  return 'server';
}

/** A request to Alertmanager's API: its error bodies (a JSON string or `{code, message}`) become ApiErrors. */
async function am<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new ApiError('aborted', 'request cancelled');
    throw new ApiError(
      'unreachable',
      `Vigil's API is unreachable (${(err as Error).message}). Is Vigil running?`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    if (res.ok) throw new ApiError('server', `${path.split('?')[0]} answered with a body that is not JSON`);
    body = text;
  }
  if (!res.ok) {
    const message =
      typeof body === 'string' && body !== ''
        ? body
        : body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
          ? (body as { message: string }).message
          : `${path.split('?')[0]} answered ${res.status} ${res.statusText}`;
    throw new ApiError(kindFor(res.status), message, res.status);
  }
  return body as T;
}

function qs(params: Record<string, string | readonly string[] | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    if (typeof v === 'string') p.set(k, v);
    else for (const x of v) p.append(k, x);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Alert groups as the pipeline groups them; `filter` holds matchers in Alertmanager's text form. */
export function fetchAlertGroups(
  q: { filter?: readonly string[]; receiver?: string; silenced?: boolean; inhibited?: boolean },
  signal?: AbortSignal,
): Promise<AlertGroup[]> {
  return am<AlertGroup[]>(
    `/api/v2/alerts/groups${qs({
      filter: q.filter,
      receiver: q.receiver,
      silenced: q.silenced === undefined ? undefined : String(q.silenced),
      inhibited: q.inhibited === undefined ? undefined : String(q.inhibited),
    })}`,
    { signal },
  );
}

/** Alerts matching every one of `filter` (silenced and inhibited ones included). */
export function fetchAlerts(filter: readonly string[], signal?: AbortSignal): Promise<GettableAlert[]> {
  return am<GettableAlert[]>(`/api/v2/alerts${qs({ filter })}`, { signal });
}

export async function fetchReceivers(signal?: AbortSignal): Promise<string[]> {
  const list = await am<{ name: string }[]>('/api/v2/receivers', { signal });
  return list.map((r) => r.name);
}

export function fetchSilences(signal?: AbortSignal): Promise<Silence[]> {
  return am<Silence[]>('/api/v2/silences', { signal });
}

/** Creates a silence, or (with `id`) replaces one as Alertmanager does; resolves to the silence's ID. */
export async function postSilence(s: PostableSilence): Promise<string> {
  const body = await am<{ silenceID: string }>('/api/v2/silences', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(s),
  });
  return body.silenceID;
}

export async function expireSilence(id: string): Promise<void> {
  await am<undefined>(`/api/v2/silence/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export async function fetchRules(signal?: AbortSignal): Promise<RuleGroup[]> {
  const body = await request<{ status: string; data: { groups: RuleGroup[] } }>('/api/v1/rules', { signal });
  return body.data.groups;
}

/** The notification log, oldest first. */
export async function fetchNotifications(signal?: AbortSignal): Promise<NotificationEntry[]> {
  const body = await request<{ notifications: NotificationEntry[] }>('/api/vigil/v1/alerting/notifications', {
    signal,
  });
  return body.notifications ?? [];
}

// ---- matchers ---------------------------------------------------------------------------------------

export function opOf(m: Matcher): MatchOp {
  return m.isEqual ? (m.isRegex ? '=~' : '=') : m.isRegex ? '!~' : '!=';
}

export function matcherFromOp(name: string, op: MatchOp, value: string): Matcher {
  return { name, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
}

/** `name=~"value"`, with the value quoted and escaped as Alertmanager prints it. */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${opOf(m)}${JSON.stringify(m.value)}`;
}

export class MatcherSyntaxError extends Error {
  override name = 'MatcherSyntaxError';
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses matchers as amtool takes them: `alertname=~"Disk.*" severity="critical"`, separated by spaces or
 * commas, optionally inside `{...}`; values quoted (with `\"` escapes) or bare. A bare word is taken as
 * `alertname=word`, as amtool does. Throws MatcherSyntaxError naming the position of the problem.
 */
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const out: Matcher[] = [];
  let i = 0;
  const skip = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === ',' || s[i] === '\t' || s[i] === '\n')) i++;
  };
  skip();
  while (i < s.length) {
    const start = i;
    while (i < s.length && /[A-Za-z0-9_]/.test(s[i]!)) i++;
    const name = s.slice(start, i);
    const opMatch = /^(=~|!~|!=|=)/.exec(s.slice(i));
    if (!opMatch) {
      if (name !== '' && (i >= s.length || s[i] === ' ' || s[i] === ',')) {
        out.push(matcherFromOp('alertname', '=', name));
        skip();
        continue;
      }
      throw new MatcherSyntaxError(
        `expected an operator (=, !=, =~, !~) at character ${i + 1} of the matchers, after ${JSON.stringify(s.slice(start, i + 1))}`,
      );
    }
    if (!NAME_RE.test(name))
      throw new MatcherSyntaxError(
        `${JSON.stringify(name)} at character ${start + 1} is not a label name (letters, digits and _, not starting with a digit)`,
      );
    const op = opMatch[1] as MatchOp;
    i += op.length;
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === '\\' && i + 1 < s.length) {
          const n = s[i + 1]!;
          value += n === 'n' ? '\n' : n;
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new MatcherSyntaxError(`the value of ${name} has no closing quote`);
    } else {
      const vs = i;
      while (i < s.length && s[i] !== ' ' && s[i] !== ',') i++;
      value = s.slice(vs, i);
    }
    if (op === '=~' || op === '!~') {
      try {
        new RegExp(`^(?:${value})$`);
      } catch (err) {
        throw new MatcherSyntaxError(
          `the regular expression of ${name} is invalid: ${(err as Error).message}`,
        );
      }
    }
    out.push(matcherFromOp(name, op, value));
    if (i < s.length && s[i] !== ' ' && s[i] !== ',')
      throw new MatcherSyntaxError(`expected a space or comma at character ${i + 1} of the matchers`);
    skip();
  }
  return out;
}

/** Whether labels satisfy a matcher (regexes anchored, as Alertmanager's). */
export function matches(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  let hit: boolean;
  if (m.isRegex) {
    try {
      hit = new RegExp(`^(?:${m.value})$`).test(v);
    } catch {
      hit = false;
    }
  } else hit = v === m.value;
  return m.isEqual ? hit : !hit;
}

// ---- severity ---------------------------------------------------------------------------------------

const SEVERITY_RANK: Record<string, number> = {
  critical: 0,
  page: 0,
  error: 1,
  high: 1,
  warning: 2,
  warn: 2,
  medium: 2,
  info: 3,
  low: 3,
  none: 4,
};

/** Sort key of a severity label: critical first, unknown and missing last. */
export function severityRank(severity: string | undefined): number {
  if (severity === undefined) return 6;
  return SEVERITY_RANK[severity.toLowerCase()] ?? 5;
}

/** The CSS class of a severity: `critical`, `warning`, `info` or `other`. */
export function severityClass(severity: string | undefined): string {
  const r = severityRank(severity);
  return r <= 1 ? 'critical' : r === 2 ? 'warning' : r <= 4 ? 'info' : 'other';
}
