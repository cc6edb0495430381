/**
 * The part of Go's text/template that alerting-rule labels and annotations use, with Prometheus's template
 * functions: `{{ $labels.instance }}`, `{{ $value | humanize }}`, `{{ printf "%.2f" $value }}`,
 * `{{ if gt $value 0.5 }}…{{ else }}…{{ end }}`, `{{ with }}`, `{{ range }}`, variables, pipelines, `{{- -}}`
 * trimming and comments. Parsing is separate from execution so rule files are checked at load time, as
 * Prometheus does. Functions Prometheus has that need a query engine or a web UI (`query`, `graphLink`, ...)
 * parse but fail when executed, and Prometheus prints such failures into the text:
 * `<error expanding template: ...>`. The engine is src/template/gotemplate.ts; this file holds the rule
 * dialect: its functions, its data and missing labels reading as "" (Prometheus's `missingkey=zero`).
 */
import type { Labels } from '../model/labels.ts';
import { parseDuration } from '../model/duration.ts';
import { sprint } from '../template/fmt.ts';
import { GoTemplate, STRUCT, TEXT_FUNCS, type TemplateNode } from '../template/gotemplate.ts';
import { formatG } from './gofmt.ts';

export { sprintf } from '../template/fmt.ts';

/**
 * A syntax error in a template (unclosed action, unknown function, unbalanced `end`). expandTemplate prints
 * execution failures into the text instead of throwing.
 */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A parsed template. */
export interface Template {
  readonly source: string;
  readonly nodes: readonly TemplateNode[];
}

/** What a template sees: `$labels`, `$externalLabels`, `$externalURL`, `$value` and the same as `.Labels` etc. */
export interface TemplateData {
  readonly labels: Labels;
  readonly externalLabels: Labels;
  readonly externalURL: string;
  readonly value: number;
}

function toFloat(x: unknown): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'string') {
    const s = x.trim();
    const n = /^[+-]?inf(inity)?$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : Number(s);
    if (s === '' || (Number.isNaN(n) && !/^[+-]?nan$/i.test(s)))
      throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(x)}: invalid syntax`);
    return n;
  }
  throw new Error(`can't convert ${sprint(x)} to float`);
}

const SI_UP = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const SI_DOWN = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];

function humanize(x: unknown): string {
  let v = toFloat(x);
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of SI_UP) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of SI_DOWN) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return formatG(v, 4) + prefix;
}

function humanize1024(x: unknown): string {
  let v = toFloat(x);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatG(v, 4) + prefix;
}

function humanizeDuration(x: unknown): string {
  let v = toFloat(x);
  if (!Number.isFinite(v)) return formatG(v, 4);
  if (v === 0) return formatG(v, 4) + 's';
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    v = Math.abs(v);
    const d = Math.trunc(v);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatG(v, 4)}s`;
  }
  let prefix = '';
  for (const p of SI_DOWN) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v, 4)}${prefix}s`;
}

/** Go's time.Time.String() in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
function goTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? '.' + frac : ''} +0000 UTC`;
}

/** Prometheus's template functions that Vigil runs (Go's builtins come with the engine). */
const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  ...TEXT_FUNCS,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage: (x) => formatG(toFloat(x) * 100, 4) + '%',
  humanizeTimestamp: (x) => {
    const v = toFloat(x);
    return Number.isFinite(v) ? goTime(v * 1000) : formatG(v, 4);
  },
  stripPort: (s) => {
    const h = String(s);
    const m = /^\[([^\]]+)\](?::\d*)?$/.exec(h) ?? /^([^:]*):\d*$/.exec(h);
    return m ? m[1]! : h;
  },
  stripDomain: (s) => {
    const h = String(s);
    const m = /^(\[[^\]]+\]|[^:]+)(:\d*)?$/.exec(h);
    if (!m || m[1]!.startsWith('[') || /^\d+(\.\d+){3}$/.test(m[1]!)) return h;
    return m[1]!.split('.')[0]! + (m[2] ?? '');
  },
  parseDuration: (s) => parseDuration(String(s)) / 1000,
  toTime: (x) => goTime(toFloat(x) * 1000),
};

/** Prometheus template functions that need a query engine or the web UI: they parse, but fail when run. */
const UNSUPPORTED_FUNCS = new Set([
  'query',
  'first',
  'label',
  'value',
  'strvalue',
  'sortByLabel',
  'args',
  'tmpl',
  'graphLink',
  'tableLink',
  'externalURL',
  'pathPrefix',
  'now',
  'toDuration',
  'call',
  'slice',
]);

const RULE_TEMPLATES = new GoTemplate({
  funcs: FUNCS,
  error: (message) => new TemplateError(message),
  print: sprint,
  missingKey: 'zero',
  keywords: { rejected: (kw) => `{{${kw}}} is not supported in rule templates` },
  unsupported: {
    names: UNSUPPORTED_FUNCS,
    message: (name) => `function ${JSON.stringify(name)} is not supported by Vigil's rule templates`,
  },
});

/** Parses a template. Throws TemplateError with Go's wording where it has one. */
export function parseTemplate(source: string): Template {
  return { source, nodes: RULE_TEMPLATES.parse(source) };
}

/**
 * Expands a template; an execution failure gives Prometheus's `<error expanding template: ...>` text instead
 * of throwing, so one bad annotation does not stop the alert.
 */
export function expandTemplate(t: Template, data: TemplateData): string {
  // The data's top-level object is a Go struct: an unknown field is an error, not a missing key.
  const dot = {
    Labels: data.labels,
    ExternalLabels: data.externalLabels,
    ExternalURL: data.externalURL,
    Value: data.value,
    [STRUCT]: '*template.tmplData',
  };
  const vars = new Map<string, unknown>([
    ['$labels', data.labels],
    ['$externalLabels', data.externalLabels],
    ['$externalURL', data.externalURL],
    ['$value', data.value],
  ]);
  try {
    return RULE_TEMPLATES.execute(t.nodes, dot, { vars });
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    return `<error expanding template: ${err.message}>`;
  }
}
