/**
 * Alertmanager time intervals (`time_intervals` / `mute_time_intervals`): times of day, weekdays, days of
 * the month (negative counts from the month's end), months and years, evaluated in a time zone.
 * Parsing does no I/O; time zones come from the runtime's IANA database (Intl).
 */

export interface TimeRange {
  /** Minutes since midnight, inclusive. */
  readonly start: number;
  /** Minutes since midnight, exclusive (up to 1440). */
  readonly end: number;
}

export interface IntRange {
  readonly begin: number;
  readonly end: number;
}

/** One entry of a time interval's list; absent fields match everything. */
export interface TimeInterval {
  readonly times?: readonly TimeRange[];
  readonly weekdays?: readonly IntRange[];
  readonly daysOfMonth?: readonly IntRange[];
  readonly months?: readonly IntRange[];
  readonly years?: readonly IntRange[];
  /** IANA zone name; absent means UTC. */
  readonly location?: string;
}

export class TimeIntervalError extends Error {
  override name = 'TimeIntervalError';
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

function parseTimeOfDay(s: unknown, what: string): number {
  if (typeof s !== 'string') throw new TimeIntervalError(`${what}: expected a time such as "09:30"`);
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new TimeIntervalError(`${what}: couldn't parse timestamp ${s}, invalid format`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min !== 0))
    throw new TimeIntervalError(`${what}: couldn't parse timestamp ${s}, invalid hour or minute`);
  return h * 60 + min;
}

export function parseTimes(v: unknown): TimeRange[] {
  if (!Array.isArray(v)) throw new TimeIntervalError('times: expected a list of {start_time, end_time}');
  return v.map((t: unknown, i) => {
    if (!t || typeof t !== 'object')
      throw new TimeIntervalError(`times[${i}]: expected start_time and end_time`);
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'start_time' && k !== 'end_time')
        throw new TimeIntervalError(`times[${i}]: field ${k} not found in type config.TimeRange`);
    if (o.start_time === undefined || o.end_time === undefined)
      throw new TimeIntervalError(`times[${i}]: both start and end times must be provided`);
    const start = parseTimeOfDay(o.start_time, `times[${i}].start_time`);
    const end = parseTimeOfDay(o.end_time, `times[${i}].end_time`);
    if (start >= end)
      throw new TimeIntervalError(`times[${i}]: start time cannot be equal or greater than end time`);
    return { start, end };
  });
}

function parseRanges(
  v: unknown,
  what: string,
  parseOne: (s: string) => number,
  check: (r: IntRange) => void,
): IntRange[] {
  if (!Array.isArray(v)) throw new TimeIntervalError(`${what}: expected a list of strings`);
  return v.map((item: unknown) => {
    const s = String(item).trim().toLowerCase();
    const m = /^(-?[a-z0-9]+)(?::(-?[a-z0-9]+))?$/.exec(s);
    if (!m) throw new TimeIntervalError(`${what}: invalid range ${JSON.stringify(item)}`);
    const begin = parseOne(m[1]!);
    const end = m[2] === undefined ? begin : parseOne(m[2]);
    const r = { begin, end };
    check(r);
    return r;
  });
}

function named(names: readonly string[], what: string, base: number) {
  return (s: string): number => {
    const i = names.indexOf(s);
    if (i >= 0) return i + base;
    if (base === 1 && /^\d+$/.test(s)) return Number(s);
    throw new TimeIntervalError(`${what}: ${s} is not a valid ${what === 'weekdays' ? 'weekday' : 'month'}`);
  };
}

function int(what: string) {
  return (s: string): number => {
    if (!/^-?\d+$/.test(s)) throw new TimeIntervalError(`${what}: ${s} is not a number`);
    return Number(s);
  };
}

export function parseWeekdays(v: unknown): IntRange[] {
  return parseRanges(v, 'weekdays', named(WEEKDAYS, 'weekdays', 0), (r) => {
    if (r.begin > r.end) throw new TimeIntervalError('weekdays: start day cannot be before end day');
  });
}

export function parseDaysOfMonth(v: unknown): IntRange[] {
  return parseRanges(v, 'days_of_month', int('days_of_month'), (r) => {
    for (const d of [r.begin, r.end])
      if (d === 0 || d < -31 || d > 31)
        throw new TimeIntervalError(`days_of_month: ${d} is not a valid day of the month: out of range`);
    if (Math.sign(r.begin) === Math.sign(r.end) && r.begin > r.end)
      throw new TimeIntervalError('days_of_month: end day must be greater than start day');
    if (r.begin > 0 && r.end < 0 && r.begin > 31 + r.end + 1)
      throw new TimeIntervalError('days_of_month: end day must be greater than start day');
    if (r.begin < 0 && r.end > 0)
      throw new TimeIntervalError('days_of_month: end day must be greater than start day');
  });
}

export function parseMonths(v: unknown): IntRange[] {
  return parseRanges(v, 'months', named(MONTHS, 'months', 1), (r) => {
    for (const d of [r.begin, r.end])
      if (d < 1 || d > 12) throw new TimeIntervalError(`months: ${d} is not a valid month`);
    if (r.begin > r.end) throw new TimeIntervalError('months: end month must be greater than start month');
  });
}

export function parseYears(v: unknown): IntRange[] {
  return parseRanges(v, 'years', int('years'), (r) => {
    if (r.begin > r.end) throw new TimeIntervalError('years: end year must be greater than start year');
  });
}

export function checkLocation(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new TimeIntervalError('location: expected a time zone name');
  if (v === 'Local') return v;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
  } catch {
    throw new TimeIntervalError(
      `location: unknown time zone ${JSON.stringify(v)} (use an IANA name such as Europe/Berlin)`,
    );
  }
  return v;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(t: number, zone: string | undefined): Parts {
  if (zone === undefined || zone === 'UTC') {
    const d = new Date(t);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      weekday: d.getUTCDay(),
      minutes: d.getUTCHours() * 60 + d.getUTCMinutes(),
    };
  }
  const key = zone;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone === 'Local' ? undefined : zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'long',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(key, f);
  }
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(new Date(t))) p[x.type] = x.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    weekday: WEEKDAYS.indexOf(p.weekday!.toLowerCase()),
    minutes: Number(p.hour) * 60 + Number(p.minute),
  };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** True when `t` (epoch ms) falls inside the interval. */
export function intervalContains(ti: TimeInterval, t: number): boolean {
  const p = partsIn(t, ti.location);
  if (ti.times && !ti.times.some((r) => p.minutes >= r.start && p.minutes < r.end)) return false;
  if (ti.daysOfMonth) {
    const n = daysInMonth(p.year, p.month);
    const ok = ti.daysOfMonth.some((r) => {
      let b = r.begin < 0 ? n + r.begin + 1 : r.begin;
      let e = r.end < 0 ? n + r.end + 1 : r.end;
      b = Math.max(b, 1);
      e = Math.min(e, n);
      return p.day >= b && p.day <= e;
    });
    if (!ok) return false;
  }
  if (ti.months && !ti.months.some((r) => p.month >= r.begin && p.month <= r.end)) return false;
  if (ti.weekdays && !ti.weekdays.some((r) => p.weekday >= r.begin && p.weekday <= r.end)) return false;
  if (ti.years && !ti.years.some((r) => p.year >= r.begin && p.year <= r.end)) return false;
  return true;
}

/** True when `t` falls inside any of the intervals. */
export function anyContains(tis: readonly TimeInterval[], t: number): boolean {
  return tis.some((ti) => intervalContains(ti, t));
}
