/**
 * An in-memory ExemplarStore: the reference implementation for tests and for code tested without chDB.
 * Not durable. Keeps at most `maxExemplars` exemplars, dropping the oldest (by time) beyond that, like
 * Prometheus' fixed-size exemplar buffer.
 */
import { labelsKey, normalizeLabels, type Labels } from '../model/labels.ts';
import { compileMatcher, matchesAll, type Matcher } from '../model/matcher.ts';
import {
  DEFAULT_EXEMPLAR_LIMIT,
  ExemplarStoreError,
  checkExemplars,
  compareExemplars,
  exemplarKey,
  type Exemplar,
  type ExemplarRecord,
  type ExemplarSelectOptions,
  type ExemplarSelection,
  type ExemplarStore,
} from './exemplars.ts';

interface MemSeries {
  readonly labels: Labels;
  readonly key: string;
  /** Exemplar key -> exemplar. */
  readonly exemplars: Map<string, Exemplar>;
}

export class MemoryExemplarStore implements ExemplarStore {
  private readonly series = new Map<string, MemSeries>();
  private total = 0;
  private closed = false;
  /** When set, the next append fails with it (to test how writers handle storage failures). */
  failNextAppend: Error | undefined;

  constructor(private readonly maxExemplars = 1_000_000) {}

  async append(records: readonly ExemplarRecord[]): Promise<void> {
    this.check();
    checkExemplars(records);
    if (this.failNextAppend) {
      const err = this.failNextAppend;
      this.failNextAppend = undefined;
      throw err;
    }
    for (const r of records) {
      const key = labelsKey(r.seriesLabels);
      let s = this.series.get(key);
      if (!s) {
        s = { labels: normalizeLabels(r.seriesLabels), key, exemplars: new Map() };
        this.series.set(key, s);
      }
      const e: Exemplar = { labels: normalizeLabels(r.labels), value: r.value, t: r.t };
      const k = exemplarKey(e);
      if (s.exemplars.has(k)) continue;
      s.exemplars.set(k, e);
      this.total++;
    }
    if (this.total > this.maxExemplars) this.evict(this.total - this.maxExemplars);
  }

  async select(
    mint: number,
    maxt: number,
    matcherSets: readonly (readonly Matcher[])[],
    opts: ExemplarSelectOptions = {},
  ): Promise<ExemplarSelection> {
    this.check();
    const limit = opts.limit ?? DEFAULT_EXEMPLAR_LIMIT;
    const sets = matcherSets.map((ms) => ms.map(compileMatcher));
    const hits: { s: MemSeries; e: Exemplar }[] = [];
    for (const s of this.series.values()) {
      if (!sets.some((ms) => matchesAll(ms, s.labels))) continue;
      for (const e of s.exemplars.values()) if (e.t >= mint && e.t <= maxt) hits.push({ s, e });
    }
    // Newest first to apply the limit, then back into per-series time order.
    hits.sort((a, b) => compareExemplars(b.e, a.e) || (a.s.key < b.s.key ? -1 : a.s.key > b.s.key ? 1 : 0));
    const truncated = hits.length > limit;
    const kept = new Map<MemSeries, Exemplar[]>();
    for (const { s, e } of truncated ? hits.slice(0, limit) : hits) {
      let list = kept.get(s);
      if (!list) kept.set(s, (list = []));
      list.push({ labels: { ...e.labels }, value: e.value, t: e.t });
    }
    const series = [...kept.entries()]
      .sort(([a], [b]) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(([s, exemplars]) => ({
        seriesLabels: { ...s.labels },
        exemplars: exemplars.sort(compareExemplars),
      }));
    return { series, truncated };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private evict(n: number): void {
    const all: { s: MemSeries; k: string; t: number }[] = [];
    for (const s of this.series.values()) for (const [k, e] of s.exemplars) all.push({ s, k, t: e.t });
    all.sort((a, b) => a.t - b.t);
    for (const { s, k } of all.slice(0, n)) {
      s.exemplars.delete(k);
      if (s.exemplars.size === 0) this.series.delete(s.key);
    }
    this.total -= Math.min(n, all.length);
  }

  private check(): void {
    if (this.closed) throw new ExemplarStoreError('exemplar store is closed');
  }
}
