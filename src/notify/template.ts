/**
 * Go text/template for notification templates, with what Alertmanager's templates use beyond rule templates:
 * `define` / `template` / `block`, arbitrary data (`.Alerts`, `.CommonLabels.SortedPairs`), methods of
 * Alertmanager's template data (`.Alerts.Firing`, `.Labels.Remove`, `.GroupLabels.Names`,
 * `.StartsAt.Format`), and Alertmanager's template functions. The engine is src/template/gotemplate.ts (shared
 * with rule templates); this file holds the notification dialect. Parsing does no I/O; template files are
 * read by the caller.
 */
import {
  GoTemplate,
  METHODS,
  ORDER,
  TEXT_FUNCS,
  escapeHtml,
  type TemplateNode,
} from '../template/gotemplate.ts';

export { METHODS };

export class NotifyTemplateError extends Error {
  override name = 'NotifyTemplateError';
}

/** A set of named templates (Go's `*template.Template` with its associated templates). */
export class TemplateSet {
  private readonly defs = new Map<string, TemplateNode[]>();

  /** Parses `source` under `name`; its `define`/`block` sections join the set. */
  add(source: string, name: string): this {
    this.defs.set(name, NOTIFY_TEMPLATES.parse(source, this.defs));
    return this;
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  /** Like `expand`, escaping every printed value for HTML (as Go's html/template does for e-mail bodies). */
  expandHtml(text: string, data: unknown): string {
    return this.expandWith(text, data, escapeHtml);
  }

  /** Executes the named template with `data`. Throws NotifyTemplateError on failures. */
  execute(name: string, data: unknown): string {
    const nodes = this.defs.get(name);
    if (!nodes) throw new NotifyTemplateError(`template ${JSON.stringify(name)} not defined`);
    return NOTIFY_TEMPLATES.execute(nodes, data, { defs: this.defs });
  }

  /** Parses and executes a one-off template string (a receiver field) against this set. */
  expand(text: string, data: unknown): string {
    return this.expandWith(text, data, undefined);
  }

  private expandWith(text: string, data: unknown, escape: ((s: string) => string) | undefined): string {
    if (!text.includes('{{')) return text;
    const nodes = NOTIFY_TEMPLATES.parse(text, this.defs);
    return NOTIFY_TEMPLATES.execute(nodes, data, { defs: this.defs, escape });
  }
}

/** Go's fmt.Sprint for template output (numbers here are mostly Go ints: counts, Unix times). */
function print(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof GoTime) return v.toString();
  if (Array.isArray(v)) return `[${v.map(print).join(' ')}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${print(o[k])}`)
    .join(' ')}]`;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** A time.Time for templates (UTC): prints like Go, `.Format` takes Go layouts, `.Unix` gives seconds. */
export class GoTime {
  constructor(readonly ms: number) {}
  get [ORDER](): number {
    return this.ms;
  }
  get [METHODS]() {
    return {
      Format: (layout: unknown) => formatGoLayout(this.ms, String(layout)),
      Unix: () => Math.floor(this.ms / 1000),
      UnixMilli: () => this.ms,
      IsZero: () => this.ms <= -62135596800000,
      UTC: () => this,
    };
  }
  toString(): string {
    return formatGoLayout(this.ms, '2006-01-02 15:04:05.999999999 -0700 MST');
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Go time layouts, UTC only (Alertmanager's template data is in UTC). */
export function formatGoLayout(ms: number, layout: string): string {
  const d = new Date(ms);
  const tokens: [string, () => string][] = [
    ['2006', () => String(d.getUTCFullYear())],
    ['January', () => MONTHS[d.getUTCMonth()]!],
    ['Jan', () => MONTHS[d.getUTCMonth()]!.slice(0, 3)],
    ['Monday', () => DAYS[d.getUTCDay()]!],
    ['Mon', () => DAYS[d.getUTCDay()]!.slice(0, 3)],
    ['MST', () => 'UTC'],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    [
      '.999999999',
      () => {
        const f = String(d.getUTCMilliseconds()).padStart(3, '0').replace(/0+$/, '');
        return f ? '.' + f : '';
      },
    ],
    ['.000', () => '.' + pad(d.getUTCMilliseconds(), 3)],
    ['01', () => pad(d.getUTCMonth() + 1)],
    ['02', () => pad(d.getUTCDate())],
    ['15', () => pad(d.getUTCHours())],
    ['03', () => pad(d.getUTCHours() % 12 || 12)],
    ['04', () => pad(d.getUTCMinutes())],
    ['05', () => pad(d.getUTCSeconds())],
    ['06', () => pad(d.getUTCFullYear() % 100)],
    ['PM', () => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
    ['_2', () => String(d.getUTCDate()).padStart(2, ' ')],
    ['1', () => String(d.getUTCMonth() + 1)],
    ['2', () => String(d.getUTCDate())],
    ['3', () => String(d.getUTCHours() % 12 || 12)],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [tok, fn] of tokens) {
      if (layout.startsWith(tok, i)) {
        out += fn();
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i++];
  }
  return out;
}

/** Alertmanager's template functions (Go's builtins come with the engine). */
const FUNCS: Record<string, (...a: unknown[]) => unknown> = {
  ...TEXT_FUNCS,
  len: (v) => {
    if (typeof v === 'string') return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new Error(`len of ${print(v)}`);
  },
  slice: (v, ...idx) => {
    const [i = 0, j] = idx as number[];
    return typeof v === 'string' || Array.isArray(v) ? v.slice(i, j) : v;
  },
  trimSpace: (s) => String(s).trim(),
  join: (sep, list) => (Array.isArray(list) ? list.map(print).join(String(sep)) : print(list)),
  safeUrl: (s) => String(s),
  urlUnescape: (s) => decodeURIComponent(String(s).replace(/\+/g, ' ')),
  stringSlice: (...a) => a.map(String),
  date: (layout, t) => formatGoLayout(t instanceof GoTime ? t.ms : Number(t), String(layout)),
  since: (t) => Date.now() - (t instanceof GoTime ? t.ms : Number(t)),
  humanizeDuration: (ms) => `${Math.round(Number(ms) / 1000)}s`,
};

const NOTIFY_TEMPLATES = new GoTemplate({
  funcs: FUNCS,
  error: (message) => new NotifyTemplateError(message),
  print,
  missingKey: 'default',
  keywords: 'all',
});
