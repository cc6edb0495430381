/** TCP prober: connects (optionally with TLS, reporting the certificate chain's earliest expiry), then closes. */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { HealthCheckConfig } from './config.ts';
import {
  EXPIRY_HELP,
  ProbeFailure,
  earliestExpiry,
  readCa,
  reasonOf,
  since,
  type ProbeGauge,
  type ProbeResult,
} from './probe.ts';

/** Splits `host:port` (IPv6 in brackets); the config schema has validated the shape. */
export function splitHostPort(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(target.slice(i + 1)) };
}

export async function probeTcp(check: HealthCheckConfig): Promise<ProbeResult> {
  const start = performance.now();
  const gauges: ProbeGauge[] = [];
  try {
    const ca = check.tls ? await readCa(check.ca_file) : undefined;
    const { host, port } = splitHostPort(check.target);
    await new Promise<void>((resolve, reject) => {
      let sock: Socket | TLSSocket;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ProbeFailure(`timeout after ${check.timeout}ms`));
      }, check.timeout);
      const done = (err?: Error) => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve();
      };
      if (check.tls) {
        const s = tlsConnect({
          host,
          port,
          servername: check.server_name ?? (/^[\d.:]+$/.test(host) ? undefined : host),
          rejectUnauthorized: !check.insecure_skip_verify,
          ...(ca ? { ca } : {}),
        });
        sock = s;
        s.once('secureConnect', () => {
          const expiry = earliestExpiry(s.getPeerCertificate(true));
          if (expiry !== undefined)
            gauges.push({ name: 'probe_ssl_earliest_cert_expiry', value: expiry, help: EXPIRY_HELP });
          done();
        });
      } else {
        sock = netConnect({ host, port });
        sock.once('connect', () => done());
      }
      sock.once('error', (err) => done(err));
    });
    return { success: true, reason: '', durationMs: since(start), gauges };
  } catch (err) {
    return { success: false, reason: reasonOf(err), durationMs: since(start), gauges };
  }
}
