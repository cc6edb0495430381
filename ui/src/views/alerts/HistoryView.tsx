/**
 * The notification history: every notification the pipeline sent or tried (group, receiver, integration,
 * firing or resolved, delivered or failed with the error, attempts), newest first, by day. Receiver and
 * outcome filters are in the URL.
 */
import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { fetchNotifications, type NotificationEntry } from '../../lib/alerts.ts';
import { formatDateTime } from '../../lib/time.ts';
import { AlertingTabs, LabelChips } from './parts.tsx';
import './alerts.css';

export default function HistoryView() {
  const [params, setParams] = useSearchParams();
  const receiver = params.get('receiver') ?? '';
  const outcome = params.get('outcome') ?? '';
  const log = useQuery({
    queryKey: ['am-notifications'],
    queryFn: ({ signal }) => fetchNotifications(signal),
    refetchInterval: 15_000,
  });
  const receivers = useMemo(() => [...new Set((log.data ?? []).map((n) => n.receiver))].sort(), [log.data]);
  const shown = useMemo(
    () =>
      (log.data ?? [])
        .filter(
          (n) =>
            (!receiver || n.receiver === receiver) &&
            (!outcome ||
              (outcome === 'failed' ? !n.ok : outcome === 'delivered' ? n.ok : n.status === outcome)),
        )
        .sort((a, b) => Date.parse(b.at) - Date.parse(a.at)),
    [log.data, receiver, outcome],
  );
  const days = useMemo(() => {
    const out: [string, NotificationEntry[]][] = [];
    for (const n of shown) {
      const day = formatDateTime(Date.parse(n.at)).slice(0, 10);
      if (out.at(-1)?.[0] === day) out.at(-1)![1].push(n);
      else out.push([day, [n]]);
    }
    return out;
  }, [shown]);
  const set = (k: string, v: string) =>
    setParams((prev) => {
      const p = new URLSearchParams(prev);
      if (v) p.set(k, v);
      else p.delete(k);
      return p;
    });

  return (
    <div
      className="page history-view"
      data-view="alert-history"
      data-ready={log.isSuccess || log.isError ? 'true' : 'false'}
    >
      <div className="page-head">
        <h1>Notification history</h1>
        <AlertingTabs />
      </div>
      <div className="card history-filters">
        <div className="card-body filter-row">
          <label className="field">
            <span>Receiver</span>
            <select className="select" value={receiver} onChange={(e) => set('receiver', e.target.value)}>
              <option value="">All receivers</option>
              {receivers.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
              {receiver && !receivers.includes(receiver) && <option value={receiver}>{receiver}</option>}
            </select>
          </label>
          <label className="field">
            <span>Outcome</span>
            <select
              className="select"
              data-testid="history-outcome"
              value={outcome}
              onChange={(e) => set('outcome', e.target.value)}
            >
              <option value="">Any</option>
              <option value="firing">Firing</option>
              <option value="resolved">Resolved</option>
              <option value="delivered">Delivered</option>
              <option value="failed">Failed</option>
            </select>
          </label>
        </div>
      </div>
      {log.isError ? (
        <ErrorMessage error={log.error} />
      ) : !log.data ? (
        <Loading label="Loading notifications…" />
      ) : shown.length === 0 ? (
        <Empty>
          <strong className="empty-title">No notifications{log.data.length ? ' match' : ' yet'}.</strong>
          <span>
            Notifications appear once a receiver with an integration (webhook, Slack, e-mail, PagerDuty,
            Teams) is sent a group; receivers without integrations only group alerts.
          </span>
        </Empty>
      ) : (
        <div className="timeline" data-testid="history" data-rows={shown.length}>
          {days.map(([day, list]) => (
            <section key={day} className="card timeline-day" aria-label={day}>
              <div className="card-head">
                <h2>{day}</h2>
              </div>
              <ol className="card-body">
                {list.map((n) => (
                  <li
                    key={n.id}
                    className={`tl-item ${n.status} ${n.ok ? 'ok' : 'failed'}`}
                    data-testid="notification"
                    data-status={n.status}
                  >
                    <span className="tl-time mono">{formatDateTime(Date.parse(n.at)).slice(11)}</span>
                    <span className={`tl-dot ${n.status}`} aria-hidden />
                    <div className="tl-body">
                      <div>
                        <span className={`nstatus ${n.status}`}>{n.status}</span>{' '}
                        <strong>{n.receiver}</strong> <span className="mono muted">{n.integration}</span>{' '}
                        {n.ok ? (
                          <span className="outcome ok">delivered</span>
                        ) : (
                          <span className="outcome failed">failed</span>
                        )}
                        {n.attempts > 1 && <span className="muted"> after {n.attempts} attempts</span>}
                      </div>
                      <div>
                        <LabelChips labels={n.groupLabels} />{' '}
                        <span className="muted">
                          {n.alerts.length} alert{n.alerts.length === 1 ? '' : 's'} (
                          {n.alerts.filter((a) => a.status === 'firing').length} firing)
                        </span>
                      </div>
                      {n.error && <p className="inline-error">{n.error}</p>}
                    </div>
                  </li>
                ))}
              </ol>
            </section>
          ))}
        </div>
      )}
    </div>
  );
}
