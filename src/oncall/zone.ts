/**
 * Wall-clock <-> UTC conversion for an IANA time zone using only `Intl.DateTimeFormat`.
 * Wall times are plain fields (no zone); a wall instant is turned into UTC by finding the offset that
 * maps it back onto itself, which handles DST gaps and folds explicitly.
 */

/** A wall-clock time in some zone; `month` is 1-12, `day` 1-31, minutes since midnight may reach 24:00. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** True when `tz` is an IANA zone name this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at `utcMs` in ms (wall = utc + offset), asking Intl directly (whole seconds). */
export function rawOffset(tz: string, utcMs: number): number {
  const secMs = Math.floor(utcMs / 1000) * 1000;
  let y = 0,
    mo = 0,
    d = 0,
    h = 0,
    mi = 0,
    s = 0;
  for (const p of formatter(tz).formatToParts(secMs)) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
    }
  }
  // Date.UTC maps years 0-99 to 19xx, so the year is set separately.
  const wall = new Date(Date.UTC(2000, mo - 1, d, h, mi, s)).setUTCFullYear(y);
  return wall - secMs;
}

/** A zone's offsets for one UTC calendar year: the offset at its start and every change inside it. */
interface YearTable {
  startOffset: number;
  /** Sorted; `at` is the first UTC ms with `offset`. */
  changes: { at: number; offset: number }[];
}

const yearTables = new Map<string, Map<number, YearTable>>();

/**
 * Builds the year's table by sampling the offset once a day and binary-searching each change to the second
 * (about 400 Intl calls per zone-year, then every lookup is a table search). Assumes a zone never changes
 * its offset twice within one day and back, which no zone does.
 */
function yearTable(tz: string, year: number): YearTable {
  let byYear = yearTables.get(tz);
  if (!byYear) {
    byYear = new Map();
    yearTables.set(tz, byYear);
  }
  const hit = byYear.get(year);
  if (hit) return hit;
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const changes: { at: number; offset: number }[] = [];
  const startOffset = rawOffset(tz, from);
  let prevT = from;
  let prevOff = startOffset;
  for (let t = Math.min(from + DAY, to); ; t = Math.min(t + DAY, to)) {
    const off = rawOffset(tz, t);
    if (off !== prevOff) {
      let a = prevT;
      let b = t;
      while (b - a > 1000) {
        const mid = Math.floor((a + b) / 2000) * 1000;
        if (rawOffset(tz, mid) === prevOff) a = mid;
        else b = mid;
      }
      changes.push({ at: b, offset: off });
      prevOff = off;
    }
    prevT = t;
    if (t === to) break;
  }
  // A change exactly at the next year's start belongs to that year's table.
  if (changes.length > 0 && changes[changes.length - 1]!.at >= to) changes.pop();
  const table = { startOffset, changes };
  byYear.set(year, table);
  return table;
}

/** Offset of `tz` from UTC at instant `utcMs`, in ms (wall = utc + offset), at whole-second precision. */
export function offsetAt(tz: string, utcMs: number): number {
  const t = Math.floor(utcMs / 1000) * 1000;
  const table = yearTable(tz, new Date(t).getUTCFullYear());
  let off = table.startOffset;
  for (const c of table.changes) {
    if (c.at > t) break;
    off = c.offset;
  }
  return off;
}

/** The wall clock shown in `tz` at `utcMs`. */
export function utcToWall(tz: string, utcMs: number): Wall {
  const d = new Date(utcMs + offsetAt(tz, utcMs));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
  };
}

/** The wall fields read as if they were UTC; used for calendar arithmetic and as the naive instant. */
export function wallAsUtc(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

/** `w` moved by `days` calendar days, keeping the time of day. */
export function addDays(w: Wall, days: number): Wall {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: w.hour,
    minute: w.minute,
  };
}

/** 0 = Monday ... 6 = Sunday, for the calendar date of `w`. */
export function weekdayIndex(w: Wall): number {
  return (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7;
}

/**
 * The UTC instant of wall time `w` in `tz`.
 * - Ambiguous wall time (autumn fold): the first occurrence (the earlier instant).
 * - Non-existent wall time (spring gap): the next valid instant, i.e. the moment of the transition.
 */
export function wallToUtc(tz: string, w: Wall): number {
  const naive = wallAsUtc(w);
  // Offsets a day either side bracket any single transition near this wall time.
  const before = offsetAt(tz, naive - DAY);
  const after = offsetAt(tz, naive + DAY);
  const candidates: number[] = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = naive - off;
    if (offsetAt(tz, t) === off) candidates.push(t);
  }
  if (candidates.length === 0 && before === after) {
    // Rare: two transitions within two days; fall back to the offset at the naive instant itself.
    const off = offsetAt(tz, naive);
    const t = naive - off;
    if (offsetAt(tz, t) === off) candidates.push(t);
  }
  if (candidates.length > 0) return Math.min(...candidates);
  return transitionBetween(tz, naive - Math.max(before, after), naive - Math.min(before, after));
}

/** First instant in (lo, hi] whose offset differs from the offset at `lo` (binary search to 1 s). */
function transitionBetween(tz: string, lo: number, hi: number): number {
  const offLo = offsetAt(tz, lo);
  let a = Math.floor(lo / 1000) * 1000;
  let b = Math.ceil(hi / 1000) * 1000;
  while (b - a > 1000) {
    const mid = Math.floor((a + b) / 2000) * 1000;
    if (offsetAt(tz, mid) === offLo) a = mid;
    else b = mid;
  }
  return b;
}

export { HOUR, DAY };
