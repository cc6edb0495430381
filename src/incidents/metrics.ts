/** Incident metrics on Vigil's /metrics: open incidents, MTTA/MTTR distributions, pages by channel and outcome. */
import client from 'prom-client';
import { registry } from '../self/metrics.ts';

const DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];

export const incidentMetrics = {
  open: new client.Gauge({
    name: 'vigil_incidents_open',
    help: 'Incidents not yet resolved, by status (triggered, acknowledged) and severity.',
    labelNames: ['status', 'severity'] as const,
    registers: [registry],
  }),
  created: new client.Counter({
    name: 'vigil_incidents_created_total',
    help: 'Incidents opened (from alert groups or by hand), by severity.',
    labelNames: ['severity'] as const,
    registers: [registry],
  }),
  mtta: new client.Histogram({
    name: 'vigil_incident_mtta_seconds',
    help: 'Time from an incident opening to its first acknowledgement.',
    labelNames: ['severity'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  mttr: new client.Histogram({
    name: 'vigil_incident_mttr_seconds',
    help: 'Time from an incident opening to its resolution.',
    labelNames: ['severity'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  pages: new client.Counter({
    name: 'vigil_incident_pages_total',
    help: 'Page delivery attempts, by channel (email, slack, webhook, receiver) and outcome (delivered, failed).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  }),
};
