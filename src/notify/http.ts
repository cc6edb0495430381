/**
 * HTTP POST for receiver integrations, honouring Alertmanager's `http_config`: basic auth, authorization /
 * bearer token (inline or from files), TLS settings (CA, client certificate, server name, skip verify) and
 * extra headers. Uses node:http(s) so TLS options apply per request. Proxies and OAuth2 are not supported
 * (the config loader accepts them; docs/alerting.md says so).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { HttpConfig } from '../alerts/config/schema.ts';
import { httpResult, networkResult, type SendResult } from './integration.ts';

function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

function authHeader(h: HttpConfig | undefined): string | undefined {
  if (!h) return undefined;
  if (h.basic_auth) {
    const user =
      h.basic_auth.username ?? (h.basic_auth.username_file ? readSecretFile(h.basic_auth.username_file) : '');
    const pass =
      h.basic_auth.password ?? (h.basic_auth.password_file ? readSecretFile(h.basic_auth.password_file) : '');
    return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  if (h.authorization) {
    const cred =
      h.authorization.credentials ??
      (h.authorization.credentials_file ? readSecretFile(h.authorization.credentials_file) : '');
    return `${h.authorization.type ?? 'Bearer'} ${cred}`;
  }
  if (h.bearer_token !== undefined) return `Bearer ${h.bearer_token}`;
  if (h.bearer_token_file !== undefined) return `Bearer ${readSecretFile(h.bearer_token_file)}`;
  return undefined;
}

function tlsOptions(h: HttpConfig | undefined): RequestOptions {
  const t = h?.tls_config;
  if (!t) return {};
  const file = (inline: string | undefined, path: string | undefined) =>
    inline ?? (path ? readFileSync(path, 'utf8') : undefined);
  return {
    ca: file(t.ca, t.ca_file),
    cert: file(t.cert, t.cert_file),
    key: file(t.key, t.key_file),
    servername: t.server_name,
    rejectUnauthorized: !t.insecure_skip_verify,
  };
}

export interface PostOptions {
  readonly url: string;
  readonly body: string | Buffer;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly httpConfig?: HttpConfig;
  /** Names the integration in error messages, e.g. `webhook`. */
  readonly what: string;
  readonly signal: AbortSignal;
}

/** POSTs and classifies the answer. Never throws. */
export async function post(o: PostOptions): Promise<SendResult> {
  let u: URL;
  let headers: Record<string, string>;
  let tls: RequestOptions;
  try {
    u = new URL(o.url);
    headers = {
      'content-type': o.contentType ?? 'application/json',
      'user-agent': 'Vigil-Alertmanager',
      ...(o.headers ?? {}),
    };
    const auth = authHeader(o.httpConfig);
    if (auth) headers.authorization = auth;
    tls = u.protocol === 'https:' ? tlsOptions(o.httpConfig) : {};
  } catch (err) {
    return { status: 'failed', error: `${o.what}: ${(err as Error).message}`, reason: 'other' };
  }
  const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
  headers['content-length'] = String(body.length);
  return new Promise<SendResult>((resolve) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'POST', headers, signal: o.signal, ...tls },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          // Only the start of the answer goes into error messages.
          if (size < 4096) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve(httpResult(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), o.what)),
        );
        res.on('error', (err) => resolve(networkResult(err, o.what)));
      },
    );
    req.on('error', (err) => resolve(networkResult(err, o.what)));
    req.end(body);
  });
}
