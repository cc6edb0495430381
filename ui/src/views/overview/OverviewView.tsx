/**
 * The Overview: every component Vigil knows about, with status, key figures and sparklines. Problems sort
 * to the top; search, filters and grouping keep it usable with hundreds of components. State is in the URL.
 */
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { fetchOverview, type OverviewComponent } from '../../lib/api.ts';
import { formatValue } from '../../lib/format.ts';
import { formatDuration } from '../../lib/time.ts';
import { TimeRangePicker, useTimeRange } from '../../app/timerange.tsx';
import { Sparkline } from '../../components/Sparkline.tsx';
import { ComponentStrip } from './ComponentStrip.tsx';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import {
  KIND_LABEL,
  ago,
  countStatus,
  figureColumns,
  filterComponents,
  groupComponents,
  type GroupBy,
  type StatusFilter,
} from './model.ts';
import './overview.css';

const PAGE = 100;

export function OverviewView() {
  const tr = useTimeRange('now-1h', '30s');
  const [params, setParams] = useSearchParams();
  // The search box is typed into locally and copied to the URL shortly after: a URL-controlled input would
  // drop keystrokes typed faster than navigation commits.
  const urlSearch = params.get('q') ?? '';
  const [search, setSearch] = useState(urlSearch);
  const status = (params.get('status') ?? 'all') as StatusFilter;
  const kind = params.get('kind') ?? 'all';
  const groupBy = (params.get('group') ?? 'job') as GroupBy;
  const set = (k: string, v: string, dflt: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (v === dflt) next.delete(k);
        else next.set(k, v);
        return next;
      },
      { replace: true },
    );

  useEffect(() => {
    if (search === urlSearch) return undefined;
    const id = setTimeout(() => set('q', search, ''), 250);
    return () => clearTimeout(id);
  }, [search]);
  useEffect(() => setSearch(urlSearch), [urlSearch]);

  const rangeText = formatDuration(tr.range.end - tr.range.start);
  const query = useQuery({
    queryKey: ['overview', rangeText, tr.range.end],
    queryFn: ({ signal }) => fetchOverview(rangeText, signal),
    placeholderData: (prev) => prev,
  });

  const searchRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === '/' && t.tagName !== 'INPUT' && t.tagName !== 'TEXTAREA' && !t.isContentEditable) {
        e.preventDefault();
        searchRef.current?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const all = query.data?.components ?? [];
  const byKind = useMemo(() => (kind === 'all' ? all : all.filter((c) => c.kind === kind)), [all, kind]);
  const shown = useMemo(() => filterComponents(byKind, search, status), [byKind, search, status]);
  const groups = useMemo(() => groupComponents(shown, groupBy), [shown, groupBy]);
  const columns = useMemo(() => figureColumns(all), [all]);
  const totals = useMemo(() => countStatus(byKind), [byKind]);
  const kinds = useMemo(() => [...new Set(all.map((c) => c.kind))].sort(), [all]);
  const ready = query.isSuccess || query.isError;

  return (
    <div className="page overview" data-view="overview" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Overview</h1>
        {query.data && (
          <div className="summary" aria-label="Status summary">
            <span className="muted">
              {all.length} component{all.length === 1 ? '' : 's'}
            </span>
            <span className="badge up">{totals.up} up</span>
            <span className={`badge down ${totals.down ? '' : 'zero'}`}>{totals.down} down</span>
            <span className={`badge stale ${totals.stale ? '' : 'zero'}`}>{totals.stale} stale</span>
          </div>
        )}
        <TimeRangePicker tr={tr} allowLive={false} />
      </div>

      <ComponentStrip />

      <div className="toolbar overview-filters">
        <label className="sr-only" htmlFor="overview-search">
          Search components
        </label>
        <input
          id="overview-search"
          ref={searchRef}
          className="search"
          type="search"
          placeholder="Search name, job, instance, namespace…  ( / )"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <div className="seg" role="group" aria-label="Status">
          {(['all', 'down', 'stale', 'up'] as const).map((s) => (
            <button key={s} type="button" aria-pressed={status === s} onClick={() => set('status', s, 'all')}>
              {s === 'all' ? 'All' : `${s[0]!.toUpperCase()}${s.slice(1)}`}
              {s !== 'all' && <span className="count">{totals[s]}</span>}
            </button>
          ))}
        </div>
        <label className="field">
          <span>Kind</span>
          <select className="select" value={kind} onChange={(e) => set('kind', e.target.value, 'all')}>
            <option value="all">All kinds</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Group by</span>
          <select className="select" value={groupBy} onChange={(e) => set('group', e.target.value, 'job')}>
            <option value="job">Job / service</option>
            <option value="namespace">Namespace</option>
            <option value="kind">Kind</option>
            <option value="none">No grouping</option>
          </select>
        </label>
        {query.isFetching && <span className="spinner" aria-label="Refreshing" />}
      </div>

      {query.isError && <ErrorMessage error={query.error} />}
      {query.isPending && <Loading label="Loading components…" />}
      {query.isSuccess && all.length === 0 && (
        <Empty>
          <strong>No components yet.</strong> Vigil lists what it scrapes, every OTLP service that sends
          metrics, the host, and itself. Add <code>scrape_configs</code> to the configuration, point an
          OpenTelemetry exporter at port 4318, or enable self-monitoring.
        </Empty>
      )}
      {query.isSuccess && all.length > 0 && shown.length === 0 && (
        <Empty>No component matches these filters.</Empty>
      )}

      {groups.map((g) => (
        <GroupCard
          key={g.key}
          label={g.label}
          items={g.items}
          counts={g.counts}
          columns={columns}
          from={tr.spec.from}
          now={query.data?.generatedAt ?? Date.now()}
        />
      ))}
    </div>
  );
}

const GroupCard = memo(function GroupCard({
  label,
  items,
  counts,
  columns,
  from,
  now,
}: {
  label: string;
  items: OverviewComponent[];
  counts: Record<'up' | 'down' | 'stale', number>;
  columns: { key: string; label: string; unit: string }[];
  from: string;
  now: number;
}) {
  const [limit, setLimit] = useState(PAGE);
  const [open, setOpen] = useState(true);
  const visible = items.slice(0, limit);
  return (
    <section className="card group" aria-label={label || 'Components'}>
      {label !== '' && (
        <h2 className="group-head">
          <button
            type="button"
            className="group-toggle"
            aria-expanded={open}
            onClick={() => setOpen((o) => !o)}
          >
            <span className="chev" aria-hidden>
              {open ? '▾' : '▸'}
            </span>
            <span className="group-name">{label}</span>
          </button>
          <span className="muted group-count">{items.length}</span>
          {counts.down > 0 && <span className="badge down">{counts.down} down</span>}
          {counts.stale > 0 && <span className="badge stale">{counts.stale} stale</span>}
        </h2>
      )}
      {open && (
        <div className="table-wrap">
          <table className="table components">
            <thead>
              <tr>
                <th>Status</th>
                <th>Component</th>
                <th>Kind</th>
                <th>Last seen</th>
                {columns.map((c) => (
                  <th key={c.key} className="fig-col">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {visible.map((c) => (
                <Row key={c.id} c={c} columns={columns} from={from} now={now} />
              ))}
            </tbody>
          </table>
          {items.length > visible.length && (
            <button type="button" className="btn show-more" onClick={() => setLimit((l) => l + PAGE * 5)}>
              Show {Math.min(PAGE * 5, items.length - visible.length)} more of {items.length - visible.length}
            </button>
          )}
        </div>
      )}
    </section>
  );
});

const Row = memo(function Row({
  c,
  columns,
  from,
  now,
}: {
  c: OverviewComponent;
  columns: { key: string; label: string; unit: string }[];
  from: string;
  now: number;
}) {
  const figs = new Map(c.figures.map((f) => [f.key, f]));
  return (
    <tr className={`status-${c.status}`} data-component={c.id}>
      <td>
        <span className={`badge ${c.status}`} title={c.reason}>
          {c.status}
        </span>
      </td>
      <td className="comp">
        <div className="comp-name">{c.name}</div>
        <div className="comp-sub muted mono">
          {c.instance}
          {c.namespace ? ` · ${c.namespace}` : ''}
        </div>
        {c.reason && c.status !== 'up' && <div className="comp-reason">{c.reason}</div>}
      </td>
      <td>
        <span className={`kind kind-${c.kind}`}>{KIND_LABEL[c.kind]}</span>
      </td>
      <td className="muted nowrap" title={c.lastSeen ? new Date(c.lastSeen).toLocaleString() : undefined}>
        {ago(c.lastSeen, now)}
      </td>
      {columns.map((col) => {
        const f = figs.get(col.key);
        if (!f) return <td key={col.key} className="fig empty-fig" />;
        const bad = col.key === 'errors' && (f.value ?? 0) > 0;
        return (
          <td key={col.key} className="fig">
            <Link
              className={`fig-link ${bad ? 'bad' : ''}`}
              to={`/explore?${new URLSearchParams({ q: f.query, from })}`}
              title={`Open in Explore: ${f.query}`}
            >
              <span className="fig-val">{formatValue(f.value, f.unit)}</span>
              <Sparkline
                values={f.spark}
                width={96}
                height={24}
                color={bad ? 'var(--bad)' : 'var(--accent)'}
              />
            </Link>
          </td>
        );
      })}
    </tr>
  );
});
