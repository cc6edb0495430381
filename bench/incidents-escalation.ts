/**
 * Paging latency and escalation timing (src/incidents/).
 *
 *   npx tsx bench/incidents-escalation.ts [--incidents 40] [--delay 1s] [--spacing 250] [--out docs/benchmarks.md]
 *
 * The incident service over a real alert pipeline, a real SQLite state store and a real HTTP webhook server
 * standing in for each person's pager. Each of --incidents alerts (distinct services, fired --spacing ms apart)
 * opens an incident whose policy pages user "first" at step 0 and user "second" after --delay. Measured:
 *
 * - first page: from handing the alert to the pipeline to the webhook request arriving at the pager;
 * - escalation error: when the step-1 page arrives, minus (incident opened + configured delay).
 *
 * Prints p50/p99/max of both and writes its section to --out. A benchmark: it asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_ALERTMANAGER_CONFIG_YAML, loadAlertmanagerConfigText } from '../src/alerts/config/load.ts';
import { AlertPipeline } from '../src/alerts/pipeline.ts';
import { notifyPager } from '../src/incidents/pager.ts';
import { IncidentService } from '../src/incidents/service.ts';
import { parseDuration } from '../src/model/duration.ts';
import { systemClock } from '../src/rules/clock.ts';
import { openStateStore } from '../src/state/open.ts';
import { describeMachine, markdownTable, num, textTable, writeSection } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    incidents: { type: 'string', default: '40' },
    delay: { type: 'string', default: '1s' },
    spacing: { type: 'string', default: '250' },
    out: { type: 'string', default: 'docs/benchmarks.md' },
  },
  strict: true,
});
const N = Math.max(1, Number(values.incidents));
const DELAY = parseDuration(values.delay);
const SPACING = Number(values.spacing);
const HEADING = '## Incident paging and escalation (bench/incidents-escalation.ts)';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

// Wall-clock arrival of each page at the pager, per incident and user (performance.timeOrigin-based ms).
const arrivals = new Map<string, number>();
const server = createServer((req, res) => {
  const at = performance.timeOrigin + performance.now();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      commonAnnotations: Record<string, string>;
    };
    arrivals.set(`${body.commonAnnotations.incident_id}/${req.url}`, at);
    res.writeHead(200).end('ok');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-incidents-'));
const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.db') });
const config = loadAlertmanagerConfigText(DEFAULT_ALERTMANAGER_CONFIG_YAML, 'am.yml');
const pipeline = await AlertPipeline.start({ config, externalURL: 'http://vigil.bench' });
for (const id of ['first', 'second'])
  await state.users.put({
    id,
    name: id,
    body: { id, contacts: [{ type: 'webhook', url: `${hook}/${id}` }] },
  });
await state.policies.put({
  id: 'bench',
  name: 'bench',
  body: {
    id: 'bench',
    steps: [
      { delayMs: DELAY, targets: [{ type: 'user', id: 'first' }] },
      { delayMs: 3_600_000, targets: [{ type: 'user', id: 'second' }] },
    ],
  },
});
const svc = await IncidentService.start({
  state,
  alerts: pipeline,
  clock: systemClock,
  pager: notifyPager(() => pipeline.config),
  externalURL: () => 'http://vigil.bench',
});

const sentAt = new Map<string, number>();
for (let i = 0; i < N; i++) {
  const service = `svc-${i}`;
  sentAt.set(service, performance.timeOrigin + performance.now());
  await pipeline.receive(
    [
      {
        labels: { alertname: `Bench${i}`, service, severity: 'critical' },
        annotations: {},
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    ],
    'bench',
  );
  await new Promise((r) => setTimeout(r, SPACING));
}
const deadline = Date.now() + DELAY + 60_000;
for (;;) {
  const incidents = await state.incidents.list();
  const done = incidents.filter((inc) => arrivals.has(`${inc.id}//second`)).length;
  if ((incidents.length >= N && done >= incidents.length) || Date.now() > deadline) break;
  await new Promise((r) => setTimeout(r, 200));
}

const incidents = await state.incidents.list();
const firstPage: number[] = [];
const escalation: number[] = [];
for (const inc of incidents) {
  const sent = sentAt.get(inc.services[0]!);
  const first = arrivals.get(`${inc.id}//first`);
  const second = arrivals.get(`${inc.id}//second`);
  if (sent !== undefined && first !== undefined) firstPage.push(first - sent);
  if (second !== undefined) escalation.push(second - (inc.createdAt + DELAY));
}
await svc.stop();
await pipeline.stop();
await state.close();
await new Promise<void>((r) => server.close(() => r()));
rmSync(dir, { recursive: true, force: true });

const rows = [
  [
    'alert → first page delivered (ms)',
    firstPage.length,
    num(pct(firstPage, 50), 1),
    num(pct(firstPage, 99), 1),
    num(Math.max(...firstPage), 1),
  ],
  [
    `escalation after ${values.delay}: error vs configured delay (ms)`,
    escalation.length,
    num(pct(escalation, 50), 1),
    num(pct(escalation, 99), 1),
    num(Math.max(...escalation), 1),
  ],
];
const header = ['measure', 'n', 'p50', 'p99', 'max'];
console.log(`${incidents.length} incidents from ${N} alerts (SQLite state, webhook pages over HTTP)`);
console.log(textTable(header, rows));
const m = describeMachine();
writeSection(
  values.out,
  HEADING,
  `${HEADING}

\`npx tsx bench/incidents-escalation.ts --incidents ${N} --delay ${values.delay} --spacing ${SPACING}\` on ${m.cores} cores (${m.cpu}),
Node ${m.node}. The incident service over a real alert pipeline and SQLite state store; each person's pager is a
local HTTP webhook. ${incidents.length} incidents from ${N} alerts fired ${SPACING} ms apart. "First page" runs from
handing the alert to the pipeline to the webhook request arriving; "escalation error" is the arrival of the
step-1 page minus (incident opened + configured step delay).

${markdownTable(header, rows)}
`,
);
