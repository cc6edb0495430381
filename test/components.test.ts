/**
 * The component health model in a running Vigil: a health check against a closed port, a scrape target that
 * answers and one that does not, and alerts posted to the Alertmanager API turn into component statuses with
 * their reasons, and a declared dependency shows which component impacts another.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/config.ts';
import { freePort, startTestVigil, waitFor, type TestVigil } from './helpers.ts';

interface Component {
  name: string;
  kind: string;
  status: string;
  reasons: { source: string; detail: string; status: string }[];
  dependsOn: string[];
  impactedBy: { component: string; status: string; via: string[] }[];
}

let vigil: TestVigil;
let exporter: Server;
let exporterPort: number;
let closedPort: number;
let missingPort: number;

beforeAll(async () => {
  exporter = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end('queue_depth 3\n');
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  exporterPort = (exporter.address() as AddressInfo).port;
  closedPort = await freePort();
  missingPort = await freePort();
  vigil = await startTestVigil(`
scrape_configs:
  - job_name: queue
    scrape_interval: 1s
    static_configs:
      - targets: ['127.0.0.1:${exporterPort}']
  - job_name: mailer
    scrape_interval: 1s
    static_configs:
      - targets: ['127.0.0.1:${missingPort}']
health_checks:
  - name: db-port
    kind: tcp
    target: 127.0.0.1:${closedPort}
    interval: 1s
    timeout: 1s
components:
  - name: database
    checks: [db-port]
  - name: payments
    match: {service: payments}
  - name: checkout
    match: {service: checkout}
    depends_on: [database, payments, queue]
`);
});

afterAll(async () => {
  await vigil?.stop();
  await new Promise((r) => exporter.close(r));
});

async function components(): Promise<Component[]> {
  const res = await fetch(`${vigil.url}/api/vigil/v1/components`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { components: Component[]; warnings: string[] };
  expect(body.warnings).toEqual([]);
  return body.components;
}

describe('components in a running Vigil', () => {
  it('derive statuses and reasons from checks, scrapes, alerts and dependencies', async () => {
    const post = await fetch(`${vigil.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { labels: { alertname: 'PaymentsDown', service: 'payments', severity: 'critical' } },
        { labels: { alertname: 'QueueBacklog', job: 'queue', severity: 'warning' } },
      ]),
    });
    expect(post.status).toBe(200);

    const cs = await waitFor('the check and both scrape targets to have results', async () => {
      const list = await components();
      const byName = new Map(list.map((c) => [c.name, c]));
      const settled =
        byName.get('database')?.status === 'down' &&
        byName.get('mailer')?.status === 'down' &&
        // The first scrape of the live target may not have happened yet: wait for it to be up.
        byName.get('queue')?.reasons.some((r) => r.source === 'scrape' && r.status === 'healthy');
      return settled ? list : undefined;
    });
    const byName = new Map(cs.map((c) => [c.name, c]));

    expect(byName.get('database')).toEqual({
      name: 'database',
      kind: 'declared',
      status: 'down',
      ownStatus: 'down',
      reasons: [
        {
          source: 'check',
          detail: `check db-port (127.0.0.1:${closedPort}) is failing: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
          status: 'down',
        },
      ],
      dependsOn: [],
      impactedBy: [],
    });
    expect(byName.get('payments')).toMatchObject({
      status: 'down',
      reasons: [
        { source: 'alert', detail: 'alert PaymentsDown is firing (severity critical)', status: 'down' },
      ],
    });
    expect(byName.get('queue')).toMatchObject({
      kind: 'scrape',
      status: 'degraded',
    });
    // A freshness reason may join these when the machine is slow enough to delay scrapes: not asserted.
    expect(byName.get('queue')!.reasons).toEqual(
      expect.arrayContaining([
        { source: 'alert', detail: 'alert QueueBacklog is firing (severity warning)', status: 'degraded' },
        { source: 'scrape', detail: '1 of 1 scrape target up', status: 'healthy' },
      ]),
    );
    expect(byName.get('mailer')).toMatchObject({ kind: 'scrape', status: 'down' });
    expect(byName.get('mailer')!.reasons[0]).toMatchObject({
      source: 'scrape',
      detail: expect.stringContaining(`target 127.0.0.1:${missingPort} (job mailer) is down: `),
      status: 'down',
    });
    expect(byName.get('checkout')).toMatchObject({
      status: 'degraded',
      dependsOn: ['database', 'payments', 'queue'],
      impactedBy: [
        { component: 'database', status: 'down', via: [] },
        { component: 'payments', status: 'down', via: [] },
        { component: 'queue', status: 'degraded', via: [] },
      ],
    });

    // Problems first: down, then degraded, each by name.
    expect(cs.map((c) => c.status)).toEqual([...cs.map((c) => c.status)].sort(byProblem));

    const one = await fetch(`${vigil.url}/api/vigil/v1/components/checkout`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { component: Component }).component.impactedBy).toHaveLength(3);
    const missing = await fetch(`${vigil.url}/api/vigil/v1/components/nothing-here`);
    expect(missing.status).toBe(404);
  });

  it('rejects a component naming a check that does not exist, saying where', () => {
    expect(() => loadConfigText('components:\n  - name: api\n    checks: [nope]\n', 'bad.yml')).toThrow(
      /bad\.yml.*no health check named "nope" in health_checks/s,
    );
  });
});

const ORDER = ['down', 'degraded', 'unknown', 'healthy'];
const byProblem = (a: string, b: string) => ORDER.indexOf(a) - ORDER.indexOf(b);
