/**
 * `vigil demo`: starts Vigil with the reference pipeline (demo/), and `vigil demo fault on|off|list` switches
 * faults through the running demo's control API. Returns the exit code: 0 ok, 1 failure, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { FAULTS, FaultError, faultCatalogue, parseFault } from '../../demo/lib/faults.ts';

const USAGE = `Usage:
  vigil demo [--port N] [--control-port N] [--rate MSGS_PER_S] [--data-dir DIR] [--trace-sample RATIO]
      Start Vigil (port 9400, data in ./data-demo) with the demo pipeline under load; Ctrl-C stops everything.
      --trace-sample keeps that share (0 to 1) of new traces (parent-based); default: every trace.
  vigil demo fault on NAME [--PARAM VALUE]... [--control URL]
  vigil demo fault off NAME [--PARAM VALUE]... [--control URL]
  vigil demo fault list [--control URL]
      Switch faults of a running demo (control API, default http://127.0.0.1:9401 or VIGIL_DEMO_CONTROL).

Faults:
${faultCatalogue()}
`;

class DemoUsageError extends Error {}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new DemoUsageError(`${flag} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', short: 'p' },
      'control-port': { type: 'string' },
      rate: { type: 'string' },
      'data-dir': { type: 'string' },
      'trace-sample': { type: 'string' },
    },
    strict: true,
  });
  const port = num(values.port, '--port');
  const controlPort = num(values['control-port'], '--control-port');
  for (const [p, flag] of [
    [port, '--port'],
    [controlPort, '--control-port'],
  ] as const)
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 65535))
      throw new DemoUsageError(`${flag} must be a port number 0-65535, got ${p}`);
  const rate = num(values.rate, '--rate');
  const traceSample = num(values['trace-sample'], '--trace-sample');
  if (traceSample !== undefined && !(traceSample >= 0 && traceSample <= 1))
    throw new DemoUsageError(`--trace-sample must be a share from 0 to 1, got ${traceSample}`);
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} demo: ${msg}\n`);
  const { startDemo, DemoError } = await import('../../demo/launcher.ts');
  let demo;
  try {
    demo = await startDemo({ port, controlPort, rate, dataDir: values['data-dir'], traceSample, log });
  } catch (err) {
    if (err instanceof DemoError) {
      process.stderr.write(`vigil demo: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  process.stdout.write(
    `Vigil demo running: open ${demo.url}/\n` +
      `Data in ${demo.dataDir} (service logs in ${demo.dataDir}/logs)\n` +
      `Faults: vigil demo fault list --control ${demo.controlUrl}  (or GET ${demo.controlUrl}/faults)\n` +
      `Stop with Ctrl-C.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log('stopping');
  await demo.stop();
  log('stopped');
  return 0;
}

/** Turns `--key value` pairs into fault parameters; a flag without a value is an error. */
function faultParams(args: string[]): { params: Record<string, string>; control?: string } {
  const params: Record<string, string> = {};
  let control: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const key = a.startsWith('--') ? a.slice(2, eq > 0 ? eq : undefined) : undefined;
    if (!key)
      throw new DemoUsageError(`unexpected argument ${JSON.stringify(a)}; parameters are --NAME VALUE`);
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new DemoUsageError(`--${key} needs a value`);
    if (key === 'control') control = value;
    else params[key] = value;
  }
  return { params, control };
}

async function fault(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'on' && action !== 'off' && action !== 'list')
    throw new DemoUsageError(`vigil demo fault needs on, off or list, got ${JSON.stringify(action ?? '')}`);
  const name = action === 'list' ? undefined : rest.shift();
  if (action !== 'list' && (!name || name.startsWith('--')))
    throw new DemoUsageError(
      `vigil demo fault ${action} needs a fault name: ${Object.keys(FAULTS).join(', ')}`,
    );
  const { params, control } = faultParams(rest);
  // Checked here too, so a typo is explained even when no demo is running.
  if (name && (action === 'on' || Object.keys(params).length)) parseFault(name, params);
  const base = (control ?? process.env.VIGIL_DEMO_CONTROL ?? 'http://127.0.0.1:9401').replace(/\/$/, '');
  const url = name ? `${base}/faults/${encodeURIComponent(name)}` : `${base}/faults`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: action === 'on' ? 'POST' : action === 'off' ? 'DELETE' : 'GET',
      headers: { 'content-type': 'application/json' },
      body: action === 'list' ? undefined : JSON.stringify(params),
    });
  } catch (err) {
    process.stderr.write(
      `vigil demo fault: no demo answers at ${base} (${(err as Error).message}); start one with vigil demo\n`,
    );
    return 1;
  }
  const body = (await res.json()) as {
    error?: string;
    faults?: { name: string; params: object; since: number }[];
  };
  if (!res.ok) {
    process.stderr.write(`vigil demo fault: ${body.error ?? `HTTP ${res.status}`}\n`);
    return res.status === 400 || res.status === 404 ? 2 : 1;
  }
  const faults = body.faults ?? [];
  process.stdout.write(
    faults.length
      ? faults
          .map((f) => `${f.name} ${JSON.stringify(f.params)} since ${new Date(f.since).toISOString()}`)
          .join('\n') + '\n'
      : 'no faults on\n',
  );
  return 0;
}

export async function demoCommand(argv: string[]): Promise<number> {
  try {
    if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (argv[0] === 'fault') return await fault(argv.slice(1));
    return await run(argv);
  } catch (err) {
    if (err instanceof FaultError) {
      process.stderr.write(`vigil demo: ${err.message}\n`);
      return 2;
    }
    if (err instanceof DemoUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`vigil demo: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}
