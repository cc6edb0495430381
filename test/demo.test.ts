/**
 * `vigil demo` end to end: the launcher, Vigil, every pipeline service and the load generator as real
 * processes. Traces must cross every service and channel; injected faults (channel down, silent loss,
 * stage latency) must raise alerts naming the channel or stage; stopping the demo must leave no process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './helpers.ts';

let demo: ChildProcess;
let url = '';
let control = '';
let stdout = '';
let stderr = '';
const dataDir = tempDir('demo');

function childPids(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  demo = spawn(
    process.execPath,
    ['bin/vigil.js', 'demo', '--port', '0', '--control-port', '0', '--rate', '5', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  demo.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  await waitFor(
    'the demo to print its URL',
    async () => {
      if (demo.exitCode !== null) throw new Error(`demo exited ${demo.exitCode}: ${stderr}`);
      const u = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout);
      const c = /--control (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (!u || !c) return false;
      url = u[1]!;
      control = c[1]!;
      return true;
    },
    150_000,
  );
}, 180_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface JaegerTrace {
  traceID: string;
  spans: { processID: string; operationName: string }[];
  processes: Record<string, { serviceName: string }>;
}

const ALL_SERVICES = [
  'loadgen',
  'ingest',
  'validation',
  'broker',
  'enrichment',
  'router',
  'worker-email',
  'worker-sms',
  'worker-push',
  'worker-webhook',
  'gateway',
];

async function alerts(): Promise<{ labels: Record<string, string>; status: { state: string } }[]> {
  const res = await fetch(`${url}/api/v2/alerts?active=true`);
  return (await res.json()) as never;
}

describe('vigil demo', () => {
  it('refuses a port that is in use, naming it', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const r = spawnSync(
      process.execPath,
      ['bin/vigil.js', 'demo', '--port', String(port), '--data-dir', dataDir],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    srv.close();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`port ${port}`);
    expect(r.stderr).toContain('already in use');
  }, 70_000);

  it('produces traces that cross every service and channel', async () => {
    const trace = await waitFor(
      'a trace through every service',
      async () => {
        const res = await fetch(`${url}/api/traces?service=loadgen&limit=100&lookback=10m`);
        const { data } = (await res.json()) as { data: JaegerTrace[] };
        return data.find((t) => {
          const services = new Set(t.spans.map((s) => t.processes[s.processID]!.serviceName));
          return ALL_SERVICES.every((s) => services.has(s));
        });
      },
      90_000,
    );
    const ops = trace.spans.map((s) => s.operationName);
    // The components behind the Overview: every declared service answers its checks and scrapes.
    await waitFor(
      'every pipeline component to be healthy',
      async () => {
        const res = await fetch(`${url}/api/vigil/v1/components`);
        const { components } = (await res.json()) as { components: { name: string; status: string }[] };
        const bad = [
          'broker',
          'ingest',
          'validation',
          'enrichment',
          'router',
          'worker-sms',
          'gateway',
        ].filter((c) => components.find((x) => x.name === c)?.status !== 'healthy');
        if (bad.length) throw new Error(`not healthy: ${bad.join(', ')}`);
        return true;
      },
      60_000,
    );
    for (const c of ['email', 'sms', 'push', 'webhook']) {
      expect(ops).toContain(`publish channel.${c}`);
      expect(ops).toContain(`process channel.${c}`);
    }
  }, 100_000);

  it('rejects unknown faults and parameters, listing the valid ones', async () => {
    const unknown = await fetch(`${control}/faults/meteor`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    const u = (await unknown.json()) as { error: string };
    expect(u.error).toContain('unknown fault "meteor"');
    expect(u.error).toContain('channel-down');
    const badParam = await fetch(`${control}/faults/latency`, {
      method: 'POST',
      body: JSON.stringify({ stage: 'enrichment', seconds: 3 }),
    });
    expect(badParam.status).toBe(400);
    expect(((await badParam.json()) as { error: string }).error).toContain('no parameter "seconds"');
    const badValue = await fetch(`${control}/faults/channel-down?channel=fax`, { method: 'POST' });
    expect(badValue.status).toBe(400);
    expect(((await badValue.json()) as { error: string }).error).toContain('email, sms, push, webhook');
  });

  it('raises alerts naming the channel or stage of injected faults', async () => {
    // One fault through the CLI, the others through the HTTP API.
    const cli = spawnSync(
      process.execPath,
      ['bin/vigil.js', 'demo', 'fault', 'on', 'channel-down', '--channel', 'sms', '--control', control],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('channel-down {"channel":"sms"}');
    for (const [name, body] of [
      ['loss', { from: 'validation', to: 'enrichment', rate: 0.5 }],
      ['latency', { stage: 'enrichment', ms: 600 }],
    ] as const) {
      const res = await fetch(`${control}/faults/${name}`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const listed = (await (await fetch(`${control}/faults`)).json()) as { faults: { name: string }[] };
    expect(listed.faults.map((f) => f.name).sort()).toEqual(['channel-down', 'latency', 'loss']);

    const wanted: [string, Record<string, string>][] = [
      ['ChannelDown', { channel: 'sms' }],
      ['FlowConservation', { stage: 'enrichment', check: 'handoff' }],
      ['StageLatencyHigh', { stage: 'enrichment' }],
    ];
    await waitFor(
      'alerts for every injected fault',
      async () => {
        const active = await alerts();
        const missing = wanted.filter(
          ([name, labels]) =>
            !active.some(
              (a) =>
                a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
            ),
        );
        if (missing.length) throw new Error(`still missing: ${JSON.stringify(missing)}`);
        return true;
      },
      150_000,
    );
    // No other channel is reported down. (Latency is not checked this way: on a loaded machine other
    // stages can be slow for real.)
    const down = (await alerts()).filter((a) => a.labels.alertname === 'ChannelDown');
    expect(down.map((a) => a.labels.channel)).toEqual(['sms']);

    // The critical ChannelDown opened an incident, and its page reached the on-call person's pager.
    await waitFor(
      'an incident and its page',
      async () => {
        const inc = (await (await fetch(`${url}/api/vigil/v1/incidents`)).json()) as {
          incidents: { id: string }[];
        };
        const got = (await (await fetch(`${control}/pages`)).json()) as {
          pages: { user: string; incident: string; ackUrl: string }[];
        };
        const page = got.pages.find((p) => inc.incidents.some((i) => i.id === p.incident));
        if (!page) return false;
        expect(['ana', 'bo']).toContain(page.user);
        expect(page.ackUrl).toContain(`/api/vigil/v1/incidents/${page.incident}/ack`);
        return true;
      },
      120_000,
    );

    const off = await fetch(`${control}/faults/channel-down`, { method: 'DELETE' });
    expect(off.status).toBe(200);
    expect(((await off.json()) as { faults: unknown[] }).faults).toHaveLength(2);
  }, 200_000);

  it('raises alerts for a queue backlog, a channel error rate, a slow gateway, a memory leak and CPU saturation', async () => {
    for (const [name, body] of [
      ['queue-backlog', { queue: 'channel.email' }],
      ['error-rate', { channel: 'push', rate: 0.6 }],
      ['slow-dependency', { ms: 700 }],
      ['memory-leak', { service: 'gateway', mb: 8 }],
      ['cpu', { service: 'validation', share: 0.9 }],
    ] as const) {
      const res = await fetch(`${control}/faults/${name}`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const wanted: [string, Record<string, string>][] = [
      ['QueueBacklog', { queue: 'channel.email' }],
      ['ChannelErrorRate', { channel: 'push' }],
      ['DeliveryGatewaySlow', { service: 'gateway' }],
      ['ServiceMemoryGrowing', { service: 'gateway' }],
      ['ServiceCpuSaturated', { service: 'validation' }],
    ];
    await waitFor(
      'alerts for the second set of faults',
      async () => {
        const active = await alerts();
        const missing = wanted.filter(
          ([name, labels]) =>
            !active.some(
              (a) =>
                a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
            ),
        );
        if (missing.length) throw new Error(`still missing: ${JSON.stringify(missing)}`);
        return true;
      },
      150_000,
    );
  }, 200_000);

  it('stops every process it started on SIGTERM', async () => {
    const pids = childPids(demo.pid!);
    expect(pids.length).toBeGreaterThanOrEqual(12);
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor('every child to exit', async () => pids.every((p) => !alive(p)), 30_000);
  }, 60_000);
});
