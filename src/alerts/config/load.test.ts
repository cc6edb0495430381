import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/yaml-errors.ts';
import { matchRoutes } from '../dispatch.ts';
import {
  DEFAULT_ALERTMANAGER_CONFIG_YAML,
  loadAlertmanagerConfigFile,
  loadAlertmanagerConfigText,
  routeReceivers,
} from './load.ts';

const FULL = join(import.meta.dirname, 'testdata', 'full.yml');

function problems(yaml: string): string[] {
  try {
    loadAlertmanagerConfigText(yaml, 'am.yml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loading Alertmanager configuration', () => {
  it('loads a configuration using every section', () => {
    const c = loadAlertmanagerConfigFile(FULL);
    expect(c.global.resolve_timeout).toBe(120_000);
    expect(c.global.smtp_hello).toBe('localhost');
    expect(c.route.groupWait).toBe(30_000);
    expect(c.route.repeatInterval).toBe(3 * 3_600_000);
    expect(c.route.routes).toHaveLength(4);
    const db = c.route.routes[2]!;
    expect(db.key).toBe('{}/{service="database"}');
    expect(db.groupBy).toEqual(['alertname', 'cluster', 'database']);
    // Children inherit the parent's settings unless they set their own.
    expect(db.routes[0]!.groupBy).toEqual(['alertname', 'cluster', 'database']);
    expect(db.routes[0]!.groupInterval).toBe(300_000);
    expect(db.routes[0]!.continue).toBe(true);
    expect(db.routes[1]!.muteTimeIntervals).toEqual(['offhours']);
    expect(c.route.routes[3]!.groupByAll).toBe(true);
    expect(c.route.routes[3]!.repeatInterval).toBe(60_000);
    expect(c.inhibitRules).toHaveLength(2);
    expect(c.inhibitRules[1]!.targetMatchers.map((m) => `${m.name}${m.type}${m.value}`)).toEqual([
      'severity=~warning|info',
    ]);
    expect([...c.timeIntervals.keys()]).toEqual(['weekdays', 'offhours', 'holidays']);
    expect(c.timeIntervals.get('offhours')![0]!.times).toEqual([
      { start: 0, end: 480 },
      { start: 1080, end: 1440 },
    ]);
    expect(c.templates[0]).toBe(join(import.meta.dirname, 'testdata', 'templates/*.tmpl'));
    expect(routeReceivers(c.route)).toEqual([
      'team-X-mails',
      'team-X-pager',
      'team-Y-mails',
      'team-Y-pager',
      'team-DB-pager',
      'team-Z-chat',
      'hook',
    ]);
    expect(c.original).toBe(readFileSync(FULL, 'utf8'));
  });

  // Alertmanager 0.25 (Debian's) predates msteams_configs; everything else must satisfy the real thing.
  it.skipIf(spawnSync('amtool', ['--version']).status !== 0)('is accepted by amtool check-config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-amcfg-'));
    try {
      const text = readFileSync(FULL, 'utf8').replace(/ {4}msteams_configs:\n.*\n/, '');
      writeFileSync(join(dir, 'am.yml'), text);
      const r = spawnSync('amtool', ['check-config', join(dir, 'am.yml')], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('routes like Alertmanager (nested, continue)', () => {
    const c = loadAlertmanagerConfigFile(FULL);
    const recv = (labels: Record<string, string>) => matchRoutes(c.route, labels).map((r) => r.receiver);
    expect(recv({ service: 'foo1', severity: 'critical' })).toEqual(['team-X-pager']);
    expect(recv({ service: 'foo1' })).toEqual(['team-X-mails']);
    // A matching child replaces its parent; `continue` only lets later siblings match as well.
    expect(recv({ service: 'database', owner: 'team-X' })).toEqual(['team-X-pager']);
    expect(recv({ service: 'database' })).toEqual(['team-DB-pager']);
    expect(recv({ service: 'database', owner: 'team-Z' })).toEqual(['team-Z-chat']);
    expect(recv({ service: 'other' })).toEqual(['team-X-mails']);
  });

  it('accepts several matchers in one entry, as Alertmanager does', () => {
    const c = loadAlertmanagerConfigText(
      'route:\n  receiver: a\n  routes:\n    - matchers: [\'team="db", severity=~"page|critical"\']\nreceivers: [{name: a}]\n',
      'am.yml',
    );
    expect(c.route.routes[0]!.key).toBe('{}/{severity=~"page|critical",team="db"}');
  });

  it('loads the built-in default', () => {
    const c = loadAlertmanagerConfigText(DEFAULT_ALERTMANAGER_CONFIG_YAML, 'default');
    expect(c.receivers.map((r) => r.name)).toEqual(['default']);
    expect(c.route.groupBy).toEqual(['alertname']);
  });

  it.each([
    [
      'unknown top-level key',
      'route: {receiver: a}\nreceivers: [{name: a}]\nroutes: []\n',
      'am.yml:3:1: unknown key "routes"',
    ],
    [
      'unknown route key',
      'route:\n  receiver: a\n  group_wiat: 1m\nreceivers: [{name: a}]\n',
      'am.yml:3:3: route: unknown key "group_wiat"',
    ],
    [
      'unknown receiver field',
      'route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: http://x\n        sendresolved: true\n',
      'am.yml:6:9: receivers[0].webhook_configs[0]: unknown key "sendresolved"',
    ],
    [
      'undefined receiver',
      'route:\n  receiver: a\n  routes:\n    - receiver: b\nreceivers: [{name: a}]\n',
      'am.yml:4:17: route.routes[0].receiver: undefined receiver "b" used in route',
    ],
    [
      'missing root receiver',
      'route:\n  group_by: [a]\nreceivers: [{name: a}]\n',
      'am.yml:2:3: route: root route must specify a default receiver',
    ],
    [
      'root matchers',
      'route:\n  receiver: a\n  matchers: [x="1"]\nreceivers: [{name: a}]\n',
      'root route must not have any matchers',
    ],
    ['no route', 'receivers: [{name: a}]\n', 'no routes provided'],
    [
      'duplicate receiver',
      'route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n',
      'notification config name "a" is not unique',
    ],
    [
      'bad duration',
      'route:\n  receiver: a\n  group_wait: 5 minutes\nreceivers: [{name: a}]\n',
      'am.yml:3:15: route.group_wait: not a valid duration string',
    ],
    [
      'bad matcher',
      'route:\n  receiver: a\n  routes:\n    - matchers: ["foo"]\nreceivers: [{name: a}]\n',
      'am.yml:4:18: route.routes[0].matchers[0]: bad matcher format: foo',
    ],
    [
      'bad regex',
      'route:\n  receiver: a\n  routes:\n    - match_re: {a: "("}\nreceivers: [{name: a}]\n',
      'invalid regular expression',
    ],
    [
      'group_by wildcard mixed',
      'route:\n  receiver: a\n  group_by: ["...", job]\nreceivers: [{name: a}]\n',
      'cannot have wildcard group_by',
    ],
    [
      'webhook without url',
      'route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs: [{send_resolved: true}]\n',
      'one of url or url_file must be configured',
    ],
    [
      'email without smarthost',
      'route: {receiver: a}\nreceivers:\n  - name: a\n    email_configs: [{to: x@example.org}]\n',
      'no global SMTP smarthost set',
    ],
    [
      'slack without url',
      'route: {receiver: a}\nreceivers:\n  - name: a\n    slack_configs: [{channel: "#a"}]\n',
      'no global Slack API URL set',
    ],
    [
      'pagerduty without key',
      'route: {receiver: a}\nreceivers:\n  - name: a\n    pagerduty_configs: [{severity: x}]\n',
      'missing service or routing key in PagerDuty config',
    ],
    [
      'undefined time interval',
      'route:\n  receiver: a\n  routes:\n    - receiver: a\n      mute_time_intervals: [nights]\nreceivers: [{name: a}]\n',
      'undefined time interval "nights" used in route',
    ],
    [
      'bad weekday',
      'route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals:\n  - name: t\n    time_intervals:\n      - weekdays: [funday]\n',
      'am.yml:6:19: time_intervals[0].time_intervals[0].weekdays: weekdays: funday is not a valid weekday',
    ],
    [
      'bad time range',
      'route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals:\n  - name: t\n    time_intervals:\n      - times: [{start_time: "18:00", end_time: "08:00"}]\n',
      'start time cannot be equal or greater than end time',
    ],
    [
      'bad location',
      'route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals:\n  - name: t\n    time_intervals:\n      - location: Mars/Olympus\n',
      'unknown time zone "Mars/Olympus"',
    ],
    [
      'inhibit rule bad matcher',
      'route: {receiver: a}\nreceivers: [{name: a}]\ninhibit_rules:\n  - source_matchers: ["a=~("]\n',
      'am.yml:4:23: inhibit_rules[0].source_matchers[0]',
    ],
    ['YAML syntax', 'route: {receiver: a\n', 'YAML syntax error'],
  ])('rejects %s with file, line and reason', (_name, yaml, expected) => {
    const msgs = problems(yaml);
    expect(msgs.join('\n')).toContain(expected);
    for (const m of msgs) expect(m).toMatch(/^am\.yml/);
  });
});
