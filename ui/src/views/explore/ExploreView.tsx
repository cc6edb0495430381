/**
 * Explore: ad-hoc PromQL. Several queries on one chart (or as a table of instant values), each with its
 * own editor, legend template and hide switch; the time range, refresh and live mode of useTimeRange; query
 * history; errors inline at their position. Everything that defines what is shown lives in the URL (see
 * exploreState.ts), so `/explore?q=rate(x[5m])&from=now-6h` opens with that query run.
 */
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import {
  keepPreviousData,
  useQueries,
  useQuery,
  useQueryClient,
  type UseQueryResult,
} from '@tanstack/react-query';
import { TimeRangePicker, useTimeRange } from '../../app/timerange.tsx';
import { Legend } from '../../components/Legend.tsx';
import { TimeSeriesChart, type ChartMarker } from '../../components/TimeSeriesChart.tsx';
import { Empty, ErrorMessage } from '../../components/states.tsx';
import { useAnomalyBands, type ChartBands } from '../../lib/anomaly.ts';
import { ApiError, queryInstant, type QueryData, type QueryResult } from '../../lib/api.ts';
import { legendFor } from '../../lib/format.ts';
import { editorErrorFrom } from '../../lib/promqlPosition.ts';
import { useRangeQueries, type RangeQuerySpec } from '../../lib/queries.ts';
import type { ChartData } from '../../lib/series.ts';
import { formatDateTime, formatDuration } from '../../lib/time.ts';
import { fetchExemplars } from '../../lib/traces.ts';
import { exemplarPoints, mayHaveExemplars } from '../traces/model.ts';
import {
  EMPTY_QUERY,
  modeFromParams,
  queriesFromParams,
  queriesKey,
  queryLetter,
  withQueries,
  type Mode,
  type QueryDraft,
} from './exploreState.ts';
import { addToHistory, loadHistory, saveHistory } from './history.ts';
import { PlayIcon, PlusIcon } from './icons.tsx';
import { QueryRow } from './QueryRow.tsx';
import { ResultTables, type TableSection } from './ResultTable.tsx';
import { formatSort, nextSort, parseSort, tableRows } from './table.ts';
import './explore.css';

/** About this many points per series across the chart: finer than a pixel pair would not show. */
const GRAPH_POINTS = 600;
const CHART_HEIGHT = 340;
const LEGEND_MAX = 300;

interface Row extends QueryDraft {
  readonly id: number;
}

let rowIds = 0;
const withIds = (qs: readonly QueryDraft[]): Row[] => qs.map((q) => ({ ...q, id: ++rowIds }));

export default function ExploreView() {
  const tr = useTimeRange('now-1h');
  const trRef = useRef(tr);
  trRef.current = tr;
  const [params, setParams] = useSearchParams();
  const client = useQueryClient();

  // ---- URL state --------------------------------------------------------------------------------------
  const committed = useMemo(() => queriesFromParams(params), [params]);
  const committedKey = queriesKey(committed);
  const mode = modeFromParams(params);
  const stacked = params.get('stacked') === '1';
  const log = params.get('log') === '1';
  const anomalies = params.get('anomaly') === '1';
  const labelsAsText = params.get('labels') === 'text';
  const sort = parseSort(params.get('sort'));

  const setParam = useCallback(
    (name: string, value: string | undefined) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        if (value === undefined) next.delete(name);
        else next.set(name, value);
        return next;
      }),
    [setParams],
  );

  // ---- drafts: what the editors hold; the URL changes on Run ---------------------------------------------
  const [rows, setRows] = useState<Row[]>(() => withIds(committed));
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const syncedKey = useRef(committedKey);
  const [focusId, setFocusId] = useState<number>();
  useEffect(() => {
    // The URL changed from outside (a link, back/forward): show its queries.
    if (committedKey === syncedKey.current) return;
    syncedKey.current = committedKey;
    setRows(withIds(committed));
  }, [committedKey]);

  const [history, setHistory] = useState(() => loadHistory());
  const committedKeyRef = useRef(committedKey);
  committedKeyRef.current = committedKey;

  const run = useCallback(
    (next: readonly Row[] = rowsRef.current) => {
      const key = queriesKey(next);
      if (key === committedKeyRef.current) {
        // Same queries: run them again (new data since, or an absolute range).
        trRef.current.refreshNow();
        void client.invalidateQueries({ queryKey: ['range'] });
        void client.invalidateQueries({ queryKey: ['explore-instant'] });
        return;
      }
      syncedKey.current = key;
      setParams((prev) => withQueries(prev, next));
    },
    [client, setParams],
  );

  // Every query that runs goes into the history, whether typed here or opened from a link.
  useEffect(() => {
    const exprs = committed.filter((q) => !q.hidden).map((q) => q.expr);
    if (exprs.every((e) => e.trim() === '')) return;
    setHistory((h) => {
      const updated = addToHistory(h, exprs);
      saveHistory(updated);
      return updated;
    });
  }, [committedKey]);

  const onChange = useCallback((index: number, patch: Partial<QueryDraft>) => {
    setRows((rs) => {
      const next = rs.map((r, i) => (i === index ? { ...r, ...patch } : r));
      rowsRef.current = next;
      return next;
    });
  }, []);
  const onRun = useCallback(() => run(), [run]);
  const onPick = useCallback(
    (index: number, expr: string) => {
      const next = rowsRef.current.map((r, i) => (i === index ? { ...r, expr } : r));
      setRows(next);
      run(next);
    },
    [run],
  );
  const onToggleHidden = useCallback(
    (index: number) => {
      const next = rowsRef.current.map((r, i) => (i === index ? { ...r, hidden: !r.hidden } : r));
      setRows(next);
      run(next);
    },
    [run],
  );
  const onRemove = useCallback(
    (index: number) => {
      const left = rowsRef.current.filter((_r, i) => i !== index);
      const next = left.length > 0 ? left : withIds([EMPTY_QUERY]);
      setRows(next);
      run(next);
    },
    [run],
  );
  const onClearHistory = useCallback(() => {
    setHistory([]);
    saveHistory([]);
  }, []);
  const addQuery = () => {
    const [row] = withIds([EMPTY_QUERY]);
    setRows((rs) => [...rs, row!]);
    setFocusId(row!.id);
  };

  // ---- what runs: the committed queries that are not hidden ----------------------------------------------
  const active = useMemo(
    () => committed.map((q, index) => ({ q, index })).filter(({ q }) => !q.hidden && q.expr.trim() !== ''),
    [committedKey],
  );
  const specs = useMemo<RangeQuerySpec[]>(
    () => active.map(({ q }) => ({ expr: q.expr, legend: q.legend || undefined })),
    [active],
  );

  const graph = useRangeQueries(specs, tr.range, {
    points: GRAPH_POINTS,
    live: tr.live,
    enabled: mode === 'graph',
  });
  const chartData = useRelabelled(graph.data, specs);
  const band = useAnomalyBands(specs, tr.range, graph.step, chartData, mode === 'graph' && anomalies);
  const exemplars = useExemplars(specs, tr.range, mode === 'graph');
  const navigate = useNavigate();
  const onMarker = useCallback((m: ChartMarker) => navigate(`/traces/${m.id.split('@')[0]}`), [navigate]);

  const instantTime = Math.round(tr.range.end) / 1000;
  const { results: instant, tables } = useQueries({
    queries: active.map(({ q }) => ({
      queryKey: ['explore-instant', q.expr, instantTime],
      queryFn: ({ signal }: { signal: AbortSignal }) => queryInstant(q.expr, instantTime, signal),
      enabled: mode === 'table',
      placeholderData: keepPreviousData,
    })),
    combine: combineInstant,
  });

  // ---- per-query outcome, mapped back to the committed rows ---------------------------------------------
  const errors: (unknown | undefined)[] = committed.map(() => undefined);
  const counts: (number | undefined)[] = committed.map(() => undefined);
  const warnings = new Set<string>();
  if (mode === 'graph') {
    active.forEach(({ index }, k) => {
      errors[index] = graph.errors[k];
    });
    if (graph.ready) {
      active.forEach(({ index }) => (counts[index] = 0));
      for (const s of chartData.series) {
        const index = active[s.query]?.index;
        if (index !== undefined) counts[index] = (counts[index] ?? 0) + 1;
      }
    }
    for (const w of graph.warnings) warnings.add(w);
    // The band runs the same queries: their own warnings and errors are already shown once.
    const about = (k: number) =>
      active.length > 1 ? `Anomalies of query ${queryLetter(active[k]?.index ?? k)}: ` : 'Anomalies: ';
    for (const w of band.warnings)
      if (!graph.warnings.includes(w.text)) warnings.add(about(w.query) + w.text);
    for (const e of band.errors)
      if (graph.errors[e.query] === undefined) warnings.add(about(e.query) + e.text);
    if (anomalies && stacked) warnings.add('Anomaly bands are not drawn on a stacked chart.');
  } else {
    active.forEach(({ index }, k) => {
      const r = instant[k];
      errors[index] = r?.error ?? undefined;
      if (r?.data) {
        counts[index] =
          r.data.data.resultType === 'vector' || r.data.data.resultType === 'matrix'
            ? r.data.data.result.length
            : 1;
        for (const w of r.data.warnings) warnings.add(w);
      }
    });
  }

  // An error belongs to the text that produced it: once that row is edited, it is not shown any more.
  const rowOutcome = rows.map((row, i) => {
    const ci = rows.slice(0, i).filter((r) => r.expr.trim() !== '').length;
    const c = committed[ci];
    const same = row.expr.trim() !== '' && c !== undefined && c.expr === row.expr && c.hidden === row.hidden;
    if (!same) return { error: undefined, count: undefined };
    const error = editorErrorFrom(errors[ci]);
    return { error, count: error ? undefined : counts[ci] };
  });

  const fetching = mode === 'graph' ? graph.loading : instant.some((r) => r.isFetching);
  const settled =
    mode === 'graph'
      ? graph.ready && !graph.loading
      : instant.every((r) => !r.isFetching && (r.isSuccess || r.isError));
  const ready = active.length === 0 || (settled && (mode !== 'graph' || band.ready));
  const elapsed = useFetchTimer(fetching);

  // ---- results ------------------------------------------------------------------------------------------
  const [hiddenSeries, setHiddenSeries] = useState<Set<string>>(() => new Set());
  useEffect(() => setHiddenSeries(new Set()), [committedKey]);
  const onZoom = useCallback((a: number, b: number) => trRef.current.zoom(a, b), []);
  const onSort = useCallback(
    (col: string) => setParam('sort', formatSort(nextSort(sort, col))),
    [setParam, sort.col, sort.desc],
  );

  const tableSections = useMemo<TableSection[]>(
    () => active.map(({ q, index }, k) => ({ letter: queryLetter(index), expr: q.expr, result: tables[k] })),
    [active, tables],
  );

  const failed = active.filter(({ index }) => errors[index] !== undefined);
  const unreachable = failed
    .map(({ index }) => errors[index])
    .find((e) => e instanceof ApiError && e.kind === 'unreachable');
  const seriesCount =
    mode === 'graph'
      ? chartData.series.length
      : tableSections.reduce((n, s) => n + (s.result?.rows.length ?? 0), 0);
  const pointCount = usePointCount(chartData);
  const anomalyCount = useMemo(() => {
    let n = 0;
    for (const [key, b] of band.bands) if (!hiddenSeries.has(key)) n += b.anomalies.length;
    return n;
  }, [band.bands, hiddenSeries]);
  const hasResult = mode === 'graph' ? graph.ready : tableSections.some((s) => s.result);

  let body: React.ReactNode;
  if (committed.every((q) => q.expr.trim() === '')) {
    body = <Welcome onTry={(expr) => onPick(0, expr)} />;
  } else if (active.length === 0) {
    body = <Empty>All queries are hidden. Use the eye button of a query to show it again.</Empty>;
  } else if (unreachable) {
    body = <ErrorMessage error={unreachable} />;
  } else if (!hasResult) {
    body = <div className="result-placeholder" style={{ height: CHART_HEIGHT }} aria-busy="true" />;
  } else if (failed.length === active.length) {
    body = (
      <Empty>
        {failed.length === 1
          ? `Query ${queryLetter(failed[0]!.index)} failed: its error is shown under it.`
          : 'The queries failed: each error is shown under its query.'}
      </Empty>
    );
  } else if (seriesCount === 0) {
    body = <NoData mode={mode} />;
  } else if (mode === 'graph') {
    body = (
      <GraphResult
        data={chartData}
        hidden={hiddenSeries}
        onHidden={setHiddenSeries}
        stacked={stacked}
        log={log}
        onZoom={onZoom}
        markers={exemplars}
        onMarker={onMarker}
        bands={anomalies ? band.bands : undefined}
      />
    );
  } else {
    body = <ResultTables sections={tableSections} labelsAsText={labelsAsText} sort={sort} onSort={onSort} />;
  }

  return (
    <div className="page explore" data-view="explore" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Explore</h1>
        <TimeRangePicker tr={tr} />
      </div>

      <section className="card queries" aria-label="Queries">
        <div className="card-body query-rows">
          {rows.map((row, i) => (
            <QueryRow
              key={row.id}
              index={i}
              letter={queryLetter(i)}
              query={row}
              error={rowOutcome[i]!.error}
              count={rowOutcome[i]!.count}
              canRemove={rows.length > 1 || row.expr !== ''}
              autoFocus={row.id === focusId || (i === 0 && rows.length === 1 && row.expr === '')}
              history={history}
              onChange={onChange}
              onRun={onRun}
              onPick={onPick}
              onToggleHidden={onToggleHidden}
              onRemove={onRemove}
              onClearHistory={onClearHistory}
            />
          ))}
          <div className="query-foot">
            <button type="button" className="btn" onClick={addQuery} data-testid="add-query">
              <PlusIcon /> Add query
            </button>
            <span className="hint muted">
              <kbd>Enter</kbd> runs · <kbd>Shift</kbd>+<kbd>Enter</kbd> new line · <kbd>Ctrl</kbd>+
              <kbd>Space</kbd> suggestions
            </span>
            <button type="button" className="btn primary" onClick={() => run()} data-testid="run-query">
              <PlayIcon /> Run query
            </button>
          </div>
        </div>
      </section>

      <section className="card result" aria-label="Result" aria-busy={fetching}>
        <div className="card-head result-head">
          <div className="seg" role="group" aria-label="Result mode">
            {(['graph', 'table'] as Mode[]).map((m) => (
              <button
                key={m}
                type="button"
                aria-pressed={mode === m}
                data-testid={`mode-${m}`}
                onClick={() => setParam('mode', m === 'graph' ? undefined : m)}
              >
                {m === 'graph' ? 'Graph' : 'Table'}
              </button>
            ))}
          </div>
          {mode === 'graph' ? (
            <>
              <label className="check">
                <input
                  type="checkbox"
                  checked={stacked}
                  data-testid="stacked"
                  onChange={(e) => setParam('stacked', e.target.checked ? '1' : undefined)}
                />
                Stacked
              </label>
              <label className="check">
                <input
                  type="checkbox"
                  checked={log}
                  data-testid="log"
                  onChange={(e) => setParam('log', e.target.checked ? '1' : undefined)}
                />
                Log scale
              </label>
              <label className="check" title="Expected band and anomalous points (docs/anomaly.md)">
                <input
                  type="checkbox"
                  checked={anomalies}
                  data-testid="anomalies"
                  onChange={(e) => setParam('anomaly', e.target.checked ? '1' : undefined)}
                />
                Anomalies
              </label>
            </>
          ) : (
            <>
              <div className="seg" role="group" aria-label="Labels">
                <button
                  type="button"
                  aria-pressed={!labelsAsText}
                  onClick={() => setParam('labels', undefined)}
                >
                  Label columns
                </button>
                <button
                  type="button"
                  aria-pressed={labelsAsText}
                  data-testid="labels-text"
                  onClick={() => setParam('labels', 'text')}
                >
                  Series text
                </button>
              </div>
              <span className="muted eval-time">at {formatDateTime(instantTime * 1000)}</span>
            </>
          )}
          <span className="spacer" />
          <Stats
            fetching={fetching}
            series={active.length > 0 && hasResult ? seriesCount : undefined}
            points={mode === 'graph' && hasResult ? pointCount : undefined}
            step={mode === 'graph' && active.length > 0 ? graph.step : undefined}
            anomalies={mode === 'graph' && anomalies && !stacked && band.ready ? anomalyCount : undefined}
            elapsed={elapsed}
          />
        </div>
        {warnings.size > 0 && (
          <ul className="warnings" data-testid="warnings">
            {[...warnings].map((w) => (
              <li key={w} className="warning">
                {w}
              </li>
            ))}
          </ul>
        )}
        <div className="card-body result-body">{body}</div>
      </section>
    </div>
  );
}

/** Instant results and their table rows, recomputed only when a result changes (not on every render). */
function combineInstant(results: UseQueryResult<QueryResult<QueryData>>[]) {
  return { results, tables: results.map((r) => (r.data ? tableRows(r.data.data) : undefined)) };
}

/**
 * Exemplars of the histogram and span-metric queries over the range, as chart markers (a marker's id is
 * `<trace id>@<time>`). A failure only loses the markers: the chart is what the user asked for.
 */
function useExemplars(
  specs: readonly RangeQuerySpec[],
  range: { start: number; end: number },
  enabled: boolean,
): ChartMarker[] {
  const exprs = specs.map((s) => s.expr).filter(mayHaveExemplars);
  const start = Math.floor(range.start / 1000);
  const end = Math.ceil(range.end / 1000);
  const q = useQuery({
    queryKey: ['exemplars', exprs, start, end],
    enabled: enabled && exprs.length > 0,
    placeholderData: keepPreviousData,
    queryFn: async ({ signal }) => {
      const all = await Promise.allSettled(exprs.map((e) => fetchExemplars(e, start, end, signal)));
      return all.flatMap((r) => (r.status === 'fulfilled' ? exemplarPoints(r.value) : []));
    },
  });
  return useMemo(() => {
    if (!enabled || exprs.length === 0) return [];
    const seen = new Set<string>();
    const out: ChartMarker[] = [];
    for (const p of q.data ?? []) {
      const id = `${p.traceId}@${p.t}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ t: p.t, v: p.v, id, label: `Exemplar: trace ${p.traceId} (${p.series} = ${p.v})` });
    }
    return out;
  }, [q.data, enabled, exprs.length]);
}

/** Applies the legend templates to series labels (the data hook labels series only when data arrives). */
function useRelabelled(data: ChartData, specs: readonly RangeQuerySpec[]): ChartData {
  return useMemo(() => {
    let changed = false;
    const series = data.series.map((s) => {
      const label = legendFor(specs[s.query]?.legend, s.metric);
      if (label === s.label) return s;
      changed = true;
      return { ...s, label };
    });
    return changed ? { times: data.times, series } : data;
  }, [data, specs]);
}

function usePointCount(data: ChartData): number {
  return useMemo(() => {
    let n = 0;
    for (const s of data.series) for (const v of s.values) if (v !== null) n++;
    return n;
  }, [data]);
}

/** How long the last fetch took, from when it started to when its answer was in (what the user waited). */
function useFetchTimer(fetching: boolean): number | undefined {
  const started = useRef<number | undefined>(undefined);
  const [elapsed, setElapsed] = useState<number>();
  if (fetching && started.current === undefined) started.current = performance.now();
  useEffect(() => {
    if (!fetching && started.current !== undefined) {
      setElapsed(performance.now() - started.current);
      started.current = undefined;
    }
  }, [fetching]);
  return elapsed;
}

function Stats(props: {
  fetching: boolean;
  series?: number;
  points?: number;
  step?: number;
  anomalies?: number;
  elapsed?: number;
}) {
  const parts: string[] = [];
  if (props.series !== undefined) parts.push(`${props.series.toLocaleString()} series`);
  if (props.points !== undefined) parts.push(`${props.points.toLocaleString()} points`);
  if (props.step !== undefined) parts.push(`step ${formatDuration(props.step * 1000)}`);
  if (props.anomalies !== undefined)
    parts.push(`${props.anomalies.toLocaleString()} anomalous point${props.anomalies === 1 ? '' : 's'}`);
  if (props.elapsed !== undefined)
    parts.push(
      `${props.elapsed < 1000 ? `${Math.round(props.elapsed)} ms` : `${(props.elapsed / 1000).toFixed(2)} s`}`,
    );
  return (
    <span className="stats" data-testid="stats" role="status" aria-live="polite">
      {props.fetching && <span className="spinner" aria-label="Loading" />}
      {parts.join(' · ')}
    </span>
  );
}

const GraphResult = memo(function GraphResult({
  data,
  hidden,
  onHidden,
  stacked,
  log,
  onZoom,
  markers,
  onMarker,
  bands,
}: {
  data: ChartData;
  hidden: Set<string>;
  onHidden(next: Set<string>): void;
  stacked: boolean;
  log: boolean;
  onZoom(a: number, b: number): void;
  markers: readonly ChartMarker[];
  onMarker(m: ChartMarker): void;
  bands?: ChartBands;
}) {
  return (
    <div className="graph-result">
      <TimeSeriesChart
        data={data}
        hidden={hidden}
        height={CHART_HEIGHT}
        stacked={stacked}
        log={log}
        onZoom={onZoom}
        markers={markers}
        onMarker={onMarker}
        bands={bands}
      />
      <Legend series={data.series} hidden={hidden} onChange={onHidden} max={LEGEND_MAX} />
    </div>
  );
});

function NoData({ mode }: { mode: Mode }) {
  return (
    <Empty>
      <strong className="empty-title">
        {mode === 'graph' ? 'No data in this time range.' : 'No series at the end of this time range.'}
      </strong>
      <span>The query ran without error but matched no series. Things to check:</span>
      <ul className="checklist">
        <li>the metric name is spelled as it is stored (type a few letters for suggestions);</li>
        <li>
          each label matcher matches a value that exists, e.g. <code>{'{job="…"}'}</code>;
        </li>
        <li>the time range covers a period when the data was collected (try a longer range);</li>
        <li>
          <code>rate()</code> and similar need at least two samples inside their window: make the{' '}
          <code>[5m]</code> window longer than the scrape interval.
        </li>
      </ul>
    </Empty>
  );
}

const EXAMPLES = ['up', 'rate(process_cpu_seconds_total[5m])', 'node_load1', 'sum by (job) (up)'];

function Welcome({ onTry }: { onTry(expr: string): void }) {
  return (
    <Empty>
      <strong className="empty-title">Type a PromQL expression above and press Enter.</strong>
      <span>Add queries to compare them on one chart; the legend template names series by their labels.</span>
      <span className="examples">
        Try:
        {EXAMPLES.map((e) => (
          <button key={e} type="button" className="btn small mono" onClick={() => onTry(e)}>
            {e}
          </button>
        ))}
      </span>
    </Empty>
  );
}
