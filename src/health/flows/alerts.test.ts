import { describe, expect, it } from 'vitest';
import { FlowAlerts } from './alerts.ts';
import { flowSchema } from './config.ts';
import type { CheckResult, CheckStatus, FlowResult } from './evaluate.ts';

const flow = flowSchema.parse({
  name: 'f',
  labels: { team: 'ops' },
  stages: [{ name: 'a', in: 'x', out: 'y' }],
  channels: [{ name: 'push', stage: 'a', in: 'x', out: 'y' }],
});

const lag = (status: CheckStatus): CheckResult => ({
  kind: 'lag',
  status,
  value: status === 'unknown' ? null : 90,
  expected: status === 'unknown' ? null : 60,
  reason: 'lag 90 (max 60)',
  numbers: status === 'unknown' ? {} : { lag: 90, max: 60 },
});

const result = (t: number, status: CheckStatus): FlowResult => ({
  name: 'f',
  t,
  stages: [],
  channels: [
    {
      name: 'push',
      stage: 'a',
      channel: true,
      status,
      checks: [lag(status)],
      rates: { in: 1, out: 1, dropped: 0 },
    },
  ],
});

const T = Date.UTC(2026, 0, 1);

describe('FlowAlerts', () => {
  it('fires with labels and numbers, re-sends with the first startsAt, and resolves when the check passes', () => {
    const a = new FlowAlerts();
    expect(a.update(flow, result(T, 'ok'), 60_000)).toEqual([]);
    const [first] = a.update(flow, result(T + 60_000, 'violated'), 60_000);
    expect(first).toEqual({
      labels: {
        team: 'ops',
        alertname: 'FlowLag',
        flow: 'f',
        stage: 'a',
        channel: 'push',
        check: 'lag',
        severity: 'warning',
      },
      annotations: {
        summary: 'Lag at channel push (from stage a) of flow f is 90 (max 60)',
        description: 'lag 90 (max 60)',
        lag: '90',
        max: '60',
        value: '90',
        expected: '60',
      },
      startsAt: new Date(T + 60_000).toISOString(),
      endsAt: new Date(T + 300_000).toISOString(),
    });
    const [again] = a.update(flow, result(T + 120_000, 'violated'), 60_000);
    expect(again!.startsAt).toBe(first!.startsAt);
    expect(again!.endsAt).toBe(new Date(T + 360_000).toISOString());
    const [resolved] = a.update(flow, result(T + 180_000, 'ok'), 60_000);
    expect(resolved).toMatchObject({
      startsAt: first!.startsAt,
      endsAt: new Date(T + 180_000).toISOString(),
    });
    expect(a.update(flow, result(T + 240_000, 'ok'), 60_000)).toEqual([]);
  });

  it('lets an alert expire when its check turns unknown, and does not resolve it later', () => {
    const a = new FlowAlerts();
    expect(a.update(flow, result(T, 'violated'), 60_000)).toHaveLength(1);
    expect(a.update(flow, result(T + 60_000, 'unknown'), 60_000)).toEqual([]);
    expect(a.update(flow, result(T + 120_000, 'ok'), 60_000)).toEqual([]);
  });
});
