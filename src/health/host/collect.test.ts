import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { collectHost } from './collect.ts';
import type { HostSample } from './sample.ts';

const linux = process.platform === 'linux';

function one(
  samples: HostSample[],
  name: string,
  labels: Record<string, string> = {},
): HostSample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe.skipIf(!linux)('collectHost on this Linux machine', () => {
  it('reports every collector as successful with plausible values', async () => {
    const s = await collectHost();
    const failed = s.filter((x) => x.name === 'node_scrape_collector_success' && x.value !== 1);
    expect(failed.map((x) => x.labels['collector'])).toEqual([]);

    expect(s.filter((x) => x.name === 'node_cpu_seconds_total' && x.labels['mode'] === 'idle')).toHaveLength(
      os.cpus().length,
    );
    const memTotal = one(s, 'node_memory_MemTotal_bytes')!.value;
    // os.totalmem() reads the same /proc/meminfo line.
    expect(memTotal).toBe(os.totalmem());
    expect(one(s, 'node_memory_MemAvailable_bytes')!.value).toBeLessThanOrEqual(memTotal);
    expect(one(s, 'node_load1')!.value).toBeGreaterThanOrEqual(0);
    const boot = one(s, 'node_boot_time_seconds')!.value;
    expect(Math.abs(boot - (Date.now() / 1000 - os.uptime()))).toBeLessThan(5);
    expect(Math.abs(one(s, 'node_time_seconds')!.value - Date.now() / 1000)).toBeLessThan(60);
    expect(one(s, 'node_forks_total')!.value).toBeGreaterThan(0);
    expect(one(s, 'node_context_switches_total')!.value).toBeGreaterThan(0);
    expect(one(s, 'node_uname_info')!.labels).toMatchObject({
      sysname: 'Linux',
      release: os.release(),
      machine: os.machine(),
      nodename: os.hostname(),
    });
  });

  it('reports the root file system with the sizes statfs gives', async () => {
    const s = await collectHost();
    const root = one(s, 'node_filesystem_size_bytes', { mountpoint: '/' });
    expect(root).toBeDefined();
    expect(root!.labels['fstype']).not.toBe('');
    const free = one(s, 'node_filesystem_free_bytes', { mountpoint: '/' })!.value;
    const avail = one(s, 'node_filesystem_avail_bytes', { mountpoint: '/' })!.value;
    expect(avail).toBeLessThanOrEqual(free);
    expect(free).toBeLessThanOrEqual(root!.value);
    expect(one(s, 'node_filesystem_device_error', { mountpoint: '/' })!.value).toBe(0);
    for (const x of s.filter((x) => x.name.startsWith('node_filesystem_')))
      expect(x.labels['mountpoint']).not.toMatch(/^\/(proc|sys|dev)($|\/)/);
  });

  it('reads network and disk counters of devices present in /proc', async () => {
    const s = await collectHost();
    const netDevices = readFileSync('/proc/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((d) => d !== '' && d !== 'lo');
    for (const d of netDevices)
      expect(one(s, 'node_network_receive_bytes_total', { device: d })).toBeDefined();
    expect(one(s, 'node_network_receive_bytes_total', { device: 'lo' })).toBeUndefined();
    for (const x of s.filter((x) => x.name.startsWith('node_disk_')))
      expect(x.labels['device']).not.toMatch(/^loop/);
  });

  it('reports os-release when the file exists', async () => {
    const s = await collectHost();
    let id: string | undefined;
    try {
      id = /^ID=("?)(.*)\1$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[2];
    } catch {
      id = undefined;
    }
    if (id !== undefined) expect(one(s, 'node_os_info')!.labels['id']).toBe(id);
  });

  it('marks collectors that cannot read their files as failed without throwing', async () => {
    const s = await collectHost({ procfs: '/nonexistent-procfs' });
    const success = Object.fromEntries(
      s
        .filter((x) => x.name === 'node_scrape_collector_success')
        .map((x) => [x.labels['collector'], x.value]),
    );
    expect(success).toMatchObject({
      cpu: 0,
      stat: 0,
      loadavg: 0,
      meminfo: 0,
      diskstats: 0,
      netdev: 0,
      filesystem: 0,
    });
    expect(success['time']).toBe(1);
    expect(one(s, 'node_memory_MemTotal_bytes')).toBeUndefined();
  });

  it('emits no duplicate series', async () => {
    const s = await collectHost();
    const keys = s.map((x) => x.name + JSON.stringify(Object.entries(x.labels).sort()));
    expect(new Set(keys).size).toBe(keys.length);
  });
});
