/**
 * What alerting rules hand to the alert pipeline: alerts shaped as Alertmanager's API v2 `postableAlert`,
 * built the way Prometheus's notifier builds them (`startsAt` = when the alert fired, `endsAt` = when it
 * resolved, or how long a firing alert stays valid without a re-send, `generatorURL` = a link to the rule's
 * expression). The composition root turns a NotifyFn into a call of the alert pipeline's sink.
 */
import type { Alert } from './alerting.ts';

/** One alert as sent: label and annotation maps, RFC 3339 times. */
export interface NotifiedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

/**
 * Receives the alerts of one rule after an evaluation (never an empty array). Calls are made one at a time,
 * in evaluation order; a rejection is logged and the alerts are sent again at the next resend.
 */
export type NotifyFn = (alerts: NotifiedAlert[]) => Promise<void>;

/** The link to the rule's expression in Vigil's UI (the Explore page, as a table: Prometheus's `g0.tab=1`). */
export function generatorURL(externalURL: string, expr: string): string {
  const base = externalURL.replace(/\/+$/, '');
  return `${base}/explore?${new URLSearchParams({ q: expr, mode: 'table' }).toString()}`;
}

/**
 * An alert from `AlertingRule.alertsToSend`, as the notifier sends it: external labels are added where the
 * alert does not set the label itself (as Prometheus's notifier does).
 */
export function toNotified(
  a: Alert,
  link: string,
  externalLabels: Readonly<Record<string, string>> = {},
): NotifiedAlert {
  const labels: Record<string, string> = { ...a.labels };
  for (const [k, v] of Object.entries(externalLabels)) if (!labels[k]) labels[k] = v;
  return {
    labels,
    annotations: { ...a.annotations },
    startsAt: new Date(a.firedAt ?? a.activeAt).toISOString(),
    endsAt: new Date(a.resolvedAt ?? a.validUntil ?? a.activeAt).toISOString(),
    generatorURL: link,
  };
}
