/**
 * De-duplication across sources: the same condition reported by several senders (two Prometheus replicas,
 * a Prometheus rule and a Vigil rule, a tool posting webhooks) becomes one alert. Labels are normalised
 * (ignored labels dropped, renames, value maps, equivalence rules), the fingerprint of the result is the
 * alert's identity, and every sender's copy is kept as a source of the merged alert: the earliest startsAt
 * wins, the latest endsAt wins, so the alert resolves only when every source has resolved or timed out.
 */
import { z } from 'zod';
import type { Labels } from '../model/labels.ts';
import { fingerprint, isResolved, labelSetString, mergeOnRepost, type Alert } from './model.ts';

/** Most sources kept per alert. */
export const MAX_SOURCES = 100;

/** The annotation that lists the sources of a merged alert (only set when there are several). */
export const SOURCES_ANNOTATION = 'vigil_sources';

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a valid label name');

const ruleSchema = z
  .object({
    /** The rule applies to alerts whose labels have all these values (all alerts when empty). */
    match: z.record(labelName, z.string()).default({}),
    /** Label renames, old name → new name; the new name's own value wins when both are present. */
    rename: z.record(labelName, labelName).default({}),
    /** Value maps per label: label → {sent value → value}. */
    values: z.record(labelName, z.record(z.string(), z.string())).default({}),
    /** When set, only `alertname`, the `match` labels and these labels identify the alert. */
    equal: z.array(labelName).min(1, 'list at least one label, or leave equal out').optional(),
  })
  .strict();

/** `alerting.dedup` in Vigil's configuration. */
export const dedupConfigSchema = z
  .object({
    /** Labels dropped before comparing (the labels HA Prometheus pairs differ in). */
    ignore_labels: z.array(labelName).default(['replica', 'prometheus', 'prometheus_replica', '__replica__']),
    /** Applied in order, each to the labels the previous ones produced. */
    rules: z.array(ruleSchema).default([]),
  })
  .strict()
  .prefault({});

export type DedupConfig = z.output<typeof dedupConfigSchema>;
export type DedupRule = z.output<typeof ruleSchema>;

/** One sender's copy of a merged alert. */
export interface AlertSource {
  /** The producer (`api`, `rules`, `webhook/<name>`). */
  readonly source: string;
  /** The labels as sent (before normalisation). */
  readonly labels: Labels;
  readonly startsAt: number;
  readonly endsAt: number;
  /** When this source first and last sent the alert. */
  readonly firstSeen: number;
  readonly updatedAt: number;
}

interface SourceState {
  readonly source: string;
  readonly labels: Labels;
  readonly firstSeen: number;
  /** This source's alert, with the normalised labels, merged over its re-posts. */
  readonly alert: Alert;
}

/** Labels after the `dedup` configuration: what identifies an alert. Pure; never returns an empty set. */
export function normalizeForDedup(labels: Labels, cfg: DedupConfig): Labels {
  const out: Record<string, string> = { ...labels };
  for (const k of cfg.ignore_labels) delete out[k];
  let result: Record<string, string> = out;
  for (const rule of cfg.rules) {
    if (!Object.entries(rule.match).every(([k, v]) => result[k] === v)) continue;
    for (const [from, to] of Object.entries(rule.rename)) {
      if (!(from in result)) continue;
      if (!(to in result)) result[to] = result[from]!;
      delete result[from];
    }
    for (const [name, map] of Object.entries(rule.values)) {
      const v = result[name];
      if (v !== undefined && Object.hasOwn(map, v)) result[name] = map[v]!;
    }
    if (rule.equal) {
      const keep: Record<string, string> = {};
      for (const k of ['alertname', ...Object.keys(rule.match), ...rule.equal])
        if (result[k] !== undefined && result[k] !== '') keep[k] = result[k];
      result = keep;
    }
  }
  for (const k of Object.keys(result)) if (result[k] === '') delete result[k];
  // Normalisation must not erase an alert's identity: fall back to the labels as sent.
  return Object.keys(result).length ? result : labels;
}

/** Labels of `sent` that normalisation removed or changed: what tells sources apart. */
function differing(sent: Labels, normalised: Labels): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sent)) {
    // A severity spelling that severity classes changed is shown by severity_original already.
    if (k === 'severity' && normalised.severity_original === v) continue;
    if (normalised[k] !== v) out[k] = v;
  }
  return out;
}

/**
 * Tracks the sources of every alert and merges them. Not persisted (alerts are in memory, re-posted by their
 * senders). Single-threaded use only, as the alert store.
 */
export class Deduplicator {
  private readonly entries = new Map<string, Map<string, SourceState>>();

  constructor(readonly config: DedupConfig) {}

  normalize(labels: Labels): Labels {
    return normalizeForDedup(labels, this.config);
  }

  /**
   * Records `alert` (labels already normalised) as sent by `source` with the labels `sent`, and returns the
   * merged alert to store. With one source the result is exactly Alertmanager's re-post merge.
   */
  add(source: string, sent: Labels, alert: Alert, now: number): Alert {
    const fp = fingerprint(alert.labels);
    let sources = this.entries.get(fp);
    if (!sources) {
      sources = new Map();
      this.entries.set(fp, sources);
    } else if (!isResolved(alert, now) && isResolved(combine([...sources.values()]), now)) {
      // Every source had resolved: this is a new episode, earlier sources no longer count.
      sources.clear();
    }
    const key = `${source}\u0000${fingerprint(sent)}`;
    const old = sources.get(key);
    sources.set(key, {
      source,
      labels: sent,
      firstSeen: old?.firstSeen ?? now,
      alert: mergeOnRepost(old?.alert, alert, now),
    });
    if (sources.size > MAX_SOURCES) dropOneSource(sources, now);
    return combine([...sources.values()]);
  }

  /** The sources of the alert with this fingerprint, first seen first (empty when unknown). */
  sources(fp: string): AlertSource[] {
    const s = this.entries.get(fp);
    if (!s) return [];
    return [...s.values()]
      .sort((a, b) => a.firstSeen - b.firstSeen || (a.source < b.source ? -1 : 1))
      .map((x) => ({
        source: x.source,
        labels: x.labels,
        startsAt: x.alert.startsAt,
        endsAt: x.alert.endsAt,
        firstSeen: x.firstSeen,
        updatedAt: x.alert.updatedAt,
      }));
  }

  /** Fingerprints of alerts that more than one source sent, ordered. */
  merged(): string[] {
    return [...this.entries]
      .filter(([, s]) => s.size > 1)
      .map(([fp]) => fp)
      .sort();
  }

  /** Forgets alerts whose every source has resolved at `now` (as the store's gc does); returns how many. */
  gc(now: number): number {
    let n = 0;
    for (const [fp, s] of this.entries)
      if (isResolved(combine([...s.values()]), now)) {
        this.entries.delete(fp);
        n++;
      }
    return n;
  }
}

/**
 * Keeps a long-firing alert whose senders' labels keep changing (under an `equal` rule) from growing without
 * bound: the least recently updated source goes, a resolved one first.
 */
function dropOneSource(sources: Map<string, SourceState>, now: number): void {
  let victim: [string, SourceState] | undefined;
  for (const e of sources) {
    const v = victim?.[1];
    const resolved = isResolved(e[1].alert, now);
    if (
      !v ||
      (resolved && !isResolved(v.alert, now)) ||
      (resolved === isResolved(v.alert, now) && e[1].alert.updatedAt < v.alert.updatedAt)
    )
      victim = e;
  }
  if (victim) sources.delete(victim[0]);
}

/** Earliest start, latest end; labels are shared; annotations and generatorURL from the newest copy. */
function combine(states: readonly SourceState[]): Alert {
  const first = states[0]!.alert;
  if (states.length === 1) return first;
  let newest = first;
  let last = first;
  let startsAt = first.startsAt;
  for (const { alert } of states) {
    if (alert.updatedAt >= newest.updatedAt) newest = alert;
    if (alert.endsAt > last.endsAt || (alert.endsAt === last.endsAt && !alert.timeout)) last = alert;
    if (alert.startsAt < startsAt) startsAt = alert.startsAt;
  }
  const list = [...states]
    .sort((a, b) => a.firstSeen - b.firstSeen || (a.source < b.source ? -1 : 1))
    .map((s) => {
      const diff = differing(s.labels, first.labels);
      return Object.keys(diff).length ? `${s.source}${labelSetString(diff)}` : s.source;
    });
  return {
    ...newest,
    annotations: { ...newest.annotations, [SOURCES_ANNOTATION]: list.join(', ') },
    startsAt,
    endsAt: last.endsAt,
    timeout: last.timeout,
  };
}
