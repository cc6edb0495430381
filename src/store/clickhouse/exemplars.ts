/**
 * ExemplarStore on ClickHouse (chDB in-process or a server) through the shared SqlTransport, in its own
 * tables with their own migration bookkeeping (`exemplar_schema_versions`); layout and reasons:
 * docs/format/exemplar-tables.md.
 *
 * Series are matched in memory, as the metric storage does: the labels of every series with exemplars are
 * loaded at open and extended as appends commit, and only the exemplars of matching series are read.
 */
import { labelsKey, normalizeLabels, seriesId, type Labels } from '../../model/labels.ts';
import { compileMatcher, matchesAll, type Matcher } from '../../model/matcher.ts';
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
} from '../exemplars.ts';
import { applyMigrations, type Migration } from './migrate.ts';
import { sqlIdent, type SqlTransport } from './transport.ts';

export type ExemplarMigration = Migration;

export const EXEMPLAR_MIGRATIONS: readonly ExemplarMigration[] = [
  {
    version: 1,
    name: 'exemplar_series_exemplars',
    statements: (db) => [
      // One row per series that ever had an exemplar; re-inserting a known series is harmless.
      `CREATE TABLE IF NOT EXISTS ${db}.exemplar_series (
        series_id UInt64,
        metric LowCardinality(String),
        labels Map(LowCardinality(String), String) CODEC(ZSTD(3)),
        created_at DateTime DEFAULT now()
      ) ENGINE = ReplacingMergeTree
      ORDER BY (metric, series_id)`,
      // Exemplars of a series sit together in time order, so reading a range of matching series is a few
      // contiguous scans; partitions by day make the retention TTL drop whole parts, as for samples.
      `CREATE TABLE IF NOT EXISTS ${db}.exemplars (
        series_id UInt64 CODEC(ZSTD(1)),
        ts Int64 CODEC(DoubleDelta, ZSTD(1)),
        value Float64 CODEC(Gorilla, ZSTD(1)),
        labels Map(LowCardinality(String), String) CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(intDiv(ts, 1000))
      ORDER BY (series_id, ts)
      SETTINGS ttl_only_drop_parts = 1, materialize_ttl_after_modify = 0`,
    ],
  },
];

/** Creates the database and applies pending exemplar migrations. Returns the schema version now in place. */
export function migrateExemplars(sql: SqlTransport, database: string): Promise<number> {
  return applyMigrations(sql, database, 'exemplar_schema_versions', EXEMPLAR_MIGRATIONS);
}

/**
 * Applies the retention period (ms; 0 keeps exemplars forever) as a TTL on `exemplars`. Existing parts are
 * not rewritten: whole expired day parts are dropped.
 */
export async function applyExemplarRetention(
  sql: SqlTransport,
  database: string,
  retentionMs: number,
): Promise<void> {
  const db = sqlIdent(database);
  const seconds = Math.ceil(retentionMs / 1000);
  const rows = await sql.queryRows<{ q: string }>(
    `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = 'exemplars'`,
  );
  const hasTtl = /\bTTL\b/.test(rows[0]?.q ?? '');
  if (seconds > 0)
    await sql.exec(
      `ALTER TABLE ${db}.exemplars MODIFY TTL toDateTime(intDiv(ts, 1000)) + INTERVAL ${seconds} SECOND`,
    );
  else if (hasTtl) await sql.exec(`ALTER TABLE ${db}.exemplars REMOVE TTL`);
}

export interface ClickHouseExemplarStoreOptions {
  readonly database: string;
  /** Retention in ms; 0 keeps exemplars forever. Normally the samples' retention. */
  readonly retentionMs: number;
}

interface KnownSeries {
  readonly id: string;
  readonly key: string;
  readonly labels: Labels;
}

/** Series IDs per query: keeps the SQL text well below ClickHouse's default max_query_size (256 KiB). */
const IDS_PER_QUERY = 5000;

/** A Float64 in JSON as ClickHouse writes it with quoted denormals, or as we write it. */
function jsonFloat(x: number | string): number {
  if (typeof x === 'number') return x;
  if (x === 'inf' || x === '+inf') return Infinity;
  if (x === '-inf') return -Infinity;
  if (x === 'nan' || x === '-nan') return NaN;
  return Number(x);
}

function floatJson(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/** Clamps a bound to what an Int64 literal and a JS number both hold exactly. */
function bound(t: number): number {
  return Math.min(Math.max(Math.floor(t), Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
}

export class ClickHouseExemplarStore implements ExemplarStore {
  readonly db: string;
  private readonly series = new Map<string, KnownSeries>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly sql: SqlTransport,
    opts: ClickHouseExemplarStoreOptions,
  ) {
    this.db = sqlIdent(opts.database);
  }

  /** Migrates the schema, applies retention and loads the labels of known series. */
  static async open(
    sql: SqlTransport,
    opts: ClickHouseExemplarStoreOptions,
  ): Promise<ClickHouseExemplarStore> {
    const s = new ClickHouseExemplarStore(sql, opts);
    await migrateExemplars(sql, s.db);
    await applyExemplarRetention(sql, s.db, opts.retentionMs);
    const rows = await sql.queryRows<{ id: string; labels: Record<string, string> }>(
      `SELECT toString(series_id) AS id, any(labels) AS labels FROM ${s.db}.exemplar_series GROUP BY series_id`,
    );
    for (const r of rows) {
      const labels = normalizeLabels(r.labels);
      s.series.set(r.id, { id: r.id, key: labelsKey(labels), labels });
    }
    return s;
  }

  append(records: readonly ExemplarRecord[]): Promise<void> {
    return this.track(this.write(records));
  }

  private async write(records: readonly ExemplarRecord[]): Promise<void> {
    this.check();
    checkExemplars(records);
    if (!records.length) return;
    const fresh = new Map<string, KnownSeries>();
    let lines = '';
    for (const r of records) {
      const key = labelsKey(r.seriesLabels);
      const id = seriesId(key).toString();
      if (!this.series.has(id) && !fresh.has(id))
        fresh.set(id, { id, key, labels: normalizeLabels(r.seriesLabels) });
      lines +=
        JSON.stringify({
          series_id: id,
          ts: r.t,
          value: floatJson(r.value),
          labels: normalizeLabels(r.labels),
        }) + '\n';
    }
    // Series first: an exemplar is never stored without the labels that find it.
    if (fresh.size) {
      const rows = [...fresh.values()].map((s) =>
        JSON.stringify({ series_id: s.id, metric: s.labels.__name__ ?? '', labels: s.labels }),
      );
      await this.sql.insertJSON(`${this.db}.exemplar_series`, Buffer.from(rows.join('\n') + '\n'));
      for (const s of fresh.values()) this.series.set(s.id, s);
    }
    await this.sql.insertJSON(`${this.db}.exemplars`, Buffer.from(lines));
  }

  select(
    mint: number,
    maxt: number,
    matcherSets: readonly (readonly Matcher[])[],
    opts: ExemplarSelectOptions = {},
  ): Promise<ExemplarSelection> {
    return this.track(this.read(mint, maxt, matcherSets, opts));
  }

  private async read(
    mint: number,
    maxt: number,
    matcherSets: readonly (readonly Matcher[])[],
    opts: ExemplarSelectOptions,
  ): Promise<ExemplarSelection> {
    this.check();
    const limit = Math.max(0, Math.floor(opts.limit ?? DEFAULT_EXEMPLAR_LIMIT));
    const sets = matcherSets.map((ms) => ms.map(compileMatcher));
    const hit = [...this.series.values()].filter((s) => sets.some((ms) => matchesAll(ms, s.labels)));
    if (!hit.length || maxt < mint) return { series: [], truncated: false };
    // Newest first, one more than the limit to tell whether anything was left out; duplicates grouped away.
    const rows: {
      id: string;
      ts: number | string;
      value: number | string;
      labels: Record<string, string>;
    }[] = [];
    for (let i = 0; i < hit.length; i += IDS_PER_QUERY) {
      const ids = hit.slice(i, i + IDS_PER_QUERY).map((s) => s.id);
      rows.push(
        ...(await this.sql.queryRows<(typeof rows)[number]>(
          `SELECT toString(series_id) AS id, ts, value, labels FROM ${this.db}.exemplars
           WHERE series_id IN (${ids.join(',')}) AND ts >= ${bound(mint)} AND ts <= ${bound(maxt)}
           GROUP BY series_id, ts, value, labels
           ORDER BY ts DESC, value DESC, series_id
           LIMIT ${limit + 1}
           SETTINGS output_format_json_quote_denormals = 1`,
          opts.signal,
        )),
      );
    }
    const found = rows.map((r) => ({
      s: this.series.get(r.id)!,
      e: { labels: normalizeLabels(r.labels), value: jsonFloat(r.value), t: Number(r.ts) } as Exemplar,
    }));
    found.sort((a, b) => compareExemplars(b.e, a.e) || (a.s.key < b.s.key ? -1 : a.s.key > b.s.key ? 1 : 0));
    const truncated = found.length > limit;
    const bySeries = new Map<KnownSeries, Map<string, Exemplar>>();
    for (const { s, e } of truncated ? found.slice(0, limit) : found) {
      let m = bySeries.get(s);
      if (!m) bySeries.set(s, (m = new Map()));
      m.set(exemplarKey(e), e);
    }
    const series = [...bySeries.entries()]
      .sort(([a], [b]) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(([s, m]) => ({
        seriesLabels: { ...s.labels },
        exemplars: [...m.values()].sort(compareExemplars),
      }));
    return { series, truncated };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private check(): void {
    if (this.closed) throw new ExemplarStoreError('exemplar store is closed');
  }
}
