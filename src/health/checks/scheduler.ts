/**
 * Runs every configured health check on its own interval and writes the results as the blackbox exporter's
 * metrics (`probe_success`, `probe_duration_seconds`, and each kind's gauges) with labels job, instance
 * (the target), check and kind. Keeps each check's last result and a short history in memory for the API.
 * When a check stops producing a series (a gauge only some results carry), or the scheduler stops, the series
 * gets a stale marker, as after a Prometheus scrape.
 */
import { METRIC_NAME, STALE_NAN, labelsKey, type Labels } from '../../model/labels.ts';
import type { Storage } from '../../store/interface.ts';
import type { CheckKind, HealthCheckConfig } from './config.ts';
import { probeDns } from './dns.ts';
import { probeGrpc } from './grpc.ts';
import { probeHttp } from './http.ts';
import type { ProbeResult } from './probe.ts';
import { probeTcp } from './tcp.ts';

/** Entries kept per check in `history`. */
export const HISTORY_LENGTH = 60;

export type Prober = (check: HealthCheckConfig) => Promise<ProbeResult>;

export const PROBERS: Record<CheckKind, Prober> = {
  http: probeHttp,
  https: probeHttp,
  tcp: probeTcp,
  grpc: probeGrpc,
  dns: probeDns,
};

export interface CheckHistoryEntry {
  /** Start of the probe, ms since the epoch. */
  readonly t: number;
  readonly up: boolean;
  readonly durationMs: number;
}

/** A check as the API shows it. `up` and `lastRun` are undefined until the first probe ends. */
export interface CheckStatus {
  readonly name: string;
  readonly kind: CheckKind;
  readonly target: string;
  readonly up: boolean | undefined;
  readonly lastRun: number | undefined;
  readonly durationMs: number | undefined;
  readonly reason: string;
  /** Oldest first, at most HISTORY_LENGTH entries. */
  readonly history: readonly CheckHistoryEntry[];
}

export interface HealthCheckerDeps {
  readonly storage: Storage;
  readonly checks: readonly HealthCheckConfig[];
  /** Failed writes (storage errors) are reported here; probing carries on. */
  readonly log?: (msg: string) => void;
}

interface CheckState {
  readonly check: HealthCheckConfig;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  last: ProbeResult | undefined;
  lastRun: number | undefined;
  history: CheckHistoryEntry[];
  /** Series written by the last round, by canonical key. */
  previous: Map<string, Labels>;
}

/**
 * Periodic probing. `start()` probes every check at once, then each on its interval (a probe never overlaps
 * the next of the same check); `stop()` waits for probes in flight and marks every written series stale.
 * Not reusable after stop. `status()` is safe to call at any time.
 */
export class HealthChecker {
  private readonly states: CheckState[];
  private started = false;
  private stopped = false;

  constructor(private readonly deps: HealthCheckerDeps) {
    this.states = deps.checks.map((check) => ({
      check,
      timer: undefined,
      running: undefined,
      last: undefined,
      lastRun: undefined,
      history: [],
      previous: new Map(),
    }));
  }

  start(): void {
    if (this.started) throw new Error('health checker already started');
    this.started = true;
    for (const s of this.states) this.tick(s);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.states) clearTimeout(s.timer);
    await Promise.all(this.states.map((s) => s.running));
    const app = this.deps.storage.appender();
    const t = Date.now();
    for (const s of this.states) {
      for (const labels of s.previous.values()) app.append(labels, t, STALE_NAN);
      s.previous = new Map();
    }
    if (app.count === 0) return app.rollback();
    try {
      await app.commit();
    } catch (err) {
      this.deps.log?.(`health checks: writing stale markers: ${(err as Error).message}`);
    }
  }

  status(): CheckStatus[] {
    return this.states.map((s) => ({
      name: s.check.name,
      kind: s.check.kind,
      target: s.check.target,
      up: s.last?.success,
      lastRun: s.lastRun,
      durationMs: s.last?.durationMs,
      reason: s.last?.reason ?? '',
      history: s.history.slice(),
    }));
  }

  /**
   * Probes one check now and writes its result; resolves when written. Used by the timer and by tests (do not
   * call it for a check whose timer runs). Never rejects: storage errors go to the log.
   */
  async runOnce(name: string): Promise<CheckStatus> {
    const s = this.states.find((x) => x.check.name === name);
    if (!s) throw new RangeError(`no health check named ${JSON.stringify(name)}`);
    await this.probeAndWrite(s);
    return this.status().find((x) => x.name === name)!;
  }

  private tick(s: CheckState): void {
    if (this.stopped) return;
    const started = Date.now();
    s.running = this.probeAndWrite(s).finally(() => {
      s.running = undefined;
      if (this.stopped) return;
      const wait = Math.max(0, s.check.interval - (Date.now() - started));
      s.timer = setTimeout(() => this.tick(s), wait);
      // Probing alone must not keep the process alive.
      s.timer.unref();
    });
  }

  private async probeAndWrite(s: CheckState): Promise<void> {
    const t = Date.now();
    let result: ProbeResult;
    try {
      result = await PROBERS[s.check.kind](s.check);
    } catch (err) {
      // Probers return failures; anything thrown is a bug, still reported as a failed probe.
      result = {
        success: false,
        reason: `probe error: ${(err as Error).message}`,
        durationMs: 0,
        gauges: [],
      };
    }
    s.last = result;
    s.lastRun = t;
    s.history.push({ t, up: result.success, durationMs: result.durationMs });
    if (s.history.length > HISTORY_LENGTH) s.history.splice(0, s.history.length - HISTORY_LENGTH);
    await this.write(s, t, result);
  }

  private async write(s: CheckState, t: number, r: ProbeResult): Promise<void> {
    const c = s.check;
    const base: Labels = { ...c.labels, job: c.job, instance: c.target, check: c.name, kind: c.kind };
    const app = this.deps.storage.appender();
    const seen = new Map<string, Labels>();
    const add = (name: string, value: number, help: string, extra?: Readonly<Record<string, string>>) => {
      const labels: Labels = { ...base, ...extra, [METRIC_NAME]: name };
      const key = labelsKey(labels);
      if (seen.has(key)) return;
      seen.set(key, labels);
      app.append(labels, t, value);
      app.appendMetadata(name, { type: 'gauge', help, unit: '' });
    };
    add('probe_success', r.success ? 1 : 0, 'Displays whether or not the probe was a success');
    add(
      'probe_duration_seconds',
      r.durationMs / 1000,
      'Returns how long the probe took to complete in seconds',
    );
    for (const g of r.gauges) add(g.name, g.value, g.help, g.labels);
    for (const [key, labels] of s.previous) if (!seen.has(key)) app.append(labels, t, STALE_NAN);
    try {
      await app.commit();
      s.previous = seen;
    } catch (err) {
      this.deps.log?.(`health check ${c.name}: writing results: ${(err as Error).message}`);
    }
  }
}
