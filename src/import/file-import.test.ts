import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FailingStorage, MemoryStorage } from '../store/memory.ts';
import { StorageError, type Appender, type Storage } from '../store/interface.ts';
import { ImportError, importFile, type FileImportOptions } from './file-import.ts';

const NOW = Date.parse('2026-01-10T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'vigil-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Storage plus a count of samples in commits that succeeded (to see that nothing is written twice). */
function target(storage: Storage = new MemoryStorage()) {
  const t = { storage, committed: 0, commits: 0 };
  const appender = (): Appender => {
    const a = storage.appender();
    return {
      append: (l, ts, v) => a.append(l, ts, v),
      appendMetadata: (m, meta) => a.appendMetadata(m, meta),
      get count() {
        return a.count;
      },
      commit: async () => {
        const c = a.count;
        await a.commit();
        t.committed += c;
        t.commits++;
      },
      rollback: () => a.rollback(),
    };
  };
  return {
    ...t,
    appender,
    get stats() {
      return t;
    },
  };
}

/** An OpenMetrics file: `series` gauges with `points` samples each, one minute apart. */
function omFile(series: number, points: number, opts: { eof?: boolean } = {}): string {
  const lines = ['# TYPE temp gauge', '# HELP temp Temperature.'];
  for (let s = 0; s < series; s++)
    for (let p = 0; p < points; p++) lines.push(`temp{room="r${s}"} ${s * 1000 + p} ${1767000000 + p * 60}`);
  if (opts.eof !== false) lines.push('# EOF');
  return lines.join('\n') + '\n';
}

function write(text: string): string {
  const f = join(dir, `f${++n}.txt`);
  writeFileSync(f, text);
  return f;
}

function opts(
  file: string,
  t: ReturnType<typeof target>,
  extra: Partial<FileImportOptions> = {},
): FileImportOptions {
  return { file, appender: t.appender, target: 'memory', now: () => NOW, report: () => {}, ...extra };
}

async function samplesOf(storage: Storage, name = 'temp') {
  const got = await storage
    .querier(-Infinity, Infinity)
    .select([{ name: '__name__', type: '=', value: name }]);
  return got.map((s) => ({ labels: s.labels, t: [...s.t], v: [...s.v] }));
}

describe('importFile', () => {
  it('imports in batches, with metadata, and removes its checkpoint when done', async () => {
    const file = write(omFile(3, 50));
    const t = target();
    const res = await importFile(opts(file, t, { batchSize: 40, chunkBytes: 256 }));
    expect(res).toMatchObject({ status: 'done', format: 'openmetrics', samples: 150, series: 3, skipped: 0 });
    expect(res.endProblem).toBeUndefined();
    expect(t.stats.commits).toBe(4); // 40+40+40+30 samples
    expect(t.stats.committed).toBe(150);
    const got = await samplesOf(t.storage);
    expect(got.map((s) => s.labels.room)).toEqual(['r0', 'r1', 'r2']);
    expect(got[1]!.t).toEqual(Array.from({ length: 50 }, (_, p) => (1767000000 + p * 60) * 1000));
    expect(got[1]!.v).toEqual(Array.from({ length: 50 }, (_, p) => 1000 + p));
    expect(await t.storage.metadata('temp')).toEqual(
      new Map([['temp', [{ type: 'gauge', help: 'Temperature.', unit: '' }]]]),
    );
    expect(existsSync(`${file}.vigil-import.json`)).toBe(false);
  });

  it('reads Prometheus text with millisecond timestamps', async () => {
    const file = write('# TYPE up gauge\nup{job="a"} 1 1767000000123\nup{job="a"} 0 1767000060123\n');
    const t = target();
    const res = await importFile(opts(file, t));
    expect(res).toMatchObject({ status: 'done', format: 'prometheus', samples: 2 });
    expect(await samplesOf(t.storage, 'up')).toEqual([
      { labels: { __name__: 'up', job: 'a' }, t: [1767000000123, 1767000060123], v: [1, 0] },
    ]);
  });

  it('stops at a bad line with everything before it committed, and resumes there after the fix', async () => {
    const good = omFile(2, 30).split('\n');
    const bad = [...good];
    bad[45] = 'temp{room="r1"} oops 1767000000';
    const file = write(bad.join('\n'));
    const t = target();
    const first = await importFile(opts(file, t, { batchSize: 10 }));
    expect(first).toMatchObject({
      status: 'stopped',
      error: { line: 46, message: 'invalid value "oops" (expected a number, NaN, +Inf or -Inf)' },
      samples: 43, // lines 3..45
      checkpoint: `${file}.vigil-import.json`,
    });
    expect(t.stats.committed).toBe(43);
    const cp = JSON.parse(readFileSync(`${file}.vigil-import.json`, 'utf8'));
    expect(cp).toMatchObject({ kind: 'file', line: 46, samples: 43, format: 'openmetrics' });
    expect(cp.offset).toBe(bad.slice(0, 45).join('\n').length + 1);

    // Without --resume the checkpoint is not ignored silently.
    await expect(importFile(opts(file, t))).rejects.toThrow(/left a checkpoint .* --resume/);

    writeFileSync(file, good.join('\n')); // the bad line fixed in place
    const second = await importFile(opts(file, t, { batchSize: 10, resume: true }));
    expect(second).toMatchObject({ status: 'done', samples: 60, samplesThisRun: 17, startLine: 46 });
    expect(t.stats.committed).toBe(60); // every sample exactly once
    const got = await samplesOf(t.storage);
    expect(got.map((s) => s.t.length)).toEqual([30, 30]);
    expect(existsSync(`${file}.vigil-import.json`)).toBe(false);
  });

  it('skips and reports bad lines with FILE:LINE, counting them', async () => {
    const file = write(
      [
        '# TYPE m gauge',
        'm{a="1"} 1 100',
        'm{a="1"} 2 100',
        'm{a="1} 3 160',
        '# TYPE m wat',
        'm{a="1"} 4 220',
        'm{a="1"} 5',
        '# EOF',
      ].join('\n'),
    );
    const t = target();
    const reports: string[] = [];
    const res = await importFile(opts(file, t, { onError: 'skip', report: (l) => reports.push(l) }));
    expect(res).toMatchObject({ status: 'done', samples: 2, skipped: 4 });
    expect(reports).toEqual([
      `${file}:3: duplicate sample: m{a="1"} already has a sample at 1970-01-01T00:01:40.000Z (line 2); a series can have one value per timestamp (line skipped)`,
      `${file}:4: unterminated label value: missing closing '"' (line skipped)`,
      expect.stringMatching(new RegExp(`^${file}:5: unknown metric type "wat"`)),
      expect.stringMatching(new RegExp(`^${file}:7: sample of m has no timestamp`)),
    ]);
    expect((await samplesOf(t.storage, 'm'))[0]!.v).toEqual([1, 4]);
  });

  it('reports a truncated OpenMetrics file after importing all of it', async () => {
    const file = write(omFile(1, 5, { eof: false }).replace('\n', '\n# EOF?\n'));
    const t = target();
    const res = await importFile(opts(file, t, { format: 'openmetrics' }));
    expect(res.status).toBe('done');
    expect(res.samples).toBe(5);
    expect(res.endProblem).toMatch(/ends without "# EOF"/);
  });

  it('refuses lines that are not UTF-8', async () => {
    const file = join(dir, `bin${++n}`);
    writeFileSync(
      file,
      Buffer.concat([Buffer.from('m{a="'), Buffer.from([0xc3, 0x28]), Buffer.from('"} 1 1000\n')]),
    );
    const res = await importFile(opts(file, target()));
    expect(res).toMatchObject({
      status: 'stopped',
      error: { line: 1, message: 'the line is not valid UTF-8' },
    });
  });

  it('commits what it has read when interrupted, and a resume completes without duplicates', async () => {
    const file = write(omFile(4, 100));
    const t = target();
    const ctl = new AbortController();
    let chunks = 0;
    const first = await importFile(
      opts(file, t, {
        batchSize: 50,
        chunkBytes: 2048,
        signal: ctl.signal,
        now: () => {
          if (++chunks === 3) ctl.abort();
          return NOW;
        },
      }),
    );
    expect(first.status).toBe('interrupted');
    expect(first.samples).toBeGreaterThan(0);
    expect(first.samples).toBeLessThan(400);
    expect(t.stats.committed).toBe(first.samples);
    const second = await importFile(opts(file, t, { resume: true, batchSize: 50 }));
    expect(second).toMatchObject({ status: 'done', samples: 400 });
    expect(t.stats.committed).toBe(400);
  });

  it('refuses to resume when the imported part of the file changed, or when there is no checkpoint', async () => {
    const file = write(omFile(1, 20).replace('temp{room="r0"} 5 ', 'temp{room="r0"} x '));
    const t = target();
    expect((await importFile(opts(file, t))).status).toBe('stopped');
    writeFileSync(file, omFile(1, 20).replace('temp{room="r0"} 1 ', 'temp{room="r0"} 9 '));
    await expect(importFile(opts(file, t, { resume: true }))).rejects.toThrow(
      /differs from the file the checkpoint .* in its first 7 line\(s\), which are already imported; refusing to resume/,
    );
    await expect(importFile(opts(write(omFile(1, 1)), t, { resume: true }))).rejects.toThrow(
      /--resume: there is no checkpoint/,
    );
    await expect(importFile(opts(file, t, { resume: true, target: 'elsewhere' }))).rejects.toThrow(
      /written for an import into memory; this run writes into elsewhere/,
    );
  });

  it('fails with what is imported and how to go on when storage fails', async () => {
    const file = write(omFile(1, 10));
    await expect(
      importFile(opts(file, target(new FailingStorage(new StorageError('disk full'))), { batchSize: 4 })),
    ).rejects.toThrow(
      new ImportError(
        'writing lines 1-6 failed: disk full. Nothing was imported; fix the cause and run the same command again',
      ),
    );
  });

  it('counts samples older than the retention period', async () => {
    const file = write(`m 1 ${(NOW - 20 * 86_400_000) / 1000}\nm 2 ${(NOW - 86_400_000) / 1000}\n# EOF\n`);
    const res = await importFile(opts(file, target(), { retentionMs: 15 * 86_400_000 }));
    expect(res).toMatchObject({ status: 'done', samples: 2, olderThanRetention: 1 });
  });
});
