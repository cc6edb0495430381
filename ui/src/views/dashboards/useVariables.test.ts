import { describe, expect, it } from 'vitest';
import { planVariables, type OptionsKey } from './useVariables.ts';
import type { Variable } from './model.ts';

const job: Variable = { name: 'job', query: 'label_values(up, job)', multi: true, includeAll: true };
const instance: Variable = {
  name: 'instance',
  query: 'label_values(up{job=~"$job"}, instance)',
  multi: false,
  includeAll: false,
};

function plan(vars: Variable[], url: string, lists: Record<string, string[] | 'error'>) {
  const seen: OptionsKey[] = [];
  const cached = (key: OptionsKey) => {
    seen.push(key);
    const l = lists[`${key[1]}|${key[2]}`];
    return { data: l === 'error' ? undefined : l, failed: l === 'error' };
  };
  return { ...planVariables(vars, new URLSearchParams(url), 0, 3600, cached, new Map()), seen };
}

describe('planVariables', () => {
  it('waits for the first list, then picks All or the first value', () => {
    const before = plan([job, instance], '', {});
    expect([...before.pending]).toEqual(['job', 'instance']);
    expect(before.rows[1]!.enabled).toBe(false); // the chained one waits for $job

    const after = plan([job, instance], '', {
      'job|up': ['api', 'web'],
      'instance|up{job=~".*"}': ['a:1', 'b:1'],
    });
    expect([...after.pending]).toEqual([]);
    expect(after.values.get('job')).toEqual({ values: [], all: true, regex: true });
    expect(after.values.get('instance')).toEqual({ values: ['a:1'], all: false, regex: false });
    expect(after.rows[1]!.key).toEqual(['label-values', 'instance', 'up{job=~".*"}', 0, 3600]);
  });

  it('takes values from the URL first, then from the saved selection', () => {
    const r = plan([{ ...job, current: ['saved'] }, instance], 'var-job=api&var-job=we.b', {});
    expect(r.values.get('job')).toEqual({ values: ['api', 'we.b'], all: false, regex: true });
    expect(r.rows[1]!.selector).toBe('up{job=~"(api|we\\\\.b)"}');
    const saved = plan([{ ...job, current: ['saved'] }], '', {});
    expect(saved.values.get('job')?.values).toEqual(['saved']);
  });

  it('resolves a variable whose values cannot be listed to nothing, so panels still run', () => {
    const r = plan([{ ...instance, query: 'label_values(up, instance)' }], '', { 'instance|up': 'error' });
    expect(r.values.get('instance')).toEqual({ values: [], all: false, regex: false });
    const bad = plan([{ ...instance, query: 'values(x)' }], '', {});
    expect(bad.rows[0]!.parseError).toMatch(/label_values/);
    expect(bad.pending.size).toBe(0);
  });
});
