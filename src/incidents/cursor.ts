/**
 * Opaque cursors for paging the incident list: the key of the last incident of a page (createdAt, id) and a
 * fingerprint of the filters it was issued for, MACed with a key derived from the state store's link secret.
 * A client cannot forge or edit one, nor reuse it with other filters; it carries no expiry because a keyset
 * position stays meaningful for as long as the incidents exist. No I/O here.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncidentKey } from '../state/interface.ts';

const VERSION = 1;
const MAC_BYTES = 16;

export type CursorCheck = { ok: true; key: IncidentKey } | { ok: false; reason: string };

/** The MAC key for cursors, derived from the link secret so the two uses never share one key. */
export function cursorKey(linkSecret: Buffer): Buffer {
  return createHmac('sha256', linkSecret).update('vigil incident list cursor').digest();
}

/**
 * A short fingerprint of the filters, given as name/value pairs (absent ones undefined). Order of the pairs
 * matters; callers pass them in one fixed order.
 */
export function filterFingerprint(filters: readonly (readonly [string, string | undefined])[]): string {
  const h = createHash('sha256');
  for (const [name, value] of filters) h.update(`${name}\u0000${value ?? '\u0001'}\u0000`);
  return h.digest('base64url').slice(0, 12);
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);
}

/** The cursor that continues after `last`, for the filters with this fingerprint. */
export function encodeCursor(key: Buffer, last: IncidentKey, fingerprint: string): string {
  const payload = Buffer.from(JSON.stringify([VERSION, last.createdAt, last.id, fingerprint])).toString(
    'base64url',
  );
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** Checks a cursor's MAC, shape and filters; the reason says what is wrong in words for the client. */
export function decodeCursor(key: Buffer, cursor: string, fingerprint: string): CursorCheck {
  const bad: CursorCheck = {
    ok: false,
    reason: 'not a cursor issued by this Vigil (pass the "next" value of the previous page unchanged)',
  };
  const m = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{22})$/.exec(cursor);
  if (!m) return bad;
  const given = Buffer.from(m[2]!, 'base64url');
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, mac(key, m[1]!))) return bad;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8'));
  } catch {
    return bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== VERSION) return bad;
  const [, createdAt, id, fp] = parsed as [number, unknown, unknown, unknown];
  if (!Number.isSafeInteger(createdAt) || typeof id !== 'string' || typeof fp !== 'string') return bad;
  if (fp !== fingerprint)
    return {
      ok: false,
      reason:
        'it was issued for other filters (status, service, severity, since, until or q); keep the filters of the first page, or start again without a cursor',
    };
  return { ok: true, key: { createdAt: createdAt as number, id } };
}
