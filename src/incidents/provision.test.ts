import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/yaml-errors.ts';
import { parseOncallText } from './provision.ts';

const GOOD = `users:
  - id: ana
    contacts: [{email: ana@example.com}]
  - id: bob
    name: Bob
    contacts: [{webhook: 'http://hooks/bob'}, {email: bob@example.com}]
teams:
  - id: payments
    members: [ana, bob]
schedules:
  - id: primary
    time_zone: Europe/Berlin
    layers:
      - {name: day, users: [ana, bob], rotation: daily, start: '2026-03-01T09:00'}
escalation_policies:
  - id: default
    steps:
      - {delay: 5m, targets: [{schedule: primary}]}
      - {delay: 10m, targets: [{team: payments}, {receiver: ops}]}
`;

function problems(text: string): string[] {
  try {
    parseOncallText(text, 'oncall.yml', ['ops']);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('on-call file', () => {
  it('reads users, teams, schedules and policies', () => {
    const f = parseOncallText(GOOD, 'oncall.yml', ['ops']);
    expect(f.users.map((u) => [u.id, u.contacts.map((c) => c.type)])).toEqual([
      ['ana', ['email']],
      ['bob', ['webhook', 'email']],
    ]);
    expect(f.teams).toEqual([{ id: 'payments', name: 'payments', members: ['ana', 'bob'] }]);
    expect(f.schedules[0]).toMatchObject({
      id: 'primary',
      name: 'primary',
      spec: { timeZone: 'Europe/Berlin' },
    });
    expect(f.policies[0]!.steps.map((s) => s.delayMs)).toEqual([300_000, 600_000]);
  });

  it.each([
    [
      'a policy naming an unknown user',
      GOOD.replace('{team: payments}', '{user: zed}'),
      'oncall.yml:19:',
      'escalation_policies[0].steps[1].targets[0].user: unknown user "zed"',
    ],
    [
      'a policy naming an unknown schedule',
      GOOD.replace('{schedule: primary}', '{schedule: night}'),
      'oncall.yml:18:',
      'escalation_policies[0].steps[0].targets[0].schedule: unknown schedule "night"',
    ],
    [
      'a policy naming an unknown receiver',
      GOOD.replace('{receiver: ops}', '{receiver: pager}'),
      'oncall.yml:19:',
      'unknown receiver "pager"',
    ],
    [
      'a team with an unknown member',
      GOOD.replace('members: [ana, bob]', 'members: [ana, zed]'),
      'oncall.yml:9:',
      'teams[0].members[1]: unknown user "zed"',
    ],
    [
      'a schedule with an unknown user',
      GOOD.replace('users: [ana, bob]', 'users: [ana, zed]'),
      'oncall.yml:14:',
      'schedules[0].layers[0].users[1]: unknown user "zed"',
    ],
    [
      'a schedule with a bad time zone',
      GOOD.replace('Europe/Berlin', 'Mars/Olympus'),
      'oncall.yml:12:',
      'schedules[0].time_zone: unknown time zone',
    ],
    ['an unknown section', GOOD + 'rotas: []\n', 'oncall.yml:20:', 'rotas: unknown section'],
    [
      'a duplicate user',
      GOOD.replace('  - id: bob', '  - id: ana'),
      'oncall.yml:4:',
      'users[1].id: duplicate id "ana"',
    ],
    ['a YAML syntax error', 'users: [\n', 'oncall.yml:', 'YAML syntax error'],
  ])('names the file, line and what is wrong for %s', (_name, text, where, what) => {
    const lines = problems(text);
    expect(
      lines.some((l) => l.startsWith(where) && l.includes(what)),
      lines.join('\n'),
    ).toBe(true);
  });
});
