/**
 * The channel monitor, an older system: every 5 s it reads each worker's totals, the broker's queues and the
 * workers' health, and publishes per-channel figures under its own names and units (per minute, channel
 * names in capitals), overlapping the pipeline's OpenTelemetry counters. Prometheus `/metrics` only.
 */
import { Gauge } from 'prom-client';
import { CHANNELS } from '../lib/faults.ts';
import { serviceFromEnv } from '../lib/service.ts';

const svc = serviceFromEnv('chanmon');
const reg = svc.telemetry.legacy;
const gauge = (name: string, help: string) =>
  new Gauge({ name, help, labelNames: ['chan'], registers: [reg] });
const delivered = gauge('chanmon_delivered_per_minute', 'messages delivered in the last minute');
const failed = gauge('chanmon_failed_per_minute', 'messages failed in the last minute');
const backlog = gauge('chanmon_backlog_msgs', 'messages waiting for the channel');
const up = gauge('chanmon_channel_up', '1 when the channel answers its health check');

type Totals = { delivered: number; failed: number };
const history = new Map<string, { t: number; totals: Totals }[]>();

async function getJSON(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  return { ok: res.ok, body: await res.json() };
}

async function poll(): Promise<void> {
  const now = Date.now();
  const queues = await getJSON(`${svc.peers.broker}/queues`).catch(() => undefined);
  await Promise.all(
    CHANNELS.map(async (c) => {
      const chan = c.toUpperCase();
      const base = svc.peers[`worker-${c}`];
      const health = await getJSON(`${base}/healthz`).catch(() => ({ ok: false }));
      up.set({ chan }, health.ok ? 1 : 0);
      const q = queues?.body?.[`channel.${c}`];
      if (q) backlog.set({ chan }, q.depth);
      const stats = await getJSON(`${base}/stats`).catch(() => undefined);
      if (!stats?.ok) return;
      const h = history.get(c) ?? [];
      h.push({ t: now, totals: { delivered: stats.body.delivered, failed: stats.body.failed } });
      while (h.length > 1 && now - h[0]!.t > 60_000) h.shift();
      history.set(c, h);
      const first = h[0]!;
      const minutes = Math.max((now - first.t) / 60_000, 1 / 12);
      delivered.set({ chan }, (stats.body.delivered - first.totals.delivered) / minutes);
      failed.set({ chan }, (stats.body.failed - first.totals.failed) / minutes);
    }),
  );
}

const timer = setInterval(() => void poll().catch(() => {}), 5000);
svc.onClose(() => clearInterval(timer));

await svc.listen();
