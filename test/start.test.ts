/**
 * What a new user sees: `vigil start` on a fresh folder, and within 30 seconds PromQL already answers with
 * Vigil's own metrics (`up`) and the host's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, getJSON, queryURL, tempDir, waitFor } from './helpers.ts';

const cwd = tempDir('start');
let proc: ChildProcess | undefined;
afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
  }
  rmSync(cwd, { recursive: true, force: true });
});

describe('vigil start on a fresh machine', () => {
  it('collects its own and the host metrics within 30 seconds, data under ./data', async () => {
    const port = await freePort();
    const started = Date.now();
    proc = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '..', 'bin', 'vigil.js'),
        'start',
        '--port',
        String(port),
        '--otlp-http-port',
        '0',
        '--otlp-grpc-port',
        '0',
      ],
      { cwd, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    const up = await waitFor(
      'up{job="vigil"} == 1',
      async () => {
        const { body } = await getJSON(queryURL(base, '/api/v1/query', { query: 'up{job="vigil"}' }));
        return body.data?.result?.[0];
      },
      30_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${log}`);
    });
    expect(up.value[1]).toBe('1');
    const host = await waitFor('node_load1', async () => {
      const { body } = await getJSON(
        queryURL(base, '/api/v1/query', { query: 'node_memory_MemTotal_bytes' }),
      );
      return body.data?.result?.[0];
    });
    expect(Number(host.value[1])).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    // The default data folder is ./data in the working directory.
    const { body } = await getJSON(queryURL(base, '/api/v1/status/buildinfo', {}));
    expect(body.data.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(log).toContain(join(cwd, 'data'));
    // Graceful stop on SIGTERM.
    proc.kill('SIGTERM');
    const code = await new Promise((r) => proc!.once('exit', r));
    expect(code).toBe(0);
  }, 60_000);
});
