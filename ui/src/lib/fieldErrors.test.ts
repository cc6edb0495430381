import { describe, expect, it } from 'vitest';
import { fieldKey, problemsByField, unplacedProblems } from './fieldErrors.ts';

describe('fieldKey', () => {
  it.each([
    ['steps[1].delayMinutes', 'steps.1.delayMinutes'],
    ['/steps/1/delayMinutes', 'steps.1.delayMinutes'],
    ['steps.1.delayMinutes', 'steps.1.delayMinutes'],
    ['name', 'name'],
    ['', ''],
    ['steps[0].targets[2]', 'steps.0.targets.2'],
  ])('%s -> %s', (path, key) => expect(fieldKey(path)).toBe(key));
});

describe('problemsByField', () => {
  it('keeps the first message per field and lists the ones no field shows', () => {
    const m = problemsByField([
      { path: 'name', message: 'must not be empty' },
      { path: '/name', message: 'second' },
      { path: 'steps[0].targets[0]', message: 'unknown user "zed"' },
      { path: '', message: 'document problem' },
    ]);
    expect(m.get('name')).toBe('must not be empty');
    expect(m.get('steps.0.targets.0')).toBe('unknown user "zed"');
    expect(unplacedProblems(m, ['name'])).toEqual([
      'steps.0.targets.0: unknown user "zed"',
      'document problem',
    ]);
  });
});
