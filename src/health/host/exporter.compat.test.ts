/**
 * Compares our names, labels and types with the real prometheus-node-exporter on this machine: every series
 * we emit must exist there with the same label names and type, and stable values must agree. Skipped, with
 * the reason printed, when the exporter binary is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectHost } from './collect.ts';
import type { HostSample } from './sample.ts';

const BINARY = 'prometheus-node-exporter';
const installed = process.platform === 'linux' && spawnSync(BINARY, ['--version']).status === 0;
if (!installed)
  console.warn(`node_exporter comparison skipped: ${BINARY} is not installed (apt-get install ${BINARY})`);

interface Family {
  type: string;
  series: { labels: Record<string, string>; value: number }[];
}

/** Just enough of the text exposition format for the exporter's output. */
function parseExposition(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const family = (name: string) => {
    let f = out.get(name);
    if (!f) out.set(name, (f = { type: 'untyped', series: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) family(type[1]!).type = type[2]!;
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    family(m[1]!).series.push({ labels, value: Number(m[3]) });
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

describe.skipIf(!installed)('compatibility with prometheus-node-exporter', () => {
  let child: ChildProcess | undefined;
  let theirs: Map<string, Family>;
  let ours: HostSample[];

  beforeAll(async () => {
    const port = await freePort();
    child = spawn(BINARY, [`--web.listen-address=127.0.0.1:${port}`, '--no-collector.systemd'], {
      stdio: 'ignore',
    });
    let text: string | undefined;
    for (let attempt = 0; attempt < 100 && text === undefined; attempt++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        if (res.ok) text = await res.text();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (text === undefined) throw new Error(`${BINARY} did not answer on port ${port}`);
    [theirs, ours] = [parseExposition(text), await collectHost()];
  });

  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('emits only families the exporter has, with the same type and label names', () => {
    const problems: string[] = [];
    for (const s of ours) {
      const f = theirs.get(s.name);
      if (!f) {
        problems.push(`${s.name}: not exposed by node_exporter`);
        continue;
      }
      if (f.type !== s.type) problems.push(`${s.name}: type ${s.type}, node_exporter says ${f.type}`);
      const names = Object.keys(s.labels).sort().join(',');
      if (!f.series.some((x) => Object.keys(x.labels).sort().join(',') === names))
        problems.push(`${s.name}: labels {${names}} differ from node_exporter's`);
    }
    expect(problems).toEqual([]);
  });

  it('sees the same devices, mount points and CPUs', () => {
    const key = (name: string, label: string, list: { name: string; labels: Record<string, string> }[]) =>
      [...new Set(list.filter((x) => x.name === name).map((x) => x.labels[label]))].sort();
    const theirList = [...theirs].flatMap(([name, f]) => f.series.map((s) => ({ name, labels: s.labels })));
    for (const [name, label] of [
      ['node_cpu_seconds_total', 'cpu'],
      ['node_disk_reads_completed_total', 'device'],
      ['node_network_receive_bytes_total', 'device'],
      ['node_filesystem_size_bytes', 'mountpoint'],
    ] as const)
      expect(key(name, label, ours), name).toEqual(key(name, label, theirList));
  });

  it('agrees on values that do not change between two reads', () => {
    const theirValue = (name: string, labels: Record<string, string> = {}) =>
      theirs.get(name)?.series.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    const ourSample = (name: string, labels: Record<string, string> = {}) =>
      ours.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    for (const name of [
      'node_memory_MemTotal_bytes',
      'node_memory_SwapTotal_bytes',
      'node_boot_time_seconds',
    ])
      expect(ourSample(name)?.value, name).toBe(theirValue(name));
    expect(ourSample('node_filesystem_size_bytes', { mountpoint: '/' })?.value).toBe(
      theirValue('node_filesystem_size_bytes', { mountpoint: '/' }),
    );
    expect(ourSample('node_uname_info')?.labels).toEqual(theirs.get('node_uname_info')?.series[0]?.labels);
    expect(ourSample('node_os_info')?.labels).toEqual(theirs.get('node_os_info')?.series[0]?.labels);
  });
});
