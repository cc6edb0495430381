/**
 * `vigil anomaly score` run as users run it: the real command in a child process, on files and on stdin.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { vigilCli, type CliResult } from './cli-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-anomaly-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const STEP = 300;

/** Three days of a daily pattern with a little deterministic wobble, and a spike at the end. */
function series(): [number, number][] {
  const rows: [number, number][] = [];
  for (let i = 0; i < 3 * 288; i++) {
    const t = T0 + i * STEP;
    const v = 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 13 - 0.5;
    rows.push([t, Math.round(v * 1000) / 1000]);
  }
  const t = T0 + 3 * 288 * STEP;
  rows.push([t, 160]);
  return rows;
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const parseOut = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => l.split(','));

async function cliWithStdin(args: string[], input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'vigil.js'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

describe('vigil anomaly score', () => {
  const rows = series();
  const csv = 'timestamp,value\n' + rows.map(([t, v]) => `${t},${v}`).join('\n') + '\n';
  const file = write('gauge.csv', csv);

  it('writes one scored row per input row, 0 while warming up, and flags the spike', async () => {
    const r = await vigilCli(['anomaly', 'score', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = parseOut(r.stdout);
    expect(out[0]).toEqual(['timestamp', 'value', 'score']);
    expect(out.length).toBe(rows.length + 1);
    out.slice(1).forEach(([t, v, s], i) => {
      expect(t).toBe(String(rows[i]![0]));
      expect(v).toBe(String(rows[i]![1]));
      const score = Number(s);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    });
    // One day of warm-up with seasonality: all zero.
    expect(out.slice(1, 289).every((r) => r[2] === '0')).toBe(true);
    expect(Math.max(...out.slice(289, -1).map((r) => Number(r[2])))).toBeLessThan(0.5);
    expect(Number(out[out.length - 1]![2])).toBeGreaterThan(0.9);
  });

  it('scores each row from the rows before it only: a prefix of the file gives a prefix of the output', async () => {
    const prefix = write('prefix.csv', csv.split('\n').slice(0, 400).join('\n') + '\n');
    const [full, part] = await Promise.all([
      vigilCli(['anomaly', 'score', file]),
      vigilCli(['anomaly', 'score', prefix]),
    ]);
    expect(part.code).toBe(0);
    expect(parseOut(part.stdout)).toEqual(parseOut(full.stdout).slice(0, 400));
  });

  it('detects RFC 3339, Unix seconds and milliseconds, and gives the same scores for each', async () => {
    const asIso = write(
      'iso.csv',
      rows.map(([t, v]) => `${new Date(t * 1000).toISOString()},${v}`).join('\n'),
    );
    const asMs = write('ms.csv', rows.map(([t, v]) => `${t * 1000},${v}`).join('\n'));
    const [a, b, c] = await Promise.all([
      vigilCli(['anomaly', 'score', file]),
      vigilCli(['anomaly', 'score', asIso]),
      vigilCli(['anomaly', 'score', asMs]),
    ]);
    const scores = (r: CliResult, skip: number) =>
      parseOut(r.stdout)
        .slice(skip)
        .map((x) => x[2]);
    expect(b.code).toBe(0);
    expect(c.code).toBe(0);
    expect(scores(b, 0)).toEqual(scores(a, 1));
    expect(scores(c, 0)).toEqual(scores(a, 1));
    expect(parseOut(b.stdout)[0]![0]).toBe('2026-01-01T00:00:00.000Z');
  });

  it('reads standard input with -, and writes bounds with --bounds', async () => {
    const r = await cliWithStdin(['anomaly', 'score', '--season', 'none', '--bounds', '-'], csv);
    expect(r.code).toBe(0);
    const out = parseOut(r.stdout);
    expect(out[0]).toEqual(['timestamp', 'value', 'score', 'expected', 'lower', 'upper']);
    expect(out.length).toBe(rows.length + 1);
    expect(out[1]!.slice(3)).toEqual(['NaN', 'NaN', 'NaN']);
    for (const row of out.slice(2)) {
      const [, , , e, lo, hi] = row.map(Number);
      expect(lo).toBeLessThanOrEqual(e!);
      expect(e).toBeLessThanOrEqual(hi!);
    }
  });

  const bad =
    'timestamp,value\n1767225600,1\n1767225660,2\n1767225720,oops\n\n1767225780,3\nnot-a-time,4\n1767225840,5\n';

  it('--on-error stop (default) writes the rows before a bad row, names its line, and exits 1', async () => {
    const r = await vigilCli(['anomaly', 'score', write('bad.csv', bad)]);
    expect(r.code).toBe(1);
    expect(parseOut(r.stdout)).toEqual([
      ['timestamp', 'value', 'score'],
      ['1767225600', '1', '0'],
      ['1767225660', '2', '0'],
    ]);
    expect(r.stderr).toMatch(/bad\.csv:4: value "oops" is not a finite number/);
    expect(r.stderr).toMatch(/stopped at line 4/);
  });

  it('--on-error skip reports every bad row with its line and scores the rest', async () => {
    const r = await vigilCli(['anomaly', 'score', '--on-error', 'skip', write('bad2.csv', bad)]);
    expect(r.code).toBe(0);
    expect(parseOut(r.stdout).map((x) => x[0])).toEqual([
      'timestamp',
      '1767225600',
      '1767225660',
      '1767225780',
      '1767225840',
    ]);
    expect(r.stderr).toMatch(/bad2\.csv:4: value "oops"/);
    expect(r.stderr).toMatch(/bad2\.csv:7: timestamp "not-a-time" is neither/);
    expect(r.stderr).toMatch(/2 bad row\(s\) skipped/);
  });

  it('rejects rows out of time order as bad rows', async () => {
    const r = await vigilCli([
      'anomaly',
      'score',
      '--on-error',
      'skip',
      write('order.csv', '10,1\n20,1\n15,1\n30,1\n'),
    ]);
    expect(r.code).toBe(0);
    expect(parseOut(r.stdout).map((x) => x[0])).toEqual(['10', '20', '30']);
    expect(r.stderr).toMatch(/order\.csv:3: timestamp 15 is earlier than the row before it/);
  });

  it('--counter scores the rate and does not flag a reset', async () => {
    const lines: string[] = [];
    let c = 0;
    for (let i = 0; i < 200; i++) {
      c = i === 120 ? 3 : c + 600 + ((i * 37) % 11);
      lines.push(`${T0 + i * 60},${c}`);
    }
    lines.push(`${T0 + 200 * 60},${c + 6000}`); // ten times the usual rate
    const r = await vigilCli([
      'anomaly',
      'score',
      '--counter',
      '--season',
      'none',
      write('counter.csv', lines.join('\n')),
    ]);
    expect(r.code).toBe(0);
    const scores = parseOut(r.stdout).map((x) => Number(x[2]));
    expect(scores.length).toBe(201);
    expect(Math.max(...scores.slice(0, 200))).toBeLessThan(0.5);
    expect(scores[200]).toBeGreaterThan(0.9);
  });

  it.each<[string[], number, RegExp]>([
    [
      ['anomaly', 'score', '--season', 'hourly', 'x.csv'],
      2,
      /--season: "hourly" is not daily, weekly or none/,
    ],
    [['anomaly', 'score', '--on-error', 'ignore', 'x.csv'], 2, /--on-error must be skip or stop/],
    [['anomaly', 'score'], 2, /needs exactly one FILE/],
    [['anomaly', 'score', '--nope', 'x.csv'], 2, /Unknown option '--nope'/],
    [['anomaly', 'frobnicate'], 2, /unknown anomaly subcommand "frobnicate"/],
    [['anomaly', 'score', '/nonexistent/file.csv'], 1, /cannot read \/nonexistent\/file\.csv: ENOENT/],
  ])('%j exits %d', async (args, code, msg) => {
    const r = await vigilCli(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(msg);
  });

  it('prints its usage with --help', async () => {
    const r = await vigilCli(['anomaly', 'score', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vigil anomaly score \[options\] FILE\.csv\|-/);
  });
});
