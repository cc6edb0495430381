/**
 * On-call (`/oncall`): schedules with who is on call now, escalation policies, users and teams, one tab each
 * (`tab` in the URL). Users and teams are created and edited here; schedules and policies open their page.
 */
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DialogActions, Modal } from '../../components/Modal.tsx';
import { Empty, ErrorMessage, Loading } from '../../components/states.tsx';
import { ApiError } from '../../lib/api.ts';
import { problemsByField, unplacedProblems } from '../../lib/fieldErrors.ts';
import {
  fetchOnCall,
  fetchPolicies,
  fetchSchedules,
  fetchTeams,
  fetchUsers,
  saveTeam,
  saveUser,
  type ContactKind,
  type Schedule,
  type Team,
  type User,
} from '../../lib/oncall.ts';
import { Field } from '../incidents/parts.tsx';
import { SaveError } from './SaveError.tsx';
import { splitList } from '../incidents/model.ts';
import { describeTarget, formatMinutes } from './model.ts';
import '../alerts/alerts.css';
import '../incidents/incidents.css';
import './oncall.css';

const TABS = [
  { key: 'schedules', label: 'Schedules' },
  { key: 'policies', label: 'Escalation policies' },
  { key: 'users', label: 'Users' },
  { key: 'teams', label: 'Teams' },
] as const;
type Tab = (typeof TABS)[number]['key'];

export default function OncallView() {
  const [params, setParams] = useSearchParams();
  const raw = params.get('tab');
  const tab: Tab = TABS.some((t) => t.key === raw) ? (raw as Tab) : 'schedules';
  const [ready, setReady] = useState<Tab | null>(null);
  return (
    <div
      className="page oncall-view"
      data-view="oncall"
      data-tab={tab}
      data-ready={ready === tab ? 'true' : 'false'}
    >
      <div className="page-head">
        <h1>On-call</h1>
        <div className="view-tabs" role="tablist" aria-label="On-call">
          {TABS.map((t) => (
            <button
              key={t.key}
              type="button"
              role="tab"
              aria-selected={tab === t.key}
              className={tab === t.key ? 'active' : ''}
              data-testid={`tab-${t.key}`}
              onClick={() => setParams(t.key === 'schedules' ? {} : { tab: t.key })}
            >
              {t.label}
            </button>
          ))}
        </div>
      </div>
      {tab === 'schedules' ? (
        <SchedulesTab onReady={() => setReady('schedules')} />
      ) : tab === 'policies' ? (
        <PoliciesTab onReady={() => setReady('policies')} />
      ) : tab === 'users' ? (
        <UsersTab onReady={() => setReady('users')} />
      ) : (
        <TeamsTab onReady={() => setReady('teams')} />
      )}
    </div>
  );
}

/** Calls `onReady` once the query has an answer (data or error), for the view's readiness marker. */
function useReady(q: { isSuccess: boolean; isError: boolean }, onReady: () => void) {
  const done = q.isSuccess || q.isError;
  useEffect(() => {
    if (done) onReady();
  }, [done]);
}

function SchedulesTab({ onReady }: { onReady(): void }) {
  const schedules = useQuery({
    queryKey: ['oncall', 'schedules'],
    queryFn: ({ signal }) => fetchSchedules(signal),
  });
  useReady(schedules, onReady);
  if (schedules.isError) return <ErrorMessage error={schedules.error} />;
  if (!schedules.data) return <Loading label="Loading schedules…" />;
  if (schedules.data.length === 0)
    return (
      <Empty>
        <strong className="empty-title">No schedule yet.</strong>
        <span>
          Schedules are provisioned from the on-call file (<code>incidents.oncall_file</code> in the
          configuration) or created through <code>/api/vigil/v1/schedules</code>.
        </span>
      </Empty>
    );
  return (
    <section className="card">
      <table className="table oncall-table">
        <thead>
          <tr>
            <th>Schedule</th>
            <th>On call now</th>
            <th>Time zone</th>
            <th>Layers</th>
            <th className="num">Overrides</th>
          </tr>
        </thead>
        <tbody>
          {schedules.data.map((s) => (
            <tr key={s.id} data-testid="schedule-row" data-id={s.id}>
              <td>
                <Link to={`/schedules/${encodeURIComponent(s.id)}`}>{s.name}</Link>
                <span className="mono muted row-id">{s.id}</span>
              </td>
              <td data-testid="oncall-now">
                <OnCallNow schedule={s} />
              </td>
              <td className="mono">{s.timeZone}</td>
              <td>{s.layers.map((l) => l.name).join(', ')}</td>
              <td className="num">{s.overrides?.length ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function OnCallNow({ schedule }: { schedule: Schedule }) {
  const q = useQuery({
    queryKey: ['oncall', 'now', schedule.id],
    queryFn: ({ signal }) => fetchOnCall(schedule.id, undefined, signal),
    enabled: schedule.onCallNow === undefined,
    refetchInterval: 60_000,
  });
  const users = schedule.onCallNow ?? q.data?.users;
  if (q.isError) return <span className="inline-error">{(q.error as Error).message}</span>;
  if (!users) return <span className="muted">…</span>;
  if (users.length === 0)
    return (
      <span className="gap-badge" data-testid="nobody">
        nobody (gap)
      </span>
    );
  return (
    <span className="person-list">
      {users.map((u) => (
        <strong key={u} className="person">
          {u}
        </strong>
      ))}
      {q.data?.override && <span className="muted small"> (override)</span>}
      {q.data?.layer && !q.data.override && <span className="muted small"> ({q.data.layer})</span>}
    </span>
  );
}

function PoliciesTab({ onReady }: { onReady(): void }) {
  const policies = useQuery({
    queryKey: ['oncall', 'policies'],
    queryFn: ({ signal }) => fetchPolicies(signal),
  });
  useReady(policies, onReady);
  return (
    <>
      <div className="tab-actions">
        <Link className="btn primary" to="/escalation-policies/new" data-testid="new-policy">
          New policy
        </Link>
      </div>
      {policies.isError ? (
        <ErrorMessage error={policies.error} />
      ) : !policies.data ? (
        <Loading label="Loading escalation policies…" />
      ) : policies.data.length === 0 ? (
        <Empty>
          <strong className="empty-title">No escalation policy yet.</strong>
          <span>A policy decides who is paged for which alert groups, and when to escalate.</span>
        </Empty>
      ) : (
        <section className="card">
          <table className="table oncall-table">
            <thead>
              <tr>
                <th>Policy</th>
                <th>Steps</th>
                <th className="num">Repeats</th>
                <th>Routing</th>
              </tr>
            </thead>
            <tbody>
              {policies.data.map((p) => (
                <tr key={p.id} data-testid="policy-row" data-id={p.id}>
                  <td>
                    <Link to={`/escalation-policies/${encodeURIComponent(p.id)}`}>{p.name}</Link>
                    <span className="mono muted row-id">{p.id}</span>
                  </td>
                  <td>
                    <ol className="step-summary">
                      {p.steps.map((s, i) => (
                        <li key={i}>
                          {s.targets.map(describeTarget).join(', ')}
                          <span className="muted"> · {formatMinutes(s.delayMs)}</span>
                        </li>
                      ))}
                    </ol>
                  </td>
                  <td className="num">{p.repeat}×</td>
                  <td>
                    <span className="label-chips">
                      {(p.match ?? []).map((m, i) => (
                        <span key={i} className="lchip mono">
                          {m}
                        </span>
                      ))}
                      {(p.severities ?? []).length > 0 && (
                        <span className="lchip mono">severity in {p.severities.join('|')}</span>
                      )}
                      {(p.match ?? []).length === 0 && (p.severities ?? []).length === 0 && (
                        <span className="muted">every alert group</span>
                      )}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

function UsersTab({ onReady }: { onReady(): void }) {
  const users = useQuery({ queryKey: ['oncall', 'users'], queryFn: ({ signal }) => fetchUsers(signal) });
  const [editing, setEditing] = useState<{ user: User; isNew: boolean } | null>(null);
  useReady(users, onReady);
  return (
    <>
      <div className="tab-actions">
        <button
          type="button"
          className="btn primary"
          data-testid="new-user"
          onClick={() =>
            setEditing({
              user: { id: '', name: '', contacts: [{ type: 'email', address: '' }] },
              isNew: true,
            })
          }
        >
          New user
        </button>
      </div>
      {users.isError ? (
        <ErrorMessage error={users.error} />
      ) : !users.data ? (
        <Loading label="Loading users…" />
      ) : users.data.length === 0 ? (
        <Empty>No user yet: add the people who can be paged.</Empty>
      ) : (
        <section className="card">
          <table className="table oncall-table">
            <thead>
              <tr>
                <th>User</th>
                <th>Contact methods (tried in order)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id} data-testid="user-row" data-id={u.id}>
                  <td>
                    <strong>{u.name}</strong>
                    <span className="mono muted row-id">{u.id}</span>
                  </td>
                  <td>
                    <ul className="contacts">
                      {(u.contacts ?? []).map((c, i) => (
                        <li key={i}>
                          <span className="ctype">{c.type}</span> <span className="mono">{c.address}</span>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      className="btn small"
                      data-testid="edit-user"
                      onClick={() => setEditing({ user: u, isNew: false })}
                    >
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {editing && <UserForm initial={editing.user} isNew={editing.isNew} onClose={() => setEditing(null)} />}
    </>
  );
}

const CONTACT_KINDS: ContactKind[] = ['email', 'slack', 'webhook'];

function UserForm({ initial, isNew, onClose }: { initial: User; isNew: boolean; onClose(): void }) {
  const [u, setU] = useState<User>({ ...initial, contacts: [...(initial.contacts ?? [])] });
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: () =>
      saveUser(
        { ...u, id: u.id.trim(), name: u.name.trim(), contacts: u.contacts.filter((c) => c.address.trim()) },
        isNew,
      ),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['oncall'] });
      onClose();
    },
  });
  const problems =
    save.error instanceof ApiError ? problemsByField(save.error.details) : new Map<string, string>();
  const shown = [
    'id',
    'name',
    ...u.contacts.flatMap((c, i) => [`contacts.${i}`, `contacts.${i}.address`, `contacts.${i}.${c.type}`]),
  ];
  const leftover = unplacedProblems(problems, shown);
  const setContact = (i: number, patch: Partial<User['contacts'][number]>) =>
    setU({ ...u, contacts: u.contacts.map((c, j) => (j === i ? { ...c, ...patch } : c)) });
  return (
    <Modal title={isNew ? 'New user' : `Edit ${initial.name}`} onClose={onClose} testId="user-form">
      <form
        className="oncall-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <div className="form-row">
          <Field label="ID" problem={problems.get('id')}>
            <input
              data-testid="user-id"
              value={u.id}
              disabled={!isNew}
              placeholder="alice"
              onChange={(e) => setU({ ...u, id: e.target.value })}
            />
          </Field>
          <Field label="Name" problem={problems.get('name')} className="grow">
            <input
              data-testid="user-name"
              value={u.name}
              placeholder="Alice Example"
              onChange={(e) => setU({ ...u, name: e.target.value })}
            />
          </Field>
        </div>
        <fieldset>
          <legend>Contact methods, tried in this order</legend>
          {u.contacts.map((c, i) => {
            const problem =
              problems.get(`contacts.${i}.${c.type}`) ??
              problems.get(`contacts.${i}.address`) ??
              problems.get(`contacts.${i}`);
            return (
              <div key={i} className="contact-row">
                <select
                  className="select"
                  aria-label="Kind"
                  value={c.type}
                  onChange={(e) => setContact(i, { type: e.target.value as ContactKind })}
                >
                  {CONTACT_KINDS.map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </select>
                <div className="grow">
                  <input
                    className="mono"
                    data-testid="contact-address"
                    aria-label="Address"
                    aria-invalid={!!problem}
                    value={c.address}
                    placeholder={c.type === 'email' ? 'alice@example.com' : 'https://…'}
                    onChange={(e) => setContact(i, { address: e.target.value })}
                  />
                  {problem && (
                    <span className="inline-error field-problem" role="alert" data-testid="field-problem">
                      {problem}
                    </span>
                  )}
                </div>
                <button
                  type="button"
                  className="btn icon"
                  aria-label="Remove this contact method"
                  title="Remove"
                  onClick={() => setU({ ...u, contacts: u.contacts.filter((_, j) => j !== i) })}
                >
                  ✕
                </button>
              </div>
            );
          })}
          <button
            type="button"
            className="btn small"
            onClick={() => setU({ ...u, contacts: [...u.contacts, { type: 'email', address: '' }] })}
          >
            + Contact method
          </button>
        </fieldset>
        <SaveError failed={save.isError} error={save.error} problems={problems} leftover={leftover} />
        <div className="modal-actions">
          <DialogActions
            confirmLabel={save.isPending ? 'Saving…' : 'Save'}
            onCancel={onClose}
            disabled={save.isPending}
            submit
            testId="user-save"
          />
        </div>
      </form>
    </Modal>
  );
}

function TeamsTab({ onReady }: { onReady(): void }) {
  const teams = useQuery({ queryKey: ['oncall', 'teams'], queryFn: ({ signal }) => fetchTeams(signal) });
  const [editing, setEditing] = useState<{ team: Team; isNew: boolean } | null>(null);
  useReady(teams, onReady);
  return (
    <>
      <div className="tab-actions">
        <button
          type="button"
          className="btn primary"
          data-testid="new-team"
          onClick={() => setEditing({ team: { id: '', name: '', members: [] }, isNew: true })}
        >
          New team
        </button>
      </div>
      {teams.isError ? (
        <ErrorMessage error={teams.error} />
      ) : !teams.data ? (
        <Loading label="Loading teams…" />
      ) : teams.data.length === 0 ? (
        <Empty>No team yet.</Empty>
      ) : (
        <section className="card">
          <table className="table oncall-table">
            <thead>
              <tr>
                <th>Team</th>
                <th>Members</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {teams.data.map((t) => (
                <tr key={t.id} data-testid="team-row" data-id={t.id}>
                  <td>
                    <strong>{t.name}</strong>
                    <span className="mono muted row-id">{t.id}</span>
                  </td>
                  <td>{t.members.join(', ') || <span className="muted">nobody</span>}</td>
                  <td className="actions">
                    <button
                      type="button"
                      className="btn small"
                      data-testid="edit-team"
                      onClick={() => setEditing({ team: t, isNew: false })}
                    >
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {editing && <TeamForm initial={editing.team} isNew={editing.isNew} onClose={() => setEditing(null)} />}
    </>
  );
}

function TeamForm({ initial, isNew, onClose }: { initial: Team; isNew: boolean; onClose(): void }) {
  const [id, setId] = useState(initial.id);
  const [name, setName] = useState(initial.name);
  const [members, setMembers] = useState(initial.members.join(', '));
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: () => saveTeam({ id: id.trim(), name: name.trim(), members: splitList(members) }, isNew),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['oncall'] });
      onClose();
    },
  });
  const problems =
    save.error instanceof ApiError ? problemsByField(save.error.details) : new Map<string, string>();
  const memberProblem = problems.get('members') ?? [...problems].find(([k]) => k.startsWith('members.'))?.[1];
  const leftover = unplacedProblems(problems, ['id', 'name', 'members']).filter(
    (p) => !p.startsWith('members.'),
  );
  return (
    <Modal
      title={isNew ? 'New team' : `Edit ${initial.name}`}
      onClose={onClose}
      testId="team-form"
      size="small"
    >
      <form
        className="oncall-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label="ID" problem={problems.get('id')}>
          <input data-testid="team-id" value={id} disabled={!isNew} onChange={(e) => setId(e.target.value)} />
        </Field>
        <Field label="Name" problem={problems.get('name')}>
          <input data-testid="team-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Members (user IDs, comma-separated)" problem={memberProblem}>
          <input
            data-testid="team-members"
            className="mono"
            value={members}
            onChange={(e) => setMembers(e.target.value)}
          />
        </Field>
        <SaveError failed={save.isError} error={save.error} problems={problems} leftover={leftover} />
        <div className="modal-actions">
          <DialogActions
            confirmLabel={save.isPending ? 'Saving…' : 'Save'}
            onCancel={onClose}
            disabled={save.isPending}
            submit
            testId="team-save"
          />
        </div>
      </form>
    </Modal>
  );
}
