/**
 * Rule groups and rules from /api/v1/rules: type, health, last error, last evaluation, evaluation time, and
 * for alerting rules their state and active alerts. Name, health and type filters are in the URL.
 */
import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { fetchRules, type Rule, type RuleGroup } from '../../lib/alerts.ts';
import { formatValue } from '../../lib/format.ts';
import { formatDateTime } from '../../lib/time.ts';
import { evaluatedAt, filterRules, formatAge, ruleFiltersFrom, type RuleFilters } from './model.ts';
import { AlertingTabs, LabelChips } from './parts.tsx';
import './alerts.css';

export default function RulesView() {
  const [params, setParams] = useSearchParams();
  const f = useMemo(() => ruleFiltersFrom(params), [params]);
  const rules = useQuery({
    queryKey: ['rules'],
    queryFn: ({ signal }) => fetchRules(signal),
    refetchInterval: 15_000,
  });
  const shown = useMemo(() => (rules.data ? filterRules(rules.data, f) : undefined), [rules.data, f]);
  const set = (patch: Partial<RuleFilters>) =>
    setParams(
      (prev) => {
        const p = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(patch)) {
          if (v) p.set(k, v);
          else p.delete(k);
        }
        return p;
      },
      { replace: 'q' in patch },
    );
  const counts = useMemo(() => {
    const all = (rules.data ?? []).flatMap((g) => g.rules);
    return {
      total: all.length,
      err: all.filter((r) => r.health === 'err').length,
      firing: all.filter((r) => r.type === 'alerting' && r.state === 'firing').length,
    };
  }, [rules.data]);

  return (
    <div
      className="page rules-view"
      data-view="rules"
      data-ready={rules.isSuccess || rules.isError ? 'true' : 'false'}
    >
      <div className="page-head">
        <h1>Rules</h1>
        <AlertingTabs />
      </div>
      <div className="card rule-filters">
        <div className="card-body filter-row">
          <label className="field grow">
            <span>Name or group</span>
            <input
              type="search"
              data-testid="rule-search"
              value={f.q}
              placeholder="Filter by rule or group name"
              onChange={(e) => set({ q: e.target.value })}
            />
          </label>
          <label className="field">
            <span>Health</span>
            <select
              className="select"
              data-testid="rule-health"
              value={f.health}
              onChange={(e) => set({ health: e.target.value as RuleFilters['health'] })}
            >
              <option value="">Any health</option>
              <option value="ok">OK</option>
              <option value="err">Error</option>
              <option value="unknown">Not evaluated yet</option>
            </select>
          </label>
          <label className="field">
            <span>Type</span>
            <select
              className="select"
              data-testid="rule-type"
              value={f.type}
              onChange={(e) => set({ type: e.target.value as RuleFilters['type'] })}
            >
              <option value="">Any type</option>
              <option value="alerting">Alerting</option>
              <option value="recording">Recording</option>
            </select>
          </label>
          {rules.data && (
            <span className="muted rule-counts">
              {counts.total} rules ·{' '}
              <span className={counts.err ? 'err-text' : ''}>{counts.err} failing</span> · {counts.firing}{' '}
              firing
            </span>
          )}
        </div>
      </div>
      {rules.isError ? (
        <ErrorMessage error={rules.error} />
      ) : !shown ? (
        <Loading label="Loading rules…" />
      ) : shown.length === 0 ? (
        <Empty>
          <strong className="empty-title">
            {rules.data!.length === 0 ? 'No rules are loaded.' : 'No rule matches the filters.'}
          </strong>
          {rules.data!.length === 0 && (
            <span>
              List rule files under <code>rule_files</code> in vigil.yml, then reload (
              <code>POST /-/reload</code>).
            </span>
          )}
        </Empty>
      ) : (
        shown.map((g) => <GroupCard key={`${g.file}/${g.name}`} group={g} />)
      )}
    </div>
  );
}

function GroupCard({ group: g }: { group: RuleGroup }) {
  const last = evaluatedAt(g.lastEvaluation);
  return (
    <section
      className="card rule-group"
      data-testid="rule-group"
      data-group={g.name}
      aria-label={`Group ${g.name}`}
    >
      <div className="card-head">
        <h2>{g.name}</h2>
        <span className="mono muted">{g.file}</span>
        <span className="spacer" />
        <span className="muted">
          every {formatValue(g.interval, 's')} · evaluated{' '}
          {last ? `${formatAge(Date.now() - last)} ago` : 'never'} in {formatValue(g.evaluationTime, 's')}
        </span>
      </div>
      <div className="card-body">
        <table className="table rule-table">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Type</th>
              <th>Health</th>
              <th>State</th>
              <th>Last evaluation</th>
              <th className="num">Took</th>
            </tr>
          </thead>
          <tbody>
            {g.rules.map((r, i) => (
              <RuleRow key={`${r.name}-${i}`} rule={r} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RuleRow({ rule: r }: { rule: Rule }) {
  const last = evaluatedAt(r.lastEvaluation);
  const alerts = r.type === 'alerting' ? r.alerts : [];
  return (
    <>
      <tr
        data-testid="rule"
        data-rule={r.name}
        data-health={r.health}
        className={r.health === 'err' ? 'has-error' : ''}
      >
        <td>
          <strong>{r.name}</strong>
          <code className="rule-expr">{r.query}</code>
          {r.type === 'alerting' && r.duration > 0 && (
            <span className="muted"> for {formatValue(r.duration, 's')}</span>
          )}
          {r.labels && Object.keys(r.labels).length > 0 && <LabelChips labels={r.labels} />}
          {r.lastError && (
            <p className="inline-error rule-error" data-testid="rule-error">
              {r.lastError}
            </p>
          )}
        </td>
        <td>{r.type}</td>
        <td>
          <span className={`health ${r.health}`}>{r.health === 'err' ? 'error' : r.health}</span>
        </td>
        <td>
          {r.type === 'alerting' ? (
            <span className={`rstate ${r.state}`}>
              {r.state}
              {alerts.length > 0 && ` (${alerts.length})`}
            </span>
          ) : (
            <span className="muted">–</span>
          )}
        </td>
        <td className="nowrap muted" title={last ? formatDateTime(last) : undefined}>
          {last ? `${formatAge(Date.now() - last)} ago` : 'never'}
        </td>
        <td className="num">{formatValue(r.evaluationTime, 's')}</td>
      </tr>
      {alerts.length > 0 && (
        <tr className="rule-alerts">
          <td colSpan={6}>
            <ul>
              {alerts.map((a, i) => (
                <li key={i} data-testid="rule-alert">
                  <span className={`rstate ${a.state}`}>{a.state}</span>{' '}
                  <LabelChips labels={a.labels} skip={['alertname']} />{' '}
                  <span className="muted">
                    value {a.value}, active since {formatDateTime(Date.parse(a.activeAt))}
                  </span>
                </li>
              ))}
            </ul>
          </td>
        </tr>
      )}
    </>
  );
}
