import { createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheckSchema } from './config.ts';
import { probeTcp, splitHostPort } from './tcp.ts';
import { makeTestCerts, type TestCerts } from './testing.ts';

const check = (c: Record<string, unknown>) => healthCheckSchema.parse({ name: 't', kind: 'tcp', ...c });
const listen = (s: Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

let plain: Server;
let plainPort: number;
let secure: Server;
let securePort: number;
let certs: TestCerts;

beforeAll(async () => {
  certs = makeTestCerts(5);
  plain = createServer((s) => s.end());
  plainPort = await listen(plain);
  secure = createTlsServer({ cert: certs.cert, key: certs.key }, (s) => s.end());
  securePort = await listen(secure);
});

afterAll(async () => {
  await Promise.all([new Promise((r) => plain.close(r)), new Promise((r) => secure.close(r))]);
  certs.cleanup();
});

describe('TCP prober against real servers', () => {
  it('splits host and port, IPv6 in brackets', () => {
    expect(splitHostPort('db:5432')).toEqual({ host: 'db', port: 5432 });
    expect(splitHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
  });

  it('connects', async () => {
    const r = await probeTcp(check({ target: `127.0.0.1:${plainPort}` }));
    expect(r).toMatchObject({ success: true, reason: '', gauges: [] });
  });

  it('fails with ECONNREFUSED on a closed port', async () => {
    const s = createServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    const r = await probeTcp(check({ target: `127.0.0.1:${port}` }));
    expect(r.success).toBe(false);
    expect(r.reason).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('fails with a timeout when the TLS handshake never completes', async () => {
    // A plain server that never answers a ClientHello: the TLS handshake hangs until the timeout.
    const silent = createServer(() => {});
    const port = await listen(silent);
    const r = await probeTcp(
      check({ target: `127.0.0.1:${port}`, tls: true, timeout: '300ms', interval: '1s' }),
    );
    expect(r).toMatchObject({ success: false, reason: 'timeout after 300ms' });
    silent.close();
  });

  it('does TLS with a custom CA and reports the certificate expiry', async () => {
    const r = await probeTcp(check({ target: `localhost:${securePort}`, tls: true, ca_file: certs.caFile }));
    expect(r).toMatchObject({ success: true, reason: '' });
    expect(r.gauges).toEqual([
      { name: 'probe_ssl_earliest_cert_expiry', value: certs.leafExpiry, help: expect.any(String) },
    ]);
  });

  it('fails on an untrusted certificate unless verification is skipped', async () => {
    const bad = await probeTcp(check({ target: `127.0.0.1:${securePort}`, tls: true }));
    expect(bad.success).toBe(false);
    expect(bad.reason).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    const skip = await probeTcp(
      check({ target: `127.0.0.1:${securePort}`, tls: true, insecure_skip_verify: true }),
    );
    expect(skip.success).toBe(true);
  });

  it('fails on a host name the certificate does not cover', async () => {
    const r = await probeTcp(
      check({
        target: `127.0.0.1:${securePort}`,
        tls: true,
        ca_file: certs.caFile,
        server_name: 'db.example',
      }),
    );
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });
});
