/**
 * The Health view (`/health`): components with their status, reasons and what impacts them; health checks
 * with their recent history and probe durations; data flows as diagrams with their violated checks. The tab,
 * a status filter and a search are in the URL; the data refreshes every 10 seconds.
 */
import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { Sparkline } from '../../components/Sparkline.tsx';
import {
  fetchChecks,
  fetchComponents,
  fetchFlows,
  type ComponentHealth,
  type Flow,
  type HealthCheck,
} from '../../lib/health.ts';
import { formatDateTime } from '../../lib/time.ts';
import { formatAge } from '../alerts/model.ts';
import { FlowDiagram } from './FlowDiagram.tsx';
import {
  TABS,
  checkTone,
  componentTone,
  filterChecks,
  filterComponents,
  filterFlows,
  flowStatus,
  flowTone,
  formatFlowFigure,
  healthFiltersFrom,
  impactText,
  type HealthFilters,
  type Tab,
  type Tone,
} from './model.ts';
import './health.css';

const REFRESH_MS = 10_000;
const TAB_LABELS: Record<Tab, string> = { components: 'Components', checks: 'Checks', flows: 'Flows' };

export default function HealthView() {
  const [params, setParams] = useSearchParams();
  const f = useMemo(() => healthFiltersFrom(params), [params]);
  const components = useQuery({
    queryKey: ['health', 'components'],
    queryFn: ({ signal }) => fetchComponents(signal),
    refetchInterval: REFRESH_MS,
    enabled: f.tab === 'components',
  });
  const checks = useQuery({
    queryKey: ['health', 'checks'],
    queryFn: ({ signal }) => fetchChecks(signal),
    refetchInterval: REFRESH_MS,
    enabled: f.tab === 'checks',
  });
  const flows = useQuery({
    queryKey: ['health', 'flows'],
    queryFn: ({ signal }) => fetchFlows(signal),
    refetchInterval: REFRESH_MS,
    enabled: f.tab === 'flows',
  });
  const current = f.tab === 'components' ? components : f.tab === 'checks' ? checks : flows;
  const set = (patch: Partial<HealthFilters>) =>
    setParams(
      (prev) => {
        const p = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(patch)) {
          if (v && !(k === 'tab' && v === 'components')) p.set(k, v);
          else p.delete(k);
        }
        return p;
      },
      { replace: 'q' in patch },
    );

  return (
    <div
      className="page health-view"
      data-view="health"
      data-tab={f.tab}
      data-ready={current.isSuccess || current.isError ? 'true' : 'false'}
    >
      <div className="page-head">
        <h1>Health</h1>
        <div className="view-tabs" role="tablist" aria-label="Health">
          {TABS.map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              aria-selected={f.tab === t}
              className={f.tab === t ? 'active' : ''}
              data-testid={`tab-${t}`}
              onClick={() => set({ tab: t })}
            >
              {TAB_LABELS[t]}
            </button>
          ))}
        </div>
      </div>
      <div className="card">
        <div className="card-body health-filters">
          <label className="field grow">
            <span>Search</span>
            <input
              type="search"
              data-testid="health-search"
              value={f.q}
              placeholder={
                f.tab === 'components'
                  ? 'Component, dependency or reason'
                  : f.tab === 'checks'
                    ? 'Check, target, kind or reason'
                    : 'Flow, stage or channel'
              }
              onChange={(e) => set({ q: e.target.value })}
            />
          </label>
          <label className="field">
            <span>Status</span>
            <select
              className="select"
              data-testid="health-status"
              value={f.status}
              onChange={(e) => set({ status: e.target.value as HealthFilters['status'] })}
            >
              <option value="">Any status</option>
              <option value="problems">Problems</option>
              <option value="ok">Healthy</option>
              <option value="unknown">Unknown</option>
            </select>
          </label>
        </div>
      </div>
      {current.isError ? (
        <ErrorMessage error={current.error} />
      ) : f.tab === 'components' ? (
        components.data ? (
          <ComponentsSection all={components.data.components} warnings={components.data.warnings} f={f} />
        ) : (
          <Loading label="Loading components…" />
        )
      ) : f.tab === 'checks' ? (
        checks.data ? (
          <ChecksSection all={checks.data} f={f} />
        ) : (
          <Loading label="Loading health checks…" />
        )
      ) : flows.data ? (
        <FlowsSection all={flows.data} f={f} />
      ) : (
        <Loading label="Loading flows…" />
      )}
    </div>
  );
}

function StatusBadge({ tone, text }: { tone: Tone; text: string }) {
  return (
    <span className={`hbadge tone-${tone}`} data-testid="status">
      {text}
    </span>
  );
}

function ComponentsSection({
  all,
  warnings,
  f,
}: {
  all: readonly ComponentHealth[];
  warnings: readonly string[];
  f: HealthFilters;
}) {
  const shown = filterComponents(all, f);
  const statusOf = new Map(all.map((c) => [c.name, c.status]));
  return (
    <>
      {warnings.length > 0 && (
        <div className="state error" role="alert">
          <strong>Some inputs could not be read</strong>
          {warnings.map((w, i) => (
            <span key={i}>{w}</span>
          ))}
        </div>
      )}
      {shown.length === 0 ? (
        <Empty>
          <strong className="empty-title">
            {all.length === 0 ? 'No components are known yet.' : 'No component matches the filters.'}
          </strong>
          {all.length === 0 && (
            <span>
              Declare them under <code>components:</code> in vigil.yml, or scrape jobs, send OTLP or traces.
            </span>
          )}
        </Empty>
      ) : (
        <div className="card">
          <table className="table health-table">
            <thead>
              <tr>
                <th>Component</th>
                <th>Status</th>
                <th>Why</th>
                <th>Depends on</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => (
                <tr
                  key={c.name}
                  data-testid="component"
                  data-component={c.name}
                  data-status={c.status}
                  className={`tone-row-${componentTone(c.status)}`}
                >
                  <td>
                    <strong>{c.name}</strong> <span className="muted">{c.kind}</span>
                  </td>
                  <td>
                    <StatusBadge tone={componentTone(c.status)} text={c.status} />
                    {c.ownStatus !== c.status && <div className="muted small">own inputs: {c.ownStatus}</div>}
                  </td>
                  <td>
                    <ul className="reasons">
                      {c.impactedBy.map((i) => (
                        <li
                          key={`i-${i.component}`}
                          data-testid="impact"
                          className={`tone-${componentTone(i.status)}`}
                        >
                          {impactText(i)}: {i.status}
                        </li>
                      ))}
                      {c.reasons
                        .filter((r) => r.source !== 'dependency')
                        .map((r, i) => (
                          <li key={i} data-testid="reason" className={`tone-${componentTone(r.status)}`}>
                            <span className="muted">{r.source}:</span> {r.detail}
                          </li>
                        ))}
                      {c.reasons.length === 0 && c.impactedBy.length === 0 && (
                        <li className="muted">nothing known about it yet</li>
                      )}
                    </ul>
                  </td>
                  <td>
                    {c.dependsOn.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      <ul className="deps">
                        {c.dependsOn.map((d) => {
                          const s = statusOf.get(d) ?? 'unknown';
                          return (
                            <li key={d} data-testid="dependency" data-status={s}>
                              <span className={`dot tone-${componentTone(s)}`} aria-hidden /> {d}{' '}
                              <span className="muted">({s})</span>
                            </li>
                          );
                        })}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function ChecksSection({ all, f }: { all: readonly HealthCheck[]; f: HealthFilters }) {
  const shown = filterChecks(all, f);
  if (shown.length === 0)
    return (
      <Empty>
        <strong className="empty-title">
          {all.length === 0 ? 'No health checks are configured.' : 'No check matches the filters.'}
        </strong>
        {all.length === 0 && (
          <span>
            List them under <code>health_checks:</code> in vigil.yml (http, https, tcp, grpc, dns).
          </span>
        )}
      </Empty>
    );
  const now = Date.now();
  return (
    <div className="card">
      <table className="table health-table">
        <thead>
          <tr>
            <th>Check</th>
            <th>Status</th>
            <th>Reason</th>
            <th>Last run</th>
            <th className="num">Duration</th>
            <th>History</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((c) => {
            const tone = checkTone(c.up);
            return (
              <tr key={c.name} data-testid="check" data-check={c.name} data-status={tone}>
                <td>
                  <strong>{c.name}</strong> <span className="muted">{c.kind}</span>
                  <div className="mono muted small">{c.target}</div>
                </td>
                <td>
                  <StatusBadge tone={tone} text={c.up === null ? 'not run yet' : c.up ? 'up' : 'down'} />
                </td>
                <td className="check-reason">{c.reason || <span className="muted">—</span>}</td>
                <td title={c.lastRun ? formatDateTime(c.lastRun) : undefined}>
                  {c.lastRun ? `${formatAge(now - c.lastRun)} ago` : <span className="muted">never</span>}
                </td>
                <td className="num">{c.durationMs === null ? '—' : `${c.durationMs.toFixed(1)} ms`}</td>
                <td>
                  <div className="check-history">
                    <div className="history-strip" aria-label={`last ${c.history.length} results`}>
                      {c.history.map((h) => (
                        <span
                          key={h.t}
                          className={`cell ${h.up ? 'up' : 'down'}`}
                          data-testid="history-cell"
                          data-up={h.up ? 'true' : 'false'}
                          title={`${formatDateTime(h.t)}: ${h.up ? 'up' : 'down'} in ${h.durationMs.toFixed(1)} ms`}
                        />
                      ))}
                    </div>
                    <Sparkline values={c.history.map((h) => h.durationMs)} width={120} height={22} />
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function FlowsSection({ all, f }: { all: readonly Flow[]; f: HealthFilters }) {
  const shown = filterFlows(all, f);
  if (shown.length === 0)
    return (
      <Empty>
        <strong className="empty-title">
          {all.length === 0 ? 'No data flows are configured.' : 'No flow matches the filters.'}
        </strong>
        {all.length === 0 && (
          <span>
            Describe a pipeline's stages and channels under <code>flows:</code> in vigil.yml (see
            docs/flows.md).
          </span>
        )}
      </Empty>
    );
  return (
    <>
      {shown.map((fl) => {
        const status = flowStatus(fl);
        const violated = [...fl.stages, ...fl.channels].flatMap((p) =>
          p.checks.filter((c) => c.status === 'violated').map((c) => ({ part: p, check: c })),
        );
        return (
          <section
            key={fl.name}
            className="card flow-card"
            data-testid="flow"
            data-flow={fl.name}
            data-status={status}
            aria-label={`Flow ${fl.name}`}
          >
            <div className="card-head">
              <h2>{fl.name}</h2>
              <StatusBadge tone={flowTone(status)} text={status} />
              <span className="spacer" />
              <span className="muted">
                every {formatAge(fl.intervalMs)} · evaluated{' '}
                {fl.lastEvaluation ? `${formatAge(Date.now() - fl.lastEvaluation)} ago` : 'not yet'}
              </span>
            </div>
            <div className="card-body">
              <FlowDiagram flow={fl} />
              {violated.length > 0 && (
                <table className="table health-table violated-checks">
                  <thead>
                    <tr>
                      <th>Where</th>
                      <th>Check</th>
                      <th className="num">Value</th>
                      <th className="num">Expected</th>
                      <th>Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {violated.map(({ part, check }) => (
                      <tr
                        key={`${part.name}/${check.kind}`}
                        data-testid="violated-check"
                        data-part={part.name}
                        data-check={check.kind}
                      >
                        <td>
                          {'stage' in part && part.stage !== part.name ? 'channel' : 'stage'}{' '}
                          <strong>{part.name}</strong>
                        </td>
                        <td>{check.kind}</td>
                        <td className="num">{formatFlowFigure(check.kind, check.value)}</td>
                        <td className="num">
                          {check.kind === 'throughput' ? '≥ ' : '≤ '}
                          {formatFlowFigure(check.kind, check.expected)}
                        </td>
                        <td>{check.reason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </section>
        );
      })}
    </>
  );
}
