/**
 * Time ranges as the URL carries them: Grafana-style relative expressions (`now-6h`, `now`) or absolute
 * times (milliseconds since the epoch, or an ISO date). Pure functions, tested under Node.
 */

export interface RangeSpec {
  readonly from: string;
  readonly to: string;
}

export interface ResolvedRange {
  /** Milliseconds since the epoch, inclusive. */
  readonly start: number;
  readonly end: number;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Parses a Prometheus-style duration (`90s`, `1h30m`, `7d`) into milliseconds; undefined when invalid. */
export function parseDuration(s: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total > 0 ? total : undefined;
}

/** The shortest duration string for a number of milliseconds (`90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/** Resolves one end of a range; throws a RangeError that says what was wrong. */
export function resolveTime(spec: string, nowMs: number): number {
  const s = spec.trim();
  if (s === 'now') return nowMs;
  const rel = /^now-(.+)$/.exec(s);
  if (rel) {
    const d = parseDuration(rel[1]!);
    if (d === undefined) throw new RangeError(`"${spec}" is not a valid relative time (try now-1h)`);
    return nowMs - d;
  }
  if (/^\d{10,14}$/.test(s)) return Number(s);
  const parsed = Date.parse(s);
  if (!Number.isNaN(parsed)) return parsed;
  throw new RangeError(`"${spec}" is not a time (use now, now-1h, an ISO date or epoch milliseconds)`);
}

export function resolveRange(spec: RangeSpec, nowMs: number): ResolvedRange {
  const start = resolveTime(spec.from, nowMs);
  const end = resolveTime(spec.to, nowMs);
  if (!(start < end)) throw new RangeError('the start of the time range must be before its end');
  return { start, end };
}

/** True when the range moves with the clock (its end is `now`). */
export function isRelative(spec: RangeSpec): boolean {
  return spec.to.trim() === 'now' && spec.from.trim().startsWith('now');
}

export const PRESETS: readonly { readonly label: string; readonly from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 30 minutes', from: 'now-30m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 3 hours', from: 'now-3h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 12 hours', from: 'now-12h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 2 days', from: 'now-2d' },
  { label: 'Last 7 days', from: 'now-7d' },
  { label: 'Last 30 days', from: 'now-30d' },
];

export const REFRESH_INTERVALS = ['off', '5s', '10s', '30s', '1m', '5m', '15m'] as const;

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-11-27 14:05:09` in local time, the format the absolute-range inputs use. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A short human label for the range: the preset name, or both ends. */
export function describeRange(spec: RangeSpec, nowMs: number): string {
  if (spec.to === 'now') {
    const preset = PRESETS.find((p) => p.from === spec.from);
    if (preset) return preset.label;
    const d = /^now-(.+)$/.exec(spec.from);
    if (d) return `Last ${d[1]}`;
  }
  try {
    const r = resolveRange(spec, nowMs);
    return `${formatDateTime(r.start)} to ${formatDateTime(r.end)}`;
  } catch {
    return `${spec.from} to ${spec.to}`;
  }
}

const NICE_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/**
 * A query step (seconds) giving about `points` points over the range, rounded up to a value people expect
 * (15s, 1m, 5m...) and never below `minStepS`, so refreshing keeps the same grid.
 */
export function stepFor(range: ResolvedRange, points: number, minStepS = 1): number {
  const raw = Math.max(minStepS, (range.end - range.start) / 1000 / Math.max(1, points));
  for (const s of NICE_STEPS_S) if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

/** Start/end (seconds) aligned to the step, as Grafana aligns them, so results are stable between refreshes. */
export function alignToStep(range: ResolvedRange, stepS: number): { start: number; end: number } {
  const end = Math.floor(range.end / 1000 / stepS) * stepS;
  const start = Math.max(0, Math.floor(range.start / 1000 / stepS) * stepS);
  return { start, end: Math.max(end, start) };
}
