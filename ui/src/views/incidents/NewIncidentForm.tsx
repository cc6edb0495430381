/** "New incident": an incident opened by hand, with title, severity, services, components and assignee. */
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DialogActions, Modal } from '../../components/Modal.tsx';
import { ErrorMessage } from '../../components/states.tsx';
import { ApiError } from '../../lib/api.ts';
import { problemsByField, unplacedProblems } from '../../lib/fieldErrors.ts';
import { createIncident, type Incident } from '../../lib/incidents.ts';
import { fetchPolicies, fetchUsers } from '../../lib/oncall.ts';
import { splitList } from './model.ts';
import { Field, useActor } from './parts.tsx';

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const FIELDS = ['title', 'severity', 'services', 'components', 'assignee', 'policyId'];

export function NewIncidentForm({ onClose, onCreated }: { onClose(): void; onCreated(i: Incident): void }) {
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState('critical');
  const [services, setServices] = useState('');
  const [components, setComponents] = useState('');
  const [assignee, setAssignee] = useState('');
  const [policyId, setPolicyId] = useState('');
  const [tried, setTried] = useState(false);
  const [actor] = useActor();
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['oncall', 'users'], queryFn: ({ signal }) => fetchUsers(signal) });
  const policies = useQuery({
    queryKey: ['oncall', 'policies'],
    queryFn: ({ signal }) => fetchPolicies(signal),
  });
  const create = useMutation({
    mutationFn: () =>
      createIncident({
        title: title.trim(),
        severity,
        services: splitList(services),
        components: splitList(components),
        assignee: assignee || undefined,
        policyId: policyId || undefined,
        actor: actor || undefined,
      }),
    onSuccess: async (i) => {
      await qc.invalidateQueries({ queryKey: ['incidents'] });
      onCreated(i);
    },
  });
  const localTitle = title.trim() === '' ? 'give the incident a title' : undefined;
  const server =
    create.error instanceof ApiError ? problemsByField(create.error.details) : new Map<string, string>();
  const problem = (k: string) => (k === 'title' && tried && localTitle) || server.get(k);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (localTitle) return;
    create.mutate();
  };
  const leftover = unplacedProblems(server, FIELDS);

  return (
    <Modal title="New incident" onClose={onClose} testId="new-incident-form">
      <form className="incident-form" onSubmit={submit} noValidate>
        <Field label="Title" problem={problem('title')}>
          <input
            data-testid="ni-title"
            value={title}
            autoFocus
            aria-invalid={!!problem('title')}
            placeholder="Checkout errors after deploy"
            onChange={(e) => setTitle(e.target.value)}
          />
        </Field>
        <div className="form-row">
          <Field label="Severity" problem={problem('severity')}>
            <select
              className="select"
              data-testid="ni-severity"
              value={severity}
              onChange={(e) => setSeverity(e.target.value)}
            >
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
          <Field label="Assignee" problem={problem('assignee')}>
            <select
              className="select"
              data-testid="ni-assignee"
              value={assignee}
              onChange={(e) => setAssignee(e.target.value)}
            >
              <option value="">Nobody yet</option>
              {(users.data ?? []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Escalation policy" problem={problem('policyId')}>
            <select
              className="select"
              data-testid="ni-policy"
              value={policyId}
              onChange={(e) => setPolicyId(e.target.value)}
            >
              <option value="">No paging</option>
              {(policies.data ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field label="Services (comma-separated)" problem={problem('services')}>
          <input
            data-testid="ni-services"
            value={services}
            placeholder="checkout, payments"
            onChange={(e) => setServices(e.target.value)}
          />
        </Field>
        <Field label="Components (comma-separated)" problem={problem('components')}>
          <input
            data-testid="ni-components"
            value={components}
            placeholder="postgres, email-gateway"
            onChange={(e) => setComponents(e.target.value)}
          />
        </Field>
        {create.isError && (leftover.length > 0 || server.size === 0) && (
          <ErrorMessage
            error={leftover.length && server.size ? new Error(leftover.join('\n')) : create.error}
            title="The incident was not created"
          />
        )}
        <div className="modal-actions">
          <DialogActions
            confirmLabel={create.isPending ? 'Creating…' : 'Create incident'}
            onCancel={onClose}
            disabled={create.isPending}
            submit
            testId="ni-save"
          />
        </div>
      </form>
    </Modal>
  );
}
