/**
 * Alert correlation and storm protection on the labelled alert-storm corpus (src/alerts/correlate/corpus/).
 *
 *   npx tsx bench/alert-correlation.ts [--seed 42] [--cases 40] [--step 30]
 *
 * Generates the seeded corpus up front, replays every case every --step seconds through the strategies —
 * Vigil's correlation, Alertmanager-style grouping by `alertname`, no grouping, and Vigil's storm protection
 * stage (src/alerts/storm/stage.ts, the pipeline's code, on a replayed clock) behind an Alertmanager that
 * gives every alert its own group — and prints pairwise
 * precision / recall of "same group" against the ground-truth incidents, root-cause accuracy, notifications per
 * alert episode and the reduction against one notification per episode, the share of incidents notified, and
 * the same figures per scenario for correlation. Also prints how long one correlation evaluation takes.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { correlate, EMPTY_STATE } from '../src/alerts/correlate/correlate.ts';
import { generateCorpus, type CorpusCase } from '../src/alerts/correlate/corpus/generate.ts';
import {
  alertnameStrategy,
  correlationStrategy,
  DEFAULT_STORM_REPLAY,
  figures,
  noGroupingStrategy,
  scoreCorpus,
  stormStrategy,
  type Score,
  type StormReplayOptions,
  type Strategy,
} from '../src/alerts/correlate/corpus/metrics.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    cases: { type: 'string', default: '40' },
    step: { type: 'string', default: '30' },
  },
});
const seed = Number(values.seed);
const cases = generateCorpus({ seed, cases: Number(values.cases) });
const stepMs = Number(values.step) * 1000;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function row(name: string, s: Score): string {
  const f = figures(s);
  return [
    name.padEnd(22),
    pct(f.precision).padStart(9),
    pct(f.recall).padStart(8),
    pct(f.rootCauseAccuracy).padStart(10),
    String(s.notifications).padStart(7),
    f.notificationsPerAlert.toFixed(3).padStart(9),
    pct(f.reduction).padStart(10),
    `${s.incidentsNotified}/${s.incidents}`.padStart(10),
  ].join(' ');
}

const header = [
  'strategy'.padEnd(22),
  'precision'.padStart(9),
  'recall'.padStart(8),
  'root cause'.padStart(10),
  'notifs'.padStart(7),
  'per alert'.padStart(9),
  'reduction'.padStart(10),
  'incidents'.padStart(10),
].join(' ');

const score = (make: (c: CorpusCase) => Strategy, subset = cases) => scoreCorpus(subset, make);

const ours = score((c) => correlationStrategy(c));
const episodes = ours.episodes;
console.log(
  `corpus: seed ${seed}, ${cases.length} cases, ${ours.alerts} alerts, ${episodes} alert episodes, ${ours.incidents} incidents; replayed every ${stepMs / 1000} s`,
);
console.log(
  `floor: one notification per incident = ${(ours.incidents / episodes).toFixed(3)} per alert episode (${pct(1 - ours.incidents / episodes)} reduction at best)\n`,
);
console.log(header);
console.log(row('correlation', ours));
console.log(
  row(
    'group by alertname',
    score(() => alertnameStrategy),
  ),
);
console.log(
  row(
    'no grouping',
    score(() => noGroupingStrategy),
  ),
);

// Storm protection: the stage's parameters for the corpus, where one case is one receiver's alerts.
const stormBase: StormReplayOptions = {
  ...DEFAULT_STORM_REPLAY,
  storm: {
    windowMs: 5 * 60_000,
    calmMs: 15 * 60_000,
    ratePerMinute: 20,
    burst: 20,
    flapMaxFires: 2,
    flapWindowMs: 30 * 60_000,
    flapStableMs: 10 * 60_000,
    gatherMs: 2 * 60_000,
  },
};
const stormRows: [string, StormReplayOptions][] = [
  ['storm, 10 alerts/5m', { ...stormBase, storm: { ...stormBase.storm, threshold: 10 } }],
  ['storm, 5 alerts/5m', { ...stormBase, storm: { ...stormBase.storm, threshold: 5 } }],
  ['storm, always on', { ...stormBase, storm: { ...stormBase.storm, threshold: 1 } }],
];
const stormScores = stormRows.map(([name, o]) => [name, o, score((c) => stormStrategy(c, o))] as const);
for (const [name, , s] of stormScores) console.log(row(name, s));
console.log(
  '\nstorm protection: every alert its own Alertmanager group (group_wait = one step, send_resolved off); the stage with',
);
console.log(
  `  rate limit ${stormBase.storm.ratePerMinute}/min, flapping above ${stormBase.storm.flapMaxFires} fires in 30m (stable 10m), lone alerts wait 2m in storm mode, summaries updated every ${stormBase.groupIntervalMs / 60_000}m.`,
);
console.log(
  '  "notifs" counts every notification the stage let out except summary updates led by an alert that already led one',
);
console.log('  (as for the other rows, updates without a new root cause are not counted); with them:');
for (const [name, , s] of stormScores) {
  const all = s.notifications + s.updates;
  console.log(
    `  ${name.padEnd(20)} ${s.updates} updates; ${all} notifications = ${(all / s.episodes).toFixed(3)} per alert episode (${pct(1 - all / s.episodes)} reduction)`,
  );
}

const scenarios = [...new Set(cases.map((c) => c.name.replace(/^\d+-/, '')))];
const always = stormRows[stormRows.length - 1]![1];
for (const [title, make] of [
  ['correlation', (x: CorpusCase) => correlationStrategy(x)],
  ['storm, always on', (x: CorpusCase) => stormStrategy(x, always)],
] as const) {
  console.log(`\n${title} by scenario of the case:`);
  console.log(header);
  for (const sc of scenarios) {
    const subset = cases.filter((c) => c.name.endsWith(`-${sc}`));
    const s = score(make, subset);
    console.log(row(`${sc} (${subset.length})`, s));
  }
}

// Cost of one evaluation at the busiest moment of the largest case.
const big = [...cases].sort((a, b) => b.alerts.length - a.alerts.length)[0]!;
const at = big.start + 16 * 60_000;
const active = big.alerts.flatMap((a) => {
  const e = a.episodes.find((x) => x.start <= at && at < x.end);
  return e
    ? [{ fingerprint: a.fingerprint, labels: a.labels, annotations: a.annotations, startsAt: e.start }]
    : [];
});
const times: number[] = [];
for (let i = 0; i < 25; i++) {
  const t0 = performance.now();
  correlate(active, big.topology, EMPTY_STATE, at);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  `\none evaluation of ${active.length} active alerts: median ${times[12]!.toFixed(2)} ms, worst ${times[24]!.toFixed(2)} ms`,
);
