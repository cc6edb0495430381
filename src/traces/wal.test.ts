import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WalSpanWriter } from './store.clickhouse.wal.ts';
import { SpanWal, WAL_MAGIC, parseSegment, recordHeader } from './wal.ts';

const STRUCTURE = 'a UInt8';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-wal-'));
  dirs.push(d);
  return d;
}
const rec = (text: string) => Buffer.from(text);

/** A crash: the WAL object is dropped without close (its records stay on disk exactly as synced). */
async function writeAndCrash(dir: string, records: string[]): Promise<void> {
  const { wal } = SpanWal.open(dir, STRUCTURE);
  await Promise.all(records.map((r) => wal.append(rec(r), r.length)));
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('SpanWal', () => {
  it('replays acknowledged records after a crash, in order, from several segments', async () => {
    const dir = tempDir();
    const { wal } = SpanWal.open(dir, STRUCTURE);
    await Promise.all([wal.append(rec('one'), 1), wal.append(rec('two'), 2)]);
    const first = await wal.roll();
    expect(first?.records.map((r) => r.rows.toString())).toEqual(['one', 'two']);
    await wal.append(rec('three'), 3);
    // Crash: nothing was removed, so both segments come back.
    const { replay } = SpanWal.open(dir, STRUCTURE);
    expect(replay.problems).toEqual([]);
    expect(replay.segments.map((s) => [s.spans, s.records.map((r) => r.rows.toString())])).toEqual([
      [3, ['one', 'two']],
      [3, ['three']],
    ]);
  });

  it('numbers new segments after every existing one, and removes a segment by number', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['x']);
    const { wal, replay } = SpanWal.open(dir, STRUCTURE);
    await wal.append(rec('y'), 1);
    expect(segmentFiles(dir)).toEqual(['0000000000000001.wal', '0000000000000002.wal']);
    await wal.remove(replay.segments[0]!.seq);
    expect(segmentFiles(dir)).toEqual(['0000000000000002.wal']);
    await wal.close();
  });

  it('drops a torn last record (a write cut short by a crash) and reports it without failing', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['kept', 'torn-away']);
    const file = join(dir, '0000000000000001.wal');
    truncateSync(file, readFileSync(file).length - 3);
    const { replay } = SpanWal.open(dir, STRUCTURE);
    expect(replay.segments[0]!.records.map((r) => r.rows.toString())).toEqual(['kept']);
    expect(replay.problems).toEqual([
      expect.stringMatching(/0000000000000001\.wal: torn record at byte \d+/),
    ]);
    // A torn tail is expected after a crash: the file is not set aside.
    expect(segmentFiles(dir)).toEqual(['0000000000000001.wal']);
  });

  it('drops a record whose header is cut short, and an empty segment', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['kept']);
    appendFileSync(join(dir, '0000000000000001.wal'), Buffer.from([5, 0, 0]));
    writeFileSync(join(dir, '0000000000000002.wal'), '');
    const { replay } = SpanWal.open(dir, STRUCTURE);
    expect(replay.segments.map((s) => s.records.length)).toEqual([1, 0]);
    expect(replay.problems).toEqual([
      expect.stringMatching(/0000000000000001\.wal: torn record header at byte \d+/),
      '0000000000000002.wal: header cut short (0 bytes), no records',
    ]);
  });

  it('reports a corrupt record in the middle, keeps the records before it and sets the file aside', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['good', 'flipped', 'after']);
    const file = join(dir, '0000000000000001.wal');
    const bytes = readFileSync(file);
    const at = bytes.indexOf('flipped');
    bytes[at] = 'F'.charCodeAt(0);
    writeFileSync(file, bytes);
    const { replay } = SpanWal.open(dir, STRUCTURE);
    expect(replay.segments[0]!.records.map((r) => r.rows.toString())).toEqual(['good']);
    expect(replay.problems[0]).toMatch(
      /record at byte \d+ fails its checksum; it and the \d+ bytes after it/,
    );
    expect(segmentFiles(dir)).toEqual(['0000000000000001.wal.bad']);
    // The number of a set-aside file is not reused.
    const { wal } = SpanWal.open(dir, STRUCTURE);
    await wal.append(rec('new'), 1);
    expect(segmentFiles(dir)).toContain('0000000000000002.wal');
    await wal.close();
  });

  it('sets aside files that are not WAL segments, and replays rows of an earlier structure as that structure', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0000000000000001.wal'), 'certainly not a WAL');
    await writeAndCrash(join(dir, 'other'), ['x']);
    const { replay } = SpanWal.open(dir, STRUCTURE);
    expect(replay.problems).toEqual([
      '0000000000000001.wal: not a span WAL segment (bad magic)',
      '0000000000000001.wal: kept as 0000000000000001.wal.bad',
    ]);
    const other = SpanWal.open(join(dir, 'other'), 'a UInt8, b String').replay;
    expect(other.problems).toEqual([
      '0000000000000001.wal: rows of an earlier span table structure, inserted into the columns they name',
    ]);
    expect(other.segments.map((s) => [s.structure, s.records.map((r) => r.rows.toString())])).toEqual([
      ['a UInt8', ['x']],
    ]);
  });

  it('parses bytes it is given and checks each record', () => {
    const s = Buffer.from(STRUCTURE);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(s.length);
    const rows = rec('abc');
    const bytes = Buffer.concat([WAL_MAGIC, head, s, recordHeader(rows, 7), rows]);
    expect(parseSegment('f', bytes)).toEqual({
      records: [{ rows, spans: 7 }],
      spans: 7,
      structure: STRUCTURE,
      corrupt: false,
    });
    bytes[bytes.length - 1] ^= 1;
    expect(parseSegment('f', bytes).problem).toMatch(/last record at byte \d+ fails its checksum/);
  });

  it('refuses appends once closed', async () => {
    const { wal } = SpanWal.open(tempDir(), STRUCTURE);
    await wal.close();
    await expect(wal.append(rec('late'), 1)).rejects.toThrow(/span WAL is closed/);
  });

  it('after a failed sync, cuts the refused record out of the file and goes on taking appends', async () => {
    const dir = tempDir();
    const { wal } = SpanWal.open(dir, STRUCTURE);
    await wal.append(rec('kept'), 1);
    // The next sync fails after the record was written (a full or failing disk).
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const sync = vi.spyOn(proto, 'datasync').mockRejectedValueOnce(new Error('ENOSPC: no space left'));
    try {
      await expect(wal.append(rec('refused'), 1)).rejects.toThrow(
        /writing the span WAL in .* failed: ENOSPC: no space left/,
      );
    } finally {
      sync.mockRestore();
    }
    await wal.append(rec('later'), 1);
    // A crash now replays exactly the acknowledged records: what the inserter would have inserted.
    const { replay } = SpanWal.open(dir, STRUCTURE);
    expect(replay.problems).toEqual([]);
    expect(replay.segments.map((s) => s.records.map((r) => r.rows.toString()))).toEqual([['kept', 'later']]);
  });
});

describe('WalSpanWriter', () => {
  it('acknowledges before inserting, inserts in the background, and a reader waits for its insert', async () => {
    const dir = tempDir();
    const inserted: string[] = [];
    const w = await WalSpanWriter.open({
      dir,
      structure: STRUCTURE,
      insert: async (rows) => void inserted.push(rows.toString()),
      flushIntervalMs: 60_000,
    });
    await w.write(rec('a'), 1);
    await w.write(rec('b'), 1);
    expect(inserted).toEqual([]);
    expect(w.pending).toBe(2);
    await w.visible();
    expect(inserted).toEqual(['ab']);
    expect(w.pending).toBe(0);
    expect(segmentFiles(dir)).toEqual([]);
    await w.close();
  });

  it('lets a reader go after its longest wait while a slow insert runs', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const w = await WalSpanWriter.open({ dir: tempDir(), structure: STRUCTURE, insert: () => slow });
    await w.write(rec('a'), 1);
    await w.visible(20);
    expect(w.pending).toBe(1);
    release();
    await w.visible();
    expect(w.pending).toBe(0);
    await w.close();
  });

  it('inserts a segment that grew beyond the batch size in several inserts', async () => {
    const inserted: string[] = [];
    const w = await WalSpanWriter.open({
      dir: tempDir(),
      structure: STRUCTURE,
      insert: async (rows) => void inserted.push(rows.toString()),
      flushIntervalMs: 60_000,
      batchSpans: 10,
    });
    // Written at once, the three land in one segment before the inserter wakes.
    await Promise.all([w.write(rec('a'), 6), w.write(rec('b'), 3), w.write(rec('c'), 4)]);
    await w.visible();
    expect(inserted).toEqual(['ab', 'c']);
    await w.close();
  });

  it('replays what a crashed process left, before taking writes', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['left', 'over']);
    const inserted: string[] = [];
    const logs: string[] = [];
    const w = await WalSpanWriter.open({
      dir,
      structure: STRUCTURE,
      insert: async (rows) => void inserted.push(rows.toString()),
      log: (m) => logs.push(m),
    });
    expect(inserted).toEqual(['leftover']);
    expect(logs).toEqual(['traces WAL: replayed 8 spans from 1 segment(s)']);
    expect(segmentFiles(dir)).toEqual([]);
    await w.close();
  });

  it('replays a segment an older version left with the structure its rows have', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['old']);
    const inserted: [string, string][] = [];
    const w = await WalSpanWriter.open({
      dir,
      structure: 'a UInt8, b String',
      insert: async (rows, _spans, structure) => void inserted.push([rows.toString(), structure]),
      log: () => {},
    });
    await w.write(rec('new'), 1);
    await w.flush();
    expect(inserted).toEqual([
      ['old', 'a UInt8'],
      ['new', 'a UInt8, b String'],
    ]);
    await w.close();
  });

  it('keeps the segments when a replayed insert fails, and opens once it succeeds', async () => {
    const dir = tempDir();
    await writeAndCrash(dir, ['x']);
    const failing = WalSpanWriter.open({
      dir,
      structure: STRUCTURE,
      insert: () => Promise.reject(new Error('disk full')),
    });
    await expect(failing).rejects.toThrow('traces WAL: replaying 1 spans failed: disk full');
    expect(segmentFiles(dir)).toEqual(['0000000000000001.wal']);
    const w = await WalSpanWriter.open({ dir, structure: STRUCTURE, insert: async () => {} });
    expect(segmentFiles(dir)).toEqual([]);
    await w.close();
  });

  it('retries a failed background insert, keeping the spans in the WAL until it succeeds', async () => {
    const dir = tempDir();
    let fail = 2;
    const inserted: string[] = [];
    const logs: string[] = [];
    const w = await WalSpanWriter.open({
      dir,
      structure: STRUCTURE,
      insert: async (rows) => {
        if (fail-- > 0) throw new Error('too many parts');
        inserted.push(rows.toString());
      },
      flushIntervalMs: 1,
      log: (m) => logs.push(m),
    });
    await w.write(rec('z'), 1);
    await vi.waitFor(() => expect(inserted).toEqual(['z']), { timeout: 5_000 });
    await w.close();
    expect(logs).toEqual([
      'traces WAL: inserting 1 spans failed (too many parts); retrying in 100 ms',
      'traces WAL: inserting 1 spans failed (too many parts); retrying in 200 ms',
    ]);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('flush waits through failed inserts, and refuses, naming the error, when they go on failing', async () => {
    let fail = 2;
    const inserted: string[] = [];
    const w = await WalSpanWriter.open({
      dir: tempDir(),
      structure: STRUCTURE,
      insert: async (rows) => {
        if (fail-- > 0) throw new Error('too many parts');
        inserted.push(rows.toString());
      },
      log: () => {},
    });
    await w.write(rec('a'), 1);
    // A read gives up at the first failed insert; a flush (before a backup) waits until the spans are in.
    await w.flush();
    expect(inserted).toEqual(['a']);

    fail = Infinity;
    await w.write(rec('b'), 1);
    await expect(w.flush(400)).rejects.toThrow(
      'traces WAL: 1 acknowledged spans are not in ClickHouse after 400 ms (latest insert error: too many parts)',
    );
    fail = 0;
    await w.flush();
    expect(inserted).toEqual(['a', 'b']);
    await w.close();
  });

  it('goes on inserting when an inserted segment cannot be deleted', async () => {
    const remove = vi.spyOn(SpanWal.prototype, 'remove').mockRejectedValueOnce(new Error('EROFS'));
    const inserted: string[] = [];
    const logs: string[] = [];
    try {
      const w = await WalSpanWriter.open({
        dir: tempDir(),
        structure: STRUCTURE,
        insert: async (rows) => void inserted.push(rows.toString()),
        log: (m) => logs.push(m),
      });
      await w.write(rec('a'), 1);
      await w.flush();
      await w.write(rec('b'), 1);
      await w.flush();
      await w.close();
    } finally {
      remove.mockRestore();
    }
    expect(inserted).toEqual(['a', 'b']);
    expect(logs).toEqual(['traces WAL: removing an inserted segment failed: EROFS']);
  });

  it('leaves the spans in the WAL when ClickHouse fails while closing, for the next start', async () => {
    const dir = tempDir();
    const w = await WalSpanWriter.open({
      dir,
      structure: STRUCTURE,
      insert: () => Promise.reject(new Error('gone')),
      flushIntervalMs: 60_000,
      log: () => {},
    });
    await w.write(rec('keep'), 1);
    await w.close();
    const inserted: string[] = [];
    const again = await WalSpanWriter.open({
      dir,
      structure: STRUCTURE,
      insert: async (rows) => void inserted.push(rows.toString()),
    });
    expect(inserted).toEqual(['keep']);
    await again.close();
  });
});
