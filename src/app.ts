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
import { loadRuleFiles, reloadRuleFiles, ruleProblemsError } from './rules/load.ts';
import { RuleManager } from './rules/manager.ts';
import type { NotifyFn } from './rules/notify.ts';
import { engineQueryFn, engineRangeQueryFn, storageAppendFn } from './rules/rule.ts';
import { IngestedNames } from './rules/trigger.ts';
import { dashboardsApi } from './api/dashboards.ts';
import { liveApi } from './api/live.ts';
import { anomalyApi } from './api/anomaly.ts';
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
import { hostTarget } from './health/components/inputs.ts';
import { HealthChecker } from './health/checks/scheduler.ts';
import { healthApi } from './api/health.ts';
import { FlowMonitor } from './health/flows/monitor.ts';
import { flowsApi } from './api/flows.ts';
import { componentsApi } from './api/components.ts';
import { buildInfo } from './version.ts';
import { ClickHouseSpanStore } from './traces/store.clickhouse.ts';
import { otlpTracesPlugin, type TraceIngestDeps } from './traces/otlp/handler.ts';
import { zipkinPlugin } from './traces/zipkin/handler.ts';
import { jaegerApi } from './api/jaeger.ts';
import { tracesApi } from './api/traces.ts';
import { traceAnalysisApi } from './api/trace-analysis.ts';
import { startOtlpGrpcServer } from './ingest/grpc/server.ts';
import type { SpanStore } from './traces/store.ts';
import {
  DEFAULT_ALERTMANAGER_CONFIG_YAML,
  loadAlertmanagerConfigFile,
  loadAlertmanagerConfigText,
} from './alerts/config/load.ts';
import { AlertPipeline } from './alerts/pipeline.ts';
import { alertmanagerApi } from './api/alertmanager.ts';
import { alertSourcesApi } from './api/alert-sources.ts';
import { correlationApi } from './api/correlation.ts';
import { stormOptionsOf } from './alerts/config/storm.ts';
import { SeverityNormalizer } from './alerts/severity.ts';
import { ClickHouseExemplarStore } from './store/clickhouse/exemplars.ts';
import { SpanMetricsAggregator } from './traces/spanmetrics/aggregate.ts';
import { SpanMetricsFlusher } from './traces/spanmetrics/flush.ts';
import { ClickHouseAlertHistoryStore } from './alerts/history/clickhouse.ts';
import { AlertHistoryWriter } from './alerts/history/writer.ts';
import { alertHistoryApi } from './api/alert-history.ts';
import { IncidentService } from './incidents/service.ts';
import { notifyPager } from './incidents/pager.ts';
import { provisionOncall } from './incidents/provision.ts';
import { spanTopology } from './incidents/topology.ts';
import { incidentsApi } from './api/incidents.ts';
import { oncallApi } from './api/oncall.ts';

export interface RunningVigil {
  readonly config: VigilConfig;
  readonly storage: ClickHouseStorage;
  readonly state: StateStore;
  readonly spans: SpanStore;
  readonly rules: RuleManager;
  /** The Alertmanager-compatible alert pipeline (alerts, silences, groups, notifications). */
  readonly alerts: AlertPipeline;
  /** Incidents, escalation and paging (docs/incidents.md). */
  readonly incidents: IncidentService;
  readonly server: FastifyInstance;
  /** Port the main server listens on (useful when configured as 0). */
  readonly port: number;
  readonly otlpPort: number | undefined;
  /** Port of the OTLP/gRPC server; undefined when disabled (otlp.grpc_port: 0). */
  readonly otlpGrpcPort: number | undefined;
  /** Port of the extra Zipkin listener; undefined when off (zipkin.port: 0; the main port serves Zipkin too). */
  readonly zipkinPort: number | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Receives the alerts that alerting rules send (firing, re-sent, resolved). */
  readonly notifyAlerts?: NotifyFn;
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
    // So does an invalid Alertmanager configuration, as in Alertmanager.
    const amConfig = cfg.alerting.config_file
      ? loadAlertmanagerConfigFile(cfg.alerting.config_file)
      : loadAlertmanagerConfigText(DEFAULT_ALERTMANAGER_CONFIG_YAML, '<default alertmanager config>');
    const sql = openTransport(cfg);
    closers.push(() => sql.close());
    const storage = await ClickHouseStorage.open(sql, {
      database: cfg.storage.clickhouse?.database ?? 'vigil',
      retentionMs: cfg.storage.retention,
      maxPendingSamples: cfg.storage.max_pending_samples,
      rollups: cfg.storage.rollups.map((r) => ({ resolutionMs: r.resolution, retentionMs: r.retention })),
      headWindowMs: cfg.storage.head_window ?? (sql.kind === 'chdb' ? 2 * 3_600_000 : 0),
      log,
    });
    closers.push(() => storage.close());
    log(`storage: ${sql.kind}, ${storage.index.size} series loaded`);
    const spans = await ClickHouseSpanStore.open(sql, {
      database: cfg.storage.clickhouse?.database ?? 'vigil',
      retentionMs: cfg.traces.retention,
      walDir: cfg.traces.write_ahead_log ? join(cfg.data_dir, 'traces-wal') : undefined,
      log,
    });
    closers.push(() => spans.close());
    const alertHistory = await ClickHouseAlertHistoryStore.open(sql, {
      database: cfg.storage.clickhouse?.database ?? 'vigil',
      retentionMs: cfg.alerting.history_retention,
    });
    closers.push(() => alertHistory.close());
    const exemplars = await ClickHouseExemplarStore.open(sql, {
      database: cfg.storage.clickhouse?.database ?? 'vigil',
      retentionMs: cfg.storage.retention,
    });
    closers.push(() => exemplars.close());
    // Set once the metric writers exist below; no span arrives before the servers listen.
    let spanMetrics: SpanMetricsFlusher | undefined;
    const traceIngest: TraceIngestDeps = {
      store: spans,
      maxAttributeValueBytes: cfg.traces.max_attribute_value_size,
      onStored: (stored) => spanMetrics?.observe(stored),
      onStoredError: (err) => log(`span metrics: ${(err as Error).message}`),
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
    const committed = commits.wrap(storage);
    // Ingestion also reports which metrics it wrote, so alerting rules reading them evaluate at once.
    const ingested = new IngestedNames();
    const written = ingested.wrap(committed);
    const ingest: IngestDeps = {
      storage: written,
      limits: { ...DEFAULT_INGEST_LIMITS, maxFutureMs: cfg.ingest.max_future },
      exemplars,
    };
    if (cfg.traces.span_metrics.enabled) {
      const sm = cfg.traces.span_metrics;
      const flusher = new SpanMetricsFlusher({
        aggregator: new SpanMetricsAggregator({
          buckets: sm.buckets.map((ms) => ms / 1000),
          maxSeries: sm.max_series,
          expirationMs: sm.expiration,
          constLabels: { job: 'vigil-spanmetrics', instance: hostname() },
        }),
        storage: written,
        exemplars,
        intervalMs: sm.flush_interval,
        log,
      });
      flusher.start();
      spanMetrics = flusher;
      // Closed before the storages (closers run in reverse): a last flush keeps the final interval's spans.
      closers.push(() => flusher.stop());
    }

    const scrape = new ScrapeManager({ storage: written, exemplars, log });
    closers.push(() => scrape.stop());
    let listenPort = cfg.server.port; // the real port once listening (configured as 0 in tests)
    // Closed after the pipeline stops (closers run in reverse), so its last changes are written.
    const historyWriter = new AlertHistoryWriter({ store: alertHistory, log });
    closers.push(() => historyWriter.close());
    // One cached read of the trace service graph, for the pipeline's correlation.
    const serviceGraph = spanTopology(spans);
    const alerts = await AlertPipeline.start({
      config: amConfig,
      kv: state.kv,
      get externalURL() {
        return cfg.alerting.external_url || `http://${hostname()}:${listenPort}`;
      },
      log,
      dedup: cfg.alerting.dedup,
      severity: cfg.alerting.severity_classes ? new SeverityNormalizer(cfg.alerting.severity_map) : undefined,
      storm: stormOptionsOf(cfg.alerting.storm),
      topology: serviceGraph,
    });
    historyWriter.attach(alerts);
    closers.push(() => alerts.stop());
    // On-call documents from the file first: the incident service routes with the policies it defines.
    if (cfg.incidents.oncall_file !== '') {
      const n = await provisionOncall(
        state,
        cfg.incidents.oncall_file,
        amConfig.receivers.map((r) => r.name),
      );
      log(
        `on-call: ${n.users} user(s), ${n.teams} team(s), ${n.schedules} schedule(s), ${n.policies} policies`,
      );
    }
    const externalURL = () => cfg.alerting.external_url || `http://${hostname()}:${listenPort}`;
    const incidents = await IncidentService.start({
      state,
      alerts,
      clock: alerts.clock,
      pager: notifyPager(() => alerts.config),
      externalURL,
      settings: {
        autoResolve: cfg.incidents.auto_resolve,
        reopenGraceMs: cfg.incidents.reopen_grace,
        linkTtlMs: cfg.incidents.link_ttl,
      },
      receivers: () => alerts.config.receivers.map((r) => r.name),
      log,
    });
    // Stopped before the pipeline and the state store (closers run in reverse).
    closers.push(() => incidents.stop());
    const rules = new RuleManager(ruleFiles.groups, {
      query: engineQueryFn(engine, storage),
      rangeQuery: engineRangeQueryFn(engine, storage),
      append: storageAppendFn(committed),
      notify:
        opts.notifyAlerts ??
        (async (sent) => {
          const r = await alerts.receive(sent, 'rules');
          if (r.rejected.length)
            throw new Error(`alerts rejected: ${r.rejected.map((x) => x.error).join('; ')}`);
        }),
      resendDelayMs: cfg.alerting.resend_delay,
      forOutageToleranceMs: cfg.alerting.for_outage_tolerance,
      forGracePeriodMs: cfg.alerting.for_grace_period,
      alertContext: {
        externalLabels: cfg.global.externalLabels,
        get externalURL() {
          return cfg.alerting.external_url || `http://${hostname()}:${listenPort}`;
        },
      },
      ingest: cfg.alerting.evaluate_on_ingest
        ? {
            subscribe: ingested.subscribe,
            delayMs: cfg.alerting.ingest_delay,
            minIntervalMs: cfg.alerting.ingest_min_interval,
            concurrency: cfg.alerting.ingest_concurrency,
            busyShare: cfg.alerting.ingest_busy_share,
          }
        : undefined,
      kv: state.kv,
      defaultIntervalMs: cfg.global.evaluationIntervalMs,
      log,
    });

    // Health checks write through `written`, so live views and alerting rules see probe results at once.
    const healthChecks = new HealthChecker({ storage: written, checks: cfg.health_checks, log });
    // Vigil's host collector (started with self-monitoring below), a component like a scrape job `node`.
    let host: HostCollector | undefined;
    // Data-flow validation reads the counters through PromQL and raises its alerts in the pipeline.
    const flows = new FlowMonitor({
      flows: cfg.flows,
      query: engineQueryFn(engine, storage),
      sink: alerts,
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
        exemplars,
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
    await server.register(anomalyApi({ storage, engine, queryTimeoutMs: cfg.query.timeout }));
    const reloadRules = async () => {
      // The Alertmanager configuration is read first: an invalid file fails the reload before anything changes.
      const am = cfg.alerting.config_file ? loadAlertmanagerConfigFile(cfg.alerting.config_file) : undefined;
      await reloadRuleFiles(cfg.rule_files, (groups) => rules.reload(groups));
      if (am) await alerts.reload(am);
    };
    await server.register(rulesApi({ groups: () => rules.groups, reload: reloadRules }));
    await server.register(remoteWritePlugin(ingest));
    await server.register(otlpHttpPlugin(ingest));
    await server.register(otlpTracesPlugin(traceIngest));
    await server.register(zipkinPlugin(traceIngest));
    await server.register(jaegerApi({ spans }));
    await server.register(tracesApi({ spans }));
    await server.register(traceAnalysisApi({ spans }));
    await server.register(alertmanagerApi({ pipeline: alerts, versionInfo: buildInfo() }));
    await server.register(alertSourcesApi({ pipeline: alerts, webhooks: cfg.alerting.webhooks }));
    await server.register(correlationApi({ alerts, spans, log }));
    await server.register(alertHistoryApi({ history: alertHistory }));
    await server.register(incidentsApi({ state, incidents, externalURL, spans }));
    await server.register(oncallApi({ state, incidents }));
    await server.register(
      remoteReadPlugin({ storage, maxSamples: cfg.query.max_samples, timeoutMs: cfg.query.timeout }),
    );
    await server.register(backupApi({ storage, config: cfg, spansFlushed: () => spans.flush(), log }));
    await server.register(healthApi({ checks: () => healthChecks.status() }));
    await server.register(flowsApi({ flows: () => flows.status() }));
    await server.register(
      componentsApi({
        storage,
        declared: cfg.components,
        targets: () => scrape.targets(),
        host: () => host && hostTarget(host.health(), hostname(), cfg.self_monitoring.host_interval),
        checks: () => healthChecks.status(),
        checkConfigs: cfg.health_checks,
        alerts: (now) => alerts.activeAlerts(now),
        spans,
      }),
    );
    closers.push(() => server.close());
    await server.listen({ host: cfg.server.listen_address, port: cfg.server.port });
    const port = (server.server.address() as { port: number }).port;
    listenPort = port;
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

    let otlpGrpcPort: number | undefined;
    if (cfg.otlp.grpc_port !== 0) {
      const grpc = await startOtlpGrpcServer({
        host: cfg.server.listen_address,
        port: cfg.otlp.grpc_port,
        traces: traceIngest,
        metrics: ingest,
        maxMessageBytes: cfg.server.max_body_size,
        log,
      });
      closers.push(() => grpc.close());
      otlpGrpcPort = grpc.port;
      log(`OTLP/gRPC on ${cfg.server.listen_address}:${otlpGrpcPort}`);
    }

    let zipkinPort: number | undefined;
    if (cfg.zipkin.port !== 0 && cfg.zipkin.port !== cfg.server.port) {
      const zipkin = createServer({ bodyLimit: cfg.server.max_body_size });
      await zipkin.register(zipkinPlugin(traceIngest));
      closers.push(() => zipkin.close());
      await zipkin.listen({ host: cfg.server.listen_address, port: cfg.zipkin.port });
      zipkinPort = (zipkin.server.address() as { port: number }).port;
      log(`Zipkin on ${cfg.server.listen_address}:${zipkinPort}`);
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
      host = new HostCollector({
        storage: written,
        intervalMs: cfg.self_monitoring.host_interval,
        instance: hostname(),
      });
      host.start();
      const started = host;
      closers.push(() => started.stop());
    }
    healthChecks.start();
    closers.push(() => healthChecks.stop());
    if (cfg.health_checks.length) log(`health checks: ${cfg.health_checks.length} configured`);
    flows.start();
    closers.push(() => flows.stop());
    if (cfg.flows.length) log(`flows: ${cfg.flows.length} configured`);

    await rules.start();
    closers.push(() => rules.stop());
    // SIGHUP reloads the rule files, as in Prometheus; a failed reload keeps the previous rules.
    const onHup = () =>
      void reloadRules().then(
        () => log(`rules reloaded: ${rules.groups.length} group(s)`),
        (err: Error) => log(`rules reload failed, previous rules kept: ${err.message}`),
      );
    process.on('SIGHUP', onHup);
    closers.push(async () => void process.off('SIGHUP', onHup));
    if (ruleFiles.files.length)
      log(`rules: ${rules.groups.length} group(s) from ${ruleFiles.files.length} file(s)`);

    // Keep the storage-size gauges of /metrics current.
    const refreshStats = () =>
      void storage.stats().catch((err: Error) => log(`storage stats: ${err.message}`));
    refreshStats();
    const statsTimer = setInterval(refreshStats, 15_000);
    closers.push(async () => clearInterval(statsTimer));

    return {
      config: cfg,
      storage,
      state,
      spans,
      rules,
      alerts,
      incidents,
      server,
      port,
      otlpPort,
      otlpGrpcPort,
      zipkinPort,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
