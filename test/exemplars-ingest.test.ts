/**
 * Exemplars that arrive from outside reach /api/v1/query_exemplars: OTLP/HTTP (JSON and protobuf), OTLP/gRPC,
 * Prometheus remote-write 1.0 and an OpenMetrics scrape, each through a real Vigil (chDB) and real sockets.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_EXPORT_PATH } from '../src/ingest/grpc/server.ts';
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse } from '../src/ingest/otlp/proto.ts';
import { WriteRequest } from '../src/ingest/remotewrite/proto.ts';
import { rmSync } from 'node:fs';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startPeer, tempDir, waitFor } from './helpers.ts';

const trace = (n: number) => `${n.toString(16).padStart(4, '0')}${'ab'.repeat(14)}`;
const SPAN = '00f067aa0ba902b7';

let vigil: RunningVigil & { url: string };
let dataDir: string;
let target: Server;
let hits = 0;
const t0 = Date.now();
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;

beforeAll(async () => {
  target = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
    res.end(
      [
        '# TYPE shop_orders counter',
        `shop_orders_total{shop="eu"} 12 # {trace_id="${trace(5)}"} 1 ${(t0 - 2000) / 1000}`,
        '# TYPE shop_latency_seconds histogram',
        `shop_latency_seconds_bucket{le="0.5"} 3 # {trace_id="${trace(6)}",span_id="${SPAN}"} 0.2`,
        'shop_latency_seconds_bucket{le="+Inf"} 3',
        'shop_latency_seconds_count 3',
        'shop_latency_seconds_sum 0.6',
        '# EOF',
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as AddressInfo).port;
  // startTestVigil turns gRPC off (port 0), so this test starts Vigil itself with a free gRPC port.
  dataDir = tempDir('exemplars');
  const cfg = loadConfigText(
    'self_monitoring:\n  enabled: false\n' +
      `scrape_configs:\n  - job_name: shop\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
    'test.yml',
    { dataDir, port: 0, otlpHttpPort: 0, otlpGrpcPort: await freePort(), listenAddress: '127.0.0.1' },
  );
  const running = await startVigil(cfg);
  vigil = Object.assign(running, { url: `http://127.0.0.1:${running.port}` });
}, 60_000);

afterAll(async () => {
  await vigil?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await new Promise<void>((r) => target?.close(() => r()));
});

interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

async function queryExemplars(query: string): Promise<ExemplarSeries[]> {
  const params = new URLSearchParams({
    query,
    start: String((t0 - 3_600_000) / 1000),
    end: String((Date.now() + 60_000) / 1000),
  });
  const res = await fetch(`${vigil.url}/api/v1/query_exemplars?${params}`);
  const body = (await res.json()) as { status: string; data: ExemplarSeries[] };
  expect(res.status).toBe(200);
  return body.data;
}

const traceIds = (data: ExemplarSeries[]) =>
  data.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id)).sort();

function otlpRequest(
  name: string,
  exemplars: Record<string, unknown>[],
  histogram = false,
): Record<string, unknown> {
  const point = { timeUnixNano: ns(t0), exemplars };
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeMetrics: [
          {
            metrics: [
              histogram
                ? {
                    name,
                    unit: 's',
                    histogram: {
                      aggregationTemporality: 2,
                      dataPoints: [
                        { ...point, count: 3, sum: 1.2, bucketCounts: [1, 1, 1], explicitBounds: [0.1, 1] },
                      ],
                    },
                  }
                : {
                    name,
                    sum: {
                      aggregationTemporality: 2,
                      isMonotonic: true,
                      dataPoints: [{ ...point, asInt: 9 }],
                    },
                  },
            ],
          },
        ],
      },
    ],
  };
}

function protobuf(req: Record<string, unknown>): Buffer {
  return Buffer.from(
    ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(req)).finish(),
  );
}

/** A Buffer copied into a plain Uint8Array, which the fetch types accept as a body. */
const bytes = (b: Buffer) => new Uint8Array(b);

describe('exemplars from outside reach query_exemplars', () => {
  it('OTLP/JSON: a histogram exemplar lands on the _bucket series whose le holds its value', async () => {
    const res = await fetch(`${vigil.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        otlpRequest(
          'checkout.latency',
          [{ timeUnixNano: ns(t0 - 100), asDouble: 0.4, traceId: trace(1), spanId: SPAN }],
          true,
        ),
      ),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const data = await queryExemplars('checkout_latency_seconds_bucket');
    expect(data).toEqual([
      {
        seriesLabels: { __name__: 'checkout_latency_seconds_bucket', job: 'checkout', le: '1' },
        exemplars: [
          { labels: { trace_id: trace(1), span_id: SPAN }, value: '0.4', timestamp: (t0 - 100) / 1000 },
        ],
      },
    ]);
  });

  it('OTLP/HTTP protobuf: an invalid exemplar is skipped with a partial-success warning; the valid one is kept', async () => {
    const res = await fetch(`${vigil.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: bytes(
        protobuf(
          otlpRequest('checkout.orders', [
            { asDouble: 1, traceId: Buffer.from('abcd', 'hex') },
            { asDouble: 2, traceId: Buffer.from(trace(2), 'hex') },
          ]),
        ),
      ),
    });
    expect(res.status).toBe(200);
    const answer = ExportMetricsServiceResponse.decode(Buffer.from(await res.arrayBuffer())) as unknown as {
      partialSuccess: { rejectedDataPoints: unknown; errorMessage: string };
    };
    expect(Number(answer.partialSuccess.rejectedDataPoints)).toBe(0);
    expect(answer.partialSuccess.errorMessage).toMatch(
      /exemplars\[0\]\.traceId: expected 16 bytes, got 2 \[invalid_exemplar\]/,
    );
    expect(traceIds(await queryExemplars('checkout_orders_total'))).toEqual([trace(2)]);
  });

  it('OTLP/gRPC: exemplars of a sum are stored', async () => {
    const client = new grpc.Client(`127.0.0.1:${vigil.otlpGrpcPort}`, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          METRICS_EXPORT_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          protobuf(otlpRequest('grpc.calls', [{ asInt: 4, traceId: Buffer.from(trace(3), 'hex') }])),
          (err) => resolve(err),
        ),
      );
      expect(error).toBeNull();
    } finally {
      client.close();
    }
    expect(traceIds(await queryExemplars('grpc_calls_total'))).toEqual([trace(3)]);
  });

  it('remote-write 1.0: TimeSeries.exemplars are stored; one too long is skipped and counted, the request is 204', async () => {
    const body = WriteRequest.encode(
      WriteRequest.fromObject({
        timeseries: [
          {
            labels: [
              { name: '__name__', value: 'rw_latency_seconds_bucket' },
              { name: 'le', value: '0.25' },
            ],
            samples: [{ value: 4, timestamp: t0 }],
            exemplars: [
              { labels: [{ name: 'trace_id', value: trace(4) }], value: 0.2, timestamp: t0 - 50 },
              { labels: [{ name: 'trace_id', value: 'x'.repeat(200) }], value: 0.1, timestamp: t0 - 40 },
            ],
          },
        ],
      }),
    ).finish();
    const res = await fetch(`${vigil.url}/api/v1/write`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      },
      body: bytes(compressSync(Buffer.from(body))),
    });
    expect(res.status).toBe(204);
    const data = await queryExemplars('rw_latency_seconds_bucket{le="0.25"}');
    expect(data).toEqual([
      {
        seriesLabels: { __name__: 'rw_latency_seconds_bucket', le: '0.25' },
        exemplars: [{ labels: { trace_id: trace(4) }, value: '0.2', timestamp: (t0 - 50) / 1000 }],
      },
    ]);
    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toMatch(
      /vigil_ingest_exemplars_dropped_total\{protocol="remote_write",reason="labels_too_long"\} 1/,
    );
    expect(metrics).toMatch(/vigil_ingest_exemplars_total\{protocol="remote_write"\} 1/);
  });

  it('OpenMetrics scrape: exemplars of the page, on the target-labelled series, with own or scrape time', async () => {
    const data = await waitFor('scraped exemplars', async () => {
      const d = await queryExemplars('{job="shop"}');
      return d.length === 2 ? d : undefined;
    });
    const byName = Object.fromEntries(data.map((s) => [s.seriesLabels.__name__, s]));
    expect(byName.shop_orders_total).toEqual({
      seriesLabels: { __name__: 'shop_orders_total', shop: 'eu', job: 'shop', instance: expect.any(String) },
      exemplars: [{ labels: { trace_id: trace(5) }, value: '1', timestamp: (t0 - 2000) / 1000 }],
    });
    expect(byName.shop_latency_seconds_bucket!.seriesLabels.le).toBe('0.5');
    const ex = byName.shop_latency_seconds_bucket!.exemplars;
    expect(ex[0]!.labels).toEqual({ trace_id: trace(6), span_id: SPAN });
    // No timestamp on the page: dated at the scrape, which happened after the test started.
    expect(ex[0]!.timestamp * 1000).toBeGreaterThanOrEqual(t0);
    // The same exemplar on every page is stored once, not once per scrape.
    const scrapes = hits;
    await waitFor('two more scrapes', async () => hits >= scrapes + 2);
    const again = await queryExemplars('shop_latency_seconds_bucket');
    expect(again[0]!.exemplars).toHaveLength(1);
  });
});

describe('a real Prometheus (exemplar storage on) scraping exemplars and remote-writing them to Vigil', () => {
  it('Vigil answers query_exemplars with the trace ids Prometheus scraped', async () => {
    const dir = tempDir('prom-exemplars');
    const port = await freePort();
    const targetPort = (target.address() as AddressInfo).port;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: promshop',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${targetPort}']`,
        'remote_write:',
        `  - url: ${vigil.url}/api/v1/write`,
        '    send_exemplars: true',
        '    queue_config:',
        '      batch_send_deadline: 1s',
        '',
      ].join('\n'),
    );
    const prom = await startPeer(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--enable-feature=exemplar-storage',
      ],
      `http://127.0.0.1:${port}`,
      '/-/ready',
      [dir],
    );
    try {
      const data = await waitFor(
        'exemplars remote-written by Prometheus',
        async () => {
          const d = await queryExemplars('{job="promshop"}');
          return d.length === 2 ? d : undefined;
        },
        90_000,
      );
      expect(traceIds(data)).toEqual([trace(5), trace(6)].sort());
      const bucket = data.find((s) => s.seriesLabels.__name__ === 'shop_latency_seconds_bucket')!;
      expect(bucket.seriesLabels).toMatchObject({ le: '0.5', job: 'promshop' });
      expect(bucket.exemplars[0]!.labels).toEqual({ trace_id: trace(6), span_id: SPAN });
    } finally {
      await prom.stop();
    }
  }, 120_000);
});
