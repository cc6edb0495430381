/**
 * Takes the demo's screenshots (docs/screenshots/demo-*.png): starts the demo in a temporary folder, lets it
 * run for a minute, and photographs the Overview, the pipeline dashboard and a trace crossing every channel
 * in headless Chromium; then switches on silent loss and a channel outage and photographs the Health view
 * and the alerts. Run: npx tsx demo/scripts/screenshots.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser } from '../../test/ui/browser.ts';
import { startDemo } from '../launcher.ts';

const OUT = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-demo-shots-'));
const demo = await startDemo({ port: 0, controlPort: 0, rate: 10, dataDir, log });
const browser = await openBrowser();
try {
  log('letting the pipeline run for 60 s');
  await sleep(60_000);
  const page = await browser.newPage({ width: 1400, height: 900 });
  const shot = async (path: string, file: string, wait = 1500) => {
    await page.goto(demo.url + path);
    await page.waitForSelector('[data-view][data-ready="true"]', { timeout: 60_000 }).catch(() => {});
    await sleep(wait);
    await page.screenshot({ path: join(OUT, file) });
    log(`wrote ${file}`);
  };
  await shot('/', 'demo-overview.png');
  await shot('/d/demo-pipeline', 'demo-dashboard.png', 4000);
  // The newest trace that reached all four channels.
  const res = await fetch(`${demo.url}/api/traces?service=loadgen&limit=100&lookback=5m`);
  const { data } = (await res.json()) as {
    data: { traceID: string; spans: { operationName: string }[] }[];
  };
  const all = data.find((t) =>
    ['email', 'sms', 'push', 'webhook'].every((c) =>
      t.spans.some((s) => s.operationName === `process channel.${c}`),
    ),
  );
  if (all) await shot(`/traces/${all.traceID}`, 'demo-trace.png');
  else log('no trace through all channels found');

  for (const [name, body] of [
    ['loss', { from: 'validation', to: 'enrichment', rate: 0.4 }],
    ['channel-down', { channel: 'sms' }],
  ] as const)
    await fetch(`${demo.controlUrl}/faults/${name}`, { method: 'POST', body: JSON.stringify(body) });
  log('faults on; waiting 50 s for the alerts');
  await sleep(50_000);
  await shot('/health', 'demo-health.png');
  await shot('/health?tab=flows', 'demo-flows.png');
  await shot('/alerts', 'demo-alerts.png');
} finally {
  await browser.close();
  await demo.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
