/**
 * OTLP metrics parse benchmark (not a test): decode + translate of ExportMetricsServiceRequests, protobuf and
 * JSON, with sum and histogram points.
 *
 *   npx tsx src/ingest/otlp/parse.bench.ts [--points 10000] [--attributes 4] [--runs 20] [--exemplars 0]
 *
 * `--exemplars N` gives every histogram point N exemplars (trace and span id, one filtered attribute), as an
 * SDK with exemplar sampling sends them.
 *
 * Requests are generated (deterministic) and encoded before timing starts. Prints the median wall and CPU time per request (CPU time is the steadier figure on a busy machine)
 * and data points per second for each encoding.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_INGEST_LIMITS } from '../validate.ts';
import { parseOtlpMetrics, type OtlpEncoding } from './parse.ts';
import { ExportMetricsServiceRequest } from './proto.ts';

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '10000' },
    attributes: { type: 'string', default: '4' },
    runs: { type: 'string', default: '20' },
    exemplars: { type: 'string', default: '0' },
  },
});
const nPoints = Number(values.points);
const nAttrs = Number(values.attributes);
const runs = Number(values.runs);
const nExemplars = Number(values.exemplars);
const now = Date.UTC(2026, 0, 1);
const t = `${BigInt(now) * 1_000_000n}`;

const attrs = (i: number) =>
  Array.from({ length: nAttrs }, (_, a) => ({
    key: `pipeline.attr_${a}`,
    value: { stringValue: `v${(i * 7919 + a) % 1000}` },
  }));
const hex = (i: number, bytes: number) => (i + 1).toString(16).padStart(bytes * 2, '0');
const exemplars = (i: number) =>
  Array.from({ length: nExemplars }, (_, e) => ({
    timeUnixNano: t,
    asDouble: (i % 13) / 10 + e / 100,
    traceId: Buffer.from(hex(i * 8 + e, 16), 'hex').toString('base64'),
    spanId: Buffer.from(hex(i * 8 + e, 8), 'hex').toString('base64'),
    filteredAttributes: [{ key: 'user', value: { stringValue: `u${i % 100}` } }],
  }));
const sums = [];
const histograms = [];
for (let i = 0; i < nPoints; i++) {
  if (i % 10 === 9)
    histograms.push({
      attributes: attrs(i),
      timeUnixNano: t,
      count: 10,
      sum: 4.5,
      explicitBounds: [0.1, 0.5, 1],
      bucketCounts: [4, 3, 2, 1],
      ...(nExemplars ? { exemplars: exemplars(i) } : {}),
    });
  else sums.push({ attributes: attrs(i), timeUnixNano: t, asDouble: i });
}
const request = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] },
      scopeMetrics: [
        {
          scope: { name: 'bench' },
          metrics: [
            {
              name: 'messages.processed',
              sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: sums },
            },
            {
              name: 'stage.duration',
              unit: 's',
              histogram: { aggregationTemporality: 2, dataPoints: histograms },
            },
          ],
        },
      ],
    },
  ],
};
// fromObject reads ids as base64; OTLP/JSON carries them as hex.
const jsonText = JSON.stringify(request, (k, v: unknown) =>
  (k === 'traceId' || k === 'spanId') && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : v,
);
const bodies: Record<OtlpEncoding, Uint8Array> = {
  protobuf: ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(request)).finish(),
  json: Buffer.from(jsonText),
};

for (const enc of ['protobuf', 'json'] as const) {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const parsed = parseOtlpMetrics(bodies[enc], enc, { now, limits: DEFAULT_INGEST_LIMITS });
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (parsed.errors.length) throw new Error(`benchmark data was refused: ${parsed.errors[0]!.message}`);
    const kept = (parsed as { exemplars?: unknown[] }).exemplars?.length ?? 0;
    if (kept !== histograms.length * nExemplars)
      throw new Error(`expected ${histograms.length * nExemplars} exemplars, parsed ${kept}`);
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
    `OTLP ${enc} parse: ${nPoints} points (10% histograms, 4 buckets, ${nExemplars} exemplars each) × ${nAttrs} attributes, ${bodies[enc].length} bytes; ` +
      `median ${median.toFixed(1)} ms/request wall (${cpuMedian.toFixed(1)} ms CPU, all threads), ${Math.round(nPoints / (median / 1000)).toLocaleString('en')} points/s`,
  );
}
