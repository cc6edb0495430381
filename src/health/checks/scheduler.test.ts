import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStaleNaN } from '../../model/labels.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { healthChecksSchema } from './config.ts';
import { HISTORY_LENGTH, HealthChecker } from './scheduler.ts';

const eq = (name: string, value: string) => ({ name, type: '=' as const, value });

let server: Server;
let base: string;
let healthy = true;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.statusCode = healthy ? 200 : 500;
    res.end(healthy ? 'ok' : 'broken');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

async function series(storage: MemoryStorage, metric: string) {
  return storage.querier(0, Number.MAX_SAFE_INTEGER).select([eq('__name__', metric)]);
}

describe('HealthChecker', () => {
  it('writes blackbox metrics with job, instance, check and kind labels, and keeps status', async () => {
    const storage = new MemoryStorage();
    const checks = healthChecksSchema.parse([
      { name: 'api', kind: 'http', target: `${base}/healthz`, labels: { team: 'core' } },
      { name: 'custom-job', kind: 'tcp', target: base.slice('http://'.length), job: 'blackbox' },
    ]);
    const hc = new HealthChecker({ storage, checks });
    healthy = true;
    const s = await hc.runOnce('api');
    expect(s).toMatchObject({ name: 'api', kind: 'http', target: `${base}/healthz`, up: true, reason: '' });
    await hc.runOnce('custom-job');

    const success = await series(storage, 'probe_success');
    expect(success.map((x) => x.labels)).toEqual([
      {
        __name__: 'probe_success',
        job: 'health',
        instance: `${base}/healthz`,
        check: 'api',
        kind: 'http',
        team: 'core',
      },
      {
        __name__: 'probe_success',
        job: 'blackbox',
        instance: base.slice(7),
        check: 'custom-job',
        kind: 'tcp',
      },
    ]);
    expect(success.map((x) => x.v[0])).toEqual([1, 1]);
    const status = await series(storage, 'probe_http_status_code');
    expect(status[0]!.v[0]).toBe(200);
    expect((await series(storage, 'probe_duration_seconds')).length).toBe(2);
    expect((await storage.metadata()).get('probe_success')?.[0]?.type).toBe('gauge');

    healthy = false;
    const down = await hc.runOnce('api');
    expect(down).toMatchObject({ up: false, reason: 'status 500, expected 2xx' });
    expect(down.history.map((h) => h.up)).toEqual([true, false]);
    const after = await series(storage, 'probe_success');
    expect([...after[0]!.v]).toEqual([1, 0]);

    await hc.stop();
    const ended = await series(storage, 'probe_success');
    for (const x of ended) expect(isStaleNaN(x.v[x.v.length - 1]!)).toBe(true);
  });

  it('keeps at most HISTORY_LENGTH results', async () => {
    const hc = new HealthChecker({
      storage: new MemoryStorage(),
      checks: healthChecksSchema.parse([{ name: 'api', kind: 'http', target: `${base}/` }]),
    });
    healthy = true;
    for (let i = 0; i < HISTORY_LENGTH + 5; i++) await hc.runOnce('api');
    expect(hc.status()[0]!.history).toHaveLength(HISTORY_LENGTH);
    await hc.stop();
  });

  it('probes on its interval once started, failed targets included, until stopped', async () => {
    const storage = new MemoryStorage();
    const hc = new HealthChecker({
      storage,
      checks: healthChecksSchema.parse([
        { name: 'api', kind: 'http', target: `${base}/`, interval: '1s', timeout: '1s' },
        { name: 'closed', kind: 'tcp', target: '127.0.0.1:1', interval: '1s', timeout: '1s' },
      ]),
    });
    healthy = true;
    expect(hc.status().map((c) => c.up)).toEqual([undefined, undefined]);
    hc.start();
    // Wait for two rounds of both checks, however long a loaded machine takes (the test timeout is the backstop).
    while (hc.status().some((c) => c.history.length < 2)) await new Promise((r) => setTimeout(r, 100));
    await hc.stop();
    const [api, closed] = hc.status();
    expect(api).toMatchObject({ up: true, reason: '' });
    expect(closed!.up).toBe(false);
    expect(closed!.reason).toBe('connect ECONNREFUSED 127.0.0.1:1');
    const success = await series(storage, 'probe_success');
    const closedSeries = success.find((x) => x.labels.check === 'closed')!;
    expect(closedSeries.v[0]).toBe(0);
  });

  it('marks a gauge stale when a later result no longer carries it', async () => {
    const storage = new MemoryStorage();
    const checks = healthChecksSchema.parse([{ name: 'api', kind: 'http', target: `${base}/` }]);
    const hc = new HealthChecker({ storage, checks });
    await hc.runOnce('api');
    // Point the same check at a closed port: no status code this time.
    const moved = new HealthChecker({ storage, checks: [{ ...checks[0]!, target: 'http://127.0.0.1:1/' }] });
    await moved.runOnce('api');
    await hc.stop();
    await moved.stop();
    const codes = await series(storage, 'probe_http_status_code');
    expect(codes).toHaveLength(1);
    expect(codes[0]!.v[0]).toBe(200);
    expect(isStaleNaN(codes[0]!.v[codes[0]!.v.length - 1]!)).toBe(true);
  });
});
