/**
 * The part of Go's text/template that alerting-rule labels and annotations use, with Prometheus's template
 * functions: `{{ $labels.instance }}`, `{{ $value | humanize }}`, `{{ printf "%.2f" $value }}`,
 * `{{ if gt $value 0.5 }}…{{ else }}…{{ end }}`, `{{ with }}`, `{{ range }}`, variables, pipelines, `{{- -}}`
 * trimming and comments. Parsing is separate from execution so rule files are checked at load time, as
 * Prometheus does. Functions Prometheus has that need a query engine or a web UI (`query`, `graphLink`, ...)
 * parse but fail when executed, and Prometheus prints such failures into the text:
 * `<error expanding template: ...>`.
 */
import type { Labels } from '../model/labels.ts';
import { parseDuration } from '../model/duration.ts';
import { formatFixed, formatFloatV, formatG } from './gofmt.ts';

/** A syntax error in a template (unclosed action, unknown function, unbalanced `end`). */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

type Value =
  string | number | boolean | undefined | null | Readonly<Record<string, unknown>> | readonly unknown[];

interface Operand {
  readonly kind: 'field' | 'var' | 'func' | 'lit' | 'pipe';
  /** Field chain after the operand (`.Labels.job` -> ['Labels', 'job']; `$labels.job` -> ['job']). */
  readonly chain: readonly string[];
  readonly name?: string;
  readonly value?: Value;
  readonly pipe?: Pipeline;
}

interface Pipeline {
  readonly decl: readonly string[];
  readonly cmds: readonly (readonly Operand[])[];
}

type TNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'action'; readonly pipe: Pipeline }
  | {
      readonly kind: 'if' | 'with' | 'range';
      readonly pipe: Pipeline;
      readonly body: TNode[];
      readonly orElse: TNode[];
    };

/** A parsed template. */
export interface Template {
  readonly source: string;
  readonly nodes: readonly TNode[];
}

/** What a template sees: `$labels`, `$externalLabels`, `$externalURL`, `$value` and the same as `.Labels` etc. */
export interface TemplateData {
  readonly labels: Labels;
  readonly externalLabels: Labels;
  readonly externalURL: string;
  readonly value: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Lexing and parsing

type Tok =
  | { t: 'word'; v: string }
  | { t: 'field'; v: string[] }
  | { t: 'var'; v: string; chain: string[] }
  | { t: 'lit'; v: Value }
  | { t: 'op'; v: '|' | '(' | ')' | ':=' | '=' | ',' };

function lexAction(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const chainAt = (): string[] => {
    const chain: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i))!;
      chain.push(m[1]!);
      i += m[0].length;
    }
    return chain;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '|' || c === '(' || c === ')' || c === ',') {
      out.push({ t: 'op', v: c });
      i++;
      if (c === ')') {
        const chain = chainAt();
        if (chain.length) out.push({ t: 'field', v: chain });
      }
      continue;
    }
    if (src.startsWith(':=', i)) {
      out.push({ t: 'op', v: ':=' });
      i += 2;
      continue;
    }
    if (c === '=') {
      out.push({ t: 'op', v: '=' });
      i++;
      continue;
    }
    if (c === '"') {
      const m = /^"(?:[^"\\\n]|\\.)*"/.exec(src.slice(i));
      if (!m) throw new TemplateError('unterminated quoted string');
      out.push({ t: 'lit', v: unquote(m[0]) });
      i += m[0].length;
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new TemplateError('unterminated raw quoted string');
      out.push({ t: 'lit', v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ t: 'var', v: m[0], chain: chainAt() });
      continue;
    }
    if (c === '.') {
      if (!/[A-Za-z_]/.test(src[i + 1] ?? '')) {
        i++;
        out.push({ t: 'field', v: [] });
        continue;
      }
      out.push({ t: 'field', v: chainAt() });
      continue;
    }
    const num = /^[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num && /[\d.+-]/.test(c)) {
      out.push({ t: 'lit', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (word) {
      const w = word[0];
      i += w.length;
      if (w === 'true' || w === 'false') out.push({ t: 'lit', v: w === 'true' });
      else if (w === 'nil') out.push({ t: 'lit', v: null });
      else out.push({ t: 'word', v: w });
      continue;
    }
    throw new TemplateError(`unexpected ${JSON.stringify(c)} in action`);
  }
  return out;
}

function unquote(q: string): string {
  return q.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    switch (e[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'x':
      case 'u':
        return String.fromCodePoint(parseInt(e.slice(1), 16));
      default:
        return e;
    }
  });
}

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
]);

class PipeParser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  atEnd(): boolean {
    return this.i >= this.toks.length;
  }

  pipeline(allowDecl: boolean): Pipeline {
    const decl: string[] = [];
    if (allowDecl) {
      // `$x := ...` or `$k, $v := ...`
      let j = this.i;
      const names: string[] = [];
      while (this.toks[j]?.t === 'var' && (this.toks[j] as { chain: string[] }).chain.length === 0) {
        names.push((this.toks[j] as { v: string }).v);
        j++;
        if (this.toks[j]?.t === 'op' && this.toks[j]!.v === ',') j++;
        else break;
      }
      const op = this.toks[j];
      if (names.length && op?.t === 'op' && (op.v === ':=' || op.v === '=')) {
        decl.push(...names);
        this.i = j + 1;
      }
    }
    const cmds: Operand[][] = [];
    for (;;) {
      const cmd: Operand[] = [];
      while (!this.atEnd()) {
        const t = this.toks[this.i]!;
        if (t.t === 'op' && (t.v === '|' || t.v === ')')) break;
        cmd.push(this.operand());
      }
      if (!cmd.length) throw new TemplateError('missing value for command');
      cmds.push(cmd);
      const t = this.toks[this.i];
      if (t?.t === 'op' && t.v === '|') {
        this.i++;
        continue;
      }
      break;
    }
    return { decl, cmds };
  }

  private operand(): Operand {
    const t = this.toks[this.i++]!;
    switch (t.t) {
      case 'field':
        return { kind: 'field', chain: t.v };
      case 'var':
        return { kind: 'var', name: t.v, chain: t.chain };
      case 'lit':
        return { kind: 'lit', value: t.v, chain: [] };
      case 'word':
        if (KEYWORDS.has(t.v))
          throw new TemplateError(`unexpected keyword ${JSON.stringify(t.v)} in command`);
        if (!(t.v in FUNCS) && !UNSUPPORTED_FUNCS.has(t.v))
          throw new TemplateError(`function ${JSON.stringify(t.v)} not defined`);
        return { kind: 'func', name: t.v, chain: [] };
      case 'op': {
        if (t.v !== '(') throw new TemplateError(`unexpected ${JSON.stringify(t.v)} in operand`);
        const pipe = this.pipeline(false);
        const close = this.toks[this.i++];
        if (close?.t !== 'op' || close.v !== ')') throw new TemplateError('unclosed left paren');
        const next = this.toks[this.i];
        let chain: string[] = [];
        if (next?.t === 'field' && next.v.length) {
          chain = next.v;
          this.i++;
        }
        return { kind: 'pipe', pipe, chain };
      }
    }
  }
}

function parsePipe(src: string, allowDecl: boolean): Pipeline {
  const p = new PipeParser(lexAction(src));
  const pipe = p.pipeline(allowDecl);
  if (!p.atEnd()) throw new TemplateError('unexpected ")" in command');
  return pipe;
}

/** Parses a template. Throws TemplateError with Go's wording where it has one. */
export function parseTemplate(source: string): Template {
  // Split into text and actions, applying the `{{-` / `-}}` whitespace trimming.
  const parts: ({ text: string } | { action: string })[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= source.length) {
    const open = source.indexOf('{{', i);
    let text = open < 0 ? source.slice(i) : source.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) parts.push({ text });
      break;
    }
    let body = source.slice(open + 2);
    if (/^-\s/.test(body)) {
      text = text.replace(/\s+$/, '');
      body = body.slice(1);
    }
    if (text) parts.push({ text });
    const closeRel = findClose(body);
    if (closeRel < 0) throw new TemplateError('unclosed action');
    let action = body.slice(0, closeRel);
    trimNext = /\s-$/.test(action);
    if (trimNext) action = action.slice(0, -1);
    i = source.length - body.length + closeRel + 2;
    action = action.trim();
    if (action.startsWith('/*')) {
      if (!action.endsWith('*/')) throw new TemplateError('unclosed comment');
      continue;
    }
    parts.push({ action });
  }

  let k = 0;
  const block = (
    inside: string | undefined,
  ): { nodes: TNode[]; ended: 'end' | 'else' | 'eof'; rest?: string } => {
    const nodes: TNode[] = [];
    while (k < parts.length) {
      const p = parts[k++]!;
      if ('text' in p) {
        nodes.push({ kind: 'text', text: p.text });
        continue;
      }
      const a = p.action;
      if (a === '') throw new TemplateError('missing value for command');
      const m = /^(if|with|range|else|end|define|template|block|break|continue)\b\s*(.*)$/s.exec(a);
      if (!m) {
        nodes.push({ kind: 'action', pipe: parsePipe(a, true) });
        continue;
      }
      const kw = m[1]!;
      const rest = m[2]!;
      if (kw === 'end' || kw === 'else') {
        if (!inside) throw new TemplateError(`unexpected {{${kw}}}`);
        return { nodes, ended: kw, rest };
      }
      if (kw !== 'if' && kw !== 'with' && kw !== 'range')
        throw new TemplateError(`{{${kw}}} is not supported in rule templates`);
      nodes.push(control(kw, rest));
    }
    if (inside) throw new TemplateError(`unexpected EOF: {{${inside}}} has no {{end}}`);
    return { nodes, ended: 'eof' };
  };
  const control = (kw: 'if' | 'with' | 'range', pipeSrc: string): TNode => {
    if (pipeSrc.trim() === '') throw new TemplateError(`missing value for ${kw}`);
    const pipe = parsePipe(pipeSrc, true);
    const body = block(kw);
    let orElse: TNode[] = [];
    if (body.ended === 'else') {
      const chained = /^(if|with)\b\s*(.*)$/s.exec(body.rest ?? '');
      if (chained && chained[1] === kw && kw !== 'range') {
        // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer {{end}}.
        orElse = [control(kw, chained[2]!)];
      } else {
        if ((body.rest ?? '').trim() !== '') throw new TemplateError('unexpected text after {{else}}');
        const e = block(kw);
        if (e.ended !== 'end') throw new TemplateError('expected {{end}} after {{else}}');
        orElse = e.nodes;
      }
    }
    return { kind: kw, pipe, body: body.nodes, orElse };
  };
  const top = block(undefined);
  return { source, nodes: top.nodes };
}

/** Index of the `}}` closing an action, skipping quoted strings. */
function findClose(s: string): number {
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = undefined;
      continue;
    }
    if (c === '"' || c === '`') q = c;
    else if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Execution

class ExecError extends Error {}

/** Go's `fmt.Sprint` of a value. */
function show(v: Value | unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'number') return formatFloatV(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${show(o[k])}`)
    .join(' ')}]`;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    const n = /^[+-]?inf(inity)?$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : Number(s);
    if (s === '' || (Number.isNaN(n) && !/^[+-]?nan$/i.test(s)))
      throw new ExecError(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return n;
  }
  throw new ExecError(`can't convert ${show(v)} to float`);
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new ExecError('incompatible types for comparison');
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

/** Go's fmt.Sprintf for the verbs templates use: %s %v %d %f %e %g %q %x %%, with width and precision. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let n = 0;
  return (
    format.replace(
      /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g,
      (_m, flags: string, w?: string, p?: string, verb?: string) => {
        if (verb === '%') return '%';
        if (n >= args.length) return `%!${verb}(MISSING)`;
        const a = args[n++];
        const prec = p === undefined ? undefined : Number(p);
        let s: string;
        switch (verb) {
          case 'v':
          case 's':
            s = show(a);
            if (prec !== undefined && typeof a === 'string') s = s.slice(0, prec);
            break;
          case 'q':
            s = JSON.stringify(show(a));
            break;
          case 'd':
            s = typeof a === 'number' && Number.isInteger(a) ? String(a) : `%!d(${typeName(a)}=${show(a)})`;
            break;
          case 'f':
          case 'F':
            s = typeof a === 'number' ? formatFixed(a, prec ?? 6) : `%!f(${typeName(a)}=${show(a)})`;
            if (typeof a === 'number' && flags.includes('+') && a >= 0) s = '+' + s;
            break;
          case 'e':
            s = typeof a === 'number' ? goExp(a, prec ?? 6) : `%!e(${typeName(a)}=${show(a)})`;
            break;
          case 'g':
            s = typeof a === 'number' ? formatG(a, prec ?? -1) : `%!g(${typeName(a)}=${show(a)})`;
            break;
          case 'x':
            s =
              typeof a === 'number' && Number.isInteger(a)
                ? a.toString(16)
                : Buffer.from(show(a)).toString('hex');
            break;
          default:
            s = `%!${verb}(${typeName(a)}=${show(a)})`;
        }
        const width = w === undefined ? 0 : Number(w);
        if (s.length < width)
          s = flags.includes('-') ? s.padEnd(width) : s.padStart(width, flags.includes('0') ? '0' : ' ');
        return s;
      },
    ) +
    (n < args.length
      ? `%!(EXTRA ${args
          .slice(n)
          .map((a) => `${typeName(a)}=${show(a)}`)
          .join(', ')})`
      : '')
  );
}

function goExp(v: number, prec: number): string {
  if (!Number.isFinite(v)) return show(v);
  const [m, e] = v.toExponential(prec).split('e') as [string, string];
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function typeName(v: unknown): string {
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === undefined || v === null) return '<nil>';
  return Array.isArray(v) ? '[]interface {}' : 'map[string]string';
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  not: (a) => !truthy(a),
  len: (a) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw new ExecError(`len of type ${typeName(a)}`);
  },
  index: (a, ...keys) => {
    let cur = a;
    for (const k of keys) {
      if (Array.isArray(cur)) cur = cur[Number(k)];
      else if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[String(k)] ?? '';
      else throw new ExecError(`can't index item of type ${typeName(cur)}`);
    }
    return cur;
  },
  eq: (a, ...bs) => bs.some((b) => compare(a, b) === 0),
  ne: (a, b) => compare(a, b) !== 0,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  print: (...a) =>
    a
      .map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + show(x))
      .join(''),
  println: (...a) => a.map(show).join(' ') + '\n',
  printf: (f, ...a) => sprintf(String(f), a),
  urlquery: (...a) => encodeURIComponent(a.map(show).join('')).replace(/%20/g, '+'),
  html: (...a) =>
    a
      .map(show)
      .join('')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;'),
  js: (...a) => JSON.stringify(a.map(show).join('')).slice(1, -1),
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage: (x) => formatG(toFloat(x) * 100, 4) + '%',
  humanizeTimestamp: (x) => {
    const v = toFloat(x);
    return Number.isFinite(v) ? goTime(v * 1000) : formatG(v, 4);
  },
  toUpper: (s) => String(s).toUpperCase(),
  toLower: (s) => String(s).toLowerCase(),
  title: (s) =>
    String(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  match: (re, s) => new RegExp(String(re)).test(String(s)),
  reReplaceAll: (re, repl, s) =>
    String(s).replace(
      new RegExp(String(re), 'g'),
      String(repl)
        .replace(/\$\{?(\w+)\}?/g, '$<$1>')
        .replace(/\$<(\d+)>/g, '$$$1'),
    ),
  safeHtml: (s) => String(s),
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

interface Scope {
  dot: unknown;
  vars: Map<string, unknown>;
}

/** The template data's top-level object is a Go struct: an unknown field is an error, not a missing key. */
const STRUCTS = new WeakSet<object>();

function field(v: unknown, chain: readonly string[]): unknown {
  let cur = v;
  for (const name of chain) {
    if (cur === undefined || cur === null) throw new ExecError(`nil pointer evaluating .${name}`);
    if (typeof cur !== 'object' || Array.isArray(cur))
      throw new ExecError(`can't evaluate field ${name} in type ${typeName(cur)}`);
    const o = cur as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(o, name)) cur = o[name];
    else if (STRUCTS.has(o)) throw new ExecError(`can't evaluate field ${name} in type *template.tmplData`);
    // Prometheus expands with missingkey=zero: a label that is not there reads as "".
    else cur = '';
  }
  return cur;
}

function evalOperand(op: Operand, s: Scope): unknown {
  switch (op.kind) {
    case 'field':
      return field(s.dot, op.chain);
    case 'var': {
      if (!s.vars.has(op.name!)) throw new ExecError(`undefined variable: ${op.name}`);
      return field(s.vars.get(op.name!), op.chain);
    }
    case 'lit':
      return op.value;
    case 'pipe':
      return field(evalPipe(op.pipe!, s), op.chain);
    case 'func':
      return callFunc(op.name!, []);
  }
}

function callFunc(name: string, args: unknown[]): unknown {
  const f = FUNCS[name];
  if (!f) throw new ExecError(`function ${JSON.stringify(name)} is not supported by Vigil's rule templates`);
  try {
    return f(...args);
  } catch (err) {
    if (err instanceof ExecError) throw new ExecError(`error calling ${name}: ${err.message}`);
    throw new ExecError(`error calling ${name}: ${(err as Error).message}`);
  }
}

function evalPipe(p: Pipeline, s: Scope): unknown {
  let value: unknown;
  let first = true;
  for (const cmd of p.cmds) {
    const head = cmd[0]!;
    const args = cmd.slice(1).map((a) => evalOperand(a, s));
    if (!first) args.push(value);
    if (head.kind === 'func') value = callFunc(head.name!, args);
    else {
      if (args.length)
        throw new ExecError(`can't give argument to non-function ${show(evalOperand(head, s))}`);
      value = evalOperand(head, s);
    }
    first = false;
  }
  for (const name of p.decl) s.vars.set(name, value);
  return value;
}

function run(nodes: readonly TNode[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipe(n.pipe, s);
        if (!n.pipe.decl.length) out.push(show(v));
        break;
      }
      case 'if':
      case 'with': {
        const inner: Scope = { dot: s.dot, vars: new Map(s.vars) };
        const v = evalPipe(n.pipe, inner);
        if (truthy(v)) run(n.body, n.kind === 'with' ? { ...inner, dot: v } : inner, out);
        else run(n.orElse, { dot: s.dot, vars: new Map(s.vars) }, out);
        break;
      }
      case 'range': {
        const inner: Scope = { dot: s.dot, vars: new Map(s.vars) };
        const decl = n.pipe.decl;
        const v = evalPipe({ decl: [], cmds: n.pipe.cmds }, inner);
        const entries: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number' && Number.isInteger(v)
              ? Array.from({ length: v }, (_x, i) => [i, i])
              : [];
        if (v !== undefined && v !== null && typeof v !== 'object' && typeof v !== 'number')
          throw new ExecError(`range can't iterate over ${show(v)}`);
        if (!entries.length) run(n.orElse, inner, out);
        for (const [k, x] of entries) {
          const vars = new Map(inner.vars);
          if (decl.length === 1) vars.set(decl[0]!, x);
          if (decl.length === 2) {
            vars.set(decl[0]!, k);
            vars.set(decl[1]!, x);
          }
          run(n.body, { dot: x, vars }, out);
        }
        break;
      }
    }
  }
}

/**
 * Expands a template; an execution failure gives Prometheus's `<error expanding template: ...>` text instead
 * of throwing, so one bad annotation does not stop the alert.
 */
export function expandTemplate(t: Template, data: TemplateData): string {
  const dot = {
    Labels: data.labels,
    ExternalLabels: data.externalLabels,
    ExternalURL: data.externalURL,
    Value: data.value,
  };
  STRUCTS.add(dot);
  const vars = new Map<string, unknown>([
    ['$', dot],
    ['$labels', data.labels],
    ['$externalLabels', data.externalLabels],
    ['$externalURL', data.externalURL],
    ['$value', data.value],
  ]);
  const out: string[] = [];
  try {
    run(t.nodes, { dot, vars }, out);
  } catch (err) {
    if (!(err instanceof ExecError) && !(err instanceof SyntaxError) && !(err instanceof RangeError))
      throw err;
    return `<error expanding template: ${(err as Error).message}>`;
  }
  return out.join('');
}
