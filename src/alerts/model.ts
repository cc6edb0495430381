/**
 * The alert as the pipeline keeps it, its fingerprint (identical to Alertmanager's, so IDs shown by Vigil
 * and by Alertmanager agree), and the validation and normalisation `POST /api/v2/alerts` applies.
 */
import type { Labels } from '../model/labels.ts';
import type { PostableAlert } from './sink.ts';

/** An alert in the store. Times are epoch milliseconds. */
export interface Alert {
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAt: number;
  /** When the alert resolves (or resolved). Always set: a missing endsAt becomes now + resolve_timeout. */
  readonly endsAt: number;
  readonly generatorURL: string;
  /** When the alert was last received. */
  readonly updatedAt: number;
  /** True when endsAt came from resolve_timeout rather than from the sender. */
  readonly timeout: boolean;
}

/** Resolved at `now`: endsAt is not after now (Alertmanager's `Resolved()`). */
export function isResolved(a: Alert, now: number): boolean {
  return a.endsAt <= now;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const encoder = new TextEncoder();

/**
 * FNV-1a 64 over sorted `name 0xff value 0xff` pairs, printed as 16 hex digits: Prometheus's
 * `LabelSet.Fingerprint()`, which Alertmanager shows as the alert fingerprint.
 */
export function fingerprint(labels: Labels): string {
  let h = FNV_OFFSET;
  const add = (b: number) => {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const b of encoder.encode(name)) add(b);
    add(0xff);
    for (const b of encoder.encode(labels[name]!)) add(b);
    add(0xff);
  }
  return h.toString(16).padStart(16, '0');
}

/** Prometheus's `LabelSet.String()`: `{a="1", b="2"}`, sorted by name. */
export function labelSetString(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `{${parts.join(', ')}}`;
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses an RFC 3339 timestamp; undefined for absent/empty/Go's zero time, NaN for garbage. */
function parseTime(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return NaN;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v)) return NaN;
  const t = Date.parse(v);
  // Go's zero time (0001-01-01T00:00:00Z) means "unset" in Alertmanager.
  if (t <= -62135596800000) return undefined;
  return t;
}

function labelMap(v: unknown, what: string): Record<string, string> | string {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return `${what} must be an object of strings`;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') return `${what}: value of ${JSON.stringify(k)} must be a string`;
    out[k] = x;
  }
  return out;
}

/**
 * Validates a posted alert and turns it into a stored alert at `now`, as Alertmanager's API does: empty
 * label values are dropped, a missing startsAt becomes now (or endsAt), a missing endsAt becomes
 * now + resolveTimeout with the timeout flag. Returns an error message for invalid input.
 */
export function normalizeAlert(input: PostableAlert, now: number, resolveTimeoutMs: number): Alert | string {
  if (input === null || typeof input !== 'object') return 'alert must be an object';
  const labels = labelMap(input.labels, 'labels');
  if (typeof labels === 'string') return labels;
  const annotations = labelMap(input.annotations, 'annotations');
  if (typeof annotations === 'string') return annotations;
  for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k];
  if (Object.keys(labels).length === 0) return 'at least one label pair required';
  for (const k of Object.keys(labels))
    if (!LABEL_NAME_RE.test(k)) return `invalid label set: invalid name ${JSON.stringify(k)}`;
  for (const k of Object.keys(annotations))
    if (!LABEL_NAME_RE.test(k)) return `invalid annotations: invalid name ${JSON.stringify(k)}`;
  let startsAt = parseTime(input.startsAt);
  let endsAt = parseTime(input.endsAt);
  if (Number.isNaN(startsAt)) return `startsAt ${JSON.stringify(input.startsAt)} is not an RFC 3339 time`;
  if (Number.isNaN(endsAt)) return `endsAt ${JSON.stringify(input.endsAt)} is not an RFC 3339 time`;
  if (input.generatorURL !== undefined && typeof input.generatorURL !== 'string')
    return 'generatorURL must be a string';
  startsAt ??= endsAt ?? now;
  let timeout = false;
  if (endsAt === undefined) {
    endsAt = now + resolveTimeoutMs;
    timeout = true;
  }
  if (endsAt < startsAt) return 'start time must be before end time';
  return {
    labels,
    annotations,
    startsAt,
    endsAt,
    generatorURL: input.generatorURL ?? '',
    updatedAt: now,
    timeout,
  };
}

/**
 * Alertmanager's `Alert.Merge`: the younger alert wins, the earliest start is kept, and an explicit endsAt
 * is not shortened by a later timeout-derived one.
 */
export function mergeAlerts(a: Alert, o: Alert, now: number): Alert {
  if (o.updatedAt < a.updatedAt) return mergeAlerts(o, a, now);
  let startsAt = o.startsAt;
  let endsAt = o.endsAt;
  if (a.startsAt < o.startsAt) startsAt = a.startsAt;
  if (isResolved(o, now)) {
    if (isResolved(a, now) && a.endsAt > o.endsAt) endsAt = a.endsAt;
  } else if (a.endsAt > o.endsAt && !a.timeout) {
    endsAt = a.endsAt;
  }
  return { ...o, startsAt, endsAt };
}

/**
 * What the store keeps when `alert` is posted while `old` is stored under the same fingerprint: the merge
 * when their activity ranges overlap, else the new alert (a new episode).
 */
export function mergeOnRepost(old: Alert | undefined, alert: Alert, now: number): Alert {
  if (
    old &&
    ((alert.endsAt > old.startsAt && alert.endsAt < old.endsAt) ||
      (alert.startsAt > old.startsAt && alert.startsAt < old.endsAt))
  )
    return mergeAlerts(old, alert, now);
  return alert;
}
