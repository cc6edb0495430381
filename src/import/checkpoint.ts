/**
 * Checkpoints of a resumable import: a small JSON file rewritten (atomically, by rename) after every committed
 * batch. For a file it records the byte offset and line number where the next uncommitted line starts, plus
 * a fingerprint of the bytes before it so that a resume refuses a file whose imported part changed; for a
 * migration from Prometheus, the start of the next time window. Parsing is pure; reading and writing are the
 * thin functions at the end.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { METRIC_TYPES } from '../model/metric-type.ts';

const metricType = z.enum(METRIC_TYPES);

const fileCheckpoint = z.object({
  kind: z.literal('file'),
  version: z.literal(1),
  file: z.string(),
  format: z.enum(['openmetrics', 'prometheus']),
  target: z.string(),
  offset: z.number().int().nonnegative(),
  line: z.number().int().positive(),
  samples: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  fingerprint: z.string(),
  parser: z.object({
    families: z.array(
      z.tuple([
        z.string(),
        z.object({
          type: metricType.optional(),
          help: z.string().optional(),
          unit: z.string().optional(),
          typeLine: z.number().int().nonnegative(),
        }),
      ]),
    ),
    eofLine: z.number().int().nonnegative(),
  }),
  updated_at: z.string(),
});

const prometheusCheckpoint = z.object({
  kind: z.literal('prometheus'),
  version: z.literal(1),
  url: z.string(),
  selectors: z.array(z.string()),
  start: z.number().int(),
  end: z.number().int(),
  window_ms: z.number().int().positive(),
  target: z.string(),
  /** Start (ms) of the first window not yet committed. */
  next: z.number().int(),
  samples: z.number().int().nonnegative(),
  updated_at: z.string(),
});

const checkpointSchema = z.discriminatedUnion('kind', [fileCheckpoint, prometheusCheckpoint]);

export type FileCheckpoint = z.infer<typeof fileCheckpoint>;
export type PrometheusCheckpoint = z.infer<typeof prometheusCheckpoint>;
export type Checkpoint = z.infer<typeof checkpointSchema>;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Parses checkpoint text. Throws CheckpointError naming the file and what is wrong. */
export function parseCheckpoint(text: string, path: string): Checkpoint {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`checkpoint ${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const r = checkpointSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new CheckpointError(
      `checkpoint ${path} is not a Vigil import checkpoint (${issue.path.join('.') || 'top level'}: ${issue.message})`,
    );
  }
  return r.data;
}

/** Bytes hashed at the start of the file and just before the checkpoint offset. */
const FINGERPRINT_BYTES = 4096;

/** A hash of the first bytes of the file and of the bytes just before `offset`. */
export async function fileFingerprint(path: string, offset: number): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(FINGERPRINT_BYTES, offset));
    await fh.read(head, 0, head.length, 0);
    const tailStart = Math.max(0, offset - FINGERPRINT_BYTES);
    const tail = Buffer.alloc(offset - tailStart);
    await fh.read(tail, 0, tail.length, tailStart);
    h.update(String(offset)).update(head).update(tail);
  } finally {
    await fh.close();
  }
  return h.digest('hex').slice(0, 32);
}

/** The checkpoint at `path`, or undefined when there is none. */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseCheckpoint(text, path);
}

/** Replaces the checkpoint atomically: a crash leaves the old or the new one, never half of one. */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, JSON.stringify(cp, null, 1) + '\n');
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CheckpointError(`cannot write checkpoint ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
}
