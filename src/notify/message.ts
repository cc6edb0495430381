/**
 * What a receiver integration is handed for one notification of one alert group, and Alertmanager's webhook
 * payload built from it (version "4"), which is also the data notification templates see.
 */
import type { Labels } from '../model/labels.ts';

/** Go's zero time, which Alertmanager sends as `endsAt` of firing alerts. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** One alert as a notification carries it. `endsAt` is undefined for firing alerts. */
export interface NotifyAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAt: number;
  readonly endsAt: number | undefined;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** One notification: the alerts of a group at flush time, after silences/inhibition. */
export interface NotificationMessage {
  /** Unique per notification (recorded in the notification log). */
  readonly id: string;
  /** Stable ID of the alert group (SHA-256 of the group key, as Alertmanager's PagerDuty dedup key). */
  readonly groupId: string;
  readonly groupKey: string;
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly NotifyAlert[];
  readonly groupLabels: Labels;
  readonly commonLabels: Labels;
  readonly commonAnnotations: Labels;
  readonly externalURL: string;
}

/** Labels (or annotations) whose name and value are the same in every alert. */
export function commonPairs(sets: readonly Labels[]): Labels {
  if (sets.length === 0) return {};
  const out: Record<string, string> = { ...sets[0] };
  for (const s of sets.slice(1)) for (const k of Object.keys(out)) if (s[k] !== out[k]) delete out[k];
  return out;
}

/** RFC 3339 with the fraction Go prints (no trailing zeros). */
export function goTime(ms: number | undefined): string {
  if (ms === undefined) return GO_ZERO_TIME;
  const iso = new Date(ms).toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? '.' + frac : ''}Z`;
}

export interface WebhookAlert {
  status: string;
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook payload, version 4. */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** The webhook body; `maxAlerts` > 0 keeps the first alerts and reports how many were cut. */
export function webhookPayload(msg: NotificationMessage, maxAlerts = 0): WebhookPayload {
  const kept = maxAlerts > 0 ? msg.alerts.slice(0, maxAlerts) : msg.alerts;
  return {
    receiver: msg.receiver,
    status: msg.status,
    alerts: kept.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: goTime(a.startsAt),
      endsAt: goTime(a.endsAt),
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
    groupLabels: msg.groupLabels,
    commonLabels: msg.commonLabels,
    commonAnnotations: msg.commonAnnotations,
    externalURL: msg.externalURL,
    version: '4',
    groupKey: msg.groupKey,
    truncatedAlerts: msg.alerts.length - kept.length,
  };
}
