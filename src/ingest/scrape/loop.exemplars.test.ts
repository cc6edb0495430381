import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExemplarRecord } from '../../store/exemplars.ts';
import { MemoryExemplarStore } from '../../store/exemplars.memory.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { globalConfigSchema, scrapeConfigSchema } from './config.ts';
import { ScrapeManager } from './manager.ts';

const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_B = '0af7651916cd43dd8448eb211c80319c';

/** Records every append (so repeats are visible) and can be made to fail. */
class RecordingStore extends MemoryExemplarStore {
  readonly appended: ExemplarRecord[] = [];
  failing = false;
  override async append(records: readonly ExemplarRecord[]): Promise<void> {
    if (this.failing) throw new Error('disk full');
    this.appended.push(...records);
    await super.append(records);
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP target serving `page()` as OpenMetrics (or as `contentType`); counts requests. */
async function target(page: () => string, contentType = 'application/openmetrics-text; version=1.0.0') {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'Content-Type': contentType });
    res.end(page());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

function start(host: string, exemplars: RecordingStore, logs: string[], extra: Record<string, unknown> = {}) {
  const storage = new MemoryStorage();
  const m = new ScrapeManager({ storage, exemplars, now: () => NOW, log: (msg) => logs.push(msg) });
  cleanups.push(() => m.stop());
  m.applyConfig(globalConfigSchema.parse({ scrape_interval: '50ms', scrape_timeout: '50ms' }), [
    scrapeConfigSchema.parse({ job_name: 'shop', static_configs: [{ targets: [host] }], ...extra }),
  ]);
  return { storage, manager: m };
}

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const PAGE = [
  '# TYPE orders counter',
  `orders_total{shop="eu"} 12 # {trace_id="${TRACE_A}"} 1 ${(NOW - 30_000) / 1000}`,
  '# TYPE latency_seconds histogram',
  `latency_seconds_bucket{le="0.5"} 3 # {trace_id="${TRACE_B}",span_id="00f067aa0ba902b7"} 0.2`,
  'latency_seconds_bucket{le="+Inf"} 4',
  'latency_seconds_count 4',
  'latency_seconds_sum 1.5',
  '# TYPE temp gauge',
  `temp 3 # {trace_id="${TRACE_A}"} 1`,
  '# EOF',
  '',
].join('\n');

describe('scrape loop exemplars', () => {
  it('stores OpenMetrics exemplars on the final series labels, with their own time or the scrape time, once', async () => {
    const srv = await target(() => PAGE);
    const store = new RecordingStore();
    const logs: string[] = [];
    start(srv.host, store, logs, {
      metric_relabel_configs: [{ target_label: 'region', replacement: 'west' }],
    });
    // Several scrapes of the same page: each exemplar is stored once.
    await until('three scrapes', () => srv.hits() >= 3 && store.appended.length >= 2);
    const hitsNow = srv.hits();
    await until('two more scrapes', () => srv.hits() >= hitsNow + 2);
    const byName = Object.fromEntries(store.appended.map((r) => [r.seriesLabels.__name__, r]));
    expect(store.appended).toHaveLength(2);
    expect(byName.orders_total).toEqual({
      seriesLabels: {
        __name__: 'orders_total',
        shop: 'eu',
        region: 'west',
        job: 'shop',
        instance: srv.host,
      },
      labels: { trace_id: TRACE_A },
      value: 1,
      t: NOW - 30_000,
    });
    expect(byName.latency_seconds_bucket).toMatchObject({
      seriesLabels: { __name__: 'latency_seconds_bucket', le: '0.5', region: 'west', job: 'shop' },
      labels: { trace_id: TRACE_B, span_id: '00f067aa0ba902b7' },
      value: 0.2,
      t: NOW,
    });
    expect(logs).toEqual([]);
  });

  it('stores a new exemplar when the page shows another one for the series', async () => {
    let trace = TRACE_A;
    const srv = await target(() => `c_total 1 # {trace_id="${trace}"} 1\n# EOF\n`);
    const store = new RecordingStore();
    start(srv.host, store, []);
    await until('the first exemplar', () => store.appended.length === 1);
    trace = TRACE_B;
    await until('the second exemplar', () => store.appended.length === 2);
    expect(store.appended.map((r) => r.labels.trace_id)).toEqual([TRACE_A, TRACE_B]);
  });

  it('a failing exemplar store is logged, keeps the target up, and the exemplar is written by a later scrape', async () => {
    const srv = await target(() => `c_total 1 # {trace_id="${TRACE_A}"} 1\n# EOF\n`);
    const store = new RecordingStore();
    store.failing = true;
    const logs: string[] = [];
    const { storage, manager } = start(srv.host, store, logs);
    await until('a logged failure', () => logs.find((l) => /exemplar\(s\) not stored: disk full/.test(l)));
    expect(manager.targets()[0]!.health).toBe('up');
    expect(
      (await storage.querier(0, Infinity).select([{ name: '__name__', type: '=', value: 'c_total' }])).length,
    ).toBe(1);
    store.failing = false;
    await until('the exemplar after recovery', () => store.appended.length === 1);
  });

  it('exemplars with labels over 128 characters are skipped; the sample is kept', async () => {
    const srv = await target(
      () => `c_total 1 # {trace_id="${'x'.repeat(130)}"} 1\nd_total 2 # {trace_id="${TRACE_A}"} 2\n# EOF\n`,
    );
    const store = new RecordingStore();
    const { storage } = start(srv.host, store, []);
    await until('the valid exemplar', () => store.appended.length === 1);
    expect(store.appended[0]!.seriesLabels.__name__).toBe('d_total');
    const c = await storage.querier(0, Infinity).select([{ name: '__name__', type: '=', value: 'c_total' }]);
    expect(c).toHaveLength(1);
  });
});
