/**
 * A receiver integration (one entry of `webhook_configs`, `slack_configs`, ...) and the outcome of one
 * delivery attempt. Integrations do the HTTP/SMTP request only; retries live in `deliver.ts`.
 */
import type { NotificationMessage } from './message.ts';

/** Outcome of one attempt: delivered, worth retrying (network error, 5xx, 429), or refused for good. */
export type SendResult =
  | { readonly status: 'ok' }
  | { readonly status: 'retryable'; readonly error: string; readonly reason: string }
  | { readonly status: 'failed'; readonly error: string; readonly reason: string };

export interface Integration {
  /** Alertmanager's integration name: `webhook`, `slack`, `email`, `pagerduty`, `msteams`. */
  readonly name: string;
  /** Position within its kind in the receiver (`webhook[1]`). */
  readonly index: number;
  readonly sendResolved: boolean;
  /** Sends one notification. Never throws: failures are results. `signal` aborts at the deadline. */
  send(msg: NotificationMessage, signal: AbortSignal): Promise<SendResult>;
}

/** Classifies an HTTP status the way Alertmanager's integrations do. */
export function httpResult(status: number, body: string, what: string): SendResult {
  if (status >= 200 && status < 300) return { status: 'ok' };
  const snippet = body.length > 200 ? body.slice(0, 200) + '…' : body;
  const error = `${what}: unexpected status code ${status}${snippet ? `: ${snippet.trim()}` : ''}`;
  if (status >= 500 || status === 429)
    return { status: 'retryable', error, reason: status === 429 ? 'clientError' : 'serverError' };
  return { status: 'failed', error, reason: 'clientError' };
}

/** Converts a thrown fetch/network error into a retryable result. */
export function networkResult(err: unknown, what: string): SendResult {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const detail = e.cause?.code ?? e.cause?.message ?? e.message;
  return {
    status: 'retryable',
    error: `${what}: ${e.message}${detail && detail !== e.message ? ` (${detail})` : ''}`,
    reason: 'other',
  };
}
