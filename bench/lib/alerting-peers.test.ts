import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuSeconds, WebhookSink } from './alerting-peers.ts';

describe('WebhookSink', () => {
  let sink: WebhookSink;
  beforeAll(async () => {
    sink = await WebhookSink.start();
  });
  afterAll(() => sink.close());

  const post = (system: string, body: string) =>
    fetch(sink.urlFor(system), { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('records each notification under the system of its URL path and hands it to a waiter', async () => {
    const waiting = sink.next((n) => n.system === 'prom' && n.alerts[0]?.labels.alertname === 'A', 30_000);
    const payload = {
      status: 'firing',
      groupLabels: { alertname: 'A' },
      commonLabels: { alertname: 'A' },
      alerts: [{ status: 'firing', labels: { alertname: 'A' } }],
    };
    expect((await post('vigil', JSON.stringify(payload))).status).toBe(200);
    expect((await post('prom', JSON.stringify(payload))).status).toBe(200);
    const got = await waiting;
    expect(got).toMatchObject({ system: 'prom', status: 'firing', groupLabels: { alertname: 'A' } });
    expect(sink.received.map((n) => n.system)).toEqual(['vigil', 'prom']);
    expect(sink.lastAt()).toBe(got!.at);
  });

  it('answers 400 to a body that is not JSON, counts it, and keeps what it had', async () => {
    const before = sink.received.length;
    const r = await post('vigil', '{not json');
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/not JSON/);
    expect(sink.rejected).toBe(1);
    expect(sink.received).toHaveLength(before);
  });

  it('gives undefined when nothing matching arrives in time', async () => {
    expect(await sink.next(() => false, 20)).toBeUndefined();
  });
});

describe('cpuSeconds', () => {
  it.each([
    ['this process', process.pid, (s: number) => s > 0],
    ['a process that does not exist', 2 ** 30, (s: number) => s === 0],
  ])('%s', (_, pid, ok) => {
    expect(ok(cpuSeconds(pid))).toBe(true);
  });
});
