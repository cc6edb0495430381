import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../config/config.ts';
import { ConfigError } from '../../config/yaml-errors.ts';
import { DEFAULT_STORM_OPTIONS } from '../storm/stage.ts';
import { stormConfigSchema, stormOptionsOf } from './storm.ts';

function problems(yaml: string): string[] {
  try {
    loadConfigText(yaml, 'vigil.yml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

describe('alerting.storm', () => {
  it('is on by default with the stage defaults', () => {
    const c = loadConfigText('', 'vigil.yml');
    expect(stormOptionsOf(c.alerting.storm)).toEqual(DEFAULT_STORM_OPTIONS);
  });

  it.each([
    ['enabled: false', undefined],
    [
      'threshold: 20\nwindow: 2m\ncalm_period: 10m\nrate_limit: {per_minute: 6}\nflapping: {max_fires: 0, window: 1h, stable_for: 30s}',
      {
        threshold: 20,
        windowMs: 120_000,
        calmMs: 600_000,
        ratePerMinute: 6,
        burst: 6,
        flapMaxFires: 0,
        flapWindowMs: 3_600_000,
        flapStableMs: 30_000,
        gatherMs: 60_000,
      },
    ],
    ['rate_limit: {per_minute: 0}', { ...DEFAULT_STORM_OPTIONS, ratePerMinute: 0, burst: 1 }],
    ['rate_limit: {per_minute: 30, burst: 5}', { ...DEFAULT_STORM_OPTIONS, ratePerMinute: 30, burst: 5 }],
  ])('%s', (yaml, want) => {
    const indented = yaml
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    const c = loadConfigText(`alerting:\n  storm:\n${indented}\n`, 'vigil.yml');
    expect(stormOptionsOf(c.alerting.storm)).toEqual(want);
  });

  it.each([
    ['threshold: 0', /alerting\.storm\.threshold/],
    ['window: 0', /alerting\.storm\.window.*must be above 0/],
    ['calm_period: soon', /alerting\.storm\.calm_period/],
    ['rate_limit: {per_minute: -1}', /alerting\.storm\.rate_limit\.per_minute/],
    ['flapping: {max_fire: 3}', /max_fire/],
    ['treshold: 10', /treshold/],
  ])('rejects %s with what and where', (yaml, want) => {
    const p = problems(`alerting:\n  storm:\n    ${yaml}\n`);
    expect(p.join('\n')).toMatch(want);
    expect(p.join('\n')).toMatch(/vigil\.yml:3/);
  });

  it('parses on its own', () => {
    expect(stormConfigSchema.parse(undefined).enabled).toBe(true);
  });
});
