import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_GLOBAL,
  ScrapeConfigError,
  globalConfigSchema,
  parsePrometheusConfig,
  prometheusConfigSchema,
  resolveScrapeConfig,
  scrapeConfigSchema,
  scrapeConfigsSchema,
} from './config.ts';

/** Issues as `path: message` for compact assertions. */
function issues(
  schema: {
    safeParse(v: unknown): {
      success: boolean;
      error?: { issues: { path: PropertyKey[]; message: string }[] };
    };
  },
  yamlText: string,
) {
  const res = schema.safeParse(parseYaml(yamlText));
  if (res.success) return [];
  return res.error!.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

describe('a typical prometheus.yml loads unchanged', () => {
  const file = `
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    cluster: eu-1
    replica: 1

rule_files:
  - "rules/*.yml"

scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]

  - job_name: node
    scrape_interval: 30s
    scrape_timeout: 5s
    metrics_path: /custom/metrics
    scheme: https
    params:
      module: [http_2xx]
    honor_labels: true
    honor_timestamps: false
    basic_auth:
      username: scraper
      password: s3cret
    sample_limit: 5000
    body_size_limit: 10MB
    static_configs:
      - targets: ["10.0.0.1:9100", "10.0.0.2:9100"]
        labels:
          env: prod
    file_sd_configs:
      - files: ["targets/*.json"]
        refresh_interval: 1m
    relabel_configs:
      - source_labels: [__address__]
        regex: "([^:]+):.*"
        target_label: host
      - action: hashmod
        source_labels: [__address__]
        modulus: 4
        target_label: __tmp_shard
      - action: Keep
        source_labels: [__tmp_shard]
        regex: "0"
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
  - job_name: token
    bearer_token: abc
    static_configs: [{ targets: ["a:1"] }]
`;

  it('parses with defaults and durations in ms', () => {
    const cfg = parsePrometheusConfig(file);
    expect(cfg.global).toEqual({
      scrapeIntervalMs: 15_000,
      scrapeTimeoutMs: 10_000,
      evaluationIntervalMs: 30_000,
      externalLabels: { cluster: 'eu-1', replica: '1' },
      sampleLimit: 0,
      bodySizeLimitBytes: 0,
    });
    expect(cfg.ruleFiles).toEqual(['rules/*.yml']);
    const [prom, node, token] = cfg.scrapeConfigs;
    expect(prom).toMatchObject({
      jobName: 'prometheus',
      scrapeIntervalMs: 15_000,
      scrapeTimeoutMs: 10_000,
      metricsPath: '/metrics',
      scheme: 'http',
      honorLabels: false,
      honorTimestamps: true,
      staticConfigs: [{ targets: ['localhost:9090'], labels: {} }],
      relabelConfigs: [],
    });
    expect(node).toMatchObject({
      jobName: 'node',
      scrapeIntervalMs: 30_000,
      scrapeTimeoutMs: 5_000,
      metricsPath: '/custom/metrics',
      scheme: 'https',
      params: { module: ['http_2xx'] },
      honorLabels: true,
      honorTimestamps: false,
      basicAuth: { username: 'scraper', password: 's3cret' },
      sampleLimit: 5000,
      bodySizeLimitBytes: 10 * 1024 * 1024,
      staticConfigs: [{ targets: ['10.0.0.1:9100', '10.0.0.2:9100'], labels: { env: 'prod' } }],
      fileSDConfigs: [{ files: ['targets/*.json'], refreshIntervalMs: 60_000 }],
    });
    expect(node!.relabelConfigs).toEqual([
      {
        sourceLabels: ['__address__'],
        separator: ';',
        regex: '([^:]+):.*',
        targetLabel: 'host',
        replacement: '$1',
        modulus: 0,
        action: 'replace',
      },
      {
        sourceLabels: ['__address__'],
        separator: ';',
        regex: '(.*)',
        targetLabel: '__tmp_shard',
        replacement: '$1',
        modulus: 4,
        action: 'hashmod',
      },
      {
        sourceLabels: ['__tmp_shard'],
        separator: ';',
        regex: '0',
        targetLabel: '',
        replacement: '$1',
        modulus: 0,
        action: 'keep',
      },
    ]);
    expect(node!.metricRelabelConfigs[0]).toMatchObject({ action: 'drop', regex: 'go_.*' });
    expect(token!.authorization).toEqual({ type: 'Bearer', credentials: 'abc' });
  });

  it('an empty file is the default config', () => {
    expect(parsePrometheusConfig('')).toEqual({ global: DEFAULT_GLOBAL, scrapeConfigs: [], ruleFiles: [] });
  });
});

describe('timeouts and intervals', () => {
  it('an unset job timeout inherits the global one, capped at the job interval', () => {
    const cfg = parsePrometheusConfig('scrape_configs:\n  - job_name: fast\n    scrape_interval: 5s\n');
    expect(cfg.scrapeConfigs[0]).toMatchObject({ scrapeIntervalMs: 5_000, scrapeTimeoutMs: 5_000 });
  });

  it('an unset global timeout is capped at the global interval', () => {
    expect(globalConfigSchema.parse({ scrape_interval: '2s' })).toMatchObject({
      scrapeIntervalMs: 2000,
      scrapeTimeoutMs: 2000,
    });
  });

  it('resolveScrapeConfig throws when an explicit timeout exceeds the inherited interval', () => {
    const sc = scrapeConfigSchema.parse({ job_name: 'x', scrape_timeout: '2m' });
    expect(() => resolveScrapeConfig(DEFAULT_GLOBAL, sc)).toThrow(ScrapeConfigError);
    expect(() => resolveScrapeConfig(DEFAULT_GLOBAL, sc)).toThrow(
      /scrape_timeout is greater than scrape_interval for job "x"/,
    );
  });
});

describe('validation errors name the field', () => {
  it.each([
    [
      'missing job_name',
      scrapeConfigSchema,
      'static_configs: []',
      ['job_name: job_name is required and must be a non-empty string'],
    ],
    [
      'empty job_name',
      scrapeConfigSchema,
      'job_name: ""',
      ['job_name: job_name is required and must be a non-empty string'],
    ],
    [
      'bad interval',
      scrapeConfigSchema,
      'job_name: a\nscrape_interval: 10 seconds',
      [
        'scrape_interval: scrape_interval: not a valid duration string: "10 seconds" (expected for example 30s, 5m, 1h30m)',
      ],
    ],
    [
      'units out of order',
      scrapeConfigSchema,
      'job_name: a\nscrape_timeout: 1s1m',
      ['scrape_timeout: scrape_timeout: not a valid duration string: "1s1m" (units out of order)'],
    ],
    [
      'zero interval',
      scrapeConfigSchema,
      'job_name: a\nscrape_interval: 0s',
      ['scrape_interval: scrape_interval must be greater than 0'],
    ],
    [
      'timeout above interval',
      scrapeConfigSchema,
      'job_name: a\nscrape_interval: 10s\nscrape_timeout: 11s',
      ['scrape_timeout: scrape_timeout is greater than scrape_interval for job "a"; it must not be'],
    ],
    [
      'global timeout above interval',
      globalConfigSchema,
      'scrape_interval: 5s\nscrape_timeout: 6s',
      ['scrape_timeout: global scrape_timeout is greater than global scrape_interval; it must not be'],
    ],
    [
      'bad global duration',
      globalConfigSchema,
      'evaluation_interval: soon',
      [
        'evaluation_interval: global.evaluation_interval: not a valid duration string: "soon" (expected for example 30s, 5m, 1h30m)',
      ],
    ],
    [
      'kubernetes_sd_configs',
      scrapeConfigSchema,
      'job_name: a\nkubernetes_sd_configs:\n  - role: pod',
      [
        'kubernetes_sd_configs: kubernetes_sd_configs is a Prometheus setting that Vigil does not support in scrape config; remove it (supported target sources: static_configs, file_sd_configs)',
      ],
    ],
    [
      'tls_config',
      scrapeConfigSchema,
      'job_name: a\ntls_config:\n  insecure_skip_verify: true',
      [expect.stringMatching(/^tls_config: tls_config is a Prometheus setting that Vigil does not support/)],
    ],
    [
      'typo key',
      scrapeConfigSchema,
      'job_name: a\nscrape_intervall: 5s',
      [
        expect.stringMatching(
          /^scrape_intervall: unknown key "scrape_intervall" in scrape config; known keys: .*scrape_interval/,
        ),
      ],
    ],
    [
      'unknown global key',
      globalConfigSchema,
      'query_log_file: /tmp/q.log',
      [
        expect.stringMatching(
          /^query_log_file: query_log_file is a Prometheus setting that Vigil does not support in global/,
        ),
      ],
    ],
    [
      'unknown key in static config',
      scrapeConfigSchema,
      'job_name: a\nstatic_configs:\n  - targets: [a]\n    label: {x: y}',
      [expect.stringMatching(/^static_configs\.0\.label: unknown key "label" in target group/)],
    ],
    ['bad scheme', scrapeConfigSchema, 'job_name: a\nscheme: ftp', ['scheme: scheme must be http or https']],
    [
      'bad metrics_path',
      scrapeConfigSchema,
      'job_name: a\nmetrics_path: metrics',
      ['metrics_path: metrics_path must start with "/"'],
    ],
    [
      'bad label name',
      scrapeConfigSchema,
      'job_name: a\nstatic_configs:\n  - targets: [a]\n    labels: {"bad-name": x}',
      [
        'static_configs.0.labels.bad-name: labels: invalid label name "bad-name" (must match [a-zA-Z_][a-zA-Z0-9_]*)',
      ],
    ],
    [
      'negative sample_limit',
      scrapeConfigSchema,
      'job_name: a\nsample_limit: -1',
      ['sample_limit: sample_limit must not be negative'],
    ],
    [
      'bad body_size_limit',
      scrapeConfigSchema,
      'job_name: a\nbody_size_limit: 10 parsecs',
      [expect.stringMatching(/^body_size_limit: body_size_limit: invalid size "10 parsecs"/)],
    ],
    [
      'two auth methods',
      scrapeConfigSchema,
      'job_name: a\nbearer_token: t\nbasic_auth: {username: u}',
      [
        'bearer_token: job "a": set at most one of basic_auth, bearer_token/bearer_token_file and authorization',
      ],
    ],
    [
      'unknown relabel action',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - action: explode',
      [
        expect.stringMatching(
          /^relabel_configs\.0\.action: unknown relabel action "explode"; expected one of replace, keep/,
        ),
      ],
    ],
    [
      'bad relabel regex',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - source_labels: [a]\n    regex: "(x"\n    action: keep',
      [expect.stringMatching(/^relabel_configs\.0\.regex: invalid regular expression "\(x"/)],
    ],
    [
      'hashmod without modulus',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - action: hashmod\n    source_labels: [a]\n    target_label: b',
      ['relabel_configs.0.modulus: relabel action hashmod requires a modulus greater than 0'],
    ],
    [
      'replace without target',
      scrapeConfigSchema,
      'job_name: a\nmetric_relabel_configs:\n  - source_labels: [a]',
      ['metric_relabel_configs.0.target_label: relabel action replace requires target_label'],
    ],
    [
      'invalid target label',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - action: lowercase\n    source_labels: [a]\n    target_label: "b-c"',
      ['relabel_configs.0.target_label: "b-c" is not a valid target label for action lowercase'],
    ],
    [
      'labeldrop with extra fields',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - action: labeldrop\n    regex: x\n    target_label: y',
      ['relabel_configs.0.target_label: relabel action labeldrop uses only regex; remove target_label'],
    ],
    [
      'keepequal with regex',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - action: keepequal\n    source_labels: [a]\n    target_label: b\n    regex: x',
      [
        'relabel_configs.0.regex: relabel action keepequal uses only source_labels and target_label; remove regex',
      ],
    ],
    [
      'bad source label',
      scrapeConfigSchema,
      'job_name: a\nrelabel_configs:\n  - source_labels: ["a.b"]\n    target_label: c',
      ['relabel_configs.0.source_labels.0: invalid label name "a.b" in source_labels'],
    ],
    [
      'file_sd wrong extension',
      scrapeConfigSchema,
      'job_name: a\nfile_sd_configs:\n  - files: [targets.txt]',
      ['file_sd_configs.0.files.0: file SD path "targets.txt" must end in .json, .yml or .yaml'],
    ],
    [
      'file_sd wildcard in directory',
      scrapeConfigSchema,
      'job_name: a\nfile_sd_configs:\n  - files: ["*/t.json"]',
      [
        'file_sd_configs.0.files.0: file SD path "*/t.json": wildcards are allowed only in the file name, not in directories',
      ],
    ],
    ['not a mapping', scrapeConfigSchema, '- a', [': scrape config must be a mapping']],
  ])('%s', (_name, schema, yamlText, want) => {
    expect(issues(schema, yamlText)).toEqual(want);
  });

  it('reports unknown keys together with errors in known fields of the same mapping', () => {
    expect(issues(scrapeConfigSchema, 'scrape_interval: x\nconsul_sd_configs: []')).toEqual([
      'job_name: job_name is required and must be a non-empty string',
      'scrape_interval: scrape_interval: not a valid duration string: "x" (expected for example 30s, 5m, 1h30m)',
      expect.stringMatching(
        /^consul_sd_configs: consul_sd_configs is a Prometheus setting that Vigil does not support/,
      ),
    ]);
  });

  it('reports duplicate job names at the second job_name', () => {
    expect(issues(scrapeConfigsSchema, '- job_name: a\n- job_name: b\n- job_name: a')).toEqual([
      '2.job_name: duplicate job_name "a" (already used by scrape_configs[0])',
    ]);
  });

  it('reports a job timeout above the global interval at the job', () => {
    expect(
      issues(
        prometheusConfigSchema,
        'global:\n  scrape_interval: 10s\nscrape_configs:\n  - job_name: a\n    scrape_timeout: 20s',
      ),
    ).toEqual([
      'scrape_configs.0.scrape_timeout: scrape_timeout is greater than scrape_interval for job "a"; it must not be',
    ]);
  });

  it('rejects unsupported top-level sections by name', () => {
    expect(issues(prometheusConfigSchema, 'remote_write:\n  - url: http://x')).toEqual([
      expect.stringMatching(
        /^remote_write: remote_write is a Prometheus setting that Vigil does not support/,
      ),
    ]);
  });

  it('parsePrometheusConfig lists every problem with its path', () => {
    expect(() => parsePrometheusConfig('scrape_configs:\n  - scrape_interval: 1x\n')).toThrow(
      /invalid scrape configuration:\nscrape_configs\.0\.job_name: job_name is required.*\nscrape_configs\.0\.scrape_interval: scrape_interval: not a valid duration/s,
    );
    expect(() => parsePrometheusConfig('a: [')).toThrow(/^invalid YAML/);
  });
});
