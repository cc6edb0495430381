/** Alertmanager's webhook integration: POSTs the version-4 JSON payload to `url` (or the URL in `url_file`). */
import { readFileSync } from 'node:fs';
import type { WebhookConfig } from '../alerts/config/schema.ts';
import { post } from './http.ts';
import type { Integration, SendResult } from './integration.ts';
import { webhookPayload, type NotificationMessage } from './message.ts';

export function webhookIntegration(cfg: WebhookConfig, index: number): Integration {
  return {
    name: 'webhook',
    index,
    sendResolved: cfg.send_resolved ?? true,
    async send(msg: NotificationMessage, signal: AbortSignal): Promise<SendResult> {
      let url: string;
      try {
        url = cfg.url ?? readFileSync(cfg.url_file!, 'utf8').trim();
      } catch (err) {
        return {
          status: 'failed',
          error: `webhook: cannot read url_file: ${(err as Error).message}`,
          reason: 'other',
        };
      }
      const timeout = cfg.timeout ? AbortSignal.any([signal, AbortSignal.timeout(cfg.timeout)]) : signal;
      return post({
        url,
        body: JSON.stringify(webhookPayload(msg, cfg.max_alerts)),
        httpConfig: cfg.http_config,
        what: 'webhook',
        signal: timeout,
      });
    },
  };
}
