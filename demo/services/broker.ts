/**
 * The queue broker: named in-memory FIFO queues over HTTP. Producers `POST /queues/{q}/messages`
 * ({headers, body}); consumers `POST /queues/{q}/pull` ({max}) and get the oldest messages (at most once).
 * Exports each queue's depth and oldest-message age; the queue-backlog fault holds a queue back.
 */
import { Counter, Gauge } from 'prom-client';
import { QUEUES } from '../lib/faults.ts';
import { serviceFromEnv, type QueueMessage } from '../lib/service.ts';

const svc = serviceFromEnv('broker');
const queues = new Map<string, QueueMessage[]>(QUEUES.map((q) => [q, []]));
let nextId = 1;

const queueOf = (url: string | undefined) => decodeURIComponent((url ?? '').split('/')[2] ?? '');
const oldestAge = (q: QueueMessage[]) => (q.length ? (Date.now() - q[0]!.enqueuedAt) / 1000 : 0);

const m = svc.telemetry.meter;
const enqueued = m.createCounter('queue.messages.enqueued', { unit: '{message}' });
const dequeued = m.createCounter('queue.messages.dequeued', { unit: '{message}' });
m.createObservableGauge('queue.depth', {
  description: 'Messages waiting in a queue.',
  unit: '{message}',
}).addCallback((r) => {
  for (const [queue, q] of queues) r.observe(q.length, { queue });
});
m.createObservableGauge('queue.oldest.age', {
  description: 'Age of the oldest waiting message.',
  unit: 's',
}).addCallback((r) => {
  for (const [queue, q] of queues) r.observe(oldestAge(q), { queue });
});

// The older broker's own names: gauges in messages and milliseconds, label `queue_name`.
const reg = svc.telemetry.legacy;
new Gauge({
  name: 'mq_queue_messages',
  help: 'messages in queue',
  labelNames: ['queue_name'],
  registers: [reg],
  collect() {
    for (const [queue, q] of queues) this.set({ queue_name: queue }, q.length);
  },
});
new Gauge({
  name: 'mq_oldest_message_age_ms',
  help: 'age of the oldest message in ms',
  labelNames: ['queue_name'],
  registers: [reg],
  collect() {
    for (const [queue, q] of queues) this.set({ queue_name: queue }, oldestAge(q) * 1000);
  },
});
const legacyPut = new Counter({
  name: 'mq_put_count',
  help: 'puts',
  labelNames: ['queue_name'],
  registers: [reg],
});

svc.route('/queues/*/messages', (body, req) => {
  const name = queueOf(req.url);
  const q = queues.get(name);
  if (!q)
    return { status: 404, body: { error: `no queue "${name}"; queues: ${[...queues.keys()].join(', ')}` } };
  if (typeof body !== 'object' || body === null || typeof body.headers !== 'object')
    return { status: 400, body: { error: 'expected {"headers": {...}, "body": ...}' } };
  q.push({ id: nextId++, headers: body.headers, body: body.body, enqueuedAt: Date.now() });
  enqueued.add(1, { queue: name });
  legacyPut.inc({ queue_name: name });
  return { status: 202, body: { depth: q.length } };
});

// Pulls are frequent and empty most of the time: no span for them, only for messages.
svc.route(
  '/queues/*/pull',
  (body, req) => {
    const name = queueOf(req.url);
    const q = queues.get(name);
    if (!q) return { status: 404, body: { error: `no queue "${name}"` } };
    if (svc.faults.pausedQueues?.includes(name)) return { status: 200, body: { messages: [] } };
    const max = Math.max(1, Math.min(500, Number(body?.max) || 1));
    const messages = q.splice(0, max);
    if (messages.length) dequeued.add(messages.length, { queue: name });
    return { status: 200, body: { messages } };
  },
  { traced: false },
);

svc.route('GET /queues', () => ({
  status: 200,
  body: Object.fromEntries(
    [...queues].map(([k, q]) => [k, { depth: q.length, oldestAgeSeconds: oldestAge(q) }]),
  ),
}));

await svc.listen();
