/**
 * gRPC prober: the standard health-checking protocol, `grpc.health.v1.Health/Check`. The two messages are
 * tiny, so they are encoded by hand (protobuf wire format):
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN = 0, SERVING = 1, NOT_SERVING = 2,
 *                                                        SERVICE_UNKNOWN = 3
 */
import { Client, Metadata, credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { HealthCheckConfig } from './config.ts';
import { ProbeFailure, readCa, reasonOf, since, type ProbeGauge, type ProbeResult } from './probe.ts';

export const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

function writeVarint(out: number[], v: number): void {
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** Reads a varint at `pos`; returns [value, next position]. Throws on truncated input or more than 32 bits. */
function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [v, pos];
  }
  // Enums are int32 on the wire but negative values use 10 bytes; skip the rest.
  while (pos < buf.length && buf[pos]! >= 0x80) pos++;
  return [v, pos + 1];
}

/** HealthCheckRequest with field 1 (service) when not empty. */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  const head: number[] = [0x0a];
  writeVarint(head, bytes.length);
  return Buffer.concat([Buffer.from(head), bytes]);
}

/** Field 1 (service) of a HealthCheckRequest; other fields are skipped. */
export function decodeHealthCheckRequest(buf: Uint8Array): string {
  let service = '';
  let pos = 0;
  while (pos < buf.length) {
    const [key, p] = readVarint(buf, pos);
    pos = p;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new Error('truncated field');
      if (field === 1) service = Buffer.from(buf.subarray(p2, p2 + len)).toString('utf8');
      pos = p2 + len;
    } else pos = skip(buf, pos, wire);
  }
  return service;
}

export function encodeHealthCheckResponse(status: number): Buffer {
  if (status === 0) return Buffer.alloc(0);
  const out: number[] = [0x08];
  writeVarint(out, status);
  return Buffer.from(out);
}

/** The `status` of a HealthCheckResponse (0 when absent, as proto3 defaults); other fields are skipped. */
export function decodeHealthCheckResponse(buf: Uint8Array): number {
  let status = 0;
  let pos = 0;
  while (pos < buf.length) {
    const [key, p] = readVarint(buf, pos);
    pos = p;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 0) [status, pos] = readVarint(buf, pos);
    else pos = skip(buf, pos, wire);
  }
  return status;
}

function skip(buf: Uint8Array, pos: number, wire: number): number {
  switch (wire) {
    case 0:
      return readVarint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [len, p] = readVarint(buf, pos);
      return p + len;
    }
    case 5:
      return pos + 4;
    default:
      throw new Error(`unsupported wire type ${wire}`);
  }
}

export async function probeGrpc(check: HealthCheckConfig): Promise<ProbeResult> {
  const start = performance.now();
  const gauges: ProbeGauge[] = [];
  let client: Client | undefined;
  try {
    const creds = check.tls
      ? credentials.createSsl((await readCa(check.ca_file)) ?? null, null, null, {
          rejectUnauthorized: !check.insecure_skip_verify,
          ...(check.insecure_skip_verify ? { checkServerIdentity: () => undefined } : {}),
        })
      : credentials.createInsecure();
    client = new Client(check.target, creds, {
      ...(check.server_name ? { 'grpc.ssl_target_name_override': check.server_name } : {}),
      // One connection per probe, like the other probers: no reuse of a cached subchannel.
      'grpc.use_local_subchannel_pool': 1,
    });
    const c = client;
    const status = await new Promise<number>((resolve, reject) => {
      // Messages are wrapped in objects: grpc-js treats a falsy message (0, '') as a missing one.
      c.makeUnaryRequest<string, { status: number }>(
        HEALTH_CHECK_METHOD,
        encodeHealthCheckRequest,
        (b) => ({ status: decodeHealthCheckResponse(b) }),
        check.service,
        new Metadata(),
        { deadline: Date.now() + check.timeout },
        (err: ServiceError | null, value?: { status: number }) => {
          gauges.push({
            name: 'probe_grpc_status_code',
            value: err ? err.code : grpcStatus.OK,
            help: 'Response gRPC status code',
          });
          if (err) {
            const name = grpcStatus[err.code] ?? String(err.code);
            reject(
              new ProbeFailure(
                err.code === grpcStatus.DEADLINE_EXCEEDED
                  ? `timeout after ${check.timeout}ms (${err.details})`
                  : `gRPC ${name}: ${err.details}`,
              ),
            );
          } else resolve(value?.status ?? 0);
        },
      );
    });
    const name = SERVING_STATUS[status] ?? String(status);
    for (const s of SERVING_STATUS)
      gauges.push({
        name: 'probe_grpc_healthcheck_response',
        value: s === name ? 1 : 0,
        labels: { serving_status: s },
        help: 'Response HealthCheck response',
      });
    if (status !== 1) throw new ProbeFailure(`health check answered ${name}, expected SERVING`);
    return { success: true, reason: '', durationMs: since(start), gauges };
  } catch (err) {
    return { success: false, reason: reasonOf(err), durationMs: since(start), gauges };
  } finally {
    client?.close();
  }
}
