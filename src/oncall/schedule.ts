/**
 * On-call schedules: the public contract (types and functions) other modules import.
 * Pure logic, no I/O. Precedence, lowest to highest: layers in list order, then overrides (later wins).
 * All instants are UTC epoch ms and every interval is half-open [start, end).
 */
import { renderCalendar } from './ical.ts';
import { parseScheduleInput } from './parse.ts';
import { compile, resolvePieces, type Piece } from './resolve.ts';
import { DAY, HOUR } from './zone.ts';

export { ScheduleError } from './resolve.ts';

/** Day-of-week names used by restrictions. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** A weekly time-of-day window, wall-clock in the schedule's zone; `from` < `to`, `to` may be '24:00'. */
export interface Restriction {
  days: Weekday[];
  from: string;
  to: string;
}

/** A rotation layer. Times are wall-clock in the schedule's time zone. */
export interface LayerSpec {
  name: string;
  /** Users in rotation order (user ids / names, opaque strings). */
  users: string[];
  /**
   * 'daily' = 1 calendar day per turn, 'weekly' = 7 calendar days (hand-off at the same wall-clock time, so a
   * turn spanning a DST change is 23 h / 25 h long); 'custom' = `turnHours` real elapsed hours per turn.
   */
  rotation: 'daily' | 'weekly' | 'custom';
  turnHours?: number;
  /** Wall-clock start of the first turn, 'YYYY-MM-DDTHH:MM' in the schedule's zone; also fixes the hand-off time of day. */
  start: string;
  /** Optional end (same format); no one on call from this layer after it. */
  end?: string;
  /** Optional restriction: on-call only inside these weekly windows, e.g. { days: ['mon',...], from: '09:00', to: '17:00' }. */
  restrictions?: Restriction[];
}
/** A manual override: `user` is on call for [start, end), wall-clock in the schedule's zone, above every layer. */
export interface OverrideSpec {
  user: string;
  start: string;
  end: string;
}
/** A schedule: layers later in the list take precedence; overrides take precedence over all layers. */
export interface ScheduleSpec {
  name: string;
  timeZone: string;
  layers: LayerSpec[];
  overrides?: OverrideSpec[];
}

export type ParseResult = { ok: true; schedule: ScheduleSpec } | { ok: false; errors: string[] };

/** A final (resolved) shift; `start`/`end` are UTC epoch ms, [start, end). */
export interface Shift {
  user: string;
  start: number;
  end: number;
  layer?: string;
  override?: boolean;
}

/** Validates unknown JSON/YAML-decoded input; every error names the field path (e.g. `layers[1].start`). */
export function parseSchedule(input: unknown): ParseResult {
  return parseScheduleInput(input);
}

/** Who is on call at `atMs` (UTC epoch ms): override user if one covers it, else the highest layer (last in `layers`) that has someone; [] when nobody. */
export function onCallAt(
  s: ScheduleSpec,
  atMs: number,
): { users: string[]; layer?: string; override?: boolean } {
  const p = resolvePieces(s, atMs, atMs + 1)[0];
  if (!p || p.user === undefined) return { users: [] };
  if (p.override !== undefined) return { users: [p.user], override: true };
  return { users: [p.user], layer: s.layers[p.layer!]!.name };
}

/** Pieces to shifts: drop nobody-pieces, merge neighbours with the same user and source. */
function mergeShifts(s: ScheduleSpec, pieces: Piece[]): Shift[] {
  const out: Shift[] = [];
  for (const p of pieces) {
    if (p.user === undefined) continue;
    const layer = p.layer === undefined ? undefined : s.layers[p.layer]!.name;
    const override = p.override !== undefined;
    const last = out[out.length - 1];
    if (
      last &&
      last.end === p.start &&
      last.user === p.user &&
      last.layer === layer &&
      !!last.override === override
    ) {
      last.end = p.end;
      continue;
    }
    const sh: Shift = { user: p.user, start: p.start, end: p.end };
    if (layer !== undefined) sh.layer = layer;
    if (override) sh.override = true;
    out.push(sh);
  }
  return out;
}

/**
 * Resolved shifts (final, after layering and overrides) overlapping [fromMs, toMs), in time order, adjacent
 * equal shifts (same user and same layer, or both overrides) merged. Shifts are clipped to [fromMs, toMs).
 */
export function shifts(s: ScheduleSpec, fromMs: number, toMs: number): Shift[] {
  return mergeShifts(s, resolvePieces(s, fromMs, toMs));
}

/**
 * Gaps (nobody on call) and overlaps (two layers' shifts covering the same time — reported, the higher layer wins) in [fromMs, toMs).
 * Overlapping overrides are reported too, named `overrides[i]` in `layers` (the later override wins).
 * Time covered by an override is never a gap. Adjacent intervals with the same layers are merged.
 */
export function coverage(
  s: ScheduleSpec,
  fromMs: number,
  toMs: number,
): { gaps: { start: number; end: number }[]; overlaps: { start: number; end: number; layers: string[] }[] } {
  const gaps: { start: number; end: number }[] = [];
  const overlaps: { start: number; end: number; layers: string[] }[] = [];
  for (const p of resolvePieces(s, fromMs, toMs)) {
    if (p.user === undefined) {
      const last = gaps[gaps.length - 1];
      if (last && last.end === p.start) last.end = p.end;
      else gaps.push({ start: p.start, end: p.end });
    }
    const names = [
      ...(p.layersCovering.length > 1 ? p.layersCovering.map((i) => s.layers[i]!.name) : []),
      ...(p.overridesCovering.length > 1 ? p.overridesCovering.map((i) => `overrides[${i}]`) : []),
    ];
    if (names.length === 0) continue;
    const last = overlaps[overlaps.length - 1];
    if (last && last.end === p.start && last.layers.join('\u0000') === names.join('\u0000')) last.end = p.end;
    else overlaps.push({ start: p.start, end: p.end, layers: names });
  }
  return { gaps, overlaps };
}

/**
 * iCalendar (RFC 5545) text of the final shifts in [fromMs, toMs): one VEVENT per shift, UTC times, stable UIDs, CRLF lines, folded at 75 octets.
 * Unlike `shifts`, events keep their true start and end when they stick out of the range (looked up to a
 * little over one turn beyond each edge), so a calendar shows whole shifts and UIDs do not depend on the range.
 * `nowMs` sets DTSTAMP (defaults to the current time).
 */
export function toICalendar(
  s: ScheduleSpec,
  fromMs: number,
  toMs: number,
  opts?: { prodId?: string; nowMs?: number },
): string {
  const c = compile(s);
  const longestTurn = Math.max(7 * DAY, ...c.layers.map((l) => (l.stepDays === 0 ? l.turnMs : 0)));
  const pad = Math.min(longestTurn + HOUR * 2, 60 * DAY);
  // An empty range still goes through resolvePieces so non-finite bounds are rejected the same way.
  const all = mergeShifts(
    s,
    fromMs < toMs ? resolvePieces(s, fromMs - pad, toMs + pad) : resolvePieces(s, fromMs, toMs),
  );
  return renderCalendar(
    s.name,
    all.filter((sh) => sh.end > fromMs && sh.start < toMs),
    opts,
  );
}
