/**
 * Alertmanager's configuration file format (alertmanager.yml) as zod schemas: every section and every
 * receiver type Alertmanager documents, unknown keys rejected as Alertmanager does. Cross-references
 * (receivers, time intervals) and matchers are checked in `load.ts`.
 */
import { z } from 'zod';
import { parseDuration } from '../../model/duration.ts';

export const durationSchema = z.string().transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${(err as Error).message} (for example 30s, 5m, 4h)` });
    return z.NEVER;
  }
});

const secret = z.string();
const url = z.string().transform((v, ctx) => {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme must be http or https');
    return v;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid URL ${JSON.stringify(v)}: ${(err as Error).message}` });
    return z.NEVER;
  }
});
const stringMap = z.record(z.string(), z.string());

const tlsConfig = z
  .object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: secret.optional(),
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    ca_ref: z.string().optional(),
    cert_ref: z.string().optional(),
    key_ref: z.string().optional(),
    server_name: z.string().optional(),
    insecure_skip_verify: z.boolean().optional(),
    min_version: z.string().optional(),
    max_version: z.string().optional(),
  })
  .strict();

export const httpConfigSchema = z
  .object({
    basic_auth: z
      .object({
        username: z.string().optional(),
        username_file: z.string().optional(),
        username_ref: z.string().optional(),
        password: secret.optional(),
        password_file: z.string().optional(),
        password_ref: z.string().optional(),
      })
      .strict()
      .optional(),
    authorization: z
      .object({
        type: z.string().optional(),
        credentials: secret.optional(),
        credentials_file: z.string().optional(),
        credentials_ref: z.string().optional(),
      })
      .strict()
      .optional(),
    oauth2: z
      .object({
        client_id: z.string(),
        client_secret: secret.optional(),
        client_secret_file: z.string().optional(),
        client_secret_ref: z.string().optional(),
        scopes: z.array(z.string()).optional(),
        token_url: z.string(),
        endpoint_params: stringMap.optional(),
        tls_config: tlsConfig.optional(),
        proxy_url: z.string().optional(),
        no_proxy: z.string().optional(),
        proxy_from_environment: z.boolean().optional(),
        proxy_connect_header: z.record(z.string(), z.array(z.string())).optional(),
      })
      .strict()
      .optional(),
    bearer_token: secret.optional(),
    bearer_token_file: z.string().optional(),
    tls_config: tlsConfig.optional(),
    proxy_url: z.string().optional(),
    no_proxy: z.string().optional(),
    proxy_from_environment: z.boolean().optional(),
    proxy_connect_header: z.record(z.string(), z.array(z.string())).optional(),
    follow_redirects: z.boolean().optional(),
    enable_http2: z.boolean().optional(),
    http_headers: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((h, ctx) => {
    const auths = [h.basic_auth, h.authorization, h.oauth2, h.bearer_token ?? h.bearer_token_file].filter(
      (x) => x !== undefined,
    );
    if (auths.length > 1)
      ctx.addIssue({
        code: 'custom',
        message:
          'at most one of basic_auth, oauth2, bearer_token & bearer_token_file, authorization must be configured',
      });
  });
export type HttpConfig = z.output<typeof httpConfigSchema>;

const common = {
  send_resolved: z.boolean().optional(),
  http_config: httpConfigSchema.optional(),
};

export const webhookConfigSchema = z
  .object({
    ...common,
    url: url.optional(),
    url_file: z.string().optional(),
    max_alerts: z.number().int().min(0).default(0),
    timeout: durationSchema.optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.url === undefined && w.url_file === undefined)
      ctx.addIssue({ code: 'custom', message: 'one of url or url_file must be configured' });
    if (w.url !== undefined && w.url_file !== undefined)
      ctx.addIssue({ code: 'custom', message: 'at most one of url & url_file must be configured' });
  });
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

const slackField = z.object({ title: z.string(), value: z.string(), short: z.boolean().optional() }).strict();
const slackAction = z
  .object({
    type: z.string(),
    text: z.string(),
    url: z.string().optional(),
    style: z.string().optional(),
    name: z.string().optional(),
    value: z.string().optional(),
    confirm: z
      .object({
        text: z.string(),
        title: z.string().optional(),
        ok_text: z.string().optional(),
        dismiss_text: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const slackConfigSchema = z
  .object({
    ...common,
    api_url: url.optional(),
    api_url_file: z.string().optional(),
    channel: z.string().optional(),
    username: z.string().optional(),
    color: z.string().optional(),
    title: z.string().optional(),
    title_link: z.string().optional(),
    pretext: z.string().optional(),
    text: z.string().optional(),
    fields: z.array(slackField).optional(),
    short_fields: z.boolean().optional(),
    footer: z.string().optional(),
    fallback: z.string().optional(),
    callback_id: z.string().optional(),
    icon_emoji: z.string().optional(),
    icon_url: z.string().optional(),
    image_url: z.string().optional(),
    thumb_url: z.string().optional(),
    link_names: z.boolean().optional(),
    mrkdwn_in: z.array(z.string()).optional(),
    actions: z.array(slackAction).optional(),
    update_message: z.boolean().optional(),
    app_token: secret.optional(),
    app_token_file: z.string().optional(),
    app_url: z.string().optional(),
    timeout: durationSchema.optional(),
  })
  .strict();
export type SlackConfig = z.output<typeof slackConfigSchema>;

export const emailConfigSchema = z
  .object({
    send_resolved: z.boolean().optional(),
    to: z.string().optional(),
    from: z.string().optional(),
    smarthost: z.string().optional(),
    hello: z.string().optional(),
    auth_username: z.string().optional(),
    auth_password: secret.optional(),
    auth_password_file: z.string().optional(),
    auth_secret: secret.optional(),
    auth_secret_file: z.string().optional(),
    auth_identity: z.string().optional(),
    headers: stringMap.optional(),
    html: z.string().optional(),
    text: z.string().optional(),
    require_tls: z.boolean().optional(),
    tls_config: tlsConfig.optional(),
    threading: z
      .object({ enabled: z.boolean().optional(), thread_by_date: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.to) ctx.addIssue({ code: 'custom', message: 'missing to address in email config' });
    for (const h of Object.keys(e.headers ?? {}))
      if (Object.keys(e.headers!).filter((x) => x.toLowerCase() === h.toLowerCase()).length > 1)
        ctx.addIssue({ code: 'custom', message: `duplicate header ${JSON.stringify(h)} in email config` });
  });
export type EmailConfig = z.output<typeof emailConfigSchema>;

export const pagerdutyConfigSchema = z
  .object({
    ...common,
    routing_key: secret.optional(),
    routing_key_file: z.string().optional(),
    service_key: secret.optional(),
    service_key_file: z.string().optional(),
    url: url.optional(),
    client: z.string().optional(),
    client_url: z.string().optional(),
    description: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
    images: z
      .array(
        z
          .object({ src: z.string().optional(), alt: z.string().optional(), href: z.string().optional() })
          .strict(),
      )
      .optional(),
    links: z
      .array(z.object({ href: z.string().optional(), text: z.string().optional() }).strict())
      .optional(),
    source: z.string().optional(),
    severity: z.string().optional(),
    class: z.string().optional(),
    component: z.string().optional(),
    group: z.string().optional(),
    timeout: durationSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!p.routing_key && !p.routing_key_file && !p.service_key && !p.service_key_file)
      ctx.addIssue({ code: 'custom', message: 'missing service or routing key in PagerDuty config' });
  });
export type PagerdutyConfig = z.output<typeof pagerdutyConfigSchema>;

export const msteamsConfigSchema = z
  .object({
    ...common,
    webhook_url: url.optional(),
    webhook_url_file: z.string().optional(),
    title: z.string().optional(),
    summary: z.string().optional(),
    text: z.string().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.webhook_url === undefined && m.webhook_url_file === undefined)
      ctx.addIssue({ code: 'custom', message: 'one of webhook_url or webhook_url_file must be configured' });
  });
export type MsteamsConfig = z.output<typeof msteamsConfigSchema>;

/** Integrations Alertmanager has and Vigil parses loosely but does not deliver to (docs/alerting.md). */
export const OTHER_INTEGRATIONS = [
  'opsgenie_configs',
  'wechat_configs',
  'pushover_configs',
  'victorops_configs',
  'sns_configs',
  'telegram_configs',
  'webex_configs',
  'discord_configs',
  'msteamsv2_configs',
  'jira_configs',
  'rocketchat_configs',
  'incidentio_configs',
] as const;

const otherIntegrations = Object.fromEntries(
  OTHER_INTEGRATIONS.map((k) => [k, z.array(z.record(z.string(), z.unknown())).optional()]),
) as Record<
  (typeof OTHER_INTEGRATIONS)[number],
  z.ZodOptional<z.ZodArray<z.ZodRecord<z.ZodString, z.ZodUnknown>>>
>;

export const receiverSchema = z
  .object({
    name: z.string().min(1, 'missing name in receiver'),
    webhook_configs: z.array(webhookConfigSchema).optional(),
    slack_configs: z.array(slackConfigSchema).optional(),
    email_configs: z.array(emailConfigSchema).optional(),
    pagerduty_configs: z.array(pagerdutyConfigSchema).optional(),
    msteams_configs: z.array(msteamsConfigSchema).optional(),
    ...otherIntegrations,
  })
  .strict();
export type ReceiverConfig = z.output<typeof receiverSchema>;

const labelMatchMap = z.record(z.string(), z.string());

export interface RawRoute {
  receiver?: string;
  group_by?: string[];
  continue?: boolean;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  group_wait?: number;
  group_interval?: number;
  repeat_interval?: number;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
  routes?: RawRoute[];
}

export const routeSchema: z.ZodType<RawRoute> = z.lazy(() =>
  z
    .object({
      receiver: z.string().optional(),
      group_by: z.array(z.string()).optional(),
      continue: z.boolean().optional(),
      matchers: z.array(z.string()).optional(),
      match: labelMatchMap.optional(),
      match_re: labelMatchMap.optional(),
      group_wait: durationSchema.optional(),
      group_interval: durationSchema.optional(),
      repeat_interval: durationSchema.optional(),
      mute_time_intervals: z.array(z.string()).optional(),
      active_time_intervals: z.array(z.string()).optional(),
      routes: z.array(routeSchema).optional(),
    })
    .strict(),
) as z.ZodType<RawRoute>;

export const inhibitRuleSchema = z
  .object({
    source_match: labelMatchMap.optional(),
    source_match_re: labelMatchMap.optional(),
    source_matchers: z.array(z.string()).optional(),
    target_match: labelMatchMap.optional(),
    target_match_re: labelMatchMap.optional(),
    target_matchers: z.array(z.string()).optional(),
    equal: z.array(z.string()).optional(),
  })
  .strict();
export type RawInhibitRule = z.output<typeof inhibitRuleSchema>;

const timeIntervalEntry = z
  .object({
    times: z.array(z.unknown()).optional(),
    weekdays: z.array(z.union([z.string(), z.number()])).optional(),
    days_of_month: z.array(z.union([z.string(), z.number()])).optional(),
    months: z.array(z.union([z.string(), z.number()])).optional(),
    years: z.array(z.union([z.string(), z.number()])).optional(),
    location: z.string().optional(),
  })
  .strict();
export type RawTimeInterval = z.output<typeof timeIntervalEntry>;

const namedTimeInterval = z
  .object({
    name: z.string().min(1, 'missing name in time interval'),
    time_intervals: z.array(timeIntervalEntry),
  })
  .strict();

export const globalSchema = z
  .object({
    resolve_timeout: durationSchema.default(300_000),
    http_config: httpConfigSchema.optional(),
    smtp_from: z.string().optional(),
    smtp_hello: z.string().default('localhost'),
    smtp_smarthost: z.string().optional(),
    smtp_auth_username: z.string().optional(),
    smtp_auth_password: secret.optional(),
    smtp_auth_password_file: z.string().optional(),
    smtp_auth_secret: secret.optional(),
    smtp_auth_secret_file: z.string().optional(),
    smtp_auth_identity: z.string().optional(),
    smtp_require_tls: z.boolean().default(true),
    smtp_tls_config: tlsConfig.optional(),
    slack_api_url: url.optional(),
    slack_api_url_file: z.string().optional(),
    slack_app_token: secret.optional(),
    slack_app_token_file: z.string().optional(),
    slack_app_url: z.string().optional(),
    pagerduty_url: url.default('https://events.pagerduty.com/v2/enqueue'),
    opsgenie_api_key: secret.optional(),
    opsgenie_api_key_file: z.string().optional(),
    opsgenie_api_url: z.string().optional(),
    wechat_api_url: z.string().optional(),
    wechat_api_secret: secret.optional(),
    wechat_api_corp_id: z.string().optional(),
    victorops_api_key: secret.optional(),
    victorops_api_key_file: z.string().optional(),
    victorops_api_url: z.string().optional(),
    telegram_api_url: z.string().optional(),
    telegram_bot_token: secret.optional(),
    telegram_bot_token_file: z.string().optional(),
    webex_api_url: z.string().optional(),
    rocketchat_api_url: z.string().optional(),
    rocketchat_token: secret.optional(),
    rocketchat_token_file: z.string().optional(),
    rocketchat_token_id: secret.optional(),
    rocketchat_token_id_file: z.string().optional(),
    jira_api_url: z.string().optional(),
  })
  .strict();
export type GlobalConfig = z.output<typeof globalSchema>;

export const alertmanagerConfigSchema = z
  .object({
    global: globalSchema.prefault({}),
    route: routeSchema.optional(),
    receivers: z.array(receiverSchema).default([]),
    inhibit_rules: z.array(inhibitRuleSchema).default([]),
    templates: z.array(z.string()).default([]),
    time_intervals: z.array(namedTimeInterval).default([]),
    mute_time_intervals: z.array(namedTimeInterval).default([]),
    tracing: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type RawAlertmanagerConfig = z.output<typeof alertmanagerConfigSchema>;
