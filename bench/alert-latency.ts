/**
 * Alert latency side by side: from the remote-write request carrying a sample that crosses a threshold to the
 * webhook receiving the notification, for Vigil and for Debian's Prometheus + Alertmanager at their fastest
 * settings, fed the same sample stream at the same moment.
 *
 *   npx tsx bench/alert-latency.ts [--iterations 60] [--background-rules 0] [--timeout 20000]
 *
 * Both systems load one rule file: `bench_queue_depth > 10`, `for: 0s`, group `interval: 1s`, plus
 * --background-rules more alerting rules in groups of 10 (interval 15s), each group reading its own metric.
 * Both route with `group_by: [alertname, queue]`, `group_wait: 0s`, `group_interval: 1s` to a webhook receiver
 * served by this script (one URL path per system). Vigil evaluates a rule group on ingestion as well as on its
 * interval (its defaults); Prometheus evaluates every 1 s (`evaluation_interval: 1s`) and sends to
 * Alertmanager at once (notification queue at its default capacity, 10,000).
 *
 * Each crossing uses a new series (`queue="q<i>"`), so it is a new alert in a new aggregation group in both
 * systems and group_wait applies, not group_interval. One remote-write request (snappy protobuf) per crossing
 * is posted to both systems concurrently; the clock starts before the posts. The script then waits for both
 * firing notifications, posts the clearing sample to both, waits for both resolved notifications, and pauses
 * a random 0–1 s so crossings land at every phase of Prometheus's evaluation tick. While measuring, a writer
 * posts every background metric to both systems every 250 ms (none with --background-rules 0).
 *
 * Exits 2 when prometheus or prometheus-alertmanager is not on PATH. Every process it starts is stopped at the
 * end, on errors and on Ctrl-C. A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import snappy from 'snappy';
import {
  cpuSeconds,
  requireBinaries,
  startAlertmanager,
  startPrometheusWithRules,
  WebhookSink,
  type Notification,
} from './lib/alerting-peers.ts';
import { encodeLabels, encodeWriteRequest } from './lib/remote-write.ts';
import { describeMachine, textTable } from './lib/report.ts';
import { killAllChildren, request, startVigil, type System } from './lib/systems.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '60' },
    'background-rules': { type: 'string', default: '0' },
    timeout: { type: 'string', default: '20000' },
    // Older command lines passed --webhook; measuring to the webhook is now the only mode.
    webhook: { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(args.iterations);
const BACKGROUND = Number(args['background-rules']);
const TIMEOUT = Number(args.timeout);
const GROUP_SIZE = 10;
if (!(ITERATIONS > 0) || !(BACKGROUND >= 0) || !(TIMEOUT > 0)) {
  process.stderr.write('error: --iterations and --timeout must be positive, --background-rules >= 0\n');
  process.exit(2);
}

const bins = requireBinaries([
  { bin: 'prometheus', pkg: 'prometheus' },
  { bin: 'prometheus-alertmanager', pkg: 'prometheus-alertmanager' },
]);

const dir = mkdtempSync(join(tmpdir(), 'vigil-alert-latency-'));
const started: { stop(): Promise<void> }[] = [];
let sink: WebhookSink | undefined;
const cleanup = () => {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping every process this benchmark started\n`);
    process.exit(130);
  });

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rule file both systems load. */
function rulesYaml(): string {
  const lines = [
    'groups:',
    '  - name: latency',
    '    interval: 1s',
    '    rules:',
    '      - alert: QueueTooDeep',
    '        expr: bench_queue_depth > 10',
    '        for: 0s',
  ];
  for (let g = 0; g < Math.ceil(BACKGROUND / GROUP_SIZE); g++) {
    lines.push(`  - name: background-${g}`, '    interval: 15s', '    rules:');
    for (let r = 0; r < GROUP_SIZE && g * GROUP_SIZE + r < BACKGROUND; r++)
      lines.push(`      - alert: Background${g}_${r}`, `        expr: bench_background_${g} > ${1000 + r}`);
  }
  return lines.join('\n') + '\n';
}

/** The Alertmanager configuration both pipelines use, sending to `url`. */
function routeYaml(url: string): string {
  return [
    'route:',
    '  receiver: hook',
    '  group_by: [alertname, queue]',
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: hook',
    `    webhook_configs: [{url: '${url}', send_resolved: true}]`,
    '',
  ].join('\n');
}

/** One remote-write body: each series (label pairs, sorted) with one sample at `t`. */
function writeBody(series: [string, string][][], values: number[], t: number): Buffer {
  const blocks = series.map((s) => encodeLabels(s));
  return snappy.compressSync(encodeWriteRequest(blocks, 0, blocks.length, [t], [Float64Array.from(values)]), {
    copyOutputData: true,
  });
}

async function remoteWrite(baseUrl: string, body: Buffer): Promise<void> {
  const r = await request(`${baseUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    },
    body,
    timeoutMs: 30_000,
  });
  if (r.status >= 300)
    throw new Error(`remote-write to ${baseUrl}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

async function main(): Promise<void> {
  sink = await WebhookSink.start();
  const rules = rulesYaml();

  log('starting Alertmanager, Prometheus and Vigil on loopback…');
  const am = await startAlertmanager(
    join(dir, 'alertmanager'),
    bins['prometheus-alertmanager']!,
    routeYaml(sink.urlFor('prom')),
  );
  started.push(am);
  const prom = await startPrometheusWithRules(
    join(dir, 'prometheus'),
    bins.prometheus!,
    rules,
    am.baseUrl,
    '1s',
  );
  started.push(prom);
  const vdir = join(dir, 'vigil');
  const ctx = { dir: vdir, repoRoot: REPO, log };
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(join(dir, 'vigil-alertmanager.yml'), routeYaml(sink.urlFor('vigil')));
  const vigil: System = await startVigil(
    ctx,
    [
      'global: {evaluation_interval: 1s}',
      `rule_files: [${join(dir, 'rules.yml')}]`,
      `alerting: {config_file: ${join(dir, 'vigil-alertmanager.yml')}}`,
      '',
    ].join('\n'),
  );
  started.push(vigil);
  const systems: { name: string; key: string; url: string; pids: number[] }[] = [
    { name: `Vigil ${vigil.version}`, key: 'vigil', url: vigil.baseUrl, pids: [vigil.pid] },
    {
      name: `Prometheus ${prom.version} + Alertmanager ${am.version}`,
      key: 'prom',
      url: prom.baseUrl,
      pids: [prom.pid, am.pid],
    },
  ];

  const bgGroups = Math.ceil(BACKGROUND / GROUP_SIZE);
  const bgSeries = Array.from({ length: bgGroups }, (_, g): [string, string][] => [
    ['__name__', `bench_background_${g}`],
  ]);
  let writing = bgGroups > 0;
  const writer = (async () => {
    while (writing) {
      const body = writeBody(
        bgSeries,
        bgSeries.map(() => Math.random() * 100),
        Date.now(),
      );
      await Promise.all(systems.map((s) => remoteWrite(s.url, body)));
      await sleep(250);
    }
  })();
  // A failed background write ends the run with its error instead of an unhandled rejection.
  let writerError: unknown;
  writer.catch((err: unknown) => {
    writerError = err;
    writing = false;
  });

  const firing: Record<string, number[]> = { vigil: [], prom: [] };
  const resolved: Record<string, number[]> = { vigil: [], prom: [] };
  const missed: Record<string, number> = { vigil: 0, prom: 0 };
  const acked: Record<string, number[]> = { vigil: [], prom: [] };
  const isFor = (system: string, queue: string, status: 'firing' | 'resolved') => (n: Notification) =>
    n.system === system &&
    n.alerts.some(
      (a) => a.labels.queue === queue && a.labels.alertname === 'QueueTooDeep' && a.status === status,
    );

  /** Posts one sample of `queue` to both systems and returns each system's latency to `status` (ms). */
  async function step(queue: string, value: number, status: 'firing' | 'resolved') {
    const waits = systems.map((s) => sink!.next(isFor(s.key, queue, status), TIMEOUT));
    const body = writeBody(
      [
        [
          ['__name__', 'bench_queue_depth'],
          ['queue', queue],
        ],
      ],
      [value],
      Date.now(),
    );
    const t0 = performance.now();
    await Promise.all(
      systems.map(async (s) => {
        await remoteWrite(s.url, body);
        // How long the write itself took tells ingestion apart from evaluation and delivery in the tail.
        acked[s.key]!.push(performance.now() - t0);
      }),
    );
    const got = await Promise.all(waits);
    return Object.fromEntries(systems.map((s, i) => [s.key, got[i] ? got[i]!.at - t0 : undefined]));
  }

  log(`warm-up crossing, then ${ITERATIONS} measured crossings…`);
  await sleep(2000);
  const cpu0 = systems.map((s) => s.pids.reduce((a, p) => a + cpuSeconds(p), 0));
  const wall0 = performance.now();
  for (let i = 0; i <= ITERATIONS; i++) {
    const queue = i === 0 ? 'warmup' : `q${i}`;
    const up = await step(queue, 50, 'firing');
    await sleep(200);
    const down = await step(queue, 0, 'resolved');
    await sleep(Math.random() * 1000);
    if (i === 0) continue;
    for (const s of systems) {
      if (up[s.key] === undefined) missed[s.key]!++;
      else firing[s.key]!.push(up[s.key]!);
      if (down[s.key] === undefined) missed[s.key]!++;
      else resolved[s.key]!.push(down[s.key]!);
    }
    if (i % 10 === 0) log(`  ${i}/${ITERATIONS}`);
    if (writerError) throw new Error('background remote-write failed', { cause: writerError });
  }
  const wall = (performance.now() - wall0) / 1000;
  const cpu = systems.map((s, i) => s.pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0[i]!);
  writing = false;
  await writer.catch(() => {});

  const m = describeMachine();
  // Other work on the machine shows in the tails: say how busy it was.
  const load = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
  const row = (label: string, s: (typeof systems)[number], xs: number[], i: number) => [
    label,
    s.key === 'vigil' ? 'Vigil' : 'Prometheus + Alertmanager',
    fmt(pct(xs, 50)),
    fmt(pct(xs, 99)),
    fmt(xs.length ? Math.max(...xs) : NaN),
    String(xs.length),
    xs.length ? `${((xs.filter((x) => x < 1000).length / xs.length) * 100).toFixed(0)}%` : '–',
    i === 0 ? `${((cpu[systems.indexOf(s)]! / wall) * 100).toFixed(1)}%` : '',
  ];
  log('');
  log(
    `alert latency, remote-write arrival → webhook receipt: ${ITERATIONS} crossings (each a new series and ` +
      `group), 1 threshold rule (for: 0s, interval 1s) + ${BACKGROUND} background alerting rules; ` +
      `${m.cores} cores, ${m.cpu}, load average ${load}; ${new Date().toISOString().slice(0, 10)}`,
  );
  for (const s of systems) log(`  ${s.key === 'vigil' ? 'Vigil' : 'Peer'}: ${s.name}`);
  log(
    '  Prometheus: evaluation_interval 1s, --alertmanager.notification-queue-capacity 10000 (default); ' +
      'both pipelines: group_wait 0s, group_interval 1s, group_by [alertname, queue]',
  );
  log('');
  log(
    textTable(
      ['ms', 'system', 'p50', 'p99', 'max', 'n', 'under 1 s', 'CPU (1 core)'],
      systems.flatMap((s) => [row('firing', s, firing[s.key]!, 0), row('resolved', s, resolved[s.key]!, 1)]),
    ),
  );
  const ratio = (p: number) => (pct(firing.prom!, p) / pct(firing.vigil!, p)).toFixed(2);
  log('');
  log(`firing: Prometheus + Alertmanager / Vigil = ${ratio(50)}× at p50, ${ratio(99)}× at p99`);
  log(
    'remote-write answered (p50 / p99 / max ms, all writes): ' +
      systems
        .map(
          (s) =>
            `${s.key === 'vigil' ? 'Vigil' : 'Prometheus'} ${fmt(pct(acked[s.key]!, 50))} / ` +
            `${fmt(pct(acked[s.key]!, 99))} / ${fmt(Math.max(...acked[s.key]!))}`,
        )
        .join(', '),
  );
  if (missed.vigil || missed.prom)
    log(
      `no notification within ${TIMEOUT} ms: Vigil ${missed.vigil}, Prometheus + Alertmanager ${missed.prom}`,
    );
  if (sink.rejected) log(`webhook bodies that were not JSON: ${sink.rejected}`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`alert-latency failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const p of started.reverse()) await p.stop().catch(() => {});
  await sink?.close();
}
process.exit();
