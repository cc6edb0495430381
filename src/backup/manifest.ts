/**
 * The manifest of a backup folder (`manifest.json`, written last, so a folder without one is an unfinished
 * backup): format version, when and from what it was made, every file with its size and SHA-256, and the row
 * count of every table. Restore checks all of it before it changes anything. Parsing is pure; the layout is
 * documented in docs/format/backup.md.
 */
import { z } from 'zod';

export const BACKUP_FORMAT = 'vigil-backup';
export const BACKUP_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** A path inside the backup folder: relative, forward slashes, no "..", so a manifest cannot point outside. */
const relPath = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'must be a relative path inside the backup folder')
  .refine((p) => !p.split('/').includes('..') && !p.split('/').includes('.'), 'must not contain "." or ".."');

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an SQL identifier');

const fileEntry = z.object({
  path: relPath,
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const telemetryTable = z.object({
  name: identifier,
  rows: z.number().int().nonnegative(),
  /** Column names and ClickHouse types, as exported. */
  columns: z.array(z.object({ name: identifier, type: z.string() })).min(1),
  file: fileEntry,
});

const stateTable = z.object({
  name: identifier,
  rows: z.number().int().nonnegative(),
  /** JSON lines, one row each (PostgreSQL); absent for SQLite, whose tables are in `state.database`. */
  file: fileEntry.optional(),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int().positive(),
  created_at: z.string(),
  vigil_version: z.string(),
  /** "online": taken from a running Vigil through its admin API; "offline": from a stopped Vigil's folder. */
  source: z.enum(['online', 'offline']),
  telemetry: z.object({
    engine: z.literal('chdb'),
    database: identifier,
    /** Highest migration of src/store/clickhouse/schema.ts applied in the source. */
    schema_version: z.number().int().nonnegative(),
    /**
     * Highest migration applied in the source for each other ClickHouse schema (`traces`, `exemplars`,
     * `alert_history`); absent in backups made before these tables were backed up.
     */
    schema_versions: z.record(z.string(), z.number().int().nonnegative()).optional(),
    format: z.literal('Native+zstd'),
    tables: z.array(telemetryTable),
  }),
  state: z.object({
    driver: z.enum(['sqlite', 'postgres']),
    /** Names of the state-store migrations applied in the source. */
    migrations: z.array(z.string()),
    /** SQLite: a consistent copy of the database file. */
    database: fileEntry.optional(),
    tables: z.array(stateTable),
  }),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupFileEntry = z.infer<typeof fileEntry>;
export type TelemetryTableEntry = z.infer<typeof telemetryTable>;
export type StateTableEntry = z.infer<typeof stateTable>;
export type StateManifest = BackupManifest['state'];

/** A backup folder or manifest that cannot be used; the message says what is wrong and where. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** A backup or restore that failed while running (storage, disk), not because of its input. */
export class BackupFailedError extends BackupError {
  override name = 'BackupFailedError';
}

/** Parses and checks manifest text. Throws BackupError. */
export function parseManifest(text: string, where: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BackupError(`${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (head?.format !== BACKUP_FORMAT)
    throw new BackupError(
      `${where} is not a Vigil backup manifest (format is ${JSON.stringify(head?.format)})`,
    );
  if (typeof head.version === 'number' && head.version > BACKUP_VERSION)
    throw new BackupError(
      `${where} is backup format version ${head.version}; this Vigil reads version ${BACKUP_VERSION}: restore with a newer Vigil`,
    );
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BackupError(`${where}: ${issue.path.join('.') || 'top level'}: ${issue.message}`);
  }
  return r.data;
}

/** Every file the manifest lists. */
export function manifestFiles(m: BackupManifest): BackupFileEntry[] {
  const out = m.telemetry.tables.map((t) => t.file);
  if (m.state.database) out.push(m.state.database);
  for (const t of m.state.tables) if (t.file) out.push(t.file);
  return out;
}
