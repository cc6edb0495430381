/**
 * One incident (`/incidents/:id`): title, severity, status, assignee, affected services and components, the
 * linked alerts (links into the Alerts view), traces and dashboards, the timeline of every event (refreshed,
 * so it grows as things happen), the pages sent with their outcome, a notes form and the actions Acknowledge,
 * Resolve (with an optional resolution note) and Assign. A lost acknowledgement race (409) says who acknowledged
 * first. The knowledge base: runbook links of the linked alerts (in the header when they all share one) and
 * similar past incidents with how they were resolved.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { ApiError } from '../../lib/api.ts';
import {
  acknowledge,
  addNote,
  assign,
  fetchIncident,
  fetchSimilar,
  reportUrl,
  resolve,
  type IncidentDetail,
  type IncidentEvent,
  type PageRecord,
} from '../../lib/incidents.ts';
import { fetchUsers } from '../../lib/oncall.ts';
import { formatDateTime } from '../../lib/time.ts';
import { LabelChips, SeverityBadge, safeHref } from '../alerts/parts.tsx';
import {
  alertFilterFor,
  describeEvent,
  formatSeconds,
  linkedAlerts,
  noteText,
  sharedRunbook,
} from './model.ts';
import { ActorPicker, StatusBadge, useActor } from './parts.tsx';
import '../alerts/alerts.css';
import './incidents.css';

const REFRESH_MS = 5_000;

export default function IncidentPage() {
  const { id = '' } = useParams();
  const detail = useQuery({
    queryKey: ['incidents', 'one', id],
    queryFn: ({ signal }) => fetchIncident(id, signal),
    refetchInterval: REFRESH_MS,
  });
  const ready = detail.isSuccess || detail.isError;
  return (
    <div className="page incident-page" data-view="incident" data-ready={ready ? 'true' : 'false'}>
      <p className="crumbs">
        <Link to="/incidents">← Incidents</Link>
      </p>
      {detail.isError && !detail.data ? (
        <ErrorMessage
          error={detail.error}
          title={
            detail.error instanceof ApiError && detail.error.kind === 'not_found'
              ? `No incident ${id}`
              : undefined
          }
        />
      ) : !detail.data ? (
        <Loading label="Loading the incident…" />
      ) : (
        <>
          {detail.isError && (
            <p className="inline-error refresh-error">Could not refresh: {(detail.error as Error).message}</p>
          )}
          <IncidentBody detail={detail.data} />
        </>
      )}
    </div>
  );
}

function IncidentBody({ detail }: { detail: IncidentDetail }) {
  const i = detail.incident;
  const qc = useQueryClient();
  const [actor, setActor] = useActor();
  const [assignee, setAssignee] = useState(i.assignee ?? '');
  // Someone else may assign meanwhile: follow the stored assignee when it changes.
  useEffect(() => setAssignee(i.assignee ?? ''), [i.assignee]);
  const [resolution, setResolution] = useState('');
  const users = useQuery({ queryKey: ['oncall', 'users'], queryFn: ({ signal }) => fetchUsers(signal) });
  const runbook = useMemo(
    () => sharedRunbook(linkedAlerts(i.alerts, detail.events)),
    [i.alerts, detail.events],
  );
  // Not awaited: the outcome of an action shows at once, the refreshed incident follows.
  const refresh = () => void qc.invalidateQueries({ queryKey: ['incidents'] });
  const action = useMutation({
    mutationFn: (a: { kind: 'ack' | 'resolve' | 'assign' }) =>
      a.kind === 'ack'
        ? acknowledge(i.id, actor)
        : a.kind === 'resolve'
          ? resolve(i.id, actor, resolution.trim() || undefined)
          : assign(i.id, assignee, actor),
    onSettled: refresh,
  });
  const needActor = !actor;
  const conflict = action.error instanceof ApiError && action.error.kind === 'conflict';

  return (
    <>
      <div className="incident-head">
        <h1 data-testid="incident-title">{i.title}</h1>
        <div className="incident-toolbar">
          <SeverityBadge severity={i.severity} />
          <StatusBadge status={i.status} />
          <span className="mono muted">{i.id}</span>
          <span className="muted">opened {formatDateTime(i.createdAt)}</span>
          {runbook && <RunbookLink url={runbook} testId="incident-runbook" />}
          <span className="spacer" />
          <ActorPicker actor={actor} onChange={setActor} />
          <button
            type="button"
            className="btn primary"
            data-testid="ack"
            disabled={i.status !== 'triggered' || needActor || action.isPending}
            title={needActor ? 'Choose who you are first' : undefined}
            onClick={() => action.mutate({ kind: 'ack' })}
          >
            Acknowledge
          </button>
          {i.status !== 'resolved' && (
            <input
              className="resolve-note"
              data-testid="resolve-note"
              aria-label="Resolution note"
              placeholder="What fixed it?"
              title="Resolution note (optional): shown on similar incidents later"
              value={resolution}
              maxLength={10_000}
              onChange={(e) => setResolution(e.target.value)}
            />
          )}
          <button
            type="button"
            className="btn"
            data-testid="resolve"
            disabled={i.status === 'resolved' || needActor || action.isPending}
            title={needActor ? 'Choose who you are first' : undefined}
            onClick={() => action.mutate({ kind: 'resolve' })}
          >
            Resolve
          </button>
          <a
            className="btn"
            href={reportUrl(i.id)}
            target="_blank"
            rel="noreferrer"
            data-testid="report-link"
          >
            Report (Markdown)
          </a>
        </div>
      </div>
      {action.isError && (
        <div className="incident-action-error">
          <ErrorMessage
            error={action.error}
            title={conflict ? 'Someone else acted first' : 'The action was not applied'}
          />
        </div>
      )}

      <div className="incident-grid">
        <div className="incident-main">
          <section className="card" aria-label="Timeline">
            <div className="card-head">
              <h2>Timeline</h2>
              <span className="muted" data-testid="timeline-count" data-count={detail.events.length}>
                {detail.events.length} event{detail.events.length === 1 ? '' : 's'}
              </span>
            </div>
            <div className="card-body">
              {detail.events.length === 0 ? (
                <Empty>Nothing recorded yet.</Empty>
              ) : (
                <ol className="incident-timeline" data-testid="timeline">
                  {detail.events.map((e) => (
                    <TimelineItem key={e.id} event={e} />
                  ))}
                </ol>
              )}
              <NoteForm incidentId={i.id} actor={actor} onAdded={refresh} />
            </div>
          </section>
          <PagesCard pages={detail.pages} />
        </div>

        <aside className="incident-side">
          <section className="card" aria-label="Details">
            <div className="card-head">
              <h2>Details</h2>
            </div>
            <dl className="card-body incident-facts">
              <dt>Assignee</dt>
              <dd>
                <form
                  className="assign-row"
                  onSubmit={(e) => {
                    e.preventDefault();
                    action.mutate({ kind: 'assign' });
                  }}
                >
                  <select
                    className="select"
                    data-testid="assignee"
                    aria-label="Assignee"
                    value={assignee}
                    onChange={(e) => setAssignee(e.target.value)}
                  >
                    <option value="">Nobody</option>
                    {(users.data ?? []).map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.name}
                      </option>
                    ))}
                    {assignee && !users.data?.some((u) => u.id === assignee) && (
                      <option value={assignee}>{assignee}</option>
                    )}
                  </select>
                  <button
                    type="submit"
                    className="btn"
                    data-testid="assign"
                    disabled={needActor || action.isPending || assignee === (i.assignee ?? '')}
                  >
                    Assign
                  </button>
                </form>
              </dd>
              <dt>Acknowledged</dt>
              <dd data-testid="acked">
                {i.ackedAt ? (
                  <>
                    by <strong>{i.ackedBy ?? '?'}</strong> after{' '}
                    {formatSeconds((i.ackedAt - i.createdAt) / 1000)}
                  </>
                ) : (
                  <span className="muted">not yet</span>
                )}
              </dd>
              <dt>Resolved</dt>
              <dd data-testid="resolved">
                {i.resolvedAt ? (
                  <>
                    by <strong>{i.resolvedBy ?? '?'}</strong> after{' '}
                    {formatSeconds((i.resolvedAt - i.createdAt) / 1000)}
                  </>
                ) : (
                  <span className="muted">not yet</span>
                )}
              </dd>
              <dt>Escalation policy</dt>
              <dd>
                {i.policyId ? (
                  <Link to={`/escalation-policies/${encodeURIComponent(i.policyId)}`}>{i.policyId}</Link>
                ) : (
                  <span className="muted">none (no paging)</span>
                )}
              </dd>
              <dt>Services</dt>
              <dd data-testid="services">
                <Chips values={i.services} />
              </dd>
              <dt>Components</dt>
              <dd data-testid="components">
                <Chips values={i.components} />
              </dd>
              {Object.keys(i.labels ?? {}).length > 0 && (
                <>
                  <dt>Labels</dt>
                  <dd>
                    <LabelChips labels={i.labels} />
                  </dd>
                </>
              )}
            </dl>
          </section>
          <LinkedAlerts fingerprints={i.alerts} events={detail.events} />
          <SimilarIncidents id={i.id} />
          {((i.traces?.length ?? 0) > 0 || (i.dashboards?.length ?? 0) > 0) && (
            <section className="card" aria-label="Traces and dashboards">
              <div className="card-head">
                <h2>Traces and dashboards</h2>
              </div>
              <ul className="card-body link-list">
                {(i.traces ?? []).map((t) => (
                  <li key={`t${t}`}>
                    <Link to={`/traces/${encodeURIComponent(t)}`} className="mono">
                      trace {t}
                    </Link>
                  </li>
                ))}
                {(i.dashboards ?? []).map((d) => (
                  <li key={`d${d}`}>
                    <Link to={`/d/${encodeURIComponent(d)}`}>dashboard {d}</Link>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </aside>
      </div>
    </>
  );
}

function Chips({ values }: { values: readonly string[] }) {
  if (values.length === 0) return <span className="muted">none</span>;
  return (
    <span className="label-chips">
      {values.map((v) => (
        <span key={v} className="lchip">
          {v}
        </span>
      ))}
    </span>
  );
}

function TimelineItem({ event: e }: { event: IncidentEvent }) {
  const { text, tone } = describeEvent(e);
  const note = noteText(e);
  return (
    <li className="itl-item" data-testid="timeline-event" data-kind={e.kind}>
      <time className="itl-time mono" dateTime={new Date(e.at).toISOString()} title={formatDateTime(e.at)}>
        {formatDateTime(e.at).slice(11)}
      </time>
      <span className={`itl-dot ${tone}`} aria-hidden />
      <div className="itl-body">
        <span>{text}</span>
        {note !== undefined && <p className="itl-note">{note}</p>}
        {e.actor &&
          e.actor !== 'vigil' &&
          !['created', 'note', 'acknowledged', 'resolved', 'assigned'].includes(e.kind) && (
            <span className="muted small">by {e.actor}</span>
          )}
      </div>
    </li>
  );
}

function NoteForm({ incidentId, actor, onAdded }: { incidentId: string; actor: string; onAdded(): void }) {
  const [text, setText] = useState('');
  const note = useMutation({
    mutationFn: () => addNote(incidentId, text.trim(), actor),
    onSuccess: () => {
      setText('');
      onAdded();
    },
  });
  return (
    <form
      className="note-form"
      aria-label="Add a note"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim() && actor) note.mutate();
      }}
    >
      <textarea
        data-testid="note-text"
        rows={3}
        value={text}
        placeholder={actor ? 'What did you find or do?' : 'Choose who you are (Acting as) to add notes'}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
        }}
      />
      <div className="note-actions">
        {note.isError && <span className="inline-error">{(note.error as Error).message}</span>}
        <span className="spacer" />
        <button
          type="submit"
          className="btn"
          data-testid="add-note"
          disabled={!text.trim() || !actor || note.isPending}
        >
          Add note
        </button>
      </div>
    </form>
  );
}

function PagesCard({ pages }: { pages: readonly PageRecord[] }) {
  return (
    <section className="card" aria-label="Pages">
      <div className="card-head">
        <h2>Pages</h2>
        <span className="muted">{pages.length}</span>
      </div>
      <div className="card-body">
        {pages.length === 0 ? (
          <Empty>No page sent: the incident has no escalation policy, or nobody was on call.</Empty>
        ) : (
          <table className="table pages-table">
            <thead>
              <tr>
                <th>Time</th>
                <th className="num">Step</th>
                <th>To</th>
                <th>Channel</th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {pages.map((p) => (
                <tr key={p.id} data-testid="page" data-outcome={p.outcome}>
                  <td className="mono nowrap">{formatDateTime(p.at)}</td>
                  <td className="num">{p.step + 1}</td>
                  <td>{p.userId ?? <span className="muted">receiver</span>}</td>
                  <td className="mono">{p.channel}</td>
                  <td>
                    <span className={`outcome ${p.outcome === 'delivered' ? 'ok' : 'failed'}`}>
                      {p.outcome}
                    </span>
                    {p.error && <span className="inline-error page-error">{p.error}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}

function LinkedAlerts({
  fingerprints,
  events,
}: {
  fingerprints: readonly string[];
  events: readonly IncidentEvent[];
}) {
  const alerts = useMemo(() => linkedAlerts(fingerprints, events), [fingerprints, events]);
  return (
    <section className="card" aria-label="Linked alerts">
      <div className="card-head">
        <h2>Linked alerts</h2>
        <span className="muted">{alerts.length}</span>
      </div>
      <div className="card-body">
        {alerts.length === 0 ? (
          <span className="muted">No alert is linked (opened by hand).</span>
        ) : (
          <ul className="linked-alerts">
            {alerts.map((a) => (
              <li
                key={a.fingerprint}
                data-testid="linked-alert"
                data-fingerprint={a.fingerprint}
                data-state={a.state}
              >
                <div className="linked-alert-line">
                  <SeverityBadge severity={a.labels.severity} />
                  {Object.keys(a.labels).length > 0 ? (
                    <Link
                      to={`/alerts?filter=${encodeURIComponent(alertFilterFor(a.labels))}`}
                      data-testid="alert-link"
                    >
                      {a.labels.alertname ?? a.fingerprint}
                    </Link>
                  ) : (
                    <span className="mono">{a.fingerprint}</span>
                  )}
                  <span className={`astate ${a.state === 'firing' ? 'active' : a.state}`}>
                    {a.state === 'unknown' ? 'state unknown' : a.state}
                  </span>
                </div>
                <LabelChips labels={a.labels} skip={['alertname', 'severity']} />
                {a.runbook && <RunbookLink url={a.runbook} testId="alert-runbook" />}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

/** A runbook as a link when it is an http(s) URL; anything else (a `javascript:` URL, free text) as text. */
function RunbookLink({ url, testId }: { url: string; testId: string }) {
  const href = safeHref(url);
  return href ? (
    <a className="runbook" href={href} target="_blank" rel="noreferrer noopener" data-testid={testId}>
      Runbook
    </a>
  ) : (
    <span className="runbook mono muted" data-testid={testId}>
      runbook: {url}
    </span>
  );
}

/** Resolved incidents like this one, with why they are alike and how they were resolved. */
function SimilarIncidents({ id }: { id: string }) {
  const similar = useQuery({
    queryKey: ['incidents', 'similar', id],
    queryFn: ({ signal }) => fetchSimilar(id, signal),
    refetchInterval: 60_000,
  });
  return (
    <section className="card" aria-label="Similar past incidents" data-testid="similar">
      <div className="card-head">
        <h2>Similar past incidents</h2>
        {similar.data && <span className="muted">{similar.data.length}</span>}
      </div>
      <div className="card-body">
        {similar.isError ? (
          <span className="inline-error">{(similar.error as Error).message}</span>
        ) : !similar.data ? (
          <span className="muted">Looking…</span>
        ) : similar.data.length === 0 ? (
          <span className="muted">No resolved incident looks like this one.</span>
        ) : (
          <ul className="similar-list">
            {similar.data.map((s) => (
              <li key={s.id} data-testid="similar-incident" data-id={s.id}>
                <div className="similar-line">
                  <SeverityBadge severity={s.severity} />
                  <Link to={`/incidents/${encodeURIComponent(s.id)}`} className="incident-link">
                    {s.title}
                  </Link>
                  <span className="spacer" />
                  <span className="similar-score mono" title="How alike, from 0 to 100%">
                    {Math.round(s.score * 100)}%
                  </span>
                </div>
                <p className="muted small similar-reasons">{s.reasons.join(' · ')}</p>
                {s.resolution && (
                  <p className="similar-resolution" data-testid="similar-resolution">
                    {s.resolution}
                  </p>
                )}
                <p className="muted small">
                  <span className="mono">{s.id}</span>
                  {s.mttrSeconds !== null && <> · resolved in {formatSeconds(s.mttrSeconds)}</>}
                  {s.resolvedBy && <> by {s.resolvedBy}</>}
                  {s.runbooks.map((r) => (
                    <span key={r}>
                      {' · '}
                      <RunbookLink url={r} testId="similar-runbook" />
                    </span>
                  ))}
                </p>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
