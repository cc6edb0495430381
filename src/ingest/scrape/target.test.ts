import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GLOBAL, resolveScrapeConfig, scrapeConfigSchema } from './config.ts';
import { FileSDError, parseFileSD } from './file_sd.ts';
import { mergeTargetLabels } from './loop.ts';
import { compileRelabelConfigs } from './relabel.ts';
import { buildTargets, globalUrl, populateTarget, type ScrapeTarget } from './target.ts';

const cfgOf = (raw: Record<string, unknown>) =>
  resolveScrapeConfig(DEFAULT_GLOBAL, scrapeConfigSchema.parse({ job_name: 'node', ...raw }));

function target(raw: Record<string, unknown>, labels: Record<string, string>) {
  const cfg = cfgOf(raw);
  return populateTarget(cfg, compileRelabelConfigs(cfg.relabelConfigs), labels);
}

describe('populateTarget', () => {
  it('adds job defaults, keeps discovered labels, defaults instance to the address', () => {
    const t = target(
      { params: { module: ['icmp'] } },
      { __address__: 'h:9100', __meta_foo: 'm', env: 'prod' },
    ) as ScrapeTarget;
    expect(t.discoveredLabels).toEqual({
      __address__: 'h:9100',
      __meta_foo: 'm',
      env: 'prod',
      job: 'node',
      __scrape_interval__: '1m',
      __scrape_timeout__: '10s',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      __param_module: 'icmp',
    });
    expect(t.labels).toEqual({ env: 'prod', instance: 'h:9100', job: 'node' });
    expect(t.url).toBe('http://h:9100/metrics?module=icmp');
    expect(t).toMatchObject({ intervalMs: 60_000, timeoutMs: 10_000 });
  });

  it('discovered labels take precedence over job defaults (a group may set its own job)', () => {
    const t = target({}, { __address__: 'h:1', job: 'custom' }) as ScrapeTarget;
    expect(t.labels.job).toBe('custom');
  });

  it('relabeling can rewrite address, scheme, path, params, interval and instance', () => {
    const t = target(
      {
        scrape_interval: '30s',
        relabel_configs: [
          { source_labels: ['__address__'], target_label: '__param_target' },
          { target_label: '__address__', replacement: 'exporter:9115' },
          { target_label: '__scheme__', replacement: 'https' },
          { target_label: '__metrics_path__', replacement: '/probe' },
          { target_label: '__scrape_interval__', replacement: '15s' },
          { target_label: '__scrape_timeout__', replacement: '5s' },
          { source_labels: ['__param_target'], target_label: 'instance' },
        ],
      },
      { __address__: 'https://example.org' },
    ) as ScrapeTarget;
    expect(t.url).toBe('https://exporter:9115/probe?target=https%3A%2F%2Fexample.org');
    expect(t.labels).toEqual({ instance: 'https://example.org', job: 'node' });
    expect(t).toMatchObject({ intervalMs: 15_000, timeoutMs: 5_000 });
  });

  it.each([
    [
      'dropped by relabeling',
      { relabel_configs: [{ action: 'drop', source_labels: ['__address__'], regex: 'h:.*' }] },
      'h:1',
      'dropped by relabel_configs',
    ],
    [
      'no address',
      { relabel_configs: [{ action: 'labeldrop', regex: '__address__' }] },
      'h:1',
      'no __address__ label after relabeling',
    ],
    [
      'address with a path',
      {},
      'h:1/metrics',
      '__address__ "h:1/metrics" must be host:port, without a scheme or path',
    ],
    [
      'timeout above interval',
      { relabel_configs: [{ target_label: '__scrape_timeout__', replacement: '2m' }] },
      'h:1',
      'scrape timeout 2m is greater than the interval 1m',
    ],
    [
      'bad interval label',
      { relabel_configs: [{ target_label: '__scrape_interval__', replacement: 'often' }] },
      'h:1',
      expect.stringMatching(/^invalid __scrape_interval__ or __scrape_timeout__: not a valid duration/),
    ],
    [
      'bad scheme label',
      { relabel_configs: [{ target_label: '__scheme__', replacement: 'ftp' }] },
      'h:1',
      '__scheme__ "ftp" must be http or https',
    ],
  ])('drops a target: %s', (_name, raw, address, reason) => {
    expect(target(raw, { __address__: address })).toEqual({
      discoveredLabels: expect.objectContaining({ __address__: address }),
      reason,
    });
  });

  it('buildTargets collapses duplicates and keeps dropped ones with reasons', () => {
    const cfg = cfgOf({});
    const res = buildTargets(
      cfg,
      [],
      [
        { targets: ['a:1', 'a:1', 'b:1/x'], labels: {} },
        { targets: ['a:1'], labels: { env: 'x' } },
      ],
    );
    expect(res.active.map((t) => t.labels)).toEqual([
      { instance: 'a:1', job: 'node' },
      { env: 'x', instance: 'a:1', job: 'node' },
    ]);
    expect(res.dropped).toHaveLength(1);
  });

  it('globalUrl replaces loopback hosts with this machine name', () => {
    expect(globalUrl('http://localhost:9090/metrics')).toBe(`http://${hostname()}:9090/metrics`);
    expect(globalUrl('http://10.1.2.3:9090/metrics')).toBe('http://10.1.2.3:9090/metrics');
  });
});

describe('mergeTargetLabels', () => {
  const targetLabels = { job: 'j', instance: 'i:1' };
  it.each<[string, Record<string, string>, boolean, Record<string, string>]>([
    ['no conflict', { __name__: 'm', a: '1' }, false, { __name__: 'm', a: '1', job: 'j', instance: 'i:1' }],
    [
      'conflict moves to exported_',
      { __name__: 'm', job: 'x' },
      false,
      { __name__: 'm', job: 'j', exported_job: 'x', instance: 'i:1' },
    ],
    [
      'empty scraped value is no conflict',
      { __name__: 'm', job: '' },
      false,
      { __name__: 'm', job: 'j', instance: 'i:1' },
    ],
    [
      'honor keeps scraped values',
      { __name__: 'm', job: 'x' },
      true,
      { __name__: 'm', job: 'x', instance: 'i:1' },
    ],
    [
      'honor keeps a scraped empty value (the label ends up absent)',
      { __name__: 'm', job: '' },
      true,
      { __name__: 'm', job: '', instance: 'i:1' },
    ],
  ])('%s', (_name, scraped, honor, want) => {
    expect(mergeTargetLabels(scraped, targetLabels, honor)).toEqual(want);
  });
});

describe('parseFileSD', () => {
  it('reads JSON and YAML target groups and adds __meta_filepath', () => {
    const json = JSON.stringify([
      { targets: ['a:1', 'b:2'], labels: { env: 'prod', shard: 3 } },
      { targets: ['c:3'] },
    ]);
    expect(parseFileSD(json, '/sd/t.json')).toEqual([
      {
        targets: ['a:1', 'b:2'],
        labels: { env: 'prod', shard: '3', __meta_filepath: '/sd/t.json' },
        source: '/sd/t.json',
      },
      { targets: ['c:3'], labels: { __meta_filepath: '/sd/t.json' }, source: '/sd/t.json' },
    ]);
    expect(parseFileSD('- targets: [x:1]\n', '/sd/t.yml')).toEqual([
      { targets: ['x:1'], labels: { __meta_filepath: '/sd/t.yml' }, source: '/sd/t.yml' },
    ]);
    expect(parseFileSD('', '/sd/empty.yaml')).toEqual([]);
  });

  it.each([
    ['bad JSON', '[{', '/sd/a.json', /^\/sd\/a\.json: cannot parse: /],
    [
      'not a list',
      '{"targets": []}',
      '/sd/a.json',
      /^\/sd\/a\.json: a file SD file must contain a list of target groups$/,
    ],
    [
      'bad label name',
      '[{"targets": ["a:1"], "labels": {"a-b": "x"}}]',
      '/sd/a.json',
      /^\/sd\/a\.json: \[0\.labels\.a-b\] labels: invalid label name "a-b"/,
    ],
    [
      'unknown key',
      '- targets: [a]\n  lables: {}\n',
      '/sd/a.yml',
      /^\/sd\/a\.yml: \[0\.lables\] unknown key "lables" in target group/,
    ],
  ])('rejects %s', (_name, content, path, want) => {
    expect(() => parseFileSD(content, path)).toThrow(FileSDError);
    expect(() => parseFileSD(content, path)).toThrow(want);
  });
});
