/**
 * File-based service discovery (`file_sd_configs`): JSON or YAML files listing target groups, re-read when a
 * watched directory changes and every refresh_interval. A file that fails to parse keeps its previous targets
 * (as Prometheus does) and the error is logged; a deleted file's targets go away.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { targetGroupSchema, type FileSDConfig, type TargetGroup } from './config.ts';

export const FILEPATH_META_LABEL = '__meta_filepath';

export class FileSDError extends Error {
  override name = 'FileSDError';
}

const fileSchema = z.array(targetGroupSchema, {
  error: 'a file SD file must contain a list of target groups',
});

/** Parses one file SD file's content (format chosen by extension). Pure; throws FileSDError naming the file. */
export function parseFileSD(content: string, path: string): TargetGroup[] {
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(content) : parseYaml(content);
  } catch (err) {
    throw new FileSDError(`${path}: cannot parse: ${(err as Error).message}`, { cause: err });
  }
  // An empty YAML file is an empty list.
  if (doc === null || doc === undefined) return [];
  const res = fileSchema.safeParse(doc);
  if (!res.success) {
    const detail = res.error.issues
      .map((i) => `${i.path.length ? '[' + i.path.join('.') + '] ' : ''}${i.message}`)
      .join('; ');
    throw new FileSDError(`${path}: ${detail}`);
  }
  return res.data.map((g) => ({
    targets: g.targets,
    labels: { ...g.labels, [FILEPATH_META_LABEL]: path },
    source: path,
  }));
}

/** Matches a file name against a pattern with `*` and `?` wildcards (Prometheus allows them in the last path element). */
function nameMatcher(pattern: string): (name: string) => boolean {
  if (!/[*?]/.test(pattern)) return (n) => n === pattern;
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  return (n) => re.test(n);
}

/** Watches the files of one job's file_sd_configs and reports the combined target groups when they change. */
export class FileSDWatcher {
  private readonly byFile = new Map<string, TargetGroup[]>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastReported = '';

  constructor(
    private readonly configs: readonly FileSDConfig[],
    private readonly onChange: (groups: TargetGroup[]) => void,
    private readonly log: (msg: string) => void,
    /** Groups known before this watcher started (after a config reload), so nothing flaps while files are re-read. */
    initial: readonly TargetGroup[] = [],
  ) {
    for (const g of initial) {
      const src = g.source ?? '';
      const list = this.byFile.get(src) ?? [];
      list.push(g);
      this.byFile.set(src, list);
    }
    this.lastReported = JSON.stringify(this.groups());
  }

  /** Current groups of all files, ordered by file path. */
  groups(): TargetGroup[] {
    return [...this.byFile.keys()].sort().flatMap((k) => this.byFile.get(k)!);
  }

  /** Reads the files now, then watches for changes. Resolves after the first read. */
  start(): Promise<void> {
    for (const cfg of this.configs) {
      const t = setInterval(() => this.trigger(), cfg.refreshIntervalMs);
      t.unref();
      this.timers.push(t);
      for (const dir of new Set(cfg.files.map((f) => dirname(f)))) {
        try {
          const w = watch(dir, () => this.scheduleRefresh());
          w.on('error', (err) => this.log(`file_sd: watching ${dir} failed: ${err.message}`));
          w.unref();
          this.watchers.push(w);
        } catch (err) {
          this.log(`file_sd: cannot watch ${dir} (${(err as Error).message}); relying on refresh_interval`);
        }
      }
    }
    return this.trigger();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) w.close();
    if (this.debounce) clearTimeout(this.debounce);
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.trigger(), 20);
    this.debounce.unref();
  }

  /** Runs a refresh; a request during a running refresh runs once more afterwards. */
  private trigger(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.refresh();
      } while (this.again && !this.stopped);
    })()
      .catch((err: unknown) => this.log(`file_sd: refresh failed: ${(err as Error).message}`))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    const paths = new Set<string>();
    for (const cfg of this.configs) for (const p of await this.expand(cfg.files)) paths.add(p);
    for (const known of [...this.byFile.keys()]) if (!paths.has(known)) this.byFile.delete(known);
    for (const path of paths) {
      let content: string;
      try {
        content = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.byFile.delete(path);
        else this.log(`file_sd: cannot read ${path}: ${(err as Error).message}`);
        continue;
      }
      try {
        this.byFile.set(path, parseFileSD(content, path));
      } catch (err) {
        this.log(`file_sd: ${(err as Error).message} (keeping the previous targets of this file)`);
      }
    }
    if (this.stopped) return;
    const groups = this.groups();
    const fingerprint = JSON.stringify(groups);
    if (fingerprint === this.lastReported) return;
    this.lastReported = fingerprint;
    this.onChange(groups);
  }

  private async expand(patterns: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const pattern of patterns) {
      const name = basename(pattern);
      if (!/[*?]/.test(name)) {
        out.push(pattern);
        continue;
      }
      const dir = dirname(pattern);
      const match = nameMatcher(name);
      try {
        for (const entry of (await readdir(dir)).sort()) if (match(entry)) out.push(join(dir, entry));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          this.log(`file_sd: cannot list ${dir}: ${(err as Error).message}`);
      }
    }
    return out;
  }
}
