import { describe, expect, it } from 'vitest';
import { linkUrl, signLink, verifyLink } from './links.ts';

const secret = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 8);
const exp = 2_000_000;
const sig = signLink(secret, 'INC1', 'ack', exp);

describe('signed links', () => {
  it.each([
    ['a valid link', secret, 'INC1', 'ack', String(exp), sig, 1_000_000, { ok: true }],
    [
      'another incident',
      secret,
      'INC2',
      'ack',
      String(exp),
      sig,
      1_000_000,
      { ok: false, reason: expect.stringMatching(/not valid/) },
    ],
    [
      'another action',
      secret,
      'INC1',
      'resolve',
      String(exp),
      sig,
      1_000_000,
      { ok: false, reason: expect.stringMatching(/not valid/) },
    ],
    [
      'a moved expiry',
      secret,
      'INC1',
      'ack',
      String(exp + 1),
      sig,
      1_000_000,
      { ok: false, reason: expect.stringMatching(/not valid/) },
    ],
    [
      'another secret',
      other,
      'INC1',
      'ack',
      String(exp),
      sig,
      1_000_000,
      { ok: false, reason: expect.stringMatching(/not valid/) },
    ],
    [
      'an expired link',
      secret,
      'INC1',
      'ack',
      String(exp),
      sig,
      exp,
      { ok: false, reason: expect.stringMatching(/expired at/) },
    ],
    [
      'no expiry',
      secret,
      'INC1',
      'ack',
      undefined,
      sig,
      0,
      { ok: false, reason: expect.stringMatching(/no valid expiry/) },
    ],
    [
      'no signature',
      secret,
      'INC1',
      'ack',
      String(exp),
      undefined,
      0,
      { ok: false, reason: expect.stringMatching(/no signature/) },
    ],
    [
      'a truncated signature',
      secret,
      'INC1',
      'ack',
      String(exp),
      sig.slice(1),
      0,
      { ok: false, reason: expect.stringMatching(/not valid/) },
    ],
  ] as const)('%s', (_n, key, id, action, e, s, now, want) => {
    expect(verifyLink(key, id, action, e, s, now)).toEqual(want);
  });

  it('builds a URL under the external URL', () => {
    expect(linkUrl('http://vigil:9400/', secret, 'INC1', 'ack', exp)).toBe(
      `http://vigil:9400/api/vigil/v1/incidents/INC1/ack?exp=${exp}&sig=${sig}`,
    );
  });
});
