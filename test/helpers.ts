/** Shared pieces for end-to-end tests: a Vigil in this process, peer processes, polling. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../src/config/config.ts';
import { startVigil, type RunningVigil } from '../src/app.ts';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `vigil start` from this checkout as a child process on 127.0.0.1:`port` and waits until it is ready;
 * stderr goes to the test's output. The caller stops it (and kills it when a test fails).
 */
export async function spawnVigil(configFile: string, dataDir: string, port: number): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    [
      'bin/vigil.js',
      'start',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--listen-address',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitFor('vigil to start', async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, 60_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return proc;
}

/**
 * The crash test both durability tests share: starts `vigil start` with `yaml` in `dir`, keeps 4 senders
 * posting numbered requests through `send` (true when the request was acknowledged) until 40 are, kills the
 * process with SIGKILL while requests are in flight, and starts it again on the same data and port. Returns
 * the port, the numbers of the acknowledged requests, and how many were started. The restarted process goes
 * into `procs` for the caller to stop.
 */
export async function crashWhileWriting(
  dir: string,
  yaml: string,
  procs: ChildProcess[],
  send: (port: number, n: number) => Promise<boolean>,
): Promise<{ port: number; acked: number[]; started: number }> {
  const configFile = join(dir, 'vigil.yml');
  writeFileSync(configFile, yaml);
  const port = await freePort();
  const proc = await spawnVigil(configFile, join(dir, 'data'), port);
  procs.push(proc);
  const acked: number[] = [];
  let next = 0;
  let killed = false;
  const sender = async () => {
    while (!killed) {
      const n = next++;
      try {
        if (await send(port, n)) acked.push(n);
      } catch {
        return; // connection refused or reset: the process is gone
      }
    }
  };
  const senders = Array.from({ length: 4 }, sender);
  await waitFor('some acknowledged requests', async () => acked.length >= 40, 60_000);
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  killed = true;
  await Promise.all(senders);
  await exited;
  procs.push(await spawnVigil(configFile, join(dir, 'data'), port));
  return { port, acked, started: next };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`,
  );
}

export interface TestVigil extends RunningVigil {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Starts Vigil in this process on ephemeral ports with a fresh data folder (one per test file: chDB). */
export async function startTestVigil(yaml = '', opts: { selfMonitoring?: boolean } = {}): Promise<TestVigil> {
  const dataDir = tempDir('data');
  const selfBlock = opts.selfMonitoring ? '' : 'self_monitoring:\n  enabled: false\n';
  const cfg = loadConfigText(selfBlock + yaml, 'test.yml', {
    dataDir,
    port: 0,
    otlpHttpPort: 0,
    otlpGrpcPort: 0,
    listenAddress: '127.0.0.1',
  });
  const v = await startVigil(cfg);
  return {
    ...v,
    url: `http://127.0.0.1:${v.port}`,
    dataDir,
    stop: async () => {
      await v.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface PromResponse<T = any> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

export async function getJSON<T = any>(url: string): Promise<{ status: number; body: PromResponse<T> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as PromResponse<T> };
}

export function queryURL(base: string, path: string, params: Record<string, string | number>): string {
  const u = new URL(path, base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
  return u.toString();
}

export interface Peer {
  readonly url: string;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a peer binary (prometheus, node exporter) and waits until `readyPath` answers 200. */
export async function startPeer(
  cmd: string,
  args: string[],
  url: string,
  readyPath: string,
  cleanup: string[] = [],
): Promise<Peer> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  };
  try {
    await waitFor(`${cmd} to become ready`, async () => {
      if (proc.exitCode !== null) throw new Error(`${cmd} exited: ${stderr}`);
      const res = await fetch(url + readyPath);
      return res.ok;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, proc, stop };
}

/** Starts Debian's Prometheus with the given YAML configuration on a free port. */
export async function startPrometheus(configYaml: string): Promise<Peer> {
  const dir = tempDir('prom');
  writeFileSync(join(dir, 'prometheus.yml'), configYaml);
  const port = await freePort();
  return startPeer(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--web.enable-admin-api',
    ],
    `http://127.0.0.1:${port}`,
    '/-/ready',
    [dir],
  );
}
