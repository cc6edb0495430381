/**
 * Vigil's configuration: one YAML file, overridable by environment variables and command-line flags
 * (flags win over environment, environment over the file). `scrape_configs` and `global` use Prometheus's
 * own format so existing sections can be pasted in unchanged. Reference: docs/configuration.md.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../model/duration.ts';
import {
  DEFAULT_GLOBAL,
  ScrapeConfigError,
  globalConfigSchema,
  resolveScrapeConfig,
  scrapeConfigsSchema,
} from '../ingest/scrape/config.ts';
import { parseYaml, readConfigFile, validateYaml } from './yaml-errors.ts';
import { dedupConfigSchema } from '../alerts/dedup.ts';
import { severityMapSchema } from '../alerts/severity.ts';
import { webhookSourcesSchema } from '../alerts/webhook-source.ts';
import { stormConfigSchema } from '../alerts/config/storm.ts';
import { healthChecksSchema } from '../health/checks/config.ts';
import { flowsSchema } from '../health/flows/config.ts';
import { componentsSchema } from '../health/components/config.ts';

const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    if (typeof v === 'number') return v * 1000;
    try {
      return parseDuration(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; ${what}` });
      return z.NEVER;
    }
  });

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(v.trim());
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `not a size: ${JSON.stringify(v)} (expected for example 32MiB or 1048576)`,
    });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? '']!);
});

const port = z.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    data_dir: z.string().min(1).default('./data'),
    server: z
      .object({
        listen_address: z.string().default('0.0.0.0'),
        port: port.default(9400),
        max_body_size: byteSize.default(32 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    otlp: z
      .object({
        /** OTLP/HTTP on its standard port; 0 disables the extra listener (the main port serves /v1/* too). */
        http_port: port.default(4318),
        /** OTLP/gRPC (traces and metrics); 0 disables it. */
        grpc_port: port.default(4317),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        engine: z.enum(['chdb', 'clickhouse']).default('chdb'),
        retention: duration('use 0 to keep data forever').default(15 * 86_400_000),
        max_pending_samples: z.number().int().positive().default(5_000_000),
        /** Pre-aggregated buckets for long ranges, each kept for its own retention (docs/storage.md). */
        rollups: z
          .array(
            z
              .object({
                resolution: duration('for example 5m or 1h'),
                retention: duration('use 0 to keep them forever'),
              })
              .strict(),
          )
          .default([
            { resolution: 300_000, retention: 90 * 86_400_000 },
            { resolution: 3_600_000, retention: 730 * 86_400_000 },
          ]),
        /**
         * Recent samples of every series held in memory (about 16 bytes each), so that short-range queries
         * read no ClickHouse; 0 holds none. Absent: 2h with embedded chDB (the only writer of its data),
         * 0 with a ClickHouse server (other writers' recent samples would be missed).
         */
        head_window: duration('for example 2h, or 0 to hold none').optional(),
        clickhouse: z
          .object({
            url: z.string().url(),
            username: z.string().optional(),
            password: z.string().optional(),
            database: z
              .string()
              .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
              .default('vigil'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    state: z
      .object({
        driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
        path: z.string().optional(),
        url: z.string().optional(),
      })
      .strict()
      .prefault({}),
    query: z
      .object({
        lookback_delta: duration('for example 5m').default(300_000),
        max_samples: z.number().int().positive().default(50_000_000),
        timeout: duration('for example 2m').default(120_000),
        /** Range-window edges: Prometheus 3 excludes the window start, Prometheus 2 includes it. */
        compatibility: z.enum(['prometheus3', 'prometheus2']).default('prometheus3'),
        /** Let storage compute range functions and selectors next to the data (and use rollups). */
        pushdown: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        max_future: duration('for example 10m').default(600_000),
      })
      .strict()
      .prefault({}),
    traces: z
      .object({
        /** How long spans are kept; 0 keeps them forever. */
        retention: duration('for example 7d; use 0 to keep spans forever').default(7 * 86_400_000),
        /** Span, resource, event and link attribute values longer than this are cut and marked. */
        max_attribute_value_size: byteSize.default(4096),
        /**
         * Acknowledge spans once synced to a write-ahead log under data_dir and insert them in the background in
         * big batches (docs/format/trace-tables.md, "Write-ahead log"); false acknowledges after each insert.
         */
        write_ahead_log: z.boolean().default(true),
        /** RED metrics derived from stored spans (docs/tracing.md, "Span metrics"). */
        span_metrics: z
          .object({
            enabled: z.boolean().default(true),
            flush_interval: duration('for example 15s')
              .refine((ms) => ms >= 100, 'the flush interval must be at least 100ms')
              .default(15_000),
            /** Distinct label sets kept; spans of further ones go into one overflow series. */
            max_series: z.number().int().positive().default(10_000),
            /** A label set without spans for this long is dropped (its series marked stale); 0 keeps them. */
            expiration: duration('for example 1h; 0 keeps label sets until a restart').default(0),
            /** Upper bounds of the duration histogram's buckets, ascending (+Inf is added). */
            buckets: z
              .array(duration('for example 250ms'))
              .min(1)
              .refine(
                (b) => b.every((x, i) => x > 0 && Number.isFinite(x) && (i === 0 || x > b[i - 1]!)),
                'buckets must be positive and strictly ascending, for example [5ms, 50ms, 500ms, 5s]',
              )
              .default([2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    zipkin: z
      .object({
        /** Extra listener for Zipkin's POST /api/v2/spans (the main port always serves it); 0 = off. */
        port: port.default(0),
      })
      .strict()
      .prefault({}),
    self_monitoring: z
      .object({
        enabled: z.boolean().default(true),
        scrape_interval: duration('for example 15s').default(15_000),
        host_interval: duration('for example 10s').default(10_000),
      })
      .strict()
      .prefault({}),
    dashboards: z
      .object({
        /** Folder of dashboard files loaded at start (docs/format/dashboard.md); '' turns provisioning off. */
        dir: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /** How alerting rules notify and restore their alerts (docs/rules.md). */
    alerting: z
      .object({
        /** Vigil's URL as users reach it, for alerts' generatorURL; '' = http://<hostname>:<server.port>. */
        external_url: z.union([z.literal(''), z.string().url()]).default(''),
        /** Firing alerts are re-sent this often (Prometheus's --rules.alert.resend-delay). */
        resend_delay: duration('for example 1m').default(60_000),
        /** Pending alerts are restored after an outage at most this long (--rules.alert.for-outage-tolerance). */
        for_outage_tolerance: duration('for example 1h').default(3_600_000),
        /** A restored pending alert fires no sooner than this after a restart (--rules.alert.for-grace-period). */
        for_grace_period: duration('for example 10m').default(600_000),
        /** Evaluate groups with alerting rules as soon as samples of a metric they read are ingested. */
        evaluate_on_ingest: z.boolean().default(true),
        /** Least time between two such evaluations of a group: a burst of writes shares one after the first. */
        ingest_delay: duration('for example 200ms').default(200),
        /** Ingest-triggered evaluations of a group refill at one per this time (two at most in hand). */
        ingest_min_interval: duration('for example 1s').default(1000),
        /** Most ingest-triggered group evaluations at once (bounds their CPU use). */
        ingest_concurrency: z.number().int().positive().default(1),
        /** Share of one core ingest-triggered evaluations may use when metrics are written all the time. */
        ingest_busy_share: z.number().gt(0).max(1).default(0.5),
        /** Alertmanager configuration file (routes, receivers, inhibit rules); '' = one no-op "default" receiver. */
        config_file: z.string().default(''),
        /** De-duplication across sources: ignored labels and equivalence rules (docs/alerting.md). */
        dedup: dedupConfigSchema,
        /** Map `severity` onto info/warning/error/critical before routing (off: labels stay as sent). */
        severity_classes: z.boolean().default(false),
        /** Extra severity spellings → class, for severity_classes. */
        severity_map: severityMapSchema,
        /** Tools that post their own JSON to /api/vigil/v1/alerts/webhook/{name}. */
        webhooks: webhookSourcesSchema,
        /** Storm protection: storm summaries, per-receiver rate limits, flapping (docs/storm.md). */
        storm: stormConfigSchema,
        /** How long alert state changes and notifications are kept in ClickHouse (docs/alerting.md). */
        history_retention: duration('for example 90d; use 0 to keep alert history forever').default(
          90 * 86_400_000,
        ),
      })
      .strict()
      .prefault({}),
    /** Incidents, escalation and on-call (docs/incidents.md). */
    incidents: z
      .object({
        /** YAML file of users, teams, schedules and escalation policies loaded at start; '' = none. */
        oncall_file: z.string().default(''),
        /** Resolve an incident when all its alerts have resolved. */
        auto_resolve: z.boolean().default(true),
        /** An alert of a resolved incident firing again within this time re-opens it. */
        reopen_grace: duration('for example 30m').default(30 * 60_000),
        /** How long acknowledge/resolve links in pages stay valid. */
        link_ttl: duration('for example 24h').default(24 * 3_600_000),
      })
      .strict()
      .prefault({}),
    /** Prometheus's own `global` and `scrape_configs` sections, unchanged. */
    global: globalConfigSchema.optional().transform((g) => g ?? DEFAULT_GLOBAL),
    scrape_configs: scrapeConfigsSchema.default([]),
    /** Prometheus's `rule_files`: globs of rule files, relative to the configuration file's folder. */
    rule_files: z
      .array(z.string().min(1, 'a rule file pattern must not be empty'))
      .nullish()
      .transform((v) => v ?? []),
    /** Probes of components (http, https, tcp, grpc, dns) written as blackbox-exporter metrics (docs/health.md). */
    health_checks: healthChecksSchema,
    /** Data flows whose stages and channels are checked for loss, staleness, drops and lag (docs/flows.md). */
    flows: flowsSchema,
    /** Declared components, their checks and dependencies, for the component health model (docs/health.md). */
    components: componentsSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [i, sc] of c.scrape_configs.entries()) {
      try {
        resolveScrapeConfig(c.global, sc);
      } catch (err) {
        if (!(err instanceof ScrapeConfigError)) throw err;
        ctx.addIssue({ code: 'custom', path: ['scrape_configs', i, 'scrape_timeout'], message: err.message });
      }
    }
    if (c.storage.engine === 'clickhouse' && !c.storage.clickhouse)
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 'clickhouse'],
        message: 'engine "clickhouse" needs storage.clickhouse.url (for example http://127.0.0.1:8123)',
      });
    if (c.state.driver === 'postgres' && !c.state.url)
      ctx.addIssue({
        code: 'custom',
        path: ['state', 'url'],
        message: 'driver "postgres" needs state.url (for example postgres://user@127.0.0.1:5432/vigil)',
      });
    const checkNames = new Set(c.health_checks.map((h) => h.name));
    for (const [i, comp] of c.components.entries())
      for (const [j, name] of comp.checks.entries())
        if (!checkNames.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['components', i, 'checks', j],
            message: `no health check named "${name}" in health_checks`,
          });
    const seen = new Set<number>();
    for (const [i, r] of c.storage.rollups.entries()) {
      if (r.resolution < 60_000 || r.resolution % 1000 !== 0)
        ctx.addIssue({
          code: 'custom',
          path: ['storage', 'rollups', i, 'resolution'],
          message: 'a rollup resolution must be whole seconds and at least 1m (for example 5m or 1h)',
        });
      if (seen.has(r.resolution))
        ctx.addIssue({
          code: 'custom',
          path: ['storage', 'rollups', i, 'resolution'],
          message: 'this rollup resolution is listed twice',
        });
      seen.add(r.resolution);
    }
  });

export type VigilConfig = z.output<typeof configSchema>;

/** Settings from flags or environment, applied over the file. */
export interface ConfigOverrides {
  dataDir?: string;
  port?: number;
  listenAddress?: string;
  otlpHttpPort?: number;
  otlpGrpcPort?: number;
  retention?: string;
  storageEngine?: string;
  clickhouseUrl?: string;
  stateUrl?: string;
}

/** Environment variables Vigil reads, and the setting each overrides. */
export const ENV_VARS: Record<string, keyof ConfigOverrides> = {
  VIGIL_DATA_DIR: 'dataDir',
  VIGIL_PORT: 'port',
  VIGIL_LISTEN_ADDRESS: 'listenAddress',
  VIGIL_OTLP_HTTP_PORT: 'otlpHttpPort',
  VIGIL_OTLP_GRPC_PORT: 'otlpGrpcPort',
  VIGIL_RETENTION: 'retention',
  VIGIL_STORAGE_ENGINE: 'storageEngine',
  VIGIL_CLICKHOUSE_URL: 'clickhouseUrl',
  VIGIL_STATE_URL: 'stateUrl',
};

export function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const out: ConfigOverrides = {};
  for (const [name, key] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const numeric = key === 'port' || key === 'otlpHttpPort' || key === 'otlpGrpcPort';
    (out as Record<string, unknown>)[key] = numeric ? Number(v) : v;
  }
  return out;
}

function setIn(obj: Record<string, any>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (cur[p] === undefined || cur[p] === null) cur[p] = {};
    cur = cur[p];
  }
  cur[path.at(-1)!] = value;
}

function applyOverrides(raw: unknown, o: ConfigOverrides): Record<string, any> {
  const obj: Record<string, any> =
    raw && typeof raw === 'object' && !Array.isArray(raw) ? structuredClone(raw) : {};
  if (o.dataDir !== undefined) obj.data_dir = o.dataDir;
  if (o.port !== undefined) setIn(obj, ['server', 'port'], o.port);
  if (o.listenAddress !== undefined) setIn(obj, ['server', 'listen_address'], o.listenAddress);
  if (o.otlpHttpPort !== undefined) setIn(obj, ['otlp', 'http_port'], o.otlpHttpPort);
  if (o.otlpGrpcPort !== undefined) setIn(obj, ['otlp', 'grpc_port'], o.otlpGrpcPort);
  if (o.retention !== undefined) setIn(obj, ['storage', 'retention'], o.retention);
  if (o.storageEngine !== undefined) setIn(obj, ['storage', 'engine'], o.storageEngine);
  if (o.clickhouseUrl !== undefined) setIn(obj, ['storage', 'clickhouse', 'url'], o.clickhouseUrl);
  if (o.stateUrl !== undefined) {
    setIn(obj, ['state', 'driver'], 'postgres');
    setIn(obj, ['state', 'url'], o.stateUrl);
  }
  return obj;
}

/**
 * Loads and validates configuration from YAML text (or none), then overrides. Throws ConfigError listing
 * every problem with file and line. Relative paths resolve against the working directory.
 */
export function loadConfigText(
  text: string | undefined,
  file: string,
  overrides: ConfigOverrides = {},
): VigilConfig {
  const parsed = parseYaml(text ?? '', file);
  const merged = { ...parsed, value: applyOverrides(parsed.value, overrides) };
  const cfg = validateYaml(configSchema, merged, file);
  cfg.data_dir = resolve(cfg.data_dir);
  cfg.rule_files = cfg.rule_files.map((p) => resolve(dirname(resolve(file)), p));
  // Like rule_files: relative to the configuration file's folder (the working directory when there is none).
  if (cfg.dashboards.dir !== '') cfg.dashboards.dir = resolve(dirname(resolve(file)), cfg.dashboards.dir);
  if (cfg.alerting.config_file !== '')
    cfg.alerting.config_file = resolve(dirname(resolve(file)), cfg.alerting.config_file);
  if (cfg.incidents.oncall_file !== '')
    cfg.incidents.oncall_file = resolve(dirname(resolve(file)), cfg.incidents.oncall_file);
  for (const c of cfg.health_checks)
    if (c.ca_file !== undefined) c.ca_file = resolve(dirname(resolve(file)), c.ca_file);
  return cfg;
}

export function loadConfigFile(path: string | undefined, overrides: ConfigOverrides = {}): VigilConfig {
  if (!path) return loadConfigText(undefined, '<defaults>', overrides);
  return loadConfigText(readConfigFile(path), path, overrides);
}
