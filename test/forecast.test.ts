/**
 * Forecast rules in a running Vigil: three days of disk usage are stored (one disk filling at a steady rate,
 * one flat, one shrinking, one swinging with the time of day up to near its size); the forecast rule writes
 * `forecast:seconds_to_exhaustion` for the filling disk only, within a tolerance of the true time, and the
 * alerting rule on it fires with the predicted time in its annotations (/api/v1/alerts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyPattern, seededNormal } from '../src/anomaly/synthetic.ts';
import { getJSON, queryURL, startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

const dir = tempDir('forecast');
const rulesFile = join(dir, 'forecast.yml');
writeFileSync(
  rulesFile,
  [
    'groups:',
    '  - name: disks',
    '    interval: 1s',
    '    rules:',
    '      - forecast: disk_full',
    '        expr: disk_used_bytes',
    '        capacity: disk_size_bytes',
    '        horizon: 1d',
    '        lookback: 3d',
    '      - alert: DiskWillFill',
    '        expr: forecast:seconds_to_exhaustion{forecast="disk_full"} < 86400',
    '        annotations:',
    '          summary: "{{ $labels.device }} is full in {{ $value | humanizeDuration }}"',
    '          seconds: "{{ $value }}"',
    '      - alert: DiskFullAt',
    '        expr: forecast:exhaustion_timestamp_seconds{forecast="disk_full"}',
    '        annotations:',
    '          at: "{{ $value | humanizeTimestamp }}"',
    '',
  ].join('\n'),
);

const HOUR_MS = 3_600_000;
let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil(`rule_files: [${rulesFile}]\n`);
});
afterAll(async () => {
  await vigil?.stop();
});

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  value: string;
}

describe('forecast rules', () => {
  it('predict when a filling disk runs out, and nothing for flat, shrinking or daily-peaking disks', async () => {
    const now = Date.now();
    const usage: Record<string, (t: number) => number> = {
      filling: (t) => 800 + (10 * (t - now)) / HOUR_MS, // 1000 about 20 h from now
      flat: () => 700,
      shrinking: (t) => 600 - (5 * (t - now)) / HOUR_MS,
      daily_peak: (t) => dailyPattern(t / 1000, 650, 250), // up to about 950 each afternoon
    };
    const n = seededNormal(4);
    const app = vigil.storage.appender();
    for (let t = now - 3 * 24 * HOUR_MS; t <= now; t += 300_000)
      for (const [device, f] of Object.entries(usage)) {
        app.append({ __name__: 'disk_used_bytes', device }, t, f(t) + 3 * n());
        app.append({ __name__: 'disk_size_bytes', device }, t, 1000);
      }
    await app.commit();

    const alerts = await waitFor(
      'both forecast alerts',
      async () => {
        const { body } = await getJSON(`${vigil.url}/api/v1/alerts`);
        const a = body.data.alerts as ApiAlert[];
        return a.filter((x) => x.state === 'firing').length >= 2 ? a : undefined;
      },
      20_000,
    );
    // Let several more evaluations pass: no other disk ever joins.
    const { body: rules } = await getJSON(`${vigil.url}/api/v1/rules`);
    const t0 = Date.parse(rules.data.groups[0].lastEvaluation);
    await waitFor(
      'three more evaluations',
      async () => {
        const { body } = await getJSON(`${vigil.url}/api/v1/rules`);
        return Date.parse(body.data.groups[0].lastEvaluation) >= t0 + 3000;
      },
      20_000,
    );
    const { body } = await getJSON(`${vigil.url}/api/v1/alerts`);
    const all = body.data.alerts as ApiAlert[];
    expect(all.map((a) => [a.labels.alertname, a.labels.device]).sort()).toEqual([
      ['DiskFullAt', 'filling'],
      ['DiskWillFill', 'filling'],
    ]);
    expect(alerts.length).toBe(2);

    const will = all.find((a) => a.labels.alertname === 'DiskWillFill')!;
    const seconds = Number(will.annotations.seconds);
    const truth = 20 * 3600 - (Date.now() - now) / 1000;
    expect(Math.abs(seconds - truth)).toBeLessThan(1800);
    expect(will.annotations.summary).toMatch(/^filling is full in (19|20)h \d+m \d+s$/);
    const at = all.find((a) => a.labels.alertname === 'DiskFullAt')!;
    const atMs = Date.parse(at.annotations.at!.replace(' +0000 UTC', 'Z').replace(' ', 'T'));
    expect(Math.abs(atMs - (now + 20 * HOUR_MS))).toBeLessThan(1800_000);

    // The series is an ordinary one, queryable like any other.
    const q = await getJSON(
      queryURL(vigil.url, '/api/v1/query', { query: 'forecast:seconds_to_exhaustion{forecast="disk_full"}' }),
    );
    expect(q.body.data.result.map((r: { metric: Record<string, string> }) => r.metric)).toEqual([
      { __name__: 'forecast:seconds_to_exhaustion', device: 'filling', forecast: 'disk_full' },
    ]);
  }, 60_000);
});
