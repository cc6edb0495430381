import { describe, expect, it } from 'vitest';
import { loadConfigText, overridesFromEnv } from './config.ts';
import { ConfigError } from './yaml-errors.ts';

function problems(text: string): string[] {
  try {
    loadConfigText(text, 'vigil.yml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('fills defaults for an empty file', () => {
    const c = loadConfigText('', 'vigil.yml');
    expect(c.server.port).toBe(9400);
    expect(c.otlp.http_port).toBe(4318);
    expect(c.storage.engine).toBe('chdb');
    expect(c.storage.retention).toBe(15 * 86_400_000);
    expect(c.query.lookback_delta).toBe(300_000);
    expect(c.data_dir.endsWith('/data')).toBe(true);
  });

  it('parses durations and sizes', () => {
    const c = loadConfigText(
      'storage:\n  retention: 0\nserver:\n  max_body_size: 8MiB\nquery:\n  timeout: 1m30s\n',
      'vigil.yml',
    );
    expect(c.storage.retention).toBe(0);
    expect(c.server.max_body_size).toBe(8 * 1024 * 1024);
    expect(c.query.timeout).toBe(90_000);
  });

  it('reports every problem with file, line, column and path', () => {
    const out = problems(
      [
        'server:',
        '  port: 99999',
        'storage:',
        '  retention: 15x',
        '  enigne: chdb',
        'state:',
        '  driver: postgres',
      ].join('\n'),
    );
    expect(out).toHaveLength(3);
    expect(out.find((l) => l.includes('server.port'))).toMatch(/^vigil\.yml:2:9: server\.port: /);
    expect(out.find((l) => l.includes('storage.retention'))).toMatch(
      /^vigil\.yml:4:14: storage\.retention: not a valid duration/,
    );
    expect(out.find((l) => l.includes('enigne'))).toMatch(/^vigil\.yml:5:3: storage: unknown key "enigne"/);
    // Cross-field checks run once each section is valid on its own.
    expect(problems('state:\n  driver: postgres\n')[0]).toMatch(
      /vigil\.yml:2:3: state\.url: driver "postgres" needs state\.url/,
    );
  });

  it('reads rollups and the pushdown switch', () => {
    const d = loadConfigText('', 'vigil.yml');
    expect(d.query.pushdown).toBe(true);
    expect(d.storage.rollups).toEqual([
      { resolution: 300_000, retention: 90 * 86_400_000 },
      { resolution: 3_600_000, retention: 730 * 86_400_000 },
    ]);
    const c = loadConfigText(
      'query:\n  pushdown: false\nstorage:\n  rollups:\n    - {resolution: 10m, retention: 30d}\n',
      'vigil.yml',
    );
    expect(c.query.pushdown).toBe(false);
    expect(c.storage.rollups).toEqual([{ resolution: 600_000, retention: 30 * 86_400_000 }]);
    expect(loadConfigText('storage:\n  rollups: []\n', 'vigil.yml').storage.rollups).toEqual([]);
    const out = problems(
      'storage:\n  rollups:\n    - {resolution: 30s, retention: 1d}\n    - {resolution: 1h, retention: 1y}\n    - {resolution: 1h, retention: 2y}\n',
    );
    expect(out.find((l) => l.includes('rollups[0].resolution'))).toMatch(/^vigil\.yml:3:20: .*at least 1m/);
    expect(out.find((l) => l.includes('rollups[2].resolution'))).toMatch(/^vigil\.yml:5:20: .*listed twice/);
  });

  it('reports YAML syntax errors with their position', () => {
    const out = problems('server:\n  port: [1, 2\n');
    expect(out[0]).toMatch(/^vigil\.yml:\d+:\d+: YAML syntax error/);
    expect(problems('a: 1\na: 2\n')[0]).toMatch(/^vigil\.yml:2:1: YAML syntax error/);
  });

  it('lets environment variables and flags override the file', () => {
    const env = overridesFromEnv({ VIGIL_PORT: '9500', VIGIL_DATA_DIR: '/tmp/x', VIGIL_RETENTION: '30d' });
    const c = loadConfigText('server:\n  port: 1234\n', 'vigil.yml', { ...env, port: 9600 });
    expect(c.server.port).toBe(9600);
    expect(c.data_dir).toBe('/tmp/x');
    expect(c.storage.retention).toBe(30 * 86_400_000);
  });

  it('validates overrides with the same messages', () => {
    expect(() => loadConfigText('', 'vigil.yml', { port: -1 })).toThrow(/server\.port/);
  });
});
