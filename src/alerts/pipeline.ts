/**
 * The alert pipeline: alert store → dispatcher (routes, aggregation groups) → notification stages →
 * integrations, with silences, inhibition and the notification log. Implements `AlertSink` for producers
 * and offers the queries the Alertmanager API v2 answers.
 */
import type { Labels } from '../model/labels.ts';
import { systemClock, type Clock } from '../rules/clock.ts';
import type { JsonValue, KvRepo } from '../state/interface.ts';
import type { Integration } from '../notify/integration.ts';
import { alertsInvalidTotal, alertsReceivedTotal } from '../notify/metrics.ts';
import { buildIntegrations, unsupportedIntegrations } from '../notify/receivers.ts';
import type { AlertmanagerConfig, Route } from './config/load.ts';
import type { AggregationGroup } from './dispatch.ts';
import { Dispatcher, matchRoutes, type NotificationRecord } from './dispatch.ts';
import { Inhibitor } from './inhibit.ts';
import { fingerprint, isResolved, normalizeAlert } from './model.ts';
import { kvNflogStorage, NotificationLog } from './nflog.ts';
import { kvSilenceStorage, memorySilenceStorage, Silences } from './silences.ts';
import type { AlertSink, PostableAlert, ReceiveResult, RejectedAlert } from './sink.ts';
import { AlertStore, type StoredAlert } from './store.ts';
import { Deduplicator, type AlertSource, type DedupConfig } from './dedup.ts';
import type { SeverityNormalizer } from './severity.ts';
import { kvRecordStorage, RECORD_MAX, RECORD_RETENTION_MS, type RecordStorage } from './records.ts';
import type { DeferredJob } from './dispatch.ts';
import { Correlator } from './correlate/correlator.ts';
import type { CorrelationOptions, Topology } from './correlate/model.ts';
import { FLAPPING_ANNOTATION, StormStage, type StormOptions } from './storm/stage.ts';
import { StormRunner } from './storm/runner.ts';
import { flapHeldTotal, stormAbsorbedTotal } from './storm/metrics.ts';

export interface AlertPipelineOptions {
  readonly config: AlertmanagerConfig;
  readonly clock?: Clock;
  /** Persists silences, the notification log and notification records; in memory when absent. */
  readonly kv?: KvRepo;
  /** Shown to receivers as `externalURL` (Alertmanager's --web.external-url). */
  readonly externalURL: string;
  readonly log?: (msg: string) => void;
  /** Replaces the integrations built from the configuration (tests). */
  readonly integrations?: ReadonlyMap<string, readonly Integration[]>;
  /** How many notification records are kept in memory for `notifications()`. */
  readonly recordLimit?: number;
  /** De-duplication across sources (docs/alerting.md); absent = Alertmanager's plain fingerprint identity. */
  readonly dedup?: DedupConfig;
  /** Maps `severity` onto the four classes before routing; absent = labels kept as sent. */
  readonly severity?: SeverityNormalizer;
  /** Storm protection (docs/storm.md); absent = notifications exactly as Alertmanager sends them. */
  readonly storm?: Partial<StormOptions>;
  /** Reads the service graph correlation uses (may cache); absent = labels and time only. */
  readonly topology?: () => Promise<Topology>;
  /** Correlation's settings (docs/correlation.md); absent = its defaults. */
  readonly correlation?: Partial<CorrelationOptions>;
}

/** An alert's status as API v2 shows it. */
export interface AlertStatus {
  readonly state: 'active' | 'suppressed' | 'unprocessed';
  readonly silencedBy: string[];
  readonly inhibitedBy: string[];
}

/**
 * A change of an alert's state seen at `receive`: `firing` when a new or resolved alert fires (with
 * `suppressed` after it when a silence or inhibition mutes it at once), `resolved` when a firing alert is
 * sent resolved, or, for an alert resolved by resolve_timeout (not sent again), at the next maintenance with
 * source `resolve_timeout` and `at` = its endsAt.
 */
export interface AlertChange {
  readonly alert: StoredAlert;
  readonly event: 'firing' | 'resolved' | 'suppressed' | 'unsuppressed';
  readonly source: string;
  /** When the change was seen (epoch ms). */
  readonly at: number;
}

const MAINTENANCE_MS = 15 * 60_000;
/** Where storm protection's state is kept (state store key-value), and how often it is saved while running. */
const STORM_NAMESPACE = 'alerting.storm';
const STORM_KEY = 'state';
const STORM_SAVE_MS = 30_000;

export class AlertPipeline implements AlertSink {
  readonly store = new AlertStore();
  private readonly dedup: Deduplicator | undefined;
  readonly startedAt: number;
  private current: AlertmanagerConfig;
  private dispatcher: Dispatcher;
  private inhibitor: Inhibitor;
  private readonly records: NotificationRecord[] = [];
  private readonly listeners = new Set<(r: NotificationRecord) => void>();
  private readonly changeListeners = new Set<(c: AlertChange) => void>();
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly stopMaintenance = new AbortController();
  private maintenance: Promise<void> = Promise.resolve();
  readonly clock: Clock;
  private readonly log: (msg: string) => void;
  private integrations: ReadonlyMap<string, readonly Integration[]>;
  /** Storm protection's stage and its runner; undefined when it is off. */
  readonly storm: StormStage<DeferredJob> | undefined;
  private readonly stormRunner: StormRunner | undefined;
  /**
   * The one correlation of the current alerts: storm protection, the incident service and the correlations
   * API all read their groups (and group IDs) from it.
   */
  readonly correlator: Correlator;
  private stormSaver: ReturnType<typeof setInterval> | undefined;
  /** The last storm state saved (with savedAt zeroed), to skip saving an unchanged one. */
  private stormSaved: string | undefined;

  private constructor(
    config: AlertmanagerConfig,
    readonly silences: Silences,
    private readonly nflog: NotificationLog,
    private readonly recordStorage: RecordStorage | undefined,
    private readonly opts: AlertPipelineOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? (() => {});
    this.startedAt = this.clock.now();
    this.dedup = opts.dedup ? new Deduplicator(opts.dedup) : undefined;
    this.current = config;
    this.inhibitor = new Inhibitor(
      config.inhibitRules,
      (now) => this.store.firing(now),
      () => this.store.version,
    );
    this.integrations = opts.integrations ?? buildIntegrations(config);
    this.correlator = new Correlator({
      alerts: (now) => this.store.firing(now),
      version: () => this.store.version,
      topology: opts.topology,
      options: opts.correlation,
      log: this.log,
    });
    this.storm = opts.storm
      ? new StormStage<DeferredJob>(opts.storm, (now) => this.correlator.groups(now), {
          absorbed: (receiver, n) => stormAbsorbedTotal.inc({ receiver }, n),
        })
      : undefined;
    this.stormRunner = this.storm
      ? new StormRunner({
          stage: this.storm,
          clock: this.clock,
          integrations: () => this.integrations,
          externalURL: () => this.opts.externalURL,
          lookup: (fp) => this.store.get(fp),
          onNotification: (r) => this.record(r),
          log: this.log,
        })
      : undefined;
    this.dispatcher = this.newDispatcher(config, this.integrations);
  }

  /** The configuration in use (replaced by `reload`). */
  get config(): AlertmanagerConfig {
    return this.current;
  }

  private newDispatcher(
    config: AlertmanagerConfig,
    integrations: ReadonlyMap<string, readonly Integration[]>,
  ) {
    return new Dispatcher({
      clock: this.clock,
      config,
      integrations,
      nflog: this.nflog,
      silencedBy: (l, now) => this.silences.mutedBy(l, now),
      inhibitedBy: (l, now) => this.inhibitor.inhibitedBy(l, now),
      externalURL: () => this.opts.externalURL,
      log: this.log,
      onNotification: (r) => this.record(r),
      storm: this.storm,
      stormWake: () => this.stormRunner?.wake(),
    });
  }

  /**
   * Switches to a new configuration as Alertmanager does on reload: integrations and templates are built
   * first (a failure throws and keeps the old configuration), then the aggregation groups are rebuilt and
   * every current alert is routed again. The notification log keeps already-notified alerts from being
   * sent twice.
   */
  async reload(config: AlertmanagerConfig): Promise<void> {
    const integrations = this.opts.integrations ?? buildIntegrations(config);
    for (const u of unsupportedIntegrations(config))
      this.log(
        `alerting: receiver integration ${u} is not supported by Vigil; its notifications are not sent`,
      );
    await this.dispatcher.stop();
    this.current = config;
    this.integrations = integrations;
    this.inhibitor = new Inhibitor(
      config.inhibitRules,
      (now) => this.store.firing(now),
      () => this.store.version,
    );
    this.dispatcher = this.newDispatcher(config, integrations);
    const now = this.clock.now();
    for (const a of this.store.list()) if (!isResolved(a, now)) this.dispatcher.process(a);
  }

  /** Loads persisted silences and notification log, and starts periodic clean-up. */
  static async start(opts: AlertPipelineOptions): Promise<AlertPipeline> {
    const log = opts.log ?? (() => {});
    const silences = await Silences.open(opts.kv ? kvSilenceStorage(opts.kv) : memorySilenceStorage(), log);
    const nflog = await NotificationLog.open(opts.kv ? kvNflogStorage(opts.kv) : undefined);
    const recordStorage = opts.kv ? kvRecordStorage(opts.kv) : undefined;
    const p = new AlertPipeline(opts.config, silences, nflog, recordStorage, opts);
    if (recordStorage) {
      const stored = await recordStorage.load();
      p.records.push(...stored.slice(-(opts.recordLimit ?? 1000)));
    }
    for (const u of unsupportedIntegrations(opts.config))
      log(`alerting: receiver integration ${u} is not supported by Vigil; its notifications are not sent`);
    await p.restoreStorm();
    p.maintenance = p.runMaintenance();
    p.stormRunner?.start();
    return p;
  }

  /** Takes over storm protection's state saved by the previous run, if any (an unreadable one is logged, not used). */
  private async restoreStorm(): Promise<void> {
    const kv = this.opts.kv;
    if (!kv || !this.storm) return;
    this.stormSaver = setInterval(() => void this.saveStorm(), STORM_SAVE_MS);
    this.stormSaver.unref();
    try {
      const snap = await kv.get(STORM_NAMESPACE, STORM_KEY);
      if (snap === undefined) return;
      this.storm.restore(snap, this.clock.now());
      this.stormSaved = JSON.stringify({ ...(snap as object), savedAt: 0 });
      this.stormRunner?.wake();
    } catch (err) {
      this.log(`storm protection: saved state not used, starting fresh: ${(err as Error).message}`);
    }
  }

  /** Saves storm protection's state when it changed since the last save (failures are logged). */
  private async saveStorm(): Promise<void> {
    const kv = this.opts.kv;
    if (!kv || !this.storm) return;
    const now = this.clock.now();
    try {
      // Nothing worth keeping: no row (or the old one removed), so a quiet Vigil writes nothing here.
      if (this.storm.quiet(now)) {
        if (this.stormSaved !== undefined) await kv.delete(STORM_NAMESPACE, STORM_KEY);
        this.stormSaved = undefined;
        return;
      }
    } catch (err) {
      this.log(`storm protection: removing its saved state failed: ${(err as Error).message}`);
      return;
    }
    const snap = this.storm.snapshot(now);
    const text = JSON.stringify({ ...snap, savedAt: 0 });
    if (text === this.stormSaved) return;
    try {
      await kv.set(STORM_NAMESPACE, STORM_KEY, JSON.parse(JSON.stringify(snap)) as JsonValue);
      this.stormSaved = text;
    } catch (err) {
      this.log(`storm protection: saving its state failed: ${(err as Error).message}`);
    }
  }

  private async runMaintenance(): Promise<void> {
    const signal = this.stopMaintenance.signal;
    while (!signal.aborted) {
      await this.clock.sleep(MAINTENANCE_MS, signal);
      if (signal.aborted) break;
      const now = this.clock.now();
      try {
        if (this.changeListeners.size)
          for (const a of this.store.list())
            if (a.timeout && isResolved(a, now)) this.emit(a, 'resolved', 'resolve_timeout', a.endsAt);
        this.store.gc(now);
        this.dedup?.gc(now);
        this.storm?.gc(now);
        await this.silences.gc(now);
        await this.nflog.gc(now);
        await this.recordStorage?.prune(now - RECORD_RETENTION_MS, RECORD_MAX);
      } catch (err) {
        this.log(`alerting maintenance: ${(err as Error).message}`);
      }
    }
  }

  async receive(alerts: readonly PostableAlert[], source: string): Promise<ReceiveResult> {
    const now = this.clock.now();
    const rejected: RejectedAlert[] = [];
    let accepted = 0;
    for (const [index, input] of alerts.entries()) {
      const a = normalizeAlert(input, now, this.config.global.resolve_timeout);
      if (typeof a === 'string') {
        rejected.push({ index, error: a });
        alertsInvalidTotal.inc({ source });
        continue;
      }
      alertsReceivedTotal.inc({ status: isResolved(a, now) ? 'resolved' : 'firing', source });
      const labels = this.opts.severity ? this.opts.severity.apply(a.labels) : a.labels;
      const merged = this.dedup
        ? this.dedup.add(source, a.labels, { ...a, labels: this.dedup.normalize(labels) }, now)
        : undefined;
      const prev = this.changeListeners.size
        ? this.store.get(fingerprint(merged?.labels ?? labels))
        : undefined;
      let stored = merged
        ? this.store.replace(merged)
        : this.store.put(labels === a.labels ? a : { ...a, labels }, now);
      if (this.storm) {
        const was = this.storm.flaps.isFlapping(stored.fingerprint);
        const flapping = this.storm.observe(stored, this.receiversFor(stored.labels), now);
        if (flapping && !was) flapHeldTotal.inc();
        // Shown in API v2 and templates; a re-post without it replaces the annotations once it is stable.
        if (flapping && stored.annotations[FLAPPING_ANNOTATION] !== 'true')
          stored = this.store.replace({
            ...stored,
            annotations: { ...stored.annotations, [FLAPPING_ANNOTATION]: 'true' },
          });
      }
      if (this.changeListeners.size) this.changed(prev, stored, source, now);
      this.dispatcher.process(stored);
      accepted++;
    }
    return { accepted, rejected };
  }

  /** Receivers an alert is routed to, in route order, each once. */
  receiversFor(labels: Labels): string[] {
    return [...new Set(matchRoutes(this.config.route, labels).map((r: Route) => r.receiver))];
  }

  status(labels: Labels, now = this.clock.now()): AlertStatus {
    const silencedBy = this.silences.mutedBy(labels, now);
    const inhibitedBy = this.inhibitor.inhibitedBy(labels, now);
    return {
      state: silencedBy.length || inhibitedBy.length ? 'suppressed' : 'active',
      silencedBy,
      inhibitedBy,
    };
  }

  /** Alerts not yet resolved, ordered by fingerprint. */
  activeAlerts(now = this.clock.now()): StoredAlert[] {
    return this.store.firing(now);
  }

  /** The senders of the alert with this fingerprint, first seen first; empty without de-duplication. */
  sourcesOf(fp: string): AlertSource[] {
    return this.dedup?.sources(fp) ?? [];
  }

  /** Fingerprints of alerts merged from several sources. */
  mergedAlerts(): string[] {
    return this.dedup?.merged() ?? [];
  }

  groups(): AggregationGroup[] {
    return this.dispatcher.list();
  }

  /** The most recent notification records, oldest first. */
  notifications(): readonly NotificationRecord[] {
    return this.records;
  }

  /** Calls `fn` for every notification record (delivered or failed); returns an unsubscribe function. */
  onNotification(fn: (r: NotificationRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls `fn` for every alert state change (see AlertChange); returns an unsubscribe function. */
  onAlertChange(fn: (c: AlertChange) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  private changed(prev: StoredAlert | undefined, alert: StoredAlert, source: string, at: number): void {
    const wasFiring = prev !== undefined && !isResolved(prev, at);
    const firing = !isResolved(alert, at);
    const events: AlertChange['event'][] = [];
    if (firing && !wasFiring) {
      events.push('firing');
      if (this.status(alert.labels, at).state === 'suppressed') events.push('suppressed');
    } else if (!firing && wasFiring) events.push('resolved');
    for (const event of events) this.emit(alert, event, source, at);
  }

  private emit(alert: StoredAlert, event: AlertChange['event'], source: string, at: number): void {
    for (const fn of this.changeListeners) {
      try {
        fn({ alert, event, source, at });
      } catch (err) {
        this.log(`alert change listener: ${(err as Error).message}`);
      }
    }
  }

  private record(r: NotificationRecord): void {
    this.records.push(r);
    if (this.recordStorage) {
      const w: Promise<void> = this.recordStorage
        .save(r)
        .catch((err: Error) => this.log(`notification record ${r.id}: not stored: ${err.message}`))
        .finally(() => this.pendingWrites.delete(w));
      this.pendingWrites.add(w);
    }
    const limit = this.opts.recordLimit ?? 1000;
    if (this.records.length > limit) this.records.splice(0, this.records.length - limit);
    for (const fn of this.listeners) {
      try {
        fn(r);
      } catch (err) {
        this.log(`notification listener: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopMaintenance.abort();
    clearInterval(this.stormSaver);
    await this.dispatcher.stop();
    await this.stormRunner?.stop();
    await this.saveStorm();
    await this.correlator.idle();
    await this.maintenance;
    await Promise.all([...this.pendingWrites]);
  }
}
