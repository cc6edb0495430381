import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseSchedule } from './schedule.ts';

const good = () => ({
  name: 'Platform',
  timeZone: 'Europe/Berlin',
  layers: [
    { name: 'primary', users: ['alice', 'bob'], rotation: 'weekly', start: '2026-03-02T09:00' } as Record<
      string,
      unknown
    >,
    {
      name: 'business',
      users: ['carol'],
      rotation: 'custom',
      turnHours: 12,
      start: '2026-03-02T09:00',
      end: '2026-12-31T00:00',
      restrictions: [{ days: ['mon', 'fri'], from: '09:00', to: '17:00' }],
    } as Record<string, unknown>,
  ],
  overrides: [{ user: 'dave', start: '2026-03-05T12:00', end: '2026-03-05T18:00' }] as Record<
    string,
    unknown
  >[],
});

describe('parseSchedule accepts valid input', () => {
  it('JSON object', () => {
    const r = parseSchedule(good());
    expect(r).toEqual({ ok: true, schedule: good() });
  });
  it('YAML text decoded by the yaml package (the format in docs/oncall.md)', () => {
    const r = parseSchedule(
      parseYaml(`
name: Platform
timeZone: America/New_York
layers:
  - name: primary
    users: [alice, bob, carol]
    rotation: daily
    start: "2026-03-02T09:00"
  - name: nights
    users: [dave]
    rotation: custom
    turnHours: 12
    start: "2026-03-02T21:00"
    restrictions:
      - { days: [mon, tue, wed, thu, fri], from: "18:00", to: "24:00" }
overrides:
  - { user: erin, start: "2026-03-10T09:00", end: "2026-03-10T13:00" }
`),
    );
    expect(r.ok).toBe(true);
  });
});

describe('parseSchedule reports every error with its field path', () => {
  // [case, mutate a good schedule, expected error (prefix match)]
  const cases: [string, (s: ReturnType<typeof good>) => unknown, string][] = [
    ['not an object', () => 'x', '(root): must be an object'],
    [
      'unknown time zone',
      (s) => ({ ...s, timeZone: 'Europe/Atlantis' }),
      'timeZone: unknown time zone "Europe/Atlantis"',
    ],
    ['missing time zone', (s) => ({ ...s, timeZone: undefined }), 'timeZone: is required'],
    ['no layers', (s) => ({ ...s, layers: [] }), 'layers: must be a non-empty list'],
    ['empty users', (s) => ((s.layers[1]!.users = []), s), 'layers[1].users: must be a non-empty list'],
    [
      'blank user',
      (s) => ((s.layers[0]!.users = ['a', ' ']), s),
      'layers[0].users[1]: must be a non-empty string',
    ],
    [
      'bad rotation',
      (s) => ((s.layers[0]!.rotation = 'monthly'), s),
      "layers[0].rotation: must be 'daily', 'weekly' or 'custom'",
    ],
    [
      'bad time format',
      (s) => ((s.layers[1]!.start = '2026-03-02 09:00'), s),
      "layers[1].start: must be a wall-clock time 'YYYY-MM-DDTHH:MM'",
    ],
    [
      'impossible date',
      (s) => ((s.layers[0]!.start = '2026-02-30T09:00'), s),
      'layers[0].start: must be a wall-clock time',
    ],
    [
      'hour 24 in a start',
      (s) => ((s.layers[0]!.start = '2026-02-03T24:00'), s),
      'layers[0].start: must be a wall-clock time',
    ],
    [
      'turnHours missing for custom',
      (s) => (delete s.layers[1]!.turnHours, s),
      "layers[1].turnHours: is required for rotation 'custom'",
    ],
    [
      'turnHours not whole',
      (s) => ((s.layers[1]!.turnHours = 1.5), s),
      'layers[1].turnHours: must be a whole number >= 1',
    ],
    [
      'turnHours zero',
      (s) => ((s.layers[1]!.turnHours = 0), s),
      'layers[1].turnHours: must be a whole number >= 1',
    ],
    [
      'turnHours on daily',
      (s) => ((s.layers[0]!.turnHours = 8), s),
      "layers[0].turnHours: only applies to rotation 'custom'",
    ],
    [
      'layer end before start',
      (s) => ((s.layers[1]!.end = '2026-03-01T00:00'), s),
      'layers[1].end: must be after start',
    ],
    [
      'duplicate layer name',
      (s) => ((s.layers[1]!.name = 'primary'), s),
      'layers[1].name: duplicates layers[0].name',
    ],
    [
      'override end before start',
      (s) => ((s.overrides[0]!.end = '2026-03-05T11:00'), s),
      'overrides[0].end: must be after start (2026-03-05T12:00)',
    ],
    [
      'override end equals start',
      (s) => ((s.overrides[0]!.end = '2026-03-05T12:00'), s),
      'overrides[0].end: must be after start',
    ],
    ['override without user', (s) => (delete s.overrides[0]!.user, s), 'overrides[0].user: is required'],
    [
      'restriction from >= to',
      (s) => (((s.layers[1]!.restrictions as any)[0].from = '17:00'), s),
      'layers[1].restrictions[0]: from (17:00) must be before to (17:00)',
    ],
    [
      'restriction bad day',
      (s) => (((s.layers[1]!.restrictions as any)[0].days = ['mon', 'funday']), s),
      'layers[1].restrictions[0].days[1]: must be one of',
    ],
    [
      'restriction bad time',
      (s) => (((s.layers[1]!.restrictions as any)[0].to = '25:00'), s),
      "layers[1].restrictions[0].to: must be 'HH:MM'",
    ],
    ['misspelt field', (s) => ((s.layers[0]!.turnhours = 8), s), 'layers[0].turnhours: unknown field'],
  ];
  it.each(cases)('%s', (_name, mutate, want) => {
    const r = parseSchedule(mutate(good()));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(
      r.errors.some((e) => e.startsWith(want)),
      `errors: ${JSON.stringify(r.errors)}`,
    ).toBe(true);
  });

  it('collects several errors at once', () => {
    const r = parseSchedule({
      name: 'x',
      timeZone: 'Nowhere/X',
      layers: [{ name: 'l', users: [], rotation: 'custom', start: 'soon' }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors.map((e) => e.split(':')[0])).toEqual([
        'timeZone',
        'layers[0].users',
        'layers[0].turnHours',
        'layers[0].start',
      ]);
  });
});
