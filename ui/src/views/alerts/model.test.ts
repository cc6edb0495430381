import { describe, expect, it } from 'vitest';
import type { AlertGroup, GettableAlert, RuleGroup } from '../../lib/alerts.ts';
import {
  alertFiltersFrom,
  alertSources,
  arrangeGroups,
  evaluatedAt,
  filterRules,
  formatAge,
  matchersForLabels,
  matchersText,
  ruleFiltersFrom,
  withAlertFilters,
} from './model.ts';

function alert(
  name: string,
  severity: string | undefined,
  startsAt: string,
  suppressed = false,
): GettableAlert {
  return {
    labels: { alertname: name, ...(severity ? { severity } : {}) },
    annotations: {},
    startsAt,
    endsAt: '2099-01-01T00:00:00Z',
    updatedAt: startsAt,
    fingerprint: `${name}-${severity}`,
    receivers: [{ name: 'default' }],
    status: {
      state: suppressed ? 'suppressed' : 'active',
      silencedBy: suppressed ? ['s1'] : [],
      inhibitedBy: [],
    },
  };
}

describe('alert filters in the URL', () => {
  it('round-trips and drops empty values, keeping other parameters', () => {
    const p = withAlertFilters(new URLSearchParams('x=1&state=active'), {
      filter: 'severity="critical"',
      state: '',
      receiver: 'ops',
    });
    expect(p.toString()).toBe('x=1&filter=severity%3D%22critical%22&receiver=ops');
    expect(alertFiltersFrom(p)).toEqual({ filter: 'severity="critical"', state: '', receiver: 'ops' });
    expect(alertFiltersFrom(new URLSearchParams('state=bogus')).state).toBe('');
  });
});

describe('arrangeGroups', () => {
  const groups: AlertGroup[] = [
    {
      labels: { alertname: 'A' },
      receiver: { name: 'default' },
      alerts: [alert('A', 'info', '2026-01-01T00:00:00Z'), alert('A', 'warning', '2026-01-01T00:00:00Z')],
    },
    {
      labels: { alertname: 'B' },
      receiver: { name: 'default' },
      alerts: [alert('B', 'critical', '2026-01-01T00:00:00Z', true)],
    },
  ];
  it('puts the most severe first, in groups and between them', () => {
    const out = arrangeGroups(groups, '');
    expect(out.map((g) => g.labels.alertname)).toEqual(['B', 'A']);
    expect(out[1]!.alerts.map((a) => a.labels.severity)).toEqual(['warning', 'info']);
  });
  it('filters by state and drops emptied groups', () => {
    expect(arrangeGroups(groups, 'active').map((g) => g.labels.alertname)).toEqual(['A']);
    expect(arrangeGroups(groups, 'suppressed').map((g) => g.labels.alertname)).toEqual(['B']);
  });
});

describe('helpers', () => {
  it('formats ages', () => {
    expect(formatAge(42_000)).toBe('42s');
    expect(formatAge(5 * 60_000)).toBe('5m');
    expect(formatAge(3 * 3_600_000 + 12 * 60_000)).toBe('3h 12m');
    expect(formatAge(2 * 86_400_000 + 4 * 3_600_000)).toBe('2d 4h');
    expect(formatAge(-5)).toBe('0s');
  });
  it('reads sources of merged alerts from JSON or a list', () => {
    const a = alert('A', undefined, '2026-01-01T00:00:00Z');
    expect(alertSources(a)).toEqual([]);
    a.annotations.vigil_sources = '["prometheus-a", {"instance":"b"}]';
    expect(alertSources(a)).toEqual(['prometheus-a', 'instance=b']);
    a.annotations.vigil_sources = 'x, y\nz';
    expect(alertSources(a)).toEqual(['x', 'y', 'z']);
  });
  it('builds matchers for exactly an alert labels', () => {
    expect(matchersText(matchersForLabels({ severity: 'critical', alertname: 'Disk"Full' }))).toBe(
      'alertname="Disk\\"Full" severity="critical"',
    );
  });
  it('treats Go zero time as never evaluated', () => {
    expect(evaluatedAt('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(evaluatedAt('2026-11-27T10:00:00.5Z')).toBe(Date.UTC(2026, 10, 27, 10, 0, 0, 500));
  });
});

describe('filterRules', () => {
  const common = { query: 'x', evaluationTime: 0, lastEvaluation: '0001-01-01T00:00:00Z' };
  const groups: RuleGroup[] = [
    {
      name: 'disk',
      file: 'a.yml',
      interval: 60,
      evaluationTime: 0,
      lastEvaluation: '0001-01-01T00:00:00Z',
      rules: [
        {
          ...common,
          type: 'alerting',
          name: 'DiskFull',
          health: 'ok',
          state: 'firing',
          duration: 0,
          annotations: {},
          alerts: [],
        },
        { ...common, type: 'recording', name: 'disk:used', health: 'err', lastError: 'boom' },
      ],
    },
  ];
  it('filters by name, health and type, dropping empty groups', () => {
    expect(
      filterRules(groups, ruleFiltersFrom(new URLSearchParams('health=err')))[0]!.rules.map((r) => r.name),
    ).toEqual(['disk:used']);
    expect(filterRules(groups, ruleFiltersFrom(new URLSearchParams('type=alerting')))[0]!.rules).toHaveLength(
      1,
    );
    expect(filterRules(groups, ruleFiltersFrom(new URLSearchParams('q=DISKF')))[0]!.rules).toHaveLength(1);
    expect(filterRules(groups, ruleFiltersFrom(new URLSearchParams('q=disk')))[0]!.rules).toHaveLength(2);
    expect(filterRules(groups, ruleFiltersFrom(new URLSearchParams('q=memory')))).toEqual([]);
  });
});
