/**
 * Takes the screenshots under docs/screenshots/: every view of the web UI in the light and dark themes,
 * against a real Vigil holding the seeded pipeline dataset, its own metrics, the host's, an OTLP service
 * and a scrape target that is down.
 *
 *   npx tsx scripts/screenshots.ts [--out docs/screenshots] [--only traces,trace,service-map]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { checkout, fanOut, orphaned, sendTraces, spanIdOf, traceIdOf } from '../test/ui/trace-data.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: argv } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/screenshots' },
    // Comma-separated shot names (e.g. `traces,trace`): retake only those.
    only: { type: 'string' },
  },
});
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

/**
 * Alerting for the alert views: rules over the dataset (one failing), an Alertmanager configuration that
 * sends the database team's alerts to a local webhook, alerts posted as Prometheus would, and a silence.
 * Returns the vigil.yml lines and a function that seeds the running Vigil.
 */
async function alerting(
  dir: string,
): Promise<{ config: string[]; seed(url: string): Promise<void>; close(): void }> {
  const hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const rules = join(dir, 'alert-rules.yml');
  writeFileSync(
    rules,
    [
      'groups:',
      '  - name: availability',
      '    interval: 10s',
      '    rules:',
      '      - alert: TargetDown',
      '        expr: up == 0',
      '        labels: {severity: critical}',
      '        annotations:',
      '          summary: "{{ $labels.job }} at {{ $labels.instance }} is down"',
      '          runbook_url: https://runbooks.example.com/target-down',
      '      - alert: ManyTargetsUp',
      '        expr: count(up == 1) > 5',
      '        for: 1h',
      '        labels: {severity: info}',
      '      - record: job:up:ratio',
      '        expr: avg by (job) (up)',
      '      - record: broken:ratio',
      '        expr: \'"not a vector"\'',
    ].join('\n') + '\n',
  );
  const am = join(dir, 'alertmanager.yml');
  writeFileSync(
    am,
    [
      'route:',
      '  receiver: default',
      "  group_by: ['alertname']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  routes:',
      '    - receiver: db-team',
      '      matchers: [team="db"]',
      'receivers:',
      '  - name: default',
      '  - name: db-team',
      '    webhook_configs:',
      `      - url: http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      'inhibit_rules:',
      '  - source_matchers: [severity="critical"]',
      '    target_matchers: [severity="warning"]',
      '    equal: [alertname]',
    ].join('\n') + '\n',
  );
  const post = async (url: string, body: unknown) => {
    const r = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body)),
    });
    if (r.status >= 300) throw new Error(`${url}: ${r.status} ${r.body}`);
    return r;
  };
  return {
    config: [`rule_files: [${rules}]`, `alerting: {config_file: ${am}}`],
    async seed(url) {
      const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
      await post(`${url}/api/v2/alerts`, [
        {
          labels: { alertname: 'DiskFull', severity: 'critical', team: 'db', instance: 'db-1' },
          annotations: {
            summary: 'Disk of db-1 is 97% full',
            description: 'Free space on /var/lib/postgresql is below 3% and falling 1%/h.',
            runbook_url: 'https://runbooks.example.com/disk-full',
            vigil_sources: '["prometheus-eu", "prometheus-us"]',
          },
          startsAt: ago(42),
        },
        {
          labels: { alertname: 'DiskFull', severity: 'warning', team: 'db', instance: 'db-2' },
          annotations: { summary: 'Disk of db-2 is 86% full' },
          startsAt: ago(130),
        },
        {
          labels: { alertname: 'ReplicationLag', severity: 'warning', team: 'db', instance: 'db-3' },
          annotations: { summary: 'Replica db-3 is 45 s behind' },
          startsAt: ago(7),
        },
        {
          labels: { alertname: 'HighLatency', severity: 'warning', service: 'gateway' },
          annotations: { summary: 'p95 of POST /checkout above 800 ms' },
          startsAt: ago(18),
        },
        {
          labels: { alertname: 'CertificateExpiry', severity: 'info', service: 'gateway' },
          annotations: { summary: 'TLS certificate expires in 12 days' },
          startsAt: ago(300),
        },
      ]);
      // A backup failure that fires and resolves, so the history holds both kinds of notification.
      const backup = { alertname: 'BackupFailed', team: 'db', severity: 'critical' };
      const logged = async (status: string) => {
        for (let i = 0; i < 100; i++) {
          const r = await request(`${url}/api/vigil/v1/alerting/notifications`);
          const list = (
            JSON.parse(r.body.toString()) as {
              notifications: { status: string; groupLabels: Record<string, string> }[];
            }
          ).notifications;
          if (list.some((n) => n.status === status && n.groupLabels.alertname === 'BackupFailed')) return;
          await sleep(200);
        }
        throw new Error(`no ${status} notification of BackupFailed`);
      };
      await post(`${url}/api/v2/alerts`, [{ labels: backup, startsAt: ago(3) }]);
      await logged('firing');
      await post(`${url}/api/v2/alerts`, [{ labels: backup, startsAt: ago(3), endsAt: ago(0) }]);
      await logged('resolved');
      const at = (min: number) => new Date(Date.now() + min * 60_000).toISOString();
      const silence = (
        matchers: [string, string, boolean][],
        startsAt: string,
        endsAt: string,
        by: string,
        c: string,
      ) =>
        post(`${url}/api/v2/silences`, {
          matchers: matchers.map(([name, value, isRegex]) => ({ name, value, isRegex, isEqual: true })),
          startsAt,
          endsAt,
          createdBy: by,
          comment: c,
        });
      await silence(
        [['alertname', 'HighLatency', false]],
        at(0),
        at(120),
        'oncall',
        'Load test of the gateway',
      );
      await silence([['alertname', 'Certificate.*', true]], at(60), at(24 * 60), 'ops', 'Renewal window');
      const expired = await silence([['instance', 'db-4', false]], at(0), at(30), 'db-team', 'Disk replaced');
      const id = (JSON.parse(expired.body.toString()) as { silenceID: string }).silenceID;
      const del = await request(`${url}/api/v2/silence/${id}`, { method: 'DELETE' });
      if (del.status >= 300) throw new Error(`expire silence: ${del.status}`);
    },
    close: () => void hook.close(),
  };
}

/**
 * Health for the Health view: an HTTP check against a local server that answers and a TCP check against a
 * closed port, declared components depending on each other, and a flow whose counters (written by
 * remote-write) lose items between two stages. Returns the vigil.yml lines and a function that seeds the
 * running Vigil.
 */
async function health(): Promise<{ config: string[]; seed(url: string): Promise<void>; close(): void }> {
  const live = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
  const livePort = (live.address() as AddressInfo).port;
  const closedPort = await freePort();
  const config = [
    'health_checks:',
    '  - name: mail-http',
    '    kind: http',
    `    target: http://127.0.0.1:${livePort}/healthz`,
    '    interval: 2s',
    '    timeout: 1s',
    '  - name: queue-port',
    '    kind: tcp',
    `    target: 127.0.0.1:${closedPort}`,
    '    interval: 2s',
    '    timeout: 1s',
    'components:',
    '  - name: message-queue',
    '    checks: [queue-port]',
    '  - name: mailer',
    '    checks: [mail-http]',
    '    depends_on: [message-queue]',
    '  - name: web',
    '    depends_on: [mailer]',
    'flows:',
    '  - name: notifications',
    '    interval: 2s',
    '    tolerance: 0.02',
    '    stages:',
    ...['ingest', 'router'].flatMap((st) => [
      `      - name: ${st}`,
      `        in: sum(rate(shots_${st}_received_total[2m]))`,
      `        out: sum(rate(shots_${st}_passed_total[2m]))`,
      `        dropped: sum(rate(shots_${st}_dropped_total[2m]))`,
    ]),
    '    channels:',
    ...['email', 'sms', 'push'].flatMap((ch) => [
      `      - name: ${ch}`,
      '        stage: router',
      `        in: sum(rate(shots_${ch}_received_total[2m]))`,
      `        out: sum(rate(shots_${ch}_passed_total[2m]))`,
    ]),
  ];
  // Per-second rates: 95/s leave ingest but only 80/s reach the router.
  const rates: [string, number][] = [
    ['ingest_received', 100],
    ['ingest_passed', 95],
    ['ingest_dropped', 5],
    ['router_received', 80],
    ['router_passed', 78],
    ['router_dropped', 2],
    ['email_received', 50],
    ['email_passed', 50],
    ['sms_received', 20],
    ['sms_passed', 20],
    ['push_received', 8],
    ['push_passed', 8],
  ];
  return {
    config,
    async seed(url: string) {
      const end = Date.now();
      const timestamps: number[] = [];
      for (let t = end - 600_000; t <= end; t += 15_000) timestamps.push(t);
      const labels = rates.map(([name]) =>
        encodeLabels([
          ['__name__', `shots_${name}_total`],
          ['job', 'notifications'],
        ]),
      );
      const values = timestamps.map(
        (t) => new Float64Array(rates.map(([, perSecond]) => (perSecond * (t - timestamps[0]!)) / 1000)),
      );
      const body = encodeWriteRequest(labels, 0, labels.length, timestamps, values);
      const r = await request(`${url}/api/v1/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
        body: snappy.compressSync(body),
      });
      if (r.status >= 300) throw new Error(`flow counters: ${r.status} ${r.body}`);
      // Let the checks probe a few times and the flow be evaluated.
      await sleep(8000);
    },
    close: () => void live.close(),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-shots-'));
  const port = await freePort();
  const closed = await freePort(); // nothing listens there: a scrape target that is down
  const config = join(dir, 'vigil.yml');
  const alerts = await alerting(dir);
  const healthSeed = await health();
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
      ...alerts.config,
      ...healthSeed.config,
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
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, VIGIL_OTLP_HTTP_PORT: '0', VIGIL_OTLP_GRPC_PORT: '0' },
    },
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

    // Traces: checkouts (some failing in the database), fanned-out messages, one with a missing parent.
    const traceNow = Date.now();
    const traces = [];
    for (let i = 0; i < 24; i++) {
      const slow = i % 5 === 3;
      traces.push(checkout(traceIdOf(0x5c, i), traceNow - (50 - i * 2) * 60_000, slow, i));
      if (i % 3 === 0) traces.push(fanOut(traceIdOf(0x5d, i), traceNow - (49 - i * 2) * 60_000));
    }
    traces.push(
      orphaned(traceIdOf(0x5e, 1), traceNow - 5 * 60_000, {
        traceId: traceIdOf(0x5c, 0),
        spanId: spanIdOf(1),
      }),
    );
    await sendTraces(url, traces);
    const slowTrace = traceIdOf(0x5c, 23);
    // Span metrics (and their exemplars) appear at the span-metrics pipeline's next flush.
    const exemplarQuery = 'traces_span_metrics_duration_seconds_bucket{service_name="postgres"}';
    for (let i = 0; ; i++) {
      const q = new URLSearchParams({ query: exemplarQuery, start: String(Date.now() / 1000 - 3600) });
      const r = await request(`${url}/api/v1/query_exemplars?${q}`);
      if (r.status === 200 && (JSON.parse(r.body.toString()) as { data: unknown[] }).data.length > 0) break;
      if (i > 60) throw new Error('no span-metric exemplars after a minute');
      await sleep(1000);
    }

    await alerts.seed(url);
    await healthSeed.seed(url);

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
      ['traces', '/traces?from=now-1h'],
      ['trace', `/traces/${slowTrace}?span=${spanIdOf(23 * 100 + 5)}`],
      ['trace-flame', `/traces/${slowTrace}?tab=flame`],
      ['trace-compare', `/traces/compare?a=${traceIdOf(0x5c, 22)}&b=${slowTrace}`],
      ['service-map', '/service-map?from=now-1h&bnService=gateway&bnOperation=POST%20%2Fcheckout'],
      ['explore-exemplars', `/explore?${new URLSearchParams({ q: exemplarQuery, from: 'now-10m' })}`],
      ['alerts', '/alerts'],
      ['silences', '/silences'],
      ['rules', '/rules'],
      ['alert-history', '/alerts/history'],
      ['health', '/health'],
      ['health-checks', '/health?tab=checks'],
      ['health-flows', '/health?tab=flows'],
    ];
    const browser = await openBrowser();
    try {
      for (const theme of ['light', 'dark'] as const) {
        const only = argv.only?.split(',').map((x) => x.trim());
        for (const [name, path] of shots.filter(([n]) => !only || only.includes(n))) {
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
    alerts.close();
    healthSeed.close();
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
