/**
 * From discovered target groups to scrape targets, as Prometheus' PopulateLabels does: job-level defaults as
 * `__` labels, target relabeling, `__meta_*` removed, `instance` defaulting to `__address__`, and the scrape URL
 * built from `__scheme__`, `__address__`, `__metrics_path__` and `__param_<name>`. Pure functions, no I/O.
 */
import { hostname } from 'node:os';
import { DurationError, formatDuration, parseDuration } from '../../model/duration.ts';
import { labelsKey } from '../../model/labels.ts';
import type { ResolvedScrapeConfig, TargetGroup } from './config.ts';
import { relabel, type CompiledRelabel } from './relabel.ts';

export const ADDRESS_LABEL = '__address__';
export const SCHEME_LABEL = '__scheme__';
export const METRICS_PATH_LABEL = '__metrics_path__';
export const SCRAPE_INTERVAL_LABEL = '__scrape_interval__';
export const SCRAPE_TIMEOUT_LABEL = '__scrape_timeout__';
export const PARAM_LABEL_PREFIX = '__param_';
export const META_LABEL_PREFIX = '__meta_';

/** A target ready to scrape. */
export interface ScrapeTarget {
  /** Labels before relabeling (what service discovery produced plus job defaults). */
  readonly discoveredLabels: Readonly<Record<string, string>>;
  /** Labels attached to every scraped sample: the relabeled set without `__`-prefixed labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Identity within its pool: the relabeled label set (including internal labels) and the URL. */
  readonly key: string;
}

export interface DroppedTarget {
  readonly discoveredLabels: Readonly<Record<string, string>>;
  /** Why it was dropped: a relabel rule, or an error such as a missing address. */
  readonly reason: string;
}

export interface TargetSet {
  readonly active: ScrapeTarget[];
  readonly dropped: DroppedTarget[];
}

/** Builds the targets of one scrape pool. Duplicates (same key) are collapsed; invalid targets are dropped with a reason. */
export function buildTargets(
  cfg: ResolvedScrapeConfig,
  rules: readonly CompiledRelabel[],
  groups: readonly TargetGroup[],
): TargetSet {
  const active: ScrapeTarget[] = [];
  const dropped: DroppedTarget[] = [];
  const seen = new Set<string>();
  for (const group of groups) {
    for (const address of group.targets) {
      const res = populateTarget(cfg, rules, { ...group.labels, [ADDRESS_LABEL]: address });
      if ('reason' in res) {
        dropped.push(res);
        continue;
      }
      if (seen.has(res.key)) continue;
      seen.add(res.key);
      active.push(res);
    }
  }
  return { active, dropped };
}

/** One target: discovered labels in, a ScrapeTarget or the reason it was dropped out. */
export function populateTarget(
  cfg: ResolvedScrapeConfig,
  rules: readonly CompiledRelabel[],
  labels: Readonly<Record<string, string>>,
): ScrapeTarget | DroppedTarget {
  const discovered: Record<string, string> = { ...labels };
  const defaults: Record<string, string> = {
    job: cfg.jobName,
    [SCRAPE_INTERVAL_LABEL]: formatDuration(cfg.scrapeIntervalMs),
    [SCRAPE_TIMEOUT_LABEL]: formatDuration(cfg.scrapeTimeoutMs),
    [METRICS_PATH_LABEL]: cfg.metricsPath,
    [SCHEME_LABEL]: cfg.scheme,
  };
  for (const [name, values] of Object.entries(cfg.params))
    if (values.length) defaults[PARAM_LABEL_PREFIX + name] = values[0]!;
  for (const [n, v] of Object.entries(defaults)) if (!discovered[n]) discovered[n] = v;

  const lb = relabel(discovered, rules);
  if (!lb) return { discoveredLabels: discovered, reason: 'dropped by relabel_configs' };
  const address = lb[ADDRESS_LABEL];
  if (!address) return { discoveredLabels: discovered, reason: 'no __address__ label after relabeling' };
  if (address.includes('/'))
    return {
      discoveredLabels: discovered,
      reason: `__address__ ${JSON.stringify(address)} must be host:port, without a scheme or path`,
    };
  let intervalMs: number;
  let timeoutMs: number;
  try {
    intervalMs = parseDuration(lb[SCRAPE_INTERVAL_LABEL] ?? formatDuration(cfg.scrapeIntervalMs));
    timeoutMs = parseDuration(lb[SCRAPE_TIMEOUT_LABEL] ?? formatDuration(cfg.scrapeTimeoutMs));
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    return {
      discoveredLabels: discovered,
      reason: `invalid ${SCRAPE_INTERVAL_LABEL} or ${SCRAPE_TIMEOUT_LABEL}: ${err.message}`,
    };
  }
  if (intervalMs <= 0 || timeoutMs <= 0)
    return { discoveredLabels: discovered, reason: 'scrape interval and timeout must be greater than 0' };
  if (timeoutMs > intervalMs)
    return {
      discoveredLabels: discovered,
      reason: `scrape timeout ${formatDuration(timeoutMs)} is greater than the interval ${formatDuration(intervalMs)}`,
    };

  for (const n of Object.keys(lb)) if (n.startsWith(META_LABEL_PREFIX)) delete lb[n];
  if (!lb.instance) lb.instance = address;

  const scheme = lb[SCHEME_LABEL] ?? cfg.scheme;
  if (scheme !== 'http' && scheme !== 'https')
    return {
      discoveredLabels: discovered,
      reason: `__scheme__ ${JSON.stringify(scheme)} must be http or https`,
    };
  let url: URL;
  try {
    url = new URL(`${scheme}://${address}`);
    url.pathname = lb[METRICS_PATH_LABEL] ?? cfg.metricsPath;
  } catch (err) {
    return {
      discoveredLabels: discovered,
      reason: `cannot build a scrape URL from ${JSON.stringify(address)}: ${(err as Error).message}`,
    };
  }
  const params = new Map<string, string[]>();
  for (const [name, values] of Object.entries(cfg.params)) params.set(name, [...values]);
  for (const [n, v] of Object.entries(lb)) {
    if (!n.startsWith(PARAM_LABEL_PREFIX)) continue;
    const name = n.slice(PARAM_LABEL_PREFIX.length);
    const existing = params.get(name);
    if (existing && existing.length) existing[0] = v;
    else params.set(name, [v]);
  }
  for (const [name, values] of [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    for (const v of values) url.searchParams.append(name, v);

  const publicLabels: Record<string, string> = {};
  for (const n of Object.keys(lb).sort()) if (!n.startsWith('__') && lb[n] !== '') publicLabels[n] = lb[n]!;
  const href = url.toString();
  return {
    discoveredLabels: discovered,
    labels: publicLabels,
    url: href,
    intervalMs,
    timeoutMs,
    key: labelsKey(lb) + '\u0002' + href,
  };
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0', '[::]']);

/** The scrape URL as seen from other machines: a loopback host is replaced by this machine's hostname. */
export function globalUrl(scrapeUrl: string): string {
  const url = new URL(scrapeUrl);
  if (!LOCAL_HOSTS.has(url.hostname)) return scrapeUrl;
  url.hostname = hostname();
  return url.toString();
}
