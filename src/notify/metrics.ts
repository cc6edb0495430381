/**
 * Alerting metrics under Alertmanager's own names (so existing Alertmanager dashboards work), with an extra
 * `receiver` label on the notification counters. Registered in Vigil's process registry (/metrics).
 */
import client from 'prom-client';
import { registry } from '../self/metrics.ts';

export const notificationsTotal = new client.Counter({
  name: 'alertmanager_notifications_total',
  help: 'The total number of attempted notifications (one per notification, however many retries).',
  labelNames: ['integration', 'receiver'] as const,
  registers: [registry],
});

export const notificationsFailedTotal = new client.Counter({
  name: 'alertmanager_notifications_failed_total',
  help: 'The total number of notifications that failed after every retry.',
  labelNames: ['integration', 'receiver', 'reason'] as const,
  registers: [registry],
});

export const notificationRequestsTotal = new client.Counter({
  name: 'alertmanager_notification_requests_total',
  help: 'The total number of attempted notification requests (each retry counts).',
  labelNames: ['integration', 'receiver'] as const,
  registers: [registry],
});

export const notificationRequestsFailedTotal = new client.Counter({
  name: 'alertmanager_notification_requests_failed_total',
  help: 'The total number of failed notification requests.',
  labelNames: ['integration', 'receiver'] as const,
  registers: [registry],
});

export const notificationLatency = new client.Histogram({
  name: 'alertmanager_notification_latency_seconds',
  help: 'The latency of notifications in seconds, retries included.',
  labelNames: ['integration', 'receiver'] as const,
  buckets: [1, 5, 10, 15, 20],
  registers: [registry],
});

export const alertsReceivedTotal = new client.Counter({
  name: 'alertmanager_alerts_received_total',
  help: 'The total number of received alerts, by status and source.',
  labelNames: ['status', 'source'] as const,
  registers: [registry],
});

export const alertsInvalidTotal = new client.Counter({
  name: 'alertmanager_alerts_invalid_total',
  help: 'The total number of received alerts that were invalid.',
  labelNames: ['source'] as const,
  registers: [registry],
});
