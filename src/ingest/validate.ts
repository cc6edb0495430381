/**
 * Checks shared by every ingestion path (remote-write, OTLP, scrape, import). Each failure names what was
 * wrong and where, so the sender can fix it; callers decide whether one bad series rejects the request.
 */
import { METRIC_NAME, isValidLabelName, isValidMetricName } from '../model/labels.ts';
import { MAX_EXEMPLAR_LABEL_CHARS } from '../store/exemplars.ts';

export interface IngestLimits {
  /** Samples with a timestamp further than this ahead of now are rejected (ms). */
  readonly maxFutureMs: number;
  readonly maxLabelNameLength: number;
  readonly maxLabelValueLength: number;
  readonly maxLabelsPerSeries: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxFutureMs: 10 * 60_000,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 16 * 1024,
  maxLabelsPerSeries: 128,
};

export type RejectReason =
  | 'missing_metric_name'
  | 'invalid_metric_name'
  | 'invalid_label_name'
  | 'duplicate_label'
  | 'label_too_long'
  | 'too_many_labels'
  | 'too_far_in_future'
  | 'invalid_timestamp'
  | 'invalid_utf8';

export class InvalidSampleError extends Error {
  override name = 'InvalidSampleError';
  constructor(
    message: string,
    readonly reason: RejectReason,
  ) {
    super(message);
  }
}

/**
 * Validates a series given as name/value pairs (as they arrive on the wire, before duplicates collapse).
 * Returns the labels as an object, or throws InvalidSampleError. `where` prefixes the message
 * (for example "timeseries[3]").
 */
export function validateLabelPairs(
  pairs: readonly (readonly [string, string])[],
  where: string,
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): Record<string, string> {
  if (pairs.length > limits.maxLabelsPerSeries)
    throw new InvalidSampleError(
      `${where}: series has ${pairs.length} labels, more than the limit of ${limits.maxLabelsPerSeries}`,
      'too_many_labels',
    );
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (name === METRIC_NAME) {
      if (!isValidMetricName(value))
        throw new InvalidSampleError(
          `${where}: invalid metric name ${JSON.stringify(value)}: must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
          'invalid_metric_name',
        );
    } else if (!isValidLabelName(name)) {
      throw new InvalidSampleError(
        `${where}: invalid label name ${JSON.stringify(name)}: must match [a-zA-Z_][a-zA-Z0-9_]*`,
        'invalid_label_name',
      );
    }
    if (name.length > limits.maxLabelNameLength || value.length > limits.maxLabelValueLength)
      throw new InvalidSampleError(`${where}: label ${JSON.stringify(name)} is too long`, 'label_too_long');
    if (Object.prototype.hasOwnProperty.call(out, name))
      throw new InvalidSampleError(
        `${where}: duplicate label name ${JSON.stringify(name)}`,
        'duplicate_label',
      );
    if (value !== '') out[name] = value;
  }
  if (!out[METRIC_NAME])
    throw new InvalidSampleError(
      `${where}: series has no metric name (label __name__)`,
      'missing_metric_name',
    );
  return out;
}

/** Validates a sample timestamp (ms). NaN and ±Inf values are valid and stored. */
export function validateTimestamp(
  t: number,
  where: string,
  now: number,
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): void {
  if (!Number.isFinite(t) || !Number.isInteger(t))
    throw new InvalidSampleError(
      `${where}: timestamp ${t} is not an integer number of milliseconds`,
      'invalid_timestamp',
    );
  if (t > now + limits.maxFutureMs)
    throw new InvalidSampleError(
      `${where}: timestamp ${new Date(t).toISOString()} is more than ${limits.maxFutureMs / 1000}s in the future`,
      'too_far_in_future',
    );
}

/** Outcome of checking an exemplar's labels: the labels, or why they cannot be kept. */
export type ExemplarLabelsCheck =
  | { readonly ok: true; readonly labels: Record<string, string> }
  | { readonly ok: false; readonly reason: 'invalid_exemplar' | 'labels_too_long'; readonly message: string };

/**
 * Checks exemplar labels as sent (remote-write, OpenMetrics): valid label names, no name twice, and at most
 * 128 characters of names and values together (code points, as OpenMetrics counts them). Empty values are
 * left out, as for series labels.
 */
export function checkExemplarLabels(
  pairs: readonly (readonly [string, string])[],
  where: string,
): ExemplarLabelsCheck {
  const labels: Record<string, string> = {};
  const seen = new Set<string>();
  let chars = 0;
  for (const [name, value] of pairs) {
    if (!isValidLabelName(name))
      return {
        ok: false,
        reason: 'invalid_exemplar',
        message: `${where}: invalid exemplar label name ${JSON.stringify(name)}: must match [a-zA-Z_][a-zA-Z0-9_]*`,
      };
    if (seen.has(name))
      return {
        ok: false,
        reason: 'invalid_exemplar',
        message: `${where}: duplicate exemplar label name ${JSON.stringify(name)}`,
      };
    seen.add(name);
    for (const _ of name) chars++;
    for (const _ of value) chars++;
    if (value !== '') labels[name] = value;
  }
  if (chars > MAX_EXEMPLAR_LABEL_CHARS)
    return {
      ok: false,
      reason: 'labels_too_long',
      message: `${where}: exemplar labels have ${chars} characters, more than the limit of ${MAX_EXEMPLAR_LABEL_CHARS}`,
    };
  return { ok: true, labels };
}
