/**
 * Go's text/template: lexing, parsing and execution of `{{ }}` actions, pipelines, variables, `if` / `with` /
 * `range` / `else if`, `{{- -}}` trimming, comments and, when enabled, `define` / `template` / `block` /
 * `break` / `continue`. The engine knows no template functions beyond Go's builtins: each user (rule
 * templates, notification templates) passes its own function map and options. Parsing does no I/O.
 */
import { sprintf, typeName } from './fmt.ts';

/** A template function. Throwing makes the call fail with `error calling <name>: <message>`. */
export type TemplateFunc = (...args: unknown[]) => unknown;

/** Methods of a value, called as fields (`.Alerts.Firing`) or with arguments (`.Labels.Remove $x`). */
export const METHODS = Symbol('methods');
/** A value's Go type name when it is a struct: its unknown fields are errors rather than missing keys. */
export const STRUCT = Symbol('struct');
/** A number that orders a value in `lt`, `gt`, `eq`... (a time, for instance). */
export const ORDER = Symbol('order');

type WithMethods = { [METHODS]?: Record<string, (...args: unknown[]) => unknown> };

export interface TemplateOptions {
  /** Functions beyond Go's builtins; an entry with a builtin's name replaces it. */
  readonly funcs: Readonly<Record<string, TemplateFunc>>;
  /** Builds the errors thrown for syntax and execution failures. */
  readonly error: (message: string) => Error;
  /** Go's fmt.Sprint of a value, for action output and `print`. */
  readonly print: (v: unknown) => string;
  /** What a missing map key reads as: Go's `missingkey=zero` ('') or the default (no value). */
  readonly missingKey: 'zero' | 'default';
  /** Whether `define`, `template`, `block`, `break` and `continue` are allowed; else the message for them. */
  readonly keywords: 'all' | { readonly rejected: (keyword: string) => string };
  /** Function names that parse but fail when run, with the failure's message. */
  readonly unsupported?: { readonly names: ReadonlySet<string>; readonly message: (name: string) => string };
}

interface Pipe {
  readonly decl: readonly string[];
  /** `$x = ...` (assigns an existing variable) rather than `$x := ...`. */
  readonly assign: boolean;
  readonly cmds: readonly (readonly Arg[])[];
}

type Arg =
  | { readonly k: 'field'; readonly chain: readonly string[] }
  | { readonly k: 'var'; readonly name: string; readonly chain: readonly string[] }
  | { readonly k: 'lit'; readonly v: unknown }
  | { readonly k: 'func'; readonly name: string }
  | { readonly k: 'pipe'; readonly pipe: Pipe; readonly chain: readonly string[] };

/** A parsed template node. */
export type TemplateNode =
  | { readonly k: 'text'; readonly text: string }
  | { readonly k: 'action'; readonly pipe: Pipe }
  | {
      readonly k: 'if' | 'with' | 'range';
      readonly pipe: Pipe;
      readonly body: TemplateNode[];
      readonly orElse: TemplateNode[];
    }
  | { readonly k: 'template'; readonly name: string; readonly pipe?: Pipe }
  | { readonly k: 'break' | 'continue' };

/** How one execution runs. */
export interface ExecuteOptions {
  /** Variables besides `$` (which is the data). */
  readonly vars?: ReadonlyMap<string, unknown>;
  /** Named templates for `{{ template }}`. */
  readonly defs?: ReadonlyMap<string, readonly TemplateNode[]>;
  /** Applied to every printed value (HTML escaping, as html/template does for e-mail bodies). */
  readonly escape?: (s: string) => string;
}

type Tok =
  | { t: 'word'; v: string }
  | { t: 'field'; v: string[] }
  | { t: 'var'; v: string; chain: string[] }
  | { t: 'lit'; v: unknown }
  | { t: 'op'; v: '|' | '(' | ')' | ':=' | '=' | ',' };

const KEYWORD = /^(if|with|range|else|end|define|template|block|break|continue)\b\s*(.*)$/s;
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
const NO_ARG = Symbol('no-arg');
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

/** A Go text/template dialect: its functions and options. Parse once, execute many times. */
export class GoTemplate {
  private readonly funcs: Readonly<Record<string, TemplateFunc>>;

  constructor(private readonly opts: TemplateOptions) {
    this.funcs = { ...builtins(opts), ...opts.funcs };
  }

  /**
   * Parses `source` into its top-level nodes. `define` and `block` sections are stored into `defs` (they are
   * rejected when the dialect has no named templates). Throws the dialect's error with Go's wording.
   */
  parse(source: string, defs?: Map<string, TemplateNode[]>): TemplateNode[] {
    const fail = this.opts.error;
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
      const close = findClose(body);
      if (close < 0) throw fail('unclosed action');
      let action = body.slice(0, close);
      trimNext = /\s-$/.test(action);
      if (trimNext) action = action.slice(0, -1);
      i = source.length - body.length + close + 2;
      action = action.trim();
      if (action.startsWith('/*')) {
        if (!action.endsWith('*/')) throw fail('unclosed comment');
        continue;
      }
      parts.push({ action });
    }

    let k = 0;
    const block = (inside: string | undefined): { nodes: TemplateNode[]; ended: string; rest: string } => {
      const nodes: TemplateNode[] = [];
      while (k < parts.length) {
        const p = parts[k++]!;
        if ('text' in p) {
          nodes.push({ k: 'text', text: p.text });
          continue;
        }
        const m = KEYWORD.exec(p.action);
        if (!m) {
          nodes.push({ k: 'action', pipe: this.parsePipe(p.action, true) });
          continue;
        }
        const [, kw, rest] = m as unknown as [string, string, string];
        if (kw === 'end' || kw === 'else') {
          if (!inside) throw fail(`unexpected {{${kw}}}`);
          return { nodes, ended: kw, rest };
        }
        if (kw === 'if' || kw === 'with' || kw === 'range') {
          nodes.push(control(kw, rest));
          continue;
        }
        if (this.opts.keywords !== 'all') throw fail(this.opts.keywords.rejected(kw));
        if (kw === 'break' || kw === 'continue') nodes.push({ k: kw });
        else {
          const nm = /^("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(.*)$/s.exec(rest);
          if (!nm) throw fail(`{{${kw}}} needs a quoted template name`);
          const name = nm[1]!.startsWith('`') ? nm[1]!.slice(1, -1) : this.unquote(nm[1]!);
          if (kw === 'template') {
            nodes.push({
              k: 'template',
              name,
              pipe: nm[2]!.trim() ? this.parsePipe(nm[2]!, false) : undefined,
            });
            continue;
          }
          const body = block(kw);
          if (body.ended !== 'end') throw fail(`{{${kw}}} has no {{end}}`);
          defs?.set(name, body.nodes);
          if (kw === 'block') nodes.push({ k: 'template', name, pipe: this.parsePipe(nm[2]!, false) });
        }
      }
      if (inside) throw fail(`unexpected EOF: {{${inside}}} has no {{end}}`);
      return { nodes, ended: 'eof', rest: '' };
    };
    const control = (kw: 'if' | 'with' | 'range', src: string): TemplateNode => {
      if (!src.trim()) throw fail(`missing value for ${kw}`);
      const pipe = this.parsePipe(src, true);
      const body = block(kw);
      let orElse: TemplateNode[] = [];
      if (body.ended === 'else') {
        const chained = /^(if|with)\b\s*(.*)$/s.exec(body.rest);
        if (chained && chained[1] === kw) {
          // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer {{end}}.
          orElse = [control(kw, chained[2]!)];
        } else {
          if (body.rest.trim() !== '') throw fail('unexpected text after {{else}}');
          const e = block(kw);
          if (e.ended !== 'end') throw fail('expected {{end}} after {{else}}');
          orElse = e.nodes;
        }
      }
      return { k: kw, pipe, body: body.nodes, orElse };
    };
    return block(undefined).nodes;
  }

  /** Runs parsed nodes against `data`. Throws the dialect's error on failures. */
  execute(nodes: readonly TemplateNode[], data: unknown, opts: ExecuteOptions = {}): string {
    const out: string[] = [];
    const vars = new Map<string, unknown>([['$', data], ...(opts.vars ?? [])]);
    this.run(nodes, data, vars, out, 0, opts);
    return out.join('');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Parsing of one action

  /** Go's string unquoting: `\n`, `\t`, `\x41`, `\u00e9`, `\101`, `\\`, `\"`... */
  private unquote(q: string): string {
    return q
      .slice(1, -1)
      .replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/gs, (_m, e: string) => {
        switch (e[0]) {
          case 'a':
            return '\x07';
          case 'b':
            return '\b';
          case 'f':
            return '\f';
          case 'n':
            return '\n';
          case 'r':
            return '\r';
          case 't':
            return '\t';
          case 'v':
            return '\v';
          case 'x':
          case 'u':
          case 'U':
            return String.fromCodePoint(parseInt(e.slice(1), 16));
          default:
            if (/^[0-7]{3}$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
            // Go rejects other escapes; rule files written for Vigil have relied on `\d` reading as `d`.
            return e;
        }
      });
  }

  private lex(src: string): Tok[] {
    const fail = this.opts.error;
    const out: Tok[] = [];
    let i = 0;
    const chain = (): string[] => {
      const c: string[] = [];
      while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
        const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i))!;
        c.push(m[1]!);
        i += m[0].length;
      }
      return c;
    };
    while (i < src.length) {
      const c = src[i]!;
      if (/\s/.test(c)) {
        i++;
      } else if (c === '|' || c === '(' || c === ',') {
        out.push({ t: 'op', v: c });
        i++;
      } else if (c === ')') {
        out.push({ t: 'op', v: c });
        i++;
        const ch = chain();
        if (ch.length) out.push({ t: 'field', v: ch });
      } else if (src.startsWith(':=', i)) {
        out.push({ t: 'op', v: ':=' });
        i += 2;
      } else if (c === '=') {
        out.push({ t: 'op', v: '=' });
        i++;
      } else if (c === '"') {
        const m = /^"(?:[^"\\\n]|\\.)*"/.exec(src.slice(i));
        if (!m) throw fail('unterminated quoted string');
        out.push({ t: 'lit', v: this.unquote(m[0]) });
        i += m[0].length;
      } else if (c === '`') {
        const end = src.indexOf('`', i + 1);
        if (end < 0) throw fail('unterminated raw quoted string');
        out.push({ t: 'lit', v: src.slice(i + 1, end) });
        i = end + 1;
      } else if (c === "'") {
        const m = /^'(\\.|[^'\\])'/.exec(src.slice(i));
        if (!m) throw fail('malformed character constant');
        out.push({ t: 'lit', v: this.unquote(`"${m[1]}"`).codePointAt(0) });
        i += m[0].length;
      } else if (c === '$') {
        const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i))!;
        i += m[0].length;
        out.push({ t: 'var', v: m[0], chain: chain() });
      } else if (c === '.' && !/[A-Za-z_]/.test(src[i + 1] ?? '') && !/\d/.test(src[i + 1] ?? '')) {
        i++;
        out.push({ t: 'field', v: [] });
      } else if (c === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
        out.push({ t: 'field', v: chain() });
      } else {
        const num = /^[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
        if (num && /[\d.+-]/.test(c)) {
          out.push({ t: 'lit', v: Number(num[0]) });
          i += num[0].length;
          continue;
        }
        const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
        if (!w) throw fail(`unexpected ${JSON.stringify(c)} in action`);
        i += w[0].length;
        if (w[0] === 'true' || w[0] === 'false') out.push({ t: 'lit', v: w[0] === 'true' });
        else if (w[0] === 'nil') out.push({ t: 'lit', v: null });
        else out.push({ t: 'word', v: w[0] });
      }
    }
    return out;
  }

  private parsePipe(src: string, allowDecl: boolean): Pipe {
    const fail = this.opts.error;
    const toks = this.lex(src);
    let i = 0;
    const decl: string[] = [];
    let assign = false;
    if (allowDecl) {
      // `$x := ...`, `$x = ...` or `$k, $v := ...`
      let j = 0;
      const names: string[] = [];
      while (toks[j]?.t === 'var' && (toks[j] as { chain: string[] }).chain.length === 0) {
        names.push((toks[j] as { v: string }).v);
        j++;
        if (toks[j]?.t === 'op' && toks[j]!.v === ',') j++;
        else break;
      }
      const op = toks[j];
      if (names.length && op?.t === 'op' && (op.v === ':=' || op.v === '=')) {
        decl.push(...names);
        assign = op.v === '=';
        i = j + 1;
      }
    }
    const pipeline = (): Arg[][] => {
      const cmds: Arg[][] = [];
      for (;;) {
        const cmd: Arg[] = [];
        while (i < toks.length) {
          const t = toks[i]!;
          if (t.t === 'op' && (t.v === '|' || t.v === ')')) break;
          cmd.push(operand());
        }
        if (!cmd.length) throw fail('missing value for command');
        cmds.push(cmd);
        if (toks[i]?.t === 'op' && toks[i]!.v === '|') {
          i++;
          continue;
        }
        return cmds;
      }
    };
    const operand = (): Arg => {
      const t = toks[i++]!;
      switch (t.t) {
        case 'field':
          return { k: 'field', chain: t.v };
        case 'var':
          return { k: 'var', name: t.v, chain: t.chain };
        case 'lit':
          return { k: 'lit', v: t.v };
        case 'word':
          if (KEYWORDS.has(t.v)) throw fail(`unexpected keyword ${JSON.stringify(t.v)} in command`);
          if (!Object.hasOwn(this.funcs, t.v) && !this.opts.unsupported?.names.has(t.v))
            throw fail(`function ${JSON.stringify(t.v)} not defined`);
          return { k: 'func', name: t.v };
        case 'op': {
          if (t.v !== '(') throw fail(`unexpected ${JSON.stringify(t.v)} in operand`);
          const cmds = pipeline();
          if (toks[i]?.t !== 'op' || toks[i]!.v !== ')') throw fail('unclosed left paren');
          i++;
          let ch: string[] = [];
          const next = toks[i];
          if (next?.t === 'field' && next.v.length) {
            ch = next.v;
            i++;
          }
          return { k: 'pipe', pipe: { decl: [], assign: false, cmds }, chain: ch };
        }
      }
    };
    const cmds = pipeline();
    if (i < toks.length) throw fail('unexpected ")" in command');
    return { decl, assign, cmds };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Execution

  private run(
    nodes: readonly TemplateNode[],
    dot: unknown,
    vars: Map<string, unknown>,
    out: string[],
    depth: number,
    x: ExecuteOptions,
  ): void {
    if (depth > 100) throw this.opts.error('exceeded maximum template depth (100)');
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          out.push(n.text);
          break;
        case 'action': {
          const v = this.pipe(n.pipe, dot, vars);
          if (n.pipe.decl.length === 0)
            out.push(x.escape ? x.escape(this.opts.print(v)) : this.opts.print(v));
          break;
        }
        case 'template': {
          const d = n.pipe ? this.pipe(n.pipe, dot, vars) : undefined;
          const t = x.defs?.get(n.name);
          if (!t) throw this.opts.error(`no such template ${JSON.stringify(n.name)}`);
          this.run(t, d, new Map([['$', d]]), out, depth + 1, x);
          break;
        }
        case 'if':
        case 'with': {
          const inner = new Map(vars);
          const v = this.pipe(n.pipe, dot, inner);
          if (truthy(v)) this.run(n.body, n.k === 'with' ? v : dot, inner, out, depth, x);
          else this.run(n.orElse, dot, inner, out, depth, x);
          break;
        }
        case 'range': {
          const inner = new Map(vars);
          const decl = n.pipe.decl;
          const v = this.pipe({ ...n.pipe, decl: [] }, dot, inner);
          const entries = this.rangeEntries(v);
          if (!entries.length) this.run(n.orElse, dot, inner, out, depth, x);
          for (const [key, item] of entries) {
            const scope = new Map(inner);
            if (decl.length === 1) scope.set(decl[0]!, item);
            if (decl.length === 2) {
              scope.set(decl[0]!, key);
              scope.set(decl[1]!, item);
            }
            try {
              this.run(n.body, item, scope, out, depth, x);
            } catch (sig) {
              if (sig === BREAK) break;
              if (sig === CONTINUE) continue;
              throw sig;
            }
          }
          break;
        }
        case 'break':
          throw BREAK;
        case 'continue':
          throw CONTINUE;
      }
    }
  }

  private rangeEntries(v: unknown): [unknown, unknown][] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v.map((x, i) => [i, x]);
    if (typeof v === 'number') return Array.from({ length: Math.max(0, Math.trunc(v)) }, (_x, i) => [i, i]);
    if (typeof v === 'object')
      return Object.keys(v)
        .sort()
        .map((k) => [k, (v as Record<string, unknown>)[k]]);
    throw this.opts.error(`range can't iterate over ${this.opts.print(v)}`);
  }

  private pipe(p: Pipe, dot: unknown, vars: Map<string, unknown>): unknown {
    let v: unknown = undefined;
    let first = true;
    for (const cmd of p.cmds) {
      v = this.command(cmd, dot, vars, first ? NO_ARG : v);
      first = false;
    }
    for (const d of p.decl) {
      if (p.assign && !vars.has(d)) throw this.opts.error(`undefined variable: ${d}`);
      vars.set(d, v);
    }
    return v;
  }

  private command(cmd: readonly Arg[], dot: unknown, vars: Map<string, unknown>, piped: unknown): unknown {
    const head = cmd[0]!;
    const rest = cmd.slice(1).map((a) => this.arg(a, dot, vars));
    if (piped !== NO_ARG) rest.push(piped);
    if (head.k === 'func') return this.call(head.name, rest);
    if ((head.k === 'field' || head.k === 'var') && head.chain.length && rest.length) {
      // `.Labels.Remove .GroupLabels.Names`: the last element is a method called with arguments.
      const base = head.k === 'var' ? this.lookupVar(vars, head.name) : dot;
      const recv = this.walk(base, head.chain.slice(0, -1));
      const name = head.chain.at(-1)!;
      const m = (recv as WithMethods | null | undefined)?.[METHODS]?.[name];
      if (m) return m(...rest);
      if ((recv as WithMethods | null | undefined)?.[METHODS])
        throw this.opts.error(`can't call method/function ${JSON.stringify(name)} with ${rest.length} args`);
    }
    if (rest.length) {
      const what = head.k === 'field' ? `.${head.chain.join('.')}` : head.k === 'var' ? head.name : 'value';
      throw this.opts.error(`can't give argument to non-function ${what}`);
    }
    return this.arg(head, dot, vars);
  }

  private call(name: string, args: unknown[]): unknown {
    const f = Object.hasOwn(this.funcs, name) ? this.funcs[name] : undefined;
    if (!f)
      throw this.opts.error(
        this.opts.unsupported?.message(name) ?? `function ${JSON.stringify(name)} not defined`,
      );
    try {
      return f(...args);
    } catch (err) {
      throw this.opts.error(`error calling ${name}: ${(err as Error).message}`);
    }
  }

  private arg(a: Arg, dot: unknown, vars: Map<string, unknown>): unknown {
    switch (a.k) {
      case 'lit':
        return a.v;
      case 'field':
        return this.walk(dot, a.chain);
      case 'var':
        return this.walk(this.lookupVar(vars, a.name), a.chain);
      case 'func':
        return this.call(a.name, []);
      case 'pipe':
        return this.walk(this.pipe(a.pipe, dot, new Map(vars)), a.chain);
    }
  }

  private lookupVar(vars: Map<string, unknown>, name: string): unknown {
    if (!vars.has(name)) throw this.opts.error(`undefined variable: ${name}`);
    return vars.get(name);
  }

  private walk(v: unknown, chain: readonly string[]): unknown {
    let cur = v;
    for (const f of chain) {
      if (cur === null || cur === undefined) throw this.opts.error(`nil pointer evaluating .${f}`);
      const m = (cur as WithMethods)[METHODS]?.[f];
      if (m) cur = m();
      else if (typeof cur !== 'object' || Array.isArray(cur))
        throw this.opts.error(`can't evaluate field ${f} in type ${typeName(cur)}`);
      else if (Object.prototype.hasOwnProperty.call(cur, f)) cur = (cur as Record<string, unknown>)[f];
      else if ((cur as { [STRUCT]?: string })[STRUCT] !== undefined)
        throw this.opts.error(`can't evaluate field ${f} in type ${(cur as { [STRUCT]: string })[STRUCT]}`);
      else cur = this.opts.missingKey === 'zero' ? '' : undefined;
    }
    return cur;
  }
}

function findClose(s: string): number {
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = undefined;
    } else if (c === '"' || c === '`') q = c;
    else if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object')
    return (v as { [ORDER]?: number })[ORDER] !== undefined || Object.keys(v).length > 0;
  return true;
}

function ordered(v: unknown): unknown {
  return v !== null && typeof v === 'object' && (v as { [ORDER]?: number })[ORDER] !== undefined
    ? (v as { [ORDER]: number })[ORDER]
    : v;
}

function compare(a: unknown, b: unknown): number {
  const x = ordered(a);
  const y = ordered(b);
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'boolean' && typeof y === 'boolean') return x === y ? 0 : 1;
  throw new Error('incompatible types for comparison');
}

/** `eq`/`ne`: a value with no value (a missing key, nil) is equal only to another such value. */
function equal(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null || b === undefined || b === null) return (a ?? null) === (b ?? null);
  return compare(a, b) === 0;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!,
  );
}

/** Go's builtin template functions. */
function builtins(opts: TemplateOptions): Record<string, TemplateFunc> {
  const print = opts.print;
  return {
    and: (...a) => a.find((x) => !truthy(x)) ?? a.at(-1),
    or: (...a) => a.find((x) => truthy(x)) ?? a.at(-1),
    not: (a) => !truthy(a),
    len: (a) => {
      if (typeof a === 'string' || Array.isArray(a)) return a.length;
      if (a && typeof a === 'object') return Object.keys(a).length;
      throw new Error(`len of type ${typeName(a)}`);
    },
    index: (a, ...keys) => {
      let cur = a;
      for (const k of keys) {
        if (Array.isArray(cur)) cur = cur[Number(k)];
        else if (cur && typeof cur === 'object')
          cur = Object.prototype.hasOwnProperty.call(cur, String(k))
            ? (cur as Record<string, unknown>)[String(k)]
            : opts.missingKey === 'zero'
              ? ''
              : undefined;
        else throw new Error(`can't index item of type ${typeName(cur)}`);
      }
      return cur;
    },
    eq: (a, ...bs) => bs.some((b) => equal(a, b)),
    ne: (a, b) => !equal(a, b),
    lt: (a, b) => compare(a, b) < 0,
    le: (a, b) => compare(a, b) <= 0,
    gt: (a, b) => compare(a, b) > 0,
    ge: (a, b) => compare(a, b) >= 0,
    // Go's fmt.Sprint puts a space between operands when neither is a string.
    print: (...a) =>
      a
        .map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + print(x))
        .join(''),
    println: (...a) => a.map(print).join(' ') + '\n',
    printf: (f, ...a) => sprintf(String(f), a),
    urlquery: (...a) => encodeURIComponent(a.map(print).join('')).replace(/%20/g, '+'),
    html: (...a) => escapeHtml(a.map(print).join('')),
    js: (...a) => JSON.stringify(a.map(print).join('')).slice(1, -1),
  };
}

/** Text functions that Prometheus and Alertmanager templates both have. */
export const TEXT_FUNCS: Readonly<Record<string, TemplateFunc>> = {
  toUpper: (s) => String(s).toUpperCase(),
  toLower: (s) => String(s).toLowerCase(),
  // Go's strings.Title: a letter after anything but a letter, digit, underscore or apostrophe.
  title: (s) =>
    String(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  match: (re, s) => new RegExp(String(re)).test(String(s)),
  reReplaceAll: (re, repl, s) =>
    String(s).replace(
      new RegExp(String(re), 'g'),
      String(repl)
        .replace(/\$\{?(\w+)\}?/g, '$$<$1>')
        .replace(/\$<(\d+)>/g, '$$$1'),
    ),
  safeHtml: (s) => String(s),
};

export { escapeHtml };
