/**
 * "Samples of these metrics were just ingested": the signal that lets alerting rules evaluate as soon as new
 * data is visible instead of waiting for their next scheduled evaluation. The composition root wraps the
 * storage handed to ingestion (push protocols, scraping, the host collector) once; rule evaluation writes
 * through an unwrapped storage, so rule output never triggers rules (no feedback loops).
 */
import { METRIC_NAME } from '../model/labels.ts';
import type { Appender, Storage } from '../store/interface.ts';
import { wrapAppenders } from '../store/wrap.ts';

/** Subscription to ingested metric names; what the rule manager needs. */
export type SubscribeIngested = (fn: (names: ReadonlySet<string>) => void) => () => void;

/**
 * Collects the metric names of each appender's samples and, after a successful commit, tells subscribers
 * synchronously. Listener errors are swallowed: a reader must never make a write fail. One event loop.
 */
export class IngestedNames {
  private readonly listeners = new Set<(names: ReadonlySet<string>) => void>();

  readonly subscribe: SubscribeIngested = (fn) => {
    const entry = (names: ReadonlySet<string>) => fn(names);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  };

  /** Tells subscribers that samples of `names` are now visible (the wrapped appenders call this). */
  notify(names: ReadonlySet<string>): void {
    if (!names.size) return;
    for (const fn of [...this.listeners]) {
      try {
        fn(names);
      } catch {
        // A failing reader is that reader's problem, not the writer's.
      }
    }
  }

  /** `storage` unchanged, except that its appenders report the metric names they committed. */
  wrap(storage: Storage): Storage {
    return wrapAppenders(storage, (inner) => this.wrapAppender(inner));
  }

  private wrapAppender(inner: Appender): Appender {
    let names = new Set<string>();
    return {
      append: (labels, t, v) => {
        inner.append(labels, t, v);
        const n = labels[METRIC_NAME];
        if (n !== undefined) names.add(n);
      },
      appendMetadata: (metric, meta) => inner.appendMetadata(metric, meta),
      get count() {
        return inner.count;
      },
      commit: async () => {
        const done = names;
        names = new Set();
        await inner.commit();
        this.notify(done);
      },
      rollback: () => {
        names = new Set();
        inner.rollback();
      },
    };
  }
}

/**
 * How many ingest-triggered evaluations a group may have in hand. Two lets a write that follows another
 * within the throttle interval (a threshold crossed, then cleared) be evaluated without waiting for the
 * interval to pass, while over any longer period the rate stays at one per interval.
 */
export const TRIGGER_BURST = 2;

/**
 * A group's allowance of ingest-triggered evaluations: `credit` evaluations (0..TRIGGER_BURST) were available
 * at `at`; it refills at one per throttle interval. `lastStart` is when the last such evaluation started.
 * Absent means the group was never evaluated on ingestion: full credit. Plain data, owned by the caller.
 */
export interface TriggerBudget {
  readonly credit: number;
  readonly at: number;
  readonly lastStart: number;
}

/** Evaluations available at `now` when the allowance refills at one per `gapMs`. */
export function creditAt(b: TriggerBudget | undefined, now: number, gapMs: number): number {
  if (!b) return TRIGGER_BURST;
  const refill = gapMs > 0 ? Math.max(0, now - b.at) / gapMs : TRIGGER_BURST;
  return Math.min(TRIGGER_BURST, b.credit + refill);
}

/**
 * When (ms, same clock as `now`) a group whose metrics were written at `now` should be evaluated. With
 * credit left it is evaluated at once, except within `delayMs` of the start of its previous triggered
 * evaluation (the rest of a burst of writes then shares one evaluation at that point); without credit it
 * waits until one evaluation's worth has refilled, and at least `delayMs`.
 */
export function triggerTime(
  b: TriggerBudget | undefined,
  now: number,
  gapMs: number,
  delayMs: number,
): number {
  const credit = creditAt(b, now, gapMs);
  if (credit >= 1) return Math.max(now, b ? b.lastStart + delayMs : now);
  return now + Math.max(delayMs, (1 - credit) * gapMs);
}

/** The allowance after an evaluation starts at `now` (never below zero credit). */
export function spendTrigger(b: TriggerBudget | undefined, now: number, gapMs: number): TriggerBudget {
  return { credit: Math.max(0, creditAt(b, now, gapMs) - 1), at: now, lastStart: now };
}
