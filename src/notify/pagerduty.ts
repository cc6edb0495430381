/**
 * PagerDuty integration: Events API v2 for `routing_key` (trigger/resolve with the group's SHA-256 as
 * dedup key, as Alertmanager), Events API v1 for the older `service_key`.
 */
import { readFileSync } from 'node:fs';
import type { GlobalConfig, PagerdutyConfig } from '../alerts/config/schema.ts';
import { templateData } from './data.ts';
import { post } from './http.ts';
import type { Integration, SendResult } from './integration.ts';
import type { NotificationMessage } from './message.ts';
import type { TemplateSet } from './template.ts';

const V1_URL = 'https://events.pagerduty.com/generic/2010-04-15/create_event.json';
const MAX_SUMMARY = 1024;

const DEFAULT_DETAILS: Record<string, string> = {
  firing: '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
  resolved: '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
  num_firing: '{{ .Alerts.Firing | len }}',
  num_resolved: '{{ .Alerts.Resolved | len }}',
};

function truncate(s: string, n: number): string {
  return [...s].length > n ? [...s].slice(0, n - 1).join('') + '…' : s;
}

function expandDetails(
  details: Record<string, unknown>,
  expand: (s: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) out[k] = typeof v === 'string' ? expand(v) : v;
  return out;
}

/** The request (URL and body) for one notification. Throws on template or key-file errors. */
export function pagerdutyRequest(
  cfg: PagerdutyConfig,
  msg: NotificationMessage,
  global: GlobalConfig,
  tmpl: TemplateSet,
): { url: string; body: Record<string, unknown> } {
  const data = templateData(msg);
  const t = (s: string) => tmpl.expand(s, data);
  const description = truncate(
    t(cfg.description ?? '{{ template "pagerduty.default.description" .}}'),
    MAX_SUMMARY,
  );
  const client = t(cfg.client ?? '{{ template "pagerduty.default.client" . }}');
  const clientUrl = t(cfg.client_url ?? '{{ template "pagerduty.default.clientURL" . }}');
  const details = expandDetails(cfg.details ?? DEFAULT_DETAILS, t);
  const resolve = msg.status === 'resolved';
  const serviceKey =
    cfg.service_key ?? (cfg.service_key_file ? readFileSync(cfg.service_key_file, 'utf8').trim() : undefined);
  if (serviceKey !== undefined) {
    return {
      url: cfg.url ?? V1_URL,
      body: {
        service_key: serviceKey,
        event_type: resolve ? 'resolve' : 'trigger',
        incident_key: msg.groupId,
        description,
        client,
        client_url: clientUrl,
        details,
      },
    };
  }
  const routingKey = cfg.routing_key ?? readFileSync(cfg.routing_key_file!, 'utf8').trim();
  const body: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: resolve ? 'resolve' : 'trigger',
    dedup_key: msg.groupId,
  };
  if (!resolve) {
    body.client = client;
    body.client_url = clientUrl;
    body.images = (cfg.images ?? []).map((i) => ({
      src: t(i.src ?? ''),
      alt: t(i.alt ?? ''),
      href: t(i.href ?? ''),
    }));
    body.links = (cfg.links ?? []).map((l) => ({ href: t(l.href ?? ''), text: t(l.text ?? '') }));
    body.payload = {
      summary: description,
      source: t(cfg.source ?? client),
      severity: t(cfg.severity ?? 'error'),
      custom_details: details,
      ...(cfg.class ? { class: t(cfg.class) } : {}),
      ...(cfg.component ? { component: t(cfg.component) } : {}),
      ...(cfg.group ? { group: t(cfg.group) } : {}),
    };
  }
  return { url: cfg.url ?? global.pagerduty_url, body };
}

export function pagerdutyIntegration(
  cfg: PagerdutyConfig,
  index: number,
  global: GlobalConfig,
  tmpl: TemplateSet,
): Integration {
  return {
    name: 'pagerduty',
    index,
    sendResolved: cfg.send_resolved ?? true,
    async send(msg: NotificationMessage, signal: AbortSignal): Promise<SendResult> {
      let req: { url: string; body: Record<string, unknown> };
      try {
        req = pagerdutyRequest(cfg, msg, global, tmpl);
      } catch (err) {
        return { status: 'failed', error: `pagerduty: ${(err as Error).message}`, reason: 'other' };
      }
      const timeout = cfg.timeout ? AbortSignal.any([signal, AbortSignal.timeout(cfg.timeout)]) : signal;
      return post({
        url: req.url,
        body: JSON.stringify(req.body),
        httpConfig: cfg.http_config ?? global.http_config,
        what: 'pagerduty',
        signal: timeout,
      });
    },
  };
}
