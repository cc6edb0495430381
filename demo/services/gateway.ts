/**
 * Delivery gateway to clients: `POST /deliver` ({id, client, channel}) records one delivery and counts
 * deliveries per client and channel. It is the downstream dependency every worker waits on; the
 * slow-dependency fault delays its answers. `GET /stats` gives totals per channel.
 */
import { Counter } from 'prom-client';
import { serviceFromEnv, StageError } from '../lib/service.ts';

const svc = serviceFromEnv('gateway');
const perChannel = new Map<string, number>();
// Ingest-to-delivery times (ms) of messages whose id carries their send time (`bench-<epoch ms>-<n>`, as
// bench/pipeline-overhead.ts sends them); `GET /latencies` hands them over and clears them.
let latencies: number[] = [];
const deliveries = svc.telemetry.meter.createCounter('gateway.deliveries', {
  description: 'Deliveries to clients, per client and channel.',
  unit: '{delivery}',
});
const legacy = new Counter({
  name: 'gw_delivered_count',
  help: 'deliveries per customer and medium',
  labelNames: ['customer', 'medium'],
  registers: [svc.telemetry.legacy],
});

svc.route('/deliver', async (body) => {
  const { client, channel } = (body ?? {}) as { client?: unknown; channel?: unknown };
  if (typeof client !== 'string' || typeof channel !== 'string')
    return {
      status: 400,
      body: { error: 'expected {"id", "client", "channel"} with string client and channel' },
    };
  const outcome = await svc.handleMessage('gateway', channel, async () => {
    if (client.length > 200) throw new StageError('invalid', 'client name too long');
    deliveries.add(1, { client, channel });
    legacy.inc({ customer: client, medium: channel });
    perChannel.set(channel, (perChannel.get(channel) ?? 0) + 1);
    const sent = /^bench-(\d+)-/.exec(String((body as { id?: unknown }).id));
    if (sent && latencies.length < 1_000_000) latencies.push(Date.now() - Number(sent[1]));
    return true;
  });
  return outcome === true ? { status: 200, body: {} } : { status: 400, body: { error: outcome.message } };
});

svc.route(
  'GET /latencies',
  () => {
    const out = latencies;
    latencies = [];
    return { status: 200, body: { latencies: out } };
  },
  { traced: false },
);
svc.route('GET /stats', () => ({ status: 200, body: Object.fromEntries(perChannel) }), { traced: false });

await svc.listen();
