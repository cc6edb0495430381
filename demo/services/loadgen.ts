/**
 * Load generator: posts `DEMO_RATE` messages per second to the ingestion API, each the root of a trace.
 * A quarter of the messages go to every channel; about 2% are invalid (no recipient) so validation has
 * something to reject. At most 500 requests are in flight; beyond that a message is skipped and counted.
 */
import { CHANNELS } from '../lib/faults.ts';
import { serviceFromEnv } from '../lib/service.ts';

const svc = serviceFromEnv('loadgen');
const rate = Number(process.env.DEMO_RATE ?? 10);
if (!(rate > 0)) throw new Error(`DEMO_RATE must be a positive number, got ${process.env.DEMO_RATE}`);
const sent = svc.telemetry.meter.createCounter('loadgen.messages', {
  description: 'Messages generated, by outcome.',
  unit: '{message}',
});

let seq = 0;
let inFlight = 0;
let credit = 0;

function message() {
  seq++;
  const r = Math.random();
  const channels =
    r < 0.25 ? [...CHANNELS] : CHANNELS.filter(() => Math.random() < 0.4).concat(CHANNELS[seq % 4]!);
  return {
    id: `m-${process.pid}-${seq}`,
    client: `client-${(seq * 7919) % 20}`,
    channels: [...new Set(channels)],
    recipient: Math.random() < 0.02 ? '' : `user${seq % 1000}@example.com`,
    text: `Notification ${seq}`,
  };
}

async function sendOne(): Promise<void> {
  inFlight++;
  try {
    await svc.call('ingest', '/messages', message(), 'POST /messages');
    sent.add(1, { outcome: 'accepted' });
  } catch (err) {
    sent.add(1, { outcome: (err as { reason?: string }).reason ?? 'error' });
  } finally {
    inFlight--;
  }
}

// Ticks every 50 ms and carries the fractional remainder, so low rates (0.5/s) are kept exactly.
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  credit += ((now - last) / 1000) * rate;
  last = now;
  while (credit >= 1) {
    credit--;
    if (inFlight >= 500) sent.add(1, { outcome: 'skipped' });
    else void sendOne();
  }
}, 50);
svc.onClose(() => clearInterval(timer));

await svc.listen();
