/**
 * Web UI benchmark: time from navigation to a rendered, data-filled view, in headless Chromium.
 *
 *   npx tsx bench/ui.ts [--hours 24] [--interval 60] [--runs 7] [--out docs/benchmarks.md] [--seed 42]
 *
 * 1. Starts Vigil (fresh data folder, built UI from ui/dist) and loads the seeded ~10k-series pipeline
 *    dataset over remote-write, with a `job` label per service and an `up` series per instance so the
 *    Overview has components with figures.
 * 2. Provisions a 12-panel dashboard through the dashboards API.
 * 3. For each view, --runs times in a fresh browser context (no cache): navigate, wait until the view marks
 *    itself `data-ready="true"` and the next frame is painted. Prints median and worst.
 * 4. Reports the JavaScript and CSS the browser downloads for the first view, raw and gzip, and in total.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { openBrowser } from '../test/ui/browser.ts';
import { dashboard12, loadPipeline } from './lib/ui-data.ts';
import { bytes, describeMachine, markdownTable, num, textTable, wrap, writeSection } from './lib/report.ts';
import { killAllChildren, request, startVigil } from './lib/systems.ts';
import { timeViewLoads } from './lib/ui-timing.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEADING = '## Web UI (bench/ui.ts)';
const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

const { values: argv } = parseArgs({
  options: {
    hours: { type: 'string', default: '24' },
    interval: { type: 'string', default: '60' },
    runs: { type: 'string', default: '7' },
    out: { type: 'string', default: 'docs/benchmarks.md' },
    seed: { type: 'string', default: '42' },
  },
  strict: true,
});
const HOURS = Number(argv.hours);
const INTERVAL_S = Number(argv.interval);
const RUNS = Math.max(1, Number(argv.runs));
const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface ViewDef {
  readonly name: string;
  readonly path: string;
  readonly selector: string;
}

function bundle(): {
  initial: { raw: number; gz: number };
  total: { raw: number; gz: number };
  files: number;
} {
  const dist = join(REPO, 'ui', 'dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const initialFiles = new Set<string>();
  for (const m of html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)) initialFiles.add(m[1]!);
  const sum = { raw: 0, gz: 0 };
  const initial = { raw: 0, gz: 0 };
  const files = readdirSync(join(dist, 'assets')).filter((f) => /\.(js|css)$/.test(f));
  for (const f of files) {
    const buf = readFileSync(join(dist, 'assets', f));
    const gz = gzipSync(buf, { level: 9 }).length;
    sum.raw += buf.length;
    sum.gz += gz;
    if (initialFiles.has(`assets/${f}`)) {
      initial.raw += buf.length;
      initial.gz += gz;
    }
  }
  return { initial, total: sum, files: files.length };
}

async function main(): Promise<void> {
  if (!existsSync(join(REPO, 'ui', 'dist', 'index.html'))) {
    log('building the UI (npm run build:ui)');
    execFileSync('npm', ['run', 'build:ui'], { cwd: REPO, stdio: 'inherit' });
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-ui-'));
  const machine = describeMachine();
  const vigil = await startVigil({ dir: join(dir, 'vigil'), repoRoot: REPO, log });
  const tb = await openBrowser();
  const browser = tb.browser;
  try {
    log(`loading ${HOURS} h of the pipeline dataset at ${INTERVAL_S} s into Vigil at ${vigil.baseUrl}`);
    const loaded = await loadPipeline(vigil.baseUrl, {
      hours: HOURS,
      intervalS: INTERVAL_S,
      seed: Number(argv.seed),
      log,
    });
    log(
      `loaded ${num(loaded.series)} series, ${num(loaded.samples)} samples in ${loaded.seconds.toFixed(1)} s`,
    );
    await request(`${vigil.baseUrl}/api/v1/admin/tsdb/clean_tombstones`, { method: 'POST' });
    const created = await request(`${vigil.baseUrl}/api/vigil/v1/dashboards?overwrite=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(dashboard12())),
    });
    if (created.status >= 300) throw new Error(`creating the dashboard: ${created.status} ${created.body}`);

    const explore = new URLSearchParams({
      q: 'sum by (job, code) (rate(http_requests_total[5m]))',
      from: 'now-24h',
    });
    const views: ViewDef[] = [
      {
        name: 'Overview (70 components, 1 h)',
        path: '/',
        selector: '[data-view="overview"][data-ready="true"]',
      },
      {
        name: 'Explore (24 h, 60 input series)',
        path: `/explore?${new URLSearchParams({ q: 'sum by (job) (process_resident_memory_bytes)', from: 'now-24h' })}`,
        selector: '[data-view="explore"][data-ready="true"]',
      },
      {
        name: 'Explore (24 h, 4,800 input series)',
        path: `/explore?${explore}`,
        selector: '[data-view="explore"][data-ready="true"]',
      },
      {
        name: 'Dashboard (12 panels, 24 h)',
        path: '/d/bench-12',
        selector: '[data-view="dashboard"][data-ready="true"]',
      },
    ];
    const rows: { name: string; median: number; worst: number; runs: number[] }[] = [];
    for (const v of views) {
      const s = await timeViewLoads(browser, `${vigil.baseUrl}${v.path}`, v.selector, RUNS);
      rows.push({ name: v.name, median: s.median, worst: s.worst, runs: s.times });
      log(`  ${v.name}: median ${s.median.toFixed(0)} ms, worst ${s.worst.toFixed(0)} ms`);
    }
    const b = bundle();
    const header = ['View', 'Median ms', 'Worst ms', 'Aim'];
    const table = rows.map((r) => [
      r.name,
      num(r.median),
      num(r.worst),
      r.median <= 500 ? '≤ 500 ms: met' : '> 500 ms',
    ]);
    console.log(textTable(header, table));
    console.log(
      `bundle: first view ${bytes(b.initial.raw)} (${bytes(b.initial.gz)} gzip); all ${b.files} files ${bytes(b.total.raw)} (${bytes(b.total.gz)} gzip)`,
    );
    if (argv.out !== '-') {
      const section = [
        HEADING,
        '',
        wrap(
          `Command: \`npx tsx bench/ui.ts --hours ${HOURS} --interval ${INTERVAL_S} --runs ${RUNS}\`. ` +
            `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}; ${new Date().toISOString().slice(0, 10)}. ` +
            `Vigil holds ${num(loaded.series)} series (${num(loaded.samples)} samples, ${HOURS} h at ${INTERVAL_S} s). ` +
            `Each figure is the time from navigation in a fresh Chromium context (empty cache) until the view marks itself ` +
            `data-ready and the next frame is painted; median and worst of ${RUNS} runs after one warm-up.`,
        ),
        '',
        markdownTable(header, table),
        '',
        wrap(
          `JavaScript and CSS downloaded for the first view: ${bytes(b.initial.raw)} (${bytes(b.initial.gz)} gzip). ` +
            `All ${b.files} files, including the lazily loaded editor, dashboards grid and views: ${bytes(b.total.raw)} ` +
            `(${bytes(b.total.gz)} gzip).`,
        ),
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
