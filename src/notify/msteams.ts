/** Microsoft Teams incoming-webhook integration: an Office 365 connector MessageCard, as Alertmanager sends. */
import { readFileSync } from 'node:fs';
import type { GlobalConfig, MsteamsConfig } from '../alerts/config/schema.ts';
import { templateData } from './data.ts';
import { post } from './http.ts';
import type { Integration, SendResult } from './integration.ts';
import type { NotificationMessage } from './message.ts';
import type { TemplateSet } from './template.ts';

const COLOR_FIRING = '8C1A1A';
const COLOR_RESOLVED = '2DC72D';

export function msteamsPayload(
  cfg: MsteamsConfig,
  msg: NotificationMessage,
  tmpl: TemplateSet,
): Record<string, unknown> {
  const data = templateData(msg);
  return {
    '@context': 'http://schema.org/extensions',
    type: 'MessageCard',
    title: tmpl.expand(cfg.title ?? '{{ template "msteams.default.title" . }}', data),
    summary: tmpl.expand(cfg.summary ?? '{{ template "msteams.default.summary" . }}', data),
    text: tmpl.expand(cfg.text ?? '{{ template "msteams.default.text" . }}', data),
    themeColor: msg.status === 'firing' ? COLOR_FIRING : COLOR_RESOLVED,
  };
}

export function msteamsIntegration(
  cfg: MsteamsConfig,
  index: number,
  global: GlobalConfig,
  tmpl: TemplateSet,
): Integration {
  return {
    name: 'msteams',
    index,
    sendResolved: cfg.send_resolved ?? true,
    async send(msg: NotificationMessage, signal: AbortSignal): Promise<SendResult> {
      let url: string;
      let body: string;
      try {
        url = cfg.webhook_url ?? readFileSync(cfg.webhook_url_file!, 'utf8').trim();
        body = JSON.stringify(msteamsPayload(cfg, msg, tmpl));
      } catch (err) {
        return { status: 'failed', error: `msteams: ${(err as Error).message}`, reason: 'other' };
      }
      return post({ url, body, httpConfig: cfg.http_config ?? global.http_config, what: 'msteams', signal });
    },
  };
}
