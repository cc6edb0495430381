/**
 * Progress of a long import on stderr: on a terminal one line redrawn in place (bar, position, samples,
 * rates, ETA); otherwise (a log file, CI) a plain line every few seconds. The text is built by pure
 * functions so that it is tested without a terminal.
 */

export type ProgressUnit = 'bytes' | 'windows';

export interface ProgressSnapshot {
  /** Work done and total work, in `unit` (bytes of the file, or time windows of a migration). */
  readonly done: number;
  readonly total: number;
  readonly unit: ProgressUnit;
  /** Samples imported so far. */
  readonly samples: number;
  /** A short note after the figures, e.g. the time a migration has reached. */
  readonly note?: string;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}

/** 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (Math.abs(n) < 1000) return String(Math.round(n));
  const units = ['k', 'M', 'G', 'T'];
  let i = -1;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)}${units[i]}`;
}

/** 3725000 → "1h2m5s"; under a minute with one decimal below ten seconds. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}h${m}m${sec}s` : `${m}m${sec}s`;
}

export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return '[' + '#'.repeat(full) + '-'.repeat(width - full) + ']';
}

/**
 * The progress text. `base` is the snapshot when this run started (a resumed import starts part way), so
 * rates and the ETA reflect this run only.
 */
export function progressText(
  snap: ProgressSnapshot,
  base: { done: number; samples: number },
  elapsedMs: number,
  opts: { bar?: boolean; final?: boolean } = {},
): string {
  const fraction = snap.total > 0 ? snap.done / snap.total : 1;
  const parts: string[] = [];
  if (opts.bar) parts.push(bar(fraction, 24));
  parts.push(`${(fraction * 100).toFixed(1).padStart(5)}%`);
  parts.push(
    snap.unit === 'bytes'
      ? `${formatBytes(snap.done)} / ${formatBytes(snap.total)}`
      : `${snap.done}/${snap.total} windows`,
  );
  parts.push(`${formatCount(snap.samples)} samples`);
  const secs = elapsedMs / 1000;
  if (secs > 0) {
    parts.push(`${formatCount((snap.samples - base.samples) / secs)} samples/s`);
    if (snap.unit === 'bytes') parts.push(`${formatBytes((snap.done - base.done) / secs)}/s`);
  }
  if (opts.final) parts.push(`in ${formatDuration(elapsedMs)}`);
  else {
    const rate = (snap.done - base.done) / Math.max(elapsedMs, 1);
    parts.push(`ETA ${rate > 0 ? formatDuration((snap.total - snap.done) / rate) : '?'}`);
  }
  if (snap.note) parts.push(snap.note);
  return parts.join('  ');
}

/** Where progress goes: a stream with, when it is a terminal, `isTTY` and `columns`. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Writes progress to a stream. On a terminal the line is redrawn at most every `ttyIntervalMs`; otherwise a
 * plain line is written every `plainIntervalMs`. `message()` prints a line (an error, a warning) without
 * garbling the bar.
 */
export class ProgressReporter {
  private readonly started: number;
  private base: { done: number; samples: number } | undefined;
  private lastDraw = 0;
  private drawn = false;
  private last: ProgressSnapshot | undefined;

  constructor(
    private readonly out: ProgressStream,
    private readonly opts: {
      readonly enabled?: boolean;
      readonly plainIntervalMs?: number;
      readonly ttyIntervalMs?: number;
      readonly now?: () => number;
    } = {},
  ) {
    this.started = this.now();
    // The first line comes after one interval: a line of zeros at the start says nothing.
    this.lastDraw = this.started;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  update(snap: ProgressSnapshot): void {
    this.base ??= { done: snap.done, samples: snap.samples };
    this.last = snap;
    if (this.opts.enabled === false) return;
    const now = this.now();
    const interval = this.tty ? (this.opts.ttyIntervalMs ?? 100) : (this.opts.plainIntervalMs ?? 10_000);
    if (now - this.lastDraw < interval) return;
    this.lastDraw = now;
    this.draw(snap, false);
  }

  /** The final line (always written, also when not enabled). */
  finish(snap: ProgressSnapshot | undefined = this.last): void {
    if (!snap) return;
    this.base ??= { done: snap.done, samples: snap.samples };
    this.draw(snap, true);
    if (this.tty) this.out.write('\n');
    this.drawn = false;
  }

  message(line: string): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[K');
    this.out.write(line + '\n');
    this.drawn = false;
    if (this.tty && this.last && this.opts.enabled !== false) this.draw(this.last, false);
  }

  private draw(snap: ProgressSnapshot, final: boolean): void {
    const text = progressText(snap, this.base!, this.now() - this.started, { bar: this.tty, final });
    if (this.tty) {
      const cols = this.out.columns ?? 120;
      this.out.write('\r\x1b[K' + (text.length >= cols ? text.slice(0, cols - 1) : text));
      this.drawn = true;
    } else this.out.write(text + '\n');
  }
}
