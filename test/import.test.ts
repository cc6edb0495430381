/**
 * `vigil import FILE` into a stopped Vigil's data folder, checked against Debian's Prometheus holding the same
 * file (promtool built its blocks): both answer the same queries. Then a second Prometheus reads from Vigil
 * through `remote_read` (Vigil's /api/v1/read), and answers like the first one.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/config.ts';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { getJSON, queryURL, tempDir, type Peer } from './helpers.ts';
import {
  DATASET_RANGE_QUERIES,
  expectSameAnswer,
  prometheusFromFile,
  prometheusOn,
  vigilCli,
  writeDataset,
  type Dataset,
} from './cli-helpers.ts';

const dir = tempDir('import');
const dataDir = tempDir('import-data');
let data: Dataset;
let prom: Peer;
let reader: Peer | undefined;
let vigil: RunningVigil | undefined;
let vigilUrl = '';

beforeAll(async () => {
  data = writeDataset(dir);
  prom = await prometheusFromFile(data.file);
}, 60_000);

afterAll(async () => {
  await reader?.stop();
  await vigil?.close();
  await prom?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('vigil import FILE', () => {
  it('imports a multi-day OpenMetrics file into a data folder', async () => {
    const res = await vigilCli(['import', data.file, '--data-dir', dataDir, '--batch-size', '20000']);
    expect(res.stderr).toContain(
      `imported ${data.samples} samples of ${data.series} series from ${data.file} (openmetrics, lines 1-`,
    );
    expect(res.code).toBe(0);
  }, 60_000);

  it('gives the same query answers as Prometheus on the same file', async () => {
    // Debian's Prometheus is 2.x: Vigil answers in its Prometheus 2 window mode.
    const cfg = loadConfigText(
      'self_monitoring:\n  enabled: false\nquery:\n  compatibility: prometheus2\n',
      'test.yml',
      { dataDir, port: 0, otlpHttpPort: 0, otlpGrpcPort: 0, listenAddress: '127.0.0.1' },
    );
    vigil = await startVigil(cfg);
    vigilUrl = `http://127.0.0.1:${vigil.port}`;
    const stats = await vigil.storage.stats();
    expect(stats.samples).toBe(data.samples); // every sample stored exactly once
    const range = { start: data.start / 1000, end: data.end / 1000, step: 3600 };
    for (const q of DATASET_RANGE_QUERIES)
      expect(await expectSameAnswer(prom.url, vigilUrl, q, range)).toBeGreaterThan(0);
    // Raw samples, bit for bit: a range selector at an instant.
    const raw = await expectSameAnswer(prom.url, vigilUrl, '{__name__=~"demo_.+"}[2h]', {
      time: data.end / 1000,
    });
    expect(raw).toBe(121 * data.series); // Prometheus 2 windows include their start: 2 h of minutes + 1
  }, 60_000);

  it('refuses to write into the data folder of a running Vigil', async () => {
    const res = await vigilCli(['import', data.file, '--data-dir', dataDir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `the data folder ${dataDir} is in use by process ${process.pid} (a running Vigil?); stop it first, or import through it with --url`,
    );
  });

  it('through a running Vigil: stops at a bad line, says how to go on, and resumes without duplicates', async () => {
    const t0 = data.end / 1000 - 7200; // recent: older samples would fall to the default retention of 15 days
    const lines = ['# TYPE resume_test gauge'];
    for (let i = 0; i < 50; i++) lines.push(`resume_test{n="${i % 5}"} ${i} ${t0 + i * 60}`);
    lines.push('# EOF');
    const bad = [...lines];
    bad[31] = `resume_test{n="0"} 1,5 ${t0 + 30 * 60}`;
    const file = join(dir, 'resume.om');
    writeFileSync(file, bad.join('\n') + '\n');
    const before = (await vigil!.storage.stats()).samples;
    const args = ['import', file, '--url', vigilUrl, '--batch-size', '10'];
    const first = await vigilCli(args);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(
      `${file}:32: invalid value "1,5" (expected a number, NaN, +Inf or -Inf)\n` +
        'import stopped at line 32: 30 samples from the lines before it are imported, nothing from line 32 on.\n' +
        `Fix or delete line 32, then continue with:\n  vigil import ${file} --url ${vigilUrl} --batch-size 10 --resume\n`,
    );
    writeFileSync(file, lines.join('\n') + '\n');
    const second = await vigilCli([...args, '--resume']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(
      `imported 20 samples of 5 series from ${file} (openmetrics, lines 32-52, resumed)`,
    );
    expect((await vigil!.storage.stats()).samples - before).toBe(50);
    const got = await getJSON(
      queryURL(vigilUrl, '/api/v1/query', { query: 'count_over_time(resume_test[1h])', time: t0 + 3000 }),
    );
    expect(got.body.data.result.map((r: { value: [number, string] }) => r.value[1])).toEqual([
      '10',
      '10',
      '10',
      '10',
      '10',
    ]);
  }, 60_000);

  it('keeps the metadata and the escaped label values of the file', async () => {
    const meta = await getJSON(queryURL(vigilUrl, '/api/v1/metadata', {}));
    expect(meta.body.data).toMatchObject({
      demo_requests: [{ type: 'counter', help: 'Requests served.' }],
      demo_temperature_celsius: [
        { type: 'gauge', help: 'Room temperature, "measured" hourly.', unit: 'celsius' },
      ],
      demo_latency_seconds: [{ type: 'histogram' }],
    });
    const rooms = await getJSON(queryURL(vigilUrl, '/api/v1/label/room/values', {}));
    expect(rooms.body.data).toEqual(['back\\office', 'hall "A"']);
  });

  it('serves Prometheus remote_read: a Prometheus reading from Vigil answers like the original', async () => {
    const readerDir = tempDir('prom-reader');
    reader = await prometheusOn(
      readerDir,
      `remote_read:\n  - url: ${vigilUrl}/api/v1/read\n    read_recent: true\n`,
    );
    const range = { start: data.start / 1000 + 86_400, end: data.end / 1000, step: 1800 };
    for (const q of DATASET_RANGE_QUERIES)
      expect(await expectSameAnswer(prom.url, reader.url, q, range)).toBeGreaterThan(0);
    expect(
      await expectSameAnswer(prom.url, reader.url, 'demo_requests_total[30m]', {
        time: data.end / 1000 - 7200,
      }),
    ).toBe(31 * 6);
    const series = await getJSON(
      queryURL(reader.url, '/api/v1/series', {
        'match[]': 'demo_latency_seconds_bucket',
        start: data.start / 1000,
      }),
    );
    expect(series.body.data.map((s: Record<string, string>) => s.le).sort()).toEqual(['+Inf', '0.1', '0.5']);
  }, 60_000);
});
