import { describe, expect, it } from 'vitest';
import { escapeText, foldLine } from './ical.ts';
import { shifts, toICalendar, type ScheduleSpec } from './schedule.ts';

const at = (iso: string) => Date.parse(iso);
const s: ScheduleSpec = {
  name: 'Platform, EU; night',
  timeZone: 'Europe/Berlin',
  layers: [
    { name: 'primary', users: ['alice', 'bob', 'carol'], rotation: 'daily', start: '2026-03-27T09:00' },
  ],
  overrides: [{ user: 'dave', start: '2026-03-28T12:00', end: '2026-03-28T15:00' }],
};
const octets = (l: string) => new TextEncoder().encode(l).length;
/** Unfolds (RFC 5545 §3.1) and returns the VEVENT property maps. */
function events(text: string): Record<string, string>[] {
  const lines = text.replace(/\r\n /g, '').split('\r\n');
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> | undefined;
  for (const l of lines) {
    if (l === 'BEGIN:VEVENT') cur = {};
    else if (l === 'END:VEVENT') {
      out.push(cur!);
      cur = undefined;
    } else if (cur) cur[l.slice(0, l.indexOf(':'))] = l.slice(l.indexOf(':') + 1);
  }
  return out;
}

describe('toICalendar', () => {
  const text = toICalendar(s, at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z'), {
    nowMs: at('2026-03-01T00:00:00Z'),
  });

  it('is a calendar with CRLF lines', () => {
    expect(text.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:')).toBe(true);
    expect(text.endsWith('END:VCALENDAR\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('has one event per final shift with UTC times, whole shifts at the range edges', () => {
    const ev = events(text);
    expect(ev.map((e) => `${e.DTSTART} ${e.DTEND} ${e.SUMMARY}`)).toEqual([
      '20260327T080000Z 20260328T080000Z On call: alice',
      '20260328T080000Z 20260328T110000Z On call: bob',
      '20260328T110000Z 20260328T140000Z On call: dave',
      '20260328T140000Z 20260329T070000Z On call: bob',
      '20260329T070000Z 20260330T070000Z On call: carol',
    ]);
    expect(ev[0]!.DTSTAMP).toBe('20260301T000000Z');
    expect(ev[2]!.DESCRIPTION).toBe('Schedule Platform\\, EU\\; night\\, override');
    // Same shifts as `shifts` inside the range (which clips at the edges).
    expect(shifts(s, at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z')).length).toBe(ev.length);
  });

  it('UIDs are unique and stable across different export ranges', () => {
    const a = events(text);
    const b = events(toICalendar(s, at('2026-03-29T12:00:00Z'), at('2026-04-02T00:00:00Z')));
    expect(new Set(a.map((e) => e.UID)).size).toBe(a.length);
    const carolA = a.find((e) => e.DTSTART === '20260329T070000Z')!.UID;
    const carolB = b.find((e) => e.DTSTART === '20260329T070000Z')!.UID;
    expect(carolB).toBe(carolA);
  });

  it('uses a custom PRODID', () => {
    expect(toICalendar(s, 0, 1, { prodId: '-//Acme//X//EN' })).toContain('\r\nPRODID:-//Acme//X//EN\r\n');
  });

  it('folds long lines at 75 octets without splitting UTF-8 characters', () => {
    const long: ScheduleSpec = {
      ...s,
      name: 'Überwachung für Zahlungsströme – Bereitschaft ' + 'é'.repeat(60),
      overrides: [],
    };
    const t = toICalendar(long, at('2026-03-28T00:00:00Z'), at('2026-03-29T00:00:00Z'), { nowMs: 0 });
    const physical = t.split('\r\n');
    expect(Math.max(...physical.map(octets))).toBeLessThanOrEqual(75);
    expect(physical.some((l) => l.startsWith(' '))).toBe(true);
    expect(t).not.toContain('\uFFFD');
    expect(events(t)[0]!.DESCRIPTION).toBe(`Schedule ${escapeText(long.name)}\\, layer primary`);
  });
});

describe('foldLine and escapeText', () => {
  const cases: [string, string, number][] = [
    ['short stays', 'SUMMARY:x', 1],
    ['exactly 75 octets stays', 'X:' + 'a'.repeat(73), 1],
    ['76 octets folds once', 'X:' + 'a'.repeat(74), 2],
    ['multibyte near the edge', 'X:' + 'a'.repeat(72) + '€€', 2],
  ];
  it.each(cases)('%s', (_n, line, parts) => {
    const f = foldLine(line).split('\r\n');
    expect(f.length).toBe(parts);
    for (const p of f) expect(octets(p)).toBeLessThanOrEqual(75);
    expect(f.map((p, i) => (i === 0 ? p : p.slice(1))).join('')).toBe(line);
  });
  it('escapes TEXT specials', () => {
    expect(escapeText('a\\b;c,d\ne')).toBe('a\\\\b\\;c\\,d\\ne');
  });
});
