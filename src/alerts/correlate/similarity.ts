/**
 * Label and text similarity between alerts, the larger of two measures:
 *
 * - labels: a weighted Jaccard over the label names of the two alerts — the weight of the names with equal
 *   values over the weight of all their names. A label pair's weight is its IDF, where the "documents" are the
 *   distinct alert names of the set (not the alerts): a storm of 40 `KubePodNotReady{node="node-7"}` counts as
 *   one document, so the storm's own shared labels (`node="node-7"`) keep their weight while labels every kind
 *   of alert carries (`env="prod"`) weigh nearly nothing. Identity labels (instance, pod, …) are left out:
 *   alerts of one cause differ in them by nature.
 * - text: TF-IDF cosine over the words of the alert name (`HighErrorRate` → high, error, rate) and of the
 *   annotations, IDF over the alerts.
 */
import type { CorrelationAlert } from './model.ts';

/** Labels that say nothing about what is wrong, or that identify one instance: not compared. */
const IGNORED_LABELS = new Set([
  'severity',
  'severity_original',
  'prometheus',
  'replica',
  'instance',
  'pod',
  'pod_name',
  'container',
  'container_id',
  'uid',
  'id',
]);

/** Labels that name the kind of alert or the service (topology compares services), not a scope. */
const SCOPE_EXCLUDED = new Set([
  'alertname',
  'service',
  'service_name',
  'job',
  // Environment-wide labels: every alert of a deployment carries them, so they scope nothing.
  'env',
  'environment',
  'deployment_environment',
  'cluster',
  'region',
  'zone',
  'datacenter',
  'dc',
  'tenant',
]);

/** Words too common in annotations to mean anything. */
const STOP = new Set(
  'a an the is are was be been of on in at to for and or by with from than above below over under has have this that it its not no'.split(
    ' ',
  ),
);

export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9_.-]+/)
    .map((w) => w.replace(/^[.-]+|[.-]+$/g, ''))
    .filter((w) => w.length > 1 && !STOP.has(w) && !/^\d+(\.\d+)?[%a-z]?$/.test(w));
}

/** The words of one alert (name and annotations) with their counts. */
export function textTerms(a: CorrelationAlert): Map<string, number> {
  const out = new Map<string, number>();
  const add = (t: string) => out.set(t, (out.get(t) ?? 0) + 1);
  if (a.labels.alertname) for (const w of words(a.labels.alertname)) add(w);
  for (const [k, v] of Object.entries(a.annotations)) {
    if (k.startsWith('vigil_') || k.endsWith('_url')) continue;
    for (const w of words(v)) add(w);
  }
  return out;
}

function compared(a: CorrelationAlert): [string, string][] {
  return Object.entries(a.labels).filter(([k]) => !IGNORED_LABELS.has(k));
}

/** Similarity of the alerts of one set; built once per evaluation, immutable. */
export class SimilarityModel {
  private readonly text: Map<string, number>[];
  private readonly labelWeight = new Map<string, number>();
  private readonly pairs: Map<string, string>[];

  constructor(private readonly alerts: readonly CorrelationAlert[]) {
    const n = alerts.length;
    const bags = alerts.map(textTerms);
    const df = new Map<string, number>();
    for (const b of bags) for (const t of b.keys()) df.set(t, (df.get(t) ?? 0) + 1);
    this.text = bags.map((b) => {
      const v = new Map<string, number>();
      let norm = 0;
      for (const [t, tf] of b) {
        const w = (1 + Math.log(tf)) * Math.log((n + 1) / df.get(t)!);
        v.set(t, w);
        norm += w * w;
      }
      norm = Math.sqrt(norm) || 1;
      for (const [t, w] of v) v.set(t, w / norm);
      return v;
    });
    // Label IDF over alert names: a pair's document frequency is the number of alert names carrying it.
    const names = new Map<string, Set<string>>();
    const kinds = new Set<string>();
    for (const a of alerts) {
      const kind = a.labels.alertname ?? '';
      kinds.add(kind);
      for (const [k, v] of compared(a)) {
        const key = `${k}=${v}`;
        let s = names.get(key);
        if (!s) names.set(key, (s = new Set()));
        s.add(kind);
      }
    }
    for (const [key, s] of names) this.labelWeight.set(key, Math.log((kinds.size + 1) / s.size));
    this.pairs = alerts.map((a) => new Map(compared(a)));
  }

  /**
   * The scope of an alert: its label pairs other than the alert name, service/job labels, identity labels and
   * environment-wide labels (env, cluster, region, …). An alert whose whole (non-empty) scope is on another alert is about
   * something the other runs on (`NodeDown{node="n7"}` vs `KubePodNotReady{node="n7", pod="…"}`), or about the
   * same thing when the scopes are equal: returns those pairs, else undefined.
   */
  contains(i: number, j: number): string[] | undefined {
    const a = this.scope(i);
    const b = this.scope(j);
    if (a.length === 0 || a.length > b.length) return undefined;
    const bm = new Map(b);
    return a.every(([k, v]) => bm.get(k) === v) ? a.map(([k, v]) => `${k}="${v}"`) : undefined;
  }

  private scope(i: number): [string, string][] {
    return [...this.pairs[i]!].filter(([k]) => !SCOPE_EXCLUDED.has(k));
  }

  /** Weighted Jaccard of the label pairs, in [0, 1]. */
  labels(i: number, j: number): number {
    const a = this.pairs[i]!;
    const b = this.pairs[j]!;
    let shared = 0;
    let total = 0;
    for (const [k, v] of a) {
      const wa = this.labelWeight.get(`${k}=${v}`)!;
      const bv = b.get(k);
      if (bv === v) {
        shared += wa;
        total += wa;
      } else total += bv === undefined ? wa : (wa + this.labelWeight.get(`${k}=${bv}`)!) / 2;
    }
    for (const [k, v] of b) if (!a.has(k)) total += this.labelWeight.get(`${k}=${v}`)!;
    return total > 0 ? shared / total : 0;
  }

  /** TF-IDF cosine of the words, in [0, 1]. */
  textCosine(i: number, j: number): number {
    let [a, b] = [this.text[i]!, this.text[j]!];
    if (a.size > b.size) [a, b] = [b, a];
    let s = 0;
    for (const [t, w] of a) {
      const x = b.get(t);
      if (x !== undefined) s += w * x;
    }
    return Math.min(1, s);
  }

  /** The similarity correlation uses: the larger of labels and text. */
  similarity(i: number, j: number): number {
    return Math.max(this.labels(i, j), this.textCosine(i, j));
  }

  /** What the two share that weighs most, for the reason's wording: label pairs, else words. */
  shared(i: number, j: number, max = 3): string[] {
    const a = this.pairs[i]!;
    const b = this.pairs[j]!;
    const labels = [...a]
      .filter(([k, v]) => b.get(k) === v)
      .map(([k, v]) => [`${k}="${v}"`, this.labelWeight.get(`${k}=${v}`)!] as const);
    const ta = this.text[i]!;
    const tb = this.text[j]!;
    const text = [...ta].filter(([t]) => tb.has(t)).map(([t, w]) => [t, w * tb.get(t)!] as const);
    const pick = this.labels(i, j) >= this.textCosine(i, j) ? labels : text;
    return [...pick]
      .filter(([, w]) => w > 0)
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
      .slice(0, max)
      .map(([t]) => t);
  }
}
