/** The demo's fault catalogue and provisioning template: parameters, defaults, errors, per-service effects. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaultError, SERVICES, parseFault, serviceFaults } from '../demo/lib/faults.ts';
import { TemplateError, renderTemplate } from '../demo/lib/template.ts';
import { parseOncallText } from '../src/incidents/provision.ts';
import { PROVISIONING_DIR } from '../demo/launcher.ts';
import { loadConfigText } from '../src/config/config.ts';
import { loadRuleFiles } from '../src/rules/load.ts';
import { validateDashboard } from '../src/dashboards/model.ts';

describe('parseFault', () => {
  it.each([
    ['latency', { stage: 'enrichment' }, { stage: 'enrichment', ms: 500 }, 'enrichment'],
    ['latency', { stage: 'router', ms: '250' }, { stage: 'router', ms: 250 }, 'router'],
    ['error-rate', { channel: 'sms', rate: 0.2 }, { channel: 'sms', rate: 0.2 }, 'sms'],
    ['channel-down', { channel: 'push' }, { channel: 'push' }, 'push'],
    ['loss', {}, { from: 'validation', to: 'enrichment', rate: 0.3 }, 'validation'],
    [
      'loss',
      { from: 'ingest', to: 'validation', rate: '1' },
      { from: 'ingest', to: 'validation', rate: 1 },
      'ingest',
    ],
    ['slow-dependency', {}, { ms: 800, service: 'gateway' }, 'gateway'],
    ['cpu', { service: 'router' }, { service: 'router', share: 0.9 }, 'router'],
    ['memory-leak', { service: 'gateway', mb: 2 }, { service: 'gateway', mb: 2 }, 'gateway'],
    ['queue-backlog', { queue: 'channel.email' }, { queue: 'channel.email' }, 'channel.email'],
  ])('%s %j', (name, raw, params, target) => {
    const f = parseFault(name, raw, 1000);
    expect(f).toEqual({ name, params, target, since: 1000 });
  });

  it.each([
    ['meteor', {}, /unknown fault "meteor"; valid faults:\n {2}latency: .*\n[\s\S]*queue-backlog/],
    ['latency', {}, /needs parameter "stage".*stage=ingest\|validation\|enrichment\|router \(required\)/],
    [
      'latency',
      { stage: 'enrichment', seconds: 1 },
      /has no parameter "seconds"; valid parameters: stage=.*ms=1..60000/,
    ],
    [
      'latency',
      { stage: 'billing' },
      /stage must be one of ingest, validation, enrichment, router, got "billing"/,
    ],
    ['latency', { stage: 'router', ms: 'fast' }, /ms must be a number from 1 to 60000, got "fast"/],
    ['error-rate', { channel: 'sms', rate: 1.5 }, /rate must be a number from 0 to 1, got 1.5/],
    ['error-rate', { channel: 'sms', rate: true }, /rate must be a number/],
    ['loss', { from: 'ingest', to: 'router' }, /"to" must be the stage right after "from"/],
    ['loss', { from: 'router' }, /from must be one of ingest, validation, enrichment/],
    ['cpu', { service: 'postgres' }, /service must be one of broker, ingest/],
  ])('%s %j is refused', (name, raw, message) => {
    expect(() => parseFault(name, raw)).toThrow(FaultError);
    expect(() => parseFault(name, raw)).toThrow(message);
  });
});

describe('serviceFaults', () => {
  it('sends each fault to the service that shows it', () => {
    const on = [
      parseFault('latency', { stage: 'enrichment', ms: 300 }),
      parseFault('channel-down', { channel: 'sms' }),
      parseFault('error-rate', { channel: 'push', rate: 0.1 }),
      parseFault('loss', {}),
      parseFault('slow-dependency', { ms: 100 }),
      parseFault('cpu', { service: 'router', share: 0.5 }),
      parseFault('memory-leak', { service: 'gateway', mb: 1 }),
      parseFault('queue-backlog', { queue: 'enrich' }),
      parseFault('queue-backlog', { queue: 'channel.sms' }),
    ];
    expect(Object.fromEntries(serviceFaults(on))).toEqual({
      enrichment: { delayMs: 300 },
      'worker-sms': { down: true },
      'worker-push': { errorRate: 0.1 },
      validation: { lossRate: 0.3 },
      gateway: { delayMs: 100, leakMbPerS: 1 },
      router: { cpuShare: 0.5 },
      broker: { pausedQueues: ['enrich', 'channel.sms'] },
    });
    expect(serviceFaults([]).size).toBe(0);
  });
});

describe('renderTemplate', () => {
  it('fills placeholders and names an unknown one with its line', () => {
    expect(renderTemplate('a: ${x}\nb: ${target.y-z}', { x: 1, 'target.y-z': 'h:2' }, 'f.yml')).toBe(
      'a: 1\nb: h:2',
    );
    expect(() => renderTemplate('a: 1\nb: ${nope}', { x: 1 }, 'f.yml')).toThrow(TemplateError);
    expect(() => renderTemplate('a: 1\nb: ${nope}', { x: 1 }, 'f.yml')).toThrow(
      'f.yml:2: unknown placeholder ${nope}; known: x',
    );
  });
});

describe('provisioning', () => {
  const vars: Record<string, string> = {
    dir: PROVISIONING_DIR,
    pager: 'http://127.0.0.1:2',
    oncall: '/demo/oncall-demo.yml',
  };
  for (const s of SERVICES) vars[`target.${s}`] = '127.0.0.1:1';
  const file = join(PROVISIONING_DIR, 'vigil.yml');
  const cfg = loadConfigText(renderTemplate(readFileSync(file, 'utf8'), vars, file), file, {});

  it('is a valid Vigil configuration with scrape jobs, checks, components and the flow', () => {
    expect(cfg.scrape_configs.map((j) => j.jobName).sort()).toEqual([...SERVICES].sort());
    expect(cfg.health_checks).toHaveLength(SERVICES.length - 1);
    expect(cfg.flows[0]!.stages.map((s) => s.name)).toEqual(['ingest', 'validation', 'enrichment', 'router']);
    expect(cfg.flows[0]!.channels.map((s) => s.name)).toEqual(['email', 'sms', 'push', 'webhook']);
  });

  it('has rule files without problems', () => {
    const rules = loadRuleFiles(cfg.rule_files);
    expect(rules.problems).toEqual([]);
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.name));
    expect(names).toEqual(expect.arrayContaining(['ChannelDown', 'StageLatencyHigh', 'QueueBacklog']));
  });

  it('has an on-call file whose people, schedule and policy load', () => {
    expect(cfg.incidents.oncall_file).toBe('/demo/oncall-demo.yml');
    const oncall = join(PROVISIONING_DIR, 'oncall.yml');
    const parsed = parseOncallText(renderTemplate(readFileSync(oncall, 'utf8'), vars, oncall), oncall, []);
    expect(parsed.users.map((u) => u.id)).toEqual(['ana', 'bo']);
    expect(parsed.policies.map((p) => p.id)).toEqual(['pipeline']);
  });

  it.each(['pipeline-overview', 'channel', 'service'])('dashboard %s is valid', (name) => {
    const doc = JSON.parse(readFileSync(join(PROVISIONING_DIR, 'dashboards', `${name}.json`), 'utf8'));
    const r = validateDashboard(doc);
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
});
