/**
 * The composition root: builds storage, state, the query engine, ingestion and collectors from the
 * configuration and wires them into the HTTP servers. Nothing else constructs these pieces.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { VigilConfig } from './config/config.ts';
import { createServer } from './api/server.ts';
import { prometheusApi } from './api/prometheus.ts';
import { rulesApi } from './api/rules.ts';
import { loadRuleFiles, ruleProblemsError } from './rules/load.ts';
import { RuleManager } from './rules/manager.ts';
import { engineQueryFn, storageAppendFn } from './rules/rule.ts';
import { dashboardsApi } from './api/dashboards.ts';
import { liveApi } from './api/live.ts';
import { overviewApi } from './api/overview.ts';
import { provisionDashboards } from './dashboards/provision.ts';
import { CommitSignal } from './ingest/commits.ts';
import { ChdbTransport } from './store/clickhouse/chdb.ts';
import { ClickHouseServerTransport } from './store/clickhouse/server.ts';
import { ClickHouseStorage } from './store/clickhouse/storage.ts';
import type { SqlTransport } from './store/clickhouse/transport.ts';
import { openStateStore } from './state/open.ts';
import type { StateStore } from './state/interface.ts';
import { Engine } from './query/promql/index.ts';
import { DEFAULT_INGEST_LIMITS } from './ingest/validate.ts';
import type { IngestDeps } from './ingest/http.ts';
import { otlpHttpPlugin } from './ingest/otlp/handler.ts';
import { remoteWritePlugin } from './ingest/remotewrite/handler.ts';
import { remoteReadPlugin } from './api/remote-read.ts';
import { backupApi } from './backup/handler.ts';
import { ScrapeManager } from './ingest/scrape/manager.ts';
import { scrapeConfigSchema } from './ingest/scrape/config.ts';
import { HostCollector } from './health/host/collector.ts';
import { buildInfo } from './version.ts';
import { ClickHouseSpanStore } from './traces/store.clickhouse.ts';
import { otlpTracesPlugin, type TraceIngestDeps } from './traces/otlp/handler.ts';
import type { SpanStore } from './traces/store.ts';

export interface RunningVigil {
  readonly config: VigilConfig;
  readonly storage: ClickHouseStorage;
  readonly state: StateStore;
  readonly spans: SpanStore;
  readonly rules: RuleManager;
  readonly server: FastifyInstance;
  /** Port the main server listens on (useful when configured as 0). */
  readonly port: number;
  readonly otlpPort: number | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log?: (msg: string) => void;
  readonly httpLogger?: boolean;
}

function openTransport(cfg: VigilConfig): SqlTransport {
  if (cfg.storage.engine === 'clickhouse') {
    const ch = cfg.storage.clickhouse!;
    return new ClickHouseServerTransport({ url: ch.url, username: ch.username, password: ch.password });
  }
  return new ChdbTransport(join(cfg.data_dir, 'clickhouse'));
}

/** Starts every part of Vigil and returns a handle whose close() stops them in reverse order. */
export async function startVigil(cfg: VigilConfig, opts: StartOptions = {}): Promise<RunningVigil> {
  const log = opts.log ?? (() => {});
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`shutdown: ${(err as Error).message}`);
      }
    }
  };
  try {
    // Invalid rule files stop the start before anything is opened, as in Prometheus.
    const ruleFiles = loadRuleFiles(cfg.rule_files);
    if (ruleFiles.problems.length) throw ruleProblemsError(ruleFiles.problems);
    const sql = openTransport(cfg);
    closers.push(() => sql.close());
    const storage = await ClickHouseStorage.open(sql, {
      database: cfg.storage.clickhouse?.database ?? 'vigil',
      retentionMs: cfg.storage.retention,
      maxPendingSamples: cfg.storage.max_pending_samples,
      rollups: cfg.storage.rollups.map((r) => ({ resolutionMs: r.resolution, retentionMs: r.retention })),
      log,
    });
    closers.push(() => storage.close());
    log(`storage: ${sql.kind}, ${storage.index.size} series loaded`);
    const spans = await ClickHouseSpanStore.open(sql, {
      database: cfg.storage.clickhouse?.database ?? 'vigil',
      retentionMs: cfg.traces.retention,
    });
    closers.push(() => spans.close());
    const traceIngest: TraceIngestDeps = {
      store: spans,
      maxAttributeValueBytes: cfg.traces.max_attribute_value_size,
    };

    const state = await openStateStore(
      cfg.state.driver === 'postgres'
        ? { driver: 'postgres', url: cfg.state.url! }
        : { driver: 'sqlite', path: cfg.state.path ?? join(cfg.data_dir, 'state.db') },
    );
    closers.push(() => state.close());
    if (cfg.dashboards.dir !== '') await provisionDashboards({ state, dir: cfg.dashboards.dir, log });

    const engine = new Engine({
      lookbackDeltaMs: cfg.query.lookback_delta,
      maxSamples: cfg.query.max_samples,
      timeoutMs: cfg.query.timeout,
      windows: cfg.query.compatibility,
      pushdown: cfg.query.pushdown,
    });
    // Every writer goes through `written`, so live streams learn when new samples are visible.
    const commits = new CommitSignal();
    const written = commits.wrap(storage);
    const ingest: IngestDeps = {
      storage: written,
      limits: { ...DEFAULT_INGEST_LIMITS, maxFutureMs: cfg.ingest.max_future },
    };

    const scrape = new ScrapeManager({ storage: written, log });
    closers.push(() => scrape.stop());
    const rules = new RuleManager(ruleFiles.groups, {
      query: engineQueryFn(engine, storage),
      append: storageAppendFn(written),
      kv: state.kv,
      defaultIntervalMs: cfg.global.evaluationIntervalMs,
      log,
    });

    const server = createServer({ bodyLimit: cfg.server.max_body_size, ui: true, logger: opts.httpLogger });
    await server.register(
      prometheusApi({
        storage,
        engine,
        buildInfo: buildInfo(),
        targets: () => scrape.targets(),
        queryTimeoutMs: cfg.query.timeout,
      }),
    );
    await server.register(dashboardsApi({ state }));
    await server.register(
      overviewApi({
        storage,
        engine,
        targets: () => scrape.targets(),
        scrapeIntervalMs: cfg.global.scrapeIntervalMs,
        cacheMs: 10_000,
      }),
    );
    await server.register(liveApi({ storage, engine, commits, queryTimeoutMs: cfg.query.timeout }));
    await server.register(rulesApi({ groups: () => rules.groups }));
    await server.register(remoteWritePlugin(ingest));
    await server.register(otlpHttpPlugin(ingest));
    await server.register(otlpTracesPlugin(traceIngest));
    await server.register(
      remoteReadPlugin({ storage, maxSamples: cfg.query.max_samples, timeoutMs: cfg.query.timeout }),
    );
    await server.register(backupApi({ storage, config: cfg, log }));
    closers.push(() => server.close());
    await server.listen({ host: cfg.server.listen_address, port: cfg.server.port });
    const port = (server.server.address() as { port: number }).port;
    log(`listening on ${cfg.server.listen_address}:${port} (UI, Prometheus API, remote-write, OTLP/HTTP)`);

    let otlpPort: number | undefined;
    if (cfg.otlp.http_port !== 0 && cfg.otlp.http_port !== cfg.server.port) {
      const otlp = createServer({ bodyLimit: cfg.server.max_body_size });
      await otlp.register(otlpHttpPlugin(ingest));
      await otlp.register(otlpTracesPlugin(traceIngest));
      closers.push(() => otlp.close());
      await otlp.listen({ host: cfg.server.listen_address, port: cfg.otlp.http_port });
      otlpPort = (otlp.server.address() as { port: number }).port;
      log(`OTLP/HTTP on ${cfg.server.listen_address}:${otlpPort}`);
    }

    // Self-monitoring: Vigil scrapes its own /metrics like any target, and collects the host's metrics.
    const selfJob = scrapeConfigSchema.parse({
      job_name: 'vigil',
      scrape_interval: `${cfg.self_monitoring.scrape_interval}ms`,
      static_configs: [{ targets: [`127.0.0.1:${port}`] }],
    });
    scrape.applyConfig(cfg.global, [
      ...(cfg.self_monitoring.enabled ? [selfJob] : []),
      ...cfg.scrape_configs,
    ]);
    if (cfg.self_monitoring.enabled) {
      const host = new HostCollector({
        storage: written,
        intervalMs: cfg.self_monitoring.host_interval,
        instance: hostname(),
      });
      host.start();
      closers.push(() => host.stop());
    }

    await rules.start();
    closers.push(() => rules.stop());
    if (ruleFiles.files.length)
      log(`rules: ${rules.groups.length} group(s) from ${ruleFiles.files.length} file(s)`);

    // Keep the storage-size gauges of /metrics current.
    const refreshStats = () =>
      void storage.stats().catch((err: Error) => log(`storage stats: ${err.message}`));
    refreshStats();
    const statsTimer = setInterval(refreshStats, 15_000);
    closers.push(async () => clearInterval(statsTimer));

    return { config: cfg, storage, state, spans, rules, server, port, otlpPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}
