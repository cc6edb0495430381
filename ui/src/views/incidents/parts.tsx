/** Pieces the incident views share: the status badge and "acting as", the person actions are recorded for. */
import { useState, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { IncidentStatus } from '../../lib/incidents.ts';
import { fetchUsers } from '../../lib/oncall.ts';

export function StatusBadge({ status }: { status: IncidentStatus }) {
  return (
    <span className={`istatus ${status}`} data-testid="incident-status" data-status={status}>
      {status}
    </span>
  );
}

const ACTOR_KEY = 'vigil.incidents.actor';

/** The person the browser acts as (remembered per browser); Vigil has no log-in, so it is chosen here. */
export function useActor(): [string, (a: string) => void] {
  const [actor, setActor] = useState(() => {
    try {
      return localStorage.getItem(ACTOR_KEY) ?? '';
    } catch {
      return '';
    }
  });
  const set = (a: string) => {
    setActor(a);
    try {
      localStorage.setItem(ACTOR_KEY, a);
    } catch {
      // Private mode: remembered for this page only.
    }
  };
  return [actor, set];
}

/** A select of the known users (or a text field when there are none) for "acting as". */
export function ActorPicker({ actor, onChange }: { actor: string; onChange(a: string): void }) {
  const users = useQuery({ queryKey: ['oncall', 'users'], queryFn: ({ signal }) => fetchUsers(signal) });
  const list = users.data ?? [];
  return (
    <label className="field actor">
      <span>Acting as</span>
      {list.length > 0 ? (
        <select
          className="select"
          data-testid="actor"
          value={actor}
          onChange={(e) => onChange(e.target.value)}
        >
          <option value="">Choose yourself…</option>
          {list.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name} ({u.id})
            </option>
          ))}
          {actor && !list.some((u) => u.id === actor) && <option value={actor}>{actor}</option>}
        </select>
      ) : (
        <input
          data-testid="actor"
          value={actor}
          placeholder="your name"
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </label>
  );
}

/** A labelled field with its problem, if any, right under it. */
export function Field({
  label,
  problem,
  children,
  className,
}: {
  label: string;
  problem?: string | false;
  children: ReactNode;
  className?: string;
}) {
  return (
    <label className={`field ${className ?? ''}`}>
      <span>{label}</span>
      {children}
      {problem && (
        <span className="inline-error field-problem" role="alert" data-testid="field-problem">
          {problem}
        </span>
      )}
    </label>
  );
}
