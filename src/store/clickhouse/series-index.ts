/**
 * In-memory index of every series: labels, id, and the time span it has samples in. Loaded from ClickHouse
 * at start and extended as writes commit, so series selection, label names and label values never touch
 * disk. Postings per label pair make equality matchers cheap; regex matchers scan the values of one label.
 */
import type { Labels } from '../../model/labels.ts';
import { compileMatcher, type CompiledMatcher, type Matcher } from '../../model/matcher.ts';

export interface IndexedSeries {
  readonly id: bigint;
  /** Decimal form of id, cached for building SQL. */
  readonly idStr: string;
  /** Low and high 32 bits of id, cached for writing binary rows. */
  readonly idLo: number;
  readonly idHi: number;
  readonly key: string;
  readonly labels: Labels;
  minT: number;
  maxT: number;
  /** Samples written (duplicates and deleted ones included): with minT/maxT, an estimate of sample density. */
  samples: number;
  /**
   * Typical time between recent samples, ms (0: unknown): data often gets denser over time (a coarse backfilled
   * history, then live scrapes), which the average over the whole span would hide.
   */
  recentInterval: number;
  /**
   * Earliest timestamp at or after which this series may hold samples written out of time order or twice
   * (Infinity when every write was newer than the one before). Pushdown evaluates such series from raw samples,
   * which are sorted and de-duplicated on read.
   */
  unorderedSince: number;
  /** Newest timestamp handed to the writer so far (committed or queued). */
  queuedMaxT: number;
  /** Value of the newest non-stale sample handed to the writer, for the next sample's counter flags. */
  lastValue: number;
  hasLastValue: boolean;
  /** Bumped whenever a commit of this series is queued; appenders check it was not bumped under them. */
  version: number;
}

/** Matcher lists whose sorted selections are kept (see `SeriesIndex.selectSorted`). */
const MAX_CACHED_SELECTIONS = 512;

export class SeriesIndex {
  private readonly byKey = new Map<string, IndexedSeries>();
  private readonly byId = new Map<bigint, IndexedSeries>();
  /** label name -> value -> series */
  private readonly postings = new Map<string, Map<string, Set<IndexedSeries>>>();
  /**
   * Series matching a matcher list regardless of time, ordered by labels, by matcher list: dashboards repeat the
   * same selectors, whose regexes and sorts this saves. Emptied whenever a series is added.
   */
  private readonly sortedByMatchers = new Map<string, IndexedSeries[]>();

  get size(): number {
    return this.byKey.size;
  }

  getByKey(key: string): IndexedSeries | undefined {
    return this.byKey.get(key);
  }

  getById(id: bigint): IndexedSeries | undefined {
    return this.byId.get(id);
  }

  add(s: IndexedSeries): void {
    if (this.byKey.has(s.key)) return;
    this.sortedByMatchers.clear();
    this.byKey.set(s.key, s);
    this.byId.set(s.id, s);
    for (const [n, v] of Object.entries(s.labels)) {
      let values = this.postings.get(n);
      if (!values) this.postings.set(n, (values = new Map()));
      let set = values.get(v);
      if (!set) values.set(v, (set = new Set()));
      set.add(s);
    }
  }

  /** Series matching every matcher whose [minT, maxT] overlaps [mint, maxt]. Unordered. */
  select(matchers: readonly Matcher[], mint = -Infinity, maxt = Infinity): IndexedSeries[] {
    const compiled = matchers.map(compileMatcher);
    const candidates = this.candidates(compiled);
    const out: IndexedSeries[] = [];
    for (const s of candidates) {
      if (s.maxT < mint || s.minT > maxt) continue;
      let ok = true;
      for (const m of compiled) {
        if (!m.matches(s.labels[m.name] ?? '')) {
          ok = false;
          break;
        }
      }
      if (ok) out.push(s);
    }
    return out;
  }

  /**
   * Series matching every matcher whose [minT, maxT] overlaps [mint, maxt], ordered by labels. The array is the
   * caller's.
   */
  selectSorted(matchers: readonly Matcher[], mint = -Infinity, maxt = Infinity): IndexedSeries[] {
    let key = '';
    for (const m of matchers) key += `${m.name}\u0000${m.type}\u0000${m.value}\u0001`;
    let all = this.sortedByMatchers.get(key);
    if (!all) {
      all = this.select(matchers).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      // Bounded: ad-hoc queries with ever new selectors must not grow it without end.
      if (this.sortedByMatchers.size >= MAX_CACHED_SELECTIONS) this.sortedByMatchers.clear();
      this.sortedByMatchers.set(key, all);
    }
    const out: IndexedSeries[] = [];
    for (const s of all) if (s.maxT >= mint && s.minT <= maxt) out.push(s);
    return out;
  }

  /** The smallest posting set we can derive from positive matchers, or every series. */
  private candidates(matchers: readonly CompiledMatcher[]): Iterable<IndexedSeries> {
    let best: Iterable<IndexedSeries> | undefined;
    let bestSize = Infinity;
    for (const m of matchers) {
      if (m.matches('')) continue; // matches absent labels too: cannot narrow by postings
      const values = this.postings.get(m.name);
      if (!values) return [];
      let size = 0;
      let sets: Set<IndexedSeries>[];
      if (m.type === '=') {
        const set = values.get(m.value);
        if (!set) return [];
        sets = [set];
        size = set.size;
      } else {
        sets = [];
        for (const [v, set] of values) {
          if (m.matches(v)) {
            sets.push(set);
            size += set.size;
          }
        }
      }
      if (size < bestSize) {
        bestSize = size;
        best = sets.length === 1 ? sets[0]! : sets.flatMap((s) => [...s]);
      }
    }
    return best ?? this.byKey.values();
  }
}

/** Builds an index entry for a series id and its normalised labels. */
export function indexedSeries(
  id: bigint,
  key: string,
  labels: Labels,
  minT: number,
  maxT: number,
  samples = 0,
): IndexedSeries {
  return {
    id,
    idStr: id.toString(),
    idLo: Number(id & 0xffffffffn),
    idHi: Number(id >> 32n),
    key,
    labels,
    minT,
    maxT,
    samples,
    recentInterval: 0,
    unorderedSince: Infinity,
    queuedMaxT: maxT,
    lastValue: 0,
    hasLastValue: false,
    version: 0,
  };
}
