/**
 * Vigil's configuration: one YAML file, overridable by environment variables and command-line flags
 * (flags win over environment, environment over the file). `scrape_configs` and `global` use Prometheus's
 * own format so existing sections can be pasted in unchanged. Reference: docs/configuration.md.
 */
import { readFileSync } from 'node:fs';
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
import { ConfigError, parseYaml, validateYaml } from './yaml-errors.ts';

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
          // Off by default until rollups and backup/restore agree exactly; opt in with
          // [{resolution: 5m, retention: 90d}, {resolution: 1h, retention: 2y}].
          .default([]),
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
    /** Prometheus's own `global` and `scrape_configs` sections, unchanged. */
    global: globalConfigSchema.optional().transform((g) => g ?? DEFAULT_GLOBAL),
    scrape_configs: scrapeConfigsSchema.default([]),
    /** Prometheus's `rule_files`: globs of rule files, relative to the configuration file's folder. */
    rule_files: z
      .array(z.string().min(1, 'a rule file pattern must not be empty'))
      .nullish()
      .transform((v) => v ?? []),
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
    (out as Record<string, unknown>)[key] = key === 'port' || key === 'otlpHttpPort' ? Number(v) : v;
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
  return cfg;
}

export function loadConfigFile(path: string | undefined, overrides: ConfigOverrides = {}): VigilConfig {
  if (!path) return loadConfigText(undefined, '<defaults>', overrides);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        file: path,
        line: 0,
        column: 0,
        path: '',
        message: `cannot read the file: ${(err as Error).message}`,
      },
    ]);
  }
  return loadConfigText(text, path, overrides);
}
