/**
 * Severity classes: the `severity` label of every alert, whatever spelling its sender uses (`crit`, `page`,
 * `P1`, `sev2`, `warn`…), is mapped onto one of four classes — info, warning, error, critical — so routes,
 * silences and inhibit rules match one vocabulary and alerts sort by urgency. The value as sent is kept in
 * `severity_original` when it changed.
 */
import { z } from 'zod';
import type { Labels } from '../model/labels.ts';

/** The four classes, least urgent first: the index is the sort order. */
export const SEVERITY_CLASSES = ['info', 'warning', 'error', 'critical'] as const;
export type SeverityClass = (typeof SEVERITY_CLASSES)[number];

/** The label that keeps the sender's spelling when it was changed. */
export const SEVERITY_ORIGINAL_LABEL = 'severity_original';

/** Common spellings, lower case. Numbered priorities follow PagerDuty/Opsgenie: 1 is the most urgent. */
export const DEFAULT_SEVERITY_SPELLINGS: Readonly<Record<string, SeverityClass>> = {
  critical: 'critical',
  crit: 'critical',
  page: 'critical',
  pager: 'critical',
  fatal: 'critical',
  emergency: 'critical',
  emerg: 'critical',
  alert: 'critical',
  disaster: 'critical',
  p0: 'critical',
  p1: 'critical',
  sev0: 'critical',
  sev1: 'critical',
  s1: 'critical',
  error: 'error',
  err: 'error',
  high: 'error',
  major: 'error',
  p2: 'error',
  sev2: 'error',
  s2: 'error',
  warning: 'warning',
  warn: 'warning',
  medium: 'warning',
  moderate: 'warning',
  minor: 'warning',
  average: 'warning',
  p3: 'warning',
  sev3: 'warning',
  s3: 'warning',
  info: 'info',
  informational: 'info',
  information: 'info',
  notice: 'info',
  low: 'info',
  debug: 'info',
  none: 'info',
  ok: 'info',
  p4: 'info',
  p5: 'info',
  sev4: 'info',
  sev5: 'info',
  s4: 'info',
  s5: 'info',
};

/** `alerting.severity_map`: extra or overriding spellings (matched case-insensitively) → class. */
export const severityMapSchema = z
  .record(z.string().min(1, 'a severity spelling must not be empty'), z.enum(SEVERITY_CLASSES))
  .default({});

/** Sort rank of a severity value: 0 (info) … 3 (critical), -1 when it is not one of the four classes. */
export function severityOrder(value: string | undefined): number {
  return value === undefined ? -1 : (SEVERITY_CLASSES as readonly string[]).indexOf(value);
}

/** Maps severity spellings onto the four classes. Immutable once built; safe to share. */
export class SeverityNormalizer {
  private readonly spellings: ReadonlyMap<string, SeverityClass>;

  constructor(extra: Readonly<Record<string, SeverityClass>> = {}) {
    const m = new Map<string, SeverityClass>(Object.entries(DEFAULT_SEVERITY_SPELLINGS));
    for (const [k, v] of Object.entries(extra)) m.set(k.trim().toLowerCase(), v);
    this.spellings = m;
  }

  /** The class of a spelling (case and surrounding blanks ignored), undefined when unknown. */
  classify(value: string): SeverityClass | undefined {
    return this.spellings.get(value.trim().toLowerCase());
  }

  /**
   * Labels with `severity` replaced by its class and the sent value in `severity_original` when it
   * changed. Unknown spellings and alerts without severity are returned unchanged (the same object).
   */
  apply(labels: Labels): Labels {
    const sent = labels.severity;
    if (sent === undefined) return labels;
    const cls = this.classify(sent);
    if (cls === undefined || cls === sent) return labels;
    return { ...labels, severity: cls, [SEVERITY_ORIGINAL_LABEL]: sent };
  }
}
