/**
 * Two traces side by side (`/traces/compare?a=<id>&b=<id>`): operations aligned by (service, operation)
 * with their span counts and summed durations on each side, the difference, and operations found in one
 * trace only marked. `sort=delta` orders by the largest difference.
 */
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { fetchTrace, type TraceDetail } from '../../lib/traces.ts';
import { compareTraces, formatDeltaUs, formatUs, serviceColor, shortId, type CompareRow } from './model.ts';
import { SYNTHETIC_ROOT } from './Waterfall.tsx';
import './traces.css';

export default function CompareView() {
  const [params, setParams] = useSearchParams();
  const a = params.get('a') ?? '';
  const b = params.get('b') ?? '';
  const byDelta = params.get('sort') === 'delta';
  const setSort = (v: string | undefined) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (v === undefined) next.delete('sort');
        else next.set('sort', v);
        return next;
      },
      { replace: true },
    );
  const qa = useQuery({
    queryKey: ['trace', a],
    queryFn: ({ signal }) => fetchTrace(a, signal),
    enabled: a !== '',
    staleTime: 30_000,
  });
  const qb = useQuery({
    queryKey: ['trace', b],
    queryFn: ({ signal }) => fetchTrace(b, signal),
    enabled: b !== '',
    staleTime: 30_000,
  });
  const rows = useMemo(() => {
    if (!qa.data || !qb.data) return [];
    const r = compareTraces(qa.data.spans, qb.data.spans);
    if (byDelta)
      r.sort(
        (x, y) =>
          Math.abs(y.deltaUs ?? y.a?.totalUs ?? y.b?.totalUs ?? 0) -
          Math.abs(x.deltaUs ?? x.a?.totalUs ?? x.b?.totalUs ?? 0),
      );
    return r;
  }, [qa.data, qb.data, byDelta]);

  const missing = a === '' || b === '';
  const ready = missing || ((qa.isSuccess || qa.isError) && (qb.isSuccess || qb.isError));
  const maxUs = Math.max(1, ...rows.flatMap((r) => [r.a?.totalUs ?? 0, r.b?.totalUs ?? 0]));

  return (
    <div className="page trace-compare" data-view="trace-compare" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Compare traces</h1>
        <Link className="btn" to="/traces">
          Search traces
        </Link>
      </div>
      {missing ? (
        <Empty>
          Pick two traces to compare: tick two results in the <Link to="/traces">trace search</Link>, or open{' '}
          <code>/traces/compare?a=&lt;trace ID&gt;&amp;b=&lt;trace ID&gt;</code>.
        </Empty>
      ) : (
        <>
          <div className="compare-heads">
            <TraceHead side="A" id={a} q={qa} other={qb.data} />
            <TraceHead side="B" id={b} q={qb} other={qa.data} />
          </div>
          {qa.data && qb.data && (
            <section className="card" aria-label="Operations">
              <div className="card-head">
                <h2>Operations</h2>
                <span className="muted">
                  {rows.filter((r) => r.only === 'a').length} only in A ·{' '}
                  {rows.filter((r) => r.only === 'b').length} only in B
                </span>
                <span className="spacer" />
                <div className="seg" role="group" aria-label="Order">
                  <button type="button" aria-pressed={!byDelta} onClick={() => setSort(undefined)}>
                    Trace order
                  </button>
                  <button
                    type="button"
                    aria-pressed={byDelta}
                    data-testid="sort-delta"
                    onClick={() => setSort('delta')}
                  >
                    Largest difference
                  </button>
                </div>
              </div>
              <div className="card-body">
                <CompareTable rows={rows} maxUs={maxUs} indent={!byDelta} />
              </div>
            </section>
          )}
        </>
      )}
    </div>
  );
}

function TraceHead({
  side,
  id,
  q,
  other,
}: {
  side: 'A' | 'B';
  id: string;
  q: { data?: TraceDetail; error: unknown; isError: boolean };
  other?: TraceDetail;
}) {
  const t = q.data;
  const root = t?.spans.find((s) => s.spanId !== SYNTHETIC_ROOT && t.roots.includes(s.spanId)) ?? t?.spans[0];
  return (
    <section className={`card compare-head side-${side.toLowerCase()}`} aria-label={`Trace ${side}`}>
      <div className="card-body">
        <div className="side-label">{side}</div>
        {q.isError ? (
          <ErrorMessage error={q.error} title={`Trace ${side} (${shortId(id)}) could not be loaded`} />
        ) : !t ? (
          <Loading />
        ) : (
          <>
            <Link to={`/traces/${t.traceId}`} className="compare-title">
              {root ? `${root.service}: ${root.name}` : shortId(t.traceId)}
            </Link>
            <div className="mono muted">{t.traceId}</div>
            <div className="compare-figures">
              <span>
                <strong data-testid={`duration-${side.toLowerCase()}`}>{formatUs(t.durationUs)}</strong>
                {other && side === 'B' && (
                  <span className={`delta ${t.durationUs > other.durationUs ? 'worse' : 'better'}`}>
                    {' '}
                    {formatDeltaUs(t.durationUs - other.durationUs)}
                  </span>
                )}
              </span>
              <span>{t.spans.filter((s) => s.spanId !== SYNTHETIC_ROOT).length} spans</span>
              <span>{t.services.length} services</span>
              <span className={t.services.some((s) => s.errorCount) ? 'err-count' : ''}>
                {t.services.reduce((n, s) => n + s.errorCount, 0)} errors
              </span>
            </div>
          </>
        )}
      </div>
    </section>
  );
}

function CompareTable({ rows, maxUs, indent }: { rows: CompareRow[]; maxUs: number; indent: boolean }) {
  if (rows.length === 0) return <Empty>Neither trace has spans.</Empty>;
  return (
    <table className="table compare-table" data-testid="compare-table" data-rows={rows.length}>
      <thead>
        <tr>
          <th>Operation</th>
          <th className="num">A spans</th>
          <th>A time</th>
          <th className="num">B spans</th>
          <th>B time</th>
          <th className="num">B − A</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr
            key={`${r.service}\u0000${r.name}`}
            className={r.only ? `only-${r.only}` : ''}
            data-only={r.only ?? ''}
          >
            <td style={indent ? { paddingLeft: 10 + Math.min(r.depth, 20) * 12 } : undefined}>
              <span className="swatch" style={{ background: serviceColor(r.service) }} />{' '}
              <span className="wf-svc">{r.service}</span> {r.name}
              {r.only && <span className={`mark only only-${r.only}`}>only in {r.only.toUpperCase()}</span>}
            </td>
            <td className="num">{r.a?.count ?? '—'}</td>
            <td>
              <Bar us={r.a?.totalUs} max={maxUs} side="a" />
            </td>
            <td className="num">{r.b?.count ?? '—'}</td>
            <td>
              <Bar us={r.b?.totalUs} max={maxUs} side="b" />
            </td>
            <td
              className={`num delta ${r.deltaUs === undefined ? '' : r.deltaUs > 0 ? 'worse' : r.deltaUs < 0 ? 'better' : ''}`}
            >
              {r.deltaUs === undefined ? '—' : formatDeltaUs(r.deltaUs)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Bar({ us, max, side }: { us?: number; max: number; side: 'a' | 'b' }) {
  if (us === undefined) return <span className="muted">—</span>;
  return (
    <span className="cmp-bar-cell">
      <span className="dur-bar" aria-hidden>
        <span className={`side-${side}`} style={{ width: `${Math.max(0.5, (us / max) * 100)}%` }} />
      </span>
      <span className="mono">{formatUs(us)}</span>
    </span>
  );
}
