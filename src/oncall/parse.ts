/**
 * Validation of decoded JSON/YAML schedule input. Collects every problem (not just the first), each
 * prefixed with its field path, and returns a clean copy holding only known fields.
 */
import type { LayerSpec, OverrideSpec, ParseResult, Restriction, ScheduleSpec, Weekday } from './schedule.ts';
import { parseTimeOfDay, parseWall, WEEKDAYS } from './resolve.ts';
import { isValidTimeZone, wallAsUtc } from './zone.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Collector {
  errors: string[] = [];
  add(path: string, msg: string): void {
    this.errors.push(`${path}: ${msg}`);
  }
  /** Reports keys outside `known`, since a misspelt optional field would otherwise be silently ignored. */
  unknownKeys(o: Obj, path: string, known: string[]): void {
    for (const k of Object.keys(o))
      if (!known.includes(k))
        this.add(path ? `${path}.${k}` : k, `unknown field (expected one of: ${known.join(', ')})`);
  }
  str(o: Obj, key: string, path: string, required: boolean): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.add(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.add(path, `must be a non-empty string, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }
  wall(o: Obj, key: string, path: string, required: boolean): string | undefined {
    const v = this.str(o, key, path, required);
    if (v !== undefined && !parseWall(v)) {
      this.add(
        path,
        `must be a wall-clock time 'YYYY-MM-DDTHH:MM' (e.g. '2026-03-02T09:00'), got ${JSON.stringify(v)}`,
      );
      return undefined;
    }
    return v;
  }
}

const wallMs = (text: string): number => wallAsUtc(parseWall(text)!);

function parseRestriction(c: Collector, v: unknown, path: string): Restriction | undefined {
  if (!isObj(v)) {
    c.add(path, `must be an object { days, from, to }, got ${JSON.stringify(v)}`);
    return undefined;
  }
  c.unknownKeys(v, path, ['days', 'from', 'to']);
  let days: Weekday[] | undefined;
  if (!Array.isArray(v.days) || v.days.length === 0)
    c.add(`${path}.days`, `must be a non-empty list of ${WEEKDAYS.join('|')}`);
  else {
    days = [];
    v.days.forEach((d, i) => {
      const name = typeof d === 'string' ? d.toLowerCase() : d;
      if (typeof name === 'string' && (WEEKDAYS as readonly string[]).includes(name))
        days!.push(name as Weekday);
      else c.add(`${path}.days[${i}]`, `must be one of ${WEEKDAYS.join('|')}, got ${JSON.stringify(d)}`);
    });
  }
  const from = c.str(v, 'from', `${path}.from`, true);
  const to = c.str(v, 'to', `${path}.to`, true);
  const fromMin = from === undefined ? undefined : parseTimeOfDay(from, false);
  const toMin = to === undefined ? undefined : parseTimeOfDay(to, true);
  if (from !== undefined && fromMin === undefined)
    c.add(`${path}.from`, `must be 'HH:MM' (00:00-23:59), got ${JSON.stringify(from)}`);
  if (to !== undefined && toMin === undefined)
    c.add(`${path}.to`, `must be 'HH:MM' (00:00-24:00), got ${JSON.stringify(to)}`);
  if (fromMin !== undefined && toMin !== undefined && fromMin >= toMin)
    c.add(
      path,
      `from (${from}) must be before to (${to}); split an overnight window into two, e.g. 18:00-24:00 and 00:00-08:00`,
    );
  if (!days || from === undefined || to === undefined) return undefined;
  return { days, from, to };
}

function parseLayer(c: Collector, v: unknown, path: string): LayerSpec | undefined {
  if (!isObj(v)) {
    c.add(path, `must be an object, got ${JSON.stringify(v)}`);
    return undefined;
  }
  const before = c.errors.length;
  c.unknownKeys(v, path, ['name', 'users', 'rotation', 'turnHours', 'start', 'end', 'restrictions']);
  const name = c.str(v, 'name', `${path}.name`, true);
  const users: string[] = [];
  if (!Array.isArray(v.users) || v.users.length === 0)
    c.add(`${path}.users`, 'must be a non-empty list of users');
  else
    v.users.forEach((u, i) => {
      if (typeof u === 'string' && u.trim() !== '') users.push(u);
      else c.add(`${path}.users[${i}]`, `must be a non-empty string, got ${JSON.stringify(u)}`);
    });
  const rotation = v.rotation;
  if (rotation !== 'daily' && rotation !== 'weekly' && rotation !== 'custom')
    c.add(`${path}.rotation`, `must be 'daily', 'weekly' or 'custom', got ${JSON.stringify(rotation)}`);
  const turnHours = v.turnHours;
  if (rotation === 'custom') {
    if (turnHours === undefined)
      c.add(`${path}.turnHours`, "is required for rotation 'custom' (whole hours per turn)");
    else if (typeof turnHours !== 'number' || !Number.isInteger(turnHours) || turnHours < 1)
      c.add(`${path}.turnHours`, `must be a whole number >= 1, got ${JSON.stringify(turnHours)}`);
  } else if (turnHours !== undefined && rotation !== undefined) {
    c.add(
      `${path}.turnHours`,
      `only applies to rotation 'custom' (this layer is ${JSON.stringify(rotation)})`,
    );
  }
  const start = c.wall(v, 'start', `${path}.start`, true);
  const end = c.wall(v, 'end', `${path}.end`, false);
  if (start !== undefined && end !== undefined && wallMs(end) <= wallMs(start))
    c.add(`${path}.end`, `must be after start (${start}), got ${end}`);
  let restrictions: Restriction[] | undefined;
  if (v.restrictions !== undefined) {
    if (!Array.isArray(v.restrictions)) c.add(`${path}.restrictions`, 'must be a list of { days, from, to }');
    else {
      restrictions = [];
      v.restrictions.forEach((r, i) => {
        const parsed = parseRestriction(c, r, `${path}.restrictions[${i}]`);
        if (parsed) restrictions!.push(parsed);
      });
    }
  }
  if (c.errors.length > before) return undefined;
  const layer: LayerSpec = { name: name!, users, rotation: rotation as LayerSpec['rotation'], start: start! };
  if (rotation === 'custom') layer.turnHours = turnHours as number;
  if (end !== undefined) layer.end = end;
  if (restrictions) layer.restrictions = restrictions;
  return layer;
}

function parseOverride(c: Collector, v: unknown, path: string): OverrideSpec | undefined {
  if (!isObj(v)) {
    c.add(path, `must be an object { user, start, end }, got ${JSON.stringify(v)}`);
    return undefined;
  }
  c.unknownKeys(v, path, ['user', 'start', 'end']);
  const user = c.str(v, 'user', `${path}.user`, true);
  const start = c.wall(v, 'start', `${path}.start`, true);
  const end = c.wall(v, 'end', `${path}.end`, true);
  if (start !== undefined && end !== undefined && wallMs(end) <= wallMs(start)) {
    c.add(`${path}.end`, `must be after start (${start}), got ${end}`);
    return undefined;
  }
  if (user === undefined || start === undefined || end === undefined) return undefined;
  return { user, start, end };
}

/** See `parseSchedule` in schedule.ts. */
export function parseScheduleInput(input: unknown): ParseResult {
  const c = new Collector();
  if (!isObj(input)) return { ok: false, errors: [`(root): must be an object with name, timeZone, layers`] };
  c.unknownKeys(input, '', ['name', 'timeZone', 'layers', 'overrides']);
  const name = c.str(input, 'name', 'name', true);
  const timeZone = c.str(input, 'timeZone', 'timeZone', true);
  if (timeZone !== undefined && !isValidTimeZone(timeZone))
    c.add(
      'timeZone',
      `unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as 'Europe/Berlin' or 'UTC'`,
    );
  const layers: LayerSpec[] = [];
  if (!Array.isArray(input.layers) || input.layers.length === 0)
    c.add('layers', 'must be a non-empty list of layers');
  else {
    const seen = new Map<string, number>();
    input.layers.forEach((l, i) => {
      const parsed = parseLayer(c, l, `layers[${i}]`);
      if (!parsed) return;
      const dup = seen.get(parsed.name);
      if (dup !== undefined)
        c.add(`layers[${i}].name`, `duplicates layers[${dup}].name ${JSON.stringify(parsed.name)}`);
      seen.set(parsed.name, i);
      layers.push(parsed);
    });
  }
  let overrides: OverrideSpec[] | undefined;
  if (input.overrides !== undefined && input.overrides !== null) {
    if (!Array.isArray(input.overrides)) c.add('overrides', 'must be a list of { user, start, end }');
    else {
      overrides = [];
      input.overrides.forEach((o, i) => {
        const parsed = parseOverride(c, o, `overrides[${i}]`);
        if (parsed) overrides!.push(parsed);
      });
    }
  }
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  const schedule: ScheduleSpec = { name: name!, timeZone: timeZone!, layers };
  if (overrides) schedule.overrides = overrides;
  return { ok: true, schedule };
}
