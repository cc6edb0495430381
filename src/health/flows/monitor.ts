/**
 * Runs every configured flow's checks on its interval, keeps the last result of each for the API and sends
 * violations to the alert pipeline (source `flows`). An evaluation never overlaps the next of the same flow;
 * a failing sink is logged and the next evaluation re-sends what is still firing.
 */
import type { AlertSink } from '../../alerts/sink.ts';
import type { QueryFn } from '../../rules/rule.ts';
import { FlowAlerts } from './alerts.ts';
import type { FlowConfig } from './config.ts';
import { evaluateFlow, FlowState, type FlowResult } from './evaluate.ts';

export interface FlowMonitorDeps {
  readonly flows: readonly FlowConfig[];
  readonly query: QueryFn;
  readonly sink: AlertSink;
  readonly log?: (msg: string) => void;
  /** Evaluation time; the wall clock unless given. */
  readonly now?: () => number;
}

interface FlowRun {
  readonly flow: FlowConfig;
  readonly state: FlowState;
  readonly alerts: FlowAlerts;
  last: FlowResult | undefined;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

/** The last result of a flow, or only its configuration before its first evaluation. */
export interface FlowStatus {
  readonly flow: FlowConfig;
  readonly last: FlowResult | undefined;
}

/**
 * Periodic flow validation. `start()` evaluates every flow at once, then each on its interval; `stop()`
 * waits for evaluations in flight. Not reusable after stop. `status()` is safe to call at any time.
 */
export class FlowMonitor {
  private readonly runs: FlowRun[];
  private started = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly deps: FlowMonitorDeps) {
    this.now = deps.now ?? Date.now;
    this.runs = deps.flows.map((flow) => ({
      flow,
      state: new FlowState(),
      alerts: new FlowAlerts(),
      last: undefined,
      timer: undefined,
      running: undefined,
    }));
  }

  start(): void {
    if (this.started) throw new Error('flow monitor already started');
    this.started = true;
    for (const r of this.runs) this.tick(r);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const r of this.runs) clearTimeout(r.timer);
    await Promise.all(this.runs.map((r) => r.running));
  }

  status(): FlowStatus[] {
    return this.runs.map((r) => ({ flow: r.flow, last: r.last }));
  }

  /**
   * Evaluates one flow now and sends its alerts; resolves when the sink has them. For tests and manual runs
   * (do not call it for a flow whose timer runs). Never rejects for bad data or a failing sink.
   */
  async runOnce(name: string): Promise<FlowResult> {
    const r = this.runs.find((x) => x.flow.name === name);
    if (!r) throw new RangeError(`no flow named ${JSON.stringify(name)}`);
    await this.evaluate(r);
    return r.last!;
  }

  private tick(r: FlowRun): void {
    if (this.stopped) return;
    const started = Date.now();
    r.running = this.evaluate(r).finally(() => {
      r.running = undefined;
      if (this.stopped) return;
      r.timer = setTimeout(() => this.tick(r), Math.max(0, r.flow.interval - (Date.now() - started)));
      r.timer.unref();
    });
  }

  private async evaluate(r: FlowRun): Promise<void> {
    let result: FlowResult;
    try {
      result = await evaluateFlow(r.flow, this.deps.query, this.now(), r.state);
    } catch (err) {
      // evaluateFlow turns failures into unknown checks; anything thrown is a bug, kept out of the timer loop.
      this.deps.log?.(`flow ${r.flow.name}: evaluation failed: ${(err as Error).message}`);
      return;
    }
    r.last = result;
    const alerts = r.alerts.update(r.flow, result, r.flow.interval);
    if (!alerts.length) return;
    try {
      const res = await this.deps.sink.receive(alerts, 'flows');
      for (const x of res.rejected) this.deps.log?.(`flow ${r.flow.name}: alert rejected: ${x.error}`);
    } catch (err) {
      this.deps.log?.(`flow ${r.flow.name}: sending alerts: ${(err as Error).message}`);
    }
  }
}
