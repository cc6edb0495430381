/**
 * Incident views benchmark: with 1,000 open incidents, the time the incident list and an incident page take
 * to show in headless Chromium.
 *
 *   npx tsx bench/incidents-ui.ts [--incidents 1000] [--events 200] [--runs 7] [--out docs/benchmarks.md]
 *
 * 1. Starts Vigil (fresh data folder, built UI from ui/dist) and opens --incidents incidents by hand through
 *    POST /api/vigil/v1/incidents (mixed severities and services, all open: a third acknowledged), and gives
 *    one of them a timeline of --events notes.
 * 2. For each view, --runs times in a fresh browser context (no cache): navigate, wait until the view marks
 *    itself `data-ready="true"` and the next frame is painted. Prints median and worst, and how many rows the
 *    list put in the page.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { openBrowser } from '../test/ui/browser.ts';
import { describeMachine, markdownTable, num, textTable, wrap, writeSection } from './lib/report.ts';
import { killAllChildren, request, startVigil } from './lib/systems.ts';
import { stats, timeViewLoads } from './lib/ui-timing.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEADING = '## Incident views (bench/incidents-ui.ts)';
const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

const { values: argv } = parseArgs({
  options: {
    incidents: { type: 'string', default: '1000' },
    events: { type: 'string', default: '200' },
    runs: { type: 'string', default: '7' },
    out: { type: 'string', default: 'docs/benchmarks.md' },
  },
  strict: true,
});
const N = Math.max(1, Number(argv.incidents));
const EVENTS = Math.max(0, Number(argv.events));
const RUNS = Math.max(1, Number(argv.runs));
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const SERVICES = ['checkout', 'payments', 'search', 'email', 'sms', 'push', 'webhooks', 'ingest'];

async function post(base: string, path: string, body: unknown): Promise<{ id?: string }> {
  const r = await request(`${base}/api/vigil/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  });
  if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body.toString() || '{}') as { id?: string };
}

async function main(): Promise<void> {
  if (!existsSync(join(REPO, 'ui', 'dist', 'index.html'))) {
    log('building the UI (npm run build:ui)');
    execFileSync('npm', ['run', 'build:ui'], { cwd: REPO, stdio: 'inherit' });
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-incidents-ui-'));
  const machine = describeMachine();
  const vigil = await startVigil({ dir: join(dir, 'vigil'), repoRoot: REPO, log });
  const tb = await openBrowser();
  try {
    const base = vigil.baseUrl;
    await post(base, '/users', { id: 'ana', name: 'Ana', contacts: [{ email: 'ana@example.com' }] });
    const t0 = performance.now();
    let target = '';
    // Eight writers at a time: the store serialises them anyway, this only hides the HTTP round trips.
    for (let i = 0; i < N; i += 8) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(8, N - i) }, (_, k) => {
          const j = i + k;
          return post(base, '/incidents', {
            title: `${SERVICES[j % SERVICES.length]}: delivery latency above objective (#${j})`,
            severity: SEVERITIES[j % SEVERITIES.length],
            services: [SERVICES[j % SERVICES.length], SERVICES[(j + 3) % SERVICES.length]],
            components: [`node-${j % 17}`],
          });
        }),
      );
      if (!target) target = batch[0]!.id!;
      for (const [k, inc] of batch.entries())
        if ((i + k) % 3 === 1) await post(base, `/incidents/${inc.id}/ack`, { actor: 'ana' });
    }
    for (let e = 0; e < EVENTS; e++)
      await post(base, `/incidents/${target}/notes`, {
        actor: 'ana',
        text: `Observation ${e}: still degraded.`,
      });
    log(
      `opened ${num(N)} incidents and ${num(EVENTS)} notes in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const views = [
      {
        name: `Incident list (${num(N)} open, first page)`,
        path: '/incidents',
        selector: '[data-view="incidents"][data-ready="true"]',
        api: '/api/vigil/v1/incidents?limit=10000',
      },
      {
        name: `Incident list (${num(N)} open, filtered to one service)`,
        path: `/incidents?service=${SERVICES[0]}`,
        selector: '[data-view="incidents"][data-ready="true"]',
        api: `/api/vigil/v1/incidents?service=${SERVICES[0]}&limit=10000`,
      },
      {
        name: `Incident page (${num(EVENTS + 1)} timeline events)`,
        path: `/incidents/${target}`,
        selector: '[data-view="incident"][data-ready="true"]',
        api: `/api/vigil/v1/incidents/${target}`,
      },
    ];
    const rows: { name: string; median: number; worst: number; rowsInPage: number; apiMs: number }[] = [];
    for (const v of views) {
      // The API's own answer time for the view's main request, to tell server time from browser time.
      const apiTimes: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const start = performance.now();
        const r = await request(`${base}${v.api}`);
        if (r.status !== 200) throw new Error(`GET ${v.api}: ${r.status} ${r.body}`);
        if (i > 0) apiTimes.push(performance.now() - start);
      }
      const apiMs = stats(apiTimes).median;
      const s = await timeViewLoads(tb.browser, `${base}${v.path}`, v.selector, RUNS, (page) =>
        page.locator('[data-testid=incident-row], [data-testid=timeline-event]').count(),
      );
      const rowsInPage = s.inspected ?? 0;
      rows.push({ name: v.name, median: s.median, worst: s.worst, rowsInPage, apiMs });
      log(
        `  ${v.name}: median ${s.median.toFixed(0)} ms, worst ${s.worst.toFixed(0)} ms, ${rowsInPage} rows; API ${apiMs.toFixed(0)} ms`,
      );
    }
    const header = ['View', 'Median ms', 'Worst ms', 'Its API request, median ms', 'Rows in the page'];
    const table = rows.map((r) => [r.name, num(r.median), num(r.worst), num(r.apiMs), num(r.rowsInPage)]);
    console.log(textTable(header, table));
    if (argv.out !== '-') {
      const section = [
        HEADING,
        '',
        wrap(
          `Command: \`npx tsx bench/incidents-ui.ts --incidents ${N} --events ${EVENTS} --runs ${RUNS}\`. ` +
            `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}; ${new Date().toISOString().slice(0, 10)}. ` +
            `Vigil (SQLite state store) holds ${num(N)} open incidents (a third acknowledged); one has ${num(EVENTS)} notes. ` +
            `Each figure is the time from navigation in a fresh Chromium context (empty cache) until the view marks itself ` +
            `data-ready and the next frame is painted; median and worst of ${RUNS} runs after one warm-up. The list ` +
            `fetches every matching incident once and shows 50 per page, open and most severe first. The API column is ` +
            `the median time of the view's main request (the list, or one incident with its timeline) sent from Node, ` +
            `so the rest is the browser's share: loading the page and its scripts, the other requests, rendering. ` +
            `Load average during the run: ${loadavg()
              .map((l) => l.toFixed(1))
              .join(', ')}.`,
        ),
        '',
        markdownTable(header, table),
      ].join('\n');
      writeSection(resolve(REPO, argv.out!), HEADING, section);
      log(`wrote ${argv.out}`);
    }
  } finally {
    await tb.close().catch(() => {});
    await vigil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});
main().catch((err) => {
  killAllChildren();
  console.error(err);
  process.exit(1);
});
