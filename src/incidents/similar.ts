/**
 * The knowledge base, pure: what an incident is known by (its alerts, labels, services, text and resolution,
 * read from the incident and its timeline), search over that, and similar past incidents ranked by shared alert
 * names, label pairs, services/components and TF-IDF cosine of their text (docs/incidents.md explains the
 * weights). No I/O: the caller loads incidents and timeline events.
 */
import type { Incident, IncidentEvent } from '../state/interface.ts';

/** Everything the knowledge base uses of one incident. */
export interface IncidentFacts {
  readonly incident: Incident;
  /** Alert names of every linked alert, sorted, unique. */
  readonly alertnames: readonly string[];
  /** `name=value` pairs of the incident's labels and its alerts' labels, without alertname. */
  readonly labelPairs: readonly string[];
  /** Note texts, oldest first. */
  readonly notes: readonly string[];
  /** What fixed it: the note given on resolution, else the last note, else the resolution reason; null if none. */
  readonly resolution: string | null;
  /** Runbook URLs (annotation `runbook_url` or `runbook`) of the linked alerts, unique, as written. */
  readonly runbooks: readonly string[];
}

/** The events `factsOf` reads; loading only these keeps the knowledge base cheap. */
export const FACT_EVENT_KINDS: readonly string[] = ['alert_firing', 'note', 'resolved'];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/** The runbook of an alert's annotations: `runbook_url` (Prometheus convention), else `runbook`. */
export function runbookOf(annotations: unknown): string | undefined {
  if (typeof annotations !== 'object' || annotations === null) return undefined;
  const a = annotations as Record<string, unknown>;
  return str(a.runbook_url) ?? str(a.runbook);
}

/** The facts of an incident from its timeline (any order; only FACT_EVENT_KINDS are used). */
export function factsOf(incident: Incident, events: readonly IncidentEvent[]): IncidentFacts {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const names = new Set<string>();
  const pairs = new Set<string>();
  const runbooks = new Set<string>();
  const notes: string[] = [];
  let resolveNote: string | undefined;
  let resolveReason: string | undefined;
  const addLabels = (labels: unknown) => {
    if (typeof labels !== 'object' || labels === null) return;
    for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
      if (typeof v !== 'string') continue;
      if (k === 'alertname') names.add(v);
      else pairs.add(`${k}=${v}`);
    }
  };
  addLabels(incident.labels);
  for (const e of sorted) {
    if (e.kind === 'alert_firing') {
      addLabels(e.detail.labels);
      const rb = runbookOf(e.detail.annotations);
      if (rb) runbooks.add(rb);
    } else if (e.kind === 'note') {
      const t = str(e.detail.text);
      if (t) notes.push(t);
    } else if (e.kind === 'resolved') {
      // A later resolution (after a re-open) replaces an earlier one.
      resolveNote = str(e.detail.note);
      resolveReason = str(e.detail.reason);
    }
  }
  return {
    incident,
    alertnames: [...names].sort(),
    labelPairs: [...pairs].sort(),
    notes,
    resolution: resolveNote ?? notes.at(-1) ?? resolveReason ?? null,
    runbooks: [...runbooks],
  };
}

// ---- search --------------------------------------------------------------------------------------------------

/** The text search runs over: id, title, severity, notes, resolution, services, components, alerts, labels. */
function haystack(f: IncidentFacts): string {
  const i = f.incident;
  return [
    i.id,
    i.title,
    i.severity,
    ...f.notes,
    f.resolution ?? '',
    ...i.services,
    ...i.components,
    ...f.alertnames,
    ...f.labelPairs,
  ]
    .join('\n')
    .toLowerCase();
}

/** The words of a search query (whitespace-separated; `"quoted phrases"` kept whole), lower-cased. */
export function queryTerms(q: string): string[] {
  const out: string[] = [];
  for (const m of q.matchAll(/"([^"]*)"|(\S+)/g)) {
    const t = (m[1] ?? m[2] ?? '').trim().toLowerCase();
    if (t) out.push(t);
  }
  return out;
}

/** Whether every term of the query occurs (as a substring, any case) in the incident's searchable text. */
export function matchesQuery(f: IncidentFacts, terms: readonly string[]): boolean {
  if (!terms.length) return true;
  const h = haystack(f);
  return terms.every((t) => h.includes(t));
}

// ---- similarity -------------------------------------------------------------------------------------------------

const STOP = new Set(
  'a an and are as at be by for from has have in is it its of on or the to was were with after before than this that not no into out up down over'.split(
    ' ',
  ),
);

/** Words of a text for TF-IDF: camelCase and digits split off, lower-cased, stop words and 1-letter words out. */
export function tokens(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 1 && !STOP.has(t) && !/^\d+$/.test(t));
}

function textOf(f: IncidentFacts): string {
  return [f.incident.title, ...f.notes].join(' ');
}

function jaccard(a: readonly string[], b: readonly string[]): { score: number; shared: string[] } {
  const sb = new Set(b);
  const shared = [...new Set(a)].filter((x) => sb.has(x));
  const union = new Set([...a, ...b]).size;
  return { score: union ? shared.length / union : 0, shared };
}

/** Relative weights of the four signals. A signal the target has no data for is left out of the score. */
export interface SimilarityWeights {
  readonly alerts: number;
  readonly labels: number;
  readonly services: number;
  readonly text: number;
}

export const DEFAULT_WEIGHTS: SimilarityWeights = { alerts: 0.35, labels: 0.15, services: 0.25, text: 0.25 };

export interface SimilarOptions {
  /** At most this many suggestions (default 5). */
  readonly limit?: number;
  /** Suggestions scoring below this (0..1) are dropped (default 0.2). */
  readonly minScore?: number;
  readonly weights?: SimilarityWeights;
}

/** One suggestion: a past incident, how alike it is (0..1), why, and how it was resolved. */
export interface SimilarIncident {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: Incident['status'];
  readonly createdAt: number;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
  /** Time to resolve, seconds; null while unresolved. */
  readonly mttrSeconds: number | null;
  readonly score: number;
  /** Human-readable, most telling first: "same alert CheckoutErrors", "same service checkout", … */
  readonly reasons: readonly string[];
  readonly resolution: string | null;
  /** The last notes (up to three), oldest first. */
  readonly notes: readonly string[];
  readonly runbooks: readonly string[];
}

const plural = (n: number, word: string) => `${n} shared ${word}${n === 1 ? '' : 's'}`;
const list = (xs: readonly string[], max = 3) =>
  xs.length > max ? `${xs.slice(0, max).join(', ')} and ${xs.length - max} more` : xs.join(', ');

/**
 * Resolved incidents among `candidates` most like `target`, best first (ties: newer first). The target itself
 * and open incidents are never suggested. Alert names are weighted by rarity (IDF over the candidates), so a
 * shared rare alert counts more than a shared noisy one; labels and services/components use Jaccard; text is
 * the TF-IDF cosine of title and notes.
 */
export function similarIncidents(
  target: IncidentFacts,
  candidates: readonly IncidentFacts[],
  opts: SimilarOptions = {},
): SimilarIncident[] {
  const limit = opts.limit ?? 5;
  const minScore = opts.minScore ?? 0.2;
  const w = opts.weights ?? DEFAULT_WEIGHTS;
  const pool = candidates.filter(
    (c) => c.incident.id !== target.incident.id && c.incident.status === 'resolved',
  );
  const docs = [target, ...pool];
  const n = docs.length;

  // Document frequencies of alert names and words over the target and the pool.
  const df = (sets: Iterable<string>[]) => {
    const m = new Map<string, number>();
    for (const s of sets) for (const x of new Set(s)) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const docTokens = docs.map((d) => tokens(textOf(d)));
  const wordDf = df(docTokens);
  const alertDf = df(docs.map((d) => d.alertnames));
  // Smoothed IDF: never zero, so a word every incident shares still counts a little.
  const idf = (m: Map<string, number>, x: string) => Math.log(1 + n / (m.get(x) ?? 1));
  const vector = (toks: readonly string[]) => {
    const tf = new Map<string, number>();
    for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
    const v = new Map<string, number>();
    let norm = 0;
    for (const [t, c] of tf) {
      const x = c * idf(wordDf, t);
      v.set(t, x);
      norm += x * x;
    }
    return { v, norm: Math.sqrt(norm) };
  };
  const tv = vector(docTokens[0]!);
  const targetSvc = [
    ...target.incident.services.map((s) => `s:${s}`),
    ...target.incident.components.map((c) => `c:${c}`),
  ];

  // A signal counts when it has weight and the target has something to compare on it.
  const active = {
    alerts: w.alerts > 0 && target.alertnames.length > 0,
    labels: w.labels > 0 && target.labelPairs.length > 0,
    services: w.services > 0 && targetSvc.length > 0,
    text: w.text > 0 && tv.norm > 0,
  };
  const totalWeight =
    (active.alerts ? w.alerts : 0) +
    (active.labels ? w.labels : 0) +
    (active.services ? w.services : 0) +
    (active.text ? w.text : 0);
  if (totalWeight <= 0) return [];

  const scored = pool.map((c, k) => {
    const reasons: string[] = [];
    let sum = 0;
    if (active.alerts) {
      const sc = new Set(c.alertnames);
      const shared = target.alertnames.filter((a) => sc.has(a));
      const union = new Set([...target.alertnames, ...c.alertnames]);
      const weightOf = (a: string) => idf(alertDf, a);
      let num = 0;
      let den = 0;
      for (const a of union) den += weightOf(a);
      for (const a of shared) num += weightOf(a);
      if (den > 0) sum += w.alerts * (num / den);
      if (shared.length) reasons.push(`same alert${shared.length > 1 ? 's' : ''} ${list(shared)}`);
    }
    if (active.services) {
      const cs = [...c.incident.services.map((s) => `s:${s}`), ...c.incident.components.map((x) => `c:${x}`)];
      const j = jaccard(targetSvc, cs);
      sum += w.services * j.score;
      const svcs = j.shared.filter((x) => x.startsWith('s:')).map((x) => x.slice(2));
      const comps = j.shared.filter((x) => x.startsWith('c:')).map((x) => x.slice(2));
      if (svcs.length) reasons.push(`same service${svcs.length > 1 ? 's' : ''} ${list(svcs)}`);
      if (comps.length) reasons.push(`same component${comps.length > 1 ? 's' : ''} ${list(comps)}`);
    }
    if (active.labels) {
      const j = jaccard(target.labelPairs, c.labelPairs);
      sum += w.labels * j.score;
      if (j.shared.length) reasons.push(plural(j.shared.length, 'label'));
    }
    if (active.text) {
      const cv = vector(docTokens[k + 1]!);
      let dot = 0;
      for (const [t, x] of tv.v) dot += x * (cv.v.get(t) ?? 0);
      const cos = cv.norm > 0 ? dot / (tv.norm * cv.norm) : 0;
      sum += w.text * cos;
      if (cos >= 0.2) {
        const words = [...tv.v.keys()].filter((t) => cv.v.has(t)).slice(0, 3);
        reasons.push(`similar text (${words.join(', ')})`);
      }
    }
    return { c, score: sum / totalWeight, reasons };
  });

  return scored
    .filter((s) => s.score >= minScore && s.reasons.length > 0)
    .sort((a, b) => b.score - a.score || b.c.incident.createdAt - a.c.incident.createdAt)
    .slice(0, limit)
    .map(({ c, score, reasons }) => {
      const i = c.incident;
      return {
        id: i.id,
        title: i.title,
        severity: i.severity,
        status: i.status,
        createdAt: i.createdAt,
        resolvedAt: i.resolvedAt,
        resolvedBy: i.resolvedBy,
        mttrSeconds: i.resolvedAt === null ? null : (i.resolvedAt - i.createdAt) / 1000,
        score: Math.round(score * 1000) / 1000,
        reasons,
        resolution: c.resolution,
        notes: c.notes.slice(-3),
        runbooks: c.runbooks,
      };
    });
}

/** One line for the timeline: `similar past incidents: ABC (0.82: same alert X; resolution: …), …`. */
export function similarSummary(list: readonly SimilarIncident[]): string {
  const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}…` : s);
  return `similar past incidents: ${list
    .map(
      (s) =>
        `${s.id} "${clip(s.title)}" (${s.score.toFixed(2)}: ${s.reasons.join(', ')}` +
        `${s.resolution ? `; resolution: ${clip(s.resolution)}` : ''})`,
    )
    .join('; ')}`;
}
