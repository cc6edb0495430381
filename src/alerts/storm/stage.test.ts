import { describe, expect, it } from 'vitest';
import type { CorrelatedGroup } from '../correlate/model.ts';
import { fingerprint } from '../model.ts';
import type { StoredAlert } from '../store.ts';
import { StormStage, TokenBucket, type StormOptions, type StormRequest, type SummaryItem } from './stage.ts';
import { summaryMessage } from './summary.ts';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const MIN = 60_000;

function alert(labels: Record<string, string>, startsAt = T0, endsAt = T0 + 60 * MIN): StoredAlert {
  return {
    labels,
    annotations: { summary: `${labels.alertname} is bad` },
    startsAt,
    endsAt,
    generatorURL: '',
    updatedAt: startsAt,
    timeout: false,
    fingerprint: fingerprint(labels),
  };
}

/** A correlated group of `alerts`, the first being the root cause. */
function group(id: string, alerts: readonly StoredAlert[]): CorrelatedGroup {
  return {
    id,
    rootCause: { fingerprint: alerts[0]!.fingerprint, labels: alerts[0]!.labels, score: 0.9 },
    members: alerts.map((a, i) => ({
      fingerprint: a.fingerprint,
      labels: a.labels,
      startsAt: a.startsAt,
      rootScore: i === 0 ? 0.9 : 0.4,
      episodes: 1,
      reasons: [
        { kind: i === 0 ? 'root-cause' : 'topology', detail: i === 0 ? 'earliest' : 'same node', score: 0.7 },
      ],
    })),
    startedAt: alerts[0]!.startsAt,
    severity: 'critical',
  };
}

const opts: Partial<StormOptions> = {
  threshold: 3,
  windowMs: MIN,
  calmMs: 5 * MIN,
  ratePerMinute: 0,
  flapMaxFires: 0,
  gatherMs: 0,
};

function request(alerts: readonly StoredAlert[], groupKey = alerts[0]!.labels.alertname!): StormRequest {
  return {
    receiver: 'oncall',
    integration: 'webhook[0]',
    groupKey,
    groupWaitMs: 0,
    groupIntervalMs: 5 * MIN,
    repeatIntervalMs: 4 * 60 * MIN,
    sendResolved: true,
    alerts,
  };
}

const nodeDown = alert({ alertname: 'NodeDown', node: 'node-7', severity: 'critical' });
const pods = [1, 2, 3, 4].map((i) =>
  alert(
    { alertname: 'KubePodNotReady', pod: `web-${i}`, node: 'node-7', severity: 'warning' },
    T0 + i * 1000,
  ),
);
const disk = alert({ alertname: 'DiskFull', instance: 'backup-1', severity: 'critical' });
const cert = alert({ alertname: 'CertExpiring', service: 'shop', severity: 'warning' });

describe('TokenBucket', () => {
  it('allows a burst, then one token per 60/perMinute seconds', () => {
    const b = new TokenBucket(6, 2, T0);
    expect([b.take(T0), b.take(T0), b.take(T0)]).toEqual([true, true, false]);
    expect(b.nextAt(T0)).toBe(T0 + 10_000);
    expect(b.take(T0 + 9_999)).toBe(false);
    expect(b.take(T0 + 10_000)).toBe(true);
    expect(b.take(T0 + 10 * MIN)).toBe(true);
  });
});

describe('storm collapse', () => {
  it('sends as Alertmanager below the threshold, then one summary per correlated group', () => {
    const groups = [group('g-node7', [nodeDown, ...pods]), group('g-cert', [cert])];
    const stage = new StormStage<string>(opts, () => groups);
    const now = T0 + 30_000;
    // Two new alerts: below the threshold of 3, every notification goes out as it is.
    for (const a of [nodeDown, pods[0]!]) stage.observe(a, ['oncall'], now);
    expect(stage.stormy('oncall', now)).toBe(false);
    expect(stage.route(request([pods[0]!]), 'p0', now)).toEqual({
      kind: 'send',
      alerts: [pods[0]],
      absorbed: 0,
    });
    // The third crosses it: storm mode.
    for (const a of [...pods.slice(1), cert]) stage.observe(a, ['oncall'], now);
    expect(stage.stormy('oncall', now)).toBe(true);
    expect(stage.route(request(pods.slice(1)), 'pods', now)).toEqual({
      kind: 'send',
      alerts: [],
      absorbed: 3,
    });
    // An alert alone in its correlated group is not collapsed.
    expect(stage.route(request([cert]), 'cert', now)).toEqual({ kind: 'send', alerts: [cert], absorbed: 0 });
    const due = stage.due(now) as SummaryItem[];
    expect(due).toHaveLength(1);
    expect(due[0]!).toMatchObject({ kind: 'summary', stormId: 'g-node7', first: true, members: 3 });
    expect(due[0]!.alerts.map((a) => a.labels.pod)).toEqual(['web-2', 'web-3', 'web-4']);
    stage.done(due[0]!, true, now);
    // Nothing new: nothing due. A member that joins later is told at group_interval, not at once...
    expect(stage.due(now + MIN)).toEqual([]);
    expect(stage.route(request([pods[0]!], 'again'), 'x', now + MIN)).toEqual({
      kind: 'send',
      alerts: [],
      absorbed: 1,
    });
    expect(stage.due(now + 2 * MIN)).toEqual([]);
    const update = stage.due(now + 5 * MIN) as SummaryItem[];
    expect(update).toHaveLength(1);
    expect(update[0]!.first).toBe(false);
    expect(update[0]!.alerts.map((a) => a.labels.pod)).toEqual(['web-1', 'web-2', 'web-3', 'web-4']);
    stage.done(update[0]!, true, now + 5 * MIN);
    // ...unless it is the group's new root-cause candidate (the cause fired after its symptoms): told at once.
    // Being in an existing storm group, the critical NodeDown does not bypass the summary.
    expect(stage.route(request([nodeDown], 'node'), 'n', now + 6 * MIN)).toEqual({
      kind: 'send',
      alerts: [],
      absorbed: 1,
    });
    const root = stage.due(now + 6 * MIN) as SummaryItem[];
    expect(root.map((i) => i.alerts[0]!.labels.alertname)).toEqual(['NodeDown']);
  });

  it('puts the root-cause candidate first and marks the message as a storm summary', () => {
    const groups = [group('g1', [nodeDown, ...pods])];
    const stage = new StormStage<string>({ ...opts, threshold: 1 }, () => groups);
    stage.observe(pods[0]!, ['oncall'], T0);
    stage.route(request(pods), 'p', T0);
    stage.route(request([nodeDown]), 'n', T0); // critical, but its group is a storm group already
    const [item] = stage.due(T0) as SummaryItem[];
    expect(item!.alerts[0]!.labels.alertname).toBe('NodeDown');
    const msg = summaryMessage(item!, 'http://vigil', T0);
    expect(msg.groupLabels).toEqual({ vigil_storm: 'true', vigil_storm_group: 'g1' });
    expect(msg.commonLabels).toMatchObject({ vigil_storm: 'true', node: 'node-7' });
    expect(msg.commonAnnotations.vigil_storm_summary).toBe(
      'Alert storm: 5 alerts in one correlated group (5 firing); probable root cause NodeDown (node-7) (score 0.9)',
    );
    expect(msg.commonAnnotations.vigil_storm_reasons).toContain(
      'KubePodNotReady (node-7): topology: same node',
    );
    expect(msg.alerts).toHaveLength(5);
    expect(msg.status).toBe('firing');
  });

  it('tells resolutions and ends the summary when every member resolved', () => {
    const a = alert({ alertname: 'A', node: 'n' });
    const b = alert({ alertname: 'B', node: 'n' });
    const stage = new StormStage<string>({ ...opts, threshold: 1 }, () => [group('g', [a, b])]);
    stage.observe(a, ['oncall'], T0);
    stage.route(request([a, b]), 'p', T0);
    const [first] = stage.due(T0);
    stage.done(first!, true, T0);
    const resolvedAt = T0 + 2 * MIN;
    const current = new Map([a, b].map((x) => [x.fingerprint, { ...x, endsAt: resolvedAt }]));
    const later = stage.due(T0 + 5 * MIN, (fp) => current.get(fp)) as SummaryItem[];
    expect(later).toHaveLength(1);
    const msg = summaryMessage(later[0]!, '', T0 + 5 * MIN);
    expect(msg.status).toBe('resolved');
    stage.done(later[0]!, true, T0 + 5 * MIN);
    expect(stage.due(T0 + 11 * MIN, (fp) => current.get(fp))).toEqual([]);
    // Kept for an hour: a member firing again returns to it (as an update), even outside storm mode.
    expect(stage.summaries).toBe(1);
    const again = { ...a, startsAt: T0 + 30 * MIN, endsAt: T0 + 90 * MIN };
    current.set(a.fingerprint, again);
    expect(stage.route(request([again]), 'again', T0 + 30 * MIN)).toMatchObject({ alerts: [], absorbed: 1 });
    const refire = stage.due(T0 + 30 * MIN, (fp) => current.get(fp));
    expect(refire).toMatchObject([{ kind: 'summary', first: false }]);
    stage.done(refire[0]!, true, T0 + 30 * MIN);
    current.set(a.fingerprint, { ...again, endsAt: T0 + 40 * MIN });
    for (const i of stage.due(T0 + 40 * MIN, (fp) => current.get(fp))) stage.done(i, true, T0 + 40 * MIN);
    stage.due(T0 + 101 * MIN, (fp) => current.get(fp));
    expect(stage.summaries).toBe(0);
  });
});

describe('critical bypass', () => {
  it.each([
    ['alone in its correlated group', [group('gd', [disk])]],
    ['not in its correlated group', [group('gd', [disk]), group('gc', [cert])]],
  ])('a critical alert %s goes out at once, even without a token', (_, groups) => {
    const stage = new StormStage<string>({ ...opts, threshold: 1, ratePerMinute: 1, burst: 1 }, () => groups);
    stage.observe(cert, ['oncall'], T0);
    expect(stage.route(request([cert], 'warn'), 'c', T0).kind).toBe('send'); // takes the only token
    expect(stage.route(request([disk], 'disk'), 'd', T0)).toEqual({
      kind: 'send',
      alerts: [disk],
      absorbed: 0,
    });
  });

  it('a critical alert that starts a correlated group goes out on its own and then leads its summary', () => {
    const stage = new StormStage<string>({ ...opts, threshold: 1 }, () => [group('gd', [disk, cert])]);
    stage.observe(disk, ['oncall'], T0);
    expect(stage.route(request([disk], 'disk'), 'd', T0)).toEqual({
      kind: 'send',
      alerts: [disk],
      absorbed: 0,
    });
    expect(stage.due(T0)).toEqual([]); // nothing but the critical alert: no summary
    expect(stage.route(request([cert], 'cert'), 'c', T0)).toEqual({ kind: 'send', alerts: [], absorbed: 1 });
    const [item] = stage.due(T0) as SummaryItem[];
    expect(item!.alerts.map((a) => a.labels.alertname)).toEqual(['DiskFull', 'CertExpiring']);
  });

  it('a critical alert that correlation joins to a running summary, not as its root cause, still goes out', () => {
    const memory = alert(
      { alertname: 'HighMemoryUsage', service: 'search', severity: 'critical' },
      T0 + 5000,
    );
    const stage = new StormStage<string>({ ...opts, threshold: 1 }, () => [group('g', [...pods, memory])]);
    stage.observe(pods[0]!, ['oncall'], T0);
    stage.route(request(pods, 'pods'), 'p', T0);
    for (const i of stage.due(T0)) stage.done(i, true, T0);
    expect(stage.route(request([memory], 'mem'), 'm', T0 + MIN)).toEqual({
      kind: 'send',
      alerts: [memory],
      absorbed: 0,
    });
    // Listed in the summary from then on; the update goes out at once (a critical member is never delayed).
    expect(stage.inSummary('oncall', 'webhook[0]', memory.fingerprint)).toBe(true);
    const [update] = stage.due(T0 + MIN) as SummaryItem[];
    expect(update!.alerts.map((a) => a.labels.alertname)).toContain('HighMemoryUsage');
  });

  it('every correlated group gets its first summary without waiting for a token', () => {
    const g = [
      group('g1', [nodeDown, ...pods]),
      group('g2', [cert, alert({ alertname: 'X', service: 'shop' })]),
    ];
    const stage = new StormStage<string>({ ...opts, threshold: 1, ratePerMinute: 1, burst: 1 }, () => g);
    stage.observe(cert, ['oncall'], T0);
    stage.route(request(pods, 'pods'), 'p', T0);
    stage.route(request([cert], 'cert'), 'c', T0);
    expect(stage.due(T0).map((i) => (i as SummaryItem).stormId)).toEqual(['g1', 'g2']);
  });
});

describe('gathering in storm mode', () => {
  const b = alert({ alertname: 'B', node: 'n' }, T0 + 20_000);
  const a = alert({ alertname: 'A', node: 'n' });

  it('a lone alert waits; when a related alert comes meanwhile, both go into one summary', () => {
    let groups = [group('ga', [a])];
    const stage = new StormStage<string>({ ...opts, threshold: 1, gatherMs: MIN }, () => groups);
    stage.observe(a, ['oncall'], T0);
    expect(stage.route(request([a], 'a'), 'pa', T0)).toEqual({ kind: 'held', alerts: [a], absorbed: 0 });
    expect(stage.due(T0 + 30_000)).toEqual([]);
    groups = [group('gab', [a, b])];
    expect(stage.route(request([b], 'b'), 'pb', T0 + 30_000)).toEqual({
      kind: 'send',
      alerts: [],
      absorbed: 1,
    });
    const due = stage.due(T0 + MIN);
    expect(due.map((i) => i.kind)).toEqual(['summary']);
    expect((due[0] as SummaryItem).alerts.map((x) => x.labels.alertname)).toEqual(['A', 'B']);
  });

  it('a lone alert still alone after the wait goes out on its own', () => {
    const stage = new StormStage<string>({ ...opts, threshold: 1, gatherMs: MIN }, () => [group('ga', [a])]);
    stage.observe(a, ['oncall'], T0);
    expect(stage.route(request([a], 'a'), 'pa', T0).kind).toBe('held');
    expect(stage.nextAt(T0)).toBe(T0 + MIN);
    expect(stage.due(T0 + MIN)).toMatchObject([{ kind: 'deferred', groupKey: 'a', payload: 'pa' }]);
  });
});

describe('rate limit', () => {
  it('defers without a token, merges a group’s newer notification, sends when a token frees up', () => {
    const limited: string[] = [];
    const stage = new StormStage<string>({ ...opts, ratePerMinute: 2, burst: 1 }, () => [], {
      rateLimited: (r) => limited.push(r),
    });
    expect(stage.route(request([disk], 'a'), 'a1', T0).kind).toBe('send'); // critical: no token taken
    expect(stage.route(request([cert], 'b'), 'b1', T0).kind).toBe('send'); // the one token
    expect(stage.route(request([cert], 'c'), 'c1', T0).kind).toBe('deferred');
    expect(stage.route(request([cert], 'd'), 'd1', T0).kind).toBe('deferred');
    expect(stage.route(request([cert], 'c'), 'c2', T0 + 1000).kind).toBe('deferred'); // merged into c's entry
    expect(limited).toEqual(['oncall', 'oncall', 'oncall']);
    expect(stage.due(T0 + 1000)).toEqual([]);
    expect(stage.nextAt(T0 + 1000)).toBe(T0 + 30_000);
    const first = stage.due(T0 + 30_000);
    expect(first).toMatchObject([{ kind: 'deferred', groupKey: 'c', payload: 'c2', deferredAt: T0 }]);
    stage.done(first[0]!, true, T0 + 30_000);
    expect(stage.due(T0 + 60_000)).toMatchObject([{ kind: 'deferred', groupKey: 'd', payload: 'd1' }]);
  });

  it('a notification that can go out supersedes the group’s deferred one', () => {
    const stage = new StormStage<string>({ ...opts, ratePerMinute: 1, burst: 1 }, () => []);
    stage.route(request([cert], 'x'), 'x1', T0);
    expect(stage.route(request([cert], 'y'), 'y1', T0).kind).toBe('deferred');
    expect(stage.route(request([cert], 'y'), 'y2', T0 + MIN).kind).toBe('send');
    expect(stage.due(T0 + 10 * MIN)).toEqual([]);
  });
});

describe('flapping', () => {
  const o = { ...opts, flapMaxFires: 3, flapWindowMs: 15 * MIN, flapStableMs: 10 * MIN };
  const labels = { alertname: 'HighLatency', service: 'search' };

  it('holds an alert that fires more than max_fires times in the window until it is stable', () => {
    const stage = new StormStage<string>(o, () => []);
    const starts = [0, 3, 6, 9].map((m) => T0 + m * MIN);
    const states = starts.map((s) => stage.observe(alert(labels, s, s + 2 * MIN), ['oncall'], s));
    expect(states).toEqual([false, false, false, true]);
    const last = alert(labels, starts[3]!, starts[3]! + 2 * MIN);
    expect(stage.flaps.held(last, starts[3]! + MIN)).toBe(true);
    // Resolved at +11m: stable from then on; still held at +20m, released at +21m.
    expect(stage.flaps.held(last, T0 + 20 * MIN)).toBe(true);
    expect(stage.flaps.releasedAt(last.fingerprint)).toBeUndefined();
    expect(stage.flaps.held(last, T0 + 21 * MIN)).toBe(false);
    expect(stage.flaps.releasedAt(last.fingerprint)).toBe(T0 + 21 * MIN);
    expect(stage.flaps.isFlapping(last.fingerprint)).toBe(false);
  });

  it('does not count fires older than the window, nor re-posts of one episode', () => {
    const stage = new StormStage<string>(o, () => []);
    const starts = [0, 10, 20, 30, 40].map((m) => T0 + m * MIN);
    for (const s of starts) {
      expect(stage.observe(alert(labels, s, s + 2 * MIN), ['oncall'], s)).toBe(false);
      expect(stage.observe(alert(labels, s, s + 2 * MIN), ['oncall'], s + MIN)).toBe(false);
    }
  });
});

describe('snapshot and restore', () => {
  it('a restored stage is still in storm mode, keeps its summaries and does not announce them again', () => {
    const groups = [group('g-node7', [nodeDown, ...pods])];
    const stage = new StormStage<string>({ ...opts, ratePerMinute: 10, burst: 2 }, () => groups);
    const now = T0 + 30_000;
    for (const a of pods.slice(0, 3)) stage.observe(a, ['oncall'], now);
    expect(stage.route(request(pods.slice(0, 3)), 'pods', now).absorbed).toBe(3);
    const first = stage.due(now) as SummaryItem[];
    stage.done(first[0]!, true, now);

    // Through JSON, as the state store keeps it.
    const snap: unknown = JSON.parse(JSON.stringify(stage.snapshot(now)));
    const restored = new StormStage<string>({ ...opts, ratePerMinute: 10, burst: 2 }, () => groups);
    restored.restore(snap, now + 1000);
    expect(JSON.parse(JSON.stringify(restored.snapshot(now)))).toEqual(snap);
    expect(restored.stormy('oncall', now + 1000)).toBe(true);
    expect(restored.inSummary('oncall', 'webhook[0]', pods[0]!.fingerprint)).toBe(true);
    expect(restored.due(now + 1000)).toEqual([]);
    // A new member joins the restored summary and is told at its group_interval, not as a first summary.
    expect(restored.route(request([pods[3]!], 'more'), 'm', now + MIN).absorbed).toBe(1);
    const update = restored.due(now + 5 * MIN) as SummaryItem[];
    expect(update.map((u) => [u.first, u.members])).toEqual([[false, 4]]);
  });

  it('refuses what is not a snapshot, changing nothing', () => {
    const stage = new StormStage<string>(opts, () => []);
    expect(() => stage.restore({ version: 2 }, T0)).toThrow('not a storm-protection snapshot of version 1');
    const bad = { version: 1, flaps: [], rates: [], buckets: [], summaries: [{ key: 'k' }] };
    expect(() => stage.restore(bad, T0)).toThrow('summaries[0]: not a storm summary');
    expect(stage.snapshot(T0)).toMatchObject({ flaps: [], rates: [], buckets: [], summaries: [] });
  });
});
