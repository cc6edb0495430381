/**
 * Alertmanager's own command-line client against a running Vigil: `amtool alert add/query`,
 * `amtool silence add/query/expire`, `amtool config routes`. Skipped when amtool is not installed
 * (Debian package prometheus-alertmanager).
 */
import { execFile, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);
const hasAmtool = spawnSync('amtool', ['--version']).status === 0;
if (!hasAmtool)
  console.warn('amtool tests skipped: amtool is not installed (apt-get install prometheus-alertmanager)');

const dir = tempDir('amtool');
let vigil: RunningVigil;

async function amtool(...args: string[]): Promise<string> {
  const { stdout } = await run('amtool', [`--alertmanager.url=http://127.0.0.1:${vigil.port}`, ...args]);
  return stdout;
}

beforeAll(async () => {
  if (!hasAmtool) return;
  writeFileSync(
    join(dir, 'am.yml'),
    [
      'route:',
      '  receiver: default',
      '  group_by: [alertname]',
      '  routes:',
      '    - matchers: [severity="critical"]',
      '      receiver: pager',
      'receivers:',
      '  - name: default',
      '  - name: pager',
      '',
    ].join('\n'),
  );
  const cfg = loadConfigText(
    'self_monitoring: {enabled: false}\nalerting: {config_file: am.yml}\n',
    join(dir, 'vigil.yml'),
    {
      dataDir: join(dir, 'data'),
      port: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      listenAddress: '127.0.0.1',
    },
  );
  vigil = await startVigil(cfg);
});
afterAll(async () => {
  await vigil?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  receivers: { name: string }[];
  status: { state: string; silencedBy: string[] };
}

describe.skipIf(!hasAmtool)('amtool against Vigil', () => {
  it('adds and queries alerts', async () => {
    await amtool(
      'alert',
      'add',
      'alertname=DiskFull',
      'severity=critical',
      'instance=db1',
      '--annotation=summary=disk is full',
    );
    await amtool('alert', 'add', 'alertname=HighLoad', 'severity=warning');
    const all = JSON.parse(await amtool('alert', 'query', '-o', 'json')) as AmAlert[];
    expect(all.map((a) => a.labels.alertname).sort()).toEqual(['DiskFull', 'HighLoad']);
    const disk = all.find((a) => a.labels.alertname === 'DiskFull')!;
    expect(disk.annotations).toEqual({ summary: 'disk is full' });
    expect(disk.receivers).toEqual([{ name: 'pager' }]);
    const filtered = JSON.parse(
      await amtool('alert', 'query', '-o', 'json', 'severity=~"crit.*"'),
    ) as AmAlert[];
    expect(filtered.map((a) => a.labels.alertname)).toEqual(['DiskFull']);
    const table = await amtool('alert', 'query');
    expect(table).toMatch(/Alertname\s+Starts At\s+Summary/);
    expect(table).toContain('disk is full');
  });

  it('adds, queries and expires silences', async () => {
    const id = (
      await amtool('silence', 'add', 'alertname=HighLoad', '-c', 'known issue', '-a', 'ops', '-d', '1h')
    ).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const listed = JSON.parse(await amtool('silence', 'query', '-o', 'json')) as {
      id: string;
      createdBy: string;
      comment: string;
    }[];
    expect(listed).toEqual([expect.objectContaining({ id, createdBy: 'ops', comment: 'known issue' })]);
    expect((await amtool('silence', 'query', '-q')).trim()).toBe(id);
    // The silenced alert disappears from the default query (which hides silenced alerts) ...
    const visible = JSON.parse(await amtool('alert', 'query', '-o', 'json')) as AmAlert[];
    expect(visible.map((a) => a.labels.alertname)).toEqual(['DiskFull']);
    // ... and shows up as suppressed with --silenced.
    const silenced = JSON.parse(
      await amtool('alert', 'query', '-s', '-o', 'json', 'alertname=HighLoad'),
    ) as AmAlert[];
    expect(silenced[0]!.status).toMatchObject({ state: 'suppressed', silencedBy: [id] });

    await amtool('silence', 'expire', id);
    expect((await amtool('silence', 'query', '-q')).trim()).toBe('');
    expect((await amtool('silence', 'query', '--expired', '-q')).trim()).toBe(id);
    const back = JSON.parse(await amtool('alert', 'query', '-o', 'json')) as AmAlert[];
    expect(back.map((a) => a.labels.alertname).sort()).toEqual(['DiskFull', 'HighLoad']);
  });

  it('reports errors from Vigil', async () => {
    await expect(amtool('silence', 'expire', '00000000-0000-4000-8000-000000000000')).rejects.toThrow(
      /silence not found|404/,
    );
  });

  it('reads the routing tree from /api/v2/status', async () => {
    const out = await amtool('config', 'routes', 'test', 'severity=critical');
    expect(out.trim()).toBe('pager');
  });
});
