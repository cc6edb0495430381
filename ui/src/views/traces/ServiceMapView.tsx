/**
 * The service map: services laid out left to right by call depth (layoutServiceMap), with rate, error
 * percentage and p95 latency on every node and edge, errors in red. A node opens the trace search for that
 * service. Below it, the bottlenecks of a chosen endpoint: which operations make its slow requests slow.
 */
import { useMemo } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { TimeRangePicker, useTimeRange } from '../../app/timerange.tsx';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { fetchBottlenecks, fetchServiceMap, fetchServices, type ServiceMap } from '../../lib/traces.ts';
import {
  MAP_NODE_H,
  MAP_NODE_W,
  formatPercent,
  layoutServiceMap,
  serviceColor,
  type PlacedNode,
} from './model.ts';
import './traces.css';

function rate(r: number): string {
  if (!Number.isFinite(r)) return '–';
  if (r === 0) return '0/s';
  // Slow services read better per minute than as 0.01/s.
  if (r < 0.1) return `${(r * 60).toFixed(r * 60 < 10 ? 2 : 1)}/min`;
  return `${r < 10 ? r.toFixed(2) : Math.round(r)}/s`;
}

function ms(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a < 1) return `${Math.round(v * 1000)} µs`;
  if (a < 1000) return `${a < 10 ? v.toFixed(1) : Math.round(v)} ms`;
  return `${(v / 1000).toFixed(2)} s`;
}

export default function ServiceMapView() {
  const tr = useTimeRange('now-1h');
  const start = Math.floor(tr.range.start / 1000);
  const end = Math.ceil(tr.range.end / 1000);
  const map = useQuery({
    queryKey: ['service-map', start, end],
    queryFn: ({ signal }) => fetchServiceMap(start, end, signal),
    placeholderData: (prev) => prev,
  });
  const ready = map.isSuccess || map.isError;

  return (
    <div className="page service-map" data-view="service-map" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Service map</h1>
        <Link className="btn" to="/traces">
          Search traces
        </Link>
        <TimeRangePicker tr={tr} allowLive={false} />
      </div>
      <section className="card" aria-label="Service map" aria-busy={map.isFetching}>
        <div className="card-body">
          {map.isError ? (
            <ErrorMessage error={map.error} />
          ) : !map.data ? (
            <Loading label="Building the service map…" />
          ) : map.data.nodes.length === 0 && map.data.edges.length === 0 ? (
            <Empty>
              <strong className="empty-title">No services sent spans in this time range.</strong>
              <span>
                Try a longer time range, or check that services export traces to Vigil (OTLP on{' '}
                <code>/v1/traces</code>).
              </span>
            </Empty>
          ) : (
            <>
              <MapDiagram data={map.data} range={tr.spec} />
              <ServiceTable data={map.data} range={tr.spec} />
            </>
          )}
        </div>
      </section>
      <Bottleneck start={start} end={end} />
    </div>
  );
}

function searchLink(service: string, range: { from: string; to: string }): string {
  return `/traces?${new URLSearchParams({ service, from: range.from, to: range.to })}`;
}

function MapDiagram({ data, range }: { data: ServiceMap; range: { from: string; to: string } }) {
  const navigate = useNavigate();
  const layout = useMemo(() => layoutServiceMap(data.nodes, data.edges), [data]);
  const maxRate = Math.max(1e-9, ...data.edges.map((e) => e.ratePerSecond));
  return (
    <div className="map-scroll">
      <svg
        className="map"
        data-testid="service-map"
        data-nodes={layout.nodes.length}
        data-edges={layout.edges.length}
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label="Services and the calls between them"
      >
        <defs>
          <marker
            id="map-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="9"
            markerHeight="9"
            markerUnits="userSpaceOnUse"
            orient="auto"
          >
            <path d="M0 0 L10 5 L0 10 z" className="arrow" />
          </marker>
          <marker
            id="map-arrow-err"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="9"
            markerHeight="9"
            markerUnits="userSpaceOnUse"
            orient="auto"
          >
            <path d="M0 0 L10 5 L0 10 z" className="arrow err" />
          </marker>
        </defs>
        {layout.edges.map((e) => {
          const err = e.edge.errorRate > 0;
          return (
            <g
              key={`${e.edge.source}\u0000${e.edge.target}`}
              className={`map-edge ${err ? 'err' : ''} ${e.back ? 'back' : ''}`}
              data-edge={`${e.edge.source}->${e.edge.target}`}
            >
              <path
                d={e.path}
                strokeWidth={1.2 + 3 * Math.sqrt(e.edge.ratePerSecond / maxRate)}
                markerEnd={`url(#${err ? 'map-arrow-err' : 'map-arrow'})`}
              >
                <title>{`${e.edge.source} → ${e.edge.target}: ${e.edge.calls} calls, ${rate(e.edge.ratePerSecond)}, ${formatPercent(e.edge.errorRate)} errors, p50 ${ms(e.edge.p50Ms)}, p95 ${ms(e.edge.p95Ms)}, p99 ${ms(e.edge.p99Ms)}`}</title>
              </path>
              <text x={e.labelX} y={e.labelY - 4} textAnchor="middle" className="edge-label">
                {rate(e.edge.ratePerSecond)} · {formatPercent(e.edge.errorRate)} · p95 {ms(e.edge.p95Ms)}
              </text>
            </g>
          );
        })}
        {layout.nodes.map((n) => (
          <MapNodeBox key={n.node.service} n={n} onOpen={() => navigate(searchLink(n.node.service, range))} />
        ))}
      </svg>
    </div>
  );
}

function MapNodeBox({ n, onOpen }: { n: PlacedNode; onOpen(): void }) {
  const err = n.node.errorRate > 0;
  return (
    <g
      className={`map-node ${err ? 'err' : ''}`}
      transform={`translate(${n.x} ${n.y})`}
      role="link"
      tabIndex={0}
      aria-label={`${n.node.service}: ${rate(n.node.ratePerSecond)}, ${formatPercent(n.node.errorRate)} errors, p95 ${ms(n.node.p95Ms)}. Open its traces.`}
      data-service={n.node.service}
      onClick={onOpen}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onOpen();
        }
      }}
    >
      <rect width={MAP_NODE_W} height={MAP_NODE_H} rx={6} className="node-box" />
      <rect width={5} height={MAP_NODE_H} rx={2} fill={serviceColor(n.node.service)} />
      <text x={14} y={22} className="node-name">
        {n.node.service.length > 22 ? `${n.node.service.slice(0, 21)}…` : n.node.service}
      </text>
      <text x={14} y={42} className="node-red">
        {rate(n.node.ratePerSecond)} · p95 {ms(n.node.p95Ms)}
      </text>
      <text x={14} y={57} className={`node-red ${err ? 'err-text' : ''}`}>
        {formatPercent(n.node.errorRate)} errors
      </text>
      <title>{n.node.service}</title>
    </g>
  );
}

function ServiceTable({ data, range }: { data: ServiceMap; range: { from: string; to: string } }) {
  const nodes = [...data.nodes].sort(
    (a, b) => b.errorRate - a.errorRate || a.service.localeCompare(b.service),
  );
  return (
    <table className="table compact map-table" data-testid="map-table">
      <thead>
        <tr>
          <th>Service</th>
          <th className="num">Spans</th>
          <th className="num">Rate</th>
          <th className="num">Errors</th>
          <th className="num">p95</th>
        </tr>
      </thead>
      <tbody>
        {nodes.map((n) => (
          <tr key={n.service}>
            <td>
              <span className="swatch" style={{ background: serviceColor(n.service) }} />{' '}
              <Link to={searchLink(n.service, range)}>{n.service}</Link>
            </td>
            <td className="num">{n.spans}</td>
            <td className="num">{rate(n.ratePerSecond)}</td>
            <td className={`num ${n.errorRate > 0 ? 'err-count' : ''}`}>{formatPercent(n.errorRate)}</td>
            <td className="num">{ms(n.p95Ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Bottlenecks of one endpoint: operations whose critical-path time grows most in its slow requests. */
function Bottleneck({ start, end }: { start: number; end: number }) {
  const [params, setParams] = useSearchParams();
  const service = params.get('bnService') ?? '';
  const operation = params.get('bnOperation') ?? '';
  const quantile = params.get('quantile') ?? '0.95';
  const set = (patch: Record<string, string>) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(patch)) {
          if (v === '') next.delete(k);
          else next.set(k, v);
        }
        return next;
      },
      { replace: true },
    );
  const services = useQuery({ queryKey: ['trace-services'], queryFn: ({ signal }) => fetchServices(signal) });
  const ops = services.data?.find((s) => s.service === service)?.operations ?? [];
  const result = useQuery({
    queryKey: ['bottlenecks', service, operation, start, end, quantile],
    queryFn: ({ signal }) =>
      fetchBottlenecks(
        {
          service,
          operation: operation || undefined,
          start,
          end,
          quantile: Number(quantile),
        },
        signal,
      ),
    enabled: service !== '',
    placeholderData: (prev) => prev,
  });
  return (
    <section className="card bottlenecks" aria-label="Bottlenecks">
      <div className="card-head">
        <h2>Bottlenecks</h2>
        <label className="field">
          <span>Endpoint service</span>
          <select
            className="select"
            data-testid="bn-service"
            value={service}
            onChange={(e) => set({ bnService: e.target.value, bnOperation: '' })}
          >
            <option value="">Choose a service…</option>
            {(services.data ?? []).map((s) => (
              <option key={s.service} value={s.service}>
                {s.service}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Operation</span>
          <select
            className="select"
            data-testid="bn-operation"
            value={operation}
            disabled={!service}
            onChange={(e) => set({ bnOperation: e.target.value })}
          >
            <option value="">All operations</option>
            {[...new Set(ops.map((o) => o.name))].map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Slow means above</span>
          <select className="select" value={quantile} onChange={(e) => set({ quantile: e.target.value })}>
            {['0.5', '0.75', '0.9', '0.95', '0.99'].map((q) => (
              <option key={q} value={q}>
                p{Math.round(Number(q) * 100)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="card-body">
        {!service ? (
          <p className="muted">
            Choose an endpoint to see which operations its slowest requests spend their extra time in.
          </p>
        ) : result.isError ? (
          <ErrorMessage error={result.error} />
        ) : !result.data ? (
          <Loading />
        ) : result.data.operations.length === 0 ? (
          <Empty>No traces of this endpoint in the time range.</Empty>
        ) : (
          <>
            <p className="muted">
              {result.data.traces} traces; slow: above p{Math.round(result.data.quantile * 100)} ={' '}
              {result.data.thresholdMs === null ? '–' : ms(result.data.thresholdMs)}.
            </p>
            <table className="table compact" data-testid="bottlenecks">
              <thead>
                <tr>
                  <th>Operation</th>
                  <th className="num">Critical path share</th>
                  <th className="num">Slow mean</th>
                  <th className="num">Fast mean</th>
                  <th className="num">Difference</th>
                </tr>
              </thead>
              <tbody>
                {result.data.operations.map((o) => (
                  <tr key={`${o.service}\u0000${o.operation}`}>
                    <td>
                      <span className="swatch" style={{ background: serviceColor(o.service) }} /> {o.service}:{' '}
                      {o.operation}
                    </td>
                    <td className="num">{formatPercent(o.criticalPathShare)}</td>
                    <td className="num">{ms(o.slowMeanMs)}</td>
                    <td className="num">{o.fastMeanMs === null ? '–' : ms(o.fastMeanMs)}</td>
                    <td className={`num ${(o.deltaMs ?? 0) > 0 ? 'err-count' : ''}`}>
                      {o.deltaMs === null ? '–' : `${o.deltaMs > 0 ? '+' : ''}${ms(o.deltaMs)}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </section>
  );
}
