import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../rules/clock.ts';
import { MemoryIntegration } from '../notify/memory.ts';
import { loadAlertmanagerConfigText } from './config/load.ts';
import {
  dedupConfigSchema,
  Deduplicator,
  MAX_SOURCES,
  normalizeForDedup,
  SOURCES_ANNOTATION,
} from './dedup.ts';
import { normalizeAlert, type Alert } from './model.ts';
import { AlertPipeline } from './pipeline.ts';
import { SeverityNormalizer } from './severity.ts';
import type { PostableAlert } from './sink.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const S = 1000;
const M = 60 * S;
const RT = 5 * M;
const iso = (ms: number) => new Date(T0 + ms).toISOString();

const cfg = dedupConfigSchema.parse({
  rules: [
    { rename: { svc: 'service', service_name: 'service' } },
    { match: { alertname: 'ChannelDown' }, equal: ['channel'] },
    { values: { env: { prod: 'production', prd: 'production' } } },
  ],
});

describe('normalizeForDedup', () => {
  it.each([
    [
      'drops the default HA labels',
      { alertname: 'A', replica: 'b', prometheus: 'mon/k8s' },
      { alertname: 'A' },
    ],
    ['renames labels', { alertname: 'A', svc: 'api' }, { alertname: 'A', service: 'api' }],
    [
      'keeps the target when both names are present',
      { alertname: 'A', svc: 'x', service: 'api' },
      { alertname: 'A', service: 'api' },
    ],
    ['maps values', { alertname: 'A', env: 'prd' }, { alertname: 'A', env: 'production' }],
    [
      'keeps only alertname, match and equal labels under an equivalence rule',
      { alertname: 'ChannelDown', channel: 'orders', host: 'mq1', job: 'monitor' },
      { alertname: 'ChannelDown', channel: 'orders' },
    ],
    [
      'leaves alerts the rule does not match alone',
      { alertname: 'Other', channel: 'orders', host: 'mq1' },
      { alertname: 'Other', channel: 'orders', host: 'mq1' },
    ],
  ])('%s', (_what, input, out) => {
    expect(normalizeForDedup(input, cfg)).toEqual(out);
  });

  it('never erases an alert identity', () => {
    expect(normalizeForDedup({ replica: 'a' }, cfg)).toEqual({ replica: 'a' });
  });

  it('accepts an empty ignore list and refuses bad names', () => {
    expect(dedupConfigSchema.parse({ ignore_labels: [] }).ignore_labels).toEqual([]);
    expect(dedupConfigSchema.safeParse({ rules: [{ rename: { a: 'b-c' } }] }).success).toBe(false);
    expect(dedupConfigSchema.safeParse({ rules: [{ equal: [] }] }).success).toBe(false);
    expect(dedupConfigSchema.safeParse({ rules: [{ mtach: {} }] }).success).toBe(false);
  });
});

describe('Deduplicator', () => {
  const post = (d: Deduplicator, source: string, p: PostableAlert, now: number): Alert => {
    const a = normalizeAlert(p, now, RT) as Alert;
    return d.add(source, a.labels, { ...a, labels: d.normalize(a.labels) }, now);
  };

  it('merges sources: earliest start, latest end, resolved only when every source is', () => {
    const d = new Deduplicator(cfg);
    const labels = { alertname: 'A', replica: 'a' };
    post(d, 'api', { labels, startsAt: iso(10 * S), annotations: { summary: 'one' } }, T0 + 10 * S);
    const m = post(
      d,
      'api',
      { labels: { ...labels, replica: 'b' }, startsAt: iso(0), annotations: { summary: 'two' } },
      T0 + 20 * S,
    );
    expect(m.labels).toEqual({ alertname: 'A' });
    expect(m.startsAt).toBe(T0);
    expect(m.annotations).toEqual({
      summary: 'two',
      [SOURCES_ANNOTATION]: 'api{replica="a"}, api{replica="b"}',
    });
    // Replica a resolves; b is still firing until its resolve_timeout.
    const r1 = post(d, 'api', { labels, startsAt: iso(10 * S), endsAt: iso(30 * S) }, T0 + 30 * S);
    expect(r1.endsAt).toBe(T0 + 20 * S + RT);
    expect(r1.timeout).toBe(true);
    const fp = d.merged()[0]!;
    expect(d.sources(fp).map((s) => [s.source, s.labels.replica, s.endsAt - T0])).toEqual([
      ['api', 'a', 30 * S],
      ['api', 'b', 20 * S + RT],
    ]);
    const r2 = post(
      d,
      'api',
      { labels: { ...labels, replica: 'b' }, startsAt: iso(0), endsAt: iso(40 * S) },
      T0 + 40 * S,
    );
    expect(r2.endsAt).toBe(T0 + 40 * S);
    // Every source resolved: a new firing post starts a new episode with only its own source.
    const again = post(d, 'rules', { labels: { alertname: 'A' }, startsAt: iso(M) }, T0 + M);
    expect(again.startsAt).toBe(T0 + M);
    expect(again.annotations[SOURCES_ANNOTATION]).toBeUndefined();
    expect(d.merged()).toEqual([]);
    expect(d.gc(T0 + M + RT)).toBe(1);
  });
});

describe('AlertPipeline with de-duplication and severity classes', () => {
  const running: AlertPipeline[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });

  async function setup() {
    const clock = new ManualClock(T0);
    const config = loadAlertmanagerConfigText(
      [
        'route:',
        '  receiver: default',
        '  group_by: [alertname]',
        '  group_wait: 30s',
        '  routes:',
        '    - receiver: pager',
        '      matchers: [severity="critical"]',
        'receivers: [{name: default}, {name: pager}]',
        '',
      ].join('\n'),
      'am.yml',
    );
    const sinks = new Map(config.receivers.map((r) => [r.name, new MemoryIntegration(() => clock.now())]));
    const p = await AlertPipeline.start({
      config,
      clock,
      externalURL: 'http://vigil',
      integrations: new Map([...sinks].map(([k, v]) => [k, [v]])),
      dedup: cfg,
      severity: new SeverityNormalizer(),
    });
    running.push(p);
    return { p, clock, sinks };
  }

  it('notifies once for an alert two replicas send, routed by its severity class', async () => {
    const { p, clock, sinks } = await setup();
    for (const replica of ['a', 'b'])
      expect(
        await p.receive(
          [{ labels: { alertname: 'DiskFull', severity: 'P1', replica }, startsAt: iso(0) }],
          'api',
        ),
      ).toEqual({ accepted: 1, rejected: [] });
    await clock.advanceTo(T0 + 30 * S);
    expect(sinks.get('pager')!.summary()).toEqual([`${T0 + 30 * S} firing DiskFull`]);
    expect(sinks.get('default')!.summary()).toEqual([]);
    const alerts = p.activeAlerts();
    expect(alerts.map((a) => a.labels)).toEqual([
      { alertname: 'DiskFull', severity: 'critical', severity_original: 'P1' },
    ]);
    expect(p.sourcesOf(alerts[0]!.fingerprint).map((s) => s.labels.replica)).toEqual(['a', 'b']);
    expect(p.mergedAlerts()).toEqual([alerts[0]!.fingerprint]);
  });
});

describe('Deduplicator limits', () => {
  it(`keeps at most ${MAX_SOURCES} sources per alert, dropping resolved and stale ones first`, () => {
    const d = new Deduplicator(
      dedupConfigSchema.parse({ rules: [{ match: { alertname: 'A' }, equal: ['x'] }] }),
    );
    const add = (host: string, now: number, endsAt?: number) => {
      const a = normalizeAlert(
        {
          labels: { alertname: 'A', x: '1', host },
          startsAt: iso(0),
          endsAt: endsAt === undefined ? undefined : iso(endsAt),
        },
        T0 + now,
        RT,
      ) as Alert;
      return d.add('api', a.labels, { ...a, labels: d.normalize(a.labels) }, T0 + now);
    };
    add('resolved', 1, 2);
    for (let i = 0; i < MAX_SOURCES + 5; i++) add(`h${i}`, 10 + i);
    const hosts = d.sources(d.merged()[0]!).map((s) => s.labels.host);
    expect(hosts).toHaveLength(MAX_SOURCES);
    expect(hosts).not.toContain('resolved');
    expect(hosts.slice(0, 2)).toEqual(['h5', 'h6']);
  });
});
