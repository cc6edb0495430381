import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../rules/clock.ts';
import { MemoryIntegration } from '../notify/memory.ts';
import { loadAlertmanagerConfigText } from './config/load.ts';
import { AlertPipeline } from './pipeline.ts';
import { Dispatcher } from './dispatch.ts';
import { normalizeAlert, type Alert } from './model.ts';
import { NotificationLog } from './nflog.ts';
import { AlertStore } from './store.ts';
import type { PostableAlert } from './sink.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z'); // a Monday
const S = 1000;
const M = 60 * S;

const running: AlertPipeline[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

async function setup(yaml: string, opts: { sendResolved?: boolean } = {}) {
  const clock = new ManualClock(T0);
  const config = loadAlertmanagerConfigText(yaml, 'am.yml');
  const sinks = new Map<string, MemoryIntegration>();
  const integrations = new Map(
    config.receivers.map((r) => {
      const m = new MemoryIntegration(() => clock.now(), opts.sendResolved ?? true);
      sinks.set(r.name, m);
      return [r.name, [m]];
    }),
  );
  const p = await AlertPipeline.start({ config, clock, externalURL: 'http://vigil', integrations });
  running.push(p);
  const post = async (...alerts: PostableAlert[]) => {
    const r = await p.receive(alerts, 'test');
    expect(r.rejected).toEqual([]);
    await clock.settle(clock.sleeping);
  };
  /** Moves time forward, letting every group run (relative ms since T0). */
  const at = (ms: number) => clock.advanceTo(T0 + ms);
  const sent = (receiver = 'default') =>
    sinks
      .get(receiver)!
      .summary()
      .map((s) => {
        const [t, ...rest] = s.split(' ');
        return `${(Number(t) - T0) / S}s ${rest.join(' ')}`;
      });
  return { clock, p, post, at, sent, sinks };
}

const iso = (ms: number) => new Date(T0 + ms).toISOString();

const BASIC = `
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: default
`;

describe('aggregation group timing', () => {
  it('sends the first notification after group_wait, new alerts after group_interval, repeats after repeat_interval', async () => {
    const { post, at, sent } = await setup(BASIC);
    await post({ labels: { alertname: 'A', i: '1' }, startsAt: iso(0), endsAt: iso(3 * 3600 * S) });
    await at(29 * S);
    expect(sent()).toEqual([]);
    await at(30 * S);
    expect(sent()).toEqual(['30s firing A']);
    // A second alert of the group waits for the next group_interval tick (30s + 5m).
    await at(60 * S);
    await post({ labels: { alertname: 'A', i: '2' }, startsAt: iso(60 * S), endsAt: iso(3 * 3600 * S) });
    await at(5 * M);
    expect(sent()).toEqual(['30s firing A']);
    await at(5 * M + 30 * S);
    expect(sent()).toEqual(['30s firing A', '330s firing A,A']);
    // Nothing changes: the ticks stay quiet until more than repeat_interval (1h) passed since the last
    // send; the tick exactly 1h later (65m30s) is not "more", so the repeat goes out at 70m30s.
    await at(65 * M + 30 * S);
    expect(sent()).toHaveLength(2);
    await at(70 * M + 30 * S);
    expect(sent()).toEqual(['30s firing A', '330s firing A,A', '4230s firing A,A']);
  });

  it('groups by the group_by labels and keeps groups independent', async () => {
    const { post, at, sent } = await setup(BASIC);
    await post(
      { labels: { alertname: 'A', i: '1' }, endsAt: iso(3600 * S) },
      { labels: { alertname: 'B', i: '1' }, endsAt: iso(3600 * S) },
    );
    await at(10 * S);
    await post({ labels: { alertname: 'B', i: '2' }, endsAt: iso(3600 * S) });
    await at(30 * S);
    expect(sent()).toEqual(['30s firing A', '30s firing B,B']);
  });

  it('flushes at once for an alert that started longer ago than group_wait', async () => {
    const { post, sent, clock } = await setup(BASIC);
    await post({
      labels: { alertname: 'Old' },
      startsAt: new Date(T0 - 10 * M).toISOString(),
      endsAt: iso(M * 60),
    });
    await clock.settle(1);
    expect(sent()).toEqual(['0s firing Old']);
  });

  it('notifies resolved alerts at the next group_interval and then forgets the group', async () => {
    const { post, at, sent, p } = await setup(BASIC);
    await post({ labels: { alertname: 'A' }, endsAt: iso(3600 * S) });
    await at(30 * S);
    await at(2 * M);
    await post({ labels: { alertname: 'A' }, endsAt: iso(2 * M) });
    await at(5 * M + 30 * S);
    expect(sent()).toEqual(['30s firing A', '330s resolved A(r)']);
    expect(p.groups()).toHaveLength(0);
  });

  it('keeps an emptied group until maintenance: an alert joining it goes out at the next tick, not after a new group_wait', async () => {
    // Ticks at 20 s + n·60 s; maintenance every 30 s from the first alert.
    const yaml = BASIC.replace('group_interval: 5m', 'group_interval: 1m').replace('30s', '20s');
    const { post, at, sent } = await setup(yaml);
    await post({ labels: { alertname: 'A', i: '1' }, endsAt: iso(3600 * S) });
    await at(40 * S);
    await post({ labels: { alertname: 'A', i: '1' }, endsAt: iso(40 * S) });
    await at(80 * S); // the resolved notification leaves the group empty
    // Before the next maintenance (90 s) the group still exists: this alert waits for its next tick (140 s)
    // instead of a new group's group_wait (105 s).
    await at(85 * S);
    await post({ labels: { alertname: 'A', i: '2' }, endsAt: iso(3600 * S) });
    await at(139 * S);
    expect(sent()).toEqual(['20s firing A', '80s resolved A(r)']);
    await at(140 * S);
    expect(sent()).toEqual(['20s firing A', '80s resolved A(r)', '140s firing A']);
    // Emptied again at 200 s and removed by the maintenance at 210 s: a later alert starts a new group.
    await post({ labels: { alertname: 'A', i: '2' }, endsAt: iso(150 * S) });
    await at(215 * S);
    expect(sent()).toHaveLength(4);
    await post({ labels: { alertname: 'A', i: '3' }, endsAt: iso(3600 * S) });
    await at(234 * S);
    expect(sent()).toHaveLength(4);
    await at(235 * S);
    expect(sent().at(-1)).toBe('235s firing A');
  });

  it('resolves an alert without endsAt after resolve_timeout', async () => {
    const { post, at, sent } = await setup(BASIC.replace('route:', 'global:\n  resolve_timeout: 2m\nroute:'));
    await post({ labels: { alertname: 'A' } });
    await at(30 * S);
    await at(5 * M + 30 * S);
    expect(sent()).toEqual(['30s firing A', '330s resolved A(r)']);
  });

  it('with send_resolved false sends no resolved notification but still clears the group', async () => {
    const { post, at, sent, p } = await setup(BASIC, { sendResolved: false });
    await post({ labels: { alertname: 'A', i: '1' }, endsAt: iso(3600 * S) });
    await post({ labels: { alertname: 'A', i: '2' }, endsAt: iso(3600 * S) });
    await at(30 * S);
    await post({ labels: { alertname: 'A', i: '2' }, endsAt: iso(M) });
    await at(5 * M + 30 * S);
    // i=2 resolved: not sent; i=1 unchanged: nothing new to say.
    expect(sent()).toEqual(['30s firing A,A']);
    await post({ labels: { alertname: 'A', i: '1' }, endsAt: iso(6 * M) });
    await at(10 * M + 30 * S);
    expect(sent()).toEqual(['30s firing A,A']);
    expect(p.groups()).toHaveLength(0);
  });

  it('retries a failing integration with backoff and records the notification', async () => {
    const { post, at, sinks, p } = await setup(BASIC);
    sinks
      .get('default')!
      .failures.push(
        { status: 'retryable', error: 'boom', reason: 'serverError' },
        { status: 'retryable', error: 'boom', reason: 'serverError' },
      );
    await post({ labels: { alertname: 'A' }, endsAt: iso(3600 * S) });
    await at(30 * S);
    await at(32 * S);
    expect(sinks.get('default')!.sent.map((s) => s.at - T0)).toEqual([31_250]);
    const recs = p.notifications();
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      receiver: 'default',
      integration: 'memory[0]',
      ok: true,
      attempts: 3,
      status: 'firing',
    });
    expect(recs[0]!.groupKey).toBe('{}:{alertname="A"}');
    expect(recs[0]!.groupId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records a failed notification and tries again at the next group_interval', async () => {
    const { post, at, sinks, p, sent } = await setup(BASIC);
    sinks.get('default')!.failures.push({ status: 'failed', error: 'bad request', reason: 'clientError' });
    await post({ labels: { alertname: 'A' }, endsAt: iso(3600 * S) });
    await at(30 * S);
    expect(p.notifications()[0]).toMatchObject({ ok: false, attempts: 1 });
    expect(p.notifications()[0]!.error).toContain('bad request');
    await at(5 * M + 30 * S);
    expect(sent()).toEqual(['330s firing A']);
    expect(p.notifications()[1]).toMatchObject({ ok: true });
  });
});

describe('routing', () => {
  const ROUTES = `
route:
  receiver: default
  group_by: ['...']
  group_wait: 10s
  routes:
    - matchers: ['team="db"']
      receiver: db
      continue: true
    - match_re: { severity: 'critical|page' }
      receiver: pager
    - matchers: ['team=~"db|web"']
      receiver: teams
receivers:
  - name: default
  - name: db
  - name: pager
  - name: teams
`;

  it('matches depth first, stops at the first match unless continue, falls back to the parent', async () => {
    const { post, at, sent, p } = await setup(ROUTES);
    await post(
      { labels: { alertname: 'A', team: 'db', severity: 'page' }, endsAt: iso(3600 * S) },
      { labels: { alertname: 'B', team: 'web' }, endsAt: iso(3600 * S) },
      { labels: { alertname: 'C' }, endsAt: iso(3600 * S) },
    );
    await at(10 * S);
    expect(sent('db')).toEqual(['10s firing A']);
    expect(sent('pager')).toEqual(['10s firing A']);
    expect(sent('teams')).toEqual(['10s firing B']);
    expect(sent('default')).toEqual(['10s firing C']);
    expect(p.receiversFor({ alertname: 'A', team: 'db', severity: 'page' })).toEqual(['db', 'pager']);
    // group_by '...' puts every distinct label set in its own group.
    expect(
      p
        .groups()
        .map((g) => g.key)
        .sort(),
    ).toEqual([
      '{}/{severity=~"critical|page"}:{alertname="A", severity="page", team="db"}',
      '{}/{team="db"}:{alertname="A", severity="page", team="db"}',
      '{}/{team=~"db|web"}:{alertname="B", team="web"}',
      '{}:{alertname="C"}',
    ]);
  });
});

describe('inhibition', () => {
  const INHIBIT = `
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
receivers:
  - name: default
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
`;

  it('mutes targets while a source with equal labels fires, and releases them when it resolves', async () => {
    const { post, at, sent, p } = await setup(INHIBIT);
    await post(
      { labels: { alertname: 'Down', severity: 'critical', cluster: 'a' }, endsAt: iso(90 * S) },
      { labels: { alertname: 'Slow', severity: 'warning', cluster: 'a' }, endsAt: iso(3600 * S) },
      { labels: { alertname: 'Lag', severity: 'warning', cluster: 'b' }, endsAt: iso(3600 * S) },
    );
    await at(10 * S);
    expect(sent().sort()).toEqual(['10s firing Down', '10s firing Lag']);
    const st = p.status({ alertname: 'Slow', severity: 'warning', cluster: 'a' });
    expect(st.state).toBe('suppressed');
    expect(st.inhibitedBy).toHaveLength(1);
    // The source resolves at 90s; the target is sent at the next tick of its group.
    await at(70 * S);
    expect(sent()).toHaveLength(2);
    await at(130 * S);
    expect(sent().sort()).toEqual([
      '10s firing Down',
      '10s firing Lag',
      '130s firing Slow',
      '130s resolved Down(r)',
    ]);
  });

  it('does not let an alert matching both sides inhibit itself', async () => {
    const { p, post } = await setup(`
route: { receiver: default }
receivers: [{ name: default }]
inhibit_rules:
  - source_matchers: [alertname=~".+"]
    target_matchers: [alertname=~".+"]
    equal: [job]
`);
    await post({ labels: { alertname: 'A', job: 'x' }, endsAt: iso(3600 * S) });
    expect(p.status({ alertname: 'A', job: 'x' }).inhibitedBy).toEqual([]);
  });
});

describe('silences', () => {
  it('mutes matching alerts while active; expiring lets the next tick notify', async () => {
    const { post, at, sent, p, clock } = await setup(BASIC);
    const id = await p.silences.set(
      {
        matchers: [
          { name: 'alertname', value: 'A|B', isRegex: true, isEqual: true },
          { name: 'env', value: 'dev', isRegex: false, isEqual: false },
        ],
        startsAt: T0,
        endsAt: T0 + 3600 * S,
        createdBy: 'ops',
        comment: 'maintenance',
      },
      clock.now(),
    );
    await post(
      { labels: { alertname: 'A', env: 'prod' }, endsAt: iso(3600 * S) },
      { labels: { alertname: 'B', env: 'dev' }, endsAt: iso(3600 * S) },
    );
    await at(30 * S);
    expect(sent()).toEqual(['30s firing B']);
    expect(p.status({ alertname: 'A', env: 'prod' })).toEqual({
      state: 'suppressed',
      silencedBy: [id],
      inhibitedBy: [],
    });
    await at(60 * S);
    await p.silences.expire(id, clock.now());
    await at(5 * M + 30 * S);
    expect(sent()).toEqual(['30s firing B', '330s firing A']);
  });

  it('a pending silence starts muting at its start time', async () => {
    const { post, at, sent, p, clock } = await setup(BASIC);
    await p.silences.set(
      {
        matchers: [{ name: 'alertname', value: 'A', isRegex: false, isEqual: true }],
        startsAt: T0 + 10 * S,
        endsAt: T0 + 3600 * S,
        createdBy: 'ops',
        comment: 'later',
      },
      clock.now(),
    );
    expect(p.silences.list()[0] && p.status({ alertname: 'A' }).state).toBe('active');
    await post({ labels: { alertname: 'A' }, endsAt: iso(3600 * S) });
    await at(30 * S);
    expect(sent()).toEqual([]);
  });
});

describe('time intervals', () => {
  const TI = `
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1h
  repeat_interval: 1h
  routes:
    - matchers: [team=office]
      receiver: office
      active_time_intervals: [office-hours]
    - matchers: [team=night]
      receiver: night
      mute_time_intervals: [office-hours]
time_intervals:
  - name: office-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{ start_time: '09:00', end_time: '17:00' }]
        location: Europe/Berlin
receivers:
  - name: default
  - name: office
  - name: night
`;

  it('sends only inside active intervals and nothing inside mute intervals', async () => {
    // 10:00 UTC on a Monday is 11:00 in Berlin: office hours.
    const { post, at, sent } = await setup(TI);
    await post(
      { labels: { alertname: 'A', team: 'office' }, endsAt: iso(24 * 3600 * S) },
      { labels: { alertname: 'B', team: 'night' }, endsAt: iso(24 * 3600 * S) },
    );
    await at(10 * S);
    expect(sent('office')).toEqual(['10s firing A']);
    expect(sent('night')).toEqual([]);
    // The group ticks hourly; 16:00:10 UTC (17:00:10 in Berlin, UTC+1 in March) is outside office hours,
    // so the night receiver gets its alert at that tick.
    await at(5 * 3600 * S + 10 * S);
    expect(sent('night')).toEqual([]);
    await at(6 * 3600 * S + 10 * S);
    expect(sent('night')).toEqual(['21610s firing B']);
    // The office receiver got its repeats (every second hourly tick: more than 1h must pass) until 17:00.
    expect(sent('office')).toEqual(['10s firing A', '7210s firing A', '14410s firing A']);
  });
});

describe('reload', () => {
  it('re-routes current alerts under the new tree without re-sending what was already notified', async () => {
    const both = (routes: string) => `
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 1h
${routes}
receivers:
  - name: default
  - name: db
`;
    const { post, at, sent, p } = await setup(both(''));
    await post({ labels: { alertname: 'A', team: 'db' }, endsAt: iso(3600 * S) });
    await at(10 * S);
    expect(sent('default')).toEqual(['10s firing A']);
    await p.reload(
      loadAlertmanagerConfigText(both('  routes:\n    - matchers: [team=db]\n      receiver: db'), 'am.yml'),
    );
    expect(p.receiversFor({ alertname: 'A', team: 'db' })).toEqual(['db']);
    await at(20 * S);
    expect(sent('db')).toEqual(['20s firing A']);
    // Back to the first tree: same group key and receiver as before, already notified, so nothing is sent.
    await p.reload(loadAlertmanagerConfigText(both(''), 'am.yml'));
    await at(40 * S);
    expect(sent('default')).toEqual(['10s firing A']);
  });
});

describe('failures inside the pipeline', () => {
  it('a failing notification-log write is logged and does not end the group', async () => {
    const clock = new ManualClock(T0);
    const config = loadAlertmanagerConfigText(BASIC, 'am.yml');
    const mem = new MemoryIntegration(() => clock.now());
    let failWrites = 1;
    const nflog = await NotificationLog.open({
      load: async () => [],
      save: async () => {
        if (failWrites-- > 0) throw new Error('state store unavailable');
      },
      remove: async () => {},
    });
    const logs: string[] = [];
    const d = new Dispatcher({
      clock,
      config,
      integrations: new Map([['default', [mem]]]),
      nflog,
      silencedBy: () => [],
      inhibitedBy: () => [],
      externalURL: () => 'http://vigil',
      log: (m) => logs.push(m),
      onNotification: () => {},
    });
    const store = new AlertStore();
    d.process(
      store.put(
        normalizeAlert({ labels: { alertname: 'A' }, endsAt: iso(3600 * S) }, T0, 300_000) as Alert,
        T0,
      ),
    );
    await clock.settle(1);
    await clock.advanceTo(T0 + 30 * S);
    expect(logs.join('\n')).toContain('flush failed: state store unavailable');
    expect(d.list()).toHaveLength(1);
    // The group lives on: a new alert of the group goes out at the next tick.
    d.process(
      store.put(
        normalizeAlert(
          { labels: { alertname: 'A', i: '2' }, endsAt: iso(3600 * S) },
          T0 + M,
          300_000,
        ) as Alert,
        T0 + M,
      ),
    );
    await clock.advanceTo(T0 + 5 * M + 30 * S);
    expect(mem.sent.map((s) => `${(s.at - T0) / S}s ${s.msg.alerts.length}`)).toEqual(['30s 1', '330s 2']);
    await d.stop();
  });
});
