/**
 * Sends pages through Vigil's notification integrations (src/notify): e-mail over the Alertmanager
 * configuration's SMTP settings, Slack incoming webhooks, plain webhooks (Alertmanager's JSON payload), and
 * whole Alertmanager receivers. A page is an Alertmanager notification of the incident's alerts whose common
 * annotations carry the incident and its signed links, so every channel's payload contains them.
 */
import { randomUUID } from 'node:crypto';
import type { AlertmanagerConfig } from '../alerts/config/load.ts';
import { emailIntegration } from '../notify/email.ts';
import type { Integration, SendResult } from '../notify/integration.ts';
import { commonPairs, type NotificationMessage, type NotifyAlert } from '../notify/message.ts';
import { receiverIntegrations } from '../notify/receivers.ts';
import { slackIntegration } from '../notify/slack.ts';
import type { TemplateSet } from '../notify/template.ts';
import { loadTemplates } from '../notify/templates.ts';
import { webhookIntegration } from '../notify/webhook.ts';
import type { Incident } from '../state/interface.ts';
import type { ContactMethod } from './model.ts';

/** One attempt per method, bounded so a hanging server cannot hold up the fallback to the next method. */
const ATTEMPT_TIMEOUT_MS = 15_000;

export const PAGE_SUBJECT =
  '[Vigil {{ .CommonAnnotations.incident_severity | toUpper }}] Incident {{ .CommonAnnotations.incident_id }}: {{ .CommonAnnotations.incident_title }}';

const PAGE_TEXT = `Incident {{ .CommonAnnotations.incident_id }}: {{ .CommonAnnotations.incident_title }}
Severity: {{ .CommonAnnotations.incident_severity }}, escalation step {{ .CommonAnnotations.escalation_step }}

Acknowledge: {{ .CommonAnnotations.ack_url }}
Resolve: {{ .CommonAnnotations.resolve_url }}
Incident: {{ .CommonAnnotations.incident_url }}

Alerts:
{{ range .Alerts }}- [{{ .Status }}] {{ .Labels.alertname }}{{ if .Annotations.summary }}: {{ .Annotations.summary }}{{ end }}
{{ end }}`;

const PAGE_HTML = `<p><b>Incident {{ .CommonAnnotations.incident_id }}: {{ .CommonAnnotations.incident_title }}</b><br>
Severity: {{ .CommonAnnotations.incident_severity }}, escalation step {{ .CommonAnnotations.escalation_step }}</p>
<p><a href="{{ .CommonAnnotations.ack_url }}">Acknowledge</a> | <a href="{{ .CommonAnnotations.resolve_url }}">Resolve</a> | <a href="{{ .CommonAnnotations.incident_url }}">Open incident</a></p>
<ul>{{ range .Alerts }}<li>[{{ .Status }}] {{ .Labels.alertname }}{{ if .Annotations.summary }}: {{ .Annotations.summary }}{{ end }}</li>{{ end }}</ul>`;

const SLACK_TEXT = `*{{ .CommonAnnotations.incident_severity | toUpper }}* incident {{ .CommonAnnotations.incident_id }}, escalation step {{ .CommonAnnotations.escalation_step }}
<{{ .CommonAnnotations.ack_url }}|Acknowledge> · <{{ .CommonAnnotations.resolve_url }}|Resolve>
{{ range .Alerts }}• {{ .Labels.alertname }}{{ if .Annotations.summary }}: {{ .Annotations.summary }}{{ end }}
{{ end }}`;

/** What a page says besides the incident itself. */
export interface PageLinks {
  readonly ackUrl: string;
  readonly resolveUrl: string;
  readonly incidentUrl: string;
}

/** The notification a page sends: the incident's alerts, with the incident and its links as annotations. */
export function pageMessage(
  incident: Incident,
  alerts: readonly NotifyAlert[],
  links: PageLinks,
  step: number,
  externalURL: string,
): NotificationMessage {
  return {
    id: randomUUID(),
    groupId: incident.id,
    groupKey: `incident:${incident.id}`,
    receiver: 'vigil-incidents',
    status: incident.status === 'resolved' ? 'resolved' : 'firing',
    alerts,
    groupLabels: { incident: incident.id },
    commonLabels: commonPairs(alerts.map((a) => a.labels)),
    commonAnnotations: {
      incident_id: incident.id,
      incident_title: incident.title,
      incident_severity: incident.severity,
      incident_status: incident.status,
      incident_url: links.incidentUrl,
      ack_url: links.ackUrl,
      resolve_url: links.resolveUrl,
      escalation_step: String(step),
    },
    externalURL,
  };
}

/** Delivers pages. Implementations never throw; failures are results. */
export interface Pager {
  /** One attempt through one contact method. */
  sendToContact(contact: ContactMethod, msg: NotificationMessage): Promise<SendResult>;
  /** Every integration of an Alertmanager receiver; one result per integration (none: a failed result). */
  sendToReceiver(name: string, msg: NotificationMessage): Promise<SendResult[]>;
}

/** The pager over src/notify, reading SMTP and Slack defaults from the current Alertmanager configuration. */
export function notifyPager(config: () => AlertmanagerConfig): Pager {
  let cached: { config: AlertmanagerConfig; templates: TemplateSet } | undefined;
  const templates = (c: AlertmanagerConfig): TemplateSet => {
    if (cached?.config !== c) cached = { config: c, templates: loadTemplates(c.templates) };
    return cached.templates;
  };
  const attempt = async (i: Integration, msg: NotificationMessage): Promise<SendResult> => {
    try {
      return await i.send(msg, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS));
    } catch (err) {
      return { status: 'failed', error: `${i.name}: ${(err as Error).message}`, reason: 'other' };
    }
  };
  return {
    async sendToContact(contact, msg) {
      const c = config();
      const g = c.global;
      let integration: Integration;
      try {
        const tmpl = templates(c);
        if (contact.type === 'email') {
          if (!g.smtp_smarthost || !g.smtp_from)
            return {
              status: 'failed',
              error:
                'email: no SMTP server configured: set global.smtp_smarthost and global.smtp_from in the Alertmanager configuration',
              reason: 'other',
            };
          integration = emailIntegration(
            { to: contact.address, headers: { Subject: PAGE_SUBJECT }, text: PAGE_TEXT, html: PAGE_HTML },
            0,
            g,
            tmpl,
          );
        } else if (contact.type === 'slack')
          integration = slackIntegration(
            {
              api_url: contact.url,
              title: 'Incident {{ .CommonAnnotations.incident_id }}: {{ .CommonAnnotations.incident_title }}',
              title_link: '{{ .CommonAnnotations.incident_url }}',
              text: SLACK_TEXT,
            },
            0,
            g,
            tmpl,
          );
        else integration = webhookIntegration({ url: contact.url, max_alerts: 0 }, 0);
      } catch (err) {
        return { status: 'failed', error: `${contact.type}: ${(err as Error).message}`, reason: 'other' };
      }
      return attempt(integration, msg);
    },

    async sendToReceiver(name, msg) {
      const c = config();
      const r = c.receivers.find((x) => x.name === name);
      if (!r)
        return [
          { status: 'failed', error: `receiver ${JSON.stringify(name)} is not configured`, reason: 'other' },
        ];
      let list: Integration[];
      try {
        list = receiverIntegrations(r, { config: c, templates: templates(c) });
      } catch (err) {
        return [{ status: 'failed', error: `receiver ${name}: ${(err as Error).message}`, reason: 'other' }];
      }
      if (!list.length)
        return [
          {
            status: 'failed',
            error: `receiver ${JSON.stringify(name)} has no integrations`,
            reason: 'other',
          },
        ];
      return Promise.all(list.map((i) => attempt(i, { ...msg, receiver: name })));
    },
  };
}

/** One page as the in-memory pager saw it. */
export interface SentPage {
  readonly to: string;
  readonly msg: NotificationMessage;
  readonly ok: boolean;
}

/**
 * A pager that delivers nowhere and records every page (tests, dry runs). Contacts whose address or URL is in
 * `failing` fail, as a server refusing them would.
 */
export class MemoryPager implements Pager {
  readonly sent: SentPage[] = [];
  readonly failing = new Set<string>();

  sendToContact(contact: ContactMethod, msg: NotificationMessage): Promise<SendResult> {
    const to = contact.type === 'email' ? `email:${contact.address}` : `${contact.type}:${contact.url}`;
    const target = contact.type === 'email' ? contact.address : contact.url;
    const ok = !this.failing.has(target);
    this.sent.push({ to, msg, ok });
    return Promise.resolve(
      ok
        ? { status: 'ok' }
        : { status: 'failed', error: `${contact.type}: refused by test`, reason: 'other' },
    );
  }

  sendToReceiver(name: string, msg: NotificationMessage): Promise<SendResult[]> {
    const ok = !this.failing.has(name);
    this.sent.push({ to: `receiver:${name}`, msg, ok });
    return Promise.resolve([
      ok
        ? { status: 'ok' }
        : { status: 'failed', error: `receiver ${name}: refused by test`, reason: 'other' },
    ]);
  }
}
