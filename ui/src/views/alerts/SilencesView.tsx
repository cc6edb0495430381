/**
 * Silences: active, pending and expired ones with matchers, creator, comment and times; create, edit (a POST
 * with the silence's ID, as Alertmanager) and expire. `state` (tab) and `id` (one silence highlighted) are in
 * the URL.
 */
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmDialog } from '../../components/Modal.tsx';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { expireSilence, fetchSilences, formatMatcher, type Silence } from '../../lib/alerts.ts';
import { formatDateTime } from '../../lib/time.ts';
import { formatAge, silencesByState, type SilenceDraft, type SilenceState } from './model.ts';
import { AlertingTabs } from './parts.tsx';
import { draftFor, SilenceForm } from './SilenceForm.tsx';
import './alerts.css';

const STATES: SilenceState[] = ['active', 'pending', 'expired'];

export default function SilencesView() {
  const [params, setParams] = useSearchParams();
  const stateParam = params.get('state');
  const state: SilenceState = STATES.includes(stateParam as SilenceState)
    ? (stateParam as SilenceState)
    : 'active';
  const highlight = params.get('id') ?? '';
  const [editing, setEditing] = useState<SilenceDraft | null>(null);
  const [expiring, setExpiring] = useState<Silence | null>(null);
  const qc = useQueryClient();

  const silences = useQuery({
    queryKey: ['am-silences'],
    queryFn: ({ signal }) => fetchSilences(signal),
    refetchInterval: 15_000,
  });
  const expire = useMutation({
    mutationFn: (id: string) => expireSilence(id),
    onSuccess: async () => {
      setExpiring(null);
      await qc.invalidateQueries();
    },
  });
  const by = silences.data ? silencesByState(silences.data) : undefined;
  // A linked silence opens its own tab.
  const linked = highlight ? silences.data?.find((s) => s.id === highlight) : undefined;
  const shown = linked && !stateParam ? linked.status.state : state;
  const list = by?.[shown] ?? [];

  const setState = (s: SilenceState) =>
    setParams((prev) => {
      const p = new URLSearchParams(prev);
      p.set('state', s);
      return p;
    });

  return (
    <div
      className="page silences-view"
      data-view="silences"
      data-ready={silences.isSuccess || silences.isError ? 'true' : 'false'}
    >
      <div className="page-head">
        <h1>Silences</h1>
        <AlertingTabs />
        <button
          type="button"
          className="btn primary"
          data-testid="new-silence"
          onClick={() => setEditing(draftFor({}))}
        >
          New silence
        </button>
      </div>
      <div className="seg silence-states" role="group" aria-label="Silence state">
        {STATES.map((s) => (
          <button
            key={s}
            type="button"
            aria-pressed={shown === s}
            data-testid={`silences-${s}`}
            onClick={() => setState(s)}
          >
            {s[0]!.toUpperCase() + s.slice(1)} {by ? `(${by[s].length})` : ''}
          </button>
        ))}
      </div>
      <section className="card silence-list-card" aria-label={`${shown} silences`}>
        <div className="card-body">
          {silences.isError ? (
            <ErrorMessage error={silences.error} />
          ) : !by ? (
            <Loading label="Loading silences…" />
          ) : list.length === 0 ? (
            <Empty>
              <strong className="empty-title">No {shown} silences.</strong>
              <span>Silence an alert from the Alerts tab, or create one with New silence.</span>
            </Empty>
          ) : (
            <table className="table silence-list" data-testid="silence-list" data-rows={list.length}>
              <thead>
                <tr>
                  <th>Matchers</th>
                  <th>Created by</th>
                  <th>Comment</th>
                  <th>Starts</th>
                  <th>Ends</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <SilenceRow
                    key={s.id}
                    silence={s}
                    highlighted={s.id === highlight}
                    onEdit={() => setEditing(draftFor({ silence: s }))}
                    onExpire={() => setExpiring(s)}
                    onRecreate={() =>
                      setEditing({ ...draftFor({ silence: s }), id: undefined, mode: 'duration' })
                    }
                  />
                ))}
              </tbody>
            </table>
          )}
        </div>
      </section>
      {editing && (
        <SilenceForm
          initial={editing}
          onClose={() => setEditing(null)}
          onSaved={(id) =>
            setParams((prev) => {
              const p = new URLSearchParams(prev);
              p.set('id', id);
              p.delete('state');
              return p;
            })
          }
        />
      )}
      {expiring && (
        <ConfirmDialog
          title="Expire silence?"
          confirmLabel="Expire"
          danger
          busy={expire.isPending}
          onConfirm={() => expire.mutate(expiring.id)}
          onClose={() => {
            setExpiring(null);
            expire.reset();
          }}
        >
          <p>
            Alerts matching <code>{expiring.matchers.map(formatMatcher).join(' ')}</code> will notify again.
          </p>
          {expire.isError && <ErrorMessage error={expire.error} title="The silence was not expired" />}
        </ConfirmDialog>
      )}
    </div>
  );
}

function SilenceRow({
  silence: s,
  highlighted,
  onEdit,
  onExpire,
  onRecreate,
}: {
  silence: Silence;
  highlighted: boolean;
  onEdit(): void;
  onExpire(): void;
  onRecreate(): void;
}) {
  const ends = Date.parse(s.endsAt);
  const starts = Date.parse(s.startsAt);
  const now = Date.now();
  return (
    <tr
      data-testid="silence"
      data-silence={s.id}
      data-state={s.status.state}
      className={highlighted ? 'highlight' : ''}
    >
      <td>
        <span className="label-chips">
          {s.matchers.map((m, i) => (
            <span key={i} className="lchip mono">
              {formatMatcher(m)}
            </span>
          ))}
        </span>
        <span className="mono muted silence-id">{s.id}</span>
      </td>
      <td>{s.createdBy}</td>
      <td className="comment">{s.comment}</td>
      <td className="nowrap muted">
        {formatDateTime(starts)}
        {s.status.state === 'pending' && <span className="rel"> in {formatAge(starts - now)}</span>}
      </td>
      <td className="nowrap muted">
        {formatDateTime(ends)}
        {s.status.state === 'active' && <span className="rel"> in {formatAge(ends - now)}</span>}
        {s.status.state === 'expired' && <span className="rel"> {formatAge(now - ends)} ago</span>}
      </td>
      <td className="actions nowrap">
        {s.status.state === 'expired' ? (
          <button type="button" className="btn small" onClick={onRecreate}>
            Recreate
          </button>
        ) : (
          <>
            <button type="button" className="btn small" data-testid="edit-silence" onClick={onEdit}>
              Edit
            </button>
            <button
              type="button"
              className="btn small danger"
              data-testid="expire-silence"
              onClick={onExpire}
            >
              Expire
            </button>
          </>
        )}
      </td>
    </tr>
  );
}
