import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isStaleNaN, type Labels } from '../../model/labels.ts';
import { registry } from '../../self/metrics.ts';
import { OverloadedError, type Appender, type SeriesData } from '../../store/interface.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { globalConfigSchema, scrapeConfigSchema, type GlobalConfig, type ScrapeConfig } from './config.ts';
import { ScrapeManager } from './manager.ts';
import { SCRAPE_ACCEPT_HEADER } from './parse.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  readonly host: string;
  handler: Handler;
  readonly requests: IncomingMessage[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const managers: ScrapeManager[] = [];
const tmpDirs: string[] = [];

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(tmpDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function serve(handler: Handler): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    ts.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ts: TestServer = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    handler,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(ts);
  return ts;
}

const text =
  (body: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(body);
  };

function manager(storage: MemoryStorage, logs: string[] = []): ScrapeManager {
  const m = new ScrapeManager({ storage, log: (msg) => logs.push(msg) });
  managers.push(m);
  return m;
}

const fastGlobal: GlobalConfig = globalConfigSchema.parse({
  scrape_interval: '100ms',
  scrape_timeout: '100ms',
});

function job(name: string, targets: string[], extra: Record<string, unknown> = {}): ScrapeConfig {
  return scrapeConfigSchema.parse({ job_name: name, static_configs: [{ targets }], ...extra });
}

async function select(storage: MemoryStorage, name: string): Promise<SeriesData[]> {
  return storage.querier(0, Number.MAX_SAFE_INTEGER).select([{ name: '__name__', type: '=', value: name }]);
}

const last = (s: SeriesData) => s.v[s.v.length - 1]!;

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The value of `name` written by the first successful scrape (the one whose `up` is 1). A loaded machine may make
 * an earlier scrape time out, so tests look at that scrape rather than at the first or latest one.
 */
async function atFirstSuccess(
  storage: MemoryStorage,
  name: string,
  match: (l: Labels) => boolean = () => true,
) {
  const up = await waitForValue(storage, 'up', (_v, s) => s.v.includes(1), match);
  const t = up.t[up.v.indexOf(1)]!;
  const s = (await select(storage, name)).find((x) => match(x.labels))!;
  return s.v[s.t.indexOf(t)];
}

/** Resolves once `name` has a series whose newest value satisfies `pred`. */
function waitForValue(
  storage: MemoryStorage,
  name: string,
  pred: (v: number, s: SeriesData) => boolean,
  match: (l: Labels) => boolean = () => true,
) {
  return waitFor(`${name} to satisfy the condition`, async () =>
    (await select(storage, name)).find((s) => match(s.labels) && pred(last(s), s)),
  );
}

describe('ScrapeManager', () => {
  it('scrapes a text target: samples with target labels, report series, metadata, target status', async () => {
    const srv = await serve(
      text(
        '# HELP jobs_done_total Jobs done.\n# TYPE jobs_done_total counter\njobs_done_total{queue="mail"} 7\ntemperature 21.5 1000\n',
      ),
    );
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [
      job('worker', [srv.host], { static_configs: [{ targets: [srv.host], labels: { env: 'test' } }] }),
    ]);

    const up = await waitForValue(storage, 'up', (v) => v === 1);
    expect(up.labels).toEqual({ __name__: 'up', job: 'worker', instance: srv.host, env: 'test' });
    const [jobs] = await select(storage, 'jobs_done_total');
    expect(jobs!.labels).toEqual({
      __name__: 'jobs_done_total',
      queue: 'mail',
      job: 'worker',
      instance: srv.host,
      env: 'test',
    });
    expect(last(jobs!)).toBe(7);
    // honor_timestamps is on by default: the exposed timestamp is kept.
    const [temp] = await select(storage, 'temperature');
    expect([...temp!.t]).toEqual([1000]);
    expect(await atFirstSuccess(storage, 'scrape_samples_scraped')).toBe(2);
    expect(await atFirstSuccess(storage, 'scrape_samples_post_metric_relabeling')).toBe(2);
    expect(await atFirstSuccess(storage, 'scrape_series_added')).toBe(2);
    expect(await atFirstSuccess(storage, 'scrape_duration_seconds')).toBeGreaterThan(0);
    expect(await storage.metadata('jobs_done_total')).toEqual(
      new Map([['jobs_done_total', [{ type: 'counter', help: 'Jobs done.', unit: '' }]]]),
    );

    const req = srv.requests[0]!;
    expect(req.url).toBe('/metrics');
    expect(req.headers.accept).toBe(SCRAPE_ACCEPT_HEADER);
    expect(req.headers['x-prometheus-scrape-timeout-seconds']).toBe('0.1');

    const status = await waitFor('target up', () => m.targets().find((t) => t.health === 'up'));
    expect(status).toMatchObject({
      discoveredLabels: {
        __address__: srv.host,
        __metrics_path__: '/metrics',
        __scheme__: 'http',
        __scrape_interval__: '100ms',
        __scrape_timeout__: '100ms',
        env: 'test',
        job: 'worker',
      },
      labels: { env: 'test', instance: srv.host, job: 'worker' },
      scrapePool: 'worker',
      scrapeUrl: `http://${srv.host}/metrics`,
      lastError: '',
      health: 'up',
      scrapeInterval: '100ms',
      scrapeTimeout: '100ms',
    });
    expect(status!.lastScrape).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(status!.lastScrapeDuration).toBeGreaterThan(0);
    expect(await registry.getSingleMetricAsString('vigil_scrapes_total')).toMatch(
      /vigil_scrapes_total\{job="worker",result="success"\} [1-9]/,
    );
  });

  it('scrapes an OpenMetrics target (gzip-compressed), skipping _created and using second timestamps', async () => {
    const body = [
      '# TYPE orders counter',
      '# HELP orders Orders placed.',
      'orders_total{shop="eu"} 12 # {trace_id="abc"} 1',
      'orders_created{shop="eu"} 1700000000',
      '# TYPE queue_depth gauge',
      '# UNIT queue_depth ',
      `queue_depth 3 ${(Date.now() / 1000 - 5).toFixed(3)}`,
      '# EOF',
      '',
    ].join('\n');
    const srv = await serve((req, res) => {
      res.writeHead(200, {
        'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
        'Content-Encoding': 'gzip',
      });
      res.end(gzipSync(body));
    });
    const storage = new MemoryStorage();
    manager(storage).applyConfig(fastGlobal, [job('om', [srv.host])]);
    await waitForValue(storage, 'up', (v) => v === 1);
    expect(srv.requests[0]!.headers['accept-encoding']).toBe('gzip');
    expect(storage.metricNames()).not.toContain('orders_created');
    const [orders] = await select(storage, 'orders_total');
    expect(last(orders!)).toBe(12);
    const [depth] = await select(storage, 'queue_depth');
    expect(Math.abs(depth!.t[0]! - (Date.now() - 5000))).toBeLessThan(2000);
    expect((await storage.metadata('orders')).get('orders')).toEqual([
      { type: 'counter', help: 'Orders placed.', unit: '' },
    ]);
  });

  it('a target answering 500 gets up=0, lastError, and stale markers for its previous series', async () => {
    let fail = false;
    const srv = await serve((req, res) => {
      if (fail) {
        res.writeHead(500);
        res.end('boom');
      } else text('requests_total 5\n')(req, res);
    });
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('api', [srv.host])]);
    await waitForValue(storage, 'up', (v) => v === 1);
    fail = true;
    // Wait for the 500 specifically (on a loaded machine an earlier scrape may also have timed out).
    await waitFor('the 500 to be reported', () =>
      m.targets().find((t) => t.lastError === 'server returned HTTP status 500 Internal Server Error'),
    );
    expect(m.targets()[0]!.health).toBe('down');
    await waitForValue(storage, 'up', (v) => v === 0);
    const [series] = await select(storage, 'requests_total');
    expect(isStaleNaN(last(series!))).toBe(true);
    const scraped = (await select(storage, 'scrape_samples_scraped'))[0]!;
    const up = (await select(storage, 'up'))[0]!;
    // Every failed scrape reports 0 samples scraped.
    for (let i = 0; i < up.v.length; i++)
      if (up.v[i] === 0) expect(scraped.v[scraped.t.indexOf(up.t[i]!)]).toBe(0);
    // Recovery: the series comes back, up returns to 1.
    fail = false;
    await waitForValue(storage, 'requests_total', (v) => v === 5);
    await waitForValue(storage, 'up', (v) => v === 1);
  });

  it('a target that goes away (connection refused) is down with its series stale', async () => {
    const srv = await serve(text('gone_soon 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('j', [srv.host])]);
    await waitForValue(storage, 'up', (v) => v === 1);
    await srv.close();
    await waitForValue(storage, 'gone_soon', (v) => isStaleNaN(v));
    await waitForValue(storage, 'up', (v) => v === 0);
    expect(m.targets()[0]!.health).toBe('down');
    expect(m.targets()[0]!.lastError).not.toBe('');
  });

  it('a target removed from the config gets stale markers for its series and report series', async () => {
    const a = await serve(text('svc_up{svc="a"} 1\n'));
    const b = await serve(text('svc_up{svc="b"} 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('svc', [a.host, b.host])]);
    await waitFor(
      'both targets up',
      () => m.targets().every((t) => t.health === 'up') && m.targets().length === 2,
    );
    m.applyConfig(fastGlobal, [job('svc', [a.host])]);
    expect(m.targets().map((t) => t.labels.instance)).toEqual([a.host]);
    await waitForValue(
      storage,
      'svc_up',
      (v) => isStaleNaN(v),
      (l) => l.svc === 'b',
    );
    await waitForValue(
      storage,
      'up',
      (v) => isStaleNaN(v),
      (l) => l.instance === b.host,
    );
    // The remaining target is untouched.
    const bCount = b.requests.length;
    await waitFor('more scrapes of a', () => a.requests.length > 3);
    expect(b.requests.length).toBe(bCount);
    const [aSeries] = (await select(storage, 'svc_up')).filter((s) => s.labels.svc === 'a');
    expect([...aSeries!.v].some(isStaleNaN)).toBe(false);
  });

  it('a series that disappears from the page gets a stale marker; the others do not', async () => {
    let body = 'kept 1\ndropped_later 2\n';
    const srv = await serve((req, res) => text(body)(req, res));
    const storage = new MemoryStorage();
    manager(storage).applyConfig(fastGlobal, [job('j', [srv.host])]);
    await waitForValue(storage, 'dropped_later', (v) => v === 2);
    body = 'kept 1\n';
    await waitForValue(storage, 'dropped_later', (v) => isStaleNaN(v));
    await waitFor('another scrape', () => srv.requests.length > 4);
    const [kept] = await select(storage, 'kept');
    expect([...kept!.v].some(isStaleNaN)).toBe(false);
    const [dropped] = await select(storage, 'dropped_later');
    expect([...dropped!.v].filter(isStaleNaN)).toHaveLength(1);
  });

  it.each([
    // The scraped exported_job already exists, so the conflicting job moves one prefix further (as Prometheus does).
    [
      false,
      {
        job: 'scraper',
        instance: 'HOST',
        exported_job: 'x',
        exported_instance: 'inner',
        exported_exported_job: 'exposed',
        foo: 'bar',
      },
    ],
    [true, { job: 'exposed', instance: 'inner', exported_job: 'x', foo: 'bar' }],
  ])('honor_labels: %s', async (honor, want) => {
    const srv = await serve(text('m{job="exposed",instance="inner",exported_job="x",foo="bar"} 1\n'));
    const storage = new MemoryStorage();
    manager(storage).applyConfig(fastGlobal, [job('scraper', [srv.host], { honor_labels: honor })]);
    const s = await waitForValue(storage, 'm', (v) => v === 1);
    const expected = Object.fromEntries(
      Object.entries(want).map(([k, v]) => [k, v === 'HOST' ? srv.host : v]),
    );
    expect(s.labels).toEqual({ __name__: 'm', ...expected });
    // Report series always carry the target's own labels.
    expect((await select(storage, 'up'))[0]!.labels).toEqual({
      __name__: 'up',
      job: 'scraper',
      instance: srv.host,
    });
  });

  it('metric_relabel_configs drop series and rename labels; counts reflect it', async () => {
    const srv = await serve(text('go_gc_total 1\ngo_threads 9\napp_requests_total{method="GET"} 3\n'));
    const storage = new MemoryStorage();
    manager(storage).applyConfig(fastGlobal, [
      job('j', [srv.host], {
        metric_relabel_configs: [
          { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' },
          { source_labels: ['method'], target_label: 'verb' },
          { action: 'labeldrop', regex: 'method' },
        ],
      }),
    ]);
    await waitForValue(storage, 'up', (v) => v === 1);
    expect(storage.metricNames().filter((n) => n.startsWith('go_'))).toEqual([]);
    const [app] = await select(storage, 'app_requests_total');
    expect(app!.labels).toEqual({
      __name__: 'app_requests_total',
      verb: 'GET',
      job: 'j',
      instance: srv.host,
    });
    expect(await atFirstSuccess(storage, 'scrape_samples_scraped')).toBe(3);
    expect(await atFirstSuccess(storage, 'scrape_samples_post_metric_relabeling')).toBe(1);
  });

  it('sample_limit: exceeding it fails the scrape (up=0) and stores none of its samples', async () => {
    let body = 'a 1\n';
    const srv = await serve((req, res) => text(body)(req, res));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('j', [srv.host], { sample_limit: 2 })]);
    await waitForValue(storage, 'up', (v) => v === 1);
    body = 'a 1\nb 2\nc 3\n';
    await waitFor('the sample_limit failure', () =>
      m
        .targets()
        .find((t) => t.lastError === 'sample_limit exceeded: 3 samples after relabeling, the limit is 2'),
    );
    await waitForValue(storage, 'up', (v) => v === 0);
    expect(storage.metricNames()).not.toContain('b');
    expect(isStaleNaN(last((await select(storage, 'a'))[0]!))).toBe(true);
  });

  it('a hung target times out (up=0) without delaying another target', async () => {
    const slow = await serve(() => {
      // Never answers.
    });
    const fast = await serve(text('fast 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(globalConfigSchema.parse({ scrape_interval: '150ms', scrape_timeout: '50ms' }), [
      job('slow', [slow.host]),
      job('fast', [fast.host]),
    ]);
    await waitForValue(
      storage,
      'up',
      (v) => v === 0,
      (l) => l.job === 'slow',
    );
    const slowStatus = m.targets().find((t) => t.scrapePool === 'slow')!;
    expect(slowStatus).toMatchObject({ health: 'down', lastError: 'scrape timed out after 50ms' });
    expect(slowStatus.lastScrapeDuration).toBeGreaterThanOrEqual(0.04);
    const before = fast.requests.length;
    await waitFor('fast target scraped while the slow one hangs', () => fast.requests.length >= before + 3);
    expect(m.targets().find((t) => t.scrapePool === 'fast')!.health).toBe('up');
  });

  it('sends basic auth, params and a custom path; __param_ labels override params', async () => {
    const srv = await serve(text('ok 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [
      job('probe', [srv.host], {
        metrics_path: '/probe',
        params: { module: ['http_2xx'], target: ['a', 'b'] },
        basic_auth: { username: 'u', password: 'p@ss' },
        relabel_configs: [{ target_label: '__param_module', replacement: 'tcp' }],
      }),
      job('bearer', [srv.host], { bearer_token: 'tok' }),
    ]);
    await waitFor('both jobs scraped', () => m.targets().every((t) => t.health === 'up'));
    const probeReq = srv.requests.find((r) => r.url!.startsWith('/probe'))!;
    expect(probeReq.url).toBe('/probe?module=tcp&target=a&target=b');
    expect(probeReq.headers.authorization).toBe('Basic ' + Buffer.from('u:p@ss').toString('base64'));
    const bearerReq = srv.requests.find((r) => r.url === '/metrics')!;
    expect(bearerReq.headers.authorization).toBe('Bearer tok');
    expect(m.targets().find((t) => t.scrapePool === 'probe')!.scrapeUrl).toBe(
      `http://${srv.host}/probe?module=tcp&target=a&target=b`,
    );
  });

  it('reads credentials from files at scrape time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-cred-'));
    tmpDirs.push(dir);
    await writeFile(join(dir, 'pw'), 'from-file\n');
    await writeFile(join(dir, 'token'), 'tok-file\n');
    const srv = await serve(text('ok 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [
      job('basic', [srv.host], {
        metrics_path: '/basic',
        basic_auth: { username: 'u', password_file: join(dir, 'pw') },
      }),
      job('token', [srv.host], {
        metrics_path: '/token',
        authorization: { type: 'Token', credentials_file: join(dir, 'token') },
      }),
    ]);
    await waitFor('both jobs scraped', () => m.targets().every((t) => t.health === 'up'));
    expect(srv.requests.find((r) => r.url === '/basic')!.headers.authorization).toBe(
      'Basic ' + Buffer.from('u:from-file').toString('base64'),
    );
    expect(srv.requests.find((r) => r.url === '/token')!.headers.authorization).toBe('Token tok-file');
  });

  it('follow_redirects: false reports the redirect; the default follows it', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(302, { Location: '/real' });
        res.end();
      } else text('real 1\n')(req, res);
    });
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [
      job('follow', [srv.host]),
      job('nofollow', [srv.host], { follow_redirects: false }),
    ]);
    await waitFor('both scraped', () => m.targets().every((t) => t.health !== 'unknown'));
    expect(m.targets().map((t) => [t.scrapePool, t.health, t.lastError])).toEqual([
      ['follow', 'up', ''],
      ['nofollow', 'down', 'server returned HTTP status 302 Found'],
    ]);
  });

  it('duplicate series in one page keep the first sample and log the rest', async () => {
    const srv = await serve(text('dup{a="1"} 1\ndup{a="1"} 2\n'));
    const logs: string[] = [];
    const storage = new MemoryStorage();
    manager(storage, logs).applyConfig(fastGlobal, [job('j', [srv.host])]);
    const s = await waitForValue(storage, 'dup', () => true);
    expect(last(s)).toBe(1);
    expect(logs.some((l) => l.includes('skipped 1 duplicate series'))).toBe(true);
    await waitForValue(storage, 'up', (v) => v === 1);
  });

  it('a failed storage commit is reported on the target and the loop carries on', async () => {
    /** MemoryStorage whose next commits fail, as a saturated write pipeline would. */
    class FlakyStorage extends MemoryStorage {
      failures = 0;
      override appender(): Appender {
        const inner = super.appender();
        const commit = async () => {
          if (this.failures > 0) {
            this.failures--;
            inner.rollback();
            throw new OverloadedError('write queue full', 1);
          }
          await inner.commit();
        };
        return {
          append: (l, t, v) => inner.append(l, t, v),
          appendMetadata: (n, meta) => inner.appendMetadata(n, meta),
          get count() {
            return inner.count;
          },
          commit,
          rollback: () => inner.rollback(),
        };
      }
    }
    const srv = await serve(text('# TYPE m gauge\nm 1\n'));
    const storage = new FlakyStorage();
    storage.failures = 1;
    const logs: string[] = [];
    const m = manager(storage, logs);
    m.applyConfig(fastGlobal, [job('j', [srv.host])]);
    await waitFor('the failure logged', () =>
      logs.some((l) => l.includes('writing samples failed: write queue full')),
    );
    await waitForValue(storage, 'up', (v) => v === 1);
    expect(m.targets()[0]).toMatchObject({ health: 'up', lastError: '' });
    // Metadata from the failed scrape is sent again.
    expect((await storage.metadata('m')).get('m')).toEqual([{ type: 'gauge', help: '', unit: '' }]);
  });

  it('honor_timestamps: false uses the scrape time', async () => {
    const srv = await serve(text('with_ts 1 1000\n'));
    const storage = new MemoryStorage();
    manager(storage).applyConfig(fastGlobal, [job('j', [srv.host], { honor_timestamps: false })]);
    const s = await waitForValue(storage, 'with_ts', (v) => v === 1);
    expect(s.t[0]).toBeGreaterThan(Date.now() - 10_000);
  });

  it('body_size_limit and parse errors fail the scrape with a clear error', async () => {
    const big = await serve(text('x 1\n'.repeat(1000)));
    const broken = await serve(text('ok 1\nbad{ 2\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [
      job('big', [big.host], { body_size_limit: '1KB' }),
      job('broken', [broken.host]),
    ]);
    const want = [
      ['big', 'response body is larger than body_size_limit (1024 bytes)'],
      ['broken', 'ExpositionParseError: line 2: invalid label name "2"'],
    ];
    await waitFor('both failures reported', () =>
      want.every(([pool, err]) => m.targets().some((t) => t.scrapePool === pool && t.lastError === err)),
    );
    expect(m.targets().map((t) => t.health)).toEqual(['down', 'down']);
    expect(storage.metricNames()).not.toContain('ok');
  });

  it('targets dropped by relabel_configs are not scraped and are listed as dropped', async () => {
    const a = await serve(text('a 1\n'));
    const b = await serve(text('b 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [
      job('j', [a.host, b.host], {
        relabel_configs: [
          { source_labels: ['__address__'], regex: a.host.replace(/\./g, '\\.'), action: 'keep' },
          { source_labels: ['__address__'], regex: '([^:]+):.*', target_label: 'host' },
        ],
      }),
    ]);
    await waitForValue(storage, 'up', (v) => v === 1);
    expect(m.targets().map((t) => t.labels)).toEqual([{ host: '127.0.0.1', instance: a.host, job: 'j' }]);
    expect(m.droppedTargets()).toEqual([
      expect.objectContaining({
        scrapePool: 'j',
        reason: 'dropped by relabel_configs',
        discoveredLabels: expect.objectContaining({ __address__: b.host }),
      }),
    ]);
    expect(b.requests).toHaveLength(0);
  });

  it('a config change keeps state of unchanged targets (no stale markers) and applies new settings', async () => {
    const srv = await serve(text('keep_me 1\ngo_x 2\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('j', [srv.host])]);
    await waitForValue(storage, 'go_x', (v) => v === 2);
    m.applyConfig(fastGlobal, [
      job('j', [srv.host], {
        metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }],
      }),
    ]);
    // go_x is no longer written: it becomes stale through the normal "missing from this scrape" path.
    await waitForValue(storage, 'go_x', (v) => isStaleNaN(v));
    const n = srv.requests.length;
    await waitFor('more scrapes', () => srv.requests.length > n + 2);
    const [kept] = await select(storage, 'keep_me');
    expect([...kept!.v].some(isStaleNaN)).toBe(false);
    const ups = await select(storage, 'up');
    expect([...ups[0]!.v].some(isStaleNaN)).toBe(false);
    expect(m.targets()[0]!.health).toBe('up');
  });

  it('stop() writes stale markers for every series and ends all loops', async () => {
    const srv = await serve(text('m 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('j', [srv.host])]);
    await waitForValue(storage, 'up', (v) => v === 1);
    await m.stop();
    expect(isStaleNaN(last((await select(storage, 'm'))[0]!))).toBe(true);
    expect(isStaleNaN(last((await select(storage, 'up'))[0]!))).toBe(true);
    const n = srv.requests.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(srv.requests.length).toBe(n);
    expect(m.targets()).toEqual([]);
  });

  it('removing a whole job stops its loops with stale markers', async () => {
    const srv = await serve(text('m 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('j', [srv.host])]);
    await waitForValue(storage, 'up', (v) => v === 1);
    m.applyConfig(fastGlobal, []);
    await waitForValue(storage, 'm', (v) => isStaleNaN(v));
    expect(m.targets()).toEqual([]);
  });

  it('rejects an unusable config without changing running loops', async () => {
    const srv = await serve(text('m 1\n'));
    const storage = new MemoryStorage();
    const m = manager(storage);
    m.applyConfig(fastGlobal, [job('j', [srv.host])]);
    expect(() => m.applyConfig(fastGlobal, [job('j', [srv.host]), job('j', [srv.host])])).toThrow(
      /duplicate job_name "j"/,
    );
    expect(() =>
      m.applyConfig(fastGlobal, [scrapeConfigSchema.parse({ job_name: 'k', scrape_timeout: '1s' })]),
    ).toThrow(/scrape_timeout is greater than scrape_interval/);
    expect(m.targets()).toHaveLength(1);
    await waitForValue(storage, 'up', (v) => v === 1);
  });

  it('file_sd_configs: targets come from JSON/YAML files and follow changes', async () => {
    const a = await serve(text('from_file{src="a"} 1\n'));
    const b = await serve(text('from_file{src="b"} 1\n'));
    const dir = await mkdtemp(join(tmpdir(), 'vigil-filesd-'));
    tmpDirs.push(dir);
    const write = async (name: string, content: string) => {
      await writeFile(join(dir, name + '.tmp'), content);
      await rename(join(dir, name + '.tmp'), join(dir, name));
    };
    await write('one.json', JSON.stringify([{ targets: [a.host], labels: { team: 'red' } }]));
    const logs: string[] = [];
    const storage = new MemoryStorage();
    const m = manager(storage, logs);
    m.applyConfig(fastGlobal, [
      scrapeConfigSchema.parse({
        job_name: 'files',
        file_sd_configs: [
          { files: [join(dir, '*.json'), join(dir, 'extra.yml')], refresh_interval: '200ms' },
        ],
      }),
    ]);
    const first = await waitForValue(storage, 'from_file', (v) => v === 1);
    expect(first.labels).toEqual({
      __name__: 'from_file',
      src: 'a',
      team: 'red',
      job: 'files',
      instance: a.host,
    });
    expect(m.targets()[0]!.discoveredLabels.__meta_filepath).toBe(join(dir, 'one.json'));
    expect(m.targets()[0]!.labels).not.toHaveProperty('__meta_filepath');

    // A YAML file adds a target.
    await write('extra.yml', `- targets: ["${b.host}"]\n  labels:\n    team: blue\n`);
    await waitForValue(
      storage,
      'from_file',
      (v) => v === 1,
      (l) => l.src === 'b' && l.team === 'blue',
    );

    // A broken file keeps its previous targets and logs why.
    await write('one.json', '[{"targets": [');
    await waitFor('parse error logged', () => logs.some((l) => l.includes('one.json: cannot parse')));
    expect(m.targets()).toHaveLength(2);

    // Removing a file removes its targets, which go stale.
    await rm(join(dir, 'one.json'));
    await waitForValue(
      storage,
      'from_file',
      (v) => isStaleNaN(v),
      (l) => l.src === 'a',
    );
    expect(m.targets().map((t) => t.labels.team)).toEqual(['blue']);
  });
});
