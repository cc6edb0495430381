/**
 * Trace search: a form (service, operation, kind, status, attribute conditions, duration bounds, limit) kept
 * in the URL with the shell's time range; results as a duration-over-time scatter and a list with duration
 * bars, span and error counts and per-service chips. Two results can be picked for comparison.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { TimeRangePicker, useTimeRange } from '../../app/timerange.tsx';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { formatDateTime } from '../../lib/time.ts';
import { fetchServices, searchTraces, type TraceSummary } from '../../lib/traces.ts';
import {
  checkForm,
  formatUs,
  searchFromParams,
  serviceColor,
  toSearch,
  withSearch,
  type SearchForm,
} from './model.ts';
import { ServiceChip } from './parts.tsx';
import './traces.css';

const KINDS = ['server', 'client', 'producer', 'consumer', 'internal'];

export default function TraceSearchView() {
  const tr = useTimeRange('now-1h');
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const committed = useMemo(() => searchFromParams(params), [params]);
  const committedKey = JSON.stringify(committed);
  const [draft, setDraft] = useState<SearchForm>(committed);
  useEffect(() => setDraft(committed), [committedKey]);
  const problems = checkForm(draft);
  const committedProblems = checkForm(committed);
  const canRun = Object.keys(committedProblems).length === 0;

  const services = useQuery({ queryKey: ['trace-services'], queryFn: ({ signal }) => fetchServices(signal) });
  const search = toSearch(committed, tr.range);
  const results = useQuery({
    queryKey: ['trace-search', search],
    queryFn: ({ signal }) => searchTraces(search, signal),
    enabled: canRun,
    placeholderData: (prev) => prev,
  });

  const operations = useMemo(() => {
    const list = services.data ?? [];
    const chosen = draft.service ? list.filter((s) => s.service === draft.service) : list;
    return [...new Set(chosen.flatMap((s) => s.operations.map((o) => o.name)))].sort();
  }, [services.data, draft.service]);

  const [selected, setSelected] = useState<string[]>([]);
  const toggle = (id: string) =>
    setSelected((cur) => (cur.includes(id) ? cur.filter((x) => x !== id) : [...cur, id].slice(-2)));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (Object.keys(problems).length > 0) return;
    if (JSON.stringify(draft) === committedKey) {
      tr.refreshNow();
      void results.refetch();
    } else setParams((prev) => withSearch(prev, draft));
  };
  const set = (patch: Partial<SearchForm>) => setDraft((d) => ({ ...d, ...patch }));
  const ready = !canRun || results.isSuccess || results.isError;

  const compareHref = () => {
    const p = new URLSearchParams({ a: selected[0]!, b: selected[1]! });
    return `/traces/compare?${p}`;
  };

  return (
    <div className="page traces-search" data-view="traces" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Traces</h1>
        <Link className="btn" to="/service-map">
          Service map
        </Link>
        <TimeRangePicker tr={tr} allowLive={false} />
      </div>

      <form className="card trace-form" onSubmit={submit} aria-label="Trace search" noValidate>
        <div className="card-body form-grid">
          <label className="field">
            <span>Service</span>
            <select
              className="select"
              data-testid="service"
              value={draft.service}
              onChange={(e) => set({ service: e.target.value, operation: '' })}
            >
              <option value="">All services</option>
              {(services.data ?? []).map((s) => (
                <option key={s.service} value={s.service}>
                  {s.service}
                </option>
              ))}
              {draft.service && !services.data?.some((s) => s.service === draft.service) && (
                <option value={draft.service}>{draft.service}</option>
              )}
            </select>
          </label>
          <label className="field">
            <span>Operation</span>
            <select
              className="select"
              data-testid="operation"
              value={draft.operation}
              onChange={(e) => set({ operation: e.target.value })}
            >
              <option value="">All operations</option>
              {operations.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
              {draft.operation && !operations.includes(draft.operation) && (
                <option value={draft.operation}>{draft.operation}</option>
              )}
            </select>
          </label>
          <label className="field">
            <span>Kind</span>
            <select className="select" value={draft.kind} onChange={(e) => set({ kind: e.target.value })}>
              <option value="">Any kind</option>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Status</span>
            <select
              className="select"
              data-testid="status"
              value={draft.status}
              onChange={(e) => set({ status: e.target.value })}
            >
              <option value="">Any status</option>
              <option value="error">Error</option>
              <option value="ok">OK</option>
              <option value="unset">Unset</option>
            </select>
          </label>
          <label className="field narrow">
            <span>Min duration</span>
            <input
              data-testid="min-duration"
              value={draft.minDuration}
              placeholder="e.g. 250ms"
              aria-invalid={!!problems.minDuration}
              onChange={(e) => set({ minDuration: e.target.value })}
            />
          </label>
          <label className="field narrow">
            <span>Max duration</span>
            <input
              value={draft.maxDuration}
              placeholder="e.g. 2s"
              aria-invalid={!!problems.maxDuration}
              onChange={(e) => set({ maxDuration: e.target.value })}
            />
          </label>
          <label className="field narrow">
            <span>Limit</span>
            <input
              value={draft.limit}
              inputMode="numeric"
              aria-invalid={!!problems.limit}
              onChange={(e) => set({ limit: e.target.value })}
            />
          </label>
          <div className="field attrs">
            <span>Attributes</span>
            {draft.attr.map((a, i) => (
              <span className="attr-row" key={i}>
                <input
                  className="mono"
                  data-testid="attr"
                  value={a}
                  aria-label={`Attribute condition ${i + 1}`}
                  placeholder="http.route=/notify, http.status_code>=500, channel=~sms|push"
                  aria-invalid={!!problems.attr && a.trim() !== ''}
                  onChange={(e) => set({ attr: draft.attr.map((x, j) => (j === i ? e.target.value : x)) })}
                />
                <button
                  type="button"
                  className="btn icon"
                  aria-label={`Remove condition ${i + 1}`}
                  onClick={() => set({ attr: draft.attr.filter((_x, j) => j !== i) })}
                >
                  ×
                </button>
              </span>
            ))}
            <button
              type="button"
              className="btn small"
              data-testid="add-attr"
              onClick={() => set({ attr: [...draft.attr, ''] })}
            >
              + Condition
            </button>
          </div>
          <div className="form-actions">
            <button type="submit" className="btn primary" data-testid="search">
              Find traces
            </button>
          </div>
        </div>
        {Object.keys(problems).length > 0 && (
          <ul className="form-problems" role="alert" data-testid="form-problems">
            {Object.entries(problems).map(([k, m]) => (
              <li key={k} className="inline-error">
                {m}
              </li>
            ))}
          </ul>
        )}
        {services.isError && (
          <div className="card-body">
            <ErrorMessage error={services.error} title="The list of services could not be loaded" />
          </div>
        )}
      </form>

      <section className="card trace-results" aria-label="Results" aria-busy={results.isFetching}>
        <div className="card-head">
          <h2>
            {results.data ? `${results.data.length} trace${results.data.length === 1 ? '' : 's'}` : 'Results'}
          </h2>
          {results.isFetching && <span className="spinner" aria-label="Loading" />}
          <span className="spacer" />
          <span className="muted">{selected.length === 2 ? '' : 'Tick two traces to compare them'}</span>
          <button
            type="button"
            className="btn"
            data-testid="compare"
            disabled={selected.length !== 2}
            onClick={() => navigate(compareHref())}
          >
            Compare {selected.length > 0 ? `(${selected.length}/2)` : ''}
          </button>
        </div>
        <div className="card-body">
          {!canRun ? (
            <Empty>Correct the search above to see traces.</Empty>
          ) : results.isError ? (
            <ErrorMessage error={results.error} />
          ) : !results.data ? (
            <Loading label="Searching traces…" />
          ) : results.data.length === 0 ? (
            <Empty>
              <strong className="empty-title">No traces match in this time range.</strong>
              <span>
                Try a longer time range, fewer conditions, or check that services send spans to Vigil (OTLP on{' '}
                <code>/v1/traces</code>, port 4318, or gRPC on 4317).
              </span>
            </Empty>
          ) : (
            <>
              <Scatter traces={results.data} range={tr.range} />
              <ResultList traces={results.data} selected={selected} onToggle={toggle} />
            </>
          )}
        </div>
      </section>
    </div>
  );
}

const SC_H = 150;
const SC_W = 1000;

/** Duration over start time, one dot per trace (errors in red); a dot opens its trace. */
function Scatter({ traces, range }: { traces: TraceSummary[]; range: { start: number; end: number } }) {
  const navigate = useNavigate();
  const maxD = Math.max(1, ...traces.map((t) => t.durationUs));
  const t0 = range.start * 1000;
  const span = Math.max(1, (range.end - range.start) * 1000);
  const x = (us: number) => 40 + ((us - t0) / span) * (SC_W - 50);
  const y = (d: number) => SC_H - 20 - (d / maxD) * (SC_H - 34);
  return (
    <div className="scatter" data-testid="scatter" data-points={traces.length}>
      <svg
        viewBox={`0 0 ${SC_W} ${SC_H}`}
        preserveAspectRatio="none"
        role="img"
        aria-label="Duration over time"
      >
        <line x1={40} x2={SC_W - 10} y1={SC_H - 20} y2={SC_H - 20} className="axis" />
        <line x1={40} x2={40} y1={8} y2={SC_H - 20} className="axis" />
        {traces.map((t) => (
          <circle
            key={t.traceId}
            cx={Math.max(40, Math.min(SC_W - 10, x(t.startUs)))}
            cy={y(t.durationUs)}
            r={4}
            className={t.errorCount > 0 ? 'dot err' : 'dot'}
            onClick={() => navigate(`/traces/${t.traceId}`)}
          >
            <title>{`${t.rootService}: ${t.rootName} — ${formatUs(t.durationUs)}`}</title>
          </circle>
        ))}
      </svg>
      <span className="scatter-max muted">{formatUs(maxD)}</span>
      <span className="scatter-from muted">{formatDateTime(range.start)}</span>
      <span className="scatter-to muted">{formatDateTime(range.end)}</span>
    </div>
  );
}

function ResultList({
  traces,
  selected,
  onToggle,
}: {
  traces: TraceSummary[];
  selected: string[];
  onToggle(id: string): void;
}) {
  const maxD = Math.max(1, ...traces.map((t) => t.durationUs));
  return (
    <table className="table trace-list" data-testid="trace-list" data-rows={traces.length}>
      <thead>
        <tr>
          <th>
            <span className="sr-only">Compare</span>
          </th>
          <th>Trace</th>
          <th>Started</th>
          <th>Duration</th>
          <th className="num">Spans</th>
          <th className="num">Errors</th>
          <th>Services</th>
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => (
          <tr key={t.traceId} data-trace={t.traceId} className={t.errorCount > 0 ? 'has-error' : ''}>
            <td>
              <input
                type="checkbox"
                aria-label={`Compare trace ${t.traceId}`}
                checked={selected.includes(t.traceId)}
                onChange={() => onToggle(t.traceId)}
              />
            </td>
            <td className="trace-name">
              <Link to={`/traces/${t.traceId}`}>
                <span className="svc" style={{ color: serviceColor(t.rootService) }}>
                  {t.rootService}
                </span>
                : {t.rootName}
              </Link>
              <span className="mono muted trace-id">{t.traceId}</span>
            </td>
            <td className="muted nowrap">{formatDateTime(t.startUs / 1000)}</td>
            <td>
              <div className="dur-cell">
                <span className="dur-bar" aria-hidden>
                  <span style={{ width: `${Math.max(0.5, (t.durationUs / maxD) * 100)}%` }} />
                </span>
                <span className="mono">{formatUs(t.durationUs)}</span>
              </div>
            </td>
            <td className="num">{t.spanCount}</td>
            <td className={`num ${t.errorCount > 0 ? 'err-count' : ''}`}>{t.errorCount}</td>
            <td className="chips">
              {t.services.map((s) => (
                <ServiceChip key={s.service} service={s.service} count={s.spanCount} errors={s.errorCount} />
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
