import { describe, expect, it } from 'vitest';
import { SEVERITY_CLASSES, SeverityNormalizer, severityMapSchema, severityOrder } from './severity.ts';

describe('SeverityNormalizer', () => {
  const n = new SeverityNormalizer();

  it.each([
    ['critical', 'critical'],
    ['CRIT', 'critical'],
    ['page', 'critical'],
    ['P1', 'critical'],
    ['sev1', 'critical'],
    ['P2', 'error'],
    ['err', 'error'],
    ['Error', 'error'],
    ['sev3', 'warning'],
    ['warn', 'warning'],
    [' Warning ', 'warning'],
    ['P4', 'info'],
    ['informational', 'info'],
  ])('classifies %j as %s', (sent, cls) => {
    expect(n.classify(sent)).toBe(cls);
  });

  it('keeps the sent value in severity_original only when it changed', () => {
    expect(n.apply({ alertname: 'A', severity: 'page' })).toEqual({
      alertname: 'A',
      severity: 'critical',
      severity_original: 'page',
    });
    const same = { alertname: 'A', severity: 'warning' };
    expect(n.apply(same)).toBe(same);
  });

  it('leaves unknown spellings and alerts without severity unchanged', () => {
    const unknown = { alertname: 'A', severity: 'purple' };
    expect(n.apply(unknown)).toBe(unknown);
    const none = { alertname: 'A' };
    expect(n.apply(none)).toBe(none);
  });

  it('takes extra spellings from the configuration, overriding the built-in ones', () => {
    const custom = new SeverityNormalizer(severityMapSchema.parse({ Purple: 'error', low: 'warning' }));
    expect(custom.apply({ severity: 'purple' })).toEqual({ severity: 'error', severity_original: 'purple' });
    expect(custom.classify('LOW')).toBe('warning');
    expect(custom.classify('page')).toBe('critical');
  });

  it('refuses a map onto something other than the four classes', () => {
    const r = severityMapSchema.safeParse({ p1: 'urgent' });
    expect(r.success).toBe(false);
  });
});

describe('severityOrder', () => {
  it('ranks the classes least urgent first, anything else below them', () => {
    expect(SEVERITY_CLASSES.map(severityOrder)).toEqual([0, 1, 2, 3]);
    expect(severityOrder('page')).toBe(-1);
    expect(severityOrder(undefined)).toBe(-1);
  });
});
