/**
 * Turns YAML syntax errors and schema issues into messages with file, line and column, so a user can go
 * straight to the problem: `vigil.yml:12:5: storage.retention: not a valid duration string "15x"`.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isCollection, isMap, isScalar, type Document } from 'yaml';
import type { z } from 'zod';

export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path of the offending key, e.g. `scrape_configs[0].scrape_interval`. */
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Reads a configuration file as UTF-8; throws ConfigError naming the file when it cannot be read. */
export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        file: path,
        line: 0,
        column: 0,
        path: '',
        message: `cannot read the file: ${(err as Error).message}`,
      },
    ]);
  }
}

export interface ParsedYaml {
  readonly value: unknown;
  readonly doc: Document;
  readonly lines: LineCounter;
}

/** Parses YAML text; throws ConfigError listing every syntax error with its position. */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  return { value: doc.toJS() ?? {}, doc, lines };
}

/** Position of the YAML node at `path` (or of its nearest existing parent). */
export function positionOf(
  parsed: ParsedYaml,
  path: readonly PropertyKey[],
): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = parsed.doc.getIn(path.slice(0, n) as unknown[], true) as
      { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      // For a missing key, point at the mapping that should contain it.
      const { line, col } = parsed.lines.linePos(node.range[0]);
      return { line, column: col };
    }
    if (n === 0 && isCollection(parsed.doc.contents)) return { line: 1, column: 1 };
  }
  return { line: 0, column: 0 };
}

/** Validates parsed YAML against a zod schema; throws ConfigError with every issue positioned. */
export function validateYaml<S extends z.ZodType>(schema: S, parsed: ParsedYaml, file: string): z.output<S> {
  const r = schema.safeParse(parsed.value);
  if (r.success) return r.data;
  throw new ConfigError(
    r.error.issues.map((issue) => {
      const path = issue.path as PropertyKey[];
      const { line, column } =
        issue.code === 'unrecognized_keys'
          ? keyPosition(parsed, path, issue.keys[0]!)
          : positionOf(parsed, path);
      const present = valueAt(parsed.value, path) !== undefined;
      return { file, line, column, path: formatPath(path), message: describeIssue(issue, present) };
    }),
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Position of a key inside the mapping at `path` (for unknown keys), else of the mapping. */
function keyPosition(
  parsed: ParsedYaml,
  path: readonly PropertyKey[],
  key: string,
): { line: number; column: number } {
  const node = path.length ? parsed.doc.getIn(path as unknown[], true) : parsed.doc.contents;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && pair.key.value === key && pair.key.range) {
        const { line, col } = parsed.lines.linePos(pair.key.range[0]);
        return { line, column: col };
      }
    }
  }
  return positionOf(parsed, path);
}

function describeIssue(issue: z.core.$ZodIssue, present: boolean): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: check the spelling, or remove it (see docs/configuration.md)`;
  if (issue.code === 'invalid_type' && !present) return `is required: add it`;
  return issue.message;
}
