/**
 * OTLP/gRPC receiver (default port 4317): `opentelemetry.proto.collector.trace.v1.TraceService/Export` and
 * `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` on one @grpc/grpc-js server. Messages stay
 * raw bytes through grpc-js (identity serializers) and are parsed, validated and stored by the same code as
 * the OTLP/HTTP handlers, so both transports accept and refuse exactly the same data.
 *
 * Status codes follow the OTLP/gRPC specification:
 * - OK with an Export*ServiceResponse; items refused on their own are counted in `partial_success`;
 * - INVALID_ARGUMENT for a message that cannot be decoded (not retryable);
 * - RESOURCE_EXHAUSTED (store overloaded) or UNAVAILABLE (storage failing), both with a google.rpc.RetryInfo
 *   in `grpc-status-details-bin`, which makes them retryable after the given delay.
 * gzip (and deflate) message compression is handled by grpc-js.
 */
import * as grpc from '@grpc/grpc-js';
import {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  MalformedRequestError,
  countRejected,
  countRequestRejected,
  storeExemplars,
  storeParsed,
  summarizeExemplarDrops,
  summarizeErrors,
  type IngestDeps,
} from '../http.ts';
import { DeltaToCumulative } from '../otlp/delta.ts';
import { parseOtlpMetrics } from '../otlp/parse.ts';
import { ExportMetricsServiceResponse } from '../otlp/proto.ts';
import { ingestOtlpTraces, type TraceIngestDeps } from '../../traces/otlp/handler.ts';
import { ExportTraceServiceResponse } from '../../traces/otlp/proto.ts';
import { encodeStatusWithRetryInfo } from './status.ts';

export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const METRICS_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

export interface OtlpGrpcOptions {
  readonly host: string;
  /** 0 picks a free port (see `port` of the result). */
  readonly port: number;
  /** Trace ingestion; without it the TraceService is not offered (UNIMPLEMENTED). */
  readonly traces?: TraceIngestDeps;
  /** Metrics ingestion; without it the MetricsService is not offered (UNIMPLEMENTED). */
  readonly metrics?: IngestDeps;
  /** Largest message accepted (after decompression), bytes; default 64 MiB. */
  readonly maxMessageBytes?: number;
  readonly log?: (msg: string) => void;
}

export interface OtlpGrpcServer {
  readonly port: number;
  /** Stops accepting calls, lets calls in flight finish (at most `graceMs`), then closes connections. */
  close(graceMs?: number): Promise<void>;
}

const TRACE_PROTOCOL = 'otlp_traces_grpc';
const METRICS_PROTOCOL = 'otlp_grpc';
/** How many refused points the partial_success message names. */
const ERRORS_SHOWN = 5;

const identity = (b: Buffer): Buffer => b;

function unaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** A gRPC error: INVALID_ARGUMENT and friends as they are; retryable ones carry a RetryInfo delay. */
function grpcError(
  code: grpc.status,
  details: string,
  retryAfterSeconds?: number,
): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (retryAfterSeconds !== undefined)
    metadata.set(
      'grpc-status-details-bin',
      encodeStatusWithRetryInfo(code, details, retryAfterSeconds * 1000),
    );
  return { code, details, metadata };
}

/** Delta running totals shared by every server built from the same metrics deps. */
const deltaByDeps = new WeakMap<IngestDeps, DeltaToCumulative>();

/** Starts the OTLP/gRPC server and resolves once it listens. */
export async function startOtlpGrpcServer(opts: OtlpGrpcOptions): Promise<OtlpGrpcServer> {
  const log = opts.log ?? (() => {});
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });

  const guard =
    (what: string, fn: (req: Buffer) => Promise<Buffer>): grpc.handleUnaryCall<Buffer, Buffer> =>
    (call, callback) => {
      fn(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (err && typeof err === 'object' && 'code' in err && 'details' in err) {
            callback(err as Partial<grpc.StatusObject>);
            return;
          }
          log(`OTLP/gRPC ${what}: ${(err as Error)?.message ?? String(err)}`);
          callback(
            grpcError(grpc.status.INTERNAL, `OTLP ${what}: internal error: ${(err as Error)?.message}`),
          );
        },
      );
    };

  const traces = opts.traces;
  if (traces) {
    server.addService(
      { Export: unaryMethod(TRACE_EXPORT_PATH) },
      {
        Export: guard('traces', async (body) => {
          const outcome = await ingestOtlpTraces(traces, body, 'protobuf', false, TRACE_PROTOCOL);
          switch (outcome.status) {
            case 'invalid':
              countRequestRejected(TRACE_PROTOCOL, 400);
              throw grpcError(grpc.status.INVALID_ARGUMENT, `OTLP traces: ${outcome.message}`);
            case 'too_large':
              countRequestRejected(TRACE_PROTOCOL, 413);
              throw grpcError(grpc.status.INVALID_ARGUMENT, `OTLP traces: ${outcome.message}`);
            case 'retryable': {
              const overloaded = outcome.reason === 'overloaded';
              countRequestRejected(TRACE_PROTOCOL, overloaded ? 429 : 503);
              log(`OTLP/gRPC traces: ${outcome.message}`);
              throw grpcError(
                overloaded ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE,
                `OTLP traces: ${outcome.message}`,
                outcome.retryAfterSeconds,
              );
            }
          }
          const msg = ExportTraceServiceResponse.create(
            outcome.rejectedSpans
              ? {
                  partialSuccess: {
                    rejectedSpans: outcome.rejectedSpans,
                    errorMessage: outcome.errorMessage,
                  },
                }
              : {},
          );
          return Buffer.from(ExportTraceServiceResponse.encode(msg).finish());
        }),
      },
    );
  }

  const metrics = opts.metrics;
  if (metrics) {
    let delta = deltaByDeps.get(metrics);
    if (!delta) {
      delta = new DeltaToCumulative();
      deltaByDeps.set(metrics, delta);
    }
    const accumulator = delta;
    const now = metrics.now ?? Date.now;
    server.addService(
      { Export: unaryMethod(METRICS_EXPORT_PATH) },
      {
        Export: guard('metrics', async (body) => {
          let parsed;
          try {
            parsed = parseOtlpMetrics(body, 'protobuf', {
              now: now(),
              limits: metrics.limits,
              delta: accumulator,
            });
          } catch (err) {
            if (!(err instanceof MalformedRequestError)) throw err;
            countRequestRejected(METRICS_PROTOCOL, 400);
            throw grpcError(grpc.status.INVALID_ARGUMENT, `OTLP metrics: ${err.message}`);
          }
          const outcome = await storeParsed(metrics.storage, parsed, METRICS_PROTOCOL, 429);
          if (outcome.status === 'retryable') {
            countRequestRejected(METRICS_PROTOCOL, outcome.httpStatus);
            log(`OTLP/gRPC metrics: ${outcome.message}`);
            throw grpcError(
              outcome.httpStatus === 429 ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE,
              `OTLP metrics: ${outcome.message}`,
              Math.max(1, Math.ceil(outcome.retryAfterSeconds)),
            );
          }
          const rejected = countRejected(METRICS_PROTOCOL, parsed.errors);
          const ex = await storeExemplars(
            metrics.exemplars,
            parsed.exemplars,
            parsed.exemplarDrops,
            METRICS_PROTOCOL,
          );
          if (ex.error) log(`OTLP/gRPC metrics: ${ex.error}`);
          const errorMessage = [
            parsed.errors.length ? summarizeErrors(parsed.errors, ERRORS_SHOWN, '; ') : '',
            summarizeExemplarDrops(parsed.exemplarDrops, ERRORS_SHOWN),
          ]
            .filter(Boolean)
            .join('; ');
          const msg = ExportMetricsServiceResponse.create(
            errorMessage ? { partialSuccess: { rejectedDataPoints: rejected, errorMessage } } : {},
          );
          return Buffer.from(ExportMetricsServiceResponse.encode(msg).finish());
        }),
      },
    );
  }

  const port = await new Promise<number>((resolve, reject) => {
    const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err
        ? reject(
            new Error(`OTLP/gRPC: cannot listen on ${host}:${opts.port}: ${err.message}`, { cause: err }),
          )
        : resolve(p),
    );
  });

  return {
    port,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
