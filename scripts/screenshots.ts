/**
 * Takes the screenshots under docs/screenshots/: every view of the web UI in the light and dark themes,
 * against a real Vigil holding the seeded pipeline dataset, its own metrics, the host's, an OTLP service
 * and a scrape target that is down.
 *
 *   npx tsx scripts/screenshots.ts [--out docs/screenshots]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { openBrowser } from '../test/ui/browser.ts';
import { dashboard12, loadPipeline } from '../bench/lib/ui-data.ts';
import { INSTANCES_PER_SERVICE, SERVICES, type LabelPairs } from '../bench/lib/dataset.ts';
import { encodeLabels, encodeWriteRequest } from '../bench/lib/remote-write.ts';
import snappy from 'snappy';
import { freePort, request } from '../bench/lib/systems.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: argv } = parseArgs({ options: { out: { type: 'string', default: 'docs/screenshots' } } });
const log = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One OTLP/JSON export from a service named "notify-api", so the Overview shows an OTLP component. */
async function sendOtlp(url: string, i: number): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const attrs = (o: Record<string, string>) =>
    Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: v } }));
  const body = {
    resourceMetrics: [
      {
        resource: {
          attributes: attrs({
            'service.name': 'notify-api',
            'service.instance.id': 'notify-api-0',
            'telemetry.sdk.language': 'nodejs',
          }),
        },
        scopeMetrics: [
          {
            scope: { name: 'screenshots' },
            metrics: [
              {
                name: 'http.server.request.duration',
                unit: 's',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: attrs({ 'http.response.status_code': '200', 'http.route': '/notify' }),
                      startTimeUnixNano: String(now - BigInt(i + 1) * 5_000_000_000n),
                      timeUnixNano: String(now),
                      count: String(100 * (i + 1)),
                      sum: 4.2 * (i + 1),
                      bucketCounts: ['0', String(60 * (i + 1)), String(35 * (i + 1)), String(5 * (i + 1))],
                      explicitBounds: [0.005, 0.05, 0.5],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
  const r = await request(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  });
  if (r.status >= 300) throw new Error(`OTLP export answered ${r.status}: ${r.body}`);
}

/** Sends `up 1` now for every instance of the pipeline dataset, as a scrape of a healthy target would. */
async function keepUp(url: string): Promise<void> {
  const series: LabelPairs[] = [];
  for (const service of SERVICES)
    for (let i = 0; i < INSTANCES_PER_SERVICE; i++)
      series.push([
        ['__name__', 'up'],
        ['instance', `${service}-${i}:8080`],
        ['job', service],
      ]);
  const ones = new Float64Array(series.length).fill(1);
  const body = encodeWriteRequest(series.map(encodeLabels), 0, series.length, [Date.now()], [ones]);
  const r = await request(`${url}/api/v1/write`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    body: snappy.compressSync(body),
  });
  if (r.status >= 300) throw new Error(`${r.status} ${r.body}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-shots-'));
  const port = await freePort();
  const closed = await freePort(); // nothing listens there: a scrape target that is down
  const config = join(dir, 'vigil.yml');
  writeFileSync(
    config,
    [
      'self_monitoring:',
      '  scrape_interval: 5s',
      '  host_interval: 5s',
      'scrape_configs:',
      '  - job_name: legacy-exporter',
      '    scrape_interval: 5s',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${closed}']`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'bin/vigil.js'),
      'start',
      '--config',
      config,
      '--data-dir',
      join(dir, 'data'),
      '--port',
      String(port),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, VIGIL_OTLP_HTTP_PORT: '0' } },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await request(`${url}/-/ready`)).status === 200) break;
      } catch {
        // not yet
      }
      if (i > 300) throw new Error('Vigil did not start');
      await sleep(200);
    }
    await loadPipeline(url, { hours: 6, intervalS: 30, seed: 42, log });
    // The pipeline's instances stay up while the screenshots are taken (their history ends at load time).
    const alive = setInterval(
      () => void keepUp(url).catch((err: Error) => log(`keep-up: ${err.message}`)),
      10_000,
    );
    await keepUp(url);
    for (let i = 0; i < 4; i++) {
      await sendOtlp(url, i);
      await sleep(5000);
    }
    const dash = await request(`${url}/api/vigil/v1/dashboards?overwrite=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ ...dashboard12(), uid: 'pipeline', title: 'Pipeline overview' })),
    });
    if (dash.status >= 300) throw new Error(`dashboard: ${dash.status} ${dash.body}`);
    for (const [uid, title, tags] of [
      ['channels', 'Delivery channels', ['pipeline', 'channels']],
      ['host', 'Host resources', ['infra']],
    ] as const) {
      await request(`${url}/api/vigil/v1/dashboards?overwrite=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(
          JSON.stringify({
            schemaVersion: 1,
            uid,
            title,
            tags,
            variables: [],
            panels: [
              {
                id: 'a',
                title: 'Load',
                kind: 'timeseries',
                queries: [{ expr: 'node_load1' }],
                grid: { x: 0, y: 0, w: 12, h: 8 },
              },
            ],
          }),
        ),
      });
    }

    const out = resolve(REPO, argv.out!);
    mkdirSync(out, { recursive: true });
    const explore = new URLSearchParams({
      q: 'sum by (job) (rate(http_requests_total[5m]))',
      from: 'now-6h',
    });
    const shots: [string, string][] = [
      ['overview', '/'],
      ['explore', `/explore?${explore}`],
      ['dashboards', '/dashboards'],
      ['dashboard', '/d/pipeline?from=now-6h'],
    ];
    const browser = await openBrowser();
    try {
      for (const theme of ['light', 'dark'] as const) {
        for (const [name, path] of shots) {
          const page = await browser.newPage({ theme, width: 1280, height: 860 });
          await page.addInitScript((t) => localStorage.setItem('vigil.theme', t), theme);
          await page.goto(`${url}${path}`);
          await page.waitForSelector('[data-view][data-ready="true"]', { timeout: 60_000 });
          await page.waitForTimeout(600);
          const file = join(out, `${name}-${theme}.png`);
          await page.screenshot({ path: file });
          log(`wrote ${file}`);
          await page.close();
        }
      }
    } finally {
      await browser.close();
    }
    clearInterval(alive);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
