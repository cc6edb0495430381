/**
 * One target's scrape loop: fetch on a fixed, per-target phase; parse; attach target labels; metric relabeling;
 * limits; write samples, report series (`up`, `scrape_*`) and stale markers in one appender per scrape.
 * Every loop runs on its own timers and its own fetch, so a slow or hung target never delays another.
 */
import { readFile } from 'node:fs/promises';
import { formatDuration } from '../../model/duration.ts';
import {
  METRIC_NAME,
  STALE_NAN,
  formatLabels,
  labelsKey,
  seriesId,
  type Labels,
} from '../../model/labels.ts';
import {
  InvalidSampleError,
  checkExemplarLabels,
  validateLabelPairs,
  validateTimestamp,
} from '../validate.ts';
import { storeExemplars, type ExemplarDrop } from '../http.ts';
import { samplesIngested, scrapesTotal } from '../../self/metrics.ts';
import type { ExemplarRecord, ExemplarStore } from '../../store/exemplars.ts';
import type { MetricMetadata, Storage } from '../../store/interface.ts';
import type { ResolvedScrapeConfig } from './config.ts';
import { SCRAPE_ACCEPT_HEADER, formatFromContentType, parseExposition, type ParseResult } from './parse.ts';
import { copyLabels, getLabel, setLabel } from './labelobj.ts';
import { relabel, type CompiledRelabel } from './relabel.ts';
import { globalUrl, type ScrapeTarget } from './target.ts';

/** A scrape that failed for a reason the target or its page caused; becomes `lastError`. */
export class ScrapeError extends Error {
  override name = 'ScrapeError';
}

export type TargetHealth = 'up' | 'down' | 'unknown';

/** One entry of /api/v1/targets' activeTargets, in Prometheus' shape. */
export interface TargetStatus {
  readonly discoveredLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly globalUrl: string;
  readonly lastError: string;
  /** RFC 3339; Go's zero time when never scraped, as Prometheus reports it. */
  readonly lastScrape: string;
  /** Seconds. */
  readonly lastScrapeDuration: number;
  readonly health: TargetHealth;
  readonly scrapeInterval: string;
  readonly scrapeTimeout: string;
}

export interface LoopDeps {
  readonly storage: Storage;
  /** Where OpenMetrics exemplars are kept; without it they are parsed and not stored. */
  readonly exemplars?: ExemplarStore;
  readonly now: () => number;
  readonly fetch: typeof fetch;
  readonly log: (msg: string) => void;
}

/** The pool-level settings a loop runs with (shared by all loops of a job). */
export interface LoopConfig {
  readonly cfg: ResolvedScrapeConfig;
  readonly metricRules: readonly CompiledRelabel[];
}

interface SeriesRef {
  readonly labels: Labels;
  /** Whether the series gets a stale marker when it disappears (not for samples with their own timestamps). */
  readonly tracked: boolean;
}

/** State carried over when a loop is replaced by one for the same target after a config reload. */
export interface LoopState {
  readonly series: Map<string, SeriesRef>;
  readonly metadata: Map<string, string>;
  /** Identity of the last exemplar stored per series key, so a page repeating it does not store it again. */
  readonly exemplarKeys: Map<string, string>;
  readonly health: TargetHealth;
  readonly lastError: string;
  readonly lastScrapeMs: number | undefined;
  readonly lastDurationS: number;
  readonly scrapedOnce: boolean;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const REPORT_METRICS = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
] as const;

interface PreparedSample {
  readonly labels: Labels;
  readonly key: string;
  readonly t: number;
  readonly v: number;
  readonly tracked: boolean;
  /** The sample's exemplar, checked, with its series labels; and its identity for the repeat check. */
  readonly exemplar?: ExemplarRecord;
  readonly exemplarKey?: string;
}

interface PreparedScrape {
  readonly samples: PreparedSample[];
  readonly exemplarDrops: ExemplarDrop[];
}

/**
 * Adds the target labels to a scraped label set. honor_labels keeps scraped values on conflict; otherwise the
 * target's value wins and the scraped one moves to `exported_<name>` (more prefixes until the name is free).
 */
export function mergeTargetLabels(
  scraped: Readonly<Record<string, string>>,
  target: Readonly<Record<string, string>>,
  honorLabels: boolean,
): Record<string, string> {
  const lb = copyLabels(scraped);
  if (honorLabels) {
    for (const n of Object.keys(target)) if (!Object.hasOwn(scraped, n)) setLabel(lb, n, target[n]!);
    return lb;
  }
  const conflicts: [string, string][] = [];
  for (const n of Object.keys(target)) {
    const existing = getLabel(scraped, n);
    if (existing) conflicts.push([n, existing]);
    lb[n] = target[n]!;
  }
  conflicts.sort((a, b) => a[0].length - b[0].length);
  for (const [n, v] of conflicts) {
    let name = n;
    for (;;) {
      name = 'exported_' + name;
      if (!lb[name]) {
        lb[name] = v;
        break;
      }
    }
  }
  return lb;
}

export class ScrapeLoop {
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  /** Aborts the scrape in flight: on timeout, or when the loop stops. */
  private current: AbortController | undefined;
  private stopped = false;
  private scheduledAt = 0;
  private readonly offsetMs: number;

  private series = new Map<string, SeriesRef>();
  private metadata = new Map<string, string>();
  private exemplarKeys = new Map<string, string>();
  private health: TargetHealth = 'unknown';
  private lastError = '';
  private lastScrapeMs: number | undefined;
  private lastDurationS = 0;
  private scrapedOnce = false;

  constructor(
    readonly target: ScrapeTarget,
    private readonly pool: LoopConfig,
    private readonly deps: LoopDeps,
  ) {
    // Spread loops over the interval by a stable hash of the target, as Prometheus does.
    this.offsetMs = Number(seriesId(pool.cfg.jobName + '\u0000' + target.key) % BigInt(target.intervalMs));
  }

  /** Adopts the state of the loop this one replaces (same target, new config). Call before start(). */
  adopt(state: LoopState): void {
    this.series = state.series;
    this.metadata = state.metadata;
    this.exemplarKeys = state.exemplarKeys;
    this.health = state.health;
    this.lastError = state.lastError;
    this.lastScrapeMs = state.lastScrapeMs;
    this.lastDurationS = state.lastDurationS;
    this.scrapedOnce = state.scrapedOnce;
  }

  state(): LoopState {
    return {
      series: this.series,
      metadata: this.metadata,
      exemplarKeys: this.exemplarKeys,
      health: this.health,
      lastError: this.lastError,
      lastScrapeMs: this.lastScrapeMs,
      lastDurationS: this.lastDurationS,
      scrapedOnce: this.scrapedOnce,
    };
  }

  start(): void {
    if (this.stopped || this.timer) return;
    this.scheduleNext(Date.now());
  }

  /**
   * Stops the loop: cancels the timer and any scrape in flight (its results are discarded). With `stale`, writes
   * stale markers for the series of the last successful scrape and for the report series.
   */
  async stop(stale: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.current?.abort(new ScrapeError('scrape loop stopped'));
    if (this.inflight) await this.inflight;
    if (!stale || !this.scrapedOnce) return;
    const app = this.deps.storage.appender();
    const t = this.deps.now();
    for (const ref of this.series.values()) if (ref.tracked) app.append(ref.labels, t, STALE_NAN);
    for (const name of REPORT_METRICS)
      app.append({ ...this.target.labels, [METRIC_NAME]: name }, t, STALE_NAN);
    try {
      await app.commit();
    } catch (err) {
      this.deps.log(
        `scrape ${this.pool.cfg.jobName} ${this.target.url}: writing stale markers failed: ${(err as Error).message}`,
      );
    }
    this.series = new Map();
  }

  status(): TargetStatus {
    return {
      discoveredLabels: this.target.discoveredLabels,
      labels: this.target.labels,
      scrapePool: this.pool.cfg.jobName,
      scrapeUrl: this.target.url,
      globalUrl: globalUrl(this.target.url),
      lastError: this.lastError,
      lastScrape: this.lastScrapeMs === undefined ? ZERO_TIME : new Date(this.lastScrapeMs).toISOString(),
      lastScrapeDuration: this.lastDurationS,
      health: this.health,
      scrapeInterval: formatDuration(this.target.intervalMs),
      scrapeTimeout: formatDuration(this.target.timeoutMs),
    };
  }

  /** Schedules the next tick at the first instant after `from` that is on this target's phase. */
  private scheduleNext(from: number): void {
    if (this.stopped) return;
    const interval = this.target.intervalMs;
    const base = Math.max(from, this.scheduledAt + 1);
    const sinceOffset = (((base - this.offsetMs) % interval) + interval) % interval;
    const at = base + (sinceOffset === 0 ? 0 : interval - sinceOffset);
    this.scheduledAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - Date.now()));
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.inflight = this.scrapeOnce()
      .catch((err: unknown) => {
        this.deps.log(
          `scrape ${this.pool.cfg.jobName} ${this.target.url}: unexpected error: ${(err as Error).stack ?? String(err)}`,
        );
      })
      .finally(() => {
        this.inflight = undefined;
        this.scheduleNext(Date.now());
      });
  }

  /** One scrape and its write. Never runs concurrently with itself: the next tick is scheduled after it ends. */
  private async scrapeOnce(): Promise<void> {
    const { cfg } = this.pool;
    const ts = this.deps.now();
    const t0 = performance.now();
    let prepared: PreparedSample[] | undefined;
    let exemplarDrops: ExemplarDrop[] = [];
    let parsed: ParseResult | undefined;
    let error: string | undefined;
    const ctrl = new AbortController();
    this.current = ctrl;
    const timeout = setTimeout(
      () => ctrl.abort(new ScrapeError(`scrape timed out after ${formatDuration(this.target.timeoutMs)}`)),
      this.target.timeoutMs,
    );
    try {
      const page = await this.fetchPage(ctrl.signal);
      parsed = parseExposition(page.body, page.format);
      const p = this.prepare(parsed, ts);
      prepared = p.samples;
      exemplarDrops = p.exemplarDrops;
    } catch (err) {
      // Whatever fetch or the body stream rejected with, an abort is reported by its reason.
      error = this.describeError(ctrl.signal.aborted ? ctrl.signal.reason : err);
    } finally {
      clearTimeout(timeout);
      this.current = undefined;
    }
    const durationS = (performance.now() - t0) / 1000;
    if (this.stopped) return;

    const app = this.deps.storage.appender();
    const next = new Map<string, SeriesRef>();
    let added = 0;
    if (prepared && parsed) {
      for (const s of prepared) {
        app.append(s.labels, s.t, s.v);
        next.set(s.key, { labels: s.labels, tracked: s.tracked });
        if (!this.series.has(s.key)) added++;
      }
      for (const [name, meta] of parsed.metadata) this.appendMetadata(app, name, meta);
    }
    // Series of the previous scrape that are gone now (all of them when this scrape failed) become stale.
    for (const [key, ref] of this.series)
      if (ref.tracked && !next.has(key)) app.append(ref.labels, ts, STALE_NAN);
    const report = (name: string, v: number) =>
      app.append({ ...this.target.labels, [METRIC_NAME]: name }, ts, v);
    report('up', error === undefined ? 1 : 0);
    report('scrape_duration_seconds', durationS);
    report('scrape_samples_scraped', parsed && prepared ? parsed.samples.length : 0);
    report('scrape_samples_post_metric_relabeling', prepared ? prepared.length : 0);
    report('scrape_series_added', added);
    const written = app.count;
    try {
      await app.commit();
    } catch (err) {
      this.health = 'down';
      this.lastError = `writing samples failed: ${(err as Error).message}`;
      // Nothing of this scrape was stored: send all metadata again next time.
      this.metadata = new Map();
      this.lastScrapeMs = ts;
      this.lastDurationS = durationS;
      scrapesTotal.inc({ job: cfg.jobName, result: 'failure' });
      this.deps.log(`scrape ${cfg.jobName} ${this.target.url}: ${this.lastError}`);
      return;
    }
    samplesIngested.inc({ protocol: 'scrape' }, written);
    if (prepared) await this.writeExemplars(prepared, exemplarDrops);
    scrapesTotal.inc({ job: cfg.jobName, result: error === undefined ? 'success' : 'failure' });
    this.series = next;
    this.scrapedOnce = true;
    this.health = error === undefined ? 'up' : 'down';
    this.lastError = error ?? '';
    this.lastScrapeMs = ts;
    this.lastDurationS = durationS;
  }

  /**
   * Stores the exemplars of a committed scrape, skipping one equal to the last stored for its series (a page
   * shows the same exemplar until a new observation replaces it). A failed write is logged and retried with
   * the next scrape; it never marks the target down.
   */
  private async writeExemplars(prepared: readonly PreparedSample[], drops: ExemplarDrop[]): Promise<void> {
    const records: ExemplarRecord[] = [];
    const keys = new Map<string, string>();
    for (const s of prepared) {
      if (!s.exemplar) continue;
      keys.set(s.key, s.exemplarKey!);
      if (this.exemplarKeys.get(s.key) !== s.exemplarKey) records.push(s.exemplar);
    }
    const r = await storeExemplars(this.deps.exemplars, records, drops, 'scrape');
    if (r.error) this.deps.log(`scrape ${this.pool.cfg.jobName} ${this.target.url}: ${r.error}`);
    else this.exemplarKeys = keys;
  }

  private appendMetadata(app: ReturnType<Storage['appender']>, name: string, meta: MetricMetadata): void {
    const fp = `${meta.type}\u0000${meta.unit}\u0000${meta.help}`;
    if (this.metadata.get(name) === fp) return;
    this.metadata.set(name, fp);
    app.appendMetadata(name, meta);
  }

  private describeError(err: unknown): string {
    if (err instanceof Error) {
      if (err instanceof ScrapeError) return err.message;
      const cause = (err as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
      return err.name === 'ExpositionParseError' || err.name === 'InvalidSampleError'
        ? `${err.name}: ${detail}`
        : detail;
    }
    return String(err);
  }

  private async fetchPage(
    signal: AbortSignal,
  ): Promise<{ body: string; format: ReturnType<typeof formatFromContentType> }> {
    const { cfg } = this.pool;
    const headers: Record<string, string> = {
      Accept: SCRAPE_ACCEPT_HEADER,
      'Accept-Encoding': cfg.enableCompression ? 'gzip' : 'identity',
      'User-Agent': 'Vigil/0.1',
      'X-Prometheus-Scrape-Timeout-Seconds': String(this.target.timeoutMs / 1000),
    };
    if (cfg.basicAuth) {
      const password = cfg.basicAuth.passwordFile
        ? (await readFile(cfg.basicAuth.passwordFile, 'utf8')).trim()
        : (cfg.basicAuth.password ?? '');
      headers.Authorization =
        'Basic ' + Buffer.from(`${cfg.basicAuth.username}:${password}`).toString('base64');
    } else if (cfg.authorization) {
      const credentials = cfg.authorization.credentialsFile
        ? (await readFile(cfg.authorization.credentialsFile, 'utf8')).trim()
        : (cfg.authorization.credentials ?? '');
      headers.Authorization = `${cfg.authorization.type} ${credentials}`;
    }
    const res = await this.deps.fetch(this.target.url, {
      headers,
      signal,
      redirect: cfg.followRedirects ? 'follow' : 'manual',
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new ScrapeError(`server returned HTTP status ${res.status} ${res.statusText}`.trimEnd());
    }
    const format = formatFromContentType(res.headers.get('content-type'));
    const limit = cfg.bodySizeLimitBytes;
    if (!limit || !res.body) return { body: await res.text(), format };
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new ScrapeError(`response body is larger than body_size_limit (${limit} bytes)`);
      }
      chunks.push(value);
    }
    return { body: Buffer.concat(chunks).toString('utf8'), format };
  }

  /**
   * Target labels, metric relabeling, validation, duplicates and sample_limit; exemplars checked and given
   * their sample's final labels. Throws ScrapeError.
   */
  private prepare(parsed: ParseResult, ts: number): PreparedScrape {
    const { cfg, metricRules } = this.pool;
    const out: PreparedSample[] = [];
    const exemplarDrops: ExemplarDrop[] = parsed.exemplarDrops ? [...parsed.exemplarDrops] : [];
    const seen = new Set<string>();
    let duplicates = 0;
    let outOfBounds = 0;
    for (const s of parsed.samples) {
      const merged = mergeTargetLabels(s.labels, this.target.labels, cfg.honorLabels);
      const lbls = relabel(merged, metricRules);
      if (!lbls) continue;
      if (!lbls[METRIC_NAME])
        throw new ScrapeError(
          `a series has no metric name after metric_relabel_configs: ${formatLabels(lbls)}`,
        );
      validateLabelPairs(Object.entries(lbls), `series ${formatLabels(lbls)}`);
      const key = labelsKey(lbls);
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      const explicit = cfg.honorTimestamps && s.timestampMs !== undefined;
      const t = explicit ? s.timestampMs! : ts;
      if (explicit) {
        try {
          validateTimestamp(t, `series ${formatLabels(lbls)}`, ts);
        } catch (err) {
          if (!(err instanceof InvalidSampleError)) throw err;
          outOfBounds++;
          continue;
        }
      }
      const sample: PreparedSample = {
        labels: lbls,
        key,
        t,
        v: s.value,
        tracked: !explicit || cfg.trackTimestampsStaleness,
      };
      out.push(s.exemplar ? this.withExemplar(sample, s.exemplar, ts, exemplarDrops) : sample);
    }
    if (cfg.sampleLimit > 0 && out.length > cfg.sampleLimit)
      throw new ScrapeError(
        `sample_limit exceeded: ${out.length} samples after relabeling, the limit is ${cfg.sampleLimit}`,
      );
    if (duplicates || outOfBounds)
      this.deps.log(
        `scrape ${cfg.jobName} ${this.target.url}: skipped ${duplicates} duplicate series and ${outOfBounds} samples with timestamps too far in the future`,
      );
    return { samples: out, exemplarDrops };
  }

  /** The sample with its exemplar attached when the exemplar is valid; otherwise the drop is recorded. */
  private withExemplar(
    sample: PreparedSample,
    ex: NonNullable<ParseResult['samples'][number]['exemplar']>,
    scrapeTs: number,
    drops: ExemplarDrop[],
  ): PreparedSample {
    const where = `exemplar of ${formatLabels(sample.labels)}`;
    const checked = checkExemplarLabels(ex.pairs, where);
    if (!checked.ok) {
      drops.push({ message: checked.message, reason: checked.reason });
      return sample;
    }
    // Without its own time, the exemplar is dated by its sample (the scrape time unless the page gave one).
    const t = ex.timestampMs ?? sample.t;
    try {
      validateTimestamp(t, where, scrapeTs);
    } catch (err) {
      if (!(err instanceof InvalidSampleError)) throw err;
      drops.push({
        message: err.message,
        reason: err.reason === 'too_far_in_future' ? 'too_far_in_future' : 'invalid_exemplar',
      });
      return sample;
    }
    const exemplar: ExemplarRecord = {
      seriesLabels: sample.labels,
      labels: checked.labels,
      value: ex.value,
      t,
    };
    // Identity without the scrape time, so an undated exemplar repeated on every page is stored once.
    const exemplarKey = `${labelsKey(checked.labels)}\u0002${ex.value}\u0002${ex.timestampMs ?? ''}`;
    return { ...sample, exemplar, exemplarKey };
  }
}
