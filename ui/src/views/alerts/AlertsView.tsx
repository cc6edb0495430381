/**
 * Alerts as the pipeline groups them (receiver and group labels), most severe first, with state (active, or
 * suppressed by silences or inhibiting alerts), severity, age, labels, annotations and the sources of merged
 * alerts. Matcher, state and receiver filters live in the URL; "Silence" opens the silence form prefilled
 * with the alert's labels.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import {
  fetchAlertGroups,
  fetchReceivers,
  formatMatcher,
  MatcherSyntaxError,
  parseMatchers,
  type AlertGroup,
  type GettableAlert,
} from '../../lib/alerts.ts';
import { formatDateTime } from '../../lib/time.ts';
import {
  alertFiltersFrom,
  alertSources,
  arrangeGroups,
  formatAge,
  matchersForLabels,
  otherAnnotations,
  withAlertFilters,
  type AlertFilters,
  type SilenceDraft,
} from './model.ts';
import { AlertingTabs, LabelChips, SeverityBadge, safeHref } from './parts.tsx';
import { draftFor, SilenceForm } from './SilenceForm.tsx';
import './alerts.css';

export default function AlertsView() {
  const [params, setParams] = useSearchParams();
  const committed = useMemo(() => alertFiltersFrom(params), [params]);
  const [draft, setDraft] = useState<AlertFilters>(committed);
  useEffect(() => setDraft(committed), [committed.filter, committed.state, committed.receiver]);
  const [silencing, setSilencing] = useState<SilenceDraft | null>(null);

  let parseError: string | undefined;
  let filter: string[] = [];
  try {
    filter = parseMatchers(committed.filter).map(formatMatcher);
  } catch (err) {
    if (!(err instanceof MatcherSyntaxError)) throw err;
    parseError = err.message;
  }
  let draftError: string | undefined;
  try {
    parseMatchers(draft.filter);
  } catch (err) {
    draftError = (err as Error).message;
  }

  const receivers = useQuery({ queryKey: ['am-receivers'], queryFn: ({ signal }) => fetchReceivers(signal) });
  const groups = useQuery({
    queryKey: ['am-groups', filter, committed.receiver],
    queryFn: ({ signal }) =>
      fetchAlertGroups(
        { filter, receiver: committed.receiver ? escapeRe(committed.receiver) : undefined },
        signal,
      ),
    enabled: parseError === undefined,
    refetchInterval: 15_000,
    placeholderData: (prev) => prev,
  });
  const arranged = useMemo(
    () => (groups.data ? arrangeGroups(groups.data, committed.state) : undefined),
    [groups.data, committed.state],
  );
  const ready = parseError !== undefined || groups.isSuccess || groups.isError;
  const total = arranged?.reduce((n, g) => n + g.alerts.length, 0) ?? 0;

  const apply = (f: AlertFilters) => setParams((prev) => withAlertFilters(prev, f), { replace: false });
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (draftError) return;
    if (JSON.stringify(draft) === JSON.stringify(committed)) void groups.refetch();
    else apply(draft);
  };

  return (
    <div className="page alerts-view" data-view="alerts" data-ready={ready ? 'true' : 'false'}>
      <div className="page-head">
        <h1>Alerts</h1>
        <AlertingTabs />
      </div>
      <form className="card alert-filters" onSubmit={submit} aria-label="Alert filters" noValidate>
        <div className="card-body filter-row">
          <label className="field grow">
            <span>Matchers</span>
            <input
              className="mono"
              data-testid="alert-filter"
              value={draft.filter}
              placeholder='alertname=~"Disk.*" severity="critical"'
              aria-invalid={!!draftError}
              onChange={(e) => setDraft({ ...draft, filter: e.target.value })}
            />
          </label>
          <label className="field">
            <span>State</span>
            <select
              className="select"
              data-testid="alert-state"
              value={draft.state}
              onChange={(e) => apply({ ...draft, state: e.target.value as AlertFilters['state'] })}
            >
              <option value="">Any state</option>
              <option value="active">Active</option>
              <option value="suppressed">Suppressed (silenced or inhibited)</option>
            </select>
          </label>
          <label className="field">
            <span>Receiver</span>
            <select
              className="select"
              data-testid="alert-receiver"
              value={draft.receiver}
              onChange={(e) => apply({ ...draft, receiver: e.target.value })}
            >
              <option value="">All receivers</option>
              {(receivers.data ?? []).map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
              {draft.receiver && !receivers.data?.includes(draft.receiver) && (
                <option value={draft.receiver}>{draft.receiver}</option>
              )}
            </select>
          </label>
          <button type="submit" className="btn primary" data-testid="alert-apply">
            Filter
          </button>
        </div>
        {draftError && (
          <p className="inline-error filter-problem" role="alert" data-testid="filter-problem">
            {draftError}
          </p>
        )}
      </form>

      <section className="alert-results" aria-label="Alert groups" aria-busy={groups.isFetching}>
        {parseError !== undefined ? (
          <Empty>Correct the matchers above to see alerts.</Empty>
        ) : groups.isError ? (
          <ErrorMessage error={groups.error} />
        ) : !arranged ? (
          <Loading label="Loading alerts…" />
        ) : arranged.length === 0 ? (
          <Empty>
            <strong className="empty-title">
              {groups.data && groups.data.length > 0 ? 'No alert in this state.' : 'No alert matches.'}
            </strong>
            <span>
              Alerts arrive from Vigil&apos;s alerting rules (<Link to="/rules">Rules</Link>) and from
              anything posting to <code>/api/v2/alerts</code>, as Prometheus does with{' '}
              <code>alerting.alertmanagers</code>.
            </span>
          </Empty>
        ) : (
          <>
            <p className="muted result-count" data-testid="alert-count" data-count={total}>
              {total} alert{total === 1 ? '' : 's'} in {arranged.length} group
              {arranged.length === 1 ? '' : 's'}
            </p>
            {arranged.map((g) => (
              <GroupCard
                key={`${g.receiver.name}/${JSON.stringify(g.labels)}`}
                group={g}
                onSilence={setSilencing}
              />
            ))}
          </>
        )}
      </section>
      {silencing && <SilenceForm initial={silencing} onClose={() => setSilencing(null)} />}
    </div>
  );
}

/** A receiver name as an exact regular expression (the API takes the receiver filter as a regex). */
function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function GroupCard({ group, onSilence }: { group: AlertGroup; onSilence(d: SilenceDraft): void }) {
  const labels = Object.keys(group.labels);
  return (
    <section
      className="card alert-group"
      data-testid="alert-group"
      data-receiver={group.receiver.name}
      aria-label={`Group ${labels.map((k) => `${k}=${group.labels[k]}`).join(', ') || '(all)'}`}
    >
      <div className="card-head group-head">
        <span className="receiver" title="Receiver">
          → {group.receiver.name}
        </span>
        {labels.length ? (
          <LabelChips labels={group.labels} />
        ) : (
          <span className="muted">no grouping labels</span>
        )}
        <span className="spacer" />
        <span className="muted">
          {group.alerts.length} alert{group.alerts.length === 1 ? '' : 's'}
        </span>
      </div>
      <ul className="card-body alert-list">
        {group.alerts.map((a) => (
          <AlertRow key={a.fingerprint} alert={a} onSilence={onSilence} />
        ))}
      </ul>
    </section>
  );
}

function AlertRow({ alert: a, onSilence }: { alert: GettableAlert; onSilence(d: SilenceDraft): void }) {
  const sources = alertSources(a);
  const runbook = a.annotations.runbook_url || a.annotations.runbook;
  const runbookHref = runbook ? safeHref(runbook) : undefined;
  const generator = a.generatorURL ? safeHref(a.generatorURL) : undefined;
  const started = Date.parse(a.startsAt);
  const suppressed = a.status.state === 'suppressed';
  return (
    <li
      className={`alert-row ${suppressed ? 'suppressed' : ''}`}
      data-testid="alert"
      data-alertname={a.labels.alertname ?? ''}
      data-state={a.status.state}
      data-fingerprint={a.fingerprint}
    >
      <div className="alert-line">
        <SeverityBadge severity={a.labels.severity} />
        <strong className="alertname">{a.labels.alertname ?? '(no alertname)'}</strong>
        <span className={`astate ${a.status.state}`} data-testid="alert-state-badge">
          {a.status.state}
        </span>
        {a.status.silencedBy.length > 0 && (
          <span className="suppressor">
            silenced by{' '}
            {a.status.silencedBy.map((id) => (
              <Link key={id} to={`/silences?id=${id}`} className="mono" title={id}>
                {id.slice(0, 8)}
              </Link>
            ))}
          </span>
        )}
        {a.status.inhibitedBy.length > 0 && (
          <span className="suppressor">
            inhibited by{' '}
            {a.status.inhibitedBy.map((fp) => (
              <span key={fp} className="mono" title={fp}>
                {fp.slice(0, 8)}
              </span>
            ))}
          </span>
        )}
        <span className="spacer" />
        <span className="muted age" title={`since ${formatDateTime(started)}`}>
          {formatAge(Date.now() - started)}
        </span>
        <button
          type="button"
          className="btn small"
          data-testid="silence-alert"
          onClick={() => onSilence(draftFor({ matchers: matchersForLabels(a.labels) }))}
        >
          Silence
        </button>
      </div>
      {a.annotations.summary && <p className="summary">{a.annotations.summary}</p>}
      {a.annotations.description && <p className="description muted">{a.annotations.description}</p>}
      <LabelChips labels={a.labels} skip={['alertname', 'severity']} />
      <div className="alert-links">
        {runbook &&
          (runbookHref ? (
            <a href={runbookHref} target="_blank" rel="noreferrer noopener" data-testid="runbook">
              Runbook
            </a>
          ) : (
            <span className="mono muted">runbook: {runbook}</span>
          ))}
        {generator && (
          <a href={generator} target="_blank" rel="noreferrer noopener">
            Source
          </a>
        )}
        {otherAnnotations(a).map(([k, v]) => (
          <span key={k} className="annotation">
            <span className="muted">{k}:</span> {v}
          </span>
        ))}
      </div>
      {sources.length > 0 && (
        <div className="sources" data-testid="alert-sources">
          <span className="muted">Merged from {sources.length}:</span>
          <ul>
            {sources.map((s, i) => (
              <li key={i} className="mono">
                {s}
              </li>
            ))}
          </ul>
        </div>
      )}
    </li>
  );
}
