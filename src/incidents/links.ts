/**
 * Signed acknowledge/resolve links: HMAC-SHA256 over incident id, action and expiry with a secret kept in the
 * state store (generated on first start, shared by every node of one database). Anyone holding the link may
 * act until it expires, as with PagerDuty's e-mail links; the signature stops forging and tampering. Opening a
 * link (GET) only shows a confirmation page: link scanners and chat unfurlers fetch every URL in a message, so
 * the act is the POST of the same `exp` and `sig` from that page's button (src/api/incidents.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KvRepo } from '../state/interface.ts';

export type LinkAction = 'ack' | 'resolve';

const KV_NAMESPACE = 'incidents';
const KV_KEY = 'link_secret';

/** The stored link secret, or undefined when none was created yet. */
export async function readLinkSecret(kv: KvRepo): Promise<Buffer | undefined> {
  const stored = await kv.get(KV_NAMESPACE, KV_KEY);
  return typeof stored === 'string' && stored.length >= 43 ? Buffer.from(stored, 'base64url') : undefined;
}

/** The link secret, created and stored when absent. Two nodes racing keep whichever was written last (both valid until then). */
export async function linkSecret(kv: KvRepo): Promise<Buffer> {
  const stored = await readLinkSecret(kv);
  if (stored) return stored;
  const secret = randomBytes(32);
  await kv.set(KV_NAMESPACE, KV_KEY, secret.toString('base64url'));
  // Read back so every node settles on the same stored value.
  const now = await kv.get(KV_NAMESPACE, KV_KEY);
  return Buffer.from(String(now), 'base64url');
}

/** The signature of one (incident, action, expiry) triple, base64url. */
export function signLink(secret: Buffer, incidentId: string, action: LinkAction, expMs: number): string {
  return createHmac('sha256', secret).update(`${incidentId}\n${action}\n${expMs}`).digest('base64url');
}

export type LinkCheck = { ok: true } | { ok: false; reason: string };

/** Checks a link's signature and expiry at `now`, in constant time for the signature. */
export function verifyLink(
  secret: Buffer,
  incidentId: string,
  action: LinkAction,
  exp: unknown,
  sig: unknown,
  now: number,
): LinkCheck {
  if (typeof exp !== 'string' || !/^\d{1,16}$/.test(exp))
    return { ok: false, reason: 'the link has no valid expiry (exp)' };
  if (typeof sig !== 'string' || sig === '') return { ok: false, reason: 'the link has no signature (sig)' };
  const expected = Buffer.from(signLink(secret, incidentId, action, Number(exp)));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'the link signature is not valid for this incident and action' };
  if (Number(exp) <= now)
    return { ok: false, reason: `the link expired at ${new Date(Number(exp)).toISOString()}` };
  return { ok: true };
}

/** The full URL of a signed link under `baseUrl` (Vigil's external URL). */
export function linkUrl(
  baseUrl: string,
  secret: Buffer,
  incidentId: string,
  action: LinkAction,
  expMs: number,
): string {
  const sig = signLink(secret, incidentId, action, expMs);
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/api/vigil/v1/incidents/${encodeURIComponent(incidentId)}/${action}?exp=${expMs}&sig=${sig}`;
}
