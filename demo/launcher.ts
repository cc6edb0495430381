/**
 * Starts the demo: Vigil in this process (embedded chDB) with the provisioned configuration, every pipeline
 * service as its own Node.js process, the load generator, and the fault-injection control API. `stop()`
 * ends every process it started.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningVigil } from '../src/app.ts';
import { loadConfigFile } from '../src/config/config.ts';
import {
  CHANNELS,
  FAULTS,
  FaultError,
  SERVICES,
  faultCatalogue,
  parseFault,
  serviceFaults,
  type ActiveFault,
} from './lib/faults.ts';
import { traceSampling } from './lib/sampling.ts';
import { renderTemplate } from './lib/template.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROVISIONING_DIR = join(HERE, 'provisioning');

/** How to start the demo. Ports 0 pick free ones (tests). */
export interface DemoOptions {
  /** Vigil's main port (UI and APIs); default 9400. */
  readonly port?: number;
  /** Port of the fault-injection API; default `port + 1` (or free when port is 0). */
  readonly controlPort?: number;
  /** Messages per second from the load generator; default 10. */
  readonly rate?: number;
  /** Vigil's data folder; default `./data-demo`. */
  readonly dataDir?: string;
  /** OpenTelemetry export interval of the services, ms; default 5000. */
  readonly exportMs?: number;
  /**
   * Share of traces the services keep (head sampling, parent-based, 0..1). Default: what `OTEL_TRACES_SAMPLER`
   * and `OTEL_TRACES_SAMPLER_ARG` in the environment say, else every trace (the span metrics on the service
   * dashboard count sampled spans only).
   */
  readonly traceSample?: number;
  readonly log?: (msg: string) => void;
}

/** A running demo. `stop()` is idempotent and resolves when every child process has exited. */
export interface RunningDemo {
  readonly url: string;
  readonly controlUrl: string;
  readonly vigil: RunningVigil;
  readonly dataDir: string;
  /** Process ids of the pipeline services, by service name. */
  readonly pids: Readonly<Record<string, number>>;
  /** Resolves when a stop has finished (after `stop()` or a signal handled by the CLI). */
  stop(): Promise<void>;
}

/** A problem starting the demo that the user can fix (port in use, bad option). */
export class DemoError extends Error {
  override name = 'DemoError';
}

async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolvePort, reject) => {
    const srv = createNetServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new DemoError(
          err.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is already in use; stop what is using it or choose another with ${flag}`
            : `cannot listen on port ${port} (${what}): ${err.message}`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePort()));
  });
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createNetServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

/** The script and extra environment of each service. */
function serviceEntry(name: string): { script: string; env: Record<string, string> } {
  if (name.startsWith('worker-'))
    return { script: join(HERE, 'services', 'worker.ts'), env: { DEMO_CHANNEL: name.slice(7) } };
  return { script: join(HERE, 'services', `${name}.ts`), env: {} };
}

/** One page the demo's pager inbox received. */
export interface Page {
  readonly at: string;
  readonly user: string;
  readonly incident: string;
  readonly title: string;
  readonly step: string;
  readonly ackUrl: string;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => ok(s));
    req.on('error', fail);
  });
}

export async function startDemo(opts: DemoOptions = {}): Promise<RunningDemo> {
  const log = opts.log ?? (() => {});
  const port = opts.port ?? 9400;
  const rate = opts.rate ?? 10;
  if (!(rate > 0 && rate <= 5000))
    throw new DemoError(`--rate must be above 0 and at most 5000 messages/s, got ${rate}`);
  // The services would each fail at start on a bad sampler setting; refused here once, before anything runs.
  const samplerEnv =
    opts.traceSample === undefined
      ? {}
      : {
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: String(opts.traceSample),
        };
  if (opts.traceSample !== undefined && !(opts.traceSample >= 0 && opts.traceSample <= 1))
    throw new DemoError(`the trace sample ratio must be from 0 to 1, got ${opts.traceSample}`);
  try {
    traceSampling({ ...process.env, ...samplerEnv });
  } catch (err) {
    throw new DemoError((err as Error).message);
  }
  const wantedControlPort = opts.controlPort ?? (port === 0 ? 0 : port + 1);
  await assertPortFree(port, "Vigil's UI and API", '--port');
  await assertPortFree(wantedControlPort, 'fault-injection API', '--control-port');
  // Known before Vigil starts: the on-call file sends pages to the control server's pager inbox.
  const controlPort = wantedControlPort || (await freePort());
  const dataDir = resolve(opts.dataDir ?? 'data-demo');
  mkdirSync(join(dataDir, 'logs'), { recursive: true });

  const ports: Record<string, number> = {};
  for (const s of SERVICES) ports[s] = await freePort();
  const oncallFile = join(dataDir, 'oncall-demo.yml');
  const vars: Record<string, string | number> = {
    dir: PROVISIONING_DIR,
    pager: `http://127.0.0.1:${controlPort}`,
    oncall: oncallFile,
  };
  for (const s of SERVICES) vars[`target.${s}`] = `127.0.0.1:${ports[s]}`;
  const render = (name: string, to: string) => {
    const template = join(PROVISIONING_DIR, name);
    writeFileSync(to, renderTemplate(readFileSync(template, 'utf8'), vars, template));
  };
  const configFile = join(dataDir, 'vigil-demo.yml');
  render('oncall.yml', oncallFile);
  render('vigil.yml', configFile);
  const cfg = loadConfigFile(configFile, {
    dataDir,
    port,
    listenAddress: '127.0.0.1',
    otlpHttpPort: 0,
    otlpGrpcPort: 0,
  });
  log(`starting Vigil, data in ${dataDir} (configuration: ${configFile})`);
  // Loaded only now, so a refused port is reported without loading all of Vigil first.
  const { startVigil } = await import('../src/app.ts');
  const vigil = await startVigil(cfg, { log: (m) => log(`vigil: ${m}`) });
  const url = `http://127.0.0.1:${vigil.port}`;

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let control: Server | undefined;
  const stopChildren = async () => {
    const exits = [...children.values()].map(
      (c) =>
        new Promise<void>((ok) => {
          if (c.exitCode !== null || c.signalCode !== null) return ok();
          c.once('exit', () => ok());
          c.kill('SIGTERM');
          // A service that does not stop within 8 s is killed.
          setTimeout(() => c.kill('SIGKILL'), 8000).unref();
        }),
    );
    await Promise.all(exits);
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      log('stopping the pipeline');
      await new Promise<void>((ok) => (control ? control.close(() => ok()) : ok()));
      await stopChildren();
      log('stopping Vigil');
      await vigil.close();
    })());

  try {
    const peers: Record<string, string> = {};
    for (const s of SERVICES) peers[s] = `http://127.0.0.1:${ports[s]}`;
    const tsx = import.meta.resolve('tsx');
    const start = (name: string) =>
      new Promise<void>((ok, fail) => {
        const { script, env } = serviceEntry(name);
        const out = openSync(join(dataDir, 'logs', `${name}.log`), 'a');
        const child = fork(script, [], {
          execArgv: ['--import', tsx],
          stdio: ['ignore', out, out, 'ipc'],
          env: {
            ...process.env,
            ...samplerEnv,
            ...env,
            DEMO_PORT: String(ports[name]),
            DEMO_OTLP: url,
            DEMO_PEERS: JSON.stringify(peers),
            DEMO_RATE: String(rate),
            DEMO_EXPORT_MS: String(opts.exportMs ?? 5000),
          },
        });
        closeSync(out);
        children.set(name, child);
        const timer = setTimeout(() => fail(new Error(`${name} did not start within 60 s`)), 60_000);
        child.once('message', () => {
          clearTimeout(timer);
          ok();
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          // Exit code 0 is a service stopping on a signal (Ctrl-C reaches the whole process group).
          if (!stopping && code !== 0) {
            const why = `${name} exited (${signal ?? `code ${code}`}); see ${join(dataDir, 'logs', `${name}.log`)}`;
            log(why);
            fail(new Error(why));
          }
        });
      });
    // Everything but the load generator at once (consumers and clients retry until their peers are up).
    await Promise.all(SERVICES.filter((s) => s !== 'loadgen').map(start));
    await start('loadgen');
  } catch (err) {
    await stop();
    throw err;
  }

  // Fault injection API.
  const active = new Map<string, ActiveFault>();
  const push = async () => {
    const per = serviceFaults([...active.values()]);
    await Promise.all(
      SERVICES.map(async (s) => {
        const res = await fetch(`http://127.0.0.1:${ports[s]}/_faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(per.get(s) ?? {}),
        });
        if (!res.ok) throw new Error(`${s} refused the fault state: HTTP ${res.status}`);
      }),
    );
  };
  // The pager inbox: Vigil's pages (Alertmanager-shaped webhook JSON) to the demo's on-call people.
  const pages: Page[] = [];
  const pager = async (
    req: IncomingMessage,
    user: string | undefined,
    reply: (status: number, body: unknown) => void,
  ) => {
    if (req.method === 'GET' && !user) return reply(200, { pages });
    if (req.method !== 'POST' || !user)
      return reply(405, { error: `${req.method} ${req.url}: use GET /pages, or POST /pages/{user}` });
    let body: { commonAnnotations?: Record<string, string> };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (err) {
      return reply(400, { error: `page body is not JSON: ${(err as Error).message}` });
    }
    const a = body.commonAnnotations ?? {};
    const p: Page = {
      at: new Date().toISOString(),
      user,
      incident: a.incident_id ?? '',
      title: a.incident_title ?? '',
      step: a.escalation_step ?? '',
      ackUrl: a.ack_url ?? '',
    };
    pages.push(p);
    if (pages.length > 200) pages.shift();
    log(
      `page for ${user}: incident ${p.incident} ${JSON.stringify(p.title)} (step ${p.step}); acknowledge: ${p.ackUrl}`,
    );
    return reply(200, { ok: true });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2) + '\n');
    };
    const list = () => ({ faults: [...active.values()], available: FAULTS });
    const page = /^\/pages(?:\/([^/]+))?\/?$/.exec(u.pathname);
    if (page) return pager(req, page[1] ? decodeURIComponent(page[1]) : undefined, reply);
    const m = /^\/faults(?:\/([^/]+))?\/?$/.exec(u.pathname);
    if (!m)
      return reply(404, { error: `no route ${req.method} ${u.pathname}; use /faults or /faults/{name}` });
    const name = m[1] ? decodeURIComponent(m[1]) : undefined;
    if (req.method === 'GET' && !name) return reply(200, list());
    if (!name)
      return reply(405, { error: `${req.method} /faults: use GET /faults, or POST/DELETE /faults/{name}` });
    const params: Record<string, unknown> = Object.fromEntries(u.searchParams);
    const text = await readBody(req);
    if (text.trim()) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        return reply(400, { error: `request body is not JSON: ${(err as Error).message}` });
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return reply(400, { error: 'request body must be a JSON object of fault parameters' });
      Object.assign(params, body);
    }
    if (!(name in FAULTS))
      return reply(404, { error: `unknown fault "${name}"; valid faults:\n${faultCatalogue()}` });
    if (req.method === 'POST') {
      const fault = parseFault(name, params);
      active.set(`${fault.name}:${fault.target}`, fault);
      await push();
      log(`fault on: ${name} ${JSON.stringify(fault.params)}`);
      return reply(200, { fault, ...list() });
    }
    if (req.method === 'DELETE') {
      // Without parameters every fault of that name ends; with them, only the one they name.
      const target = Object.keys(params).length ? parseFault(name, params).target : undefined;
      const keys = [...active.keys()].filter(
        (k) => k === `${name}:${target}` || (!target && k.startsWith(`${name}:`)),
      );
      if (!keys.length) return reply(404, { error: `fault "${name}" is not on`, ...list() });
      for (const k of keys) active.delete(k);
      await push();
      log(`fault off: ${keys.join(', ')}`);
      return reply(200, list());
    }
    return reply(405, {
      error: `${req.method} /faults/${name}: use POST (switch on) or DELETE (switch off)`,
    });
  };
  control = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof FaultError ? 400 : 500;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }) + '\n');
    });
  });
  // Longer than clients keep idle connections, so a client never reuses one the server is closing.
  control.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((ok, fail) => {
      control!.once('error', (err: NodeJS.ErrnoException) =>
        fail(
          err.code === 'EADDRINUSE'
            ? new DemoError(`port ${controlPort} (fault-injection API) is already in use`)
            : err,
        ),
      );
      control!.listen(controlPort, '127.0.0.1', () => ok());
    });
  } catch (err) {
    control = undefined;
    await stop();
    throw err;
  }
  const controlUrl = `http://127.0.0.1:${(control.address() as { port: number }).port}`;
  log(`pipeline running: ${SERVICES.length} services, ${rate} messages/s over ${CHANNELS.length} channels`);
  return {
    url,
    controlUrl,
    vigil,
    dataDir,
    pids: Object.fromEntries([...children].map(([k, c]) => [k, c.pid!])),
    stop,
  };
}
