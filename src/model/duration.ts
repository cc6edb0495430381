/** Prometheus duration strings (`1h30m`, `15s`, `500ms`, `2d`, `1w`, `1y`) to milliseconds and back. */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
const PART_RE = /(\d+)(ms|s|m|h|d|w|y)/y;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** Parses a Prometheus duration; units must appear largest first, each at most once. Throws DurationError. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new DurationError('empty duration string');
  PART_RE.lastIndex = 0;
  let total = 0;
  let lastUnit = -1;
  while (PART_RE.lastIndex < s.length) {
    const start = PART_RE.lastIndex;
    const m = PART_RE.exec(s);
    if (!m || m.index !== start)
      throw new DurationError(
        `not a valid duration string: ${JSON.stringify(s)} (expected for example 30s, 5m, 1h30m)`,
      );
    const idx = ORDER.indexOf(m[2]!);
    if (idx <= lastUnit)
      throw new DurationError(`not a valid duration string: ${JSON.stringify(s)} (units out of order)`);
    lastUnit = idx;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (!Number.isSafeInteger(total)) throw new DurationError(`duration out of range: ${JSON.stringify(s)}`);
  return total;
}

/** Formats milliseconds the way Prometheus prints durations (`1h30m`, `15s`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  for (const u of ORDER) {
    const size = UNIT_MS[u]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${u}`;
      rest %= size;
    }
  }
  return out;
}
