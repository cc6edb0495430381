/**
 * `GET /api/vigil/v1/overview`: every component Vigil knows about (scrape targets, OTLP services, hosts,
 * Vigil itself) with its status and a few figures with sparklines.
 *
 * Components are found from identity series: `up` (scrape targets), `node_time_seconds{job="node"}` (hosts
 * written by the host collector) and `target_info` (OTLP services). Figures cost one grouped range query per
 * way of computing them (`sum by (job, instance) (...)`) whatever the number of components, all run at once.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { TargetStatus } from '../ingest/scrape/index.ts';
import { DurationError, formatDuration, parseDuration } from '../model/duration.ts';
import { METRIC_NAME, isStaleNaN, type Labels } from '../model/labels.ts';
import type { Matcher } from '../model/matcher.ts';
import type { Engine } from '../query/promql/index.ts';
import type { Queryable, SeriesData } from '../store/interface.ts';
import {
  FIGURES,
  exactRegex,
  promqlString,
  type ComponentKind,
  type FigureAlternative,
  type Scope,
} from './overview.figures.ts';
import { HttpError, VIGIL_API_PREFIX, installErrorHandler } from './vigil-api.ts';

export type { ComponentKind } from './overview.figures.ts';
export type ComponentStatus = 'up' | 'down' | 'stale';

export interface OverviewFigure {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  /** The newest point of the sparkline; null when it has no value there. */
  readonly value: number | null;
  /** One value per point of the overview's spark grid; null where there is none (or it is not finite). */
  readonly spark: (number | null)[];
  /** The same figure for this component alone, to open in Explore. */
  readonly query: string;
}

export interface OverviewComponent {
  /** Stable id: `encodeURIComponent(job)/encodeURIComponent(instance)`. */
  readonly id: string;
  readonly kind: ComponentKind;
  /** Display name: the service name (OTLP), the host name (host), else the instance. */
  readonly name: string;
  readonly job: string;
  readonly instance: string;
  readonly namespace?: string;
  readonly status: ComponentStatus;
  /** Why it is down or stale. */
  readonly reason?: string;
  /** Time of the newest sample of its identity series (ms); null when none was seen in the range. */
  readonly lastSeen: number | null;
  readonly figures: OverviewFigure[];
}

export interface Overview {
  readonly generatedAt: number;
  /** The grid of every sparkline: `points` values at `start + i * step` (ms); the last one is `generatedAt`. */
  readonly spark: { readonly start: number; readonly step: number; readonly points: number };
  readonly components: OverviewComponent[];
  /** Figure queries that failed (the figure is left out); empty normally. */
  readonly warnings: string[];
}

export interface OverviewDeps {
  readonly storage: Queryable;
  readonly engine: Engine;
  /** Active scrape targets (their health, last error and interval). */
  readonly targets?: () => readonly TargetStatus[];
  readonly now?: () => number;
  /** Wall-clock limit of one overview (default 30 s). */
  readonly timeoutMs?: number;
  /** The usual scrape interval, for rate windows (Grafana's $__rate_interval rule); default 15 s. */
  readonly scrapeIntervalMs?: number;
  /**
   * Serve a computed overview for this long (ms) before computing it again; 0 (default) computes every
   * request. See OverviewCache.
   */
  readonly cacheMs?: number;
}

/**
 * Answers from a recent overview while a new one is computed. Many browsers left open on the Overview
 * refresh it every 30 s; without this each would run the same dozen grouped range queries. An answer is
 * served as it is while younger than `freshMs`; up to `staleMs` it is served at once and replaced in the
 * background; older ones are computed while the caller waits. Concurrent callers share one computation.
 */
export class OverviewCache {
  private readonly entries = new Map<number, { at: number; value?: Overview; pending?: Promise<Overview> }>();

  constructor(
    private readonly compute: (rangeMs: number) => Promise<Overview>,
    private readonly freshMs: number,
    private readonly staleMs = Math.max(freshMs, 300_000),
    private readonly now: () => number = Date.now,
  ) {}

  get(rangeMs: number): Promise<Overview> {
    const e = this.entries.get(rangeMs);
    const age = e?.value ? this.now() - e.at : Infinity;
    if (e?.value && age < this.freshMs) return Promise.resolve(e.value);
    if (e?.value && age < this.staleMs) {
      if (!e.pending) void this.refresh(rangeMs).catch(() => {}); // the next caller sees the error
      return Promise.resolve(e.value);
    }
    return e?.pending ?? this.refresh(rangeMs);
  }

  private refresh(rangeMs: number): Promise<Overview> {
    const e = this.entries.get(rangeMs) ?? { at: 0 };
    const pending = this.compute(rangeMs).then(
      (value) => {
        this.entries.set(rangeMs, { at: this.now(), value });
        return value;
      },
      (err: unknown) => {
        // Keep the last good answer for the stale window; drop only the failed computation.
        if (e.value) this.entries.set(rangeMs, { at: e.at, value: e.value });
        else this.entries.delete(rangeMs);
        throw err;
      },
    );
    this.entries.set(rangeMs, { ...e, pending });
    // Ranges nobody asks for again do not accumulate: keep a handful.
    if (this.entries.size > 16) this.entries.delete(this.entries.keys().next().value!);
    return pending;
  }
}

/** Sparklines have about this many points whatever the range. */
export const SPARK_POINTS = 60;
export const DEFAULT_RANGE_MS = 3_600_000;
const MIN_RANGE_MS = 60_000;
const MAX_RANGE_MS = 7 * 86_400_000;
/** Without a known interval, a component is stale after this long without a sample (PromQL's lookback). */
const STALE_AFTER_MS = 300_000;
/** Status needs only recent samples; older ones are read only for components silent this long. */
const RECENT_MS = 15 * 60_000;

interface IdentitySource {
  readonly source: 'scrape' | 'host' | 'otlp';
  readonly matchers: readonly Matcher[];
}

const IDENTITY: readonly IdentitySource[] = [
  { source: 'scrape', matchers: [{ name: METRIC_NAME, type: '=', value: 'up' }] },
  {
    source: 'host',
    matchers: [
      { name: METRIC_NAME, type: '=', value: 'node_time_seconds' },
      { name: 'job', type: '=', value: 'node' },
    ],
  },
  { source: 'otlp', matchers: [{ name: METRIC_NAME, type: '=', value: 'target_info' }] },
];

/** What the identity series of one (job, instance) say. */
interface Seen {
  labels: Labels;
  /** Newest real (non-stale-marker) sample. */
  lastT?: number;
  lastV?: number;
  /** The real sample before it, for guessing the interval. */
  prevT?: number;
  /** A stale marker newer than lastT: the series ended (target removed, collector stopped). */
  endedAt?: number;
}

const keyOf = (job: string, instance: string) => `${job}\u0000${instance}`;

function absorb(into: Map<string, Seen>, series: readonly SeriesData[]): void {
  for (const s of series) {
    const key = keyOf(s.labels.job ?? '', s.labels.instance ?? '');
    let lastT: number | undefined;
    let lastV: number | undefined;
    let prevT: number | undefined;
    let endedAt: number | undefined;
    for (let i = 0; i < s.t.length; i++) {
      const v = s.v[i]!;
      if (isStaleNaN(v)) {
        endedAt = s.t[i]!;
        continue;
      }
      prevT = lastT;
      lastT = s.t[i]!;
      lastV = v;
      endedAt = undefined;
    }
    const cur = into.get(key);
    // Several series per component (two up series, target_info with changing attributes): the newest wins.
    const newer = lastT !== undefined && (cur?.lastT === undefined || lastT > cur.lastT);
    if (!cur) into.set(key, { labels: s.labels, lastT, lastV, prevT, endedAt });
    else if (newer) Object.assign(cur, { labels: s.labels, lastT, lastV, prevT, endedAt });
    else if (cur.lastT === undefined && endedAt !== undefined)
      cur.endedAt = Math.max(cur.endedAt ?? 0, endedAt);
  }
}

/** Identity series of one source over the range: recent samples, then older ones only for silent groups. */
async function readIdentity(
  storage: Queryable,
  id: IdentitySource,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const recentStart = Math.max(start, end - RECENT_MS);
  const [recent, all] = await Promise.all([
    storage.querier(recentStart, end).select(id.matchers, { signal }),
    recentStart > start ? storage.querier(start, end).series([id.matchers]) : Promise.resolve([] as Labels[]),
  ]);
  absorb(out, recent);
  const silent = all.some((l) => {
    const seen = out.get(keyOf(l.job ?? '', l.instance ?? ''));
    return seen?.lastT === undefined;
  });
  if (silent) {
    const older = new Map<string, Seen>();
    absorb(older, await storage.querier(start, recentStart - 1).select(id.matchers, { signal }));
    for (const [k, s] of older) {
      const cur = out.get(k);
      if (!cur) out.set(k, s);
      else if (cur.lastT === undefined) {
        cur.lastT = s.lastT;
        cur.lastV = s.lastV;
        cur.prevT = s.prevT;
      }
    }
  }
  return out;
}

interface Draft {
  key: string;
  kind: ComponentKind;
  job: string;
  instance: string;
  labels: Labels;
  /** Has an `up` series (scraped), as opposed to pushing its data. */
  scraped: boolean;
  seen: Seen | undefined;
  target: TargetStatus | undefined;
}

function kindOf(source: 'scrape' | 'host' | 'otlp', job: string): ComponentKind {
  if (source === 'scrape' && job === 'vigil') return 'vigil';
  if (job === 'node' && source !== 'otlp') return 'host';
  return source;
}

function namespaceOf(d: Draft): string | undefined {
  for (const name of ['service_namespace', 'namespace', 'k8s_namespace_name']) {
    const v = d.labels[name];
    if (v) return v;
  }
  // OTLP ingestion writes service.namespace into job as "namespace/name".
  const slash = d.job.lastIndexOf('/');
  return d.kind === 'otlp' && slash > 0 ? d.job.slice(0, slash) : undefined;
}

function nameOf(d: Draft): string {
  if (d.kind === 'otlp') return d.job.slice(d.job.lastIndexOf('/') + 1) || d.job;
  return d.instance || d.job;
}

function intervalOf(d: Draft): number | undefined {
  if (d.target) {
    try {
      return parseDuration(d.target.scrapeInterval);
    } catch {
      // fall through to the guess from the samples
    }
  }
  const s = d.seen;
  return s?.lastT !== undefined && s.prevT !== undefined && s.lastT > s.prevT ? s.lastT - s.prevT : undefined;
}

const iso = (t: number) => new Date(t).toISOString();

function statusOf(d: Draft, now: number): { status: ComponentStatus; reason?: string } {
  const t = d.target;
  if (t?.health === 'down') return { status: 'down', reason: t.lastError || 'the last scrape failed' };
  const s = d.seen;
  if (s?.lastT === undefined) {
    if (t) return { status: 'stale', reason: 'not scraped yet' };
    return { status: 'stale', reason: 'no sample in the selected range' };
  }
  if (s.endedAt !== undefined)
    return {
      status: 'stale',
      reason: `stopped reporting at ${iso(s.endedAt)}${d.scraped ? ' (the target was removed or went away)' : ''}`,
    };
  const interval = intervalOf(d);
  const limit = interval === undefined ? STALE_AFTER_MS : 2 * interval;
  if (now - s.lastT > limit)
    return {
      status: 'stale',
      reason:
        `no sample since ${iso(s.lastT)}` +
        (interval === undefined ? '' : ` (expected every ${formatDuration(interval)})`),
    };
  if (d.scraped && s.lastV === 0)
    return { status: 'down', reason: t?.lastError || 'the last scrape failed (up is 0)' };
  return { status: 'up' };
}

/** The rate window: Grafana's $__rate_interval, max(step + interval, 4 * interval), in whole seconds. */
function rateWindowSeconds(stepMs: number, intervalMs: number): number {
  return Math.ceil(Math.max(stepMs + intervalMs, 4 * intervalMs) / 1000);
}

function sparkOf(
  values: readonly [number, string][],
  start: number,
  step: number,
  n: number,
): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(n).fill(null);
  for (const [ts, v] of values) {
    const i = Math.round((ts * 1000 - start) / step);
    const x = Number(v);
    if (i >= 0 && i < n && Number.isFinite(x)) out[i] = x;
  }
  return out;
}

function applies(alt: FigureAlternative, d: Draft): boolean {
  return alt.kinds.includes(d.kind) && !(alt.pushedOnly && d.scraped);
}

/** Builds the overview at `deps.now()` over the last `rangeMs`. */
export async function buildOverview(
  deps: OverviewDeps,
  rangeMs: number,
  signal: AbortSignal,
): Promise<Overview> {
  const now = Math.round((deps.now ?? Date.now)());
  const step = Math.max(1000, Math.ceil(rangeMs / SPARK_POINTS / 1000) * 1000);
  const points = Math.floor(rangeMs / step) + 1;
  const start = now - (points - 1) * step;

  const seen = await Promise.all(IDENTITY.map((id) => readIdentity(deps.storage, id, start, now, signal)));
  const drafts = new Map<string, Draft>();
  IDENTITY.forEach((id, i) => {
    for (const [key, s] of seen[i]!) {
      if (drafts.has(key)) continue; // a scraped component also writing target_info stays a scrape target
      const job = s.labels.job ?? '';
      const instance = s.labels.instance ?? '';
      drafts.set(key, {
        key,
        kind: kindOf(id.source, job),
        job,
        instance,
        labels: s.labels,
        scraped: id.source === 'scrape',
        seen: s,
        target: undefined,
      });
    }
  });
  for (const t of deps.targets?.() ?? []) {
    const job = t.labels.job ?? '';
    const instance = t.labels.instance ?? '';
    const key = keyOf(job, instance);
    const d = drafts.get(key);
    if (d) {
      if (d.scraped) d.target = t;
      continue;
    }
    drafts.set(key, {
      key,
      kind: kindOf('scrape', job),
      job,
      instance,
      labels: t.labels,
      scraped: true,
      seen: undefined,
      target: t,
    });
  }

  const window = rateWindowSeconds(step, deps.scrapeIntervalMs ?? 15_000);
  const w = `${window}s`;
  const warnings: string[] = [];
  const all = [...drafts.values()];

  // One grouped range query per alternative that applies to some component, all at once.
  const jobs = [
    ...FIGURES.flatMap((f) =>
      f.alternatives.map(async (alt) => {
        const targets = all.filter((d) => applies(alt, d));
        if (targets.length === 0) return undefined;
        const scope: Scope = {
          by: 'job, instance',
          matchers: alt.pushedOnly
            ? `job=~${promqlString(exactRegex([...new Set(targets.map((d) => d.job))].sort()))}`
            : '',
        };
        const query = alt.query(scope, w, window);
        try {
          const res = await deps.engine.rangeQuery(deps.storage, query, start, now, step, { signal });
          const byKey = new Map<string, (number | null)[]>();
          if (res.resultType === 'matrix')
            for (const r of res.result)
              byKey.set(
                keyOf(r.metric.job ?? '', r.metric.instance ?? ''),
                sparkOf(r.values, start, step, points),
              );
          return { alt, byKey };
        } catch (err) {
          if (signal.aborted) throw err;
          warnings.push(`figure ${JSON.stringify(f.key)}: query ${query} failed: ${(err as Error).message}`);
          return undefined;
        }
      }),
    ),
  ];
  const results = new Map<FigureAlternative, Map<string, (number | null)[]>>();
  for (const r of await Promise.all(jobs)) if (r) results.set(r.alt, r.byKey);

  const components = all.map((d): OverviewComponent => {
    const { status, reason } = statusOf(d, now);
    const one: Scope = {
      by: '',
      matchers: `job=${promqlString(d.job)},instance=${promqlString(d.instance)}`,
    };
    const figures: OverviewFigure[] = [];
    for (const f of FIGURES) {
      for (const alt of f.alternatives) {
        if (!applies(alt, d)) continue;
        let spark = results.get(alt)?.get(d.key);
        if (!spark) continue;
        let interval: number | undefined;
        if (alt.perInterval) {
          const ms = intervalOf(d);
          if (ms === undefined) continue;
          interval = ms / 1000;
          spark = spark.map((v) => (v === null ? null : v / interval!));
        }
        figures.push({
          key: f.key,
          label: f.label,
          unit: alt.unit,
          value: spark[spark.length - 1] ?? null,
          spark,
          query: alt.query(one, w, window, interval),
        });
        break;
      }
    }
    const namespace = namespaceOf(d);
    return {
      id: `${encodeURIComponent(d.job)}/${encodeURIComponent(d.instance)}`,
      kind: d.kind,
      name: nameOf(d),
      job: d.job,
      instance: d.instance,
      ...(namespace === undefined ? {} : { namespace }),
      status,
      ...(reason === undefined ? {} : { reason }),
      lastSeen: d.seen?.lastT ?? null,
      figures,
    };
  });
  components.sort((a, b) =>
    a.job < b.job ? -1 : a.job > b.job ? 1 : a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0,
  );
  return { generatedAt: now, spark: { start, step, points }, components, warnings };
}

function parseRange(v: unknown): number {
  if (v === undefined || v === '') return DEFAULT_RANGE_MS;
  const s = String(v);
  let ms: number;
  const n = Number(s);
  if (s.trim() !== '' && Number.isFinite(n)) ms = n * 1000;
  else
    try {
      ms = parseDuration(s);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      throw new HttpError(400, `invalid parameter "range": ${err.message}`);
    }
  if (ms < MIN_RANGE_MS || ms > MAX_RANGE_MS)
    throw new HttpError(
      400,
      `invalid parameter "range": ${JSON.stringify(s)} is outside ${formatDuration(MIN_RANGE_MS)}..${formatDuration(MAX_RANGE_MS)}`,
    );
  return ms;
}

export function overviewApi(deps: OverviewDeps): FastifyPluginAsync {
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const cache = deps.cacheMs
    ? new OverviewCache(
        (rangeMs) => buildOverview(deps, rangeMs, AbortSignal.timeout(timeoutMs)),
        deps.cacheMs,
        undefined,
        deps.now,
      )
    : undefined;
  return async (app: FastifyInstance) => {
    installErrorHandler(app);
    app.get(`${VIGIL_API_PREFIX}/overview`, async (req, reply) => {
      const rangeMs = parseRange((req.query as Record<string, unknown>).range);
      if (cache) {
        try {
          return await cache.get(rangeMs);
        } catch (err) {
          if (err instanceof Error && err.name === 'TimeoutError')
            throw new HttpError(
              503,
              `the overview took longer than ${formatDuration(timeoutMs)}; try a shorter range`,
            );
          throw err;
        }
      }
      const gone = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) gone.abort(new Error('the client went away'));
      };
      reply.raw.once('close', onClose);
      const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(timeoutMs)]);
      try {
        return await buildOverview(deps, rangeMs, signal);
      } catch (err) {
        if (signal.aborted && !gone.signal.aborted)
          throw new HttpError(
            503,
            `the overview took longer than ${formatDuration(timeoutMs)}; try a shorter range`,
          );
        throw err;
      } finally {
        reply.raw.off('close', onClose);
      }
    });
  };
}
