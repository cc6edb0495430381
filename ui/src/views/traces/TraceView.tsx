/**
 * One trace: a header (root, duration, services, warnings, linked traces and the message's journey), the
 * waterfall or the flame graph (`tab=flame`), and the selected span's details (`span=<id>`), all in the URL.
 */
import { useCallback, useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { ApiError } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/time.ts';
import { fetchJourney, fetchTrace, type TraceDetail } from '../../lib/traces.ts';
import { formatUs, shortId } from './model.ts';
import { ServiceChip } from './parts.tsx';
import { FlameGraph } from './FlameGraph.tsx';
import { SpanDetails } from './SpanDetails.tsx';
import { SYNTHETIC_ROOT, Waterfall } from './Waterfall.tsx';
import './traces.css';

export default function TraceView() {
  const { id = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'flame' ? 'flame' : 'waterfall';
  const selected = params.get('span') ?? undefined;
  const trace = useQuery({
    queryKey: ['trace', id],
    queryFn: ({ signal }) => fetchTrace(id, signal),
    staleTime: 30_000,
  });

  const setParam = useCallback(
    (k: string, v: string | undefined) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (v === undefined) next.delete(k);
          else next.set(k, v);
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  const onSelect = useCallback((spanId: string) => setParam('span', spanId), [setParam]);

  const ready = trace.isSuccess || trace.isError;
  return (
    <div className="page trace-view" data-view="trace" data-ready={ready ? 'true' : 'false'}>
      {trace.isError ? (
        <>
          <div className="page-head">
            <h1>Trace {shortId(id)}</h1>
            <Link className="btn" to="/traces">
              Search traces
            </Link>
          </div>
          {trace.error instanceof ApiError && trace.error.kind === 'not_found' ? (
            <Empty>
              <strong className="empty-title">No trace with ID {id}.</strong>
              <span>
                It may be older than the trace retention, its spans may not have arrived yet, or the ID may be
                mistyped (trace IDs are 32 hexadecimal digits).
              </span>
            </Empty>
          ) : (
            <ErrorMessage error={trace.error} />
          )}
        </>
      ) : !trace.data ? (
        <Loading label="Loading trace…" />
      ) : (
        <TraceBody
          trace={trace.data}
          tab={tab}
          selected={selected}
          onSelect={onSelect}
          onTab={(t) => setParam('tab', t === 'waterfall' ? undefined : t)}
          onClose={() => setParam('span', undefined)}
        />
      )}
    </div>
  );
}

function TraceBody({
  trace,
  tab,
  selected,
  onSelect,
  onTab,
  onClose,
}: {
  trace: TraceDetail;
  tab: 'waterfall' | 'flame';
  selected?: string;
  onSelect(id: string): void;
  onTab(t: 'waterfall' | 'flame'): void;
  onClose(): void;
}) {
  const root = useMemo(() => {
    const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
    const real = trace.roots.map((r) => byId.get(r)).find((s) => s && s.spanId !== SYNTHETIC_ROOT);
    return real ?? trace.spans.find((s) => s.spanId !== SYNTHETIC_ROOT);
  }, [trace]);
  const span = selected ? trace.spans.find((s) => s.spanId === selected) : undefined;
  const errors = trace.services.reduce((a, s) => a + s.errorCount, 0);

  return (
    <>
      <div className="page-head trace-head">
        <h1 data-testid="trace-title">
          {root ? (
            <>
              {root.service}: {root.name}
            </>
          ) : (
            'Trace'
          )}
        </h1>
        <Link className="btn" to="/traces">
          Search traces
        </Link>
      </div>
      <section className="card trace-summary" aria-label="Trace summary">
        <div className="card-body">
          <dl className="summary-facts">
            <div>
              <dt>Trace ID</dt>
              <dd className="mono" data-testid="trace-id">
                {trace.traceId}
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatDateTime(trace.startUs / 1000)}</dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd data-testid="trace-duration">{formatUs(trace.durationUs)}</dd>
            </div>
            <div>
              <dt>Spans</dt>
              <dd>{trace.spans.filter((s) => s.spanId !== SYNTHETIC_ROOT).length.toLocaleString()}</dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd className={errors > 0 ? 'err-count' : ''}>{errors}</dd>
            </div>
            <div>
              <dt>Critical path</dt>
              <dd>{formatUs(trace.criticalPath.reduce((a, c) => a + c.durationUs, 0))}</dd>
            </div>
          </dl>
          <div className="chips" aria-label="Services">
            {trace.services.map((s) => (
              <ServiceChip key={s.service} service={s.service} count={s.spanCount} errors={s.errorCount} />
            ))}
          </div>
          {trace.warnings.length > 0 && (
            <ul className="warnings trace-warnings" data-testid="trace-warnings">
              {trace.warnings.map((w, i) => (
                <li key={i} className="warning">
                  {w}
                </li>
              ))}
            </ul>
          )}
          {trace.errorOrigins.length > 0 && (
            <p className="error-origins">
              Errors start at{' '}
              {trace.errorOrigins.map((o, i) => {
                const s = trace.spans.find((x) => x.spanId === o.spanId);
                return (
                  <span key={o.spanId}>
                    {i > 0 && ', '}
                    <button type="button" className="linkish" onClick={() => onSelect(o.spanId)}>
                      {s ? `${s.service}: ${s.name}` : o.spanId}
                    </button>
                    {o.propagatedTo.length > 0 && (
                      <span className="muted"> (propagated to {o.propagatedTo.length})</span>
                    )}
                  </span>
                );
              })}
            </p>
          )}
          {trace.linkedTraces.length > 0 && (
            <p className="linked" data-testid="linked-traces">
              Linked traces:{' '}
              {trace.linkedTraces.map((t, i) => (
                <span key={t}>
                  {i > 0 && ', '}
                  <Link className="mono" to={`/traces/${t}`}>
                    {shortId(t)}
                  </Link>
                </span>
              ))}
            </p>
          )}
          <JourneySummary traceId={trace.traceId} onSelect={onSelect} />
        </div>
      </section>

      <div className={`trace-main ${span ? 'with-details' : ''}`}>
        <section className="card trace-timeline" aria-label="Timeline">
          <div className="card-head">
            <div className="seg" role="group" aria-label="Timeline view">
              <button
                type="button"
                aria-pressed={tab === 'waterfall'}
                data-testid="tab-waterfall"
                onClick={() => onTab('waterfall')}
              >
                Waterfall
              </button>
              <button
                type="button"
                aria-pressed={tab === 'flame'}
                data-testid="tab-flame"
                onClick={() => onTab('flame')}
              >
                Flame graph
              </button>
            </div>
            <span className="legend-keys muted">
              <span className="key crit" /> critical path <span className="key origin" /> error origin{' '}
              <span className="key prop" /> propagated
            </span>
          </div>
          <div className="card-body">
            {tab === 'waterfall' ? (
              <Waterfall key={trace.traceId} trace={trace} selected={selected} onSelect={onSelect} />
            ) : (
              <FlameGraph spans={trace.spans} selected={selected} onSelect={onSelect} />
            )}
          </div>
        </section>
        {span && (
          <SpanDetails
            span={span}
            traceId={trace.traceId}
            traceStartUs={trace.startUs}
            onSelect={onSelect}
            onClose={onClose}
          />
        )}
      </div>
    </>
  );
}

/** The message's path beyond this trace (fan-out to channels), when there is one. */
function JourneySummary({ traceId, onSelect }: { traceId: string; onSelect(spanId: string): void }) {
  const journey = useQuery({
    queryKey: ['journey', traceId],
    queryFn: ({ signal }) => fetchJourney(traceId, signal),
    staleTime: 30_000,
  });
  if (journey.isError) {
    // A trace that is part of no journey is normal; anything else is worth saying, in its place.
    if (journey.error instanceof ApiError && journey.error.kind === 'not_found') return null;
    return <ErrorMessage error={journey.error} title="The journey of this message could not be loaded" />;
  }
  const j = journey.data;
  if (!j || (j.branches.length === 0 && j.traces.length <= 1)) return null;
  return (
    <div className="journey" data-testid="journey">
      <h3>
        Journey of this message: {j.traces.length} trace{j.traces.length === 1 ? '' : 's'},{' '}
        {j.branches.length} branch{j.branches.length === 1 ? '' : 'es'}
        {j.fanOut && (
          <>
            {' '}
            fanning out at{' '}
            {j.fanOut.traceId === traceId ? (
              <button type="button" className="linkish" onClick={() => onSelect(j.fanOut!.spanId)}>
                span {j.fanOut.spanId}
              </button>
            ) : (
              <Link to={`/traces/${j.fanOut.traceId}?span=${encodeURIComponent(j.fanOut.spanId)}`}>
                {shortId(j.fanOut.traceId)} / {j.fanOut.spanId}
              </Link>
            )}
          </>
        )}
      </h3>
      {j.traces.length > 1 && (
        <p className="muted">
          Traces:{' '}
          {j.traces.map((t, i) => (
            <span key={t}>
              {i > 0 && ', '}
              {t === traceId ? (
                <span className="mono">{shortId(t)} (this)</span>
              ) : (
                <Link className="mono" to={`/traces/${t}`}>
                  {shortId(t)}
                </Link>
              )}
            </span>
          ))}
        </p>
      )}
      {j.branches.length > 0 && (
        <table className="table compact">
          <thead>
            <tr>
              <th>Channel</th>
              <th>Trace</th>
              <th>Status</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {j.branches.map((b) => (
              <tr key={`${b.traceId}-${b.spanId}`}>
                <td>{b.channel}</td>
                <td>
                  {b.traceId === traceId ? (
                    <button type="button" className="linkish" onClick={() => onSelect(b.spanId)}>
                      this trace
                    </button>
                  ) : (
                    <Link className="mono" to={`/traces/${b.traceId}?span=${encodeURIComponent(b.spanId)}`}>
                      {shortId(b.traceId)}
                    </Link>
                  )}
                </td>
                <td className={b.status === 'error' ? 'err-count' : ''}>{b.status}</td>
                <td className="num">{formatUs(b.durationUs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
