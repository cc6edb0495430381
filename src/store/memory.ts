/**
 * In-memory Storage: the reference implementation for tests of everything above the storage boundary
 * (PromQL, API, rules). Not durable; commit resolves immediately.
 */
import { METRIC_NAME, labelsKey, normalizeLabels, type Labels } from '../model/labels.ts';
import { compileMatcher, matchesAll, type CompiledMatcher, type Matcher } from '../model/matcher.ts';
import type {
  Appender,
  MetricMetadata,
  Querier,
  SelectHints,
  SeriesData,
  Storage,
  StorageStats,
} from './interface.ts';

interface MemSeries {
  labels: Labels;
  key: string;
  /** timestamp -> value; sorted on read. */
  samples: Map<number, number>;
}

export class MemoryStorage implements Storage {
  private readonly series = new Map<string, MemSeries>();
  private readonly meta = new Map<string, MetricMetadata>();

  appender(): Appender {
    const pending: { labels: Labels; t: number; v: number }[] = [];
    const pendingMeta: [string, MetricMetadata][] = [];
    let done = false;
    const check = () => {
      if (done) throw new Error('appender already committed or rolled back');
    };
    return {
      append: (labels, t, v) => {
        check();
        pending.push({ labels, t, v });
      },
      appendMetadata: (metric, m) => {
        check();
        pendingMeta.push([metric, m]);
      },
      get count() {
        return pending.length;
      },
      commit: async () => {
        check();
        done = true;
        for (const s of pending) this.add(s.labels, s.t, s.v);
        for (const [k, m] of pendingMeta) this.meta.set(k, m);
      },
      rollback: () => {
        done = true;
        pending.length = 0;
      },
    };
  }

  /** Synchronous helper for tests and loaders. */
  add(labels: Labels, t: number, v: number): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: normalizeLabels(labels), key, samples: new Map() };
      this.series.set(key, s);
    }
    s.samples.set(t, v);
  }

  querier(mint: number, maxt: number): Querier {
    const matching = (sets: readonly (readonly Matcher[])[]): MemSeries[] => {
      const compiled = sets.map((ms) => ms.map(compileMatcher));
      const out: MemSeries[] = [];
      for (const s of this.series.values()) {
        if (compiled.length && !compiled.some((ms) => matchesAll(ms, s.labels))) continue;
        out.push(s);
      }
      return out;
    };
    const inRange = (s: MemSeries) => {
      for (const t of s.samples.keys()) if (t >= mint && t <= maxt) return true;
      return false;
    };
    const byLabels = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return {
      mint,
      maxt,
      select: async (matchers: readonly Matcher[], hints?: SelectHints): Promise<SeriesData[]> => {
        const cms: CompiledMatcher[] = matchers.map(compileMatcher);
        const out: (SeriesData & { key: string })[] = [];
        for (const s of this.series.values()) {
          if (!matchesAll(cms, s.labels)) continue;
          const ts = [...s.samples.keys()].filter((t) => t >= mint && t <= maxt).sort((a, b) => a - b);
          if (!ts.length) continue;
          const t = hints?.labelsOnly ? new Float64Array(0) : Float64Array.from(ts);
          const v = hints?.labelsOnly ? new Float64Array(0) : Float64Array.from(ts, (x) => s.samples.get(x)!);
          out.push({ labels: s.labels, t, v, key: s.key });
        }
        return out.sort(byLabels).map(({ labels, t, v }) => ({ labels, t, v }));
      },
      series: async (sets) =>
        matching(sets)
          .filter(inRange)
          .sort(byLabels)
          .map((s) => s.labels),
      labelNames: async (sets) => {
        const names = new Set<string>();
        for (const s of matching(sets)) if (inRange(s)) for (const n of Object.keys(s.labels)) names.add(n);
        return [...names].sort();
      },
      labelValues: async (name, sets) => {
        const values = new Set<string>();
        for (const s of matching(sets)) {
          const v = s.labels[name];
          if (v !== undefined && inRange(s)) values.add(v);
        }
        return [...values].sort();
      },
    };
  }

  async metadata(metric?: string, limit?: number): Promise<Map<string, MetricMetadata[]>> {
    const out = new Map<string, MetricMetadata[]>();
    for (const [k, m] of [...this.meta].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (metric !== undefined && k !== metric) continue;
      if (limit !== undefined && limit > 0 && out.size >= limit) break;
      out.set(k, [m]);
    }
    return out;
  }

  async deleteSeries(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<void> {
    const compiled = sets.map((ms) => ms.map(compileMatcher));
    for (const [key, s] of this.series) {
      if (!compiled.some((ms) => matchesAll(ms, s.labels))) continue;
      for (const t of [...s.samples.keys()]) if (t >= mint && t <= maxt) s.samples.delete(t);
      if (s.samples.size === 0) this.series.delete(key);
    }
  }

  async cleanTombstones(): Promise<void> {}

  async stats(): Promise<StorageStats> {
    let samples = 0;
    for (const s of this.series.values()) samples += s.samples.size;
    return { series: this.series.size, samples, bytesOnDisk: 0 };
  }

  async close(): Promise<void> {}

  /** Names of all metrics, for tests. */
  metricNames(): string[] {
    return [...new Set([...this.series.values()].map((s) => s.labels[METRIC_NAME] ?? ''))].sort();
  }
}

/**
 * A MemoryStorage whose commits fail with the given error (nothing is stored): lets ingestion tests check
 * how senders are answered when storage is overloaded or broken.
 */
export class FailingStorage extends MemoryStorage {
  constructor(private readonly failure: Error) {
    super();
  }

  override appender(): Appender {
    const inner = super.appender();
    const failure = this.failure;
    return {
      append: (l, t, v) => inner.append(l, t, v),
      appendMetadata: (m, meta) => inner.appendMetadata(m, meta),
      get count() {
        return inner.count;
      },
      commit: async () => {
        inner.rollback();
        throw failure;
      },
      rollback: () => inner.rollback(),
    };
  }
}
