/** File helpers of backup and restore: checksums, the target folder check, atomic manifest writes. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupError, type BackupFileEntry } from './manifest.ts';

/** Size and SHA-256 of a file in the backup folder, as a manifest entry. */
export async function describeFile(dir: string, path: string): Promise<BackupFileEntry> {
  const full = join(dir, path);
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(full, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { path, bytes, sha256: h.digest('hex') };
}

/** Checks a listed file against its entry. Returns a problem description, or undefined when it matches. */
export async function checkFile(dir: string, entry: BackupFileEntry): Promise<string | undefined> {
  let size: number;
  try {
    size = (await stat(join(dir, entry.path))).size;
  } catch {
    return `${entry.path} is missing`;
  }
  if (size !== entry.bytes) return `${entry.path} has ${size} bytes, the manifest says ${entry.bytes}`;
  const got = await describeFile(dir, entry.path);
  if (got.sha256 !== entry.sha256)
    return `${entry.path} does not match its SHA-256 in the manifest (corrupted?)`;
  return undefined;
}

/** Creates `dir` for a new backup; it must not exist or be empty. */
export async function prepareBackupDir(dir: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new BackupError(`${dir} exists and is not a folder`);
    if (code !== 'ENOENT')
      throw new BackupError(`cannot use ${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (entries.length > 0)
    throw new BackupError(
      `${dir} is not empty; back up into a new or empty folder (found ${entries.slice(0, 3).join(', ')})`,
    );
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new BackupError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a file atomically (a reader sees the old or the new content, never half). */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
