/**
 * Anomaly detector evaluation: labelled, seeded series scored by the streaming detector, and its cost.
 *
 *   npx tsx bench/anomaly.ts [--seed 7] [--per-kind 40] [--days 28] [--eval-from-day 15] [--step 300] [--threshold 0.5]
 *                            [--cost-series 10000] [--cost-samples 2000]
 *                            [--options '{"levelTau": 3600}'] [--rule-series 10000] [--rule-evals 30]
 *                            [--sections quality,cost,rule]
 *
 * 1. Generates `--per-kind` series of each kind over `--days` days at about `--step` seconds (intervals jitter
 *    ±20%, so they are irregular): daily + weekly seasonal patterns with noise (normal or heavy-tailed), with
 *    trends, and with injected anomalies (spikes, level shifts, gradual drifts, a counter whose rate jumps), and
 *    clean ones (seasonal, trend, counter with resets, pure noise, constant). Anomalies start after
 *    `--eval-from-day` (two weeks by default: the weekly profile has then seen each weekday twice).
 * 2. Scores every sample; from `--eval-from-day` on, an anomaly window counts as detected when the score reaches the
 *    threshold inside it (event-level recall), with the delay from the window start; alarms outside windows
 *    are merged into events when less than an hour apart (false-positive events; precision = detected windows
 *    / (detected windows + false-positive events)); false positives per day are reported per clean kind.
 * 3. Cost: `--cost-series` detectors fed `--cost-samples` samples each, round-robin as a server would:
 *    ns per sample, and heap bytes per series (measured with gc, and the detector's own estimate).
 * 4. Rule cost: an anomaly rule (`anomaly:` in a rule group, daily + weekly) evaluated `--rule-evals` times over
 *    `--rule-series` series returned by its query: time per series per evaluation (labels, detector, the four
 *    output samples; the query and the storage write are not included), and the size and time of a checkpoint.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { AnomalyDetector, type DetectorOptions } from '../src/anomaly/detector.ts';
import { AnomalyRule } from '../src/anomaly/rule.ts';
import { parseRuleFile } from '../src/rules/file.ts';
import type { InstantVector } from '../src/rules/rule.ts';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '7' },
    'per-kind': { type: 'string', default: '40' },
    days: { type: 'string', default: '28' },
    'eval-from-day': { type: 'string', default: '15' },
    step: { type: 'string', default: '300' },
    threshold: { type: 'string', default: '0.5' },
    'cost-series': { type: 'string', default: '10000' },
    'cost-samples': { type: 'string', default: '2000' },
    options: { type: 'string', default: '{}' },
    'rule-series': { type: 'string', default: '10000' },
    'rule-evals': { type: 'string', default: '30' },
    sections: { type: 'string', default: 'quality,cost,rule' },
  },
});
const SEED = Number(args.seed);
const PER_KIND = Number(args['per-kind']);
const DAYS = Number(args.days);
const STEP = Number(args.step);
const THRESHOLD = Number(args.threshold);
const EVAL_FROM_DAY = Number(args['eval-from-day']);
/** Detector options to try, as JSON (e.g. '{"levelTau": 3600}'); the defaults otherwise. */
const OPTIONS = JSON.parse(args.options) as Partial<DetectorOptions>;
const DAY = 86_400;

/** mulberry32: small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** Student-t with 4 degrees of freedom, scaled to unit variance: heavier tails than normal. */
function heavy(r: () => number): number {
  let chi = 0;
  for (let i = 0; i < 4; i++) chi += gauss(r) ** 2;
  return gauss(r) / Math.sqrt(chi / 4) / Math.SQRT2;
}

interface Window {
  readonly start: number;
  readonly end: number;
  readonly kind: string;
}

interface Series {
  readonly kind: string;
  readonly counter: boolean;
  readonly seasons: ('daily' | 'weekly')[];
  readonly t: number[];
  readonly v: number[];
  readonly windows: Window[];
}

const ANOMALOUS = ['spike', 'level-shift', 'drift', 'counter-rate-jump', 'constant-change'] as const;
const CLEAN = ['seasonal', 'seasonal-heavy-tail', 'trend', 'counter-resets', 'noise', 'constant'] as const;
type Kind = (typeof ANOMALOUS)[number] | (typeof CLEAN)[number];

function generate(kind: Kind, seed: number): Series {
  const r = rng(seed);
  const t0 = 1_767_225_600 + Math.floor(r() * 7) * DAY; // 2026-01-01 plus a random weekday
  const end = t0 + DAYS * DAY;
  const mean = 50 + r() * 950;
  const sigma = mean * (0.01 + r() * 0.04);
  const amp = kind === 'noise' ? 0 : sigma * (3 + r() * 20);
  const weekend = kind === 'noise' ? 0 : amp * (0.2 + r() * 0.5);
  const phase = r() * DAY;
  const slope = kind === 'trend' ? (sigma * (5 + r() * 20)) / DAY : 0; // 5–25 σ per day
  const noise = kind === 'seasonal-heavy-tail' ? heavy : gauss;
  const seasonal = (t: number) => {
    const tod = (((t + phase) % DAY) + DAY) % DAY;
    // A working-day shape: two peaks, a quiet night.
    const x = (2 * Math.PI * tod) / DAY;
    const dayShape = Math.sin(x - Math.PI / 2) * 0.7 + Math.sin(2 * x) * 0.3;
    // Weekend: lower, fading in and out over the two hours around midnight (traffic does not step).
    const days = (t - 1_767_225_600) / DAY + 4; // 2026-01-01 is a Thursday (4)
    const isWeekend = (d: number) =>
      ((Math.floor(d) % 7) + 7) % 7 === 0 || ((Math.floor(d) % 7) + 7) % 7 === 6 ? 1 : 0;
    const frac = days - Math.floor(days);
    const w =
      frac < 1 / 24
        ? (isWeekend(days) + isWeekend(days - 1)) / 2 + (isWeekend(days) - isWeekend(days - 1)) * frac * 12
        : frac > 23 / 24
          ? (isWeekend(days) + isWeekend(days + 1)) / 2 +
            (isWeekend(days) - isWeekend(days + 1)) * (1 - frac) * 12
          : isWeekend(days);
    return amp * dayShape - weekend * w;
  };
  const at = t0 + EVAL_FROM_DAY * DAY + r() * (DAYS - EVAL_FROM_DAY - 2) * DAY;
  const windows: Window[] = [];
  const shift = sigma * (5 + r() * 5) * (r() < 0.5 ? -1 : 1);
  const spike = sigma * (6 + r() * 6) * (r() < 0.5 ? -1 : 1);
  const driftRate = (sigma * 10) / (6 * 3600); // 10 σ over 6 h
  if (kind === 'spike') windows.push({ start: at, end: at + 2 * STEP, kind });
  if (kind === 'level-shift' || kind === 'counter-rate-jump' || kind === 'constant-change')
    windows.push({ start: at, end: at + 3600, kind });
  if (kind === 'drift') windows.push({ start: at, end: at + 6 * 3600, kind });

  const t: number[] = [];
  const v: number[] = [];
  let counter = r() * 1e6;
  let spiked = false;
  let nextReset = t0 + (1 + r() * 3) * DAY;
  for (let ts = t0; ts < end; ts += STEP * (0.8 + 0.4 * r())) {
    const tt = Math.round(ts);
    let x = mean + seasonal(tt) + slope * (tt - t0) + sigma * noise(r);
    if (kind === 'constant' || kind === 'constant-change') x = Math.round(mean);
    if (kind === 'spike' && tt >= at && !spiked) {
      x += spike;
      spiked = true;
    }
    if (kind === 'level-shift' && tt >= at) x += shift;
    if (kind === 'constant-change' && tt >= at) x += Math.max(1, Math.round(Math.abs(shift)));
    if (kind === 'drift' && tt >= at) x += Math.sign(shift) * driftRate * Math.min(tt - at, 6 * 3600);
    if (kind === 'counter-resets' || kind === 'counter-rate-jump') {
      // x is a rate per second; the counter accumulates it and sometimes restarts from 0.
      let rate = Math.max(0, x);
      if (kind === 'counter-rate-jump' && tt >= at) rate += Math.abs(shift);
      const prevT = t.length ? t[t.length - 1]! : tt - STEP;
      counter += rate * (tt - prevT);
      if (kind === 'counter-resets' && tt >= nextReset) {
        counter = rate * r() * STEP;
        nextReset = tt + (0.5 + r() * 3) * DAY;
      }
      x = Math.round(counter);
    }
    t.push(tt);
    v.push(x);
  }
  const counterKind = kind === 'counter-resets' || kind === 'counter-rate-jump';
  const seasons: ('daily' | 'weekly')[] =
    kind === 'constant' || kind === 'constant-change' ? [] : ['daily', 'weekly'];
  return { kind, counter: counterKind, seasons, t, v, windows };
}

interface KindStats {
  series: number;
  windows: number;
  detected: number;
  delaysSamples: number[];
  delaysSeconds: number[];
  fpEvents: number;
  evalDays: number;
}

function evaluate(s: Series, stats: KindStats): void {
  const d = new AnomalyDetector({ ...OPTIONS, seasons: s.seasons, counter: s.counter });
  const evalFrom = s.t[0]! + EVAL_FROM_DAY * DAY;
  const hit = s.windows.map(() => -1);
  let lastAlarm = -Infinity;
  for (let i = 0; i < s.t.length; i++) {
    const p = d.push(s.t[i]!, s.v[i]!);
    const t = s.t[i]!;
    if (t < evalFrom || p.score < THRESHOLD) continue;
    const w = s.windows.findIndex((x) => t >= x.start && t < x.end);
    if (w >= 0) {
      if (hit[w] === -1) hit[w] = i;
      continue;
    }
    // A level shift keeps alarming until it is learnt: alarms right after a window are not new events.
    const after = s.windows.some((x) => t >= x.end && t < x.end + 6 * 3600);
    if (!after && t - lastAlarm > 3600) stats.fpEvents++;
    lastAlarm = t;
  }
  stats.series++;
  stats.evalDays += (s.t[s.t.length - 1]! - evalFrom) / DAY;
  s.windows.forEach((w, k) => {
    stats.windows++;
    const i = hit[k]!;
    if (i < 0) return;
    stats.detected++;
    const first = s.t.findIndex((t) => t >= w.start);
    stats.delaysSamples.push(i - first);
    stats.delaysSeconds.push(s.t[i]! - w.start);
  });
}

const median = (a: number[]) => {
  if (!a.length) return NaN;
  const b = [...a].sort((x, y) => x - y);
  return b[Math.floor((b.length - 1) / 2)]!;
};
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');

function run(): string {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };
  const stats = new Map<Kind, KindStats>();
  let totalSamples = 0;
  let seed = SEED * 1_000_003;
  const started = performance.now();
  for (const kind of [...ANOMALOUS, ...CLEAN]) {
    const k: KindStats = {
      series: 0,
      windows: 0,
      detected: 0,
      delaysSamples: [],
      delaysSeconds: [],
      fpEvents: 0,
      evalDays: 0,
    };
    for (let i = 0; i < PER_KIND; i++) {
      const s = generate(kind, seed++);
      totalSamples += s.t.length;
      evaluate(s, k);
    }
    stats.set(kind, k);
  }
  const evalMs = performance.now() - started;

  say(
    `Labelled evaluation: ${PER_KIND} series per kind, ${DAYS} days at ~${STEP} s (±20% jitter), seed ${SEED}, ` +
      `threshold ${THRESHOLD}, scored from day ${EVAL_FROM_DAY}; ${totalSamples.toLocaleString('en-US')} samples in ${(evalMs / 1000).toFixed(1)} s.`,
  );
  say('');
  say('| kind | windows | recall | median delay (samples / min) | false-positive events per series-day |');
  say('| --- | ---: | ---: | ---: | ---: |');
  let tp = 0;
  let windows = 0;
  let fp = 0;
  for (const [kind, k] of stats) {
    tp += k.detected;
    windows += k.windows;
    fp += k.fpEvents;
    const recall = k.windows ? pct(k.detected / k.windows) : '–';
    const delay = k.delaysSamples.length
      ? `${median(k.delaysSamples)} / ${(median(k.delaysSeconds) / 60).toFixed(0)}`
      : '–';
    say(`| ${kind} | ${k.windows} | ${recall} | ${delay} | ${(k.fpEvents / k.evalDays).toFixed(3)} |`);
  }
  say('');
  say(
    `Overall: recall ${pct(tp / windows)} (${tp}/${windows} windows), precision ${pct(tp / (tp + fp))} ` +
      `(${fp} false-positive events in ${[...stats.values()].reduce((a, k) => a + k.evalDays, 0).toFixed(0)} series-days).`,
  );
  return lines.join('\n');
}

function cost(): string {
  const nSeries = Number(args['cost-series']);
  const nSamples = Number(args['cost-samples']);
  const r = rng(SEED);
  // Values generated up front: a seasonal gauge per series, 60 s apart.
  const base = Float64Array.from({ length: nSeries }, () => 100 + r() * 900);
  const noise = Float64Array.from({ length: 4096 }, () => gauss(r));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heapBefore = mem();
  const detectors = Array.from({ length: nSeries }, () => new AnomalyDetector(OPTIONS));
  const t0 = 1_767_225_600;
  // First pass (touches every bucket it will use) outside the timing.
  const warm = Math.min(nSamples, 200);
  for (let j = 0; j < warm; j++)
    for (let i = 0; i < nSeries; i++)
      detectors[i]!.push(t0 + j * 60, base[i]! * (1 + 0.2 * Math.sin(j / 229)) + noise[(i + j) & 4095]! * 5);
  gc?.();
  const heapAfter = mem();
  let sink = 0;
  const start = performance.now();
  for (let j = warm; j < nSamples; j++)
    for (let i = 0; i < nSeries; i++)
      sink += detectors[i]!.push(
        t0 + j * 60,
        base[i]! * (1 + 0.2 * Math.sin(j / 229)) + noise[(i + j) & 4095]! * 5,
      ).score;
  const ms = performance.now() - start;
  const pushes = (nSamples - warm) * nSeries;
  const lines = [
    `Cost: ${nSeries.toLocaleString('en-US')} series (daily + weekly), ${pushes.toLocaleString('en-US')} samples ` +
      `scored round-robin: ${((ms * 1e6) / pushes).toFixed(0)} ns per sample ` +
      `(${((pushes / ms) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 })} samples/s, one core); ` +
      `heap + array buffers ${gc ? `${((heapAfter - heapBefore) / nSeries).toFixed(0)} bytes per series measured` : 'not measured (run with node --expose-gc)'}, ` +
      `${detectors[0]!.approximateBytes} bytes per series by the detector's count. (checksum ${sink.toFixed(1)})`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return lines.join('\n');
}

async function ruleCost(): Promise<string> {
  const nSeries = Number(args['rule-series']);
  const evals = Number(args['rule-evals']);
  const parsed = parseRuleFile(
    'groups:\n  - name: g\n    rules:\n      - anomaly: bench\n        expr: m\n        season: daily,weekly\n',
    'bench.yml',
  );
  if (!parsed.ok) throw new Error('bench rule does not parse');
  const def = parsed.groups[0]!.rules[0]!;
  if (def.kind !== 'anomaly') throw new Error('not an anomaly rule');
  const rule = new AnomalyRule(def);
  const r = rng(SEED + 1);
  const labels = Array.from({ length: nSeries }, (_, i) => ({
    __name__: 'm',
    job: 'bench',
    instance: `host-${i}:9100`,
  }));
  const base = labels.map(() => 50 + 100 * r());
  // Vectors are built up front so the timing covers the rule only.
  const vectors: InstantVector[] = [];
  for (let e = 0; e < evals; e++)
    vectors.push(labels.map((l, i) => ({ labels: l, value: base[i]! + 5 * gauss(r) })));
  const t0 = 1_767_225_600_000;
  let e = 0;
  const ctx = {
    query: async () => vectors[e]!,
    limit: 0,
    intervalMs: 60_000,
    ruleKey: 'bench.yml;g;bench',
  };
  let samples = 0;
  // The first evaluation creates the detectors; it is timed apart.
  const c0 = performance.now();
  samples += (await rule.eval(t0, ctx)).length;
  const createMs = performance.now() - c0;
  const start = performance.now();
  for (e = 1; e < evals; e++) samples += (await rule.eval(t0 + e * 60_000, ctx)).length;
  const ms = performance.now() - start;
  const s0 = performance.now();
  const json = JSON.stringify(rule.snapshot(t0));
  const snapMs = performance.now() - s0;
  const per = (ms * 1000) / ((evals - 1) * nSeries);
  const lines = [
    `Rule cost: anomaly rule over ${nSeries.toLocaleString('en-US')} series (daily + weekly), ${evals - 1} evaluations: ` +
      `${per.toFixed(1)} µs per series per evaluation (${(ms / (evals - 1)).toFixed(0)} ms per evaluation, ` +
      `${samples.toLocaleString('en-US')} output samples); first evaluation (creating the detectors) ${createMs.toFixed(0)} ms; ` +
      `checkpoint ${(json.length / 1e6).toFixed(1)} MB JSON (${(json.length / nSeries).toFixed(0)} bytes per series), ` +
      `built in ${snapMs.toFixed(0)} ms.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return lines.join('\n');
}

const sections = new Set(args.sections.split(','));
if (sections.has('quality')) {
  run();
  process.stdout.write('\n');
}
if (sections.has('cost')) cost();
if (sections.has('rule')) await ruleCost();
