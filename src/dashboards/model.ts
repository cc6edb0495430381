/**
 * The dashboard document, schemaVersion 1: what the dashboards API accepts and returns, what export/import
 * exchanges and what provisioning files contain. Reference: docs/format/dashboard.md.
 *
 * This module does no I/O. `validateDashboard` turns unknown JSON into a document or a list of problems with
 * paths such as `panels[2].grid.w`; `toStored` / `fromStored` map a document onto the state store's record
 * (title and tags are columns, everything else is the opaque `body`).
 */
import { z } from 'zod';
import { DurationError, parseDuration } from '../model/duration.ts';
import { parse as parsePromql } from '../query/promql/index.ts';
import type { Dashboard, JsonObject } from '../state/interface.ts';

/** The only schema version this Vigil reads and writes. */
export const SCHEMA_VERSION = 1;

export const UID_RE = /^[A-Za-z0-9_-]{1,40}$/;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const PANEL_KINDS = ['timeseries', 'stat', 'gauge', 'table', 'bar', 'heatmap'] as const;
export const MAX_QUERIES_PER_PANEL = 10;
export const GRID_COLUMNS = 24;

/** One problem of a document: where (`panels[2].grid.w`, '' for the document itself) and what. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** What a variable's query asks for: values of `label`, optionally only on series matching `selector`. */
export interface LabelValuesQuery {
  readonly label: string;
  readonly selector?: string;
}

/**
 * Parses a Grafana-style variable query: `label_values(job)` or `label_values(up{env="x"}, instance)`.
 * Returns the parts, or a message saying what is wrong.
 */
export function parseVariableQuery(query: string): LabelValuesQuery | { error: string } {
  const m = /^\s*label_values\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (!m)
    return {
      error:
        'must be label_values(<label>) or label_values(<series selector>, <label>), ' +
        'for example label_values(up{env="prod"}, instance)',
    };
  const inner = m[1]!;
  const comma = lastTopLevelComma(inner);
  const label = (comma < 0 ? inner : inner.slice(comma + 1)).trim();
  if (!LABEL_NAME_RE.test(label))
    return { error: `${JSON.stringify(label)} is not a label name (letters, digits and "_")` };
  if (comma < 0) return { label };
  const selector = inner.slice(0, comma).trim();
  let expr;
  try {
    expr = parsePromql(selector);
  } catch (err) {
    return {
      error: `the series selector ${JSON.stringify(selector)} does not parse: ${(err as Error).message}`,
    };
  }
  while (expr.type === 'ParenExpr') expr = expr.expr;
  if (expr.type !== 'VectorSelector')
    return { error: `${JSON.stringify(selector)} is not a series selector such as up{env="prod"}` };
  return { label, selector };
}

/** Index of the last comma outside quotes and braces, or -1. */
function lastTopLevelComma(s: string): number {
  let depth = 0;
  let quote = '';
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) last = i;
  }
  return last;
}

const RELATIVE_TIME_RE = /^now(?:[+-]\d+(?:ms|s|m|h|d|w|M|y))?(?:\/(?:s|m|h|d|w|M|y))?$/;

/** Milliseconds of an absolute time (epoch ms digits or ISO 8601), undefined for `now...` or garbage. */
function absoluteTime(s: string): number | undefined {
  if (/^\d{1,16}$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

const timeString = z.string().refine((s) => RELATIVE_TIME_RE.test(s) || absoluteTime(s) !== undefined, {
  error:
    'must be a relative time such as "now-6h", "now" or "now/d", an ISO 8601 time, or epoch milliseconds',
});

const noNul = (s: string) => !s.includes('\u0000');

const tagsSchema = z
  .array(z.string().trim().min(1).max(100).refine(noNul, { error: 'must not contain NUL characters' }))
  .max(50)
  // The state store de-duplicates tags; doing it here too keeps a stored document equal to its source.
  .transform((tags) => [...new Set(tags)]);

const variableSchema = z.strictObject({
  name: z.string().regex(NAME_RE, {
    error: 'must start with a letter or "_" and contain only letters, digits and "_"',
  }),
  label: z.string().max(200).optional(),
  query: z.string().superRefine((q, ctx) => {
    const parsed = parseVariableQuery(q);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  }),
  multi: z.boolean().default(false),
  includeAll: z.boolean().default(false),
  current: z.array(z.string()).optional(),
});

const querySchema = z.strictObject({
  // Not parsed: expressions may contain $variables that only make sense once substituted.
  expr: z.string().max(20_000),
  legend: z.string().max(500).optional(),
  hidden: z.boolean().optional(),
});

const gridSchema = z
  .strictObject({
    x: z
      .int()
      .min(0)
      .max(GRID_COLUMNS - 1),
    y: z.int().min(0),
    w: z.int().min(1).max(GRID_COLUMNS),
    h: z.int().min(1).max(40),
  })
  .superRefine((g, ctx) => {
    // Only once x and w are each in range (zod runs this refinement even when a field failed).
    if (g.x < GRID_COLUMNS && g.w <= GRID_COLUMNS && g.x + g.w > GRID_COLUMNS)
      ctx.addIssue({
        code: 'custom',
        path: ['w'],
        message: `x + w must be at most ${GRID_COLUMNS} (the grid is ${GRID_COLUMNS} columns wide); got ${g.x} + ${g.w}`,
      });
  });

const finite = z.number().refine(Number.isFinite, { error: 'must be a finite number' });

const optionsSchema = z
  .strictObject({
    unit: z.string().max(50).optional(),
    decimals: z.int().min(0).max(10).optional(),
    min: finite.optional(),
    max: finite.optional(),
    stacked: z.boolean().optional(),
    log: z.boolean().optional(),
    thresholds: z
      .array(z.strictObject({ value: finite, color: z.string().min(1).max(50) }))
      .max(20)
      .optional(),
  })
  .superRefine((o, ctx) => {
    if (o.min !== undefined && o.max !== undefined && o.min >= o.max)
      ctx.addIssue({ code: 'custom', path: ['max'], message: `must be greater than min (${o.min})` });
  });

const panelSchema = z.strictObject({
  id: z.string().min(1).max(100),
  title: z.string().max(200),
  kind: z.enum(PANEL_KINDS),
  description: z.string().max(10_000).optional(),
  queries: z.array(querySchema).max(MAX_QUERIES_PER_PANEL),
  grid: gridSchema,
  options: optionsSchema.optional(),
});

export const dashboardSchema = z
  .strictObject({
    schemaVersion: z.literal(SCHEMA_VERSION, {
      error: (iss) =>
        iss.input === undefined
          ? `missing; this Vigil reads schemaVersion ${SCHEMA_VERSION}`
          : `schemaVersion ${JSON.stringify(iss.input)} is not supported; this Vigil reads schemaVersion ${SCHEMA_VERSION}`,
    }),
    uid: z.string().regex(UID_RE, { error: 'must be 1 to 40 letters, digits, "-" or "_"' }).optional(),
    title: z.string().trim().min(1).max(200).refine(noNul, { error: 'must not contain NUL characters' }),
    tags: tagsSchema.optional(),
    description: z.string().max(10_000).optional(),
    time: z.strictObject({ from: timeString, to: timeString }).optional(),
    refresh: z
      .string()
      .superRefine((r, ctx) => {
        if (r === 'off') return;
        let ms: number;
        try {
          ms = parseDuration(r);
        } catch (err) {
          if (!(err instanceof DurationError)) throw err;
          ctx.addIssue({ code: 'custom', message: `must be "off" or a duration such as "30s" or "1m"` });
          return;
        }
        if (ms < 1000) ctx.addIssue({ code: 'custom', message: 'must be at least 1s (or "off")' });
      })
      .optional(),
    variables: z.array(variableSchema).default([]),
    panels: z.array(panelSchema).default([]),
  })
  .superRefine((d, ctx) => {
    duplicates(
      d.variables.map((v) => v.name),
      'variables',
      'name',
      'variable name',
      ctx,
    );
    duplicates(
      d.panels.map((p) => p.id),
      'panels',
      'id',
      'panel id',
      ctx,
    );
    if (d.time) {
      const from = absoluteTime(d.time.from);
      const to = absoluteTime(d.time.to);
      if (from !== undefined && to !== undefined && from >= to)
        ctx.addIssue({ code: 'custom', path: ['time', 'from'], message: 'must be before time.to' });
    }
  });

function duplicates(values: string[], list: string, field: string, what: string, ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  values.forEach((v, i) => {
    const j = first.get(v);
    if (j === undefined) first.set(v, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: [list, i, field],
        message: `duplicate ${what} ${JSON.stringify(v)} (already used by ${list}[${j}])`,
      });
  });
}

/** A validated dashboard document (defaults applied, title and tags trimmed, tags de-duplicated). */
export type DashboardDocument = z.output<typeof dashboardSchema>;
export type Variable = DashboardDocument['variables'][number];
export type Panel = DashboardDocument['panels'][number];
export type PanelKind = Panel['kind'];
export type PanelQuery = Panel['queries'][number];
export type PanelOptions = NonNullable<Panel['options']>;
/** A document as stored: it always has a uid and tags. */
export type StoredDocument = DashboardDocument & { uid: string; tags: string[] };

export type ValidationResult =
  | { readonly ok: true; readonly document: DashboardDocument }
  | { readonly ok: false; readonly problems: Problem[] };

/** Validates unknown JSON as a dashboard document. Every problem is listed, in document order. */
export function validateDashboard(input: unknown): ValidationResult {
  const r = dashboardSchema.safeParse(input);
  if (r.success) return { ok: true, document: r.data };
  return { ok: false, problems: r.error.issues.flatMap(toProblems) };
}

/** `['panels', 2, 'grid', 'w']` → `panels[2].grid.w`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

function toProblems(issue: z.core.$ZodIssue): Problem[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: formatPath([...issue.path, k]),
        message: 'unknown field (check its spelling; docs/format/dashboard.md lists the fields)',
      }));
    case 'invalid_type': {
      const want = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (/received undefined$/.test(issue.message)) return [{ path, message: `missing: must be ${want}` }];
      const got = /received (\w+)$/.exec(issue.message)?.[1];
      return [{ path, message: `must be ${want}${got ? `, got ${got}` : ''}` }];
    }
    case 'too_big':
    case 'too_small': {
      const big = issue.code === 'too_big';
      const bound = big ? issue.maximum : issue.minimum;
      const cmp = big
        ? issue.inclusive
          ? 'at most'
          : 'less than'
        : issue.inclusive
          ? 'at least'
          : 'more than';
      if (issue.origin === 'string' && !big && bound === 1) return [{ path, message: 'must not be empty' }];
      if (issue.origin === 'string')
        return [{ path, message: `must be ${cmp} ${String(bound)} characters long` }];
      if (issue.origin === 'array') return [{ path, message: `must have ${cmp} ${String(bound)} entries` }];
      return [{ path, message: `must be ${cmp} ${String(bound)}` }];
    }
    case 'invalid_value':
      if (issue.values.length > 1)
        return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

/** What the state store's `create` takes for a document (`createdBy` is the caller's to add). */
export interface StoredParts {
  readonly uid?: string;
  readonly title: string;
  readonly tags: string[];
  readonly body: JsonObject;
}

/** Splits a document into the store's columns (title, tags, uid) and its body (everything else). */
export function toStored(doc: DashboardDocument): StoredParts {
  const { uid, title, tags, ...body } = doc;
  return { ...(uid === undefined ? {} : { uid }), title, tags: tags ?? [], body: body as JsonObject };
}

/** Rebuilds the document of a stored dashboard, fields in the documented order. */
export function fromStored(d: Pick<Dashboard, 'uid' | 'title' | 'tags' | 'body'>): StoredDocument {
  const { schemaVersion, description, time, refresh, variables, panels, ...rest } = d.body;
  const doc: Record<string, unknown> = { schemaVersion: schemaVersion ?? SCHEMA_VERSION, uid: d.uid };
  doc.title = d.title;
  doc.tags = [...d.tags];
  if (description !== undefined) doc.description = description;
  if (time !== undefined) doc.time = time;
  if (refresh !== undefined) doc.refresh = refresh;
  doc.variables = variables ?? [];
  doc.panels = panels ?? [];
  // Anything else in the body (written by another Vigil version) is passed on rather than hidden.
  Object.assign(doc, rest);
  return doc as StoredDocument;
}

/** JSON with object keys sorted, for comparing documents whatever order their fields were written in. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}
