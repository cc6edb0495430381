/**
 * The entry point of the alert pipeline for producers inside Vigil (the rule evaluator) and for the
 * Alertmanager API v2 (`POST /api/v2/alerts`). Producers depend on this interface, never on the pipeline.
 */

/**
 * An alert as Alertmanager's API v2 accepts it (`postableAlert`). Times are RFC 3339 strings; an absent or
 * empty `startsAt` means "now", an absent or empty `endsAt` means "firing until resolve_timeout passes
 * without a re-post". `labels` must be non-empty and must have valid label names and non-empty values.
 */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** One alert that was refused, with its index in the posted array and the reason. */
export interface RejectedAlert {
  readonly index: number;
  readonly error: string;
}

/**
 * Outcome of `receive`. Valid alerts are accepted even when others in the same call are rejected (as in
 * Alertmanager); `accepted` counts them. `rejected` lists the invalid ones; the API answers 400 with their
 * messages when it is non-empty.
 */
export interface ReceiveResult {
  readonly accepted: number;
  readonly rejected: readonly RejectedAlert[];
}

/**
 * Accepts alerts. Safe to call concurrently; resolves once the accepted alerts are in the alert store
 * (routing, grouping and delivery happen afterwards and never make this call fail). `source` names the
 * producer for logs and metrics (for example `rules`, `api`). Never rejects for bad input: invalid alerts are
 * reported in the result.
 */
export interface AlertSink {
  receive(alerts: readonly PostableAlert[], source: string): Promise<ReceiveResult>;
}
