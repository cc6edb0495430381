/**
 * Starting and stopping the systems under test (Vigil, Prometheus, VictoriaMetrics) on loopback, each
 * with a fresh data folder and a free port, plus the small HTTP client the benchmark uses. Every child
 * process is tracked so that it is killed on exit, on errors and on Ctrl-C.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

const children = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL); safe to call from an 'exit' handler. */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  children.clear();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Which executable on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Apparent size in bytes of a folder (`du -sb`), counting hard-linked files once. Files that a running
 * database removes while du walks the tree make du exit non-zero; its total still stands.
 */
export function du(path: string): number {
  let out: string;
  try {
    out = execFileSync('du', ['-sb', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  const n = Number(out.trim().split('\n').pop()?.split('\t')[0]);
  if (!Number.isFinite(n)) throw new Error(`du -sb ${path} gave no total`);
  return n;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 300_000, () =>
      req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 300_000} ms: ${url}`)),
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DiskFigure {
  readonly bytes: number;
  /** How the figure was obtained, for the report. */
  readonly method: string;
  /** Further figures worth printing (name → bytes). */
  readonly extra?: Record<string, number>;
}

/** A running system under test. */
export interface System {
  readonly name: string;
  readonly version: string;
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly pid: number;
  readonly logFile: string;
  /** Makes everything written durable and queryable, then measures what it takes on disk. */
  flushAndMeasure(): Promise<DiskFigure>;
  /** Whether the process is still running. */
  running(): boolean;
  /** Stops the process; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface StartContext {
  /** Folder for this system's data, config and log (created fresh). */
  readonly dir: string;
  readonly repoRoot: string;
  readonly log: (msg: string) => void;
}

/** Spawns a tracked child (killed by killAllChildren) with stdout and stderr going to `logFile`. */
export function launch(cmd: string, args: string[], cwd: string, logFile: string): ChildProcess {
  const out = createWriteStream(logFile);
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Polls `url` until it answers 200; throws with the log's tail when the child exits or time runs out. */
export async function waitReady(
  child: ChildProcess,
  url: string,
  name: string,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${name} exited during start-up (code ${child.exitCode}, signal ${child.signalCode}); see ${logFile}:\n${tail(logFile)}`,
      );
    try {
      const r = await request(url, { timeoutMs: 2000 });
      if (r.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms; see ${logFile}:\n${tail(logFile)}`);
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 60_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Peak resident memory of a process (VmHWM), in bytes, or undefined when not readable. */
export function peakRss(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The version a binary prints for `args`, picked out by `re`'s first group. */
export function versionOf(cmd: string, args: string[], re: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return re.exec(out)?.[1] ?? out.split('\n')[0]!.trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    return re.exec(text)?.[1] ?? 'unknown';
  }
}

/** The installed Debian package's version, or undefined. */
export function dpkgVersion(pkg: string): string | undefined {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Vigil

/** Vigil's sample bytes as reported by its own gauge, or undefined when the gauge is absent or zero. */
async function vigilStorageGauge(baseUrl: string): Promise<number | undefined> {
  const r = await request(`${baseUrl}/metrics`);
  const m = /^vigil_storage_bytes(?:\{[^}]*\})? (\S+)$/m.exec(r.body.toString('utf8'));
  const v = m ? Number(m[1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * Reads Vigil's chDB folder after Vigil has stopped: active parts of every table in the `vigil`
 * database (what ClickHouse itself counts as live data), then again after OPTIMIZE FINAL on samples.
 * Runs in a child process because chDB allows one data folder per process.
 */
export function inspectChdb(
  repoRoot: string,
  chdbDir: string,
): { active: Record<string, number>; optimized: Record<string, number> } {
  const code = `
import { Session } from 'chdb';
const s = new Session(process.argv[1]);
const parts = () => Object.fromEntries(s.query(
  "SELECT table, sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = 'vigil' GROUP BY table",
  'JSONEachRow').split('\\n').filter(Boolean).map((l) => { const r = JSON.parse(l); return [r.table, Number(r.b)]; }));
const active = parts();
s.query('OPTIMIZE TABLE vigil.samples FINAL');
s.query('OPTIMIZE TABLE vigil.series FINAL');
const optimized = parts();
s.close();
process.stdout.write(JSON.stringify({ active, optimized }));
`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code, chdbDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  return JSON.parse(out) as { active: Record<string, number>; optimized: Record<string, number> };
}

/**
 * Starts Vigil; `extraConfig` is YAML appended to its configuration file (top-level sections), `dataDir` an
 * existing data folder to use instead of a fresh one.
 */
export async function startVigil(
  ctx: StartContext,
  extraConfig = '',
  opts: { dataDir?: string; readyTimeoutMs?: number } = {},
): Promise<System> {
  mkdirSync(ctx.dir, { recursive: true });
  const dataDir = opts.dataDir ?? join(ctx.dir, 'data');
  const config = join(ctx.dir, 'vigil.yml');
  writeFileSync(config, `self_monitoring:\n  enabled: false\n${extraConfig}`);
  const port = await freePort();
  const logFile = join(ctx.dir, 'vigil.log');
  const args = [
    join(ctx.repoRoot, 'bin/vigil.js'),
    'start',
    '--config',
    config,
    '--data-dir',
    dataDir,
    '--port',
    String(port),
    '--listen-address',
    '127.0.0.1',
    '--otlp-http-port',
    '0',
    '--otlp-grpc-port',
    '0',
  ];
  const child = launch(process.execPath, args, ctx.repoRoot, logFile);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(child, `${baseUrl}/-/ready`, 'Vigil', logFile, opts.readyTimeoutMs ?? 180_000);
  const store = join(dataDir, 'clickhouse', 'store');
  const baseline = du(store);
  const pkg = JSON.parse(readFileSync(join(ctx.repoRoot, 'package.json'), 'utf8')) as { version: string };
  let rev = '';
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ctx.repoRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    // Not a git checkout.
  }
  return {
    name: 'Vigil',
    version: `${pkg.version}${rev ? ` (${rev}+working tree)` : ''}`,
    baseUrl,
    dataDir,
    pid: child.pid!,
    logFile,
    async flushAndMeasure() {
      // clean_tombstones waits for every pending write, then applies deletes; nothing is deleted here, so
      // it serves as "flush".
      const r = await request(`${baseUrl}/api/v1/admin/tsdb/clean_tombstones`, { method: 'POST' });
      if (r.status >= 300)
        ctx.log(`Vigil: clean_tombstones answered ${r.status}: ${r.body.toString('utf8').trim()}`);
      // Vigil refreshes its storage-size gauges every 15 s: wait for one refresh after the flush.
      await sleep(16_000);
      const gauge = await vigilStorageGauge(baseUrl);
      const store = du(join(dataDir, 'clickhouse', 'store')) - baseline;
      const extra: Record<string, number> = { 'du clickhouse/store minus empty baseline': store };
      if (gauge !== undefined) extra['vigil_storage_bytes gauge (samples table)'] = gauge;
      return {
        bytes: store,
        method:
          'du -sb DATA/clickhouse/store minus the empty-instance baseline (replaced after stop by active parts)',
        extra,
      };
    },
    running: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}

// ---------------------------------------------------------------------------------------------------
// Prometheus

export async function startPrometheus(ctx: StartContext, bin: string, retention = '30d'): Promise<System> {
  mkdirSync(ctx.dir, { recursive: true });
  const dataDir = join(ctx.dir, 'data');
  const config = join(ctx.dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 15s\n');
  const port = await freePort();
  const logFile = join(ctx.dir, 'prometheus.log');
  const child = launch(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--web.enable-admin-api',
      `--storage.tsdb.retention.time=${retention}`,
    ],
    ctx.dir,
    logFile,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(child, `${baseUrl}/-/ready`, 'Prometheus', logFile, 60_000);
  return {
    name: 'Prometheus',
    version: versionOf(bin, ['--version'], /version (\S+)/),
    baseUrl,
    dataDir,
    pid: child.pid!,
    logFile,
    async flushAndMeasure() {
      const r = await request(`${baseUrl}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
      if (r.status !== 200)
        throw new Error(`Prometheus snapshot answered ${r.status}: ${r.body.toString('utf8')}`);
      const name = (JSON.parse(r.body.toString('utf8')) as { data: { name: string } }).data.name;
      const snap = join(dataDir, 'snapshots', name);
      return {
        bytes: du(snap),
        method: 'POST /api/v1/admin/tsdb/snapshot (head written as a block), du -sb of the snapshot',
      };
    },
    running: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}

// ---------------------------------------------------------------------------------------------------
// VictoriaMetrics

export async function startVictoriaMetrics(ctx: StartContext, bin: string): Promise<System> {
  mkdirSync(ctx.dir, { recursive: true });
  const dataDir = join(ctx.dir, 'data');
  const port = await freePort();
  const logFile = join(ctx.dir, 'victoria-metrics.log');
  const child = launch(
    bin,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dataDir}`,
      '-retentionPeriod=1',
      // Answer queries up to "now" instead of lagging a minute behind writes.
      '-search.latencyOffset=0',
      // Measure query work, not the rollup result cache hit of the repeated runs.
      '-search.disableCache',
    ],
    ctx.dir,
    logFile,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(child, `${baseUrl}/health`, 'VictoriaMetrics', logFile, 60_000);
  await sleep(1000);
  const baseline = du(dataDir);
  return {
    name: 'VictoriaMetrics',
    version: dpkgVersion('victoria-metrics') ?? versionOf(bin, ['-version'], /(v\S+)/),
    baseUrl,
    dataDir,
    pid: child.pid!,
    logFile,
    async flushAndMeasure() {
      const r = await request(`${baseUrl}/internal/force_flush`);
      if (r.status !== 200)
        throw new Error(`VictoriaMetrics force_flush answered ${r.status}: ${r.body.toString('utf8')}`);
      // Give background merges a moment, as a steady-state system would have.
      await sleep(10_000);
      const m = await request(`${baseUrl}/metrics`);
      let reported = 0;
      for (const line of m.body.toString('utf8').split('\n'))
        if (line.startsWith('vm_data_size_bytes{')) reported += Number(line.split(' ').pop());
      const bytes = du(dataDir) - baseline;
      return {
        bytes,
        method:
          'GET /internal/force_flush, 10 s for merges, du -sb of the data folder minus the empty-instance baseline',
        extra: { 'vm_data_size_bytes (its own figure)': reported },
      };
    },
    running: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}
