/**
 * Compatibility with a real Prometheus: loads the same generated series into Prometheus (via promtool blocks)
 * and into MemoryStorage, runs every query as two instant queries and one range query on both, and requires
 * identical label sets and values (relative tolerance 1e-9) and, where both fail, identical error texts (apart
 * from the `(line:col)` Vigil appends to evaluation errors).
 * The engine runs with `windows: 'prometheus2'` because the peer is Debian's Prometheus 2.x.
 * Skipped when `prometheus` and `promtool` are not on PATH (CI installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Labels } from '../../model/labels.ts';
import { MemoryStorage } from '../../store/memory.ts';
import { Engine, type QueryResult } from './engine.ts';
import { almostEqual } from './promqltest.ts';

const haveProm = ['prometheus', 'promtool'].every(
  (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0,
);
const T0 = 1_764_000_000;

/** Deterministic series: counters with gaps, jitter and resets; gauges with a gap; two classic histograms. */
function generate(): { om: string; samples: { labels: Labels; t: number; v: number }[] } {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines: string[] = [];
  const samples: { labels: Labels; t: number; v: number }[] = [];
  const family = (
    name: string,
    type: string,
    suffix: string,
    series: { labels: Labels; pts: [number, number][] }[],
  ) => {
    lines.push(`# TYPE ${name} ${type}`);
    for (const s of series) {
      const lbl = Object.entries(s.labels)
        .map(([k, x]) => `${k}="${x}"`)
        .join(',');
      for (const [t, v] of s.pts) {
        lines.push(`${name}${suffix}{${lbl}} ${v} ${t}`);
        samples.push({ labels: { __name__: name + suffix, ...s.labels }, t: t * 1000, v });
      }
    }
  };
  const counters: { labels: Labels; pts: [number, number][] }[] = [];
  for (const job of ['api', 'web']) {
    for (const instance of ['a', 'b', 'c']) {
      const pts: [number, number][] = [];
      let c = Math.floor(rnd() * 100);
      for (let i = 0; i < 240; i++) {
        if (rnd() < 0.05) continue;
        if (rnd() < 0.01) c = 0;
        c += Math.floor(rnd() * 20);
        pts.push([T0 + i * 15 + (rnd() < 0.3 ? 1 : 0), c]);
      }
      counters.push({ labels: { job, instance }, pts });
    }
  }
  family('req', 'counter', '_total', counters);
  const gauges: { labels: Labels; pts: [number, number][] }[] = [];
  for (const instance of ['a', 'b', 'c', 'd']) {
    const pts: [number, number][] = [];
    for (let i = 0; i < 120; i++) {
      if (i > 60 && i < 80 && instance === 'd') continue;
      pts.push([T0 + i * 30, Math.round((rnd() * 100 - 30) * 100) / 100]);
    }
    gauges.push({ labels: { instance, job: instance < 'c' ? 'api' : 'web' }, pts });
  }
  family('temp', 'gauge', '', gauges);
  const buckets: { labels: Labels; pts: [number, number][] }[] = [];
  for (const job of ['api', 'web']) {
    const les = ['0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
    const counts = les.map(() => 0);
    const perLe: [number, number][][] = les.map(() => []);
    for (let i = 0; i < 240; i++) {
      const obs = Math.floor(rnd() * 10);
      for (let o = 0; o < obs; o++) {
        const x = rnd() * 3;
        les.forEach((le, k) => {
          if (le === '+Inf' || x <= Number(le)) counts[k]!++;
        });
      }
      les.forEach((_, k) => perLe[k]!.push([T0 + i * 15, counts[k]!]));
    }
    les.forEach((le, k) => buckets.push({ labels: { job, le }, pts: perLe[k]! }));
  }
  family('lat', 'histogram', '_bucket', buckets);
  lines.push('# EOF');
  return { om: lines.join('\n') + '\n', samples };
}

const QUERIES = [
  'req_total',
  'req_total{job="api"}',
  'req_total offset 5m',
  'req_total offset -5m',
  'rate(req_total[1m])',
  'rate(req_total[5m])',
  'irate(req_total[5m])',
  'increase(req_total[10m])',
  'delta(temp[10m])',
  'idelta(temp[5m])',
  'deriv(temp[10m])',
  'predict_linear(temp[10m], 600)',
  'resets(req_total[30m])',
  'changes(temp[10m])',
  'sum by (job) (rate(req_total[5m]))',
  'sum without (instance) (rate(req_total[5m]))',
  'avg by (job) (temp)',
  'max(temp)',
  'min by (job) (temp)',
  'count(temp)',
  'stddev(temp)',
  'stdvar by (job) (temp)',
  'topk(2, temp)',
  'bottomk(1, temp) by (job)',
  'quantile(0.3, temp)',
  'count_values("v", round(temp / 20))',
  'group by (job) (temp)',
  'histogram_quantile(0.9, rate(lat_bucket[5m]))',
  'histogram_quantile(0.5, sum by (le) (rate(lat_bucket[10m])))',
  'histogram_quantile(0.99, lat_bucket)',
  'avg_over_time(temp[10m])',
  'min_over_time(temp[10m])',
  'max_over_time(temp[10m])',
  'sum_over_time(temp[10m])',
  'count_over_time(temp[10m])',
  'quantile_over_time(0.7, temp[10m])',
  'stddev_over_time(temp[10m])',
  'stdvar_over_time(temp[10m])',
  'last_over_time(temp[10m])',
  'present_over_time(temp[3m])',
  'absent_over_time(temp{instance="d"}[2m])',
  'absent(temp{instance="zz"})',
  'abs(temp)',
  'ceil(temp)',
  'floor(temp)',
  'round(temp, 5)',
  'clamp(temp, 0, 50)',
  'clamp_min(temp, 10)',
  'clamp_max(temp, 10)',
  'sqrt(abs(temp))',
  'exp(temp / 100)',
  'ln(abs(temp) + 1)',
  'log2(abs(temp) + 1)',
  'log10(abs(temp) + 1)',
  'sgn(temp)',
  'timestamp(temp)',
  'time() - timestamp(temp)',
  'vector(time())',
  'scalar(temp{instance="a"})',
  'temp > 20',
  'temp > bool 20',
  '20 < temp',
  'temp * 2 - 1',
  'temp / on(instance, job) (temp + 1)',
  'rate(req_total[5m]) / on(job) group_left sum by (job) (rate(req_total[5m]))',
  'sum by (job) (rate(req_total[5m])) / ignoring(instance) group_right rate(req_total[5m])',
  'temp and on(instance) temp > 30',
  'temp unless on(job) temp > 60',
  'temp > 50 or temp < -10',
  'label_replace(temp, "host", "h-$1", "instance", "(.*)")',
  'label_join(temp, "x", "/", "job", "instance")',
  'max_over_time(rate(req_total[2m])[15m:1m])',
  'avg_over_time(temp[20m:3m])',
  'sum_over_time(temp[10m:])',
  'rate(req_total[5m:30s])',
  'req_total[3m:1m]',
  'temp @ 1764001000',
  'rate(req_total[5m] @ 1764002000)',
  'max_over_time(temp[5m:1m] @ 1764002000)',
  'temp @ start()',
  'temp @ end()',
  'day_of_week()',
  'hour(temp * 0 + 1764001000)',
  '1 + 2 * 3',
  '2 ^ 3 ^ 2',
  '-temp ^ 2',
  'sort(temp)',
  'sort_desc(temp)',
  'holt_winters(temp[10m], 0.3, 0.6)',
  'req_total[2m]',
  'temp[5m] offset 10m',
  'rate(req_total[5m]) + on(job) rate(req_total[5m])',
  'temp + on(job) temp',
  'temp * on(job) group_left temp',
  'temp{instance="a"} + on(job) group_right temp',
  'temp == bool on(job) group_left max by (job) (temp)',
  'temp == on(job) group_left max by (job) (temp)',
  'temp or req_total',
  'sum(temp) or vector(0)',
  'absent(nonexistent{job="x"})',
  'count_values by (job) ("v", round(temp / 30))',
  'quantile by (job) (0.9, temp)',
  'topk by (job) (1, rate(req_total[5m]))',
  'max_over_time(temp[10m:2m] offset 5m)',
  'avg_over_time(temp[10m:2m] @ 1764002000 offset 1m)',
  'min_over_time((temp > 0)[10m:1m])',
  'temp offset 1m @ 1764001000',
  '{__name__=~"temp|req_total", job="api"}',
  '{__name__=~"temp|req_total"} * 1',
  'rate({__name__=~"temp|req_total"}[5m])',
  'label_replace(temp, "instance", "x", "", "")',
  'sum by (le) (lat_bucket)',
  'histogram_quantile(1.5, lat_bucket)',
  'histogram_quantile(-1, lat_bucket)',
  'temp ^ 0.5',
  'temp % 7',
  'temp atan2 10',
  '1 / temp',
  'changes(req_total[1h])',
  'resets(req_total[1h])',
  'deriv(req_total[10m])',
  'predict_linear(req_total[10m], 3600)',
  'sum_over_time(req_total[1h])',
  'count_over_time(lat_bucket[1m])',
  'increase(lat_bucket{le="+Inf"}[1h])',
  'rate(temp[5m])',
  'irate(temp[1m])',
  'stddev by (job) (rate(req_total[5m]))',
  'avg(rate(req_total[5m])) by (instance)',
  'scalar(sum(temp))',
  'vector(1) + scalar(temp{instance="b"})',
  'temp > scalar(avg(temp))',
  'minute(temp * 0 + time())',
  'month()',
  'year(vector(1764001000))',
  'days_in_month(vector(1764001000))',
  'day_of_year()',
  'sum(temp{)',
  'rate(temp)',
  'sum(temp[5m])',
  'foo{}',
  '{}',
  '1 > 2',
  'temp[5m] + 1',
  'nonexistent_func(temp)',
  'temp offset 5m offset 1m',
  'topk(temp)',
  '"foo" + 1',
  '(temp)[5m]',
  'label_replace(temp, "1bad", "x", "", "")',
  'holt_winters(temp[10m], 2, 0.5)',
  'sum by (job) (temp) > bool on(job) group_left avg by (job) (temp)',
  'count(count by (job, instance) (req_total)) by (job)',
  'max by (job) (temp) unless on(job) max by (job) (temp) > 60',
  'topk(1, sum by (instance) (rate(req_total[5m])))',
  'sum(rate(req_total[5m])) * 60',
  'avg_over_time(sum by (job) (rate(req_total[2m]))[20m:5m])',
  'quantile_over_time(0.95, rate(req_total[1m])[30m:1m])',
  '-rate(req_total[5m])',
  '+temp',
  'temp != bool temp',
  'temp >= temp offset 1m',
  '(temp > 0) * 0 + 1',
  'count(temp > 0 and temp < 50)',
  'abs(temp) ^ 0.5 % 3',
  'count()',
  '-{__name__=~"temp|req_total"}',
  'temp{instance="zz"} * on() group_left temp',
  'temp * on() group_left temp{instance="zz"}',
  'histogram_quantile(0.5, {__name__=~"lat_bucket|req_total"})',
  'histogram_quantile(NaN, rate(lat_bucket[5m]))',
  'quantile(2, temp)',
  'quantile_over_time(-1, temp[5m])',
  'rate(temp[5m:1m])',
  'clamp(temp, NaN, 10)',
  'round(temp, 0.3)',
  'absent((temp{instance="zz", job="x"}))',
  'absent_over_time(temp{job="web", job="api"}[1m])',
  'sort_desc(-temp)',
  'sum by (job) (temp) / on (job) group_left () count by (job) (temp)',
];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

type Outcome = { ok: QueryResult } | { error: string };

function diff(a: QueryResult, b: QueryResult): string | undefined {
  if (a.resultType !== b.resultType) return `result type ${a.resultType} vs ${b.resultType}`;
  if (a.resultType === 'scalar' || a.resultType === 'string') {
    const x = a.result[1];
    const y = (b as typeof a).result[1];
    return x === y || almostEqual(Number(x), Number(y), 1e-9) ? undefined : `${x} vs ${y}`;
  }
  type Row = { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] };
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  const points = (r: Row) => (r.value ? [r.value] : r.values!);
  const theirs = new Map((b.result as Row[]).map((r) => [key(r.metric), r]));
  for (const r of a.result as Row[]) {
    const o = theirs.get(key(r.metric));
    if (!o) return `only Vigil has ${key(r.metric)}`;
    theirs.delete(key(r.metric));
    const p = points(r);
    const q = points(o);
    if (p.length !== q.length) return `${key(r.metric)}: ${p.length} points vs ${q.length}`;
    for (let i = 0; i < p.length; i++) {
      const [t1, v1] = p[i]!;
      const [t2, v2] = q[i]!;
      if (Math.abs(t1 - t2) > 1e-6 || !(v1 === v2 || almostEqual(Number(v1), Number(v2), 1e-9)))
        return `${key(r.metric)} point ${i}: ${JSON.stringify(p[i])} vs ${JSON.stringify(q[i])}`;
    }
  }
  for (const k of theirs.keys()) return `only Prometheus has ${k}`;
  return undefined;
}

describe.skipIf(!haveProm)('compatibility with Prometheus (windows: prometheus2)', () => {
  const storage = new MemoryStorage();
  const engine = new Engine({ windows: 'prometheus2' });
  let dir = '';
  let proc: ChildProcess | undefined;
  let base = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-promql-compat-'));
    const { om, samples } = generate();
    for (const s of samples) storage.add(s.labels, s.t, s.v);
    writeFileSync(join(dir, 'data.om'), om);
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
    const blocks = spawnSync('promtool', [
      'tsdb',
      'create-blocks-from',
      'openmetrics',
      join(dir, 'data.om'),
      join(dir, 'data'),
    ]);
    if (blocks.status !== 0) throw new Error(`promtool failed: ${blocks.stderr.toString()}`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=100y',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      const ready = await fetch(`${base}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('prometheus did not become ready');
  });

  afterAll(() => {
    proc?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runBoth = async (
    q: string,
    mode: 'instant-mid' | 'instant-end' | 'range',
  ): Promise<[Outcome, Outcome]> => {
    const params = new URLSearchParams({ query: q });
    let mine: Promise<QueryResult>;
    if (mode === 'range') {
      params.set('start', String(T0));
      params.set('end', String(T0 + 3600));
      params.set('step', '97');
      mine = engine.rangeQuery(storage, q, T0 * 1000, (T0 + 3600) * 1000, 97_000);
    } else {
      const t = mode === 'instant-mid' ? T0 + 1800 : T0 + 3599.5;
      params.set('time', String(t));
      mine = engine.instantQuery(storage, q, t * 1000);
    }
    // Settle our side right away so a rejection is never unhandled while Prometheus answers.
    const ours: Promise<Outcome> = mine.then(
      (ok) => ({ ok }),
      // Our evaluation errors add the position of the failing expression; Prometheus' do not.
      (err: Error) => ({ error: err.message.replace(/ \(\d+:\d+\)$/, '') }),
    );
    const res = (await (
      await fetch(`${base}/api/v1/${mode === 'range' ? 'query_range' : 'query'}?${params}`)
    ).json()) as {
      status: string;
      data: QueryResult;
      error: string;
    };
    const theirs: Outcome =
      res.status === 'success'
        ? { ok: res.data }
        : { error: res.error.replace(/^invalid parameter "query": /, '') };
    return [await ours, theirs];
  };

  for (const q of QUERIES) {
    it(q, async () => {
      for (const mode of ['instant-mid', 'instant-end', 'range'] as const) {
        const [ours, theirs] = await runBoth(q, mode);
        if ('error' in ours || 'error' in theirs) {
          expect({ mode, ...ours }).toEqual({ mode, ...theirs });
          continue;
        }
        expect(diff(ours.ok, theirs.ok), mode).toBeUndefined();
      }
    });
  }
});
