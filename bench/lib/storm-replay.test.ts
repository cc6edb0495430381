import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { stormConfigSchema } from '../../src/alerts/config/storm.ts';
import type { CorpusCase } from '../../src/alerts/correlate/corpus/generate.ts';
import {
  alertKey,
  CASE_LABEL,
  replayTimeline,
  scaled,
  scaledStormYaml,
  scoreReplay,
  type ScoredNotification,
} from './storm-replay.ts';

const MIN = 60_000;
const T = Date.parse('2026-11-02T08:00:00Z');

/** Two incidents: a node down with one pod alert, and a flapping latency alert with two episodes. */
const c: CorpusCase = {
  name: '0-test',
  start: T,
  end: T + 90 * MIN,
  topology: { edges: [], windowMs: 3_600_000 },
  alerts: [
    {
      fingerprint: 'a',
      labels: { alertname: 'NodeDown', node: 'n1' },
      annotations: {},
      episodes: [{ start: T + 10 * MIN, end: T + 30 * MIN }],
      incident: 'i0',
    },
    {
      fingerprint: 'b',
      labels: { alertname: 'KubePodNotReady', node: 'n1', pod: 'p' },
      annotations: {},
      episodes: [{ start: T + 11 * MIN, end: T + 30 * MIN }],
      incident: 'i0',
    },
    {
      fingerprint: 'c',
      labels: { alertname: 'HighLatency', service: 's' },
      annotations: {},
      episodes: [
        { start: T + 12 * MIN, end: T + 14 * MIN },
        { start: T + 14 * MIN, end: T + 20 * MIN },
      ],
      incident: 'i1',
    },
  ],
  incidents: [
    { id: 'i0', scenario: 'storm', root: 'a' },
    { id: 'i1', scenario: 'flapping', root: 'c' },
  ],
};

const alert = (status: string, labels: Record<string, string>, kase = c.name) => ({
  status,
  labels: { ...labels, [CASE_LABEL]: kase },
});

describe('replayTimeline', () => {
  it('compresses corpus minutes, starts one minute before the first episode, resolves before re-firing', () => {
    const { events, durationMs } = replayTimeline(c, 500);
    expect(events.slice(0, 3)).toEqual([
      { at: 500, kind: 'fire', alert: 0 },
      { at: 1000, kind: 'fire', alert: 1 },
      { at: 1500, kind: 'fire', alert: 2 },
    ]);
    // Alert 2 ends and starts again at minute 14: the resolve comes first.
    expect(events.filter((e) => e.at === 2500)).toEqual([
      { at: 2500, kind: 'resolve', alert: 2 },
      { at: 2500, kind: 'fire', alert: 2 },
    ]);
    expect(durationMs).toBe(10_500);
    expect(events).toHaveLength(8);
  });

  it.each([0, -1, Number.NaN])('rejects minuteMs %s', (m) => {
    expect(() => replayTimeline(c, m)).toThrow(/minuteMs must be positive/);
  });

  it('gives an empty timeline for a case without episodes', () => {
    expect(replayTimeline({ ...c, alerts: [] }, 500)).toEqual({ events: [], durationMs: 0 });
  });
});

describe('scaled', () => {
  it.each([
    [30, 500, 250],
    [300, 500, 2500],
    [14_400, 1000, 240_000],
    [0, 1000, 1],
  ])('%s s at %s ms per minute is %s ms', (s, m, want) => {
    expect(scaled(s, m)).toBe(want);
  });
});

describe('alertKey', () => {
  it('ignores the case label and vigil_ markers, and label order', () => {
    expect(alertKey({ b: '2', a: '1', [CASE_LABEL]: 'x', vigil_storm: 'true' })).toBe(
      alertKey({ a: '1', b: '2' }),
    );
    expect(alertKey({ a: '1' })).not.toBe(alertKey({ a: '2' }));
  });
});

describe('scoreReplay', () => {
  const cases: [string, ScoredNotification[], Partial<ReturnType<typeof scoreReplay>>][] = [
    ['nothing sent', [], { notifications: 0, firing: 0, incidentsNotified: 0 }],
    [
      'one group per incident, then resolved',
      [
        { alerts: [alert('firing', c.alerts[0]!.labels), alert('firing', c.alerts[1]!.labels)] },
        { alerts: [alert('firing', c.alerts[2]!.labels)] },
        { alerts: [alert('resolved', c.alerts[0]!.labels), alert('resolved', c.alerts[1]!.labels)] },
      ],
      { notifications: 3, firing: 2, resolvedOnly: 1, incidentsNotified: 2, unknownAlerts: 0 },
    ],
    [
      'a resolved alert beside a firing one does not notify its incident',
      [{ alerts: [alert('firing', c.alerts[0]!.labels), alert('resolved', c.alerts[2]!.labels)] }],
      { firing: 1, resolvedOnly: 0, incidentsNotified: 1 },
    ],
    [
      'alerts of another case or unknown labels are not attributed',
      [
        { alerts: [alert('firing', c.alerts[2]!.labels, '9-other')] },
        { alerts: [alert('firing', { alertname: 'Nope' })] },
      ],
      { firing: 2, incidentsNotified: 0, unknownAlerts: 2 },
    ],
    [
      'a storm summary with vigil_ labels on its alerts still counts',
      [{ alerts: [alert('firing', { ...c.alerts[1]!.labels, vigil_storm: 'true' })] }],
      { firing: 1, incidentsNotified: 1, unknownAlerts: 0 },
    ],
  ];
  it.each(cases)('%s', (_, notifications, want) => {
    const s = scoreReplay([c], notifications);
    expect(s).toMatchObject({ alerts: 3, episodes: 4, incidents: 2, ...want });
  });
});

describe('scaledStormYaml', () => {
  const defaults = stormConfigSchema.parse({});
  it.each([
    [
      60_000,
      'storm: {enabled: true, threshold: 100, window: 60000ms, calm_period: 300000ms, rate_limit: {per_minute: 120, burst: 120}, flapping: {max_fires: 4, window: 900000ms, stable_for: 600000ms}}',
    ],
    [
      500,
      'storm: {enabled: true, threshold: 100, window: 500ms, calm_period: 2500ms, rate_limit: {per_minute: 14400, burst: 120}, flapping: {max_fires: 4, window: 7500ms, stable_for: 5000ms}}',
    ],
  ])('at %s ms per corpus minute', (minuteMs, want) => {
    expect(scaledStormYaml(defaults, minuteMs)).toBe(want);
  });

  it('is accepted by the configuration schema and gives the scaled values back', () => {
    const yaml = scaledStormYaml(defaults, 500).replace(/^storm: /, '');
    const parsed = stormConfigSchema.parse(parseYaml(yaml));
    expect(parsed).toMatchObject({
      window: 500,
      calm_period: 2500,
      rate_limit: { per_minute: 14400, burst: 120 },
    });
  });
});
