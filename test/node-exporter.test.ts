/** Vigil scrapes Debian's prometheus-node-exporter with a Prometheus-format scrape_configs section. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  getJSON,
  queryURL,
  startPeer,
  startTestVigil,
  waitFor,
  type Peer,
  type TestVigil,
} from './helpers.ts';

let exporter: Peer;
let vigil: TestVigil;

beforeAll(async () => {
  const port = await freePort();
  exporter = await startPeer(
    'prometheus-node-exporter',
    [`--web.listen-address=127.0.0.1:${port}`, '--no-collector.systemd'],
    `http://127.0.0.1:${port}`,
    '/metrics',
  );
  vigil = await startTestVigil(`
scrape_configs:
  - job_name: node-exporter
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:${port}']
        labels:
          team: ops
`);
}, 60_000);

afterAll(async () => {
  await vigil?.stop();
  await exporter?.stop();
});

describe('scraping prometheus-node-exporter', () => {
  it('stores up, scrape metadata series and the exporter metrics with target labels', async () => {
    const up = await waitFor('up from node exporter', async () => {
      const { body } = await getJSON(
        queryURL(vigil.url, '/api/v1/query', { query: 'up{job="node-exporter"}' }),
      );
      return body.data?.result?.[0];
    });
    expect(up.metric).toMatchObject({
      job: 'node-exporter',
      team: 'ops',
      instance: expect.stringMatching(/^127\.0\.0\.1:/),
    });
    expect(up.value[1]).toBe('1');
    const cpu = await waitFor('cpu rate', async () => {
      const { body } = await getJSON(
        queryURL(vigil.url, '/api/v1/query', {
          query: 'sum by (mode) (rate(node_cpu_seconds_total{job="node-exporter"}[5s]))',
        }),
      );
      return body.data?.result?.length ? body.data.result : undefined;
    });
    expect(cpu.map((s: any) => s.metric.mode)).toContain('idle');
    for (const q of [
      'scrape_duration_seconds',
      'scrape_samples_scraped',
      'node_memory_MemTotal_bytes',
      'node_filesystem_avail_bytes',
    ]) {
      const { body } = await getJSON(
        queryURL(vigil.url, '/api/v1/query', { query: `${q}{job="node-exporter"}` }),
      );
      expect(body.data.result.length, q).toBeGreaterThan(0);
    }
    const { body: md } = await getJSON(
      queryURL(vigil.url, '/api/v1/metadata', { metric: 'node_cpu_seconds_total' }),
    );
    expect(md.data.node_cpu_seconds_total[0].type).toBe('counter');
    const { body: targets } = await getJSON(queryURL(vigil.url, '/api/v1/targets', {}));
    expect(targets.data.activeTargets[0]).toMatchObject({ scrapePool: 'node-exporter', health: 'up' });
  }, 60_000);
});
