/** Pure helpers of the on-call views: timeline geometry, colours per person, form checks, policy text. */
import type { Policy, Shift, Target } from '../../lib/oncall.ts';

export const DAY_MS = 86_400_000;

/** A thing placed on a timeline: its left edge and width in percent of the window, clipped to it. */
export interface Placed<T> {
  readonly item: T;
  readonly left: number;
  readonly width: number;
}

/** Places [start, end) intervals on the window [from, to): clipped, and dropped when outside it. */
export function place<T extends { start: number; end: number }>(
  items: readonly T[],
  from: number,
  to: number,
): Placed<T>[] {
  const span = to - from;
  if (!(span > 0)) return [];
  const out: Placed<T>[] = [];
  for (const item of items) {
    const s = Math.max(item.start, from);
    const e = Math.min(item.end, to);
    if (!(e > s)) continue;
    out.push({ item, left: ((s - from) / span) * 100, width: ((e - s) / span) * 100 });
  }
  return out;
}

/** The start of the local day holding `ms` (the browser's time zone). */
export function startOfLocalDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Local midnights in [from, to): the day lines of the timeline (a DST day is 23 or 25 hours long). */
export function dayTicks(from: number, to: number): number[] {
  const out: number[] = [];
  const d = new Date(startOfLocalDay(from));
  while (d.getTime() < to) {
    if (d.getTime() >= from) out.push(d.getTime());
    d.setDate(d.getDate() + 1);
  }
  return out;
}

/** The timeline's rows: one per layer that produced final shifts (in schedule order), overrides, and final. */
export function timelineRows(
  layers: readonly string[],
  shifts: readonly Shift[],
): { key: string; label: string; shifts: Shift[] }[] {
  const rows = layers.map((l) => ({
    key: `layer:${l}`,
    label: l,
    shifts: shifts.filter((s) => !s.override && s.layer === l),
  }));
  const overrides = shifts.filter((s) => s.override);
  return [
    ...rows,
    { key: 'overrides', label: 'Overrides', shifts: overrides },
    { key: 'final', label: 'Final', shifts: [...shifts] },
  ];
}

/** A stable colour index (0..n-1) per person: the order they first appear in, so a legend matches. */
export function colourIndex(users: readonly string[], n = 8): Map<string, number> {
  const m = new Map<string, number>();
  for (const u of users) if (!m.has(u)) m.set(u, m.size % n);
  return m;
}

/** `YYYY-MM-DDTHH:MM` of a time in the browser's zone, as `<input type=datetime-local>` takes it. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Problems of an override form that can be named before anything is sent. */
export function overrideProblems(o: { user: string; start: string; end: string }): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;
  if (!o.user) out.user = 'choose who takes the override';
  if (!re.test(o.start)) out.start = 'give a start date and time';
  if (!re.test(o.end)) out.end = 'give an end date and time';
  if (!out.start && !out.end && o.end <= o.start) out.end = 'the end must be after the start';
  return out;
}

/** A target as people read it: `user alice`, `schedule primary`. */
export function describeTarget(t: Target): string {
  return `${t.type} ${t.id}`;
}

/** A delay in milliseconds as minutes people read: `5 min`, `90 s`, `1.5 min`, `2 h`. */
export function formatMinutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const min = ms / 60_000;
  if (min >= 120 && min % 60 === 0) return `${min / 60} h`;
  return `${Number.isInteger(min) ? min : min.toFixed(1)} min`;
}

/** When each step starts, in milliseconds after the incident opened, for the first pass. */
export function stepStarts(p: Pick<Policy, 'steps'>): number[] {
  const out: number[] = [];
  let t = 0;
  for (const s of p.steps) {
    out.push(t);
    t += s.delayMs;
  }
  return out;
}
