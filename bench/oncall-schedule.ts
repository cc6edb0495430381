/**
 * On-call schedule resolution speed (src/oncall/).
 *
 *   npx tsx bench/oncall-schedule.ts [--zone Europe/Berlin] [--years 10]
 *
 * A five-layer schedule (daily, weekly, custom 12 h, business-hours daily, weekend daily) with monthly
 * overrides. For each of --years consecutive years it times `shifts`, `coverage` and `toICalendar` over the
 * whole year, first with cold caches (that year never computed before) and then again warm, and prints
 * medians of wall time and the total CPU time per year (CPU time is steadier on a shared, loaded machine);
 * then `onCallAt` calls per second at random instants. Prints figures, asserts nothing.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { coverage, onCallAt, shifts, toICalendar, type ScheduleSpec } from '../src/oncall/schedule.ts';

const { values } = parseArgs({
  options: { zone: { type: 'string', default: 'Europe/Berlin' }, years: { type: 'string', default: '10' } },
});
const zone = values.zone;
const years = Number(values.years);
const firstYear = 2027;

const overrides = [];
for (let y = firstYear; y < firstYear + years; y++)
  for (let m = 1; m <= 12; m++) {
    const mm = String(m).padStart(2, '0');
    overrides.push({ user: 'stand-in', start: `${y}-${mm}-10T12:00`, end: `${y}-${mm}-11T08:00` });
  }
const spec: ScheduleSpec = {
  name: 'bench',
  timeZone: zone,
  layers: [
    { name: 'daily', users: ['a', 'b', 'c', 'd'], rotation: 'daily', start: '2026-01-01T09:00' },
    { name: 'weekly', users: ['e', 'f'], rotation: 'weekly', start: '2026-01-05T10:00' },
    { name: 'custom', users: ['g', 'h', 'i'], rotation: 'custom', turnHours: 12, start: '2026-01-01T08:00' },
    {
      name: 'business',
      users: ['j', 'k'],
      rotation: 'daily',
      start: '2026-01-01T09:00',
      restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
    },
    {
      name: 'weekend',
      users: ['l', 'm'],
      rotation: 'daily',
      start: '2026-01-01T18:00',
      restrictions: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }],
    },
  ],
  overrides,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const yearRange = (y: number): [number, number] => [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];

function timeYears(label: string, fn: (from: number, to: number) => unknown): void {
  const cold: number[] = [];
  const warm: number[] = [];
  const cpu: number[] = [];
  let size = 0;
  for (const pass of [cold, warm]) {
    const c0 = process.cpuUsage();
    for (let y = firstYear; y < firstYear + years; y++) {
      const [from, to] = yearRange(y);
      const t0 = performance.now();
      const r = fn(from, to);
      pass.push(performance.now() - t0);
      size = Array.isArray(r) ? r.length : typeof r === 'string' ? r.length : size;
    }
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / years);
  }
  console.log(
    `${label.padEnd(26)} wall median cold ${median(cold).toFixed(1)} / warm ${median(warm).toFixed(1)} ms; ` +
      `CPU per year cold ${cpu[0]!.toFixed(1)} / warm ${cpu[1]!.toFixed(1)} ms (output ${size})`,
  );
}

console.log(
  `zone ${zone}, 5 layers, ${overrides.length} overrides, ${years} one-year windows from ${firstYear}`,
);
// A fresh spec object per figure so the compiled-spec cache does not carry over between functions.
timeYears('shifts(year)', (a, b) => shifts({ ...spec }, a, b));
timeYears('coverage(year).overlaps', (a, b) => coverage({ ...spec }, a, b).overlaps);
timeYears('toICalendar(year) chars', (a, b) => toICalendar({ ...spec }, a, b, { nowMs: 0 }));

let seed = 42;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const n = 20_000;
const [from, to] = [Date.UTC(firstYear, 0, 1), Date.UTC(firstYear + years, 0, 1)];
const instants = Array.from({ length: n }, () => from + Math.floor(rand() * (to - from)));
const c0 = process.cpuUsage();
for (const t of instants) onCallAt(spec, t);
const c1 = process.cpuUsage(c0);
const ms = (c1.user + c1.system) / 1000;
console.log(
  `onCallAt at ${n} random instants: ${((ms / n) * 1000).toFixed(1)} µs CPU/call (${Math.round(n / (ms / 1000))} calls/s)`,
);
