/** The three states every data view has besides "data": loading, error and empty. Always contained. */
import type { ReactNode } from 'react';
import { ApiError } from '../lib/api.ts';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden /> {label}
    </div>
  );
}

export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  const err = error instanceof Error ? error : new Error(String(error));
  const kind = err instanceof ApiError ? err.kind : 'server';
  const heading =
    title ??
    (kind === 'unreachable'
      ? 'Vigil is unreachable'
      : kind === 'bad_data'
        ? 'The request was not accepted'
        : kind === 'timeout'
          ? 'The query took too long'
          : 'Something went wrong');
  return (
    <div className="state error" role="alert" data-testid="error">
      <strong>{heading}</strong>
      <span className="error-text">{err.message}</span>
      {err instanceof ApiError && err.details.length > 0 && (
        <ul className="error-details">
          {err.details.slice(0, 20).map((d, i) => (
            <li key={i}>
              <code>{d.path || '(document)'}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state empty" data-testid="empty">
      {children}
    </div>
  );
}
