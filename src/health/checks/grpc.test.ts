import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheckSchema } from './config.ts';
import {
  HEALTH_CHECK_METHOD,
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  probeGrpc,
} from './grpc.ts';
import { makeTestCerts, type TestCerts } from './testing.ts';

const check = (c: Record<string, unknown>) => healthCheckSchema.parse({ name: 't', kind: 'grpc', ...c });

/** Serving status per service name, as a real health service keeps it ('' is the whole server). */
const services: Record<string, number> = { '': 1, pipeline: 1, 'pipeline.Sms': 2 };

function healthServer(): Server {
  const server = new Server();
  server.register(
    HEALTH_CHECK_METHOD,
    // Messages are wrapped in objects: grpc-js treats a falsy message ('' for the whole server) as missing.
    (call: ServerUnaryCall<{ service: string }, number>, cb: sendUnaryData<number>) => {
      const name = call.request.service;
      const s = services[name];
      if (name === 'slow') setTimeout(() => cb(null, 1), 3000).unref();
      else if (s === undefined) cb({ code: status.NOT_FOUND, details: `unknown service ${name}` });
      else cb(null, s);
    },
    encodeHealthCheckResponse,
    (b: Buffer) => ({ service: decodeHealthCheckRequest(b) }),
    'unary',
  );
  return server;
}

const bind = (s: Server, creds: ServerCredentials) =>
  new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))),
  );

let plain: Server;
let plainPort: number;
let secure: Server;
let securePort: number;
let certs: TestCerts;

beforeAll(async () => {
  certs = makeTestCerts(4);
  plain = healthServer();
  plainPort = await bind(plain, ServerCredentials.createInsecure());
  secure = healthServer();
  securePort = await bind(
    secure,
    ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(certs.cert), private_key: Buffer.from(certs.key) },
    ]),
  );
});

afterAll(() => {
  plain.forceShutdown();
  secure.forceShutdown();
  certs.cleanup();
});

describe('health message encoding', () => {
  it('round-trips requests and responses', () => {
    expect(encodeHealthCheckRequest('')).toEqual(Buffer.alloc(0));
    expect([...encodeHealthCheckRequest('ab')]).toEqual([0x0a, 2, 0x61, 0x62]);
    const long = 'x'.repeat(300);
    expect(decodeHealthCheckRequest(encodeHealthCheckRequest(long))).toBe(long);
    for (const s of [0, 1, 2, 3]) expect(decodeHealthCheckResponse(encodeHealthCheckResponse(s))).toBe(s);
    // Unknown fields are skipped.
    expect(decodeHealthCheckResponse(Buffer.from([0x12, 1, 0x41, 0x08, 2]))).toBe(2);
  });
});

describe('gRPC prober against a real health service', () => {
  it('succeeds on SERVING, for the server and for a named service', async () => {
    for (const service of ['', 'pipeline']) {
      const r = await probeGrpc(check({ target: `127.0.0.1:${plainPort}`, service }));
      expect(r).toMatchObject({ success: true, reason: '' });
      expect(r.gauges).toContainEqual(expect.objectContaining({ name: 'probe_grpc_status_code', value: 0 }));
      expect(r.gauges).toContainEqual(
        expect.objectContaining({
          name: 'probe_grpc_healthcheck_response',
          value: 1,
          labels: { serving_status: 'SERVING' },
        }),
      );
    }
  });

  it('fails on NOT_SERVING and on an unknown service', async () => {
    const r = await probeGrpc(check({ target: `127.0.0.1:${plainPort}`, service: 'pipeline.Sms' }));
    expect(r).toMatchObject({
      success: false,
      reason: 'health check answered NOT_SERVING, expected SERVING',
    });
    const unknown = await probeGrpc(check({ target: `127.0.0.1:${plainPort}`, service: 'billing' }));
    expect(unknown).toMatchObject({ success: false, reason: 'gRPC NOT_FOUND: unknown service billing' });
    expect(unknown.gauges).toContainEqual(
      expect.objectContaining({ name: 'probe_grpc_status_code', value: 5 }),
    );
  });

  it('fails with a timeout', async () => {
    const r = await probeGrpc(
      check({ target: `127.0.0.1:${plainPort}`, service: 'slow', timeout: '300ms', interval: '1s' }),
    );
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/^timeout after 300ms/);
  });

  it('fails with UNAVAILABLE on a closed port', async () => {
    const s = new Server();
    const port = await bind(s, ServerCredentials.createInsecure());
    s.forceShutdown();
    const r = await probeGrpc(check({ target: `127.0.0.1:${port}` }));
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/^gRPC UNAVAILABLE: .*ECONNREFUSED/);
  });

  it('speaks TLS with a custom CA, and fails without it', async () => {
    const ok = await probeGrpc(
      check({ target: `localhost:${securePort}`, tls: true, ca_file: certs.caFile }),
    );
    expect(ok).toMatchObject({ success: true, reason: '' });
    const untrusted = await probeGrpc(check({ target: `localhost:${securePort}`, tls: true }));
    expect(untrusted.success).toBe(false);
    expect(untrusted.reason).toMatch(/^gRPC UNAVAILABLE/);
    const skipped = await probeGrpc(
      check({ target: `127.0.0.1:${securePort}`, tls: true, insecure_skip_verify: true }),
    );
    expect(skipped).toMatchObject({ success: true, reason: '' });
  });
});
