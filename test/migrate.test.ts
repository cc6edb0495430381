/**
 * `vigil import --from-prometheus`: migration from a running Debian Prometheus (holding a generated
 * multi-day dataset, built into blocks by promtool) through its remote-read API into a running Vigil
 * (`--url`, remote-write). Afterwards both answer the same queries.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, tempDir, type Peer, type TestVigil } from './helpers.ts';
import {
  DATASET_RANGE_QUERIES,
  expectSameAnswer,
  prometheusFromFile,
  vigilCli,
  writeDataset,
  type Dataset,
} from './cli-helpers.ts';

const dir = tempDir('migrate');
let data: Dataset;
let prom: Peer;
let vigil: TestVigil;

beforeAll(async () => {
  data = writeDataset(dir, 2);
  [prom, vigil] = await Promise.all([
    prometheusFromFile(data.file),
    // Debian's Prometheus is 2.x: Vigil answers in its Prometheus 2 window mode.
    startTestVigil('query:\n  compatibility: prometheus2\n'),
  ]);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await vigil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('vigil import --from-prometheus', () => {
  it('refuses a selector that is not one, before doing anything', async () => {
    const res = await vigilCli([
      'import',
      '--from-prometheus',
      prom.url,
      '--start',
      'now-1h',
      '--end',
      'now',
      '--match',
      'rate(x[5m])',
      '--url',
      vigil.url,
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--match "rate(x[5m])" is not a series selector');
  });

  it('migrates every series through remote read, window by window', async () => {
    const cp = join(dir, 'migration.checkpoint.json');
    const res = await vigilCli([
      'import',
      '--from-prometheus',
      prom.url,
      '--start',
      new Date(data.start).toISOString(),
      '--end',
      String(data.end / 1000),
      '--window',
      '6h',
      '--url',
      vigil.url,
      '--checkpoint',
      cp,
    ]);
    expect(res.stderr).toContain(
      `imported ${data.samples} samples of ${data.series} series from ${prom.url}`,
    );
    expect(res.code).toBe(0);
    expect((await vigil.storage.stats()).samples).toBe(data.samples); // each sample written once
  }, 60_000);

  it('answers queries like the Prometheus it came from', async () => {
    const range = { start: data.start / 1000, end: data.end / 1000, step: 1800 };
    for (const q of DATASET_RANGE_QUERIES)
      expect(await expectSameAnswer(prom.url, vigil.url, q, range)).toBeGreaterThan(0);
    expect(
      await expectSameAnswer(prom.url, vigil.url, '{__name__=~"demo_.+"}[1h]', {
        time: data.end / 1000 - 3600,
      }),
    ).toBe(61 * data.series);
  });

  it('selects with --match and does not repeat a series matched twice', async () => {
    const res = await vigilCli([
      'import',
      '--from-prometheus',
      prom.url,
      '--start',
      String(data.end / 1000 - 3600),
      '--end',
      String(data.end / 1000),
      '--match',
      'demo_temperature_celsius',
      '--match',
      '{__name__="demo_temperature_celsius", room=~"back.*"}',
      '--url',
      vigil.url,
      '--checkpoint',
      join(dir, 'match.checkpoint.json'),
    ]);
    expect(res.code, res.stderr).toBe(0);
    // Two rooms, 61 minutes each; the room matched by both selectors is sent once.
    expect(res.stderr).toContain('imported 122 samples of 2 series');
  }, 60_000);
});
