/**
 * Health-check probe capacity: how many probes per second one Vigil process runs, and the CPU each costs.
 *
 *   npx tsx bench/health-probes.ts [--checks 300] [--seconds 15] [--interval 1s] [--kinds http,tcp,grpc]
 *
 * The targets (an HTTP server, a TCP listener and a gRPC health service) run in a child process, so the CPU
 * measured here is the prober's alone. --checks checks, spread evenly over --kinds, each probe every
 * --interval, write their results to the in-memory reference storage (the storage's own cost is measured by
 * the ingest benchmarks). After a warm-up interval, prints probes/s completed, the share that succeeded,
 * p50/p99 probe duration, and this process's CPU (percent of one core, and microseconds per probe).
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/model/duration.ts';
import { healthChecksSchema } from '../src/health/checks/config.ts';
import { HealthChecker } from '../src/health/checks/scheduler.ts';
import { MemoryStorage } from '../src/store/memory.ts';

const { values: args } = parseArgs({
  options: {
    checks: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '15' },
    interval: { type: 'string', default: '1s' },
    kinds: { type: 'string', default: 'http,tcp,grpc' },
  },
});
const CHECKS = Number(args.checks);
const SECONDS = Number(args.seconds);
const INTERVAL_MS = parseDuration(args.interval);
const KINDS = args.kinds.split(',') as ('http' | 'tcp' | 'grpc')[];

/** Targets in a child process; prints `{http, tcp, grpc}` ports as one JSON line once listening. */
const TARGETS = `
import { createServer } from 'node:http';
import { createServer as tcp } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
const http = createServer((req, res) => res.end('{"status":"ok"}'));
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const t = tcp((s) => s.end());
await new Promise((r) => t.listen(0, '127.0.0.1', r));
const g = new Server();
g.register('/grpc.health.v1.Health/Check', (call, cb) => cb(null, { status: 1 }),
  () => Buffer.from([0x08, 0x01]), () => ({}), 'unary');
const gp = await new Promise((r, j) => g.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => e ? j(e) : r(p)));
console.log(JSON.stringify({ http: http.address().port, tcp: t.address().port, grpc: gp }));
`;

const child = spawn(process.execPath, ['--input-type=module', '-e', TARGETS], {
  cwd: process.cwd(),
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ports = await new Promise<{ http: number; tcp: number; grpc: number }>((resolve, reject) => {
  child.stdout.once('data', (b: Buffer) => resolve(JSON.parse(b.toString())));
  child.once('exit', (code) => reject(new Error(`target process exited with ${code}`)));
});

const defs = Array.from({ length: CHECKS }, (_, i) => {
  const kind = KINDS[i % KINDS.length]!;
  const target =
    kind === 'http'
      ? `http://127.0.0.1:${ports.http}/healthz?c=${i}`
      : `127.0.0.1:${kind === 'tcp' ? ports.tcp : ports.grpc}`;
  return { name: `c${i}`, kind, target, interval: INTERVAL_MS / 1000, timeout: INTERVAL_MS / 1000 };
});
const checker = new HealthChecker({ storage: new MemoryStorage(), checks: healthChecksSchema.parse(defs) });
checker.start();
await new Promise((r) => setTimeout(r, INTERVAL_MS));

// Histories are capped, so count completions by polling often enough that none is missed.
let probes = 0;
const seen = new Map<string, number>();
const poll = () => {
  for (const c of checker.status()) {
    const last = c.history.at(-1)?.t ?? 0;
    const prev = seen.get(c.name) ?? 0;
    probes += c.history.filter((h) => h.t > prev).length;
    seen.set(c.name, last);
  }
};
poll();
probes = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const timer = setInterval(poll, Math.min(INTERVAL_MS, 5000));
await new Promise((r) => setTimeout(r, SECONDS * 1000));
clearInterval(timer);
poll();
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await checker.stop();
child.kill();

const all = checker.status().flatMap((c) => c.history.filter((h) => h.t >= Date.now() - SECONDS * 1000));
const durations = all.map((h) => h.durationMs).sort((a, b) => a - b);
const q = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? NaN;
const cpuSec = (cpu.user + cpu.system) / 1e6;
console.log(
  `checks ${CHECKS} (${KINDS.join(', ')}), interval ${args.interval}, measured ${elapsed.toFixed(1)} s`,
);
console.log(
  `probes/s            ${(probes / elapsed).toFixed(1)} (offered ${((CHECKS * 1000) / INTERVAL_MS).toFixed(1)})`,
);
console.log(
  `succeeded           ${((100 * all.filter((h) => h.up).length) / Math.max(1, all.length)).toFixed(1)} %`,
);
console.log(`probe duration      p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms`);
console.log(
  `CPU (this process)  ${((100 * cpuSec) / elapsed).toFixed(1)} % of one core, ${((cpuSec * 1e6) / probes).toFixed(0)} µs/probe`,
);
