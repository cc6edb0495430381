/** Storm protection's metrics on Vigil's /metrics (docs/storm.md). */
import client from 'prom-client';
import { registry } from '../../self/metrics.ts';

export const rateLimitedTotal = new client.Counter({
  name: 'vigil_notifications_rate_limited_total',
  help: 'Notifications deferred by the per-receiver rate limit (sent later, merged with newer changes of their group).',
  labelNames: ['receiver'] as const,
  registers: [registry],
});

export const stormAbsorbedTotal = new client.Counter({
  name: 'vigil_storm_absorbed_alerts_total',
  help: 'Alerts of aggregation group notifications carried by a storm summary instead.',
  labelNames: ['receiver'] as const,
  registers: [registry],
});

export const stormSummariesTotal = new client.Counter({
  name: 'vigil_storm_summaries_total',
  help: 'Storm-summary notifications attempted (first ones and updates).',
  labelNames: ['receiver'] as const,
  registers: [registry],
});

export const flapHeldTotal = new client.Counter({
  name: 'vigil_alerts_flapping_total',
  help: 'Times an alert was found flapping (its notifications are held until it is stable).',
  registers: [registry],
});
