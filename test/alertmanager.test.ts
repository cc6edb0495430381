/**
 * Vigil as an Alertmanager in a real setup: Debian's Prometheus with `alerting.alertmanagers` pointing at Vigil
 * sends a firing alert, which Vigil routes and delivers to a local webhook with Alertmanager's payload; Vigil's
 * own alerting rules reach the same pipeline; silences survive a restart on the same data folder; an invalid
 * Alertmanager configuration stops the start with file and line.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVigil, type RunningVigil } from '../src/app.ts';
import { loadConfigText } from '../src/config/config.ts';
import { freePort, startPeer, tempDir, waitFor, type Peer } from './helpers.ts';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const dir = tempDir('alertmanager');

interface Payload {
  version: string;
  receiver: string;
  status: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  externalURL: string;
  truncatedAlerts: number;
  alerts: {
    status: string;
    labels: Record<string, string>;
    generatorURL: string;
    fingerprint: string;
    endsAt: string;
  }[];
}

const payloads: Payload[] = [];
let hook: Server;
let hookUrl = '';
let vigil: RunningVigil;
let url = '';
let prometheus: Peer | undefined;

function vigilConfig() {
  return loadConfigText(
    [
      'self_monitoring: {enabled: false}',
      'global: {evaluation_interval: 1s}',
      `alerting: {config_file: am.yml, external_url: "http://vigil.example:9093"}`,
      'rule_files: [vigil-rules.yml]',
    ].join('\n'),
    join(dir, 'vigil.yml'),
    { dataDir: join(dir, 'data'), port: 0, otlpHttpPort: 0, otlpGrpcPort: 0, listenAddress: '127.0.0.1' },
  );
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      payloads.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Payload);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
  writeFileSync(
    join(dir, 'am.yml'),
    [
      'route:',
      '  receiver: hook',
      '  group_by: [alertname]',
      '  group_wait: 1s',
      '  group_interval: 2s',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${hookUrl}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'vigil-rules.yml'),
    [
      'groups:',
      '  - name: own',
      '    rules:',
      '      - alert: VigilRule',
      '        expr: vector(1)',
      '',
    ].join('\n'),
  );
  vigil = await startVigil(vigilConfig());
  url = `http://127.0.0.1:${vigil.port}`;
});

afterAll(async () => {
  await prometheus?.stop();
  await vigil?.close();
  await new Promise<void>((r) => hook.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const byName = (name: string) => payloads.find((p) => p.alerts.some((a) => a.labels.alertname === name));

describe("Vigil as Prometheus's Alertmanager", () => {
  it.skipIf(!hasPrometheus)('delivers an alert from Prometheus to the webhook', async () => {
    const rules = join(dir, 'prom-rules.yml');
    writeFileSync(
      rules,
      [
        'groups:',
        '  - name: prom',
        '    rules:',
        '      - alert: FromPrometheus',
        '        expr: vector(1)',
        '        labels: {severity: page}',
        '        annotations: {summary: "raised by Prometheus"}',
        '',
      ].join('\n'),
    );
    // Prometheus drops alerts sent before it has discovered its Alertmanagers and re-sends only after
    // --rules.alert.resend-delay (1m by default): a short delay keeps the test quick.
    const promDir = tempDir('prom-am');
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      [
        'global: {evaluation_interval: 1s}',
        `rule_files: [${rules}]`,
        'alerting:',
        '  alertmanagers:',
        '    - api_version: v2',
        `      static_configs: [{targets: ["127.0.0.1:${vigil.port}"]}]`,
        '',
      ].join('\n'),
    );
    const promPort = await freePort();
    prometheus = await startPeer(
      'prometheus',
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--rules.alert.resend-delay=1s',
      ],
      `http://127.0.0.1:${promPort}`,
      '/-/ready',
      [promDir],
    );
    const p = await waitFor('the webhook to receive the Prometheus alert', async () =>
      byName('FromPrometheus'),
    );
    expect(p).toMatchObject({
      version: '4',
      receiver: 'hook',
      status: 'firing',
      groupKey: '{}:{alertname="FromPrometheus"}',
      groupLabels: { alertname: 'FromPrometheus' },
      externalURL: 'http://vigil.example:9093',
      truncatedAlerts: 0,
    });
    expect(p.alerts[0]!.labels).toEqual({ alertname: 'FromPrometheus', severity: 'page' });
    expect(p.alerts[0]!.generatorURL).toContain(`:${promPort}/graph?g0.expr=vector`);
    expect(p.alerts[0]!.endsAt).toBe('0001-01-01T00:00:00Z');
    const listed = (await (
      await fetch(`${url}/api/v2/alerts?filter=alertname="FromPrometheus"`)
    ).json()) as unknown[];
    expect(listed).toHaveLength(1);
    const notes = vigil.alerts.notifications().filter((n) => n.groupKey === p.groupKey);
    expect(notes[0]).toMatchObject({
      receiver: 'hook',
      integration: 'webhook[0]',
      ok: true,
      status: 'firing',
    });
  });

  it("delivers alerts of Vigil's own alerting rules", async () => {
    const p = await waitFor('the webhook to receive the rule alert', async () => byName('VigilRule'));
    expect(p.alerts[0]!.generatorURL).toContain('http://vigil.example:9093/');
  });
});

describe('persistence and validation', () => {
  it('keeps silences across a restart', async () => {
    const res = await fetch(`${url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'alertname', value: 'Maintenance.*', isRegex: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        createdBy: 'ops',
        comment: 'window',
      }),
    });
    expect(res.status).toBe(200);
    const { silenceID } = (await res.json()) as { silenceID: string };
    await prometheus?.stop();
    prometheus = undefined;
    await vigil.close();
    vigil = await startVigil(vigilConfig());
    url = `http://127.0.0.1:${vigil.port}`;
    const s = (await (await fetch(`${url}/api/v2/silence/${silenceID}`)).json()) as {
      status: { state: string };
      comment: string;
    };
    expect(s).toMatchObject({ status: { state: 'active' }, comment: 'window' });
  });

  it('keeps the notification records across a restart', async () => {
    const notes = (await (
      await fetch(`${url}/api/vigil/v1/alerting/notifications?receiver=hook`)
    ).json()) as {
      notifications: { groupKey: string; ok: boolean }[];
    };
    expect(notes.notifications.map((n) => n.groupKey)).toContain('{}:{alertname="VigilRule"}');
  });

  it('reloads the Alertmanager configuration with POST /-/reload, keeping the old one when the new is invalid', async () => {
    const am = join(dir, 'am.yml');
    const before = readFileSync(am, 'utf8');
    writeFileSync(
      am,
      before.replace(
        '  receiver: hook\n',
        '  receiver: hook\n  routes:\n    - {receiver: quiet, matchers: [alertname=VigilRule]}\n',
      ) + '  - name: quiet\n',
    );
    expect((await fetch(`${url}/-/reload`, { method: 'POST' })).status).toBe(200);
    const receivers = (await (await fetch(`${url}/api/v2/receivers`)).json()) as { name: string }[];
    expect(receivers.map((r) => r.name)).toEqual(['hook', 'quiet']);

    writeFileSync(am, 'route:\n  receiver: nobody\n');
    const bad = await fetch(`${url}/-/reload`, { method: 'POST' });
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain('undefined receiver "nobody" used in route');
    const status = (await (await fetch(`${url}/api/v2/status`)).json()) as { config: { original: string } };
    expect(status.config.original).toContain('name: quiet');
    writeFileSync(am, before);
  });

  it('refuses to start with an invalid Alertmanager configuration', async () => {
    const bad = join(dir, 'bad-am.yml');
    writeFileSync(bad, 'route:\n  receiver: nobody\nreceivers:\n  - name: hook\n');
    const cfg = loadConfigText(
      `self_monitoring: {enabled: false}\nalerting: {config_file: ${bad}}\n`,
      join(dir, 'v2.yml'),
      {
        dataDir: join(dir, 'data2'),
        port: 0,
        otlpHttpPort: 0,
        otlpGrpcPort: 0,
        listenAddress: '127.0.0.1',
      },
    );
    await expect(startVigil(cfg)).rejects.toThrow(
      `${bad}:2:13: route.receiver: undefined receiver "nobody" used in route`,
    );
  });
});
