/**
 * Time for rule scheduling behind an interface: the system clock in the server, a manual clock in tests, so
 * schedules (alignment, catch-up after a restart, overruns) are tested without waiting.
 */

/** Wall-clock time and waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. Never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A clock that moves only when told. `advanceTo` wakes sleepers in time order and, after each wake-up, lets the
 * woken work run until it sleeps again (or a bounded number of event-loop turns passes).
 */
export class ManualClock implements Clock {
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  /** Moves the clock without waking anyone (work that happens to take time). */
  set(t: number): void {
    this.t = t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const s = {
        at: this.t + ms,
        wake: () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          signal.removeEventListener('abort', s.wake);
          resolve();
        },
      };
      this.sleepers.push(s);
      signal.addEventListener('abort', s.wake, { once: true });
    });
  }

  /** Number of callers currently sleeping. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Lets pending work run until `count` callers sleep, at most `turns` event-loop turns. */
  async settle(count = 1, turns = 5000): Promise<void> {
    for (let i = 0; i < turns && this.sleepers.length < count; i++) await new Promise((r) => setImmediate(r));
  }

  async advanceTo(t: number): Promise<void> {
    for (;;) {
      const due = this.sleepers.filter((s) => s.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      const before = this.sleepers.length;
      this.t = Math.max(this.t, due.at);
      due.wake();
      await this.settle(before);
    }
    this.t = Math.max(this.t, t);
  }
}
