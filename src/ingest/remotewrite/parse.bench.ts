/**
 * Remote-write parse benchmark (not a test): decode + validate of snappy-compressed WriteRequests.
 *
 *   npx tsx src/ingest/remotewrite/parse.bench.ts [--series 10000] [--labels 8] [--samples 1] [--runs 20]
 *
 * Requests are generated (seeded, deterministic) and compressed before timing starts. Prints the median
 * time per request and samples per second.
 */
import { parseArgs } from 'node:util';
import { compressSync } from 'snappy';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { parseRemoteWrite } from './parse.ts';
import { WriteRequest } from './proto.ts';

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '10000' },
    labels: { type: 'string', default: '8' },
    samples: { type: 'string', default: '1' },
    runs: { type: 'string', default: '20' },
  },
});
const nSeries = Number(values.series);
const nLabels = Number(values.labels);
const nSamples = Number(values.samples);
const runs = Number(values.runs);
const now = Date.UTC(2026, 0, 1);

const timeseries = [];
for (let i = 0; i < nSeries; i++) {
  const labels = [{ name: '__name__', value: `pipeline_stage_metric_${i % 50}` }];
  for (let l = 1; l < nLabels; l++)
    labels.push({ name: `label_${l}`, value: `value_${(i * 7919 + l) % 1000}` });
  const samples = [];
  for (let s = 0; s < nSamples; s++)
    samples.push({ timestamp: now - (nSamples - s) * 15_000, value: (i * 31 + s) % 977 });
  timeseries.push({ labels, samples });
}
const body = compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish()));

const times: number[] = [];
const cpu: number[] = [];
for (let r = 0; r < runs + 2; r++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const parsed = parseRemoteWrite(body, { now, limits: DEFAULT_INGEST_LIMITS });
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (parsed.series.length !== nSeries) throw new Error('benchmark data did not parse completely');
  if (r >= 2) {
    times.push(dt);
    cpu.push((c.user + c.system) / 1000);
  }
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
const cpuMedian = cpu[Math.floor(cpu.length / 2)]!;
console.log(
  `remote-write parse: ${nSeries} series × ${nLabels} labels × ${nSamples} samples, ${body.length} bytes snappy; ` +
    `median ${median.toFixed(1)} ms/request wall (${cpuMedian.toFixed(1)} ms CPU, all threads), ${Math.round((nSeries * nSamples) / (median / 1000)).toLocaleString('en')} samples/s`,
);
