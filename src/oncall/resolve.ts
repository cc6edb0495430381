/**
 * Turns a ScheduleSpec into UTC intervals: per-layer turns (rotation, restrictions, end), overrides, and the
 * final sweep that picks, for every elementary interval, the override or the highest layer with someone.
 * Work is proportional to the number of turns and restriction windows in the range, never to its length.
 */
import type { LayerSpec, ScheduleSpec, Weekday } from './schedule.ts';
import { addDays, DAY, HOUR, utcToWall, wallAsUtc, wallToUtc, weekdayIndex, type Wall } from './zone.ts';

/** Thrown when a ScheduleSpec that did not go through parseSchedule holds an unusable value. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const WALL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})$/;

/** Parses 'YYYY-MM-DDTHH:MM' into a Wall, or undefined when malformed or not a calendar date. */
export function parseWall(text: string): Wall | undefined {
  const m = WALL_RE.exec(text);
  if (!m) return undefined;
  const w: Wall = { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]! };
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.hour > 23 || w.minute > 59) return undefined;
  // Reject 2026-02-30 and friends: the date must survive a round trip through Date.UTC.
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day));
  if (d.getUTCFullYear() !== w.year || d.getUTCMonth() !== w.month - 1 || d.getUTCDate() !== w.day)
    return undefined;
  return w;
}

/** Parses 'HH:MM' into minutes since midnight; '24:00' only when `allow24`. */
export function parseTimeOfDay(text: string, allow24: boolean): number | undefined {
  const m = TIME_RE.exec(text);
  if (!m) return undefined;
  const h = +m[1]!;
  const mi = +m[2]!;
  if (h === 24 && mi === 0 && allow24) return 24 * 60;
  if (h > 23 || mi > 59) return undefined;
  return h * 60 + mi;
}

interface CompiledWindow {
  days: boolean[]; // indexed 0 = Monday
  fromMin: number;
  toMin: number;
}

interface CompiledLayer {
  spec: LayerSpec;
  startWall: Wall;
  startUtc: number;
  endUtc: number; // Infinity when open-ended
  stepDays: number; // 1 or 7 for calendar rotations, 0 for custom
  turnMs: number; // custom turn length in real ms
  windows: CompiledWindow[] | undefined;
}

interface CompiledOverride {
  index: number;
  user: string;
  start: number;
  end: number;
}

interface Compiled {
  tz: string;
  layers: CompiledLayer[];
  overrides: CompiledOverride[];
}

const compiledCache = new WeakMap<ScheduleSpec, { key: string; compiled: Compiled }>();

function mustWall(text: string | undefined, path: string): Wall {
  const w = text === undefined ? undefined : parseWall(text);
  if (!w) throw new ScheduleError(`${path}: expected 'YYYY-MM-DDTHH:MM', got ${JSON.stringify(text)}`);
  return w;
}

/**
 * Pre-computes UTC anchors for a spec. Cached per spec object, re-checked against its JSON so that a caller
 * editing the object in place (e.g. pushing an override) never gets stale results.
 */
export function compile(s: ScheduleSpec): Compiled {
  const key = JSON.stringify(s);
  const hit = compiledCache.get(s);
  if (hit && hit.key === key) return hit.compiled;
  const tz = s.timeZone;
  const layers = s.layers.map((spec, i): CompiledLayer => {
    const startWall = mustWall(spec.start, `layers[${i}].start`);
    const endUtc = spec.end === undefined ? Infinity : wallToUtc(tz, mustWall(spec.end, `layers[${i}].end`));
    if (spec.users.length === 0) throw new ScheduleError(`layers[${i}].users: must not be empty`);
    let stepDays = 0;
    let turnMs = 0;
    if (spec.rotation === 'daily') stepDays = 1;
    else if (spec.rotation === 'weekly') stepDays = 7;
    else {
      const h = spec.turnHours;
      if (h === undefined || !Number.isInteger(h) || h < 1)
        throw new ScheduleError(
          `layers[${i}].turnHours: a whole number >= 1 is required for rotation 'custom'`,
        );
      turnMs = h * HOUR;
    }
    const windows = spec.restrictions?.map((r, j) => {
      const fromMin = parseTimeOfDay(r.from, false);
      const toMin = parseTimeOfDay(r.to, true);
      if (fromMin === undefined || toMin === undefined || fromMin >= toMin)
        throw new ScheduleError(`layers[${i}].restrictions[${j}]: invalid from/to`);
      const days = WEEKDAYS.map((d) => r.days.includes(d));
      return { days, fromMin, toMin };
    });
    return { spec, startWall, startUtc: wallToUtc(tz, startWall), endUtc, stepDays, turnMs, windows };
  });
  const overrides = (s.overrides ?? []).map((o, index) => ({
    index,
    user: o.user,
    start: wallToUtc(tz, mustWall(o.start, `overrides[${index}].start`)),
    end: wallToUtc(tz, mustWall(o.end, `overrides[${index}].end`)),
  }));
  const c = { tz, layers, overrides };
  compiledCache.set(s, { key, compiled: c });
  return c;
}

/** One user on call from one layer for [start, end). */
export interface Segment {
  user: string;
  start: number;
  end: number;
}

/** UTC start of turn `k` of a layer (turn 0 starts at the layer start). */
function turnStart(tz: string, l: CompiledLayer, k: number): number {
  if (l.stepDays === 0) return l.startUtc + k * l.turnMs;
  if (k === 0) return l.startUtc;
  return wallToUtc(tz, addDays(l.startWall, k * l.stepDays));
}

/** The layer's turns clipped to [from, to) and to the layer's own start/end, before restrictions. */
function layerTurns(tz: string, l: CompiledLayer, from: number, to: number): Segment[] {
  const lo = Math.max(from, l.startUtc);
  const hi = Math.min(to, l.endUtc);
  const out: Segment[] = [];
  if (lo >= hi) return out;
  const nominal = l.stepDays === 0 ? l.turnMs : l.stepDays * DAY;
  // Calendar turns differ from `nominal` by at most an hour or so, so this estimate is off by at most one.
  let k = Math.max(0, Math.floor((lo - l.startUtc) / nominal) - 1);
  let ts = turnStart(tz, l, k);
  let te = turnStart(tz, l, k + 1);
  while (te <= lo) {
    k++;
    ts = te;
    te = turnStart(tz, l, k + 1);
  }
  const n = l.spec.users.length;
  while (ts < hi) {
    out.push({ user: l.spec.users[k % n]!, start: Math.max(ts, lo), end: Math.min(te, hi) });
    k++;
    ts = te;
    te = turnStart(tz, l, k + 1);
  }
  return out;
}

/** Restriction windows of a layer as sorted, merged UTC intervals covering [from, to). */
function windowIntervals(
  tz: string,
  windows: CompiledWindow[],
  from: number,
  to: number,
): [number, number][] {
  const raw: [number, number][] = [];
  // Walk wall-clock dates from a day before `from` to a day after `to`: windows are per local date.
  const first = utcToWall(tz, from - DAY);
  const lastNaive = wallAsUtc(utcToWall(tz, to + DAY));
  for (let day: Wall = { ...first, hour: 0, minute: 0 }; wallAsUtc(day) <= lastNaive; day = addDays(day, 1)) {
    const wd = weekdayIndex(day);
    for (const w of windows) {
      if (!w.days[wd]) continue;
      const a = wallToUtc(tz, { ...day, hour: Math.floor(w.fromMin / 60), minute: w.fromMin % 60 });
      const b =
        w.toMin === 24 * 60
          ? wallToUtc(tz, addDays(day, 1))
          : wallToUtc(tz, { ...day, hour: Math.floor(w.toMin / 60), minute: w.toMin % 60 });
      const lo = Math.max(a, from);
      const hi = Math.min(b, to);
      if (lo < hi) raw.push([lo, hi]);
    }
  }
  raw.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const iv of raw) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  return merged;
}

/** Who the layer has on call within [from, to): turns intersected with restriction windows, sorted. */
export function layerSegments(c: Compiled, li: number, from: number, to: number): Segment[] {
  const l = c.layers[li]!;
  const turns = layerTurns(c.tz, l, from, to);
  if (!l.windows || turns.length === 0) return turns;
  const wins = windowIntervals(c.tz, l.windows, turns[0]!.start, turns[turns.length - 1]!.end);
  const out: Segment[] = [];
  let j = 0;
  for (const t of turns) {
    while (j < wins.length && wins[j]![1] <= t.start) j++;
    for (let k = j; k < wins.length && wins[k]![0] < t.end; k++) {
      const a = Math.max(t.start, wins[k]![0]);
      const b = Math.min(t.end, wins[k]![1]);
      if (a < b) out.push({ user: t.user, start: a, end: b });
    }
  }
  return out;
}

/** An elementary interval of the sweep: nothing changes inside it. */
export interface Piece {
  start: number;
  end: number;
  /** Final on-call user, undefined when nobody. */
  user?: string;
  /** Index of the winning layer (absent for overrides or nobody). */
  layer?: number;
  /** Index of the winning override, when one covers the piece. */
  override?: number;
  /** Indices of every layer that has someone here (for overlap reports). */
  layersCovering: number[];
  /** Indices of every override covering the piece. */
  overridesCovering: number[];
}

/** Sweeps [from, to) into pieces, resolving overrides > higher layers > lower layers. */
export function resolvePieces(s: ScheduleSpec, from: number, to: number): Piece[] {
  // An infinite end would make open-ended rotations produce turns forever.
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new ScheduleError(`time range must be finite epoch milliseconds, got [${from}, ${to})`);
  if (!(from < to)) return [];
  const c = compile(s);
  const segs = c.layers.map((_, i) => layerSegments(c, i, from, to));
  const ovs = c.overrides.filter((o) => o.start < to && o.end > from && o.start < o.end);
  const cuts = new Set<number>([from, to]);
  for (const list of segs)
    for (const sg of list) {
      cuts.add(sg.start);
      cuts.add(sg.end);
    }
  for (const o of ovs) {
    if (o.start > from) cuts.add(o.start);
    if (o.end < to) cuts.add(o.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const idx = segs.map(() => 0);
  const pieces: Piece[] = [];
  for (let p = 0; p + 1 < points.length; p++) {
    const a = points[p]!;
    const b = points[p + 1]!;
    const layersCovering: number[] = [];
    const who: (string | undefined)[] = [];
    for (let li = 0; li < segs.length; li++) {
      const list = segs[li]!;
      while (idx[li]! < list.length && list[idx[li]!]!.end <= a) idx[li]!++;
      const sg = list[idx[li]!];
      if (sg && sg.start <= a) {
        layersCovering.push(li);
        who[li] = sg.user;
      }
    }
    const overridesCovering = ovs.filter((o) => o.start <= a && o.end > a).map((o) => o.index);
    const piece: Piece = { start: a, end: b, layersCovering, overridesCovering };
    if (overridesCovering.length > 0) {
      // Later overrides win over earlier ones, like later layers over earlier layers.
      const oi = overridesCovering[overridesCovering.length - 1]!;
      piece.override = oi;
      piece.user = c.overrides[oi]!.user;
    } else if (layersCovering.length > 0) {
      const li = layersCovering[layersCovering.length - 1]!;
      piece.layer = li;
      piece.user = who[li];
    }
    pieces.push(piece);
  }
  return pieces;
}
