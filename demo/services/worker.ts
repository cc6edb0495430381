/**
 * Delivery worker for one channel (`DEMO_CHANNEL`): consumes `channel.<name>`, calls the channel's provider
 * (simulated: a few ms, failing under the error-rate and channel-down faults) and reports the delivery to
 * the gateway. `GET /stats` gives its totals to the channel monitor.
 */
import { CHANNELS } from '../lib/faults.ts';
import { serviceFromEnv, StageError } from '../lib/service.ts';

const channel = process.env.DEMO_CHANNEL ?? '';
if (!(CHANNELS as readonly string[]).includes(channel))
  throw new Error(`DEMO_CHANNEL must be one of ${CHANNELS.join(', ')}, got ${JSON.stringify(channel)}`);
const svc = serviceFromEnv(`worker-${channel}`);
svc.declareDrops('delivery', channel, [
  'provider_down',
  'provider_error',
  'gateway_unavailable',
  'gateway_unreachable',
]);
const totals = { received: 0, delivered: 0, failed: 0 };
// Providers differ in speed: e-mail is slow, push is fast.
const providerMs = { email: 30, sms: 15, push: 5, webhook: 20 }[channel] ?? 10;

svc.consume(`channel.${channel}`, async (msg) => {
  totals.received++;
  const outcome = await svc.handleMessage('delivery', channel, async () => {
    await svc.telemetry.tracer.startActiveSpan(`${channel} provider send`, async (span) => {
      try {
        await new Promise((r) => setTimeout(r, providerMs * (0.5 + Math.random())));
        if (svc.faults.down) throw new StageError('provider_down', `${channel} provider unreachable`);
        if (svc.faults.errorRate && Math.random() < svc.faults.errorRate)
          throw new StageError('provider_error', `${channel} provider answered 500`);
      } finally {
        span.end();
      }
    });
    await svc.call('gateway', '/deliver', { id: msg.id, client: msg.client, channel });
    return true;
  });
  if (outcome === true) totals.delivered++;
  else totals.failed++;
});

svc.route('GET /stats', () => ({ status: 200, body: { channel, ...totals } }), { traced: false });

await svc.listen();
