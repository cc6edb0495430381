/**
 * Router: `POST /route` fans a message out to the queue of each of its channels (`channel.email`, ...),
 * one producer span per channel, so a trace branches into one delivery per channel.
 */
import { Counter } from 'prom-client';
import { serviceFromEnv } from '../lib/service.ts';

const svc = serviceFromEnv('router');
svc.declareDrops('router', undefined, ['broker_unavailable', 'broker_unreachable']);
const fanout = svc.telemetry.meter.createCounter('pipeline.router.fanout', {
  description: 'Copies of messages routed, per channel.',
  unit: '{message}',
});
const legacyFanout = new Counter({
  name: 'router_dispatch_count',
  help: 'copies dispatched per destination',
  labelNames: ['dest'],
  registers: [svc.telemetry.legacy],
});

svc.route('/route', async (body) => {
  const outcome = await svc.handleMessage('router', undefined, async () => {
    const channels: string[] = Array.isArray(body?.channels) ? body.channels : [];
    await Promise.all(
      channels.map(async (channel) => {
        await svc.publish(`channel.${channel}`, body);
        fanout.add(1, { channel });
        legacyFanout.inc({ dest: channel.toUpperCase() });
      }),
    );
    return true;
  });
  return outcome === true ? { status: 202, body: {} } : { status: 503, body: { error: outcome.message } };
});

await svc.listen();
