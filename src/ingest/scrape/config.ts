/**
 * Scrape configuration in Prometheus' own YAML shape (`global`, `scrape_configs`), so an existing prometheus.yml
 * loads unchanged. Schemas validate and convert to camelCase types with durations in ms; settings Prometheus has
 * but Vigil does not implement are rejected by name rather than silently ignored.
 */
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { DurationError, parseDuration } from '../../model/duration.ts';
import { isValidLabelName } from '../../model/labels.ts';
import { RELABEL_ACTIONS, RelabelConfigError, compileRelabelRegex, type RelabelConfig } from './relabel.ts';

export class ScrapeConfigError extends Error {
  override name = 'ScrapeConfigError';
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

/** Prometheus settings that Vigil recognises but does not implement; each gets a specific error. */
const UNSUPPORTED_SCRAPE_KEYS = new Set([
  'azure_sd_configs',
  'consul_sd_configs',
  'digitalocean_sd_configs',
  'docker_sd_configs',
  'dockerswarm_sd_configs',
  'dns_sd_configs',
  'ec2_sd_configs',
  'eureka_sd_configs',
  'gce_sd_configs',
  'hetzner_sd_configs',
  'http_sd_configs',
  'ionos_sd_configs',
  'kubernetes_sd_configs',
  'kuma_sd_configs',
  'lightsail_sd_configs',
  'linode_sd_configs',
  'marathon_sd_configs',
  'nerve_sd_configs',
  'nomad_sd_configs',
  'openstack_sd_configs',
  'ovhcloud_sd_configs',
  'puppetdb_sd_configs',
  'scaleway_sd_configs',
  'serverset_sd_configs',
  'triton_sd_configs',
  'uyuni_sd_configs',
  'vultr_sd_configs',
  'tls_config',
  'oauth2',
  'proxy_url',
  'no_proxy',
  'proxy_from_environment',
  'proxy_connect_header',
  'enable_http2',
  'http_headers',
  'scrape_protocols',
  'fallback_scrape_protocol',
  'label_limit',
  'label_name_length_limit',
  'label_value_length_limit',
  'target_limit',
  'keep_dropped_targets',
  'native_histogram_bucket_limit',
  'native_histogram_min_bucket_factor',
  'scrape_classic_histograms',
  'always_scrape_classic_histograms',
  'convert_classic_histograms_to_nhcb',
  'scrape_failure_log_file',
  'metric_name_validation_scheme',
  'metric_name_escaping_scheme',
  'scrape_native_histograms',
  'enable_compression_for_remote_write',
]);

const UNSUPPORTED_GLOBAL_KEYS = new Set([
  'query_log_file',
  'scrape_failure_log_file',
  'scrape_protocols',
  'label_limit',
  'label_name_length_limit',
  'label_value_length_limit',
  'target_limit',
  'keep_dropped_targets',
  'metric_name_validation_scheme',
  'metric_name_escaping_scheme',
  'rule_query_offset',
  'always_scrape_classic_histograms',
  'convert_classic_histograms_to_nhcb',
  'scrape_native_histograms',
]);

/**
 * An object schema that reports every key it does not know as its own issue at that key's path, so the error
 * points at the offending YAML line. `where` names the section in messages.
 */
function section<T extends z.core.$ZodLooseShape>(
  shape: T,
  where: string,
  unsupported: ReadonlySet<string> = new Set(),
) {
  const known = new Set(Object.keys(shape));
  return z
    .looseObject(shape, {
      error: (iss) => (iss.input === undefined ? `${where} is required` : `${where} must be a mapping`),
    })
    .superRefine(
      (obj, ctx) => {
        for (const key of Object.keys(obj)) {
          if (known.has(key)) continue;
          ctx.addIssue({
            code: 'custom',
            path: [key],
            input: obj[key],
            message: unsupported.has(key)
              ? `${key} is a Prometheus setting that Vigil does not support in ${where}; remove it (supported target sources: static_configs, file_sd_configs)`
              : `unknown key ${JSON.stringify(key)} in ${where}; known keys: ${[...known].sort().join(', ')}`,
          });
        }
      },
      {
        // Report unknown keys even when a known field of the same mapping is also wrong.
        when: (payload) =>
          typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
      },
    );
}

/** A Prometheus duration string (or 0) in ms; the message names the field. */
function duration(field: string, opts: { positive?: boolean } = {}) {
  return z
    .union([z.string(), z.number()], { error: `${field} must be a duration such as 30s, 1m or 1h30m` })
    .transform((raw, ctx) => {
      try {
        const ms = parseDuration(String(raw));
        if (opts.positive && ms <= 0) {
          ctx.addIssue({ code: 'custom', input: raw, message: `${field} must be greater than 0` });
          return z.NEVER;
        }
        return ms;
      } catch (err) {
        if (!(err instanceof DurationError)) throw err;
        ctx.addIssue({ code: 'custom', input: raw, message: `${field}: ${err.message}` });
        return z.NEVER;
      }
    });
}

const BYTE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  KiB: 1024,
  MB: 1024 ** 2,
  MiB: 1024 ** 2,
  GB: 1024 ** 3,
  GiB: 1024 ** 3,
  TB: 1024 ** 4,
  TiB: 1024 ** 4,
};

/** body_size_limit: Prometheus' base-2 byte sizes (`512KB`, `10MiB`, `0` for no limit). */
function byteSize(field: string) {
  return z
    .union([z.string(), z.number()], { error: `${field} must be a size such as 10MB` })
    .transform((raw, ctx) => {
      const s = String(raw).trim();
      const m = /^(\d+)\s*([A-Za-z]*)$/.exec(s);
      const mult = m ? (m[2] === '' ? 1 : BYTE_UNITS[m[2]!]) : undefined;
      if (!m || mult === undefined) {
        ctx.addIssue({
          code: 'custom',
          input: raw,
          message: `${field}: invalid size ${JSON.stringify(s)} (expected a number with unit B, KB, MB, GB or TB, or 0 for no limit)`,
        });
        return z.NEVER;
      }
      return Number(m[1]) * mult;
    });
}

/** Label values: YAML scalars (numbers, booleans) become strings, as in Prometheus. */
const scalarString = (field: string) =>
  z
    .union([z.string(), z.number(), z.boolean()], { error: `${field} must be a string` })
    .transform((v) => String(v));

function labelSet(field: string) {
  return z
    .record(z.string(), scalarString(`${field} value`), {
      error: `${field} must be a mapping of label names to values`,
    })
    .superRefine((obj, ctx) => {
      for (const name of Object.keys(obj)) {
        if (!isValidLabelName(name))
          ctx.addIssue({
            code: 'custom',
            path: [name],
            input: name,
            message: `${field}: invalid label name ${JSON.stringify(name)} (must match [a-zA-Z_][a-zA-Z0-9_]*)`,
          });
      }
    });
}

const nonNegativeInt = (field: string) =>
  z
    .number({ error: `${field} must be a whole number` })
    .int(`${field} must be a whole number`)
    .min(0, `${field} must not be negative`);

// ---------------------------------------------------------------------------------------------------------------
// relabel_configs

const LABEL_TEMPLATE_RE = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

export const relabelConfigSchema = section(
  {
    source_labels: z.array(z.string(), { error: 'source_labels must be a list of label names' }).optional(),
    separator: z.string({ error: 'separator must be a string' }).optional(),
    regex: scalarString('regex').optional(),
    target_label: z.string({ error: 'target_label must be a string' }).optional(),
    replacement: scalarString('replacement').optional(),
    modulus: z
      .number({ error: 'modulus must be a whole number' })
      .int('modulus must be a whole number')
      .positive('modulus must be greater than 0')
      .optional(),
    action: z
      .string({ error: 'action must be a string' })
      .transform((a) => a.toLowerCase())
      .pipe(
        z.enum(RELABEL_ACTIONS, {
          error: (iss) =>
            `unknown relabel action ${JSON.stringify(iss.input)}; expected one of ${RELABEL_ACTIONS.join(', ')}`,
        }),
      )
      .optional(),
  },
  'relabel config',
)
  .superRefine((rc, ctx) => {
    const action = rc.action ?? 'replace';
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], input: rc[path], message });
    for (const [i, n] of (rc.source_labels ?? []).entries())
      if (!isValidLabelName(n))
        ctx.addIssue({
          code: 'custom',
          path: ['source_labels', i],
          input: n,
          message: `invalid label name ${JSON.stringify(n)} in source_labels`,
        });
    if (rc.regex !== undefined) {
      try {
        compileRelabelRegex(rc.regex);
      } catch (err) {
        if (!(err instanceof RelabelConfigError)) throw err;
        issue('regex', err.message);
      }
    }
    const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'];
    if (needsTarget.includes(action) && !rc.target_label)
      issue('target_label', `relabel action ${action} requires target_label`);
    if (rc.target_label) {
      const ok =
        action === 'replace' ? LABEL_TEMPLATE_RE.test(rc.target_label) : isValidLabelName(rc.target_label);
      if (!ok)
        issue(
          'target_label',
          `${JSON.stringify(rc.target_label)} is not a valid target label for action ${action}`,
        );
    }
    if (action === 'hashmod' && !rc.modulus)
      issue('modulus', 'relabel action hashmod requires a modulus greater than 0');
    if (action === 'labelmap' && rc.replacement !== undefined && !LABEL_TEMPLATE_RE.test(rc.replacement))
      issue(
        'replacement',
        `${JSON.stringify(rc.replacement)} is not a valid label name template for action labelmap`,
      );
    if (action === 'labeldrop' || action === 'labelkeep') {
      for (const k of ['source_labels', 'target_label', 'modulus', 'separator', 'replacement'] as const)
        if (rc[k] !== undefined) issue(k, `relabel action ${action} uses only regex; remove ${k}`);
    }
    if (action === 'keepequal' || action === 'dropequal') {
      for (const k of ['regex', 'modulus', 'separator', 'replacement'] as const)
        if (rc[k] !== undefined)
          issue(k, `relabel action ${action} uses only source_labels and target_label; remove ${k}`);
    }
  })
  .transform((rc): RelabelConfig => ({
    sourceLabels: rc.source_labels ?? [],
    separator: rc.separator ?? ';',
    regex: rc.regex ?? '(.*)',
    targetLabel: rc.target_label ?? '',
    replacement: rc.replacement ?? '$1',
    modulus: rc.modulus ?? 0,
    action: rc.action ?? 'replace',
  }));

// ---------------------------------------------------------------------------------------------------------------
// global

export interface GlobalConfig {
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly evaluationIntervalMs: number;
  /** Added to alerts and remote writes by other modules; not to scraped samples (Prometheus semantics). */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Default per-job sample_limit, 0 = none. */
  readonly sampleLimit: number;
  /** Default per-job body_size_limit in bytes, 0 = none. */
  readonly bodySizeLimitBytes: number;
}

export const DEFAULT_GLOBAL: GlobalConfig = {
  scrapeIntervalMs: 60_000,
  scrapeTimeoutMs: 10_000,
  evaluationIntervalMs: 60_000,
  externalLabels: {},
  sampleLimit: 0,
  bodySizeLimitBytes: 0,
};

export const globalConfigSchema = section(
  {
    scrape_interval: duration('global.scrape_interval', { positive: true }).optional(),
    scrape_timeout: duration('global.scrape_timeout', { positive: true }).optional(),
    evaluation_interval: duration('global.evaluation_interval', { positive: true }).optional(),
    external_labels: labelSet('external_labels').optional(),
    sample_limit: nonNegativeInt('global.sample_limit').optional(),
    body_size_limit: byteSize('global.body_size_limit').optional(),
  },
  'global',
  UNSUPPORTED_GLOBAL_KEYS,
)
  .superRefine((g, ctx) => {
    if (
      g.scrape_timeout !== undefined &&
      g.scrape_timeout > (g.scrape_interval ?? DEFAULT_GLOBAL.scrapeIntervalMs)
    )
      ctx.addIssue({
        code: 'custom',
        path: ['scrape_timeout'],
        input: g.scrape_timeout,
        message: 'global scrape_timeout is greater than global scrape_interval; it must not be',
      });
  })
  .transform((g): GlobalConfig => {
    const interval = g.scrape_interval ?? DEFAULT_GLOBAL.scrapeIntervalMs;
    return {
      scrapeIntervalMs: interval,
      // As Prometheus: an unset timeout is 10s, capped at the interval.
      scrapeTimeoutMs: g.scrape_timeout ?? Math.min(DEFAULT_GLOBAL.scrapeTimeoutMs, interval),
      evaluationIntervalMs: g.evaluation_interval ?? DEFAULT_GLOBAL.evaluationIntervalMs,
      externalLabels: g.external_labels ?? {},
      sampleLimit: g.sample_limit ?? 0,
      bodySizeLimitBytes: g.body_size_limit ?? 0,
    };
  });

// ---------------------------------------------------------------------------------------------------------------
// scrape_configs[]

/** A group of targets sharing labels, as in static_configs and file_sd files. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Where the group came from (for file SD: the file path), for diagnostics. */
  readonly source?: string;
}

export interface FileSDConfig {
  readonly files: readonly string[];
  readonly refreshIntervalMs: number;
}

export interface BasicAuth {
  readonly username: string;
  readonly password?: string;
  readonly passwordFile?: string;
}

export interface Authorization {
  readonly type: string;
  readonly credentials?: string;
  readonly credentialsFile?: string;
}

/** One scrape job as configured; interval/timeout/limits undefined mean "inherit from global". */
export interface ScrapeConfig {
  readonly jobName: string;
  readonly scrapeIntervalMs?: number;
  readonly scrapeTimeoutMs?: number;
  readonly metricsPath: string;
  readonly scheme: 'http' | 'https';
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly trackTimestampsStaleness: boolean;
  readonly followRedirects: boolean;
  readonly enableCompression: boolean;
  readonly basicAuth?: BasicAuth;
  readonly authorization?: Authorization;
  readonly staticConfigs: readonly TargetGroup[];
  readonly fileSDConfigs: readonly FileSDConfig[];
  readonly relabelConfigs: readonly RelabelConfig[];
  readonly metricRelabelConfigs: readonly RelabelConfig[];
  readonly sampleLimit?: number;
  readonly bodySizeLimitBytes?: number;
}

/** A scrape job with global defaults applied. */
export interface ResolvedScrapeConfig extends ScrapeConfig {
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly sampleLimit: number;
  readonly bodySizeLimitBytes: number;
}

export const targetGroupSchema = section(
  {
    targets: z
      .array(z.string({ error: 'each target must be a host:port string' }), {
        error: 'targets must be a list of host:port strings',
      })
      .optional(),
    labels: labelSet('labels').optional(),
  },
  'target group',
).transform((g): TargetGroup => ({ targets: g.targets ?? [], labels: g.labels ?? {} }));

const fileSDSchema = section(
  {
    files: z
      .array(z.string(), { error: 'files must be a list of paths' })
      .min(1, 'file_sd_configs needs at least one file'),
    refresh_interval: duration('refresh_interval', { positive: true }).optional(),
  },
  'file_sd_configs entry',
)
  .superRefine((f, ctx) => {
    for (const [i, path] of f.files.entries()) {
      if (!/\.(json|ya?ml)$/.test(path))
        ctx.addIssue({
          code: 'custom',
          path: ['files', i],
          input: path,
          message: `file SD path ${JSON.stringify(path)} must end in .json, .yml or .yaml`,
        });
      const dirPart = path.slice(0, Math.max(0, path.lastIndexOf('/')));
      if (/[*?[]/.test(dirPart))
        ctx.addIssue({
          code: 'custom',
          path: ['files', i],
          input: path,
          message: `file SD path ${JSON.stringify(path)}: wildcards are allowed only in the file name, not in directories`,
        });
    }
  })
  .transform((f): FileSDConfig => ({ files: f.files, refreshIntervalMs: f.refresh_interval ?? 5 * 60_000 }));

const JOB_NAME_ERROR = 'job_name is required and must be a non-empty string';

export const scrapeConfigSchema = section(
  {
    job_name: z.string({ error: JOB_NAME_ERROR }).min(1, JOB_NAME_ERROR),
    scrape_interval: duration('scrape_interval', { positive: true }).optional(),
    scrape_timeout: duration('scrape_timeout', { positive: true }).optional(),
    metrics_path: z
      .string({ error: 'metrics_path must be a string' })
      .startsWith('/', 'metrics_path must start with "/"')
      .optional(),
    scheme: z.enum(['http', 'https'], { error: 'scheme must be http or https' }).optional(),
    params: z
      .record(
        z.string(),
        z.array(scalarString('params value'), { error: 'each params entry must be a list of strings' }),
        { error: 'params must be a mapping of names to lists of values' },
      )
      .optional(),
    honor_labels: z.boolean({ error: 'honor_labels must be true or false' }).optional(),
    honor_timestamps: z.boolean({ error: 'honor_timestamps must be true or false' }).optional(),
    track_timestamps_staleness: z
      .boolean({ error: 'track_timestamps_staleness must be true or false' })
      .optional(),
    follow_redirects: z.boolean({ error: 'follow_redirects must be true or false' }).optional(),
    enable_compression: z.boolean({ error: 'enable_compression must be true or false' }).optional(),
    basic_auth: section(
      {
        username: scalarString('basic_auth.username'),
        password: scalarString('basic_auth.password').optional(),
        password_file: z.string({ error: 'basic_auth.password_file must be a path' }).optional(),
      },
      'basic_auth',
    )
      .superRefine((b, ctx) => {
        if (b.password !== undefined && b.password_file !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['password_file'],
            input: b.password_file,
            message: 'basic_auth: set at most one of password and password_file',
          });
      })
      .optional(),
    authorization: section(
      {
        type: z.string({ error: 'authorization.type must be a string' }).optional(),
        credentials: z.string({ error: 'authorization.credentials must be a string' }).optional(),
        credentials_file: z.string({ error: 'authorization.credentials_file must be a path' }).optional(),
      },
      'authorization',
    )
      .superRefine((a, ctx) => {
        if (a.credentials !== undefined && a.credentials_file !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['credentials_file'],
            input: a.credentials_file,
            message: 'authorization: set at most one of credentials and credentials_file',
          });
        if (a.type !== undefined && a.type.toLowerCase() === 'basic')
          ctx.addIssue({
            code: 'custom',
            path: ['type'],
            input: a.type,
            message: 'authorization type Basic is not allowed; use basic_auth',
          });
      })
      .optional(),
    bearer_token: z.string({ error: 'bearer_token must be a string' }).optional(),
    bearer_token_file: z.string({ error: 'bearer_token_file must be a path' }).optional(),
    static_configs: z.array(targetGroupSchema, { error: 'static_configs must be a list' }).optional(),
    file_sd_configs: z.array(fileSDSchema, { error: 'file_sd_configs must be a list' }).optional(),
    relabel_configs: z.array(relabelConfigSchema, { error: 'relabel_configs must be a list' }).optional(),
    metric_relabel_configs: z
      .array(relabelConfigSchema, { error: 'metric_relabel_configs must be a list' })
      .optional(),
    sample_limit: nonNegativeInt('sample_limit').optional(),
    body_size_limit: byteSize('body_size_limit').optional(),
  },
  'scrape config',
  UNSUPPORTED_SCRAPE_KEYS,
)
  .superRefine((sc, ctx) => {
    if (
      sc.scrape_timeout !== undefined &&
      sc.scrape_interval !== undefined &&
      sc.scrape_timeout > sc.scrape_interval
    )
      ctx.addIssue({
        code: 'custom',
        path: ['scrape_timeout'],
        input: sc.scrape_timeout,
        message: `scrape_timeout is greater than scrape_interval for job ${JSON.stringify(sc.job_name)}; it must not be`,
      });
    const auths = [
      sc.basic_auth !== undefined && 'basic_auth',
      (sc.bearer_token !== undefined || sc.bearer_token_file !== undefined) && 'bearer_token',
      sc.authorization !== undefined && 'authorization',
    ].filter(Boolean);
    if (auths.length > 1)
      ctx.addIssue({
        code: 'custom',
        path: [String(auths[1])],
        input: undefined,
        message: `job ${JSON.stringify(sc.job_name)}: set at most one of basic_auth, bearer_token/bearer_token_file and authorization`,
      });
    if (sc.bearer_token !== undefined && sc.bearer_token_file !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['bearer_token_file'],
        input: sc.bearer_token_file,
        message: 'set at most one of bearer_token and bearer_token_file',
      });
  })
  .transform((sc): ScrapeConfig => {
    let authorization: Authorization | undefined;
    if (sc.authorization) {
      authorization = {
        type: sc.authorization.type ?? 'Bearer',
        ...(sc.authorization.credentials !== undefined && { credentials: sc.authorization.credentials }),
        ...(sc.authorization.credentials_file !== undefined && {
          credentialsFile: sc.authorization.credentials_file,
        }),
      };
    } else if (sc.bearer_token !== undefined)
      authorization = { type: 'Bearer', credentials: sc.bearer_token };
    else if (sc.bearer_token_file !== undefined)
      authorization = { type: 'Bearer', credentialsFile: sc.bearer_token_file };
    return {
      jobName: sc.job_name,
      ...(sc.scrape_interval !== undefined && { scrapeIntervalMs: sc.scrape_interval }),
      ...(sc.scrape_timeout !== undefined && { scrapeTimeoutMs: sc.scrape_timeout }),
      metricsPath: sc.metrics_path ?? '/metrics',
      scheme: sc.scheme ?? 'http',
      params: sc.params ?? {},
      honorLabels: sc.honor_labels ?? false,
      honorTimestamps: sc.honor_timestamps ?? true,
      trackTimestampsStaleness: sc.track_timestamps_staleness ?? false,
      followRedirects: sc.follow_redirects ?? true,
      enableCompression: sc.enable_compression ?? true,
      ...(sc.basic_auth && {
        basicAuth: {
          username: sc.basic_auth.username,
          ...(sc.basic_auth.password !== undefined && { password: sc.basic_auth.password }),
          ...(sc.basic_auth.password_file !== undefined && { passwordFile: sc.basic_auth.password_file }),
        },
      }),
      ...(authorization && { authorization }),
      staticConfigs: sc.static_configs ?? [],
      fileSDConfigs: sc.file_sd_configs ?? [],
      relabelConfigs: sc.relabel_configs ?? [],
      metricRelabelConfigs: sc.metric_relabel_configs ?? [],
      ...(sc.sample_limit !== undefined && { sampleLimit: sc.sample_limit }),
      ...(sc.body_size_limit !== undefined && { bodySizeLimitBytes: sc.body_size_limit }),
    };
  });

/** A list of scrape configs with unique job names; a duplicate is reported at its job_name. */
export const scrapeConfigsSchema = z
  .array(scrapeConfigSchema, { error: 'scrape_configs must be a list' })
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, sc] of list.entries()) {
      const first = seen.get(sc.jobName);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'job_name'],
          input: sc.jobName,
          message: `duplicate job_name ${JSON.stringify(sc.jobName)} (already used by scrape_configs[${first}])`,
        });
      else seen.set(sc.jobName, i);
    }
  });

/**
 * Applies global defaults to one job. As in Prometheus, an unset timeout inherits the global one capped at the
 * job's interval; an explicitly set timeout larger than the interval is an error (ScrapeConfigError).
 */
export function resolveScrapeConfig(global: GlobalConfig, sc: ScrapeConfig): ResolvedScrapeConfig {
  const interval = sc.scrapeIntervalMs ?? global.scrapeIntervalMs;
  let timeout = sc.scrapeTimeoutMs;
  if (timeout === undefined) timeout = Math.min(global.scrapeTimeoutMs, interval);
  else if (timeout > interval)
    throw new ScrapeConfigError(
      `scrape_timeout is greater than scrape_interval for job ${JSON.stringify(sc.jobName)}; it must not be`,
    );
  return {
    ...sc,
    scrapeIntervalMs: interval,
    scrapeTimeoutMs: timeout,
    sampleLimit: sc.sampleLimit ?? global.sampleLimit,
    bodySizeLimitBytes: sc.bodySizeLimitBytes ?? global.bodySizeLimitBytes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A whole prometheus.yml

export interface PrometheusConfig {
  readonly global: GlobalConfig;
  readonly scrapeConfigs: readonly ResolvedScrapeConfig[];
  /** Rule file paths/globs, passed through for the rules module. */
  readonly ruleFiles: readonly string[];
}

const UNSUPPORTED_TOP_KEYS = new Set([
  'alerting',
  'remote_write',
  'remote_read',
  'storage',
  'tracing',
  'otlp',
  'runtime',
  'scrape_config_files',
]);

/**
 * The scrape-related part of a Prometheus config file: `global`, `scrape_configs`, `rule_files`. Cross-checks
 * (a job's explicit scrape_timeout against the interval it inherits) are reported at the job's scrape_timeout.
 */
export const prometheusConfigSchema = section(
  {
    global: globalConfigSchema.optional(),
    scrape_configs: scrapeConfigsSchema.optional(),
    rule_files: z.array(z.string(), { error: 'rule_files must be a list of paths' }).optional(),
  },
  'Prometheus configuration',
  UNSUPPORTED_TOP_KEYS,
)
  .superRefine((cfg, ctx) => {
    const global = cfg.global ?? DEFAULT_GLOBAL;
    for (const [i, sc] of (cfg.scrape_configs ?? []).entries()) {
      try {
        resolveScrapeConfig(global, sc);
      } catch (err) {
        if (!(err instanceof ScrapeConfigError)) throw err;
        ctx.addIssue({
          code: 'custom',
          path: ['scrape_configs', i, 'scrape_timeout'],
          input: sc.scrapeTimeoutMs,
          message: err.message,
        });
      }
    }
  })
  .transform((cfg): PrometheusConfig => {
    const global = cfg.global ?? DEFAULT_GLOBAL;
    return {
      global,
      scrapeConfigs: (cfg.scrape_configs ?? []).map((sc) => resolveScrapeConfig(global, sc)),
      ruleFiles: cfg.rule_files ?? [],
    };
  });

/** Formats zod issues as `path: message` lines. */
export function formatConfigIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('\n');
}

/** Parses prometheus.yml text (no file I/O). Throws ScrapeConfigError listing every problem with its path. */
export function parsePrometheusConfig(yamlText: string): PrometheusConfig {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText) ?? {};
  } catch (err) {
    throw new ScrapeConfigError(`invalid YAML: ${(err as Error).message}`, { cause: err });
  }
  const res = prometheusConfigSchema.safeParse(doc);
  if (!res.success)
    throw new ScrapeConfigError(`invalid scrape configuration:\n${formatConfigIssues(res.error.issues)}`);
  return res.data;
}
