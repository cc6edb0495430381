/**
 * Slack incoming-webhook (or chat.postMessage with `app_token`) integration with Alertmanager's attachment
 * payload and default texts (templates `slack.default.*`).
 */
import { readFileSync } from 'node:fs';
import type { GlobalConfig, SlackConfig } from '../alerts/config/schema.ts';
import { templateData } from './data.ts';
import { post } from './http.ts';
import type { Integration, SendResult } from './integration.ts';
import type { NotificationMessage } from './message.ts';
import type { TemplateSet } from './template.ts';

const DEFAULTS = {
  username: '{{ template "slack.default.username" . }}',
  color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}',
  title: '{{ template "slack.default.title" . }}',
  title_link: '{{ template "slack.default.titlelink" . }}',
  pretext: '{{ template "slack.default.pretext" . }}',
  text: '{{ template "slack.default.text" . }}',
  footer: '{{ template "slack.default.footer" . }}',
  fallback: '{{ template "slack.default.fallback" . }}',
  callback_id: '{{ template "slack.default.callbackid" . }}',
  icon_emoji: '{{ template "slack.default.iconemoji" . }}',
  icon_url: '{{ template "slack.default.iconurl" . }}',
};

/** The JSON body for one notification. Throws on template errors. */
export function slackPayload(
  cfg: SlackConfig,
  msg: NotificationMessage,
  tmpl: TemplateSet,
): Record<string, unknown> {
  const data = templateData(msg);
  const t = (k: keyof typeof DEFAULTS) => tmpl.expand(cfg[k] ?? DEFAULTS[k], data);
  const attachment: Record<string, unknown> = {
    title: t('title'),
    title_link: t('title_link'),
    pretext: t('pretext'),
    text: t('text'),
    fallback: t('fallback'),
    callback_id: t('callback_id'),
    footer: t('footer'),
    color: t('color'),
    mrkdwn_in: cfg.mrkdwn_in ?? ['fallback', 'pretext', 'text'],
  };
  if (cfg.image_url) attachment.image_url = tmpl.expand(cfg.image_url, data);
  if (cfg.thumb_url) attachment.thumb_url = tmpl.expand(cfg.thumb_url, data);
  if (cfg.fields?.length)
    attachment.fields = cfg.fields.map((f) => ({
      title: tmpl.expand(f.title, data),
      value: tmpl.expand(f.value, data),
      short: f.short ?? cfg.short_fields ?? false,
    }));
  if (cfg.actions?.length)
    attachment.actions = cfg.actions.map((a) => ({
      type: tmpl.expand(a.type, data),
      text: tmpl.expand(a.text, data),
      ...(a.url ? { url: tmpl.expand(a.url, data) } : {}),
      ...(a.style ? { style: tmpl.expand(a.style, data) } : {}),
      ...(a.name ? { name: tmpl.expand(a.name, data) } : {}),
      ...(a.value ? { value: tmpl.expand(a.value, data) } : {}),
      ...(a.confirm
        ? {
            confirm: {
              text: tmpl.expand(a.confirm.text, data),
              title: tmpl.expand(a.confirm.title ?? '', data),
              ok_text: tmpl.expand(a.confirm.ok_text ?? '', data),
              dismiss_text: tmpl.expand(a.confirm.dismiss_text ?? '', data),
            },
          }
        : {}),
    }));
  const body: Record<string, unknown> = {
    channel: tmpl.expand(cfg.channel ?? '', data),
    username: t('username'),
    attachments: [attachment],
  };
  const emoji = t('icon_emoji');
  const icon = t('icon_url');
  if (emoji) body.icon_emoji = emoji;
  else if (icon) body.icon_url = icon;
  if (cfg.link_names) body.link_names = true;
  return body;
}

export function slackIntegration(
  cfg: SlackConfig,
  index: number,
  global: GlobalConfig,
  tmpl: TemplateSet,
): Integration {
  return {
    name: 'slack',
    index,
    sendResolved: cfg.send_resolved ?? false,
    async send(msg: NotificationMessage, signal: AbortSignal): Promise<SendResult> {
      let url: string;
      let body: string;
      const headers: Record<string, string> = {};
      try {
        const tokenFile = cfg.app_token_file ?? global.slack_app_token_file;
        const token =
          cfg.app_token ??
          global.slack_app_token ??
          (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined);
        url =
          cfg.api_url ??
          (cfg.api_url_file ? readFileSync(cfg.api_url_file, 'utf8').trim() : undefined) ??
          (token
            ? (cfg.app_url ?? global.slack_app_url ?? 'https://slack.com/api/chat.postMessage')
            : undefined) ??
          global.slack_api_url ??
          readFileSync(global.slack_api_url_file!, 'utf8').trim();
        if (token) headers.authorization = `Bearer ${token}`;
        body = JSON.stringify(slackPayload(cfg, msg, tmpl));
      } catch (err) {
        return { status: 'failed', error: `slack: ${(err as Error).message}`, reason: 'other' };
      }
      const timeout = cfg.timeout ? AbortSignal.any([signal, AbortSignal.timeout(cfg.timeout)]) : signal;
      return post({
        url,
        body,
        headers,
        httpConfig: cfg.http_config ?? global.http_config,
        what: 'slack',
        signal: timeout,
      });
    },
  };
}
