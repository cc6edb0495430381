/**
 * Vigil's own JSON API on a running Vigil (chDB storage, SQLite state, self-monitoring on): the overview
 * finds Vigil itself and its host, dashboards provisioned from a folder sit beside ones made over the API, and
 * a live stream delivers points as the self-scrape commits them.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overview } from '../src/api/overview.ts';
import { startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

let vigil: TestVigil;
const dashDir = tempDir('dashboards');

beforeAll(async () => {
  mkdirSync(join(dashDir, 'ops'));
  writeFileSync(
    join(dashDir, 'ops', 'vigil.yaml'),
    [
      'schemaVersion: 1',
      'title: Vigil itself',
      'tags: [ops]',
      'panels:',
      '  - id: up',
      '    title: Up',
      '    kind: stat',
      `    queries: [{ expr: 'up{job="vigil"}' }]`,
      '    grid: { x: 0, y: 0, w: 6, h: 4 }',
    ].join('\n'),
  );
  writeFileSync(join(dashDir, 'broken.json'), '{"schemaVersion": 1, "title": ""}');
  vigil = await startTestVigil(
    `self_monitoring:\n  scrape_interval: 1s\n  host_interval: 1s\ndashboards:\n  dir: ${JSON.stringify(dashDir)}\n`,
    { selfMonitoring: true },
  );
});
afterAll(async () => {
  await vigil?.stop();
  rmSync(dashDir, { recursive: true, force: true });
});

describe('Vigil JSON API end to end', () => {
  it('shows Vigil and its host in the overview, up, with figures', async () => {
    const o = await waitFor('vigil and host components with figures', async () => {
      const res = await fetch(`${vigil.url}/api/vigil/v1/overview?range=5m`);
      const body = (await res.json()) as Overview;
      const self = body.components.find((c) => c.kind === 'vigil');
      const host = body.components.find((c) => c.kind === 'host');
      const ready =
        self?.status === 'up' &&
        host?.status === 'up' &&
        ['memory', 'cpu'].every((k) => self.figures.some((f) => f.key === k && f.value !== null)) &&
        host.figures.some((f) => f.key === 'cpu' && f.value !== null);
      return ready && body;
    });
    const self = o.components.find((c) => c.kind === 'vigil')!;
    expect(self.job).toBe('vigil');
    expect(self.instance).toBe(`127.0.0.1:${vigil.port}`);
    expect(self.figures.map((f) => f.key)).toEqual(expect.arrayContaining(['samples', 'cpu', 'memory']));
    const mem = self.figures.find((f) => f.key === 'memory')!;
    expect(mem.unit).toBe('bytes');
    expect(mem.value).toBeGreaterThan(1e6);
    expect(mem.spark).toHaveLength(o.spark.points);

    // The figure's query gives the same numbers through the Prometheus API.
    const q = new URL('/api/v1/query', vigil.url);
    q.searchParams.set('query', mem.query);
    const r = (await (await fetch(q)).json()) as { data: { result: unknown[] } };
    expect(r.data.result).toHaveLength(1);
  });

  it('serves provisioned dashboards read-only beside ones made over the API', async () => {
    const list = (await (await fetch(`${vigil.url}/api/vigil/v1/dashboards`)).json()) as { uid: string }[];
    expect(list).toEqual([
      expect.objectContaining({
        uid: 'vigil',
        title: 'Vigil itself',
        provisioned: true,
        createdBy: 'file:ops/vigil.yaml',
      }),
    ]);
    const prov = await fetch(`${vigil.url}/api/vigil/v1/dashboards/vigil`);
    const body = (await prov.json()) as { dashboard: Record<string, unknown>; version: number };
    expect(body.dashboard).toMatchObject({
      uid: 'vigil',
      tags: ['ops'],
      panels: [expect.objectContaining({ id: 'up' })],
    });
    const put = await fetch(`${vigil.url}/api/vigil/v1/dashboards/vigil`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dashboard: body.dashboard, version: body.version }),
    });
    expect(put.status).toBe(403);

    const created = await fetch(`${vigil.url}/api/vigil/v1/dashboards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body.dashboard, uid: undefined, title: 'My copy' }),
    });
    expect(created.status).toBe(201);
    const copy = (await created.json()) as { dashboard: { uid: string }; provisioned: boolean };
    expect(copy.provisioned).toBe(false);
    const del = await fetch(`${vigil.url}/api/vigil/v1/dashboards/${copy.dashboard.uid}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(204);
  });

  it('streams live points as the self-scrape commits samples', async () => {
    const ctl = new AbortController();
    const res = await fetch(
      `${vigil.url}/api/vigil/v1/live?query=${encodeURIComponent('up{job="vigil"}')}&step=1`,
      {
        signal: ctl.signal,
      },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 20_000;
    while (!/event: points\ndata: (.*)\n/.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    ctl.abort();
    const data = JSON.parse(/event: points\ndata: (.*)\n/.exec(text)![1]!) as {
      t: number[];
      series: { metric: Record<string, string>; values: [number, string][] }[];
    };
    expect(data.t.length).toBeGreaterThan(0);
    expect(data.series[0]!.metric).toMatchObject({ __name__: 'up', job: 'vigil' });
    expect(data.series[0]!.values.at(-1)![1]).toBe('1');
  });
});
