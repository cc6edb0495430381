import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthChecksSchema } from '../health/checks/config.ts';
import { HealthChecker } from '../health/checks/scheduler.ts';
import { MemoryStorage } from '../store/memory.ts';
import { createServer } from './server.ts';
import { healthApi } from './health.ts';

let target: Server;
let port: number;
beforeAll(async () => {
  target = createHttpServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  port = (target.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => target.close(r)));

describe('GET /api/vigil/v1/health/checks', () => {
  it('lists checks before and after their first probe', async () => {
    const checker = new HealthChecker({
      storage: new MemoryStorage(),
      checks: healthChecksSchema.parse([
        { name: 'web', kind: 'http', target: `http://127.0.0.1:${port}/` },
        { name: 'db', kind: 'tcp', target: '127.0.0.1:1' },
      ]),
    });
    const app = createServer({ bodyLimit: 1024 * 1024 });
    await app.register(healthApi({ checks: () => checker.status() }));
    const before = await app.inject({ method: 'GET', url: '/api/vigil/v1/health/checks' });
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual({
      checks: [
        {
          name: 'web',
          kind: 'http',
          target: `http://127.0.0.1:${port}/`,
          up: null,
          lastRun: null,
          durationMs: null,
          reason: '',
          history: [],
        },
        {
          name: 'db',
          kind: 'tcp',
          target: '127.0.0.1:1',
          up: null,
          lastRun: null,
          durationMs: null,
          reason: '',
          history: [],
        },
      ],
    });
    await checker.runOnce('web');
    await checker.runOnce('db');
    const after = (await app.inject({ method: 'GET', url: '/api/vigil/v1/health/checks' })).json();
    expect(after.checks[0]).toMatchObject({
      up: true,
      reason: '',
      lastRun: expect.any(Number),
      durationMs: expect.any(Number),
    });
    expect(after.checks[0].history).toEqual([
      { t: after.checks[0].lastRun, up: true, durationMs: after.checks[0].durationMs },
    ]);
    expect(after.checks[1]).toMatchObject({ up: false, reason: 'connect ECONNREFUSED 127.0.0.1:1' });
    await checker.stop();
    await app.close();
  });
});
