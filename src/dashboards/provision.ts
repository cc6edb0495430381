/**
 * Dashboard provisioning: at start, every `*.json`, `*.yaml` and `*.yml` file under a folder (sub-folders
 * included, hidden ones skipped) is loaded into the state store as a dashboard, keyed by uid. The file is the
 * source of truth: a changed file updates its dashboard, a removed file removes it, and the API refuses to
 * edit provisioned dashboards. A file that cannot be read or is invalid is logged and skipped; its dashboard,
 * if one was loaded before, is kept as it was.
 *
 * `parseDashboardFile` does no I/O; `provisionDashboards` reads the folder and writes the store.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { YAMLParseError, parse as parseYaml } from 'yaml';
import { jsonSyntaxMessage } from '../model/json.ts';
import type { Dashboard, StateStore } from '../state/interface.ts';
import {
  UID_RE,
  canonicalJson,
  fromStored,
  toStored,
  validateDashboard,
  type DashboardDocument,
  type Problem,
} from './model.ts';

/** `createdBy` of a provisioned dashboard is this prefix followed by the file's path relative to the folder. */
export const PROVISIONED_PREFIX = 'file:';

export function isProvisioned(createdBy: string | null | undefined): boolean {
  return typeof createdBy === 'string' && createdBy.startsWith(PROVISIONED_PREFIX);
}

const EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

export type ParsedDashboardFile =
  | { readonly ok: true; readonly uid: string; readonly document: DashboardDocument }
  | { readonly ok: false; readonly problems: Problem[] };

/**
 * A uid for a file without one: its base name with anything outside `[A-Za-z0-9_-]` replaced by "-", cut to
 * 40 characters; a short hash of the path when nothing usable is left.
 */
export function uidFromFileName(relPath: string): string {
  const base = relPath.split('/').pop()!;
  const stem = base.slice(0, base.length - extname(base).length);
  const uid = stem
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return uid || `file-${createHash('sha256').update(relPath).digest('hex').slice(0, 12)}`;
}

/** Parses and validates one provisioning file (JSON, or YAML for `.yaml`/`.yml`). */
export function parseDashboardFile(relPath: string, text: string): ParsedDashboardFile {
  const yaml = /\.ya?ml$/i.test(relPath);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    const message =
      err instanceof YAMLParseError
        ? `not valid YAML: ${err.message.split('\n')[0]}`
        : `not valid JSON: ${jsonSyntaxMessage(text, err)}`;
    return { ok: false, problems: [{ path: '', message }] };
  }
  const r = validateDashboard(value);
  if (!r.ok) return r;
  const uid = r.document.uid ?? uidFromFileName(relPath);
  if (!UID_RE.test(uid)) return { ok: false, problems: [{ path: 'uid', message: 'invalid uid' }] };
  return { ok: true, uid, document: { ...r.document, uid } };
}

export interface ProvisionDeps {
  readonly state: StateStore;
  /** Absolute path of the folder. */
  readonly dir: string;
  readonly log: (msg: string) => void;
}

/** What one provisioning run did, by uid (`skipped` by file, with the reason). */
export interface ProvisionReport {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  readonly removed: string[];
  readonly skipped: { readonly file: string; readonly problems: Problem[] }[];
  /** Set when the folder itself could not be read; nothing was changed then. */
  readonly error?: string;
}

/** Files to load, as paths relative to `dir` with "/" separators, sorted. Hidden entries are skipped. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const abs = join(e.parentPath, e.name);
    const rel = relative(dir, abs).split(sep).join('/');
    // Hidden entries include Kubernetes ConfigMap internals (`..data/`), which repeat the visible files.
    if (rel.split('/').some((part) => part.startsWith('.'))) continue;
    if (!EXTENSIONS.has(extname(e.name).toLowerCase())) continue;
    // Symbolic links (ConfigMap files are links) count when they point at a file.
    const isFile = e.isFile() || (e.isSymbolicLink() && (await stat(abs).catch(() => undefined))?.isFile());
    if (isFile) out.push(rel);
  }
  return out.sort();
}

function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}

/**
 * Loads the folder into the store (see the module comment). Never throws for bad files or a missing folder:
 * those are logged and reported. State-store failures on one file are reported for that file.
 */
export async function provisionDashboards(deps: ProvisionDeps): Promise<ProvisionReport> {
  const { state, dir, log } = deps;
  const report = {
    created: [] as string[],
    updated: [] as string[],
    unchanged: [] as string[],
    removed: [] as string[],
    skipped: [] as { file: string; problems: Problem[] }[],
  };
  const skip = (file: string, problems: Problem[]) => {
    report.skipped.push({ file, problems });
    log(`dashboards: skipped ${join(dir, file)}: ${describeProblems(problems)}`);
  };

  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (err) {
    const error = `cannot read the dashboards folder ${dir}: ${(err as Error).message}`;
    log(`dashboards: ${error}; no dashboard was provisioned or removed`);
    return { ...report, error };
  }

  const uidOwner = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch (err) {
      skip(file, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
      continue;
    }
    const parsed = parseDashboardFile(file, text);
    if (!parsed.ok) {
      skip(file, parsed.problems);
      continue;
    }
    const owner = uidOwner.get(parsed.uid);
    if (owner !== undefined) {
      skip(file, [
        {
          path: 'uid',
          message: `uid ${JSON.stringify(parsed.uid)} is already used by ${owner}; give one of them another uid`,
        },
      ]);
      continue;
    }
    uidOwner.set(parsed.uid, file);
    try {
      const outcome = await upsert(state, file, parsed.uid, parsed.document);
      if (outcome === 'foreign')
        skip(file, [
          {
            path: 'uid',
            message:
              `a dashboard with uid ${JSON.stringify(parsed.uid)} was created in Vigil, not from a file; ` +
              'it is left alone: give the file another uid, or delete that dashboard',
          },
        ]);
      else report[outcome].push(parsed.uid);
    } catch (err) {
      skip(file, [{ path: '', message: `cannot store the dashboard: ${(err as Error).message}` }]);
    }
  }

  // Dashboards whose file is gone. A file that is still there but broken keeps its last good dashboard.
  const present = new Set(files.map((f) => PROVISIONED_PREFIX + f));
  try {
    for (const d of await state.dashboards.list()) {
      if (!isProvisioned(d.createdBy) || present.has(d.createdBy!)) continue;
      await state.dashboards.delete(d.uid);
      report.removed.push(d.uid);
      log(
        `dashboards: removed ${JSON.stringify(d.uid)}: its file ${d.createdBy!.slice(PROVISIONED_PREFIX.length)} is gone`,
      );
    }
  } catch (err) {
    log(`dashboards: cannot remove dashboards whose file is gone: ${(err as Error).message}`);
  }

  log(
    `dashboards: provisioned from ${dir}: ${report.created.length} created, ${report.updated.length} updated, ` +
      `${report.unchanged.length} unchanged, ${report.removed.length} removed, ${report.skipped.length} skipped`,
  );
  return report;
}

type Outcome = 'created' | 'updated' | 'unchanged' | 'foreign';

function sameContent(d: Dashboard, doc: DashboardDocument): boolean {
  return canonicalJson(fromStored(d)) === canonicalJson(fromStored({ uid: d.uid, ...toStored(doc) }));
}

async function upsert(
  state: StateStore,
  file: string,
  uid: string,
  doc: DashboardDocument,
): Promise<Outcome> {
  const createdBy = PROVISIONED_PREFIX + file;
  const parts = toStored(doc);
  return state.transaction(async (tx) => {
    const existing = await tx.dashboards.get(uid);
    if (!existing) {
      await tx.dashboards.create({ ...parts, uid, createdBy });
      return 'created';
    }
    if (!isProvisioned(existing.createdBy)) return 'foreign';
    if (existing.createdBy !== createdBy) {
      // The dashboard moved to another file: record the new one (createdBy only changes by re-creating).
      await tx.dashboards.delete(uid);
      await tx.dashboards.create({ ...parts, uid, createdBy });
      return 'updated';
    }
    if (sameContent(existing, doc)) return 'unchanged';
    await tx.dashboards.update(uid, parts, existing.version);
    return 'updated';
  });
}
