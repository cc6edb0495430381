/** Version and build facts, from package.json and git when available. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export const VERSION = pkg.version;

export function buildInfo() {
  return {
    version: VERSION,
    revision: git(['rev-parse', 'HEAD']),
    branch: git(['rev-parse', '--abbrev-ref', 'HEAD']),
    buildUser: 'vigil',
    buildDate: git(['log', '-1', '--format=%cd', '--date=format:%Y%m%d-%H:%M:%S']),
    goVersion: `node${process.versions.node}`,
  };
}
