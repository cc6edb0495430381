/**
 * RFC 5545 serialisation of resolved shifts: UTC DATE-TIMEs, TEXT escaping, CRLF line ends and
 * folding at 75 octets without splitting a UTF-8 sequence.
 */
import type { Shift } from './schedule.ts';

/** 'YYYYMMDDTHHMMSSZ' (RFC 5545 form #2, UTC). */
export function icalDateTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Escapes a TEXT value (RFC 5545 §3.3.11). */
export function escapeText(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

const encoder = new TextEncoder();

/** Folds one content line so no physical line exceeds 75 octets (continuations start with a space). */
export function foldLine(line: string): string {
  if (encoder.encode(line).length <= 75) return line;
  const parts: string[] = [];
  let cur = '';
  let curBytes = 0;
  let limit = 75;
  for (const ch of line) {
    const n = encoder.encode(ch).length;
    if (curBytes + n > limit) {
      parts.push(cur);
      cur = ' ';
      curBytes = 1;
      limit = 75;
    }
    cur += ch;
    curBytes += n;
  }
  parts.push(cur);
  return parts.join('\r\n');
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable fingerprint for UIDs (not for security). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A VCALENDAR with one VEVENT per shift. The UID depends only on schedule name, user, source (layer or
 * override) and start, so re-exporting the same schedule yields the same UIDs and clients update in place.
 */
export function renderCalendar(
  scheduleName: string,
  list: Shift[],
  opts: { prodId?: string; nowMs?: number } = {},
): string {
  const stamp = icalDateTime(opts.nowMs ?? Date.now());
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    `PRODID:${opts.prodId ?? '-//Vigil//On-call schedule//EN'}`,
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${escapeText(`On call: ${scheduleName}`)}`,
  ];
  for (const sh of list) {
    const source = sh.override ? 'override' : `layer ${sh.layer ?? ''}`;
    const uid = `${fnv1a(scheduleName)}-${icalDateTime(sh.start)}-${fnv1a(`${sh.user}\u0000${source}`)}@vigil-oncall`;
    lines.push(
      'BEGIN:VEVENT',
      `UID:${uid}`,
      `DTSTAMP:${stamp}`,
      `DTSTART:${icalDateTime(sh.start)}`,
      `DTEND:${icalDateTime(sh.end)}`,
      `SUMMARY:${escapeText(`On call: ${sh.user}`)}`,
      `DESCRIPTION:${escapeText(`Schedule ${scheduleName}, ${source}`)}`,
      'TRANSP:TRANSPARENT',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}
