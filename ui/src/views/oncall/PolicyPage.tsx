/**
 * One escalation policy (`/escalation-policies/:id`, or `/escalation-policies/new`): its ordered steps with
 * targets and delays, when each step starts, repeats and re-escalation after acknowledgement, and the routing
 * (label matchers and severities). _Edit_ turns the page into a form; what the API refuses (an unknown user or
 * schedule, a bad matcher) is shown next to the field it names.
 */
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ErrorMessage, Loading } from '../../components/states.tsx';
import { SaveError } from './SaveError.tsx';
import { ApiError } from '../../lib/api.ts';
import { fetchReceivers } from '../../lib/alerts.ts';
import { problemsByField, unplacedProblems } from '../../lib/fieldErrors.ts';
import {
  fetchPolicy,
  fetchSchedules,
  fetchTeams,
  fetchUsers,
  savePolicy,
  type Policy,
  type PolicyInput,
  type TargetKind,
} from '../../lib/oncall.ts';
import { Field } from '../incidents/parts.tsx';
import { describeTarget, formatMinutes, stepStarts } from './model.ts';
import '../alerts/alerts.css';
import '../incidents/incidents.css';
import './oncall.css';

const EMPTY: Policy = {
  id: '',
  name: '',
  steps: [{ targets: [{ type: 'schedule', id: '' }], delayMs: 10 * 60_000 }],
  repeat: 0,
  match: [],
  severities: [],
  priority: 100,
  ackTimeoutMs: 0,
};

export default function PolicyPage() {
  const { id = '' } = useParams();
  const isNew = id === 'new';
  const policy = useQuery({
    queryKey: ['oncall', 'policy', id],
    queryFn: ({ signal }) => fetchPolicy(id, signal),
    enabled: !isNew,
  });
  const [editing, setEditing] = useState(isNew);
  const ready = isNew || policy.isSuccess || policy.isError;
  const data = isNew ? EMPTY : policy.data;
  return (
    <div className="page policy-page" data-view="policy" data-ready={ready ? 'true' : 'false'}>
      <p className="crumbs">
        <Link to="/oncall?tab=policies">← Escalation policies</Link>
      </p>
      {policy.isError ? (
        <ErrorMessage error={policy.error} />
      ) : !data ? (
        <Loading label="Loading the policy…" />
      ) : editing ? (
        <PolicyForm
          key={isNew ? 'new' : data.id}
          initial={data}
          isNew={isNew}
          onDone={() => setEditing(false)}
        />
      ) : (
        <PolicyDetails policy={data} onEdit={() => setEditing(true)} />
      )}
    </div>
  );
}

function PolicyDetails({ policy: p, onEdit }: { policy: Policy; onEdit(): void }) {
  const starts = stepStarts(p);
  const pass = p.steps.reduce((t, s) => t + s.delayMs, 0);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>{p.name}</h1>
          <span className="mono muted">{p.id}</span>
        </div>
        <button type="button" className="btn" data-testid="edit-policy" onClick={onEdit}>
          Edit
        </button>
      </div>
      <div className="policy-grid">
        <section className="card" aria-label="Steps">
          <div className="card-head">
            <h2>Steps</h2>
            <span className="muted">
              one pass takes {formatMinutes(pass)}
              {p.repeat > 0
                ? `; repeated ${p.repeat} more time${p.repeat === 1 ? '' : 's'}`
                : '; not repeated'}
            </span>
          </div>
          <ol className="card-body policy-steps" data-testid="policy-steps">
            {p.steps.map((s, i) => (
              <li key={i} className="policy-step" data-testid="policy-step">
                <span className="step-no">{i + 1}</span>
                <div className="step-body">
                  <div className="step-when muted">
                    {i === 0
                      ? 'when the incident opens'
                      : `at ${formatMinutes(starts[i]!)} if nobody acknowledged`}
                  </div>
                  <div className="step-targets">
                    notify{' '}
                    {s.targets.map((t, j) => (
                      <span key={j} className={`target t-${t.type}`} data-testid="step-target">
                        {t.type === 'schedule' ? (
                          <Link to={`/schedules/${encodeURIComponent(t.id)}`}>{describeTarget(t)}</Link>
                        ) : (
                          describeTarget(t)
                        )}
                      </span>
                    ))}
                  </div>
                  <div className="step-delay muted">
                    then wait <strong>{formatMinutes(s.delayMs)}</strong> for an acknowledgement
                  </div>
                </div>
              </li>
            ))}
          </ol>
        </section>
        <section className="card" aria-label="Routing">
          <div className="card-head">
            <h2>Routing</h2>
          </div>
          <dl className="card-body incident-facts">
            <dt>Alert groups matching</dt>
            <dd data-testid="policy-match">
              {p.match.length ? (
                <span className="label-chips">
                  {p.match.map((m) => (
                    <span key={m} className="lchip mono">
                      {m}
                    </span>
                  ))}
                </span>
              ) : (
                <span className="muted">every alert group</span>
              )}
            </dd>
            <dt>Severities</dt>
            <dd>{p.severities.length ? p.severities.join(', ') : <span className="muted">any</span>}</dd>
            <dt>Priority</dt>
            <dd>{p.priority} (lower wins when several policies match)</dd>
            <dt>Re-escalate when acknowledged but unresolved after</dt>
            <dd>
              {p.ackTimeoutMs > 0 ? formatMinutes(p.ackTimeoutMs) : <span className="muted">never</span>}
            </dd>
          </dl>
        </section>
      </div>
    </>
  );
}

const TARGET_KINDS: TargetKind[] = ['schedule', 'user', 'team', 'receiver'];
const SEVERITIES = ['critical', 'error', 'warning', 'info'];

interface StepDraft {
  delay: string;
  targets: { type: TargetKind; id: string }[];
}

function PolicyForm({ initial, isNew, onDone }: { initial: Policy; isNew: boolean; onDone(): void }) {
  const [id, setId] = useState(initial.id);
  const [name, setName] = useState(initial.name);
  const [steps, setSteps] = useState<StepDraft[]>(
    initial.steps.map((s) => ({
      delay: String(s.delayMs / 60_000),
      targets: s.targets.map((t) => ({ ...t })),
    })),
  );
  const [repeat, setRepeat] = useState(String(initial.repeat));
  const [priority, setPriority] = useState(String(initial.priority));
  const [ackTimeout, setAckTimeout] = useState(String(initial.ackTimeoutMs / 60_000));
  const [match, setMatch] = useState(initial.match.join('\n'));
  const [severities, setSeverities] = useState<string[]>(initial.severities);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['oncall', 'users'], queryFn: ({ signal }) => fetchUsers(signal) });
  const schedules = useQuery({
    queryKey: ['oncall', 'schedules'],
    queryFn: ({ signal }) => fetchSchedules(signal),
  });
  const teams = useQuery({ queryKey: ['oncall', 'teams'], queryFn: ({ signal }) => fetchTeams(signal) });
  const receivers = useQuery({ queryKey: ['am-receivers'], queryFn: ({ signal }) => fetchReceivers(signal) });
  const options: Record<TargetKind, { id: string; label: string }[]> = {
    user: (users.data ?? []).map((u) => ({ id: u.id, label: u.name })),
    schedule: (schedules.data ?? []).map((s) => ({ id: s.id, label: s.name })),
    team: (teams.data ?? []).map((t) => ({ id: t.id, label: t.name })),
    receiver: (receivers.data ?? []).map((r) => ({ id: r, label: r })),
  };

  // Numbers are sent as typed (NaN becomes null in JSON), so the API names what is wrong with them.
  const toNumber = (s: string) => (s.trim() === '' ? Number.NaN : Number(s));
  const input = (): PolicyInput => ({
    id: id.trim(),
    name: name.trim(),
    match: match
      .split('\n')
      .map((m) => m.trim())
      .filter(Boolean),
    severities,
    priority: toNumber(priority),
    repeat: toNumber(repeat),
    ackTimeoutMs: Math.round(toNumber(ackTimeout) * 60_000),
    steps: steps.map((s) => ({ delayMinutes: toNumber(s.delay), targets: s.targets })),
  });
  const save = useMutation({
    mutationFn: () => savePolicy(input(), isNew),
    onSuccess: async (saved) => {
      await qc.invalidateQueries({ queryKey: ['oncall'] });
      if (isNew)
        void navigate(`/escalation-policies/${encodeURIComponent(saved?.id ?? id.trim())}`, {
          replace: true,
        });
      else onDone();
    },
  });
  const problems =
    save.error instanceof ApiError ? problemsByField(save.error.details) : new Map<string, string>();
  const shownKeys: string[] = [
    'id',
    'name',
    'match',
    'severities',
    'priority',
    'repeat',
    'ackTimeoutMs',
    'steps',
  ];
  const stepProblem = (i: number, k: string) => {
    shownKeys.push(`steps.${i}.${k}`);
    return problems.get(`steps.${i}.${k}`);
  };
  const targetProblem = (i: number, j: number, type: string) => {
    const keys = [`steps.${i}.targets.${j}`, `steps.${i}.targets.${j}.${type}`, `steps.${i}.targets.${j}.id`];
    shownKeys.push(...keys);
    return keys.map((k) => problems.get(k)).find(Boolean);
  };
  const matchProblems = [...problems]
    .filter(([k]) => k === 'match' || k.startsWith('match.'))
    .map(([, v]) => v);
  for (const k of problems.keys()) if (k.startsWith('match.')) shownKeys.push(k);

  const setStep = (i: number, patch: Partial<StepDraft>) =>
    setSteps(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const setTarget = (i: number, j: number, patch: Partial<{ type: TargetKind; id: string }>) =>
    setStep(i, { targets: steps[i]!.targets.map((t, k) => (k === j ? { ...t, ...patch } : t)) });

  const body = (
    <>
      <div className="form-row">
        <Field label="ID" problem={problems.get('id')}>
          <input
            data-testid="policy-id"
            value={id}
            disabled={!isNew}
            placeholder="checkout-critical"
            onChange={(e) => setId(e.target.value)}
          />
        </Field>
        <Field label="Name" problem={problems.get('name')} className="grow">
          <input
            data-testid="policy-name"
            value={name}
            placeholder="Checkout, critical"
            onChange={(e) => setName(e.target.value)}
          />
        </Field>
      </div>
      <fieldset className="steps-fieldset">
        <legend>Steps, in order</legend>
        {problems.get('steps') && <span className="inline-error field-problem">{problems.get('steps')}</span>}
        {steps.map((s, i) => {
          const delayProblem =
            stepProblem(i, 'delayMinutes') ?? stepProblem(i, 'delay') ?? stepProblem(i, 'delayMs');
          const targetsProblem = stepProblem(i, 'targets');
          return (
            <div key={i} className="step-edit" data-testid="step-edit">
              <span className="step-no">{i + 1}</span>
              <div className="step-edit-body">
                {s.targets.map((t, j) => {
                  const problem = targetProblem(i, j, t.type);
                  return (
                    <div key={j} className="target-row">
                      <select
                        className="select"
                        aria-label="Target kind"
                        data-testid="target-type"
                        value={t.type}
                        onChange={(e) => setTarget(i, j, { type: e.target.value as TargetKind, id: '' })}
                      >
                        {TARGET_KINDS.map((k) => (
                          <option key={k}>{k}</option>
                        ))}
                      </select>
                      <div className="grow">
                        <input
                          className="mono"
                          list={`targets-${t.type}`}
                          aria-label="Target"
                          data-testid="target-id"
                          aria-invalid={!!problem}
                          value={t.id}
                          placeholder={`${t.type} id`}
                          onChange={(e) => setTarget(i, j, { id: e.target.value })}
                        />
                        {problem && (
                          <span
                            className="inline-error field-problem"
                            role="alert"
                            data-testid="field-problem"
                          >
                            {problem}
                          </span>
                        )}
                      </div>
                      <button
                        type="button"
                        className="btn icon"
                        aria-label="Remove this target"
                        title="Remove target"
                        disabled={s.targets.length === 1}
                        onClick={() => setStep(i, { targets: s.targets.filter((_, k) => k !== j) })}
                      >
                        ✕
                      </button>
                    </div>
                  );
                })}
                {targetsProblem && <span className="inline-error field-problem">{targetsProblem}</span>}
                <div className="step-edit-foot">
                  <button
                    type="button"
                    className="btn small"
                    onClick={() => setStep(i, { targets: [...s.targets, { type: 'user', id: '' }] })}
                  >
                    + Target
                  </button>
                  <label className="field inline">
                    <span>then wait (minutes)</span>
                    <input
                      className="num-input"
                      data-testid="step-delay"
                      inputMode="decimal"
                      aria-invalid={!!delayProblem}
                      value={s.delay}
                      onChange={(e) => setStep(i, { delay: e.target.value })}
                    />
                  </label>
                  {delayProblem && (
                    <span className="inline-error field-problem" role="alert" data-testid="field-problem">
                      {delayProblem}
                    </span>
                  )}
                  <span className="spacer" />
                  <button
                    type="button"
                    className="btn small"
                    disabled={i === 0}
                    onClick={() => move(i, -1)}
                    aria-label="Move up"
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    className="btn small"
                    disabled={i === steps.length - 1}
                    onClick={() => move(i, 1)}
                    aria-label="Move down"
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    className="btn small danger"
                    disabled={steps.length === 1}
                    onClick={() => setSteps(steps.filter((_, k) => k !== i))}
                  >
                    Remove step
                  </button>
                </div>
              </div>
            </div>
          );
        })}
        <button
          type="button"
          className="btn small"
          data-testid="add-step"
          onClick={() => setSteps([...steps, { delay: '10', targets: [{ type: 'user', id: '' }] }])}
        >
          + Step
        </button>
        {TARGET_KINDS.map((k) => (
          <datalist key={k} id={`targets-${k}`}>
            {options[k].map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </datalist>
        ))}
      </fieldset>
      <div className="form-row">
        <Field label="Repeat all steps (extra passes)" problem={problems.get('repeat')}>
          <input
            className="num-input"
            data-testid="policy-repeat"
            inputMode="numeric"
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
          />
        </Field>
        <Field
          label="Re-escalate if acknowledged but open after (minutes, 0 = never)"
          problem={problems.get('ackTimeoutMs')}
        >
          <input
            className="num-input"
            data-testid="policy-ack-timeout"
            inputMode="decimal"
            value={ackTimeout}
            onChange={(e) => setAckTimeout(e.target.value)}
          />
        </Field>
        <Field label="Priority (lower wins)" problem={problems.get('priority')}>
          <input
            className="num-input"
            data-testid="policy-priority"
            inputMode="numeric"
            value={priority}
            onChange={(e) => setPriority(e.target.value)}
          />
        </Field>
      </div>
      <div className="form-row">
        <Field
          label="Route alert groups matching (one matcher per line, all must hold)"
          problem={matchProblems.join('; ')}
          className="grow"
        >
          <textarea
            className="mono"
            rows={3}
            data-testid="policy-match"
            aria-invalid={matchProblems.length > 0}
            value={match}
            placeholder={'service="checkout"\nenv=~"prod|staging"'}
            onChange={(e) => setMatch(e.target.value)}
          />
        </Field>
        <fieldset className="severity-set">
          <legend>Severities (none ticked: any)</legend>
          {SEVERITIES.map((s) => (
            <label key={s} className="check">
              <input
                type="checkbox"
                checked={severities.includes(s)}
                onChange={(e) =>
                  setSeverities(e.target.checked ? [...severities, s] : severities.filter((x) => x !== s))
                }
              />
              {s}
            </label>
          ))}
          {problems.get('severities') && (
            <span className="inline-error field-problem">{problems.get('severities')}</span>
          )}
        </fieldset>
      </div>
    </>
  );
  function move(i: number, by: number) {
    const next = [...steps];
    const [s] = next.splice(i, 1);
    next.splice(i + by, 0, s!);
    setSteps(next);
  }
  const leftover = unplacedProblems(problems, shownKeys);
  return (
    <form
      className="policy-form"
      data-testid="policy-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <div className="page-head">
        <h1>{isNew ? 'New escalation policy' : `Edit ${initial.name}`}</h1>
      </div>
      <section className="card">
        <div className="card-body oncall-form">{body}</div>
      </section>
      <SaveError failed={save.isError} error={save.error} problems={problems} leftover={leftover} />
      <div className="form-foot">
        {isNew ? (
          <Link className="btn" to="/oncall?tab=policies">
            Cancel
          </Link>
        ) : (
          <button type="button" className="btn" onClick={onDone}>
            Cancel
          </button>
        )}
        <button type="submit" className="btn primary" data-testid="policy-save" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save policy'}
        </button>
      </div>
    </form>
  );
}
