import { describe, expect, it } from 'vitest';
import { isStaleNaN } from '../../model/labels.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { HostCollector } from './collector.ts';
import type { HostSample } from './sample.ts';

const eq = (name: string, value: string) => ({ name, type: '=' as const, value });

async function values(storage: MemoryStorage, metric: string, extra: ReturnType<typeof eq>[] = []) {
  return storage.querier(0, Number.MAX_SAFE_INTEGER).select([eq('__name__', metric), ...extra]);
}

describe.skipIf(process.platform !== 'linux')('HostCollector with the real host', () => {
  it('writes real host values with job and instance labels, and metadata', async () => {
    const storage = new MemoryStorage();
    const collector = new HostCollector({ storage, intervalMs: 1000, instance: 'vigil-test:9090' });
    const before = Date.now();
    collector.start();
    await collector.stop();

    expect(collector.health()).toMatchObject({ failures: 0, lastError: undefined });
    const mem = await values(storage, 'node_memory_MemTotal_bytes');
    expect(mem).toHaveLength(1);
    expect(mem[0]!.labels).toEqual({
      __name__: 'node_memory_MemTotal_bytes',
      job: 'node',
      instance: 'vigil-test:9090',
    });
    expect(mem[0]!.v[0]).toBeGreaterThan(0);
    expect(mem[0]!.t[0]).toBeGreaterThanOrEqual(before);

    const cpu = await values(storage, 'node_cpu_seconds_total', [eq('mode', 'idle')]);
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu[0]!.labels).toMatchObject({
      job: 'node',
      instance: 'vigil-test:9090',
      cpu: expect.any(String),
    });

    const names = storage.metricNames();
    for (const n of [
      'node_load1',
      'node_load5',
      'node_load15',
      'node_memory_MemAvailable_bytes',
      'node_filesystem_avail_bytes',
      'node_boot_time_seconds',
      'node_time_seconds',
      'node_context_switches_total',
      'node_uname_info',
    ])
      expect(names).toContain(n);

    const meta = await storage.metadata();
    expect(meta.get('node_cpu_seconds_total')).toEqual([
      { type: 'counter', help: 'Seconds the CPUs spent in each mode.', unit: '' },
    ]);
    expect(meta.get('node_load1')?.[0]?.type).toBe('gauge');
  });

  it('keeps collecting on its interval until stopped, with a custom job', async () => {
    const storage = new MemoryStorage();
    const collector = new HostCollector({ storage, intervalMs: 1000, instance: 'h', job: 'host' });
    collector.start();
    // Wait for three rounds, however long a loaded machine takes (the test timeout is the backstop).
    for (;;) {
      const load = await values(storage, 'node_load1', [eq('job', 'host')]);
      if ((load[0]?.t.length ?? 0) >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await collector.stop();
    const load = await values(storage, 'node_load1', [eq('job', 'host')]);
    const v = load[0]!.v;
    expect(v.length).toBeGreaterThanOrEqual(4);
    expect(v.slice(0, -1).every((x) => x >= 0)).toBe(true);
    // stop() ends the series with a stale marker.
    expect(isStaleNaN(v[v.length - 1]!)).toBe(true);
  });
});

describe('HostCollector behaviour', () => {
  const sample = (device: string, value: number): HostSample => ({
    name: 'node_network_receive_bytes_total',
    labels: { device },
    value,
    type: 'counter',
    help: 'Network device statistic receive_bytes.',
  });

  it('writes a stale marker for a series that disappeared', async () => {
    const storage = new MemoryStorage();
    const rounds = [[sample('eth0', 1), sample('eth1', 5)], [sample('eth0', 2)]];
    let i = 0;
    const collector = new HostCollector({
      storage,
      intervalMs: 60_000,
      instance: 'h',
      collect: () => Promise.resolve(rounds[i++] ?? []),
    });
    await collector.collectOnce(1000);
    await collector.collectOnce(2000);
    const eth1 = await values(storage, 'node_network_receive_bytes_total', [eq('device', 'eth1')]);
    expect([...eth1[0]!.t]).toEqual([1000, 2000]);
    expect(eth1[0]!.v[0]).toBe(5);
    expect(isStaleNaN(eth1[0]!.v[1]!)).toBe(true);
    const eth0 = await values(storage, 'node_network_receive_bytes_total', [eq('device', 'eth0')]);
    expect([...eth0[0]!.v]).toEqual([1, 2]);
  });

  it('records a failing collection in health and carries on', async () => {
    const storage = new MemoryStorage();
    const errors: unknown[] = [];
    let fail = true;
    const collector = new HostCollector({
      storage,
      intervalMs: 60_000,
      instance: 'h',
      collect: () =>
        fail ? Promise.reject(new Error('proc unreadable')) : Promise.resolve([sample('eth0', 1)]),
      onError: (e) => errors.push(e),
    });
    await collector.collectOnce(1000);
    await collector.collectOnce(2000);
    expect(collector.health()).toEqual({
      lastSuccessMs: undefined,
      lastError: 'proc unreadable',
      failures: 2,
    });
    expect(errors).toHaveLength(2);
    fail = false;
    await collector.collectOnce(3000);
    expect(collector.health()).toEqual({ lastSuccessMs: 3000, lastError: undefined, failures: 0 });
  });

  it('keeps the first of duplicate series in one round', async () => {
    const storage = new MemoryStorage();
    const collector = new HostCollector({
      storage,
      intervalMs: 60_000,
      instance: 'h',
      collect: () => Promise.resolve([sample('eth0', 1), sample('eth0', 9)]),
    });
    await collector.collectOnce(1000);
    const eth0 = await values(storage, 'node_network_receive_bytes_total');
    expect([...eth0[0]!.v]).toEqual([1]);
  });

  it.each([
    [{ intervalMs: 10, instance: 'h' }, /at least 1000 ms/],
    [{ intervalMs: 1000, instance: '' }, /instance/],
  ])('rejects a bad configuration %j', (cfg, msg) => {
    expect(() => new HostCollector({ storage: new MemoryStorage(), ...cfg })).toThrow(msg);
  });
});
