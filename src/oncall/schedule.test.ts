import { describe, expect, it } from 'vitest';
import { coverage, onCallAt, ScheduleError, shifts, type LayerSpec, type ScheduleSpec } from './schedule.ts';

const at = (isoUtc: string) => Date.parse(isoUtc.replace(/Z$/, ':00Z'));
const hm = (ms: number) => new Date(ms).toISOString().slice(0, 16) + 'Z';
/** Shifts as compact strings: 'start end user source'. */
const show = (s: ScheduleSpec, from: string, to: string) =>
  shifts(s, at(from), at(to)).map(
    (x) => `${hm(x.start)} ${hm(x.end)} ${x.user} ${x.override ? 'override' : x.layer}`,
  );

const sched = (
  timeZone: string,
  layers: LayerSpec[],
  overrides: ScheduleSpec['overrides'] = [],
): ScheduleSpec => ({
  name: 'test',
  timeZone,
  layers,
  overrides,
});
const rot = (rotation: LayerSpec['rotation'], start: string, extra: Partial<LayerSpec> = {}): LayerSpec => ({
  name: 'primary',
  users: ['a', 'b', 'c'],
  rotation,
  start,
  ...extra,
});

describe('rotations across daylight-saving changes', () => {
  // [case, schedule, from, to, expected shifts]
  const cases: [string, ScheduleSpec, string, string, string[]][] = [
    [
      'Berlin daily 09:00, March: the turn over the change is 23 h',
      sched('Europe/Berlin', [rot('daily', '2026-03-27T09:00')]),
      '2026-03-27T08:00Z',
      '2026-03-31T07:00Z',
      [
        '2026-03-27T08:00Z 2026-03-28T08:00Z a primary',
        '2026-03-28T08:00Z 2026-03-29T07:00Z b primary',
        '2026-03-29T07:00Z 2026-03-30T07:00Z c primary',
        '2026-03-30T07:00Z 2026-03-31T07:00Z a primary',
      ],
    ],
    [
      'Berlin daily 09:00, October: the turn over the change is 25 h',
      sched('Europe/Berlin', [rot('daily', '2026-10-23T09:00')]),
      '2026-10-23T07:00Z',
      '2026-10-27T08:00Z',
      [
        '2026-10-23T07:00Z 2026-10-24T07:00Z a primary',
        '2026-10-24T07:00Z 2026-10-25T08:00Z b primary',
        '2026-10-25T08:00Z 2026-10-26T08:00Z c primary',
        '2026-10-26T08:00Z 2026-10-27T08:00Z a primary',
      ],
    ],
    [
      'New York daily 09:00, March',
      sched('America/New_York', [rot('daily', '2026-03-06T09:00')]),
      '2026-03-06T14:00Z',
      '2026-03-09T13:00Z',
      [
        '2026-03-06T14:00Z 2026-03-07T14:00Z a primary',
        '2026-03-07T14:00Z 2026-03-08T13:00Z b primary',
        '2026-03-08T13:00Z 2026-03-09T13:00Z c primary',
      ],
    ],
    [
      'New York daily 09:00, November',
      sched('America/New_York', [rot('daily', '2026-10-30T09:00')]),
      '2026-10-30T13:00Z',
      '2026-11-02T14:00Z',
      [
        '2026-10-30T13:00Z 2026-10-31T13:00Z a primary',
        '2026-10-31T13:00Z 2026-11-01T14:00Z b primary',
        '2026-11-01T14:00Z 2026-11-02T14:00Z c primary',
      ],
    ],
    [
      'Kolkata daily 09:00 (no DST): always 03:30 UTC',
      sched('Asia/Kolkata', [rot('daily', '2026-03-27T09:00')]),
      '2026-03-28T00:00Z',
      '2026-03-30T00:00Z',
      [
        '2026-03-28T00:00Z 2026-03-28T03:30Z a primary',
        '2026-03-28T03:30Z 2026-03-29T03:30Z b primary',
        '2026-03-29T03:30Z 2026-03-30T00:00Z c primary',
      ],
    ],
    [
      'UTC daily 09:00',
      sched('UTC', [rot('daily', '2026-03-28T09:00')]),
      '2026-03-28T09:00Z',
      '2026-03-30T09:00Z',
      ['2026-03-28T09:00Z 2026-03-29T09:00Z a primary', '2026-03-29T09:00Z 2026-03-30T09:00Z b primary'],
    ],
    [
      'Berlin custom 12 h counts real hours: second hand-off is 21:00 CEST, not 20:00',
      sched('Europe/Berlin', [rot('custom', '2026-03-28T20:00', { turnHours: 12 })]),
      '2026-03-28T19:00Z',
      '2026-03-30T07:00Z',
      [
        '2026-03-28T19:00Z 2026-03-29T07:00Z a primary',
        '2026-03-29T07:00Z 2026-03-29T19:00Z b primary',
        '2026-03-29T19:00Z 2026-03-30T07:00Z c primary',
      ],
    ],
    [
      'Berlin daily 02:30: hand-off on the spring-forward day moves to 03:00 CEST',
      sched('Europe/Berlin', [rot('daily', '2026-03-27T02:30')]),
      '2026-03-27T01:30Z',
      '2026-03-30T00:30Z',
      [
        '2026-03-27T01:30Z 2026-03-28T01:30Z a primary',
        '2026-03-28T01:30Z 2026-03-29T01:00Z b primary',
        '2026-03-29T01:00Z 2026-03-30T00:30Z c primary',
      ],
    ],
    [
      'Berlin daily 02:30: ambiguous hand-off in October takes the first occurrence',
      sched('Europe/Berlin', [rot('daily', '2026-10-24T02:30')]),
      '2026-10-24T00:30Z',
      '2026-10-26T01:30Z',
      ['2026-10-24T00:30Z 2026-10-25T00:30Z a primary', '2026-10-25T00:30Z 2026-10-26T01:30Z b primary'],
    ],
    [
      'New York daily 02:30: spring gap moves the hand-off to 03:00 EDT',
      sched('America/New_York', [rot('daily', '2026-03-07T02:30')]),
      '2026-03-07T07:30Z',
      '2026-03-09T06:30Z',
      ['2026-03-07T07:30Z 2026-03-08T07:00Z a primary', '2026-03-08T07:00Z 2026-03-09T06:30Z b primary'],
    ],
    [
      'Berlin weekly Monday 10:00 over the March change: 167 h turn',
      sched('Europe/Berlin', [rot('weekly', '2026-03-23T10:00')]),
      '2026-03-23T09:00Z',
      '2026-04-13T08:00Z',
      [
        '2026-03-23T09:00Z 2026-03-30T08:00Z a primary',
        '2026-03-30T08:00Z 2026-04-06T08:00Z b primary',
        '2026-04-06T08:00Z 2026-04-13T08:00Z c primary',
      ],
    ],
    [
      'restriction window 01:00-04:00 on the spring-forward day is 2 h long',
      sched('Europe/Berlin', [
        rot('daily', '2026-03-27T00:00', {
          users: ['a'],
          restrictions: [{ days: ['sun'], from: '01:00', to: '04:00' }],
        }),
      ]),
      '2026-03-27T00:00Z',
      '2026-04-01T00:00Z',
      ['2026-03-29T00:00Z 2026-03-29T02:00Z a primary'],
    ],
  ];
  it.each(cases)('%s', (_name, s, from, to, want) => {
    expect(show(s, from, to)).toEqual(want);
  });
});

// Two layers in UTC: weekly primary (a, b) from Monday 2026-03-02 09:00 and a business-hours layer (x, y)
// rotating daily, Monday-Friday 09:00-17:00.
const primary = rot('weekly', '2026-03-02T09:00', { users: ['a', 'b'] });
const business: LayerSpec = {
  name: 'business',
  users: ['x', 'y'],
  rotation: 'daily',
  start: '2026-03-02T09:00',
  restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
};

describe('layers, restrictions, overrides, end and future start', () => {
  const cases: [string, ScheduleSpec, string, string, string[]][] = [
    [
      'higher layer wins inside its windows, lower layer fills the rest',
      sched('UTC', [primary, business]),
      '2026-03-06T00:00Z',
      '2026-03-09T12:00Z',
      [
        '2026-03-06T00:00Z 2026-03-06T09:00Z a primary',
        '2026-03-06T09:00Z 2026-03-06T17:00Z x business',
        '2026-03-06T17:00Z 2026-03-09T09:00Z a primary',
        '2026-03-09T09:00Z 2026-03-09T12:00Z y business',
      ],
    ],
    [
      'override covering part of a shift splits it',
      sched('UTC', [primary, business], [{ user: 'z', start: '2026-03-06T15:00', end: '2026-03-06T20:00' }]),
      '2026-03-06T08:00Z',
      '2026-03-07T00:00Z',
      [
        '2026-03-06T08:00Z 2026-03-06T09:00Z a primary',
        '2026-03-06T09:00Z 2026-03-06T15:00Z x business',
        '2026-03-06T15:00Z 2026-03-06T20:00Z z override',
        '2026-03-06T20:00Z 2026-03-07T00:00Z a primary',
      ],
    ],
    [
      'overlapping overrides: the later one wins',
      sched(
        'UTC',
        [primary],
        [
          { user: 'o1', start: '2026-03-03T10:00', end: '2026-03-03T14:00' },
          { user: 'o2', start: '2026-03-03T12:00', end: '2026-03-03T13:00' },
        ],
      ),
      '2026-03-03T09:00Z',
      '2026-03-03T15:00Z',
      [
        '2026-03-03T09:00Z 2026-03-03T10:00Z a primary',
        '2026-03-03T10:00Z 2026-03-03T12:00Z o1 override',
        '2026-03-03T12:00Z 2026-03-03T13:00Z o2 override',
        '2026-03-03T13:00Z 2026-03-03T14:00Z o1 override',
        '2026-03-03T14:00Z 2026-03-03T15:00Z a primary',
      ],
    ],
    [
      'override in a gap, and an override by the user already on call merges nothing across sources',
      sched(
        'UTC',
        [rot('daily', '2026-03-02T09:00', { users: ['a'], end: '2026-03-03T09:00' })],
        [{ user: 'a', start: '2026-03-03T08:00', end: '2026-03-03T11:00' }],
      ),
      '2026-03-02T09:00Z',
      '2026-03-04T00:00Z',
      ['2026-03-02T09:00Z 2026-03-03T08:00Z a primary', '2026-03-03T08:00Z 2026-03-03T11:00Z a override'],
    ],
    [
      'layer end stops the layer mid-turn',
      sched('UTC', [rot('daily', '2026-03-02T09:00', { end: '2026-03-03T12:00' })]),
      '2026-03-02T00:00Z',
      '2026-03-05T00:00Z',
      ['2026-03-02T09:00Z 2026-03-03T09:00Z a primary', '2026-03-03T09:00Z 2026-03-03T12:00Z b primary'],
    ],
    [
      'layer starting in the future has nobody before its start',
      sched('UTC', [rot('weekly', '2026-04-01T09:00')]),
      '2026-03-01T00:00Z',
      '2026-04-01T09:00Z',
      [],
    ],
    [
      'lower layer covers until a future higher layer starts',
      sched('UTC', [primary, rot('daily', '2026-03-04T09:00', { name: 'new', users: ['n'] })]),
      '2026-03-03T00:00Z',
      '2026-03-06T00:00Z',
      ['2026-03-03T00:00Z 2026-03-04T09:00Z a primary', '2026-03-04T09:00Z 2026-03-06T00:00Z n new'],
    ],
    [
      'single-user layer: consecutive turns merge into one shift',
      sched('Europe/Berlin', [rot('daily', '2026-03-27T09:00', { users: ['solo'] })]),
      '2026-03-28T00:00Z',
      '2026-04-02T00:00Z',
      ['2026-03-28T00:00Z 2026-04-02T00:00Z solo primary'],
    ],
    [
      'query far after the start (year 2030) keeps the rotation order',
      sched('Europe/Berlin', [rot('daily', '2026-03-27T09:00')]),
      '2030-03-31T06:00Z',
      '2030-03-31T08:00Z',
      // 2026-03-27 -> 2030-03-31 is 1465 days: turn 1464 (1464 % 3 = 0, a) until 09:00 CEST, then turn 1465 (b).
      ['2030-03-31T06:00Z 2030-03-31T07:00Z a primary', '2030-03-31T07:00Z 2030-03-31T08:00Z b primary'],
    ],
    ['empty range', sched('UTC', [primary]), '2026-03-05T00:00Z', '2026-03-05T00:00Z', []],
  ];
  it.each(cases)('%s', (_name, s, from, to, want) => {
    expect(show(s, from, to)).toEqual(want);
  });
});

describe('onCallAt', () => {
  const berlin = sched('Europe/Berlin', [rot('daily', '2026-03-27T09:00')]);
  const layered = sched(
    'UTC',
    [primary, business],
    [{ user: 'z', start: '2026-03-06T15:00', end: '2026-03-06T20:00' }],
  );
  // [case, schedule, instant (UTC ms), expected]
  const cases: [string, ScheduleSpec, number, ReturnType<typeof onCallAt>][] = [
    [
      'just before the spring hand-off',
      berlin,
      at('2026-03-29T07:00Z') - 1,
      { users: ['b'], layer: 'primary' },
    ],
    [
      'exactly at the spring hand-off (09:00 CEST)',
      berlin,
      at('2026-03-29T07:00Z'),
      { users: ['c'], layer: 'primary' },
    ],
    ['exactly at the layer start', berlin, at('2026-03-27T08:00Z'), { users: ['a'], layer: 'primary' }],
    ['before the layer start', berlin, at('2026-03-27T08:00Z') - 1, { users: [] }],
    ['override start is inclusive', layered, at('2026-03-06T15:00Z'), { users: ['z'], override: true }],
    ['override end is exclusive', layered, at('2026-03-06T20:00Z'), { users: ['a'], layer: 'primary' }],
    [
      'restricted higher layer inside window',
      layered,
      at('2026-03-05T09:00Z'),
      { users: ['y'], layer: 'business' },
    ],
    ['restriction end is exclusive', layered, at('2026-03-05T17:00Z'), { users: ['a'], layer: 'primary' }],
    ['weekend: lower layer', layered, at('2026-03-07T12:00Z'), { users: ['a'], layer: 'primary' }],
    ['weekly hand-off instant', layered, at('2026-03-09T09:00Z'), { users: ['y'], layer: 'business' }],
  ];
  it.each(cases)('%s', (_name, s, t, want) => {
    expect(onCallAt(s, t)).toEqual(want);
  });

  it('agrees with shifts at every hour for a month', () => {
    const list = shifts(layered, at('2026-03-01T00:00Z'), at('2026-04-01T00:00Z'));
    for (let t = at('2026-03-01T00:00Z'); t < at('2026-04-01T00:00Z'); t += 3_600_000) {
      const sh = list.find((x) => x.start <= t && t < x.end);
      expect(onCallAt(layered, t).users).toEqual(sh ? [sh.user] : []);
    }
  });
});

describe('coverage', () => {
  const span = (a: string, b: string) => ({ start: at(a), end: at(b) });
  const cases: [string, ScheduleSpec, string, string, ReturnType<typeof coverage>][] = [
    [
      'business-hours only layer: nights and weekend are gaps',
      sched('UTC', [business]),
      '2026-03-06T00:00Z',
      '2026-03-10T00:00Z',
      {
        gaps: [
          span('2026-03-06T00:00Z', '2026-03-06T09:00Z'),
          span('2026-03-06T17:00Z', '2026-03-09T09:00Z'),
          span('2026-03-09T17:00Z', '2026-03-10T00:00Z'),
        ],
        overlaps: [],
      },
    ],
    [
      'two layers: overlaps reported where both have someone',
      sched('UTC', [primary, business]),
      '2026-03-06T00:00Z',
      '2026-03-10T00:00Z',
      {
        gaps: [],
        overlaps: [
          { ...span('2026-03-06T09:00Z', '2026-03-06T17:00Z'), layers: ['primary', 'business'] },
          { ...span('2026-03-09T09:00Z', '2026-03-09T17:00Z'), layers: ['primary', 'business'] },
        ],
      },
    ],
    [
      'override fills a gap; overlapping overrides are reported',
      sched(
        'UTC',
        [rot('daily', '2026-03-02T09:00', { end: '2026-03-03T09:00' })],
        [
          { user: 'o1', start: '2026-03-03T09:00', end: '2026-03-03T12:00' },
          { user: 'o2', start: '2026-03-03T11:00', end: '2026-03-03T13:00' },
        ],
      ),
      '2026-03-03T00:00Z',
      '2026-03-03T14:00Z',
      {
        gaps: [span('2026-03-03T13:00Z', '2026-03-03T14:00Z')],
        overlaps: [
          { ...span('2026-03-03T11:00Z', '2026-03-03T12:00Z'), layers: ['overrides[0]', 'overrides[1]'] },
        ],
      },
    ],
    [
      'future layer: whole range is a gap',
      sched('UTC', [rot('weekly', '2026-04-01T09:00')]),
      '2026-03-01T00:00Z',
      '2026-03-02T00:00Z',
      { gaps: [span('2026-03-01T00:00Z', '2026-03-02T00:00Z')], overlaps: [] },
    ],
  ];
  it.each(cases)('%s', (_name, s, from, to, want) => {
    expect(coverage(s, at(from), at(to))).toEqual(want);
  });
});

describe('shifts over long ranges', () => {
  it('a year of five layers tiles the range with no holes or overlaps', () => {
    const layers: LayerSpec[] = [
      rot('daily', '2026-01-01T09:00', { name: 'l0' }),
      rot('weekly', '2026-01-05T10:00', { name: 'l1', users: ['p', 'q'] }),
      rot('custom', '2026-01-01T08:00', { name: 'l2', turnHours: 12 }),
      { ...business, name: 'l3' },
      rot('daily', '2026-06-01T18:00', {
        name: 'l4',
        restrictions: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }],
      }),
    ];
    const s = sched('America/New_York', layers);
    const from = at('2026-01-01T00:00Z');
    const to = at('2027-01-01T00:00Z');
    const list = shifts(s, from, to);
    const gaps = coverage(s, from, to).gaps;
    // Shifts plus gaps cover the year exactly once, in order.
    const all = [...list, ...gaps].sort((x, y) => x.start - y.start);
    expect(all[0]!.start).toBe(from);
    expect(all[all.length - 1]!.end).toBe(to);
    for (let i = 1; i < all.length; i++) expect(all[i]!.start).toBe(all[i - 1]!.end);
    // The weekend layer (l4, highest) owns every weekend hour after it starts.
    expect(onCallAt(s, at('2026-07-04T12:00Z')).layer).toBe('l4');
  });
});

describe('specs that did not go through parseSchedule', () => {
  it('an unusable value throws ScheduleError naming the field', () => {
    const s = sched('UTC', [rot('daily', '2026-03-02 09:00')]);
    expect(() => shifts(s, 0, 1)).toThrow(ScheduleError);
    expect(() => shifts(s, 0, 1)).toThrow(/layers\[0\]\.start/);
    const custom = sched('UTC', [rot('custom', '2026-03-02T09:00')]);
    expect(() => onCallAt(custom, 0)).toThrow(/layers\[0\]\.turnHours/);
  });

  it('a non-finite range or instant throws instead of looping or answering nobody', () => {
    const s = sched('UTC', [primary]);
    expect(() => shifts(s, 0, Infinity)).toThrow(ScheduleError);
    expect(() => onCallAt(s, NaN)).toThrow(/finite/);
  });

  it('editing a spec object in place is seen by the next call', () => {
    const s = sched('UTC', [primary]);
    const t = at('2026-03-03T10:00Z');
    expect(onCallAt(s, t).users).toEqual(['a']);
    s.overrides!.push({ user: 'late', start: '2026-03-03T09:00', end: '2026-03-03T11:00' });
    expect(onCallAt(s, t)).toEqual({ users: ['late'], override: true });
  });
});
