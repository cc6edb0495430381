/**
 * Tracing benchmark: OTLP/HTTP protobuf span ingestion into a real Vigil (chDB) in a child process, on-disk
 * bytes per span, trace-by-ID latency with millions of spans stored, and trace search latency.
 *
 *   npx tsx bench/traces.ts [--spans 5000000] [--measure 500000] [--senders 4] [--batch 1000]
 *                           [--lookups 300] [--searches 30] [--seed 42] [--wal on|off] [--keep]
 *
 * 1. Generates seeded multi-service traces of 10-1,000 spans (log-uniform sizes) and pre-encodes the
 *    ExportTraceServiceRequest bodies of the measured phase (--measure spans) before any clock starts.
 * 2. Starts Vigil (`startVigil`, chDB, fresh data folder) in a child process and sends the bodies with
 *    --senders concurrent HTTP senders to POST /v1/traces: spans/s accepted (acknowledged = durable). A 429
 *    or 503 is retried after its Retry-After, as OTLP exporters do, and counted. With the span write-ahead log
 *    (--wal on, the default: traces.write_ahead_log) a 200 means synced to the WAL; the time until every
 *    measured span is also in ClickHouse is reported beside it. --wal off acknowledges after each insert.
 * 3. Fills the store up to --spans with more traces, generated while sending (rate printed, not the headline).
 * 4. OPTIMIZE ... FINAL on the span tables, then bytes per span from system.parts (active parts) and the
 *    biggest columns from system.columns.
 * 5. Trace-by-ID latency p50/p99 over --lookups random stored traces: over HTTP with GET /api/traces/{id}
 *    when Vigil serves it, else SpanStore.trace(id) timed inside the child (the output says which).
 * 6. Search latency: SpanStore.findTraceIds for service + attribute + minimum duration, timed in the child.
 *
 * A benchmark, not a test: it prints figures (and a Markdown section to paste into docs/benchmarks.md).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExportTraceServiceRequest } from '../src/traces/otlp/proto.ts';
import type { ClickHouseSpanStore } from '../src/traces/store.clickhouse.ts';
import { bytes, describeMachine, markdownTable, num, textTable } from './lib/report.ts';

// ---------------------------------------------------------------------------------------------------
// Child: Vigil plus timing of store calls over IPC.

interface ChildRequest {
  readonly id: number;
  readonly op: 'trace' | 'find' | 'optimize' | 'parts' | 'flush';
  readonly traceIds?: readonly string[];
  readonly queries?: readonly SearchQuery[];
  readonly runs?: number;
}

interface SearchQuery {
  readonly service: string;
  readonly tags: Record<string, string>;
  readonly minDurationNs: bigint;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

async function runChild(dataDir: string, wal: boolean): Promise<void> {
  const { loadConfigText } = await import('../src/config/config.ts');
  const { startVigil } = await import('../src/app.ts');
  const yaml = [
    'self_monitoring:\n  enabled: false',
    'otlp:\n  http_port: 0\n  grpc_port: 0',
    `traces:\n  retention: 0\n  write_ahead_log: ${wal}`,
    'storage:\n  retention: 0',
  ].join('\n');
  const cfg = loadConfigText(yaml, 'bench.yml', { dataDir, port: 0, listenAddress: '127.0.0.1' });
  const vigil = await startVigil(cfg);
  const sql = vigil.storage.sql;
  const db = cfg.storage.clickhouse?.database ?? 'vigil';
  process.on('message', (m: ChildRequest) => {
    const answer = async (): Promise<unknown> => {
      switch (m.op) {
        case 'trace': {
          const ms: number[] = [];
          let spans = 0;
          for (const id of m.traceIds ?? []) {
            const t0 = performance.now();
            spans += (await vigil.spans.trace(id)).length;
            ms.push(performance.now() - t0);
          }
          return { ms, spans };
        }
        case 'find': {
          const out: { ms: number[]; found: number }[] = [];
          for (const q of m.queries ?? []) {
            const ms: number[] = [];
            let found = 0;
            for (let r = 0; r < (m.runs ?? 1); r++) {
              const t0 = performance.now();
              found = (await vigil.spans.findTraceIds({ ...q, limit: 20 })).length;
              ms.push(performance.now() - t0);
            }
            out.push({ ms, found });
          }
          return out;
        }
        case 'flush': {
          const t0 = performance.now();
          await (vigil.spans as ClickHouseSpanStore).flush();
          return performance.now() - t0;
        }
        case 'optimize': {
          await (vigil.spans as ClickHouseSpanStore).flush();
          const t0 = performance.now();
          for (const table of ['spans', 'trace_id_ts']) await sql.exec(`OPTIMIZE TABLE ${db}.${table} FINAL`);
          return performance.now() - t0;
        }
        case 'parts': {
          const tables = await sql.queryRows<Record<string, string>>(
            `SELECT table, toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS disk,
               toString(sum(data_compressed_bytes)) AS compressed, toString(sum(data_uncompressed_bytes)) AS raw,
               toString(count()) AS parts
             FROM system.parts WHERE database = '${db}' AND active AND table IN ('spans', 'trace_id_ts')
             GROUP BY table ORDER BY table`,
          );
          const columns = await sql.queryRows<Record<string, string>>(
            `SELECT table, name, toString(data_compressed_bytes) AS compressed,
               toString(data_uncompressed_bytes) AS raw
             FROM system.columns WHERE database = '${db}' AND table IN ('spans', 'trace_id_ts')
             ORDER BY data_compressed_bytes DESC LIMIT 12`,
          );
          const indexes = await sql.queryRows<Record<string, string>>(
            `SELECT table, toString(sum(secondary_indices_compressed_bytes)) AS idx,
               toString(sum(primary_key_bytes_in_memory)) AS pk
             FROM system.parts WHERE database = '${db}' AND active AND table IN ('spans', 'trace_id_ts')
             GROUP BY table ORDER BY table`,
          );
          return { tables, columns, indexes };
        }
      }
    };
    answer().then(
      (result) => process.send!({ id: m.id, result }),
      (err: Error) => process.send!({ id: m.id, error: err.message }),
    );
  });
  process.once('SIGTERM', () => {
    void vigil.close().then(() => process.exit(0));
  });
  process.send!({ ready: vigil.port });
}

// ---------------------------------------------------------------------------------------------------
// Seeded data.

/** mulberry32: small, fast, seeded. */
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

const SERVICES = [
  'gateway',
  'auth',
  'ingest',
  'validate',
  'enrich',
  'router',
  'email-channel',
  'sms-channel',
  'push-channel',
  'webhook-channel',
  'templates',
  'postgres',
] as const;
const ROUTES = ['/messages', '/messages/{id}', '/batches', '/status/{id}', '/templates/{name}'];
const CHANNELS = ['email', 'sms', 'push', 'webhook'];
const OPS: Record<string, string[]> = Object.fromEntries(
  SERVICES.map((s) => [
    s,
    s === 'postgres'
      ? ['SELECT messages', 'INSERT messages', 'UPDATE status', 'SELECT templates']
      : [`${s} handle`, `${s} publish`, `${s} consume`, 'HTTP POST', 'HTTP GET', `${s} transform`],
  ]),
);

interface Generated {
  readonly body: Buffer;
  readonly spans: number;
  readonly traceIds: string[];
}

interface Gen {
  /** Next request body holding whole traces of at least `batch` spans in total. */
  next(batch: number): Generated;
}

function long(ns: bigint) {
  return { low: Number(ns & 0xffffffffn) | 0, high: Number((ns >> 32n) & 0xffffffffn) | 0, unsigned: true };
}

function strAttr(key: string, value: string) {
  return { key, value: { stringValue: value } };
}
function intAttr(key: string, value: number) {
  return { key, value: { intValue: value } };
}

/** Traces spread over the `windowNs` before `endNs`; sizes log-uniform in [10, 1000]. */
function generator(seed: number, endNs: bigint, windowNs: bigint): Gen {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const hex = (bytesN: number) => {
    const b = Buffer.allocUnsafe(bytesN);
    for (let i = 0; i < bytesN; i += 4) b.writeUInt32LE((r() * 0x100000000) >>> 0, i);
    return b;
  };
  let messageSeq = 0;
  return {
    next(batch) {
      const byService = new Map<string, unknown[]>();
      const traceIds: string[] = [];
      let total = 0;
      while (total < batch) {
        const size = Math.round(Math.exp(Math.log(10) + r() * (Math.log(1000) - Math.log(10))));
        const traceId = hex(16);
        traceIds.push(traceId.toString('hex'));
        const t0 = endNs - BigInt(Math.floor(r() * Number(windowNs / 1000n))) * 1000n;
        const channel = pick(CHANNELS);
        const messageId = `msg-${(messageSeq++).toString(36)}`;
        const nodes: { id: Buffer; service: string; start: bigint; dur: bigint }[] = [];
        for (let i = 0; i < size; i++) {
          const parent = i === 0 ? undefined : nodes[Math.floor(r() * Math.min(i, 1 + i / 2))]!;
          const service = i === 0 ? 'gateway' : r() < 0.6 ? pick(SERVICES) : parent!.service;
          const start = parent ? parent.start + BigInt(Math.floor(r() * 2_000_000)) : t0;
          // Log-normal-ish durations from ~50 µs to a few seconds.
          const dur = BigInt(Math.floor(Math.exp(11 + r() * 6 + r() * 3)));
          const id = hex(8);
          nodes.push({ id, service, start, dur });
          const kind = i === 0 ? 2 : service === 'postgres' ? 3 : pick([1, 2, 3, 4, 5]);
          const err = r() < 0.02;
          const attributes = [
            strAttr('messaging.channel', channel),
            strAttr('message.id', messageId),
            strAttr('http.route', pick(ROUTES)),
            intAttr('http.status_code', err ? 500 : 200),
          ];
          if (service === 'postgres') attributes.push(strAttr('db.system', 'postgresql'));
          if (kind === 3) attributes.push(strAttr('net.peer.name', `${pick(SERVICES)}.svc.cluster.local`));
          const span = {
            traceId,
            spanId: id,
            parentSpanId: parent?.id,
            name: pick(OPS[service]!),
            kind,
            startTimeUnixNano: long(start),
            endTimeUnixNano: long(start + dur),
            attributes,
            events: err
              ? [
                  {
                    timeUnixNano: long(start + dur / 2n),
                    name: 'exception',
                    attributes: [strAttr('exception.type', 'TimeoutError')],
                  },
                ]
              : [],
            status: err ? { code: 2, message: 'upstream timed out' } : {},
          };
          let list = byService.get(service);
          if (!list) byService.set(service, (list = []));
          list.push(span);
        }
        total += size;
      }
      const msg = {
        resourceSpans: [...byService].map(([service, spans]) => ({
          resource: {
            attributes: [
              strAttr('service.name', service),
              strAttr('service.version', '1.4.2'),
              strAttr('deployment.environment', 'bench'),
              strAttr('host.name', `${service}-7f9c`),
            ],
          },
          scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http', version: '0.52.0' }, spans }],
        })),
      };
      const body = Buffer.from(ExportTraceServiceRequest.encode(msg as never).finish());
      return { body, spans: total, traceIds };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Parent.

function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const h = q * (sorted.length - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

interface SendStats {
  spans: number;
  requests: number;
  retries: number;
  bodyBytes: number;
}

/** Sends bodies from `source` with `senders` concurrent loops; retries 429/503 after Retry-After. */
async function send(url: string, senders: number, source: () => Generated | undefined): Promise<SendStats> {
  const stats: SendStats = { spans: 0, requests: 0, retries: 0, bodyBytes: 0 };
  const loop = async () => {
    for (let g = source(); g; g = source()) {
      for (;;) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          // A Buffer is a Uint8Array; undici sends it without copying.
          body: g.body as Uint8Array as Uint8Array<ArrayBuffer>,
        });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (res.status !== 429 && res.status !== 503)
          throw new Error(`POST /v1/traces answered ${res.status}`);
        stats.retries++;
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      }
      stats.spans += g.spans;
      stats.requests++;
      stats.bodyBytes += g.body.length;
    }
  };
  await Promise.all(Array.from({ length: senders }, loop));
  return stats;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      spans: { type: 'string', default: '5000000' },
      measure: { type: 'string', default: '500000' },
      senders: { type: 'string', default: '4' },
      batch: { type: 'string', default: '1000' },
      lookups: { type: 'string', default: '300' },
      searches: { type: 'string', default: '30' },
      seed: { type: 'string', default: '42' },
      keep: { type: 'boolean', default: false },
      wal: { type: 'string', default: 'on' },
      child: { type: 'string' },
    },
  });
  if (args.wal !== 'on' && args.wal !== 'off') throw new Error(`--wal must be on or off, not ${args.wal}`);
  if (args.child) return runChild(args.child, args.wal === 'on');

  const totalTarget = Number(args.spans);
  const measureTarget = Math.min(Number(args.measure), totalTarget);
  const senders = Number(args.senders);
  const batch = Number(args.batch);
  const seed = Number(args.seed);
  const machine = describeMachine();
  const say = (s: string) => process.stdout.write(s + '\n');
  say(`machine: ${machine.cores} cores, ${machine.memory}, ${machine.cpu}, Node ${machine.node}`);

  const endNs = BigInt(Date.now()) * 1_000_000n;
  const windowNs = 6n * 3600n * 1_000_000_000n;
  const gen = generator(seed, endNs, windowNs);
  const allTraceIds: string[] = [];

  // 1. Pre-encode the measured phase.
  let t0 = performance.now();
  const bodies: Generated[] = [];
  let pre = 0;
  while (pre < measureTarget) {
    const g = gen.next(batch);
    bodies.push(g);
    allTraceIds.push(...g.traceIds);
    pre += g.spans;
  }
  const preBytes = bodies.reduce((n, b) => n + b.body.length, 0);
  say(
    `generated ${num(pre)} spans in ${num(allTraceIds.length)} traces, ${bodies.length} requests, ` +
      `${bytes(preBytes)} protobuf (${num(preBytes / pre)} B/span) in ${num(performance.now() - t0)} ms`,
  );

  // 2. Vigil in a child process.
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-traces-'));
  const logFile = join(dataDir, 'child.log');
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    ['--child', join(dataDir, 'data'), '--wal', args.wal],
    {
      // For example BENCH_CHILD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile Vigil.
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
      serialization: 'advanced',
      stdio: ['ignore', logFd, logFd, 'ipc'],
    },
  );
  const pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  let seq = 0;
  let ready: (port: number) => void;
  const readyP = new Promise<number>((r) => (ready = r));
  child.on('message', (m: any) => {
    if (m.ready) return ready(m.ready);
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p?.reject(new Error(m.error));
    else p?.resolve(m.result);
  });
  child.once('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`Vigil child exited (${code}); see ${logFile}`));
  });
  const ask = <T>(req: Omit<ChildRequest, 'id'>): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ ...req, id });
    });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
    else say(`data kept in ${dataDir}`);
  };

  try {
    const port = await readyP;
    const base = `http://127.0.0.1:${port}`;
    say(`Vigil (chDB) started in a child process on port ${port}, data in ${dataDir}`);

    let i = 0;
    t0 = performance.now();
    const measured = await send(`${base}/v1/traces`, senders, () => bodies[i++]);
    const measuredS = (performance.now() - t0) / 1000;
    // With the WAL, acknowledged spans may still be on their way into ClickHouse.
    const flushMs = await ask<number>({ op: 'flush' });
    const storedS = (performance.now() - t0) / 1000;
    bodies.length = 0;
    const rate = measured.spans / measuredS;
    say(
      `ingest (measured): ${num(measured.spans)} spans in ${num(measuredS, 1)} s = ${num(rate)} spans/s, ` +
        `${num(measured.requests / measuredS)} requests/s, ${measured.retries} retries (429/503), ` +
        `${senders} senders, ~${batch} spans/request, WAL ${args.wal}, load ${loadavg()[0]!.toFixed(1)}`,
    );
    say(
      `  all in ClickHouse ${num(flushMs)} ms after the last acknowledgement: ` +
        `${num(measured.spans / storedS)} spans/s from first request to last insert`,
    );

    // 3. Fill up to the target, generating while sending.
    let stored = measured.spans;
    let fill: SendStats | undefined;
    let fillS = 0;
    if (stored < totalTarget) {
      let generated = stored;
      let lastReport = performance.now();
      t0 = performance.now();
      fill = await send(`${base}/v1/traces`, senders, () => {
        if (generated >= totalTarget) return undefined;
        const g = gen.next(batch);
        generated += g.spans;
        allTraceIds.push(...g.traceIds);
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          say(`  fill: ${num(generated)} spans generated`);
        }
        return g;
      });
      fillS = (performance.now() - t0) / 1000;
      stored += fill.spans;
      say(
        `fill (generated while sending): ${num(fill.spans)} spans in ${num(fillS, 1)} s = ` +
          `${num(fill.spans / fillS)} spans/s, ${fill.retries} retries; ${num(stored)} spans stored in total`,
      );
    }

    // 4. Bytes per span.
    const optimizeMs = await ask<number>({ op: 'optimize' });
    const parts = await ask<{
      tables: Record<string, string>[];
      columns: Record<string, string>[];
      indexes: Record<string, string>[];
    }>({ op: 'parts' });
    const spansRows = Number(parts.tables.find((t) => t.table === 'spans')?.rows ?? 0);
    const diskTotal = parts.tables.reduce((n, t) => n + Number(t.disk), 0);
    say(`OPTIMIZE FINAL took ${num(optimizeMs / 1000, 1)} s`);
    say(
      textTable(
        ['table', 'rows', 'parts', 'on disk', 'compressed', 'uncompressed', 'bytes/span'],
        parts.tables.map((t) => [
          t.table!,
          num(Number(t.rows)),
          t.parts!,
          bytes(Number(t.disk)),
          bytes(Number(t.compressed)),
          bytes(Number(t.raw)),
          num(Number(t.disk) / spansRows, 1),
        ]),
      ),
    );
    const bytesPerSpan = diskTotal / spansRows;
    say(`on disk: ${num(bytesPerSpan, 1)} bytes/span (spans + trace_id_ts, active parts)`);
    say(
      textTable(
        ['table', 'column', 'compressed', 'bytes/span'],
        parts.columns.map((c) => [
          c.table!,
          c.name!,
          bytes(Number(c.compressed)),
          num(Number(c.compressed) / spansRows, 1),
        ]),
      ),
    );
    say(
      `skip indexes: ${parts.indexes.map((x) => `${x.table} ${bytes(Number(x.idx))}`).join(', ')}; ` +
        `primary keys in memory: ${parts.indexes.map((x) => `${x.table} ${bytes(Number(x.pk))}`).join(', ')}`,
    );

    // 5. Trace by ID.
    const r = rng(seed + 1);
    const lookupIds = Array.from(
      { length: Number(args.lookups) },
      () => allTraceIds[Math.floor(r() * allTraceIds.length)]!,
    );
    const probe = await fetch(`${base}/api/traces/${lookupIds[0]}`);
    const probeText = await probe.text();
    const overHttp = probe.status === 200;
    let lookupMs: number[];
    let lookupSpans = 0;
    let lookupHow: string;
    if (overHttp) {
      lookupHow = 'GET /api/traces/{id} over HTTP';
      lookupMs = [];
      for (const id of lookupIds.slice(0, 5)) await (await fetch(`${base}/api/traces/${id}`)).arrayBuffer();
      for (const id of lookupIds) {
        const s = performance.now();
        const res = await fetch(`${base}/api/traces/${id}`);
        const body = (await res.json()) as { data?: { spans?: unknown[] }[] };
        lookupMs.push(performance.now() - s);
        lookupSpans += body.data?.[0]?.spans?.length ?? 0;
      }
    } else {
      lookupHow = `SpanStore.trace(id) timed in the Vigil process (GET /api/traces/{id} answered ${probe.status}: ${probeText.slice(0, 80)})`;
      await ask({ op: 'trace', traceIds: lookupIds.slice(0, 5) });
      const res = await ask<{ ms: number[]; spans: number }>({ op: 'trace', traceIds: lookupIds });
      lookupMs = res.ms;
      lookupSpans = res.spans;
    }
    lookupMs.sort((a, b) => a - b);
    const p50 = quantile(lookupMs, 0.5);
    const p99 = quantile(lookupMs, 0.99);
    say(
      `trace by ID (${lookupHow}): ${lookupIds.length} lookups, ${num(lookupSpans / lookupIds.length)} spans ` +
        `per trace on average, p50 ${num(p50, 1)} ms, p99 ${num(p99, 1)} ms, max ${num(lookupMs.at(-1)!, 1)} ms`,
    );

    // 6. Search.
    const searches: (SearchQuery & { label: string })[] = [
      {
        label: 'router, http.route=/messages/{id}, >= 100 ms, 6 h',
        service: 'router',
        tags: { 'http.route': '/messages/{id}' },
        minDurationNs: 100_000_000n,
        startNs: endNs - windowNs,
        endNs,
      },
      {
        label: 'sms-channel, messaging.channel=sms, >= 1 s, 6 h',
        service: 'sms-channel',
        tags: { 'messaging.channel': 'sms' },
        minDurationNs: 1_000_000_000n,
        startNs: endNs - windowNs,
        endNs,
      },
      {
        label: 'postgres, http.status_code=500, >= 10 ms, last 1 h',
        service: 'postgres',
        tags: { 'http.status_code': '500' },
        minDurationNs: 10_000_000n,
        startNs: endNs - 3600n * 1_000_000_000n,
        endNs,
      },
    ];
    const runs = Number(args.searches);
    await ask({ op: 'find', queries: searches, runs: 1 });
    const found = await ask<{ ms: number[]; found: number }[]>({ op: 'find', queries: searches, runs });
    const searchRows = searches.map((q, k) => {
      const ms = [...found[k]!.ms].sort((a, b) => a - b);
      return [q.label, String(found[k]!.found), num(quantile(ms, 0.5), 1), num(quantile(ms, 0.99), 1)];
    });
    say(`search (SpanStore.findTraceIds in the Vigil process, limit 20, ${runs} runs each):`);
    say(textTable(['query', 'traces', 'p50 ms', 'p99 ms'], searchRows));

    // Markdown for docs/benchmarks.md.
    const md = [
      '## Tracing (bench/traces.ts)',
      '',
      `Command: \`npx tsx bench/traces.ts ${process.argv.slice(2).join(' ')}\``.replace(/ `$/, '`'),
      '',
      `Machine: ${machine.cores} cores, ${machine.memory}, ${machine.cpu}, Node ${machine.node}, ${machine.os}.`,
      '',
      markdownTable(
        ['figure', 'result', 'aim'],
        [
          [
            `spans/s accepted, OTLP/HTTP protobuf, ${senders} senders, ~${batch} spans/request, WAL ${args.wal}`,
            num(rate),
            '≥ 50,000',
          ],
          [
            'on-disk bytes per span (spans + trace_id_ts, after OPTIMIZE FINAL)',
            num(bytesPerSpan, 1),
            '< 60',
          ],
          [
            `trace by ID p50 / p99 (${overHttp ? 'HTTP' : 'SpanStore.trace in process'})`,
            `${num(p50, 1)} / ${num(p99, 1)} ms`,
            'p99 < 100 ms',
          ],
          ['spans stored during the lookups', num(spansRows), '≥ 5,000,000'],
        ],
      ),
      '',
      markdownTable(['search (findTraceIds, limit 20)', 'traces', 'p50 ms', 'p99 ms'], searchRows),
    ].join('\n');
    say('\n' + md);
  } catch (err) {
    say(
      `failed: ${(err as Error).message}\n--- child log ---\n${readFileSync(logFile, 'utf8').slice(-4000)}`,
    );
    process.exitCode = 1;
  } finally {
    await stop();
  }
}

await main();
