import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceSampling } from '../demo/lib/sampling.ts';
import { telemetryEnabled } from '../demo/lib/telemetry.ts';
import {
  frameCategory,
  lossPct,
  modeEnv,
  modeLabel,
  profileCategories,
  quantile,
  sumSeries,
} from './pipeline-overhead.ts';
import { freePort } from './lib/systems.ts';

describe('telemetryEnabled (DEMO_TELEMETRY)', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['on', true],
    [' ON ', true],
    ['off', false],
    ['Off', false],
  ])('%j → %s', (value, want) => expect(telemetryEnabled(value)).toBe(want));

  it.each(['0', 'false', 'no', 'of'])('refuses %j naming the valid values', (value) =>
    expect(() => telemetryEnabled(value)).toThrow(/DEMO_TELEMETRY must be "on" or "off", got "/),
  );
});

describe('traceSampling (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG)', () => {
  it.each([
    [{}, { sampler: 'parentbased_always_on', ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: '' }, { sampler: 'parentbased_always_on', ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, { sampler: 'always_off', ratio: 0 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, { sampler: 'parentbased_always_off', ratio: 0 }],
    [
      { OTEL_TRACES_SAMPLER: ' ParentBased_TraceIdRatio ' },
      { sampler: 'parentbased_traceidratio', ratio: 1 },
    ],
    [
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
      { sampler: 'parentbased_traceidratio', ratio: 0.1 },
    ],
    [
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
      { sampler: 'traceidratio', ratio: 0 },
    ],
    // The argument only matters to the ratio samplers.
    [
      { OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'x' },
      { sampler: 'always_on', ratio: 1 },
    ],
  ])('%j → %j', (env, want) => expect(traceSampling(env)).toEqual(want));

  it('refuses an unknown sampler naming the valid ones', () =>
    expect(() => traceSampling({ OTEL_TRACES_SAMPLER: 'ratio' })).toThrow(
      /OTEL_TRACES_SAMPLER must be one of always_on, .*parentbased_traceidratio, got "ratio"/,
    ));

  it.each(['1.5', '-0.1', 'ten', '10%'])('refuses the ratio %j naming the range', (arg) =>
    expect(() =>
      traceSampling({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: arg }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 .* got "/),
  );
});

describe('modes', () => {
  it.each([
    ['off', { DEMO_TELEMETRY: 'off' }, 'off'],
    ['on', { DEMO_TELEMETRY: 'on', OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, 'all traces'],
    [
      'sampled',
      {
        DEMO_TELEMETRY: 'on',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      '10 % traces',
    ],
  ] as const)('%s: environment and label', (mode, env, label) => {
    expect(modeEnv(mode, 0.1)).toEqual(env);
    expect(modeLabel(mode, 0.1)).toBe(label);
    // What the bench sets is what the services accept.
    expect(() => traceSampling(modeEnv(mode, 0.1))).not.toThrow();
  });
});

describe('figures', () => {
  it('sumSeries adds every series of one metric and only of that metric', () => {
    const text = [
      '# HELP vigil_ingest_spans_total Spans accepted',
      '# TYPE vigil_ingest_spans_total counter',
      'vigil_ingest_spans_total{protocol="otlp_http"} 120',
      'vigil_ingest_spans_total{protocol="otlp grpc"} 5',
      'vigil_ingest_spans_total_extra 1000',
      'vigil_ingest_spans_rejected_total{protocol="otlp_http",reason="invalid"} 7',
      '',
    ].join('\n');
    expect(sumSeries(text, 'vigil_ingest_spans_total')).toBe(125);
    expect(sumSeries(text, 'nothing_total')).toBe(0);
  });

  it.each([
    [[], 0.5, NaN],
    [[7], 0.99, 7],
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4], 0.99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
  ])('quantile(%j, %s) = %s', (xs, q, want) => expect(quantile(xs, q)).toBe(want));

  it.each([
    [990, 1000, 1],
    [1000, 1000, 0],
    [1100, 1000, -10],
  ])('lossPct(on %s, off %s) = %s %%', (on, off, want) => expect(lossPct(on, off)).toBeCloseTo(want, 9));

  it.each([
    [
      'file:///x/node_modules/@opentelemetry/otlp-transformer/build/src/a.js',
      'f',
      'OTel export (serialise, send)',
    ],
    [
      'file:///x/node_modules/@opentelemetry/exporter-trace-otlp-http/a.js',
      'f',
      'OTel export (serialise, send)',
    ],
    ['file:///x/node_modules/@opentelemetry/sdk-trace-base/a.js', 'f', 'OTel tracing SDK (spans, batching)'],
    ['file:///x/node_modules/@opentelemetry/sdk-metrics/a.js', 'f', 'OTel metrics SDK'],
    ['file:///x/node_modules/@opentelemetry/context-async-hooks/a.js', 'f', 'OTel API, context, propagation'],
    ['file:///x/node_modules/prom-client/lib/counter.js', 'inc', 'prom-client (legacy /metrics)'],
    ['file:///x/demo/services/router.ts', 'f', 'pipeline code'],
    ['node:internal/deps/undici/undici', 'fetch', 'Node.js fetch (undici)'],
    ['node:_http_server', 'f', 'Node.js http, net, streams'],
    ['node:internal/streams/writable', 'f', 'Node.js http, net, streams'],
    ['node:internal/async_local_storage/async_hooks', 'run', 'Node.js async context tracking'],
    ['node:internal/timers', 'f', 'Node.js runtime, other'],
    ['node:async_hooks', 'run', 'Node.js async context tracking'],
    ['', '(garbage collector)', 'garbage collection'],
    ['', 'stringify', undefined],
  ])('frameCategory(%s, %s) = %s', (url, fn, want) => expect(frameCategory(url, fn)).toBe(want));

  it('counts native frames for their caller and only samples inside the window', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2, 4] },
        {
          id: 2,
          callFrame: { functionName: 'send', url: 'file:///n/@opentelemetry/otlp-transformer/a.js' },
          children: [3],
        },
        { id: 3, callFrame: { functionName: 'stringify', url: '' } },
        { id: 4, callFrame: { functionName: 'route', url: 'file:///r/demo/services/router.ts' } },
      ],
      startTime: 1000,
      // Samples at t = 2000 (before the window), 3000, 4000, 5000 (at its end: excluded).
      samples: [3, 3, 4, 3],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    const got = profileCategories(profile, 3000, 5000);
    expect(Object.fromEntries(got)).toEqual({ 'OTel export (serialise, send)': 1, 'pipeline code': 1 });
  });
});

/**
 * Runs the gateway with DEMO_TELEMETRY=`mode` (and `env`) against a recording OTLP receiver, posts one delivery
 * with `headers`, and stops it with SIGTERM.
 */
async function gatewayRun(
  mode: 'on' | 'off',
  env: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<{ otlpPaths: string[]; metrics: string; traceBodies: Buffer[] }> {
  const otlpPaths: string[] = [];
  const traceBodies: Buffer[] = [];
  const receiver: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      otlpPaths.push(req.url ?? '');
      if (req.url === '/v1/traces') traceBodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const child = fork(join(import.meta.dirname, '../demo/services/gateway.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      ...process.env,
      DEMO_PORT: String(port),
      DEMO_OTLP: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`,
      DEMO_TELEMETRY: mode,
      ...env,
    },
  });
  try {
    await new Promise<void>((ok, fail) => {
      child.once('message', () => ok());
      child.once('exit', (code) => fail(new Error(`gateway exited with ${code}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const res = await fetch(`${base}/deliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ id: `bench-${Date.now()}-1`, client: 'c', channel: 'sms' }),
    });
    expect(res.status).toBe(200);
    const lat = (await (await fetch(`${base}/latencies`)).json()) as { latencies: number[] };
    expect(lat.latencies).toHaveLength(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    // SIGTERM flushes the exporters before the service exits, so what was exported has arrived by then.
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    return { otlpPaths, metrics, traceBodies };
  } finally {
    child.kill('SIGKILL');
    await new Promise<void>((r) => receiver.close(() => r()));
  }
}

describe('the telemetry switch in a real service', () => {
  it('on: exports OTLP traces and metrics and serves process metrics', async () => {
    const { otlpPaths, metrics } = await gatewayRun('on');
    expect(otlpPaths).toContain('/v1/traces');
    expect(otlpPaths).toContain('/v1/metrics');
    expect(metrics).toContain('process_cpu_user_seconds_total');
    expect(metrics).toContain('gw_delivered_count');
  }, 60_000);

  it('off: exports nothing and collects no process metrics', async () => {
    const { otlpPaths, metrics } = await gatewayRun('off');
    expect(otlpPaths).toEqual([]);
    expect(metrics).not.toContain('process_cpu_user_seconds_total');
  }, 60_000);

  it('sampled: a new trace outside the ratio exports no span, but metrics still flow', async () => {
    const sampler = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' };
    const { otlpPaths } = await gatewayRun('on', sampler);
    expect(otlpPaths).not.toContain('/v1/traces');
    expect(otlpPaths).toContain('/v1/metrics');
  }, 60_000);

  it("sampled: a caller's sampled trace is kept whatever the ratio (parent-based)", async () => {
    const sampler = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' };
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { traceBodies } = await gatewayRun('on', sampler, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(Buffer.concat(traceBodies).includes(Buffer.from(traceId, 'hex'))).toBe(true);
  }, 60_000);
});
