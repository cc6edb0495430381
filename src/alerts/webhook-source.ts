/**
 * Generic webhook alert sources: tools that post their own JSON (a channel monitor, a CI system, a cron
 * checker) are described in configuration by dotted paths into their payload, and each posted item becomes
 * an Alertmanager `PostableAlert`. Parsing only: no I/O (the HTTP route is src/api/alert-sources.ts).
 */
import { z } from 'zod';
import type { PostableAlert } from './sink.ts';

/**
 * A dotted path such as `data.items` or `alert.labels.host`; numeric segments index arrays (`items.0.id`);
 * `.` is the value itself.
 */
const pathSchema = z
  .string()
  .min(1, "a path must not be empty (use '.' for the whole value)")
  .refine((p) => p === '.' || p.split('.').every((s) => s !== ''), {
    message: "a path is names separated by single dots, such as data.items (or '.' for the whole value)",
  });

const statusSchema = z
  .object({
    path: pathSchema,
    /** Values (compared case-insensitively) that mean firing / resolved. */
    firing: z.array(z.string()).default(['firing']),
    resolved: z.array(z.string()).default(['resolved']),
  })
  .strict();

const nameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const labelName = z.string().regex(nameRe, 'not a valid label name');

/** One entry of `alerting.webhooks`. */
export const webhookSourceSchema = z
  .object({
    /** The URL segment: POST /api/vigil/v1/alerts/webhook/{name}. */
    name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'use letters, digits, "_", "-" and "."'),
    /** Where the alerts are: the path to an array, or '.' when the body is one alert. */
    alerts: pathSchema.default('.'),
    /** Label name → path in one item. `alertname` is required. */
    labels: z
      .record(labelName, pathSchema)
      .refine((l) => 'alertname' in l, { message: 'labels.alertname (a path) is required' }),
    /** Labels with a fixed value, added to every alert (a path's value wins). */
    static_labels: z.record(labelName, z.string()).default({}),
    /** Annotation name → path in one item. */
    annotations: z.record(labelName, pathSchema).default({}),
    /** Where the firing/resolved state is; absent = every item is firing. */
    status: statusSchema.optional(),
    /** Paths to RFC 3339 times or Unix seconds. */
    starts_at: pathSchema.optional(),
    ends_at: pathSchema.optional(),
    /** Path to the severity (becomes the `severity` label, normalised like any other). */
    severity: pathSchema.optional(),
    /** Path to a link back to the sending tool. */
    generator_url: pathSchema.optional(),
  })
  .strict();

export type WebhookSource = z.output<typeof webhookSourceSchema>;

export const webhookSourcesSchema = z
  .array(webhookSourceSchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, w] of list.entries()) {
      if (seen.has(w.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `webhook name ${w.name} is used twice` });
      seen.add(w.name);
    }
  });

export type PathResult = { readonly found: true; readonly value: unknown } | { readonly found: false };

/** Follows a dotted path into a JSON value. Own properties only; numeric segments index arrays. */
export function getPath(value: unknown, path: string): PathResult {
  if (path === '.') return { found: true, value };
  let cur: unknown = value;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg) || Number(seg) >= cur.length) return { found: false };
      cur = cur[Number(seg)];
    } else if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return { found: false };
    }
  }
  return cur === undefined ? { found: false } : { found: true, value: cur };
}

/** One item of a payload that could not be turned into an alert. */
export interface WebhookItemError {
  readonly index: number;
  readonly error: string;
}

export interface WebhookMapResult {
  /** The alerts, each with the index of the item it came from. */
  readonly alerts: readonly { readonly index: number; readonly alert: PostableAlert }[];
  readonly errors: readonly WebhookItemError[];
}

/** Thrown when the payload as a whole does not fit the source's description. */
export class WebhookPayloadError extends Error {
  override name = 'WebhookPayloadError';
}

class ItemError extends Error {}

/** A scalar as a string; absent and null are undefined; objects and arrays are an error naming the field. */
function scalar(item: unknown, path: string, field: string): string | undefined {
  const r = getPath(item, path);
  if (!r.found || r.value === null) return undefined;
  const v = r.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ItemError(
    `${field}: path ${path} is ${Array.isArray(v) ? 'an array' : 'an object'}, not a value`,
  );
}

function time(item: unknown, path: string | undefined, field: string): string | undefined {
  if (!path) return undefined;
  const r = getPath(item, path);
  if (!r.found || r.value === null || r.value === '') return undefined;
  const v = r.value;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e11)
    return new Date(Math.round(v * 1000)).toISOString();
  if (
    typeof v === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) &&
    !Number.isNaN(Date.parse(v))
  )
    return v;
  throw new ItemError(
    `${field}: ${JSON.stringify(v)} at path ${path} is neither an RFC 3339 time nor Unix seconds`,
  );
}

function mapItem(src: WebhookSource, item: unknown, now: number): PostableAlert {
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw new ItemError(
      `must be a JSON object, not ${item === null ? 'null' : Array.isArray(item) ? 'an array' : typeof item}`,
    );
  const labels: Record<string, string> = { ...src.static_labels };
  for (const [name, path] of Object.entries(src.labels)) {
    const v = scalar(item, path, `labels.${name}`);
    if (v !== undefined && v !== '') labels[name] = v;
  }
  if (src.severity) {
    const v = scalar(item, src.severity, 'severity');
    if (v !== undefined && v !== '') labels.severity = v;
  }
  if (!labels.alertname) throw new ItemError(`labels.alertname: path ${src.labels.alertname} has no value`);
  const annotations: Record<string, string> = {};
  for (const [name, path] of Object.entries(src.annotations)) {
    const v = scalar(item, path, `annotations.${name}`);
    if (v !== undefined && v !== '') annotations[name] = v;
  }
  const startsAt = time(item, src.starts_at, 'starts_at');
  let endsAt = time(item, src.ends_at, 'ends_at');
  if (src.status) {
    const v = scalar(item, src.status.path, 'status');
    const lower = v?.toLowerCase();
    const is = (list: readonly string[]) =>
      lower !== undefined && list.some((x) => x.toLowerCase() === lower);
    if (is(src.status.resolved)) {
      endsAt ??= new Date(now).toISOString();
      if (startsAt && Date.parse(startsAt) > Date.parse(endsAt)) endsAt = startsAt;
    } else if (is(src.status.firing)) {
      // A firing item's end is only the sender's estimate; without one, resolve_timeout applies.
    } else {
      const expected = [...src.status.firing, ...src.status.resolved]
        .map((x) => JSON.stringify(x))
        .join(', ');
      throw new ItemError(
        v === undefined
          ? `status: path ${src.status.path} has no value (expected one of ${expected})`
          : `status: ${JSON.stringify(v)} at path ${src.status.path} is not one of ${expected}`,
      );
    }
  }
  const generatorURL = src.generator_url ? scalar(item, src.generator_url, 'generator_url') : undefined;
  return {
    labels,
    annotations,
    ...(startsAt ? { startsAt } : {}),
    ...(endsAt ? { endsAt } : {}),
    ...(generatorURL ? { generatorURL } : {}),
  };
}

/**
 * Turns a posted payload into alerts. Items that do not fit are reported with their index and the field at
 * fault; the others are returned. Throws WebhookPayloadError when the alerts path is missing or not an
 * array (for '.', the body must be one object).
 */
export function mapWebhookPayload(src: WebhookSource, body: unknown, now: number): WebhookMapResult {
  let items: unknown[];
  if (src.alerts === '.') {
    if (Array.isArray(body)) items = body;
    else items = [body];
  } else {
    const r = getPath(body, src.alerts);
    if (!r.found)
      throw new WebhookPayloadError(
        `the payload has nothing at ${src.alerts} (alerts path of webhook ${src.name})`,
      );
    if (!Array.isArray(r.value))
      throw new WebhookPayloadError(
        `${src.alerts} in the payload must be an array of alerts (webhook ${src.name})`,
      );
    items = r.value;
  }
  const alerts: { index: number; alert: PostableAlert }[] = [];
  const errors: WebhookItemError[] = [];
  for (const [index, item] of items.entries()) {
    try {
      alerts.push({ index, alert: mapItem(src, item, now) });
    } catch (err) {
      if (!(err instanceof ItemError)) throw err;
      errors.push({ index, error: `item ${index}: ${err.message}` });
    }
  }
  return { alerts, errors };
}
