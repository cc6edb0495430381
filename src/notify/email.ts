/**
 * E-mail over SMTP (nodemailer) with Alertmanager's settings: per-receiver or global smarthost, from, hello,
 * auth (PLAIN/LOGIN with username/password, CRAM-MD5 with secret), STARTTLS required by default, TLS options,
 * custom headers, HTML (default template `email.default.html`) and text bodies.
 */
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import type { EmailConfig, GlobalConfig } from '../alerts/config/schema.ts';
import { templateData } from './data.ts';
import type { Integration, SendResult } from './integration.ts';
import type { NotificationMessage } from './message.ts';
import type { TemplateSet } from './template.ts';

export interface EmailContent {
  readonly headers: Record<string, string>;
  readonly html?: string;
  readonly text?: string;
}

/** Renders headers and bodies. Throws on template errors. */
export function emailContent(
  cfg: EmailConfig,
  msg: NotificationMessage,
  global: GlobalConfig,
  tmpl: TemplateSet,
): EmailContent {
  const data = { ...templateData(msg) };
  const headers: Record<string, string> = {};
  const given = new Map(
    Object.entries(cfg.headers ?? {}).map(([k, v]) => [k.toLowerCase(), [k, v] as const]),
  );
  const setDefault = (name: string, value: string) => {
    if (!given.has(name.toLowerCase())) headers[name] = value;
  };
  for (const [, [k, v]] of given) headers[k] = tmpl.expand(v, data);
  setDefault('Subject', tmpl.expand('{{ template "email.default.subject" . }}', data));
  setDefault('To', tmpl.expand(cfg.to!, data));
  setDefault('From', tmpl.expand(cfg.from ?? global.smtp_from!, data));
  const html = tmpl.expandHtml(cfg.html ?? '{{ template "email.default.html" . }}', data);
  const text = cfg.text ? tmpl.expand(cfg.text, data) : undefined;
  return { headers, ...(html ? { html } : {}), ...(text ? { text } : {}) };
}

function header(h: Record<string, string>, name: string): string | undefined {
  const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : h[k];
}

export function emailIntegration(
  cfg: EmailConfig,
  index: number,
  global: GlobalConfig,
  tmpl: TemplateSet,
): Integration {
  return {
    name: 'email',
    index,
    sendResolved: cfg.send_resolved ?? false,
    async send(msg: NotificationMessage): Promise<SendResult> {
      let content: EmailContent;
      let host: string;
      let port: number;
      let pass: string | undefined;
      let secret: string | undefined;
      try {
        content = emailContent(cfg, msg, global, tmpl);
        const smarthost = cfg.smarthost ?? global.smtp_smarthost!;
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(smarthost);
        if (!m) throw new Error(`smarthost ${JSON.stringify(smarthost)} must be host:port`);
        host = m[1]!;
        port = Number(m[2]);
        pass =
          cfg.auth_password ??
          (cfg.auth_password_file ? readFileSync(cfg.auth_password_file, 'utf8').trim() : undefined) ??
          global.smtp_auth_password ??
          (global.smtp_auth_password_file
            ? readFileSync(global.smtp_auth_password_file, 'utf8').trim()
            : undefined);
        secret =
          cfg.auth_secret ??
          (cfg.auth_secret_file ? readFileSync(cfg.auth_secret_file, 'utf8').trim() : undefined) ??
          global.smtp_auth_secret;
      } catch (err) {
        return { status: 'failed', error: `email: ${(err as Error).message}`, reason: 'other' };
      }
      const user = cfg.auth_username ?? global.smtp_auth_username;
      const requireTls = cfg.require_tls ?? global.smtp_require_tls;
      const tls = cfg.tls_config ?? global.smtp_tls_config;
      const transport = createTransport({
        host,
        port,
        secure: port === 465,
        name: cfg.hello ?? global.smtp_hello,
        requireTLS: requireTls && port !== 465,
        ignoreTLS: !requireTls && port !== 465,
        auth: user ? { user, pass: pass ?? secret ?? '' } : undefined,
        tls: tls
          ? {
              rejectUnauthorized: !tls.insecure_skip_verify,
              servername: tls.server_name,
              ca: tls.ca ?? (tls.ca_file ? readFileSync(tls.ca_file, 'utf8') : undefined),
              cert: tls.cert ?? (tls.cert_file ? readFileSync(tls.cert_file, 'utf8') : undefined),
              key: tls.key ?? (tls.key_file ? readFileSync(tls.key_file, 'utf8') : undefined),
            }
          : undefined,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      });
      const h = { ...content.headers };
      const from = header(h, 'From')!;
      const to = header(h, 'To')!;
      const subject = header(h, 'Subject') ?? '';
      for (const k of Object.keys(h)) if (['from', 'to', 'subject'].includes(k.toLowerCase())) delete h[k];
      try {
        await transport.sendMail({ from, to, subject, headers: h, html: content.html, text: content.text });
        return { status: 'ok' };
      } catch (err) {
        const e = err as Error & { responseCode?: number };
        const error = `email: ${e.message}`;
        if (e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600)
          return { status: 'failed', error, reason: 'clientError' };
        return { status: 'retryable', error, reason: e.responseCode ? 'serverError' : 'other' };
      } finally {
        transport.close();
      }
    },
  };
}
