/**
 * HTTP(S) prober: one request on a fresh connection (no keep-alive pool, so every probe measures connect and
 * TLS as a new client would), status code check, body regular expressions and the certificate chain's
 * earliest expiry. Redirects are followed (at most 10) unless `follow_redirects: false`; the status, body and
 * certificate checked are the final response's.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { HealthCheckConfig } from './config.ts';
import {
  EXPIRY_HELP,
  ProbeFailure,
  readCa,
  reasonOf,
  since,
  earliestExpiry,
  type ProbeGauge,
  type ProbeResult,
} from './probe.ts';

/** Bodies are read up to this size for the regular expressions; the rest is counted and discarded. */
export const MAX_BODY_BYTES = 1024 * 1024;

export async function probeHttp(check: HealthCheckConfig): Promise<ProbeResult> {
  const start = performance.now();
  const gauges: ProbeGauge[] = [];
  try {
    await probe(check, gauges);
    return { success: true, reason: '', durationMs: since(start), gauges };
  } catch (err) {
    return { success: false, reason: reasonOf(err), durationMs: since(start), gauges };
  }
}

/** Redirects followed at most, as Go's HTTP client (and so the blackbox exporter) does. */
export const MAX_REDIRECTS = 10;

interface Response {
  readonly res: IncomingMessage;
  readonly body: Buffer;
  readonly bytes: number;
  readonly expiry: number | undefined;
}

/** One request and its whole response (body kept up to MAX_BODY_BYTES); `signal` aborts it. */
function send(
  check: HealthCheckConfig,
  url: URL,
  method: string,
  body: string | undefined,
  ca: Buffer | undefined,
  signal: AbortSignal,
): Promise<Response> {
  const tls = url.protocol === 'https:';
  return new Promise<Response>((resolve, reject) => {
    const opts = {
      method,
      headers: { 'user-agent': 'Vigil-health-check', ...check.headers },
      agent: false as const,
      signal,
      ...(tls
        ? {
            rejectUnauthorized: !check.insecure_skip_verify,
            ...(ca ? { ca } : {}),
            ...(check.server_name ? { servername: check.server_name } : {}),
          }
        : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(url, opts, (res) => {
      const sock = res.socket as TLSSocket;
      const expiry = tls ? earliestExpiry(sock.getPeerCertificate?.(true)) : undefined;
      const chunks: Buffer[] = [];
      let kept = 0;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (kept < MAX_BODY_BYTES) {
          chunks.push(c);
          kept += c.length;
        }
      });
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks), bytes, expiry }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function probe(check: HealthCheckConfig, gauges: ProbeGauge[]): Promise<void> {
  let url = new URL(check.target);
  let method = check.method;
  let reqBody = check.body;
  const ca = await readCa(check.ca_file);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), check.timeout);
  try {
    let redirects = 0;
    let r: Response;
    for (;;) {
      r = await send(check, url, method, reqBody, ca, ac.signal);
      const code = r.res.statusCode ?? 0;
      const location = r.res.headers.location;
      if (!check.follow_redirects || ![301, 302, 303, 307, 308].includes(code) || !location) break;
      if (redirects === MAX_REDIRECTS) throw new ProbeFailure(`stopped after ${MAX_REDIRECTS} redirects`);
      redirects++;
      try {
        url = new URL(location, url);
      } catch {
        throw new ProbeFailure(`status ${code} with an invalid Location ${JSON.stringify(location)}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ProbeFailure(`redirected to ${url.protocol} URL ${url.href}`);
      // As browsers and Go's client: 303, and 301/302 after POST, continue as GET without a body.
      if (code === 303 || ((code === 301 || code === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        reqBody = undefined;
      }
    }
    const { res, body, bytes, expiry } = r;
    const tls = url.protocol === 'https:';
    gauges.push({ name: 'probe_http_redirects', value: redirects, help: 'The number of redirects' });
    const status = res.statusCode ?? 0;
    gauges.push({ name: 'probe_http_status_code', value: status, help: 'Response HTTP status code' });
    const declared = Number(res.headers['content-length']);
    gauges.push({
      name: 'probe_http_content_length',
      value: Number.isFinite(declared) && res.headers['content-length'] !== undefined ? declared : bytes,
      help: 'Length of http content response',
    });
    gauges.push({
      name: 'probe_http_ssl',
      value: tls ? 1 : 0,
      help: 'Indicates if SSL was used for the final redirect',
    });
    if (expiry !== undefined)
      gauges.push({ name: 'probe_ssl_earliest_cert_expiry', value: expiry, help: EXPIRY_HELP });
    const ok = check.valid_status_codes.length
      ? check.valid_status_codes.includes(status)
      : status >= 200 && status < 300;
    if (!ok) {
      const wanted = check.valid_status_codes.length ? check.valid_status_codes.join(', ') : '2xx';
      throw new ProbeFailure(`status ${status}, expected ${wanted}`);
    }
    const text = body.toString('utf8');
    for (const re of check.fail_if_body_matches_regexp)
      if (new RegExp(re).test(text)) throw new ProbeFailure(`body matched /${re}/`);
    for (const re of check.fail_if_body_not_matches_regexp)
      if (!new RegExp(re).test(text)) throw new ProbeFailure(`body did not match /${re}/`);
  } catch (err) {
    if (ac.signal.aborted && !(err instanceof ProbeFailure))
      throw new ProbeFailure(`timeout after ${check.timeout}ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
