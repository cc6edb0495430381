/**
 * The incident list (`/incidents`): MTTA and MTTR over the last 30 days on top, then incidents with the open
 * ones first (triggered, acknowledged), most severe and newest first within each. Status, severity, service,
 * search words and page are in the URL; the list is paged so a thousand open incidents stay quick to show. The
 * newest 10,000 matching incidents load first; "Load older incidents" follows the API's cursor for the next
 * 10,000. The analytics card draws MTTA and MTTR per day.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import {
  fetchAnalytics,
  fetchIncidentPage,
  LIST_LIMIT,
  type Incident,
  type IncidentAnalytics,
  type ResponseFigures,
} from '../../lib/incidents.ts';
import { formatDateTime } from '../../lib/time.ts';
import { formatAge } from '../alerts/model.ts';
import { SeverityBadge } from '../alerts/parts.tsx';
import { NewIncidentForm } from './NewIncidentForm.tsx';
import {
  formatSeconds,
  incidentFiltersFrom,
  paginate,
  PAGE_SIZE,
  sortIncidents,
  timeBars,
  withIncidentFilters,
  type IncidentFilters,
} from './model.ts';
import { StatusBadge } from './parts.tsx';
import '../alerts/alerts.css';
import './incidents.css';

const REFRESH_MS = 10_000;
const WINDOW_MS = 30 * 86_400_000;

const STATUS_CHOICES: { value: string; label: string }[] = [
  { value: '', label: 'Any status' },
  { value: 'triggered,acknowledged', label: 'Open (triggered or acknowledged)' },
  { value: 'triggered', label: 'Triggered' },
  { value: 'acknowledged', label: 'Acknowledged' },
  { value: 'resolved', label: 'Resolved' },
];

export default function IncidentsView() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const f = useMemo(() => incidentFiltersFrom(params), [params]);
  const [service, setService] = useState(f.service);
  useEffect(() => setService(f.service), [f.service]);
  const [search, setSearch] = useState(f.q);
  useEffect(() => setSearch(f.q), [f.q]);
  const [creating, setCreating] = useState(false);

  // Pages of up to LIST_LIMIT incidents along the API's cursor; "Load older incidents" adds the next one.
  // A refresh refetches every loaded page, each from the fresh previous page's cursor, so none is skipped.
  const incidents = useInfiniteQuery({
    queryKey: ['incidents', 'list', f.status.join(','), f.severity, f.service, f.q],
    queryFn: ({ signal, pageParam }) =>
      fetchIncidentPage(
        {
          status: f.status,
          severity: f.severity || undefined,
          service: f.service || undefined,
          q: f.q || undefined,
          cursor: pageParam,
        },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next,
    refetchInterval: REFRESH_MS,
    placeholderData: (prev) => prev,
  });
  const loaded = useMemo(() => incidents.data?.pages.flatMap((p) => p.incidents), [incidents.data]);
  const analytics = useQuery({
    queryKey: ['incidents', 'analytics'],
    queryFn: ({ signal }) => fetchAnalytics(Date.now() - WINDOW_MS, signal),
    refetchInterval: 60_000,
  });
  const sorted = useMemo(() => (loaded ? sortIncidents(loaded) : undefined), [loaded]);
  const shown = sorted ? paginate(sorted, f.page) : undefined;
  const counts = useMemo(() => {
    const c = { triggered: 0, acknowledged: 0, resolved: 0 };
    for (const i of loaded ?? []) c[i.status]++;
    return c;
  }, [loaded]);
  const severities = useMemo(
    () => [...new Set((loaded ?? []).map((i) => i.severity).concat(f.severity ? [f.severity] : []))].sort(),
    [loaded, f.severity],
  );

  const apply = (patch: Partial<IncidentFilters>) =>
    setParams((prev) => withIncidentFilters(prev, { ...f, page: 1, ...patch }));
  const ready = incidents.isSuccess || incidents.isError;

  return (
    <div className="page incidents-view" data-view="incidents" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Incidents</h1>
        <button
          type="button"
          className="btn primary"
          data-testid="new-incident"
          onClick={() => setCreating(true)}
        >
          New incident
        </button>
      </div>

      <section className="figures" aria-label="Response figures">
        <Figure
          label="Triggered"
          value={String(counts.triggered)}
          tone={counts.triggered ? 'bad' : undefined}
          testId="fig-triggered"
        />
        <Figure
          label="Acknowledged"
          value={String(counts.acknowledged)}
          tone={counts.acknowledged ? 'warn' : undefined}
          testId="fig-acknowledged"
        />
        <Figure label="Resolved" value={String(counts.resolved)} testId="fig-resolved" />
        <Figure
          label="MTTA (30 days)"
          value={
            analytics.data ? formatSeconds(analytics.data.overall.mttaSeconds) : analytics.isError ? '?' : '…'
          }
          title={
            analytics.isError
              ? (analytics.error as Error).message
              : 'Mean time from opening to acknowledgement'
          }
          testId="fig-mtta"
        />
        <Figure
          label="MTTR (30 days)"
          value={
            analytics.data ? formatSeconds(analytics.data.overall.mttrSeconds) : analytics.isError ? '?' : '…'
          }
          title={
            analytics.isError ? (analytics.error as Error).message : 'Mean time from opening to resolution'
          }
          testId="fig-mttr"
        />
      </section>

      <AnalyticsCard
        analytics={analytics.data}
        open={params.get('analytics') === '1'}
        onToggle={(open) =>
          setParams(
            (prev) => {
              const p = new URLSearchParams(prev);
              if (open) p.set('analytics', '1');
              else p.delete('analytics');
              return p;
            },
            { replace: true },
          )
        }
      />

      <form
        className="card incident-filters"
        aria-label="Incident filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply({ service: service.trim(), q: search.trim() });
        }}
      >
        <div className="card-body filter-row">
          <label className="field">
            <span>Status</span>
            <select
              className="select"
              data-testid="incident-status-filter"
              value={f.status.join(',')}
              onChange={(e) =>
                apply({
                  status: e.target.value ? (e.target.value.split(',') as IncidentFilters['status']) : [],
                })
              }
            >
              {STATUS_CHOICES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
              {!STATUS_CHOICES.some((c) => c.value === f.status.join(',')) && (
                <option value={f.status.join(',')}>{f.status.join(', ')}</option>
              )}
            </select>
          </label>
          <label className="field">
            <span>Severity</span>
            <select
              className="select"
              data-testid="incident-severity-filter"
              value={f.severity}
              onChange={(e) => apply({ severity: e.target.value })}
            >
              <option value="">Any severity</option>
              {severities.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="field grow">
            <span>Search</span>
            <input
              type="search"
              data-testid="incident-search"
              value={search}
              placeholder="words in titles, notes, resolutions, labels (Enter)"
              onChange={(e) => setSearch(e.target.value)}
            />
          </label>
          <label className="field">
            <span>Service</span>
            <input
              data-testid="incident-service-filter"
              value={service}
              placeholder="checkout (Enter to apply)"
              onChange={(e) => setService(e.target.value)}
            />
          </label>
          <button type="submit" className="btn">
            Filter
          </button>
        </div>
      </form>

      <section className="card incident-results" aria-label="Incidents" aria-busy={incidents.isFetching}>
        {incidents.isError && !incidents.data ? (
          <ErrorMessage error={incidents.error} />
        ) : !shown || !sorted ? (
          <Loading label="Loading incidents…" />
        ) : sorted.length === 0 ? (
          <Empty>
            <strong className="empty-title">No incident matches.</strong>
            <span>
              Incidents open from alert groups routed to an escalation policy (see{' '}
              <Link to="/oncall?tab=policies">Escalation policies</Link>), or by hand with{' '}
              <em>New incident</em>.
            </span>
          </Empty>
        ) : (
          <>
            <table className="table incident-table">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Severity</th>
                  <th>Incident</th>
                  <th>Services</th>
                  <th>Assignee</th>
                  <th className="num">Opened</th>
                  <th className="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {shown.items.map((i) => (
                  <IncidentRow key={i.id} incident={i} />
                ))}
              </tbody>
            </table>
            {incidents.hasNextPage && (
              <p className="warning list-cap" data-testid="incident-list-more">
                The newest {sorted.length.toLocaleString()} incidents are loaded.{' '}
                <button
                  type="button"
                  className="btn small"
                  data-testid="load-older-incidents"
                  disabled={incidents.isFetchingNextPage}
                  onClick={() => void incidents.fetchNextPage()}
                >
                  {incidents.isFetchingNextPage
                    ? 'Loading…'
                    : `Load ${LIST_LIMIT.toLocaleString()} older incidents`}
                </button>
              </p>
            )}
            <Pager
              page={shown.page}
              pages={shown.pages}
              total={sorted.length}
              size={shown.items.length}
              onPage={(page) => apply({ page })}
            />
          </>
        )}
      </section>
      {creating && (
        <NewIncidentForm
          onClose={() => setCreating(false)}
          onCreated={(i) => {
            setCreating(false);
            void navigate(`/incidents/${encodeURIComponent(i.id)}`);
          }}
        />
      )}
    </div>
  );
}

function Figure({
  label,
  value,
  tone,
  title,
  testId,
}: {
  label: string;
  value: string;
  tone?: 'bad' | 'warn';
  title?: string;
  testId: string;
}) {
  return (
    <div className={`card figure ${tone ?? ''}`} title={title} data-testid={testId}>
      <span className="figure-label">{label}</span>
      <span className="figure-value">{value}</span>
    </div>
  );
}

function IncidentRow({ incident: i }: { incident: Incident }) {
  const end = i.resolvedAt ?? Date.now();
  return (
    <tr data-testid="incident-row" data-id={i.id} data-status={i.status}>
      <td>
        <StatusBadge status={i.status} />
      </td>
      <td>
        <SeverityBadge severity={i.severity} />
      </td>
      <td className="incident-title-cell">
        <Link to={`/incidents/${encodeURIComponent(i.id)}`} className="incident-link">
          {i.title}
        </Link>
        <span className="mono muted incident-id">{i.id}</span>
      </td>
      <td>
        {i.services.length ? (
          <span className="label-chips">
            {i.services.map((s) => (
              <span key={s} className="lchip">
                {s}
              </span>
            ))}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>{i.assignee ?? <span className="muted">unassigned</span>}</td>
      <td className="num" title={formatDateTime(i.createdAt)}>
        {formatAge(Date.now() - i.createdAt)} ago
      </td>
      <td className="num">{formatAge(end - i.createdAt)}</td>
    </tr>
  );
}

function Pager({
  page,
  pages,
  total,
  size,
  onPage,
}: {
  page: number;
  pages: number;
  total: number;
  size: number;
  onPage(p: number): void;
}) {
  const first = total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  return (
    <nav className="pager" aria-label="Pages">
      <span className="muted" data-testid="incident-count" data-total={total}>
        {first}–{first + size - 1} of {total}
      </span>
      <span className="spacer" />
      <button
        type="button"
        className="btn small"
        disabled={page <= 1}
        onClick={() => onPage(page - 1)}
        data-testid="page-prev"
      >
        ← Previous
      </button>
      <span className="muted">
        page {page} of {pages}
      </span>
      <button
        type="button"
        className="btn small"
        disabled={page >= pages}
        onClick={() => onPage(page + 1)}
        data-testid="page-next"
      >
        Next →
      </button>
    </nav>
  );
}

/** MTTA/MTTR per severity, service and team, pages per person and incidents per component, folded away. */
function AnalyticsCard({
  analytics,
  open,
  onToggle,
}: {
  analytics: IncidentAnalytics | undefined;
  open: boolean;
  onToggle(open: boolean): void;
}) {
  const groups: [string, Record<string, ResponseFigures>][] = analytics
    ? [
        ['Severity', analytics.bySeverity],
        ['Service', analytics.byService],
        ['Team', analytics.byTeam],
      ]
    : [];
  return (
    <details
      className="card analytics"
      open={open}
      data-testid="analytics"
      onToggle={(e) => {
        if (e.currentTarget.open !== open) onToggle(e.currentTarget.open);
      }}
    >
      <summary>Response analytics, last 30 days</summary>
      {!analytics ? (
        <Loading label="Loading analytics…" />
      ) : (
        <div className="analytics-grid">
          <OverTimeChart buckets={analytics.overTime ?? []} />
          {groups.map(([title, rows]) => (
            <table key={title} className="table analytics-table">
              <thead>
                <tr>
                  <th>{title}</th>
                  <th className="num">Incidents</th>
                  <th className="num">MTTA</th>
                  <th className="num">MTTR</th>
                </tr>
              </thead>
              <tbody>
                {Object.keys(rows).length === 0 ? (
                  <tr>
                    <td colSpan={4} className="muted">
                      none
                    </td>
                  </tr>
                ) : (
                  Object.entries(rows).map(([k, f]) => (
                    <tr key={k} data-testid={`analytics-${title.toLowerCase()}`} data-key={k}>
                      <td>{k}</td>
                      <td className="num">{f.incidents}</td>
                      <td className="num">{formatSeconds(f.mttaSeconds)}</td>
                      <td className="num">{formatSeconds(f.mttrSeconds)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          ))}
          <table className="table analytics-table">
            <thead>
              <tr>
                <th>Person</th>
                <th className="num">Pages delivered</th>
                <th className="num">Failed</th>
              </tr>
            </thead>
            <tbody>
              {Object.keys(analytics.pagesPerUser).length === 0 ? (
                <tr>
                  <td colSpan={3} className="muted">
                    nobody paged
                  </td>
                </tr>
              ) : (
                Object.entries(analytics.pagesPerUser).map(([u, p]) => (
                  <tr key={u} data-testid="analytics-pages" data-key={u}>
                    <td>{u}</td>
                    <td className="num">{p.delivered}</td>
                    <td className="num">{p.failed}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <table className="table analytics-table">
            <thead>
              <tr>
                <th>Component</th>
                <th className="num">Incidents</th>
              </tr>
            </thead>
            <tbody>
              {Object.keys(analytics.incidentsPerComponent).length === 0 ? (
                <tr>
                  <td colSpan={2} className="muted">
                    none
                  </td>
                </tr>
              ) : (
                Object.entries(analytics.incidentsPerComponent)
                  .sort((a, b) => b[1] - a[1])
                  .slice(0, 20)
                  .map(([c, n]) => (
                    <tr key={c}>
                      <td>{c}</td>
                      <td className="num">{n}</td>
                    </tr>
                  ))
              )}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
}

const CHART_W = 600;
const CHART_H = 110;

/** MTTA and MTTR per day as bars side by side; hover a bar for its figure. */
function OverTimeChart({ buckets }: { buckets: NonNullable<IncidentAnalytics['overTime']> }) {
  const { bars, maxSeconds } = timeBars(buckets, CHART_W, CHART_H);
  const day = (t: number) => formatDateTime(t).slice(0, 10);
  return (
    <figure className="overtime" data-testid="overtime-chart" data-bars={bars.length}>
      <figcaption>
        <strong>MTTA and MTTR per day</strong>
        <span className="overtime-key mtta">MTTA</span>
        <span className="overtime-key mttr">MTTR</span>
        {maxSeconds > 0 && <span className="muted">top: {formatSeconds(maxSeconds)}</span>}
      </figcaption>
      {bars.length === 0 ? (
        <p className="muted">No incident was acknowledged or resolved in this window.</p>
      ) : (
        <svg
          viewBox={`0 0 ${CHART_W} ${CHART_H}`}
          preserveAspectRatio="none"
          role="img"
          aria-label="MTTA and MTTR per day"
        >
          <line x1={0} x2={CHART_W} y1={CHART_H - 0.5} y2={CHART_H - 0.5} className="overtime-axis" />
          {bars.map((b) => (
            <rect
              key={`${b.kind}${b.start}`}
              className={`overtime-bar ${b.kind}`}
              data-testid="overtime-bar"
              data-kind={b.kind}
              data-seconds={b.seconds}
              x={b.x}
              y={b.y}
              width={b.width}
              height={b.height}
            >
              <title>{`${day(b.start)}: ${b.kind.toUpperCase()} ${formatSeconds(b.seconds)}`}</title>
            </rect>
          ))}
        </svg>
      )}
      {buckets.length > 0 && (
        <div className="overtime-dates muted small">
          <span>{day(buckets[0]!.start)}</span>
          <span>{day(buckets.at(-1)!.start)}</span>
        </div>
      )}
    </figure>
  );
}
