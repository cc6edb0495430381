import { describe, expect, it } from 'vitest';
import {
  routePolicies,
  validatePolicy,
  validateTeam,
  validateUser,
  type EscalationPolicy,
  type KnownIds,
} from './model.ts';

const known: KnownIds = {
  users: new Set(['ana', 'bob']),
  schedules: new Set(['primary']),
  teams: new Set(['payments']),
  receivers: new Set(['ops']),
};

describe('validateUser', () => {
  it.each([
    [
      { id: 'ana', contacts: [{ email: 'ana@example.com' }] },
      { id: 'ana', name: 'ana', contacts: [{ type: 'email', address: 'ana@example.com' }] },
    ],
    [
      {
        id: 'bob',
        name: 'Bob',
        contacts: [{ type: 'webhook', address: 'http://h/b' }, { slack: 'https://hooks.slack.com/x' }],
      },
      {
        id: 'bob',
        name: 'Bob',
        contacts: [
          { type: 'webhook', url: 'http://h/b' },
          { type: 'slack', url: 'https://hooks.slack.com/x' },
        ],
      },
    ],
  ])('accepts %j', (input, want) => {
    expect(validateUser(input)).toEqual({ ok: true, value: want });
  });

  it.each([
    [{ id: 'a b', contacts: [{ email: 'a@x' }] }, 'id', /must be 1 to 64/],
    [{ id: 'ana', contacts: [] }, 'contacts', /non-empty list/],
    [{ id: 'ana', contacts: [{ email: 'not-an-address' }] }, 'contacts[0].email', /e-mail address/],
    [{ id: 'ana', contacts: [{ webhook: 'ftp://x' }] }, 'contacts[0].webhook', /scheme must be http/],
    [{ id: 'ana', contacts: [{ sms: '+49' }] }, 'contacts[0]', /unknown contact method "sms"/],
    [{ id: 'ana', contacts: [{ email: 'a@x' }], phone: 1 }, 'phone', /unknown field/],
  ])('refuses %j at %s', (input, path, message) => {
    const r = validateUser(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});

describe('validateTeam', () => {
  it('names an unknown member', () => {
    expect(validateTeam({ id: 't', members: ['ana', 'zed'] }, known.users)).toEqual({
      ok: false,
      problems: [{ path: 'members[1]', message: 'unknown user "zed"' }],
    });
  });
});

describe('validatePolicy', () => {
  it('normalizes every delay and target form', () => {
    const r = validatePolicy(
      {
        id: 'p',
        match: ['service="checkout"'],
        severities: ['Critical'],
        ack_timeout: '30m',
        repeat: 2,
        steps: [
          { delay: '5m', targets: [{ user: 'ana' }, { schedule: 'primary' }] },
          { delayMinutes: 10, targets: [{ type: 'team', id: 'payments' }, { receiver: 'ops' }] },
          { delayMs: 1000, targets: [{ user: 'bob' }] },
        ],
      },
      known,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        id: 'p',
        name: 'p',
        match: ['service="checkout"'],
        severities: ['critical'],
        priority: 100,
        repeat: 2,
        ackTimeoutMs: 1_800_000,
        steps: [
          {
            delayMs: 300_000,
            targets: [
              { type: 'user', id: 'ana' },
              { type: 'schedule', id: 'primary' },
            ],
          },
          {
            delayMs: 600_000,
            targets: [
              { type: 'team', id: 'payments' },
              { type: 'receiver', id: 'ops' },
            ],
          },
          { delayMs: 1000, targets: [{ type: 'user', id: 'bob' }] },
        ],
      },
    });
  });

  it.each([
    [{ id: 'p', steps: [] }, 'steps', /non-empty list/],
    [{ id: 'p', steps: [{ targets: [{ user: 'ana' }] }] }, 'steps[0].delay', /is required/],
    [{ id: 'p', steps: [{ delay: '0s', targets: [{ user: 'ana' }] }] }, 'steps[0].delay', /above zero/],
    [{ id: 'p', steps: [{ delay: '5x', targets: [{ user: 'ana' }] }] }, 'steps[0].delay', /5m/],
    [
      { id: 'p', steps: [{ delay: '5m', targets: [{ user: 'zed' }] }] },
      'steps[0].targets[0].user',
      /unknown user "zed"/,
    ],
    [
      { id: 'p', steps: [{ delay: '5m', targets: [{ schedule: 'night' }] }] },
      'steps[0].targets[0].schedule',
      /unknown schedule "night"/,
    ],
    [
      { id: 'p', steps: [{ delay: '5m', targets: [{ receiver: 'pager' }] }] },
      'steps[0].targets[0].receiver',
      /unknown receiver "pager"/,
    ],
    [
      { id: 'p', steps: [{ delay: '5m', targets: [{ pigeon: 'x' }] }] },
      'steps[0].targets[0]',
      /unknown target type/,
    ],
    [
      { id: 'p', match: ['service=~"("'], steps: [{ delay: '5m', targets: [{ user: 'ana' }] }] },
      'match[0]',
      /invalid matcher/,
    ],
    [{ id: 'p', repeat: -1, steps: [{ delay: '5m', targets: [{ user: 'ana' }] }] }, 'repeat', /whole number/],
  ])('refuses %j at %s', (input, path, message) => {
    const r = validatePolicy(input, known);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});

describe('routePolicies', () => {
  const pol = (id: string, match: string[], severities: string[], priority = 100): EscalationPolicy => ({
    id,
    name: id,
    match,
    severities,
    priority,
    repeat: 0,
    ackTimeoutMs: 0,
    steps: [{ delayMs: 1, targets: [] }],
  });
  const policies = [
    pol('catch-all', [], []),
    pol('checkout', ['service="checkout"'], ['critical', 'error'], 10),
    pol('db', ['service=~"db|cache"'], []),
  ];
  it.each([
    [{ service: 'checkout' }, 'critical', ['checkout', 'catch-all']],
    [{ service: 'checkout' }, 'warning', ['catch-all']],
    [{ service: 'cache' }, 'info', ['catch-all', 'db']],
  ])('routes %j (%s) to %j', (labels, severity, want) => {
    expect(routePolicies(policies, labels, severity).map((p) => p.id)).toEqual(want);
  });
});
