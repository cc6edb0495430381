/**
 * The small runtime every demo service is built on: an HTTP server with a server span per request, JSON
 * calls and queue publish/consume with W3C trace context injected (HTTP headers, message headers), the
 * stage counters every stage exports (OpenTelemetry and older-style Prometheus names), and the fault
 * effects the launcher switches on (`POST /_faults`).
 */
import {
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Counter as PromCounter, Histogram as PromHistogram } from 'prom-client';
import type { ServiceFaults } from './faults.ts';
import { startTelemetry, telemetryEnabled, type Telemetry } from './telemetry.ts';

/** A handler's answer: status and JSON body. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

/** Handles one JSON request inside its server span. Thrown errors answer 500 and mark the span failed. */
export type Handler = (body: any, req: IncomingMessage, span: Span) => Promise<Reply> | Reply;

/** A message as it travels through the broker: W3C context in `headers`, the payload in `body`. */
export interface QueueMessage {
  readonly id: number;
  readonly headers: Record<string, string>;
  readonly body: any;
  readonly enqueuedAt: number;
}

/** Thrown by a step that failed on purpose or for real; `reason` becomes the `reason` label of drops. */
export class StageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The metric attributes and bound older-style series of one stage (and channel). */
interface StageInstruments {
  readonly attrs: Attributes;
  readonly legacyIn: { inc(): void };
  readonly legacyOut: { inc(): void };
  readonly legacyErr: { inc(): void };
  readonly legacyTime: { observe(ms: number): void };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The running service: telemetry, its peers' URLs, current faults, and helpers bound to them. */
export class Service {
  readonly telemetry: Telemetry;
  readonly peers: Record<string, string>;
  faults: ServiceFaults = {};
  private readonly routes = new Map<string, { handler: Handler; traced: boolean }>();
  private readonly closers: (() => Promise<void> | void)[] = [];
  private leaked: Buffer[] = [];
  private stopping = false;
  private readonly stages = new Map<string, StageInstruments>();
  private readonly peerAttrs = new Map<string, Attributes>();

  private readonly received;
  private readonly sent;
  private readonly dropped;
  private readonly duration;
  private readonly legacyIn;
  private readonly legacyOut;
  private readonly legacyErr;
  private readonly legacyTime;

  constructor(
    readonly name: string,
    readonly port: number,
    otlp: string,
    exportMs: number,
    telemetry = true,
  ) {
    this.telemetry = startTelemetry(name, otlp, exportMs, telemetry);
    this.peers = JSON.parse(process.env.DEMO_PEERS ?? '{}') as Record<string, string>;
    const m = this.telemetry.meter;
    this.received = m.createCounter('pipeline.messages.received', {
      description: 'Messages a stage took in.',
      unit: '{message}',
    });
    this.sent = m.createCounter('pipeline.messages.sent', {
      description: 'Messages a stage passed on (for delivery workers: delivered).',
      unit: '{message}',
    });
    this.dropped = m.createCounter('pipeline.messages.dropped', {
      description: 'Messages a stage dropped, by reason.',
      unit: '{message}',
    });
    this.duration = m.createHistogram('pipeline.stage.duration', {
      description: 'Time a stage spends on one message.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    // The older stack's names: counters without _total, a component label and milliseconds.
    const r = this.telemetry.legacy;
    const labelNames = ['component', 'medium'] as const;
    this.legacyIn = new PromCounter({ name: 'msg_in_count', help: 'msgs in', labelNames, registers: [r] });
    this.legacyOut = new PromCounter({ name: 'msg_out_count', help: 'msgs out', labelNames, registers: [r] });
    this.legacyErr = new PromCounter({
      name: 'msg_err_count',
      help: 'msgs failed or dropped',
      labelNames,
      registers: [r],
    });
    this.legacyTime = new PromHistogram({
      name: 'proc_time_ms',
      help: 'processing time in ms',
      labelNames,
      buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [r],
    });
    this.startFaultEffects();
  }

  /** Registers `POST path` (or `GET path` with a `GET ` prefix); `traced: false` skips the server span. */
  route(path: string, handler: Handler, opts: { traced?: boolean } = {}): void {
    this.routes.set(path.startsWith('GET ') ? path : `POST ${path}`, {
      handler,
      traced: opts.traced ?? true,
    });
  }

  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Runs `work` for one message of `stage` (and `channel`): counts it in, applies the stage faults (delay),
   * times it, and counts it out or dropped by the outcome. `work` returns false to drop without error.
   * Returns true when passed on, else the reason it was dropped.
   */
  async handleMessage(
    stage: string,
    channel: string | undefined,
    work: () => Promise<boolean | void>,
  ): Promise<true | StageError> {
    const ins = this.stageInstruments(stage, channel);
    const t0 = performance.now();
    this.received.add(1, ins.attrs);
    ins.legacyIn.inc();
    let outcome: true | StageError;
    try {
      if (this.faults.delayMs) await sleep(this.faults.delayMs);
      outcome = (await work()) !== false ? true : new StageError('rejected', 'rejected');
    } catch (err) {
      outcome = err instanceof StageError ? err : new StageError('error', (err as Error).message);
      const span = trace.getActiveSpan();
      span?.recordException(err as Error);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    }
    if (outcome === true) {
      this.sent.add(1, ins.attrs);
      ins.legacyOut.inc();
    } else {
      this.dropped.add(1, { ...ins.attrs, reason: outcome.reason });
      ins.legacyErr.inc();
    }
    const s = (performance.now() - t0) / 1000;
    this.duration.record(s, ins.attrs);
    ins.legacyTime.observe(s * 1000);
    return outcome;
  }

  // One attribute set and one set of prom-client children per stage and channel, made at the first message:
  // the hot path then allocates no label objects and prom-client hashes no labels.
  private stageInstruments(stage: string, channel: string | undefined): StageInstruments {
    const key = channel === undefined ? stage : `${stage}/${channel}`;
    let ins = this.stages.get(key);
    if (!ins) {
      const legacy = { component: stage, medium: channel ?? '' };
      ins = {
        attrs: Object.freeze(channel ? { stage, channel } : { stage }),
        legacyIn: this.legacyIn.labels(legacy),
        legacyOut: this.legacyOut.labels(legacy),
        legacyErr: this.legacyErr.labels(legacy),
        legacyTime: this.legacyTime.labels(legacy),
      };
      this.stages.set(key, ins);
    }
    return ins;
  }

  /**
   * Creates the drop counter's series for the reasons a stage can drop for, at 0. A series that appears only
   * at its first drop loses that first count in `rate()`, which would look like items unaccounted for.
   */
  declareDrops(stage: string, channel: string | undefined, reasons: readonly string[]): void {
    for (const reason of [...reasons, 'rejected', 'error'])
      this.dropped.add(0, channel ? { stage, channel, reason } : { stage, reason });
  }

  /** True when the loss fault says this message silently vanishes. */
  lose(): boolean {
    return !!this.faults.lossRate && Math.random() < this.faults.lossRate;
  }

  /** POSTs JSON to a peer inside a client span, with `traceparent` injected; throws StageError on failure. */
  async call(peer: string, path: string, body: unknown, spanName = `POST ${path}`): Promise<any> {
    this.peer(peer);
    let attributes = this.peerAttrs.get(peer);
    if (!attributes) {
      attributes = Object.freeze({ 'peer.service': peer, 'http.request.method': 'POST' });
      this.peerAttrs.set(peer, attributes);
    }
    return this.telemetry.tracer.startActiveSpan(spanName, { kind: SpanKind.CLIENT, attributes }, (span) =>
      this.post(peer, path, body, span),
    );
  }

  /**
   * Puts a message on a broker queue in a producer span; the message carries that span's context. The same
   * span is the HTTP call to the broker (the broker's server span is its child): a separate client span under
   * it would only repeat its timing, one span more per message and per channel.
   */
  async publish(queue: string, body: unknown): Promise<void> {
    this.peer('broker');
    await this.telemetry.tracer.startActiveSpan(
      `publish ${queue}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'vigil-demo-broker',
          'messaging.destination.name': queue,
          'peer.service': 'broker',
          'http.request.method': 'POST',
        },
      },
      async (span) => {
        const headers: Record<string, string> = {};
        propagation.inject(context.active(), headers);
        await this.post('broker', `/queues/${queue}/messages`, { headers, body }, span);
      },
    );
  }

  private peer(name: string): string {
    const base = this.peers[name];
    if (!base) throw new Error(`no peer "${name}" configured`);
    return base;
  }

  // The HTTP part of call() and publish(): POSTs with the active context injected, records the answer on
  // `span`, marks it failed on error and ends it.
  private async post(peer: string, path: string, body: unknown, span: Span): Promise<any> {
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      propagation.inject(context.active(), headers);
      const res = await fetch(this.peers[peer] + path, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      span.setAttribute('http.response.status_code', res.status);
      const text = await res.text();
      const parsed = text ? JSON.parse(text) : undefined;
      if (!res.ok) {
        const msg = (parsed as { error?: string } | undefined)?.error ?? `HTTP ${res.status}`;
        throw new StageError(res.status >= 500 ? `${peer}_unavailable` : 'rejected', `${peer}: ${msg}`);
      }
      return parsed;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      if (err instanceof StageError) throw err;
      throw new StageError(`${peer}_unreachable`, `${peer}: ${(err as Error).message}`);
    } finally {
      span.end();
    }
  }

  /**
   * Pulls `queue` until the service stops and runs `handler` for each message in a consumer span whose parent
   * is the producer's span (from the message headers). A batch is handled concurrently, so a slow message
   * delays itself rather than the whole queue.
   */
  consume(queue: string, handler: (body: any) => Promise<void>, batch = 50): void {
    const loop = async () => {
      while (!this.stopping) {
        let msgs: QueueMessage[] = [];
        try {
          const res = await fetch(`${this.peers.broker}/queues/${queue}/pull`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ max: batch }),
          });
          if (res.ok) msgs = ((await res.json()) as { messages: QueueMessage[] }).messages;
        } catch {
          // Broker not up yet or restarting: try again shortly.
        }
        if (msgs.length === 0) {
          await sleep(100);
          continue;
        }
        await Promise.all(
          msgs.map((m) => {
            const parent = propagation.extract(context.active(), m.headers);
            return this.telemetry.tracer.startActiveSpan(
              `process ${queue}`,
              {
                kind: SpanKind.CONSUMER,
                attributes: {
                  'messaging.system': 'vigil-demo-broker',
                  'messaging.destination.name': queue,
                  'messaging.message.id': String(m.id),
                  'messaging.queue.wait_ms': Date.now() - m.enqueuedAt,
                },
              },
              parent,
              async (span) => {
                try {
                  await handler(m.body);
                } catch (err) {
                  // A failing message must not stop the consumer loop.
                  span.recordException(err as Error);
                  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
                } finally {
                  span.end();
                }
              },
            );
          }),
        );
      }
    };
    void loop();
  }

  private startFaultEffects(): void {
    // CPU: busy for share × 100 ms of every 100 ms, on the event loop like a real hot loop.
    const cpu = setInterval(() => {
      const share = this.faults.cpuShare ?? 0;
      if (!share) return;
      const until = performance.now() + share * 100;
      let x = 0;
      while (performance.now() < until) x += Math.sqrt(x + 1);
      if (x < 0) console.log(x);
    }, 100);
    // Memory: filled buffers (so the pages are really resident), released when the fault is switched off.
    const leak = setInterval(() => {
      const mb = this.faults.leakMbPerS ?? 0;
      if (!mb) {
        this.leaked = [];
        return;
      }
      this.leaked.push(Buffer.alloc(Math.round(mb * 1024 * 1024), 7));
    }, 1000);
    this.onClose(() => {
      clearInterval(cpu);
      clearInterval(leak);
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, parent: Context): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method === 'GET' && path === '/metrics') {
      send(200, await this.telemetry.legacy.metrics(), this.telemetry.legacy.contentType);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      if (this.faults.down) send(503, { status: 'down', error: `${this.name}: provider unreachable` });
      else send(200, { status: 'ok' });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown = undefined;
    if (chunks.length) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        send(400, { error: `request body is not JSON: ${(err as Error).message}` });
        return;
      }
    }
    if (req.method === 'POST' && path === '/_faults') {
      this.faults = (body ?? {}) as ServiceFaults;
      send(200, this.faults);
      return;
    }
    const key = `${req.method === 'GET' ? 'GET' : 'POST'} ${path}`;
    const route = this.routes.get(key) ?? this.matchPattern(key);
    if (!route) {
      send(404, { error: `${this.name}: no route ${req.method} ${path}` });
      return;
    }
    if (!route.traced) {
      const reply = await route.handler(body, req, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
      send(reply.status, reply.body ?? {});
      return;
    }
    await this.telemetry.tracer.startActiveSpan(
      `${req.method} ${path.replace(/\/queues\/[^/]+/, '/queues/{queue}')}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': path } },
      parent,
      async (span) => {
        try {
          const reply = await route.handler(body, req, span);
          span.setAttribute('http.response.status_code', reply.status);
          if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          // Ended before the answer leaves, so the caller's client span always encloses this one.
          span.end();
          send(reply.status, reply.body ?? {});
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          span.setAttribute('http.response.status_code', 500);
          span.end();
          send(500, { error: (err as Error).message });
        }
      },
    );
  }

  // `/queues/{name}/...` routes are registered with a `*` for the name.
  private matchPattern(key: string): { handler: Handler; traced: boolean } | undefined {
    const m = /^(\w+) \/queues\/[^/]+\/(\w+)$/.exec(key);
    return m ? this.routes.get(`${m[1]} /queues/*/${m[2]}`) : undefined;
  }

  /** Listens on 127.0.0.1:port, tells the launcher (IPC) it is ready, and stops on SIGTERM or launcher exit. */
  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      const parent = propagation.extract(context.active(), req.headers);
      this.dispatch(req, res, parent).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error).message }));
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const stop = async () => {
      if (this.stopping) return;
      this.stopping = true;
      server.closeAllConnections();
      server.close();
      for (const c of this.closers) await c();
      // Flush what is buffered, but never hang a shutdown on an unreachable Vigil.
      await Promise.race([this.telemetry.shutdown(), sleep(3000)]);
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
    // The launcher went away (even SIGKILL): an orphaned service must not keep running.
    process.once('disconnect', () => void stop());
    process.send?.({ ready: this.name, port: this.port });
  }
}

/**
 * Creates the service from the launcher's environment (`DEMO_PORT`, `DEMO_OTLP`, `DEMO_PEERS`, and
 * `DEMO_TELEMETRY=off` to run without the OpenTelemetry SDK).
 */
export function serviceFromEnv(name: string): Service {
  const port = Number(process.env.DEMO_PORT);
  const otlp = process.env.DEMO_OTLP;
  if (!Number.isInteger(port) || !otlp) throw new Error(`${name}: DEMO_PORT and DEMO_OTLP must be set`);
  const telemetry = telemetryEnabled(process.env.DEMO_TELEMETRY);
  return new Service(name, port, otlp, Number(process.env.DEMO_EXPORT_MS ?? 5000), telemetry);
}
