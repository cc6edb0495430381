/**
 * What every prober returns, and helpers they share. A prober never throws for a failing target: an
 * unreachable, slow or wrong target is a result with `success: false` and a reason a person can act on.
 */
import { readFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';

/** One gauge a probe produced, named as the blackbox exporter names it; `labels` are extra labels. */
export interface ProbeGauge {
  readonly name: string;
  readonly value: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly help: string;
}

export interface ProbeResult {
  readonly success: boolean;
  /** Empty on success; otherwise why the probe failed (ECONNREFUSED, timeout, TLS error, status, body). */
  readonly reason: string;
  readonly durationMs: number;
  /** Kind-specific gauges (not probe_success / probe_duration_seconds, which the scheduler writes). */
  readonly gauges: readonly ProbeGauge[];
}

/** Probe failure with its reason; probers throw it internally and turn it into a failed result. */
export class ProbeFailure extends Error {
  override name = 'ProbeFailure';
}

/** A short reason for an error from a socket, TLS or DNS call: the code first, as operators search for it. */
export function reasonOf(err: unknown): string {
  if (err instanceof ProbeFailure) return err.message;
  const e = err as NodeJS.ErrnoException & { reason?: string };
  if (e && typeof e === 'object') {
    const msg = typeof e.message === 'string' ? e.message : String(e);
    if (e.code && !msg.includes(e.code)) return `${e.code}: ${msg}`;
    return msg;
  }
  return String(err);
}

/** Reads a CA file for a probe; a missing or unreadable file fails the probe with the path in the reason. */
export async function readCa(path: string | undefined): Promise<Buffer | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw new ProbeFailure(`cannot read ca_file ${path}: ${(err as Error).message}`);
  }
}

/**
 * The earliest `valid_to` among the certificates the peer sent (leaf and chain), in Unix seconds, or undefined
 * when there is no certificate.
 */
export function earliestExpiry(cert: PeerCertificate | undefined): number | undefined {
  let earliest: number | undefined;
  const seen = new Set<string>();
  let cur = cert as (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined;
  while (cur && cur.valid_to && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    const t = Date.parse(cur.valid_to) / 1000;
    if (Number.isFinite(t) && (earliest === undefined || t < earliest)) earliest = t;
    cur = cur.issuerCertificate as typeof cur;
  }
  return earliest;
}

export const EXPIRY_HELP = 'Returns last SSL chain expiry in unixtime';

/** Elapsed milliseconds since a `performance.now()` reading. */
export function since(start: number): number {
  return performance.now() - start;
}
