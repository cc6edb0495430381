/**
 * Alerting peers for the side-by-side alert benchmarks: Debian's Prometheus with a rule file and an
 * Alertmanager to notify, Debian's Alertmanager itself, and a webhook receiver that records every
 * notification each system sends. The peers are tracked children of `systems.ts`, so `killAllChildren`
 * stops them on exit, on errors and on Ctrl-C.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, launch, stopChild, versionOf, waitReady, which } from './systems.ts';

/** A running peer process. */
export interface Peer {
  readonly name: string;
  readonly version: string;
  readonly baseUrl: string;
  readonly pid: number;
  readonly logFile: string;
  /** Stops the process; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Resolves each binary on PATH, or prints which are missing (and the Debian package that has them) and
 * exits with status 2: a benchmark without its peer would print half a comparison.
 */
export function requireBinaries(bins: readonly { bin: string; pkg: string }[]): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const { bin, pkg } of bins) {
    const path = which(bin);
    if (path) found[bin] = path;
    else missing.push(`${bin} (Debian package ${pkg})`);
  }
  if (missing.length) {
    process.stderr.write(
      `error: peer binary not found on PATH: ${missing.join(', ')}. Install it, e.g. ` +
        `apt-get install -y prometheus prometheus-alertmanager, and run again.\n`,
    );
    process.exit(2);
  }
  return found;
}

/** Starts Alertmanager on loopback with `configYaml`, gossip off, its own data folder under `dir`. */
export async function startAlertmanager(dir: string, bin: string, configYaml: string): Promise<Peer> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, configYaml);
  const port = await freePort();
  const logFile = join(dir, 'alertmanager.log');
  const child = launch(
    bin,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    dir,
    logFile,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(child, `${baseUrl}/-/ready`, 'Alertmanager', logFile, 60_000);
  return {
    name: 'Alertmanager',
    version: versionOf(bin, ['--version'], /version (\S+)/),
    baseUrl,
    pid: child.pid!,
    logFile,
    stop: () => stopChild(child, 10_000),
  };
}

/**
 * Starts Prometheus on loopback with the remote-write receiver on, `rulesYaml` as its only rule file, global
 * `evaluationInterval`, and `alertmanagerUrl` (host:port) as its Alertmanager (API v2).
 */
export async function startPrometheusWithRules(
  dir: string,
  bin: string,
  rulesYaml: string,
  alertmanagerUrl: string,
  evaluationInterval = '1s',
): Promise<Peer> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rules.yml'), rulesYaml);
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      `global: {scrape_interval: 15s, evaluation_interval: ${evaluationInterval}}`,
      `rule_files: [${join(dir, 'rules.yml')}]`,
      'alerting:',
      '  alertmanagers:',
      `    - api_version: v2`,
      `      static_configs: [{targets: ['${alertmanagerUrl.replace(/^https?:\/\//, '')}']}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const logFile = join(dir, 'prometheus.log');
  const child = launch(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ],
    dir,
    logFile,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(child, `${baseUrl}/-/ready`, 'Prometheus', logFile, 60_000);
  return {
    name: 'Prometheus',
    version: versionOf(bin, ['--version'], /version (\S+)/),
    baseUrl,
    pid: child.pid!,
    logFile,
    stop: () => stopChild(child, 10_000),
  };
}

/** One alert inside a webhook notification (Alertmanager's webhook payload, version 4). */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly startsAt?: string;
  readonly endsAt?: string;
}

/** One webhook POST as received: which system sent it (the URL path), when, and its payload. */
export interface Notification {
  readonly system: string;
  /** performance.now() when the body had arrived. */
  readonly at: number;
  readonly status: 'firing' | 'resolved';
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly alerts: readonly WebhookAlert[];
}

/**
 * A webhook receiver on loopback. Each system posts to `urlFor(system)`; every notification is kept in
 * `received` in arrival order, and `next` waits for the first later one that matches. Bodies that are not
 * JSON get a 400 and are counted in `rejected`, so a broken sender shows in the figures.
 */
export class WebhookSink {
  readonly received: Notification[] = [];
  rejected = 0;
  private waiters: { match: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];
  private readonly server: Server;
  port = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now();
        let body: Omit<Notification, 'system' | 'at'>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          this.rejected++;
          res.writeHead(400).end('body is not JSON\n');
          return;
        }
        res.writeHead(200).end();
        this.add({ ...body, system: (req.url ?? '/').slice(1), at });
      });
    });
  }

  static async start(): Promise<WebhookSink> {
    const sink = new WebhookSink();
    await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', r));
    sink.port = (sink.server.address() as { port: number }).port;
    return sink;
  }

  urlFor(system: string): string {
    return `http://127.0.0.1:${this.port}/${system}`;
  }

  private add(n: Notification): void {
    this.received.push(n);
    for (const w of [...this.waiters])
      if (w.match(n)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(n);
      }
  }

  /** The first notification received from now on that matches, or undefined after `timeoutMs`. */
  next(match: (n: Notification) => boolean, timeoutMs: number): Promise<Notification | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(undefined);
      }, timeoutMs);
      const w = {
        match,
        resolve: (n: Notification) => {
          clearTimeout(timer);
          resolve(n);
        },
      };
      this.waiters.push(w);
    });
  }

  /** performance.now() of the last notification from any system (0 when none). */
  lastAt(): number {
    return this.received.length ? this.received[this.received.length - 1]!.at : 0;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (clock ticks).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
