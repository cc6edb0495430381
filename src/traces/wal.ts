/**
 * The span write-ahead log: acknowledged span batches, synced to local files, that ClickHouse has not taken
 * yet. A write is durable once its record is in a segment file and the file is synced (fdatasync); a background
 * inserter then moves whole segments into ClickHouse and deletes them. At start, segments left by a process that
 * stopped before inserting them are read back (replayed).
 *
 * On-disk format (docs/format/trace-tables.md, "Write-ahead log"): files `<seq>.wal` (seq: 16 decimal digits,
 * increasing) in one folder. Each starts with the header `VGSPWAL1`, a u32 LE length and that many bytes of the
 * RowBinary structure its rows follow (SPAN_STRUCTURE when written). Then records: u32 LE payload length, u32 LE
 * span count, u32 LE CRC-32 of the span count's 4 bytes and the payload, then the payload (RowBinary rows of the
 * spans table). All integers little-endian.
 *
 * Concurrency: `append` may be called concurrently; appends that arrive while a sync is running are written and
 * synced together in the next one (group commit). `roll` and `remove` may be called at any time by one
 * inserter; `roll` waits for appends in progress, so a rolled segment holds exactly the records whose appends
 * resolved.
 */
import { closeSync, openSync, readdirSync, readFileSync, renameSync, fsyncSync, mkdirSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export const WAL_MAGIC = Buffer.from('VGSPWAL1', 'latin1');
const RECORD_HEADER = 12;
/** A record longer than this is taken for a corrupt length field. */
const MAX_RECORD_BYTES = 1 << 30;
const SEGMENT = /^(\d{16})\.wal$/;

export class SpanWalError extends Error {
  override name = 'SpanWalError';
}

/** One record of a segment: the RowBinary rows of one acknowledged write. */
export interface WalRecord {
  readonly rows: Buffer;
  readonly spans: number;
}

/** A closed segment: its records, to insert, then `remove`. Owned by the caller. */
export interface WalSegment {
  readonly seq: number;
  readonly records: readonly WalRecord[];
  readonly spans: number;
  /**
   * The RowBinary structure of its rows, from its header: the current one, or an earlier version's for a
   * segment an older Vigil left (its rows go into the columns it names; newer columns take their defaults).
   */
  readonly structure: string;
}

/** What reading the folder at open found. */
export interface WalReplay {
  /** Intact segments in order; insert their records, then `remove` them. */
  readonly segments: WalSegment[];
  /**
   * Damage found, one line each (file, byte offset, what): a torn last record (a write cut short by a crash,
   * never acknowledged) or a corrupt record or file. Corrupt files are renamed to `*.bad` and kept.
   */
  readonly problems: string[];
}

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.wal`;
}

function header(structure: string): Buffer {
  const s = Buffer.from(structure, 'utf8');
  const h = Buffer.allocUnsafe(WAL_MAGIC.length + 4 + s.length);
  WAL_MAGIC.copy(h, 0);
  h.writeUInt32LE(s.length, WAL_MAGIC.length);
  s.copy(h, WAL_MAGIC.length + 4);
  return h;
}

/** The 12-byte header of a record. */
export function recordHeader(rows: Buffer, spans: number): Buffer {
  const h = Buffer.allocUnsafe(RECORD_HEADER);
  h.writeUInt32LE(rows.length, 0);
  h.writeUInt32LE(spans, 4);
  h.writeUInt32LE(crc32(rows, crc32(h.subarray(4, 8))), 8);
  return h;
}

/**
 * Parses one segment file's bytes. Stops at the first record that is cut short (a torn tail) or whose checksum
 * fails; what follows a bad checksum cannot be trusted to be framed right. Does no I/O.
 */
export function parseSegment(
  name: string,
  bytes: Buffer,
): { records: WalRecord[]; spans: number; structure: string; problem?: string; corrupt: boolean } {
  const records: WalRecord[] = [];
  let spans = 0;
  let structure = '';
  if (bytes.length < WAL_MAGIC.length + 4 || !bytes.subarray(0, WAL_MAGIC.length).equals(WAL_MAGIC)) {
    // A crash right after creating the file leaves it empty or with part of the header: nothing was acknowledged.
    const torn = bytes.length < WAL_MAGIC.length + 4 && WAL_MAGIC.subarray(0, bytes.length).equals(bytes);
    return torn
      ? {
          records,
          spans,
          structure,
          corrupt: false,
          problem: `${name}: header cut short (${bytes.length} bytes), no records`,
        }
      : { records, spans, structure, corrupt: true, problem: `${name}: not a span WAL segment (bad magic)` };
  }
  const sLen = bytes.readUInt32LE(WAL_MAGIC.length);
  let off = WAL_MAGIC.length + 4 + sLen;
  if (off > bytes.length)
    return {
      records,
      spans,
      structure,
      corrupt: false,
      problem: `${name}: header cut short (${bytes.length} bytes)`,
    };
  structure = bytes.toString('utf8', WAL_MAGIC.length + 4, off);
  while (off < bytes.length) {
    if (bytes.length - off < RECORD_HEADER)
      return {
        records,
        spans,
        structure,
        corrupt: false,
        problem: `${name}: torn record header at byte ${off}, dropped`,
      };
    const len = bytes.readUInt32LE(off);
    const count = bytes.readUInt32LE(off + 4);
    const sum = bytes.readUInt32LE(off + 8);
    if (len > MAX_RECORD_BYTES)
      return {
        records,
        spans,
        structure,
        corrupt: true,
        problem: `${name}: record at byte ${off} has a corrupt length ${len}`,
      };
    const end = off + RECORD_HEADER + len;
    if (end > bytes.length)
      return {
        records,
        spans,
        structure,
        corrupt: false,
        problem: `${name}: torn record at byte ${off} (${len} bytes announced, ${bytes.length - off - RECORD_HEADER} present), dropped`,
      };
    const rows = bytes.subarray(off + RECORD_HEADER, end);
    if (crc32(rows, crc32(bytes.subarray(off + 4, off + 8))) !== sum) {
      const last = end === bytes.length;
      return {
        records,
        spans,
        structure,
        // A bad checksum on the very last record is a torn write whose length made it to disk; earlier, damage.
        corrupt: !last,
        problem: last
          ? `${name}: last record at byte ${off} fails its checksum (a write cut short), dropped`
          : `${name}: record at byte ${off} fails its checksum; it and the ${bytes.length - end} bytes after it are not replayed`,
      };
    }
    records.push({ rows, spans: count });
    spans += count;
    off = end;
  }
  return { records, spans, structure, corrupt: false };
}

interface Pending {
  readonly rec: WalRecord;
  resolve(): void;
  reject(err: unknown): void;
}

export class SpanWal {
  private file: FileHandle | undefined;
  private seq: number;
  /** Records of the open segment whose appends resolved. */
  private current: WalRecord[] = [];
  private currentSpans = 0;
  /** performance.now() when the open segment's first record was synced. */
  private currentSince = 0;
  private queue: Pending[] = [];
  /** File operations run one after another on this chain: group syncs, rolls, close. */
  private chain: Promise<unknown> = Promise.resolve();
  private syncScheduled = false;
  /** Bytes of the open segment's file known to be on disk: its header and the records of `current`. */
  private syncedBytes = 0;
  /**
   * Set when a write or sync failed and the file could not be cut back to `syncedBytes`: its state is unknown,
   * so no later append is acknowledged until a restart.
   */
  private failed: Error | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly structure: string,
    nextSeq: number,
  ) {
    this.seq = nextSeq;
  }

  /**
   * Opens the folder (created if missing) and reads what earlier processes left in it. New records go to a new
   * segment numbered after every existing one; the returned segments are the caller's to insert and remove.
   */
  static open(dir: string, structure: string): { wal: SpanWal; replay: WalReplay } {
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(dir)
      .filter((n) => SEGMENT.test(n))
      .sort();
    const segments: WalSegment[] = [];
    const problems: string[] = [];
    let maxSeq = 0;
    for (const name of readdirSync(dir)) {
      const m = /^(\d{16})\.wal/.exec(name);
      if (m) maxSeq = Math.max(maxSeq, Number(m[1]));
    }
    for (const name of names) {
      const seq = Number(SEGMENT.exec(name)![1]);
      const parsed = parseSegment(name, readFileSync(join(dir, name)));
      if (parsed.problem) problems.push(parsed.problem);
      if (parsed.corrupt) {
        // Kept for a person to look at; the records before the damage are still replayed.
        renameSync(join(dir, name), join(dir, `${name}.bad`));
        problems.push(`${name}: kept as ${name}.bad`);
      }
      if (parsed.records.length && parsed.structure !== structure)
        problems.push(
          `${name}: rows of an earlier span table structure, inserted into the columns they name`,
        );
      segments.push({ seq, records: parsed.records, spans: parsed.spans, structure: parsed.structure });
    }
    syncDir(dir);
    return { wal: new SpanWal(dir, structure, maxSeq + 1), replay: { segments, problems } };
  }

  /** Spans in the open segment (acknowledged, not yet rolled). */
  get spans(): number {
    return this.currentSpans;
  }

  /** Milliseconds since the oldest record of the open segment was synced; 0 when it holds none. */
  get age(): number {
    return this.current.length ? performance.now() - this.currentSince : 0;
  }

  /** Appends one record; resolves once it is synced to disk. The caller must not modify `rows` afterwards. */
  append(rows: Buffer, spans: number): Promise<void> {
    if (this.closed) return Promise.reject(new SpanWalError('span WAL is closed'));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec: { rows, spans }, resolve, reject });
      if (!this.syncScheduled) {
        this.syncScheduled = true;
        this.chain = this.chain.then(() => this.syncQueued());
      }
    });
  }

  /** Writes every queued record and syncs once (group commit). Never rejects: failures go to the waiters. */
  private async syncQueued(): Promise<void> {
    this.syncScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    try {
      if (this.failed) throw this.failed;
      const file = await this.openSegment();
      const bufs: Buffer[] = [];
      for (const p of batch) bufs.push(recordHeader(p.rec.rows, p.rec.spans), p.rec.rows);
      await writeAll(file, bufs, this.syncedBytes);
      await file.datasync();
      for (const b of bufs) this.syncedBytes += b.length;
      if (!this.current.length) this.currentSince = performance.now();
      for (const p of batch) {
        this.current.push(p.rec);
        this.currentSpans += p.rec.spans;
        p.resolve();
      }
    } catch (err) {
      const failure =
        this.failed ??
        new SpanWalError(`writing the span WAL in ${this.dir} failed: ${(err as Error).message}`, {
          cause: err,
        });
      for (const p of batch) p.reject(failure);
      // The refused records may be partly in the file. Cut it back to the acknowledged ones, so that a replay
      // reads exactly what the inserter inserts (same chunks, same deduplication tokens) and later appends can
      // go on (a disk that was full may have room again); if even that fails, refuse every later append.
      if (!this.failed && !(await this.cutBack())) this.failed = failure;
    }
  }

  /** Truncates the open segment to its synced records; true when done (or when no segment is open). */
  private async cutBack(): Promise<boolean> {
    if (!this.file) return true;
    try {
      await this.file.truncate(this.syncedBytes);
      await this.file.datasync();
      return true;
    } catch {
      return false;
    }
  }

  private async openSegment(): Promise<FileHandle> {
    if (this.file) return this.file;
    const path = join(this.dir, segmentName(this.seq));
    const file = await open(path, 'wx');
    const head = header(this.structure);
    try {
      await writeAll(file, [head], 0);
      await file.datasync();
      // The new name must survive a crash too.
      const d = await open(this.dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (err) {
      // Holds no record: removed, so that the next append can create it again.
      await file.close().catch(() => {});
      await rm(path, { force: true }).catch(() => {});
      throw err;
    }
    this.file = file;
    this.syncedBytes = head.length;
    return file;
  }

  /**
   * Closes the open segment and returns it (undefined when it holds no record); later appends go to a new one.
   * Runs after the appends already queued.
   */
  roll(): Promise<WalSegment | undefined> {
    const done = this.chain.then(async () => {
      if (!this.current.length) return undefined;
      const seg: WalSegment = {
        seq: this.seq,
        records: this.current,
        spans: this.currentSpans,
        structure: this.structure,
      };
      const file = this.file;
      this.file = undefined;
      this.current = [];
      this.currentSpans = 0;
      this.syncedBytes = 0;
      this.seq++;
      // Its records are synced already; a failing close loses nothing.
      await file?.close().catch(() => {});
      return seg;
    });
    this.chain = done.catch(() => {});
    return done;
  }

  /** Deletes a segment whose records are stored elsewhere now. */
  async remove(seq: number): Promise<void> {
    await rm(join(this.dir, segmentName(seq)), { force: true });
  }

  /** Refuses further appends, waits for those queued, and closes the open segment's file (its records stay). */
  async close(): Promise<void> {
    this.closed = true;
    const done = this.chain.then(async () => {
      await this.file?.close();
      this.file = undefined;
    });
    this.chain = done.catch(() => {});
    await done;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `bufs` at byte `at` (explicit positions: a file cut back after a failure is written from its new end). */
async function writeAll(file: FileHandle, bufs: Buffer[], at: number): Promise<void> {
  // writev may write less than asked; continue from where it stopped.
  let rest = bufs;
  let pos = at;
  while (rest.length) {
    const { bytesWritten } = await file.writev(rest, pos);
    pos += bytesWritten;
    let n = bytesWritten;
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}
