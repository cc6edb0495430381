/**
 * Builds the integrations of every receiver of a configuration. Integration kinds Vigil does not deliver to
 * (docs/alerting.md) are reported by `unsupportedIntegrations` so the operator sees them at start.
 */
import type { AlertmanagerConfig } from '../alerts/config/load.ts';
import { OTHER_INTEGRATIONS, type ReceiverConfig } from '../alerts/config/schema.ts';
import { emailIntegration } from './email.ts';
import type { Integration } from './integration.ts';
import { msteamsIntegration } from './msteams.ts';
import { pagerdutyIntegration } from './pagerduty.ts';
import { slackIntegration } from './slack.ts';
import type { TemplateSet } from './template.ts';
import { loadTemplates } from './templates.ts';
import { webhookIntegration } from './webhook.ts';

export interface ReceiverBuildContext {
  readonly config: AlertmanagerConfig;
  readonly templates: TemplateSet;
}

export function receiverIntegrations(r: ReceiverConfig, ctx: ReceiverBuildContext): Integration[] {
  const g = ctx.config.global;
  const t = ctx.templates;
  const out: Integration[] = [];
  r.webhook_configs?.forEach((c, i) =>
    out.push(webhookIntegration({ ...c, http_config: c.http_config ?? g.http_config }, i)),
  );
  r.slack_configs?.forEach((c, i) => out.push(slackIntegration(c, i, g, t)));
  r.email_configs?.forEach((c, i) => out.push(emailIntegration(c, i, g, t)));
  r.pagerduty_configs?.forEach((c, i) => out.push(pagerdutyIntegration(c, i, g, t)));
  r.msteams_configs?.forEach((c, i) => out.push(msteamsIntegration(c, i, g, t)));
  return out;
}

/**
 * Integrations per receiver name. Reads the configuration's template files; throws NotifyTemplateError for a
 * template file that cannot be read or parsed.
 */
export function buildIntegrations(config: AlertmanagerConfig): Map<string, Integration[]> {
  const ctx = { config, templates: loadTemplates(config.templates) };
  return new Map(config.receivers.map((r) => [r.name, receiverIntegrations(r, ctx)]));
}

/** `receiver/kind` for every configured integration kind that Vigil does not deliver to. */
export function unsupportedIntegrations(config: AlertmanagerConfig): string[] {
  const out: string[] = [];
  for (const r of config.receivers)
    for (const k of OTHER_INTEGRATIONS) if (r[k]?.length) out.push(`${r.name}/${k}`);
  return out;
}
