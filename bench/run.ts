/**
 * The benchmark suite: runs every benchmark script of the project and regenerates docs/benchmarks.md.
 *
 *   npm run bench [-- --only a,b] [--skip a,b] [--quick] [--list] [--out docs/benchmarks.md]
 *
 * Each script runs in its own process, one after the other (they measure, so they must not share the CPU), its
 * output streamed to the terminal. Scripts that write their own section (`--out`) do so; for the others the
 * runner writes the command and the printed figures into a marked block inside the script's section, keeping
 * the prose around it. The top of the file gets the machine, the date and a table of what ran. A failing
 * script is reported and the suite goes on; the exit code is 1 when any failed.
 *
 * `--quick` uses smaller parameters where a script has them (minutes instead of an hour for the whole suite);
 * the figures written then say so through their command line.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, markdownTable, wrap } from './lib/report.ts';
import { BENCHMARKS, type BenchmarkEntry } from './suite.ts';
import { replaceMarkedBlock } from './lib/markdown.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: argv } = parseArgs({
  options: {
    only: { type: 'string' },
    skip: { type: 'string' },
    quick: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    out: { type: 'string', default: 'docs/benchmarks.md' },
  },
});

function names(s: string | undefined): Set<string> | undefined {
  if (!s) return undefined;
  const set = new Set(
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  const known = new Set(BENCHMARKS.map((b) => b.name));
  const unknown = [...set].filter((n) => !known.has(n));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
    process.exit(2);
  }
  return set;
}

interface RunResult {
  readonly entry: BenchmarkEntry;
  readonly args: readonly string[];
  readonly code: number | null;
  readonly seconds: number;
  readonly output: string;
}

function argsFor(b: BenchmarkEntry, out: string): string[] {
  const args = [...(argv.quick && b.quickArgs ? b.quickArgs : b.args)];
  if (b.writesSection) args.push('--out', out);
  return args;
}

function runOne(b: BenchmarkEntry, args: readonly string[]): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', b.script, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      output += d.toString();
    });
    // Progress and logs go to stderr: shown, not recorded.
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    const stop = () => child.kill('SIGINT');
    process.once('SIGINT', stop);
    child.on('close', (code) => {
      process.off('SIGINT', stop);
      resolve({ entry: b, args, code, seconds: (performance.now() - started) / 1000, output });
    });
  });
}

function command(r: Pick<RunResult, 'entry' | 'args'>): string {
  return ['npx tsx', r.entry.script, ...r.args.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a))].join(
    ' ',
  );
}

/** The figures block written inside a section for scripts that do not write their own. */
function figuresBlock(r: RunResult, date: string): string {
  const out = r.output.trimEnd() || '(no output)';
  return [
    `Latest run (${date}, ${Math.round(r.seconds)} s${r.code === 0 ? '' : `, exit code ${r.code}`}):`,
    '',
    '```',
    command(r),
    '```',
    '',
    '```',
    out,
    '```',
  ].join('\n');
}

async function main(): Promise<void> {
  const only = names(argv.only);
  const skip = names(argv.skip);
  const selected = BENCHMARKS.filter((b) => (!only || only.has(b.name)) && !skip?.has(b.name));
  if (argv.list) {
    for (const b of BENCHMARKS) console.log(`${b.name.padEnd(20)} ${b.script}  ${b.what}`);
    return;
  }
  const file = resolve(REPO, argv.out);
  const results: RunResult[] = [];
  for (const b of selected) {
    const missing = (b.needs ?? []).filter((bin) => !onPath(bin));
    const args = argsFor(b, argv.out);
    if (missing.length) {
      console.log(`\n== ${b.name}: skipped, ${missing.join(', ')} not installed`);
      results.push({
        entry: b,
        args,
        code: null,
        seconds: 0,
        output: `skipped: ${missing.join(', ')} not installed`,
      });
      continue;
    }
    console.log(`\n== ${b.name}: ${command({ entry: b, args })}`);
    const r = await runOne(b, args);
    results.push(r);
    const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
    if (!b.writesSection) {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
      writeFileSync(file, replaceMarkedBlock(text, b.heading, `bench-run:${b.name}`, figuresBlock(r, date)));
    }
  }
  writeSummary(file, results);
  const failed = results.filter((r) => r.code !== 0 && r.code !== null);
  console.log(
    `\nwrote ${argv.out}; ${results.length - failed.length}/${results.length} benchmark(s) ran cleanly`,
  );
  if (failed.length) process.exitCode = 1;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)));
}

/** Rewrites the marked summary block under the title: machine, date, and every benchmark of this run. */
function writeSummary(file: string, results: readonly RunResult[]): void {
  const m = describeMachine();
  const rows = results.map((r) => [
    r.entry.name,
    `\`${command(r)}\``,
    r.code === 0 ? 'ok' : r.code === null ? 'skipped' : `failed (${r.code})`,
    r.code === null ? '–' : `${Math.round(r.seconds)} s`,
  ]);
  const flags = process.argv.slice(2).join(' ');
  const block = [
    wrap(
      `Last suite run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench${flags ? ' -- ' + flags : ''}\`. ` +
        `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory}, Node ${m.node}, ${m.os}. Peers are Debian's packages where a ` +
        'benchmark runs one side by side; each section says which. Sections of benchmarks not in this run keep their ' +
        'earlier figures and dates.',
    ),
    '',
    markdownTable(['benchmark', 'command', 'result', 'time'], rows, 3),
  ].join('\n');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, replaceMarkedBlock(text, '# Benchmarks', 'bench-suite', block));
}

await main();
