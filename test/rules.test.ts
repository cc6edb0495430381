/**
 * Recording rules in a running Vigil: rule files from the configuration are evaluated on schedule, their
 * results are queryable, /api/v1/rules and /metrics report them, and an invalid rule file stops the start.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/config.ts';
import { ConfigError } from '../src/config/yaml-errors.ts';
import { startVigil } from '../src/app.ts';
import { getJSON, queryURL, startTestVigil, tempDir, waitFor, type TestVigil } from './helpers.ts';

const dir = tempDir('rules');
const rulesFile = join(dir, 'rules.yml');
writeFileSync(
  rulesFile,
  [
    'groups:',
    '  - name: every-second',
    '    interval: 1s',
    '    rules:',
    '      - record: vigil:test:answer',
    '        expr: vector(42)',
    '        labels: {source: rules}',
    '      - record: vigil:test:broken',
    '        expr: \'"not a vector"\'',
  ].join('\n'),
);

let vigil: TestVigil;
beforeAll(async () => {
  vigil = await startTestVigil(
    `global:\n  evaluation_interval: 5s\nrule_files:\n  - ${join(dir, '*.yml')}\n`,
  );
});
afterAll(async () => {
  await vigil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('recording rules in a running Vigil', () => {
  it('evaluates on schedule and the results are queryable', async () => {
    const sample = await waitFor('vigil:test:answer', async () => {
      const { body } = await getJSON(queryURL(vigil.url, '/api/v1/query', { query: 'vigil:test:answer' }));
      return body.data?.result?.[0];
    });
    expect(sample.metric).toEqual({ __name__: 'vigil:test:answer', source: 'rules' });
    expect(sample.value[1]).toBe('42');
  });

  it('reports rule health in /api/v1/rules and group metrics in /metrics', async () => {
    const { body } = await getJSON(`${vigil.url}/api/v1/rules`);
    const [group] = body.data.groups;
    expect(group).toMatchObject({ name: 'every-second', file: rulesFile, interval: 1 });
    expect(group.rules.map((r: { health: string }) => r.health)).toEqual(['ok', 'err']);
    expect(group.rules[1].lastError).toBe('rule result is not a vector or scalar');
    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toContain(`vigil_rule_group_interval_seconds{rule_group="${rulesFile};every-second"} 1`);
    expect(metrics).toMatch(/vigil_rule_evaluation_failures_total\{rule_group="[^"]+"\} [1-9]/);
  });

  it('refuses to start with an invalid rule file, naming file, line and rule', async () => {
    const bad = join(dir, 'bad.rules');
    writeFileSync(bad, 'groups:\n  - name: g\n    rules:\n      - record: bad-name\n        expr: up\n');
    const cfg = loadConfigText(`rule_files: [${bad}]\n`, 'test.yml', { dataDir: join(dir, 'data'), port: 0 });
    const err = await startVigil(cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `${bad}:4:17: group "g", rule 1 ("bad-name"): invalid recording rule name: "bad-name" (must match [a-zA-Z_:][a-zA-Z0-9_:]*)`,
    );
  });
});
