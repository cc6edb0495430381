/**
 * W3C trace context and baggage across two real processes: A (OTLP/HTTP protobuf exporter) calls B (OTLP/gRPC
 * exporter) over HTTP; Vigil must hold one connected trace with B's server span under A's client span, the
 * trace state carried over, and the baggage entries where the scripts put them.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { freePort, tempDir } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..');
let vigil: RunningVigil;
let dataDir: string;
const children: ReturnType<typeof spawn>[] = [];

beforeAll(async () => {
  dataDir = tempDir('propagation');
  const cfg = loadConfigText('self_monitoring:\n  enabled: false\n', 'test.yml', {
    dataDir,
    port: 0,
    otlpHttpPort: await freePort(),
    otlpGrpcPort: await freePort(),
    listenAddress: '127.0.0.1',
  });
  vigil = await startVigil(cfg);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await vigil?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function node(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'propagation', script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = stdout.match(re);
        if (m) resolve(m);
      };
      child.stdout!.on('data', check);
      void exited.then((code) => reject(new Error(`${script} exited with ${code}: ${stderr}`)));
    });
  return { child, exited, line, output: () => ({ stdout, stderr }) };
}

it('two processes exporting over OTLP/HTTP and OTLP/gRPC form one connected trace', async () => {
  const b = node('service-b.ts', { VIGIL_OTLP_GRPC: `127.0.0.1:${vigil.otlpGrpcPort}` });
  const port = (await b.line(/listening (\d+)\n/))[1];
  const a = node('service-a.ts', {
    VIGIL_OTLP_HTTP: `http://127.0.0.1:${vigil.otlpPort}/v1/traces`,
    B_URL: `http://127.0.0.1:${port}`,
  });
  const code = await a.exited;
  expect(code, a.output().stderr).toBe(0);
  const { traceId, clientSpanId, status } = JSON.parse(a.output().stdout) as Record<string, string>;
  expect(status).toBe(200);
  b.child.kill('SIGTERM');
  await b.exited;

  // A exported before printing and B before answering: both are stored by now.
  const spans = await vigil.spans.trace(traceId!);
  const byName = Object.fromEntries(spans.map((s) => [`${s.service} ${s.name}`, s]));
  expect(Object.keys(byName).sort()).toEqual([
    'checkout-service GET /quote',
    'checkout-service checkout',
    'quote-service GET /quote',
    'quote-service price lookup',
  ]);
  const root = byName['checkout-service checkout']!;
  const client = byName['checkout-service GET /quote']!;
  const server = byName['quote-service GET /quote']!;
  const lookup = byName['quote-service price lookup']!;
  expect(root.parentSpanId).toBe('');
  expect(client.spanId).toBe(clientSpanId);
  expect(client.parentSpanId).toBe(root.spanId);
  expect(server.parentSpanId).toBe(client.spanId);
  expect(lookup.parentSpanId).toBe(server.spanId);
  expect([client.kind, server.kind]).toEqual(['client', 'server']);
  expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
  expect(server.traceState).toBe('vigil=a1');
  for (const s of [client, server])
    expect(s.attributes).toMatchObject({ 'baggage.tenant.id': 'acme', 'baggage.user.tier': 'gold' });
});
