/**
 * Anomaly rules in a running Vigil: three days of clean daily-seasonal history are stored (old timestamps),
 * the anomaly rule trains its detectors from them through a range query, scores the current values, and the
 * alerting rule on `anomaly:score` stays quiet; a spike on one series then fires it (seen in /api/v1/alerts),
 * the band series are queryable with query_range, and /api/v1/rules lists the anomaly rule with its health.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyPattern, seededNormal } from '../src/anomaly/synthetic.ts';
import { getJSON, queryURL, startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

const dir = tempDir('anomaly-rules');
const rulesFile = join(dir, 'anomaly.yml');
writeFileSync(
  rulesFile,
  [
    'groups:',
    '  - name: load',
    '    interval: 1s',
    '    rules:',
    '      - anomaly: load',
    '        expr: demo_load',
    '        season: daily',
    '      - alert: LoadAnomaly',
    '        expr: anomaly:score{anomaly="load"} > 0.8',
    '        for: 2s',
    '        annotations: {summary: "{{ $labels.host }}: load is unusual (score {{ $value }})"}',
    '',
  ].join('\n'),
);

let vigil: TestVigil;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  vigil = await startTestVigil(`rule_files: [${rulesFile}]\n`);
});
afterAll(async () => {
  await vigil?.stop();
});

async function instant(expr: string): Promise<Map<string, number>> {
  const { body } = await getJSON(queryURL(vigil.url, '/api/v1/query', { query: expr }));
  expect(body.status).toBe('success');
  return new Map(
    (body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => [
      r.metric.host ?? '',
      Number(r.value[1]),
    ]),
  );
}

async function firingAlerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
  const { body } = await getJSON(`${vigil.url}/api/v1/alerts`);
  return (body.data.alerts as { labels: Record<string, string>; state: string }[]).filter(
    (a) => a.labels.alertname === 'LoadAnomaly',
  );
}

describe('anomaly rules', () => {
  it('stay quiet on clean seasonal history, fire on a spike, and write a queryable band', async () => {
    // Three days, one sample a minute per host, ending now; one commit so no evaluation sees a part.
    const now = Date.now();
    const app = vigil.storage.appender();
    const noise = { a: seededNormal(1), b: seededNormal(2) };
    for (let t = now - 3 * DAY_MS; t <= now; t += 60_000) {
      app.append({ __name__: 'demo_load', host: 'a' }, t, dailyPattern(t / 1000) + 2 * noise.a());
      app.append({ __name__: 'demo_load', host: 'b' }, t, dailyPattern(t / 1000, 300, 60) + 4 * noise.b());
    }
    await app.commit();

    // The detectors warm up from the history at the next evaluation and score from then on.
    const scores = await waitFor(
      'scores of both hosts',
      async () => {
        const s = await instant('anomaly:score{anomaly="load"}');
        return s.size === 2 ? s : undefined;
      },
      20_000,
    );
    for (const v of scores.values()) expect(v).toBeLessThan(0.5);
    // A few more evaluations of the same data: still quiet.
    const rules = () => getJSON(`${vigil.url}/api/v1/rules`);
    const evaluated = async () => {
      const { body } = await rules();
      return Date.parse(body.data.groups[0].rules[0].lastEvaluation);
    };
    const first = await evaluated();
    await waitFor('three more evaluations', async () => (await evaluated()) >= first + 3000, 20_000);
    expect(await firingAlerts()).toEqual([]);
    for (const v of (await instant('anomaly:score{anomaly="load"}')).values()) expect(v).toBeLessThan(0.5);

    // The rule is listed with its health; as a recording rule, the type Grafana knows.
    const { body } = await rules();
    expect(body.data.groups[0].rules[0]).toMatchObject({
      name: 'load',
      query: 'demo_load',
      health: 'ok',
      type: 'recording',
    });

    // A spike on host a.
    const spike = vigil.storage.appender();
    spike.append({ __name__: 'demo_load', host: 'a' }, Date.now(), dailyPattern(Date.now() / 1000) + 80);
    await spike.commit();
    const alerts = await waitFor(
      'the anomaly alert to fire',
      async () => {
        const a = await firingAlerts();
        return a.some((x) => x.state === 'firing') ? a : undefined;
      },
      20_000,
    );
    expect(alerts.map((a) => [a.labels.host, a.labels.anomaly, a.state])).toEqual([['a', 'load', 'firing']]);

    // The band is an ordinary series: query_range returns it over the evaluations so far.
    const end = Date.now() / 1000;
    for (const name of ['anomaly:upper', 'anomaly:lower', 'anomaly:expected']) {
      const r = await getJSON(
        queryURL(vigil.url, '/api/v1/query_range', {
          query: `${name}{anomaly="load"}`,
          start: end - 60,
          end,
          step: 1,
        }),
      );
      expect(r.body.status).toBe('success');
      const series = r.body.data.result as { metric: Record<string, string>; values: [number, string][] }[];
      expect(series.map((s) => s.metric.host).sort()).toEqual(['a', 'b']);
      for (const s of series) expect(s.values.length).toBeGreaterThan(3);
    }
    const upper = await instant('anomaly:upper{anomaly="load"}');
    const lower = await instant('anomaly:lower{anomaly="load"}');
    for (const h of ['a', 'b']) expect(upper.get(h)!).toBeGreaterThan(lower.get(h)!);
  }, 60_000);

  it('reports an invalid anomaly rule with file, line and what is wrong on reload, keeping the rules', async () => {
    writeFileSync(
      rulesFile,
      [
        'groups:',
        '  - name: load',
        '    rules:',
        '      - anomaly: load',
        '        expr: demo_load',
        '        season: hourly',
        '',
      ].join('\n'),
    );
    const res = await fetch(`${vigil.url}/-/reload`, { method: 'POST' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const text = await res.text();
    expect(text).toContain(`${rulesFile}:6:17`);
    expect(text).toContain('season must be "daily", "weekly", "daily,weekly" or "none", not "hourly"');
    const { body } = await getJSON(`${vigil.url}/api/v1/rules`);
    expect(body.data.groups[0].rules.map((r: { name: string }) => r.name)).toEqual(['load', 'LoadAnomaly']);
  });
});
