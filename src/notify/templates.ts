/**
 * Loads the notification templates of a configuration: Vigil's defaults, then every file matching the
 * `templates` patterns (a `*`/`?` wildcard in the file name part, as in the usual `/etc/alertmanager/*.tmpl`).
 * A file that does not parse stops the start with its name and the reason, as in Alertmanager.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_TEMPLATES } from './defaults.ts';
import { NotifyTemplateError, TemplateSet } from './template.ts';

function globFiles(pattern: string): string[] {
  const name = basename(pattern);
  const dir = dirname(pattern);
  if (!/[*?[]/.test(name)) return [pattern];
  const re = new RegExp(
    '^' +
      name
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]') +
      '$',
  );
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((e) => re.test(e))
    .sort()
    .map((e) => join(dir, e));
}

export function loadTemplates(patterns: readonly string[]): TemplateSet {
  const set = new TemplateSet().add(DEFAULT_TEMPLATES, 'default.tmpl');
  for (const p of patterns)
    for (const file of globFiles(p)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new NotifyTemplateError(`template file ${file}: ${(err as Error).message}`);
      }
      try {
        set.add(text, file);
      } catch (err) {
        throw new NotifyTemplateError(`template file ${file}: ${(err as Error).message}`);
      }
    }
  return set;
}
