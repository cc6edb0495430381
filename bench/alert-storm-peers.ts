/**
 * Notifications per alert on the labelled alert-storm corpus, side by side: Vigil's alert pipeline and
 * Debian's Alertmanager (grouped by alertname, and not grouped), fed the same Alertmanager API v2 posts.
 *
 *   npx tsx bench/alert-storm-peers.ts [--seed 42] [--cases 0-4] [--minute-ms 500] [--no-plain]
 *                                     [--dump notifications.json]
 *
 * The corpus cases (src/alerts/correlate/corpus; 90 corpus minutes each) are replayed one after the other on a
 * compressed clock: --minute-ms real milliseconds per corpus minute, from one minute before a case's first
 * alert to its last resolve. As Prometheus would, the replay posts an alert when it starts firing, re-posts
 * every active alert each corpus minute (resend_delay 1m) with endsAt four corpus minutes ahead, and posts it
 * with endsAt = now when it ends; every post goes to the three systems at once. Each alert carries a
 * `bench_case` label so notifications can be attributed (it splits no group: one case runs at a time).
 *
 * Routes: Alertmanager's defaults on the same clock — group_wait 30s, group_interval 5m, repeat_interval 4h,
 * all scaled by --minute-ms/60000 — with `group_by: [alertname]` (Alertmanager "by alertname" and Vigil) and
 * `group_by: ['...']` (Alertmanager "no grouping"); one webhook receiver each (send_resolved: true) served by
 * this script. Vigil runs its default pipeline with that route; the time settings of its storm protection
 * (`alerting.storm`: window, calm period, rate limit per minute, flapping window and stable time) are its
 * defaults scaled the same way. A second Vigil with storm protection off shows what that stage adds
 * (--no-plain leaves it out).
 *
 * Prints, per system: alerts and firing episodes replayed, notifications (firing / resolved only), firing
 * notifications per episode, the reduction against one notification per episode, and ground-truth incidents
 * with at least one alert firing in some notification.
 *
 * Exits 2 when prometheus-alertmanager is not on PATH. Every process it starts is stopped at the end, on
 * errors and on Ctrl-C. A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stormConfigSchema } from '../src/alerts/config/storm.ts';
import { generateCorpus, type CorpusCase } from '../src/alerts/correlate/corpus/generate.ts';
import { requireBinaries, startAlertmanager, WebhookSink } from './lib/alerting-peers.ts';
import { describeMachine, textTable } from './lib/report.ts';
import { CASE_LABEL, replayTimeline, scaled, scaledStormYaml, scoreReplay } from './lib/storm-replay.ts';
import { killAllChildren, request, startVigil } from './lib/systems.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    cases: { type: 'string', default: '0-4' },
    'minute-ms': { type: 'string', default: '500' },
    /** Writes every notification received (JSON) to this file, for looking into the figures. */
    dump: { type: 'string' },
    /** Leaves out the second Vigil (storm protection off). */
    'no-plain': { type: 'boolean', default: false },
  },
});
const SEED = Number(args.seed);
const MINUTE_MS = Number(args['minute-ms']);

/** "0-4,7" → [0,1,2,3,4,7]. */
function parseCases(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`--cases: "${part}" is not a case number or range like 0-4`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}
let CASES: number[];
try {
  CASES = parseCases(args.cases);
  if (!Number.isInteger(SEED)) throw new Error(`--seed must be an integer, got ${args.seed}`);
  if (!(MINUTE_MS >= 50)) throw new Error(`--minute-ms must be at least 50, got ${args['minute-ms']}`);
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(2);
}

const bins = requireBinaries([{ bin: 'prometheus-alertmanager', pkg: 'prometheus-alertmanager' }]);

const dir = mkdtempSync(join(tmpdir(), 'vigil-alert-storm-'));
const started: { stop(): Promise<void> }[] = [];
let sink: WebhookSink | undefined;
process.on('exit', () => {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping every process this benchmark started\n`);
    process.exit(130);
  });

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const GROUP_WAIT = scaled(30, MINUTE_MS);
const GROUP_INTERVAL = scaled(300, MINUTE_MS);
const REPEAT_INTERVAL = scaled(4 * 3600, MINUTE_MS);
/** Prometheus re-sends firing alerts every resend_delay (1m) and marks them valid for 4 × that. */
const RESEND = MINUTE_MS;
const VALID_FOR = 4 * MINUTE_MS;

function routeYaml(groupBy: string, url: string): string {
  return [
    'route:',
    '  receiver: hook',
    `  group_by: ${groupBy}`,
    `  group_wait: ${GROUP_WAIT}ms`,
    `  group_interval: ${GROUP_INTERVAL}ms`,
    `  repeat_interval: ${REPEAT_INTERVAL}ms`,
    'receivers:',
    '  - name: hook',
    `    webhook_configs: [{url: '${url}', send_resolved: true}]`,
    '',
  ].join('\n');
}

interface Target {
  readonly key: string;
  readonly label: string;
  readonly url: string;
}

async function postAlerts(targets: readonly Target[], alerts: object[]): Promise<void> {
  const body = Buffer.from(JSON.stringify(alerts));
  await Promise.all(
    targets.map(async (t) => {
      const r = await request(`${t.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        timeoutMs: 30_000,
      });
      if (r.status >= 300)
        throw new Error(
          `POST ${t.label} /api/v2/alerts: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`,
        );
    }),
  );
}

/** Replays one case in real time into every target; resolves once the last alert has been posted resolved. */
async function replayCase(c: CorpusCase, targets: readonly Target[]): Promise<void> {
  const { events } = replayTimeline(c, MINUTE_MS);
  const active = new Map<number, string>(); // alert index → startsAt
  const postable = (i: number, endsAt: number) => {
    const a = c.alerts[i]!;
    return {
      labels: { ...a.labels, [CASE_LABEL]: c.name },
      annotations: a.annotations,
      // An alert resolved without being active: starts when it ends (the clock may tick between the two reads).
      startsAt: active.get(i) ?? new Date(Math.min(Date.now(), endsAt)).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      generatorURL: `http://bench.invalid/${c.name}`,
    };
  };
  const t0 = performance.now();
  let next = 0;
  let lastResend = 0;
  while (next < events.length) {
    const now = performance.now() - t0;
    const batch = new Map<number, object>();
    while (next < events.length && events[next]!.at <= now) {
      const e = events[next++]!;
      if (e.kind === 'fire') {
        active.set(e.alert, new Date().toISOString());
        batch.set(e.alert, postable(e.alert, Date.now() + VALID_FOR));
      } else {
        batch.set(e.alert, postable(e.alert, Date.now()));
        active.delete(e.alert);
      }
    }
    if (now - lastResend >= RESEND) {
      lastResend = now;
      for (const i of active.keys()) if (!batch.has(i)) batch.set(i, postable(i, Date.now() + VALID_FOR));
    }
    if (batch.size) await postAlerts(targets, [...batch.values()]);
    const wake = Math.min(events[next]?.at ?? Infinity, lastResend + RESEND);
    await sleep(Math.max(5, wake - (performance.now() - t0)));
  }
}

/** Waits until no notification has arrived for `quietMs` (at most `capMs`). */
async function drain(quietMs: number, capMs: number): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < capMs) {
    const since = performance.now() - Math.max(sink!.lastAt(), start);
    if (since >= quietMs) return;
    await sleep(Math.min(250, quietMs - since + 5));
  }
}

async function main(): Promise<void> {
  const corpus = generateCorpus({ seed: SEED, cases: Math.max(...CASES) + 1 });
  const cases = CASES.map((i) => corpus[i]!);
  sink = await WebhookSink.start();

  log('starting two Alertmanagers and Vigil on loopback…');
  const amName = await startAlertmanager(
    join(dir, 'am-alertname'),
    bins['prometheus-alertmanager']!,
    routeYaml('[alertname]', sink.urlFor('am-alertname')),
  );
  started.push(amName);
  const amNone = await startAlertmanager(
    join(dir, 'am-none'),
    bins['prometheus-alertmanager']!,
    routeYaml("['...']", sink.urlFor('am-none')),
  );
  started.push(amNone);
  // Vigil's storm protection counts alerts per minute and holds flapping alerts for minutes: on the compressed
  // clock its defaults are scaled like the routes, or a replay would look like a storm 1/scale times as dense.
  const storm = stormConfigSchema.parse({});
  const vigilAt = async (key: string, stormYaml: string) => {
    writeFileSync(join(dir, `${key}-alertmanager.yml`), routeYaml('[alertname]', sink!.urlFor(key)));
    const v = await startVigil(
      { dir: join(dir, key), repoRoot: REPO, log },
      `alerting: {config_file: ${join(dir, `${key}-alertmanager.yml`)}, ${stormYaml}}\n`,
    );
    started.push(v);
    return v;
  };
  const vigil = await vigilAt('vigil', scaledStormYaml(storm, MINUTE_MS));
  const targets: Target[] = [
    {
      key: 'vigil',
      label: `Vigil ${vigil.version}, default pipeline (storm protection ${storm.enabled ? 'on' : 'off'}, its defaults scaled), group_by [alertname]`,
      url: vigil.baseUrl,
    },
  ];
  if (!args['no-plain']) {
    const plain = await vigilAt('vigil-plain', 'storm: {enabled: false}');
    targets.push({
      key: 'vigil-plain',
      label: `Vigil ${plain.version}, storm protection off, group_by [alertname]`,
      url: plain.baseUrl,
    });
  }
  targets.push(
    {
      key: 'am-alertname',
      label: `Alertmanager ${amName.version}, group_by [alertname]`,
      url: amName.baseUrl,
    },
    {
      key: 'am-none',
      label: `Alertmanager ${amNone.version}, no grouping (group_by ['...'])`,
      url: amNone.baseUrl,
    },
  );

  const replayMs = cases.reduce((t, c) => t + replayTimeline(c, MINUTE_MS).durationMs, 0);
  log(
    `replaying ${cases.length} cases (${cases.map((c) => c.name).join(', ')}) at ${MINUTE_MS} ms per corpus ` +
      `minute: about ${(replayMs / 1000).toFixed(0)} s plus a drain after each case`,
  );
  const perCase: { name: string; counts: Record<string, number> }[] = [];
  const wall0 = performance.now();
  for (const c of cases) {
    const before = sink.received.length;
    await replayCase(c, targets);
    // Resolved notifications go out at the next group_interval tick; wait until every system is quiet.
    await drain(2 * GROUP_INTERVAL + 1000, 60_000);
    const mine = sink.received.slice(before);
    perCase.push({
      name: c.name,
      counts: Object.fromEntries(
        targets.map((t) => [
          t.key,
          mine.filter((n) => n.system === t.key && n.alerts.some((a) => a.status === 'firing')).length,
        ]),
      ),
    });
    log(
      `  ${c.name}: ${c.alerts.length} alerts, firing notifications ` +
        targets.map((t) => `${t.key} ${perCase[perCase.length - 1]!.counts[t.key]}`).join(', '),
    );
  }
  const wall = (performance.now() - wall0) / 1000;

  const m = describeMachine();
  // Other work on the machine shows in the tails: say how busy it was.
  const load = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  log('');
  log(
    `alert storm corpus (seed ${SEED}), cases ${cases.map((c) => c.name).join(', ')}; ` +
      `1 corpus minute = ${MINUTE_MS} ms, so group_wait 30s → ${GROUP_WAIT} ms, group_interval 5m → ` +
      `${GROUP_INTERVAL} ms, repeat_interval 4h → ${REPEAT_INTERVAL} ms, resend 1m → ${RESEND} ms; ` +
      `replay ${wall.toFixed(0)} s; ${m.cores} cores, load average ${load}; ${new Date().toISOString().slice(0, 10)}`,
  );
  for (const t of targets) log(`  ${t.key}: ${t.label}`);
  log('');
  const rows = targets.map((t) => {
    const s = scoreReplay(
      cases,
      sink!.received.filter((n) => n.system === t.key),
    );
    if (s.unknownAlerts)
      log(`  warning: ${t.key} notified ${s.unknownAlerts} alerts that match no replayed alert`);
    return [
      t.key,
      `${s.alerts} (${s.episodes})`,
      `${s.firing} / ${s.resolvedOnly}`,
      (s.firing / s.episodes).toFixed(3),
      `${((1 - s.firing / s.episodes) * 100).toFixed(1)} %`,
      `${s.incidentsNotified}/${s.incidents}`,
    ];
  });
  log(
    textTable(
      [
        'system',
        'alerts (episodes)',
        'notifications firing / resolved',
        'per episode',
        'reduction',
        'incidents notified',
      ],
      rows,
    ),
  );
  log('');
  log(
    textTable(
      ['case', ...targets.map((t) => t.key)],
      perCase.map((p) => [p.name, ...targets.map((t) => String(p.counts[t.key]))]),
    ),
  );
  if (sink.rejected) log(`webhook bodies that were not JSON: ${sink.rejected}`);
  if (args.dump) writeFileSync(args.dump, JSON.stringify(sink.received, null, 1));
}

try {
  await main();
} catch (err) {
  process.stderr.write(`alert-storm-peers failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const p of started.reverse()) await p.stop().catch(() => {});
  await sink?.close();
}
process.exit();
