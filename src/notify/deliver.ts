/**
 * Delivery with retries: repeats retryable failures with exponential backoff (0.5 s growing ×1.5 up to
 * 60 s, as Alertmanager) until the deadline (the route's group_interval, at least 10 s). Sleeps use the
 * injected clock, so tests control time. One integration's retries never hold up another's.
 */
import type { Clock } from '../rules/clock.ts';
import type { Integration } from './integration.ts';
import type { NotificationMessage } from './message.ts';
import {
  notificationLatency,
  notificationRequestsFailedTotal,
  notificationRequestsTotal,
  notificationsFailedTotal,
  notificationsTotal,
} from './metrics.ts';

export const MIN_NOTIFY_TIMEOUT_MS = 10_000;
const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 60_000;

export interface DeliveryOutcome {
  readonly ok: boolean;
  readonly attempts: number;
  readonly error?: string;
}

/** Backoff before attempt `n + 1` (n ≥ 1). */
export function backoffMs(n: number): number {
  return Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 1.5 ** (n - 1));
}

export async function deliver(
  integration: Integration,
  msg: NotificationMessage,
  opts: { clock: Clock; timeoutMs: number; signal?: AbortSignal },
): Promise<DeliveryOutcome> {
  const labels = { integration: integration.name, receiver: msg.receiver };
  const started = opts.clock.now();
  const deadline = started + Math.max(opts.timeoutMs, MIN_NOTIFY_TIMEOUT_MS);
  const abort = new AbortController();
  const stop = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  // Real-time cut for a hanging request; the clock decides when retrying stops.
  const timer = setTimeout(
    () => abort.abort(new Error('notification deadline passed')),
    Math.max(opts.timeoutMs, MIN_NOTIFY_TIMEOUT_MS),
  );
  notificationsTotal.inc(labels);
  let attempts = 0;
  let lastError = '';
  let reason = 'other';
  try {
    for (;;) {
      attempts++;
      notificationRequestsTotal.inc(labels);
      const r = await integration.send(msg, stop);
      if (r.status === 'ok') {
        notificationLatency.observe(labels, (opts.clock.now() - started) / 1000);
        return { ok: true, attempts };
      }
      notificationRequestsFailedTotal.inc(labels);
      lastError = r.error;
      reason = r.reason;
      if (r.status === 'failed' || stop.aborted) break;
      const wait = backoffMs(attempts);
      if (opts.clock.now() + wait >= deadline) break;
      await opts.clock.sleep(wait, stop);
      if (stop.aborted) break;
    }
  } finally {
    clearTimeout(timer);
  }
  notificationsFailedTotal.inc({ ...labels, reason });
  return {
    ok: false,
    attempts,
    error: `${integration.name}[${integration.index}]: notify retry canceled after ${attempts} attempts: ${lastError}`,
  };
}
