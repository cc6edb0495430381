/**
 * "New data is visible": a signal raised after every successful commit of at least one sample, so readers
 * such as live query streams re-evaluate only when there is something new. The composition root wraps the
 * storage once and hands the wrapped one to every writer (push ingestion, scraping, the host collector).
 */
import type { Appender, Storage } from '../store/interface.ts';
import { wrapAppenders } from '../store/wrap.ts';

/** Subscription to commit notifications; what a reader needs. */
export interface CommitNotifier {
  /** Calls `fn` after each commit that made samples visible; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void;
}

/**
 * Counts commits and notifies subscribers synchronously after each one. Listener errors are swallowed: a
 * reader must never make a write fail. Single-threaded use (one event loop).
 */
export class CommitSignal implements CommitNotifier {
  private readonly listeners = new Set<() => void>();
  private count = 0;

  /** Commits with samples seen so far. */
  get commits(): number {
    return this.count;
  }

  /** Current number of subscribers (to check that readers clean up). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  subscribe(fn: () => void): () => void {
    // A wrapper makes two subscriptions of the same function independent.
    const entry = () => fn();
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Raises the signal (the wrapped appenders call this; tests may too). */
  notify(): void {
    this.count++;
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch {
        // A failing reader is that reader's problem, not the writer's.
      }
    }
  }

  /** `storage` unchanged, except that its appenders raise this signal after a commit with samples. */
  wrap(storage: Storage): Storage {
    return wrapAppenders(storage, (inner) => this.wrapAppender(inner));
  }

  private wrapAppender(inner: Appender): Appender {
    return {
      append: (labels, t, v) => inner.append(labels, t, v),
      appendMetadata: (metric, meta) => inner.appendMetadata(metric, meta),
      get count() {
        return inner.count;
      },
      commit: async () => {
        const samples = inner.count;
        await inner.commit();
        if (samples > 0) this.notify();
      },
      rollback: () => inner.rollback(),
    };
  }
}
