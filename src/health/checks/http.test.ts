import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheckSchema } from './config.ts';
import { probeHttp } from './http.ts';
import { makeTestCerts, type TestCerts } from './testing.ts';

const check = (c: Record<string, unknown>) => healthCheckSchema.parse({ name: 't', kind: 'http', ...c });
const gauge = (r: Awaited<ReturnType<typeof probeHttp>>, name: string) =>
  r.gauges.find((g) => g.name === name)?.value;

let http: Server;
let base: string;
let https: Server;
let tlsBase: string;
let certs: TestCerts;
let lastRequest: { method?: string; headers: Record<string, unknown>; body: string } | undefined;

function handler(req: IncomingMessage, res: ServerResponse) {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    lastRequest = { method: req.method, headers: req.headers, body };
    if (req.url === '/ok') res.end('status: ok');
    else if (req.url === '/moved' || req.url === '/see-other' || req.url === '/loop') {
      res.statusCode = req.url === '/moved' ? 302 : req.url === '/see-other' ? 303 : 307;
      res.setHeader('location', req.url === '/loop' ? '/loop' : 'ok');
      res.end();
    } else if (req.url === '/down') {
      res.statusCode = 503;
      res.end('status: degraded');
    } else if (req.url === '/slow') setTimeout(() => res.end('late'), 3000).unref();
    else if (req.url === '/slow-body') {
      res.write('first part');
      setTimeout(() => res.end('late'), 3000).unref();
    } else if (req.url === '/chunked') {
      res.write('part one, ');
      res.end('part two');
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
}

const listen = (s: Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

beforeAll(async () => {
  certs = makeTestCerts(3);
  http = createServer(handler);
  base = `http://127.0.0.1:${await listen(http)}`;
  https = createHttpsServer({ cert: certs.cert, key: certs.key }, handler);
  tlsBase = `https://127.0.0.1:${await listen(https)}`;
});

afterAll(async () => {
  http.closeAllConnections();
  https.closeAllConnections();
  await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => https.close(r))]);
  certs.cleanup();
});

describe('HTTP prober against a real server', () => {
  it('succeeds on 2xx and reports status, content length and duration', async () => {
    const r = await probeHttp(check({ target: `${base}/ok` }));
    expect(r).toMatchObject({ success: true, reason: '' });
    expect(r.durationMs).toBeGreaterThan(0);
    expect(gauge(r, 'probe_http_status_code')).toBe(200);
    expect(gauge(r, 'probe_http_content_length')).toBe('status: ok'.length);
    expect(gauge(r, 'probe_http_ssl')).toBe(0);
    expect(gauge(r, 'probe_ssl_earliest_cert_expiry')).toBeUndefined();
  });

  it('counts the body bytes when no Content-Length is sent', async () => {
    const r = await probeHttp(check({ target: `${base}/chunked` }));
    expect(gauge(r, 'probe_http_content_length')).toBe('part one, part two'.length);
  });

  it('sends method, headers and body', async () => {
    const r = await probeHttp(
      check({ target: `${base}/ok`, method: 'POST', headers: { 'x-probe': 'yes' }, body: '{"ping":1}' }),
    );
    expect(r.success).toBe(true);
    expect(lastRequest).toMatchObject({ method: 'POST', body: '{"ping":1}', headers: { 'x-probe': 'yes' } });
  });

  it('fails on an unexpected status, and accepts listed codes', async () => {
    const r = await probeHttp(check({ target: `${base}/down` }));
    expect(r).toMatchObject({ success: false, reason: 'status 503, expected 2xx' });
    expect(gauge(r, 'probe_http_status_code')).toBe(503);
    const listed = await probeHttp(check({ target: `${base}/down`, valid_status_codes: [200, 503] }));
    expect(listed.success).toBe(true);
    const notListed = await probeHttp(check({ target: `${base}/ok`, valid_status_codes: [204] }));
    expect(notListed.reason).toBe('status 200, expected 204');
  });

  it('follows redirects unless told not to, and stops a loop', async () => {
    const r = await probeHttp(check({ target: `${base}/moved`, fail_if_body_not_matches_regexp: ['ok'] }));
    expect(r).toMatchObject({ success: true, reason: '' });
    expect(gauge(r, 'probe_http_redirects')).toBe(1);
    expect(gauge(r, 'probe_http_status_code')).toBe(200);
    const post = await probeHttp(check({ target: `${base}/see-other`, method: 'POST', body: 'x' }));
    expect(post.success).toBe(true);
    expect(lastRequest).toMatchObject({ method: 'GET', body: '' });
    const off = await probeHttp(check({ target: `${base}/moved`, follow_redirects: false }));
    expect(off).toMatchObject({ success: false, reason: 'status 302, expected 2xx' });
    expect(gauge(off, 'probe_http_redirects')).toBe(0);
    const loop = await probeHttp(check({ target: `${base}/loop` }));
    expect(loop).toMatchObject({ success: false, reason: 'stopped after 10 redirects' });
  });

  it('checks the body against regular expressions', async () => {
    expect(
      (await probeHttp(check({ target: `${base}/ok`, fail_if_body_not_matches_regexp: ['ok$'] }))).success,
    ).toBe(true);
    const mismatch = await probeHttp(
      check({ target: `${base}/ok`, fail_if_body_not_matches_regexp: ['healthy'] }),
    );
    expect(mismatch).toMatchObject({ success: false, reason: 'body did not match /healthy/' });
    const forbidden = await probeHttp(
      check({ target: `${base}/ok`, fail_if_body_matches_regexp: ['status: \\w+'] }),
    );
    expect(forbidden).toMatchObject({ success: false, reason: 'body matched /status: \\w+/' });
  });

  it('fails with ECONNREFUSED on a closed port', async () => {
    const s = createServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    const r = await probeHttp(check({ target: `http://127.0.0.1:${port}/` }));
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/^connect ECONNREFUSED 127.0.0.1:\d+$/);
  });

  it('fails with the parser error when the peer does not speak HTTP, or hangs up', async () => {
    const garbage = createNetServer((sock) => sock.end('SSH-2.0-OpenSSH_9.2\r\n'));
    const hangup = createNetServer((sock) => sock.destroy());
    const gp = await listen(garbage as unknown as Server);
    const hp = await listen(hangup as unknown as Server);
    const r = await probeHttp(check({ target: `http://127.0.0.1:${gp}/` }));
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/^HPE_INVALID_CONSTANT: Parse Error/);
    const h = await probeHttp(check({ target: `http://127.0.0.1:${hp}/` }));
    expect(h).toMatchObject({ success: false, reason: 'ECONNRESET: socket hang up' });
    garbage.close();
    hangup.close();
  });

  it('fails with a timeout when the server is slower than the timeout', async () => {
    const r = await probeHttp(check({ target: `${base}/slow`, timeout: '300ms', interval: '1s' }));
    expect(r).toMatchObject({ success: false, reason: 'timeout after 300ms' });
    // Also when the headers came in time but the body does not.
    const body = await probeHttp(check({ target: `${base}/slow-body`, timeout: '300ms', interval: '1s' }));
    expect(body).toMatchObject({ success: false, reason: 'timeout after 300ms' });
  });
});

describe('HTTPS prober against a real server with a certificate expiring in 3 days', () => {
  it('trusts a custom CA file and reports the earliest certificate expiry', async () => {
    const r = await probeHttp(check({ kind: 'https', target: `${tlsBase}/ok`, ca_file: certs.caFile }));
    expect(r).toMatchObject({ success: true, reason: '' });
    expect(gauge(r, 'probe_ssl_earliest_cert_expiry')).toBe(certs.leafExpiry);
    expect(gauge(r, 'probe_http_ssl')).toBe(1);
    const days = (certs.leafExpiry - Date.now() / 1000) / 86_400;
    expect(days).toBeGreaterThan(2);
    expect(days).toBeLessThanOrEqual(3);
  });

  it('fails with the TLS error when the CA is not trusted', async () => {
    const r = await probeHttp(check({ kind: 'https', target: `${tlsBase}/ok` }));
    expect(r.success).toBe(false);
    expect(r.reason).toMatch(/^UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate$/);
  });

  it('skips verification with insecure_skip_verify and still reports the expiry', async () => {
    const r = await probeHttp(check({ kind: 'https', target: `${tlsBase}/ok`, insecure_skip_verify: true }));
    expect(r.success).toBe(true);
    expect(gauge(r, 'probe_ssl_earliest_cert_expiry')).toBe(certs.leafExpiry);
  });

  it('fails with the path when the CA file is missing', async () => {
    const r = await probeHttp(
      check({ kind: 'https', target: `${tlsBase}/ok`, ca_file: '/nonexistent/ca.pem' }),
    );
    expect(r).toMatchObject({ success: false });
    expect(r.reason).toMatch(/^cannot read ca_file \/nonexistent\/ca.pem: ENOENT/);
  });
});
