/**
 * Health checks in a running Vigil: HTTP, HTTPS (custom CA, certificate expiring in 3 days), TCP, gRPC and DNS
 * probes against real local servers write blackbox-exporter metrics that PromQL reads, show in
 * /api/vigil/v1/health/checks with the reason of each failure, and feed alerting rules; invalid definitions
 * stop the configuration with file and line.
 */
import {
  Server as GrpcServer,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { writeFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/config.ts';
import { ConfigError } from '../src/config/yaml-errors.ts';
import {
  HEALTH_CHECK_METHOD,
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
} from '../src/health/checks/grpc.ts';
import { makeTestCerts, startTestDnsServer, type TestCerts } from '../src/health/checks/testing.ts';
import { freePort, getJSON, queryURL, startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

const listen = (s: Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

let vigil: TestVigil;
let certs: TestCerts;
let http: Server;
let https: Server;
let grpc: GrpcServer;
let dns: Awaited<ReturnType<typeof startTestDnsServer>>;
let ports: { http: number; https: number; grpc: number; dns: number; closed: number };
const dir = tempDir('health-checks');

beforeAll(async () => {
  certs = makeTestCerts(3);
  const handler = (req: IncomingMessage, res: ServerResponse) =>
    res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{"status":"degraded"}');
  http = createServer(handler);
  https = createHttpsServer({ cert: certs.cert, key: certs.key }, handler);
  grpc = new GrpcServer();
  grpc.register(
    HEALTH_CHECK_METHOD,
    (call: ServerUnaryCall<{ service: string }, number>, cb: sendUnaryData<number>) =>
      cb(null, call.request.service === 'pipeline' ? 1 : 2),
    encodeHealthCheckResponse,
    (b: Buffer) => ({ service: decodeHealthCheckRequest(b) }),
    'unary',
  );
  dns = await startTestDnsServer({ 'pipeline.vigil.test': { A: ['10.1.2.3'] } });
  ports = {
    http: await listen(http),
    https: await listen(https),
    grpc: await new Promise<number>((resolve, reject) =>
      grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    ),
    dns: dns.port,
    closed: await freePort(),
  };
  const rules = join(dir, 'probes.yml');
  writeFileSync(
    rules,
    [
      'groups:',
      '  - name: probes',
      '    interval: 1h', // evaluation on ingestion makes it fire
      '    rules:',
      '      - alert: ProbeFailed',
      '        expr: probe_success == 0',
    ].join('\n') + '\n',
  );
  const check = (fields: string) => `  - {interval: 1s, timeout: 1s, ${fields}}`;
  vigil = await startTestVigil(
    [
      `rule_files: [${rules}]`,
      'health_checks:',
      check(`name: web, kind: http, target: "http://127.0.0.1:${ports.http}/healthz"`),
      check(`name: web-body, kind: http, target: "http://127.0.0.1:${ports.http}/other",
          fail_if_body_not_matches_regexp: ['"status":"ok"']`),
      check(
        `name: tls, kind: https, target: "https://localhost:${ports.https}/healthz", ca_file: ${certs.caFile}`,
      ),
      check(`name: db, kind: tcp, target: "127.0.0.1:${ports.http}"`),
      check(`name: closed, kind: tcp, target: "127.0.0.1:${ports.closed}"`),
      check(`name: pipeline, kind: grpc, target: "127.0.0.1:${ports.grpc}", service: pipeline`),
      check(`name: resolver, kind: dns, target: pipeline.vigil.test, server: "127.0.0.1:${ports.dns}",
          fail_if_no_answer_matches_regexp: ['^10\\.1\\.']`),
    ].join('\n') + '\n',
  );
});

afterAll(async () => {
  await vigil?.stop();
  grpc?.forceShutdown();
  http?.closeAllConnections();
  https?.closeAllConnections();
  await Promise.all([new Promise((r) => http?.close(r)), new Promise((r) => https?.close(r)), dns?.close()]);
  certs?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function instant(expr: string) {
  const { body } = await getJSON(queryURL(vigil.url, '/api/v1/query', { query: expr }));
  expect(body.status).toBe('success');
  return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
}

describe('health checks in a running Vigil', () => {
  it('reports every check with its result, reason and history', async () => {
    const checks = await waitFor('two rounds of every check', async () => {
      const { body } = await getJSON<never>(`${vigil.url}/api/vigil/v1/health/checks`);
      const list = (body as unknown as { checks: any[] }).checks;
      return list.every((c) => c.history.length >= 2) && list;
    });
    const byName = Object.fromEntries(checks.map((c: any) => [c.name, c]));
    expect(Object.keys(byName)).toEqual(['web', 'web-body', 'tls', 'db', 'closed', 'pipeline', 'resolver']);
    for (const name of ['web', 'tls', 'db', 'pipeline', 'resolver'])
      expect(byName[name], name).toMatchObject({ up: true, reason: '' });
    expect(byName['web-body']).toMatchObject({
      kind: 'http',
      up: false,
      reason: 'body did not match /"status":"ok"/',
    });
    expect(byName.closed).toMatchObject({
      kind: 'tcp',
      target: `127.0.0.1:${ports.closed}`,
      up: false,
      reason: `connect ECONNREFUSED 127.0.0.1:${ports.closed}`,
    });
    expect(byName.web.lastRun).toBeGreaterThan(Date.now() - 60_000);
    expect(byName.web.durationMs).toBeGreaterThan(0);
    expect(byName.web.history[0]).toEqual({
      t: expect.any(Number),
      up: true,
      durationMs: expect.any(Number),
    });
  });

  it('writes blackbox metrics that PromQL reads', async () => {
    const success = await instant('probe_success');
    const byCheck = Object.fromEntries(success.map((s) => [s.metric.check, s]));
    expect(byCheck.web!.metric).toEqual({
      __name__: 'probe_success',
      job: 'health',
      instance: `http://127.0.0.1:${ports.http}/healthz`,
      check: 'web',
      kind: 'http',
    });
    expect(byCheck.web!.value[1]).toBe('1');
    expect(byCheck.closed!.value[1]).toBe('0');
    expect(byCheck['web-body']!.value[1]).toBe('0');

    const expiry = await instant('probe_ssl_earliest_cert_expiry');
    expect(expiry.map((s) => [s.metric.check, Number(s.value[1])])).toEqual([['tls', certs.leafExpiry]]);
    // The classic "certificate expires within a week" alert expression finds it.
    const soon = await instant('probe_ssl_earliest_cert_expiry - time() < 86400 * 7');
    expect(soon.map((s) => s.metric.check)).toEqual(['tls']);

    const status = await instant('probe_http_status_code{check="web"}');
    expect(status[0]!.value[1]).toBe('200');
    expect((await instant('probe_http_content_length{check="web"}'))[0]!.value[1]).toBe('15');
    expect((await instant('probe_dns_lookup_time_seconds{check="resolver"} > 0')).length).toBe(1);
    expect((await instant('probe_duration_seconds')).length).toBe(7);
    const grpcServing = await instant('probe_grpc_healthcheck_response{serving_status="SERVING"}');
    expect(grpcServing.map((s) => [s.metric.check, s.value[1]])).toEqual([['pipeline', '1']]);
  });

  it('feeds alerting rules', async () => {
    const alerts = await waitFor('ProbeFailed alerts for both failing checks', async () => {
      const { body } = await getJSON(`${vigil.url}/api/v1/alerts`);
      const list = body.data.alerts as { labels: Record<string, string>; state: string }[];
      const names = list
        .filter((a) => a.labels.alertname === 'ProbeFailed')
        .map((a) => a.labels.check)
        .sort();
      return names.length === 2 && names;
    });
    expect(alerts).toEqual(['closed', 'web-body']);
  });
});

describe('invalid health check definitions', () => {
  it.each([
    ['  - {name: a, kind: icmp, target: x}', /^vigil\.yml:3:\d+: health_checks\[0\]\.kind: Invalid option/],
    ['  - {name: a, kind: http}', /^vigil\.yml:3:\d+: health_checks\[0\]\.target: is required: add it$/],
    [
      '  - {name: a, kind: http, target: "no url"}',
      /^vigil\.yml:3:\d+: health_checks\[0\]\.target: not a URL/,
    ],
    [
      '  - {name: a, kind: http, target: "http://x/", fail_if_body_matches_regexp: ["(x"]}',
      /^vigil\.yml:3:\d+: health_checks\[0\]\.fail_if_body_matches_regexp\[0\]: not a valid regular expression/,
    ],
    [
      '  - {name: a, kind: tcp, target: "x"}',
      /^vigil\.yml:3:\d+: health_checks\[0\]\.target: expected host:port/,
    ],
  ])('%s', (line, want) => {
    let err: unknown;
    try {
      loadConfigText(`data_dir: /tmp/x\nhealth_checks:\n${line}\n`, 'vigil.yml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(want);
  });

  it('resolves ca_file against the configuration file', () => {
    const cfg = loadConfigText(
      'health_checks:\n  - {name: a, kind: https, target: "https://x/", ca_file: certs/ca.pem}\n',
      '/etc/vigil/vigil.yml',
    );
    expect(cfg.health_checks[0]!.ca_file).toBe('/etc/vigil/certs/ca.pem');
  });
});
