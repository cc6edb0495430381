/**
 * An integration that keeps notifications in memory: used by tests to observe exactly what the pipeline
 * sends and when, without a network (like OpenTelemetry's InMemorySpanExporter). Can be told to fail.
 */
import type { Integration, SendResult } from './integration.ts';
import type { NotificationMessage } from './message.ts';

export class MemoryIntegration implements Integration {
  readonly name = 'memory';
  readonly sent: { at: number; msg: NotificationMessage }[] = [];
  /** Results to return for the next attempts, in order; empty means success. */
  readonly failures: SendResult[] = [];

  constructor(
    private readonly now: () => number,
    readonly sendResolved = true,
    readonly index = 0,
  ) {}

  async send(msg: NotificationMessage): Promise<SendResult> {
    const f = this.failures.shift();
    if (f) return f;
    this.sent.push({ at: this.now(), msg });
    return { status: 'ok' };
  }

  /** Compact view for assertions: `firing:a,b` / `resolved:a` per notification. */
  summary(): string[] {
    return this.sent.map(
      ({ at, msg }) =>
        `${at} ${msg.status} ${msg.alerts.map((a) => `${a.labels.alertname ?? a.fingerprint}${a.status === 'resolved' ? '(r)' : ''}`).join(',')}`,
    );
  }
}
