/**
 * Drives the storm stage in the pipeline: sleeps until something may be due (or it is woken), delivers the
 * storm summaries and deferred notifications `StormStage.due` hands out through the receivers' integrations,
 * records them and reports the outcome back. Each delivery runs on its own, so a slow receiver never holds up
 * another one. Time comes from the injected clock.
 */
import type { Clock } from '../../rules/clock.ts';
import { deliver } from '../../notify/deliver.ts';
import type { Integration } from '../../notify/integration.ts';
import type { DeferredJob, NotificationRecord } from '../dispatch.ts';
import type { StoredAlert } from '../store.ts';
import { stormSummariesTotal } from './metrics.ts';
import type { StormItem, StormStage, SummaryItem } from './stage.ts';
import { summaryMessage } from './summary.ts';

/** What the runner needs from the pipeline; getters are read at each delivery (reload replaces them). */
export interface StormRunnerDeps {
  readonly stage: StormStage<DeferredJob>;
  readonly clock: Clock;
  readonly integrations: () => ReadonlyMap<string, readonly Integration[]>;
  readonly externalURL: () => string;
  /** The current state of an alert, by fingerprint. */
  readonly lookup: (fp: string) => StoredAlert | undefined;
  readonly onNotification: (r: NotificationRecord) => void;
  readonly log: (msg: string) => void;
}

/** Longest sleep between looks at the stage, and the shortest (the stage may say "now" for items in flight). */
const MAX_SLEEP_MS = 60_000;
const MIN_SLEEP_MS = 1000;

export class StormRunner {
  private readonly stopping = new AbortController();
  private wakeUp: AbortController | undefined;
  private woken = false;
  private readonly running = new Set<Promise<void>>();
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly deps: StormRunnerDeps) {}

  start(): void {
    this.loop = this.run().catch((err: Error) => this.deps.log(`storm protection: ${err.message}`));
  }

  /** Looks at the stage again now (something was deferred or absorbed). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.abort();
  }

  private async run(): Promise<void> {
    const { clock, stage } = this.deps;
    while (!this.stopping.signal.aborted) {
      this.woken = false;
      const now = clock.now();
      for (const item of stage.due(now, this.deps.lookup)) {
        const p: Promise<void> = this.deliver(item)
          .catch((err: Error) => {
            this.deps.log(`storm protection: ${item.key}: ${err.message}`);
            stage.done(item, false, clock.now());
          })
          .finally(() => this.running.delete(p));
        this.running.add(p);
      }
      if (this.woken) continue;
      const next = stage.nextAt(now);
      const wait =
        next === undefined ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, next - now));
      const wake = new AbortController();
      this.wakeUp = wake;
      await clock.sleep(wait, AbortSignal.any([wake.signal, this.stopping.signal]));
      this.wakeUp = undefined;
    }
  }

  private async deliver(item: StormItem<DeferredJob>): Promise<void> {
    const { clock, stage } = this.deps;
    if (item.kind === 'deferred') {
      const ok = await item.payload.run(clock.now());
      stage.done(item, ok, clock.now());
      return;
    }
    const ok = await this.summary(item);
    stage.done(item, ok, clock.now());
  }

  private async summary(item: SummaryItem): Promise<boolean> {
    const d = this.deps;
    const integ = d
      .integrations()
      .get(item.receiver)
      ?.find((i) => `${i.name}[${i.index}]` === item.integration);
    if (!integ) {
      // The receiver or integration was removed by a reload: nobody is left to tell.
      d.log(`storm protection: ${item.key}: receiver integration no longer configured; summary not sent`);
      return true;
    }
    const at = d.clock.now();
    const msg = summaryMessage(item, d.externalURL(), at);
    stormSummariesTotal.inc({ receiver: item.receiver });
    const outcome = await deliver(integ, msg, {
      clock: d.clock,
      timeoutMs: item.groupIntervalMs,
      signal: this.stopping.signal,
    });
    if (!outcome.ok)
      d.log(`notify ${item.receiver} ${item.integration} storm summary ${item.stormId}: ${outcome.error}`);
    d.onNotification({
      id: msg.id,
      groupId: msg.groupId,
      groupKey: msg.groupKey,
      receiver: item.receiver,
      integration: item.integration,
      status: msg.status,
      alerts: msg.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.status, labels: a.labels })),
      groupLabels: msg.groupLabels,
      at,
      attempts: outcome.attempts,
      ok: outcome.ok,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    return outcome.ok;
  }

  /** Stops the loop and waits for deliveries under way. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.all([...this.running]);
  }
}
