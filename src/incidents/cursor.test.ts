import { describe, expect, it } from 'vitest';
import { cursorKey, decodeCursor, encodeCursor, filterFingerprint } from './cursor.ts';

const key = cursorKey(Buffer.alloc(32, 7));
const fp = filterFingerprint([
  ['status', 'resolved'],
  ['service', 'checkout'],
]);
const last = { createdAt: 1_700_000_000_123, id: 'ABCD2345' };

describe('incident list cursors', () => {
  it('round-trips the key for the same filters', () => {
    const c = encodeCursor(key, last, fp);
    expect(c).toMatch(/^[\w-]+\.[\w-]{22}$/);
    expect(decodeCursor(key, c, fp)).toEqual({ ok: true, key: last });
  });

  it('tells filters apart, including absent from empty and moved values', () => {
    const prints = [
      filterFingerprint([['service', undefined]]),
      filterFingerprint([['service', '']]),
      filterFingerprint([
        ['service', 'a'],
        ['q', undefined],
      ]),
      filterFingerprint([
        ['service', undefined],
        ['q', 'a'],
      ]),
    ];
    expect(new Set(prints).size).toBe(prints.length);
  });

  const good = encodeCursor(key, last, fp);
  const [payload, mac] = good.split('.') as [string, string];
  const forgedPayload = Buffer.from(JSON.stringify([1, 0, 'ZZZZ', fp])).toString('base64url');
  it.each([
    ['empty', ''],
    ['no MAC', payload],
    ['a flipped MAC character', `${payload}.${mac.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`],
    ['an edited payload with the old MAC', `${forgedPayload}.${mac}`],
    ['another key', encodeCursor(cursorKey(Buffer.alloc(32, 8)), last, fp)],
    ['characters outside base64url', `${payload}!.${mac}`],
  ])('refuses %s', (_what, cursor) => {
    const r = decodeCursor(key, cursor, fp);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/not a cursor issued by this Vigil/);
  });

  it('refuses a genuine cursor under other filters', () => {
    const r = decodeCursor(key, good, filterFingerprint([['status', 'triggered']]));
    expect(!r.ok && r.reason).toMatch(/issued for other filters/);
  });
});
