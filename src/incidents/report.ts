/**
 * The post-incident report as Markdown, pure: summary and figures, impact, root cause (the correlated group's
 * root-cause candidate), the alerts with links to their metric charts around the incident window, traces of
 * the affected services, the timeline, pages, resolution, and action items. Sections a person completes are
 * marked with HTML comments, which Markdown renderers hide.
 */
import type { Incident, IncidentEvent, Page } from '../state/interface.ts';

export interface ReportInput {
  readonly incident: Incident;
  readonly events: readonly IncidentEvent[];
  readonly pages: readonly Page[];
  /** Vigil's external URL, for chart and trace links. */
  readonly externalURL: string;
  /** Trace ids seen for the incident's services within the window, most relevant first. */
  readonly traces?: readonly string[];
  /** When the report was generated (shown; defaults to the incident's resolution or creation). */
  readonly generatedAt?: number;
}

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

/** `1h 2m 3s`, `45s`. */
export function humanDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].filter(Boolean).join(' ');
}

/** Markdown table cell text: no pipes or line breaks. */
function cell(v: unknown): string {
  return String(v ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

/** A Markdown table with columns padded to equal width (the layout Prettier gives, so the file stays stable). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const width = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const row = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [row(header), `| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(row)];
}

function describe(e: IncidentEvent): string {
  const d = e.detail;
  const labels = d.labels as Record<string, string> | undefined;
  switch (e.kind) {
    case 'created':
      return d.manual
        ? 'Opened by hand'
        : `Opened from correlated alert group ${String(d.groupId)} (policy ${String(d.policy)})`;
    case 'alert_firing':
      return `Alert firing: ${labels?.alertname ?? String(d.fingerprint)}${labels?.service ? ` (${labels.service})` : ''}`;
    case 'alert_resolved':
      return `Alert resolved: ${String(d.alertname ?? d.fingerprint)}`;
    case 'page':
      return d.receiver
        ? `Paged receiver ${String(d.receiver)} (step ${String(d.step)})`
        : `Paged ${String(d.user)} by ${String(d.channel)} (step ${String(d.step)})${Array.isArray(d.fallbackFrom) ? ` after ${d.fallbackFrom.length} failed method(s)` : ''}`;
    case 'page_failed':
      return `Page failed${d.user ? ` for ${String(d.user)}` : ''}: ${String(d.reason)}`;
    case 'escalated':
      return `Escalated to step ${String(d.step)}${Number(d.loop) ? ` (repeat ${String(d.loop)})` : ''}: no acknowledgement`;
    case 're_escalated':
      return `Re-escalated: ${String(d.reason)}`;
    case 'escalation_exhausted':
      return `Escalation exhausted: ${String(d.reason)}`;
    case 'acknowledged':
      return `Acknowledged${d.via ? ` via ${String(d.via)}` : ''}`;
    case 'resolved':
      return `Resolved${d.reason ? `: ${String(d.reason)}` : ''}${d.note ? ` (${String(d.note)})` : ''}`;
    case 'similar_incidents':
      return String(d.text);
    case 'reopened':
      return `Re-opened: ${String(d.reason)}`;
    case 'note':
      return `Note: ${String(d.text)}`;
    case 'assigned':
      return `Assigned to ${String(d.assignee ?? 'nobody')}`;
    default:
      return `${e.kind} ${JSON.stringify(d)}`;
  }
}

/** PromQL selector of an alert's labels without the alert-only ones, for a chart link. */
function selector(labels: Record<string, string>): string {
  const skip = new Set(['alertname', 'severity', 'severity_original']);
  const pairs = Object.entries(labels)
    .filter(([k]) => !skip.has(k))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `{${pairs.join(',')}}`;
}

/**
 * A chart of the alert around the window: the rule's own query when its generator URL is a Vigil explore link,
 * else the alert's identifying labels as a selector.
 */
function chartUrl(
  base: string,
  generator: string | undefined,
  sel: string,
  from: number,
  to: number,
): string {
  let q = sel;
  if (generator)
    try {
      const g = new URL(generator);
      if (g.pathname.endsWith('/explore') && g.searchParams.get('q')) q = g.searchParams.get('q')!;
    } catch {
      // Not a URL: fall back to the selector.
    }
  return `${base}/explore?${new URLSearchParams({ q, from: String(from), to: String(to) })}`;
}

export function incidentReport(r: ReportInput): string {
  const inc = r.incident;
  const base = r.externalURL.replace(/\/+$/, '');
  const end = inc.resolvedAt ?? r.generatedAt ?? inc.createdAt;
  // Charts cover the incident with a margin either side, so the lead-up and the recovery are visible.
  const margin = Math.max(15 * 60_000, Math.round((end - inc.createdAt) / 2));
  const from = inc.createdAt - margin;
  const to = end + margin;
  const out: string[] = [];
  const line = (s = '') => out.push(s);

  line(`# Post-incident report: ${inc.title}`);
  line();
  line(`Incident **${inc.id}** · severity **${inc.severity}** · status **${inc.status}**`);
  line();
  const summary: string[][] = [
    ['Opened', iso(inc.createdAt)],
    [
      'Acknowledged',
      inc.ackedAt === null
        ? '—'
        : `${iso(inc.ackedAt)} by ${cell(inc.ackedBy)} (after ${humanDuration(inc.ackedAt - inc.createdAt)})`,
    ],
    [
      'Resolved',
      inc.resolvedAt === null
        ? '—'
        : `${iso(inc.resolvedAt)} by ${cell(inc.resolvedBy)} (after ${humanDuration(inc.resolvedAt - inc.createdAt)})`,
    ],
    ['Services', inc.services.length ? cell(inc.services.join(', ')) : '—'],
    ['Components', inc.components.length ? cell(inc.components.join(', ')) : '—'],
    ['Assignee', cell(inc.assignee ?? '—')],
    ['Escalation policy', cell(inc.policyId ?? '—')],
  ];
  out.push(...table(['Field', 'Value'], summary));
  line();

  const firing = r.events.filter((e) => e.kind === 'alert_firing');
  const alerts = new Map<string, Record<string, string>>();
  const generators = new Map<string, string>();
  for (const e of firing) {
    alerts.set(String(e.detail.fingerprint), (e.detail.labels ?? {}) as Record<string, string>);
    if (typeof e.detail.generatorURL === 'string' && e.detail.generatorURL)
      generators.set(String(e.detail.fingerprint), e.detail.generatorURL);
  }
  const delivered = r.pages.filter((p) => p.outcome === 'delivered');
  const people = [...new Set(delivered.map((p) => p.userId).filter((u): u is string => u !== null))];

  line('## Impact');
  line();
  line(
    `${inc.services.length ? `Services affected: ${inc.services.join(', ')}. ` : ''}` +
      `${alerts.size} alert(s) linked; the incident lasted ${humanDuration(end - inc.createdAt)}` +
      `${inc.resolvedAt === null ? ' so far' : ''}. ${delivered.length} page(s) delivered to ${people.length} person(s)` +
      `${r.pages.length > delivered.length ? `, ${r.pages.length - delivered.length} delivery attempt(s) failed` : ''}.`,
  );
  line();
  line('<!-- Describe who and what was affected: users, messages delayed or lost, SLOs breached. -->');
  line();

  line('## Root cause');
  line();
  const created = r.events.find((e) => e.kind === 'created');
  const rootFp = created?.detail.rootCause === undefined ? undefined : String(created.detail.rootCause);
  const root = rootFp ? alerts.get(rootFp) : undefined;
  if (root)
    line(
      `Correlation ranked **${root.alertname ?? rootFp}**${root.service ? ` on ${root.service}` : ''} as the probable root cause ` +
        `(labels \`${selector(root)}\`).`,
    );
  else line('No root-cause candidate was recorded (the incident was opened by hand).');
  line();
  line('<!-- Confirm or correct the root cause: what failed, and why. -->');
  line();

  line('## Alerts and charts');
  line();
  if (!alerts.size) line('No alerts were linked.');
  else {
    const rows = [...alerts].map(([fp, labels]) => {
      const url = chartUrl(base, generators.get(fp), selector(labels), from, to);
      const shown = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      return [cell(labels.alertname ?? fp), cell(shown), `[chart](${url})`];
    });
    out.push(...table(['Alert', 'Labels', 'Chart'], rows));
  }
  line();

  line('## Traces');
  line();
  if (r.traces?.length) for (const t of r.traces) line(`- [${t}](${base}/traces/${t})`);
  else if (inc.services.length)
    for (const s of inc.services)
      line(
        `- [${s} traces in the incident window](${base}/traces?${new URLSearchParams({ service: s, from: String(from), to: String(to) })})`,
      );
  else line('No services were recorded, so no traces are linked.');
  line();

  line('## Timeline');
  line();
  out.push(
    ...table(
      ['Time (UTC)', '+Offset', 'Actor', 'Event'],
      r.events.map((e) => [iso(e.at), humanDuration(e.at - inc.createdAt), cell(e.actor), cell(describe(e))]),
    ),
  );
  line();

  line('## Pages');
  line();
  if (!r.pages.length) line('No pages were sent.');
  else {
    out.push(
      ...table(
        ['Time (UTC)', 'Step', 'To', 'Channel', 'Outcome'],
        r.pages.map((p) => [
          iso(p.at),
          String(p.step),
          cell(p.userId ?? '—'),
          cell(p.channel),
          `${p.outcome}${p.error ? `: ${cell(p.error)}` : ''}`,
        ]),
      ),
    );
  }
  line();

  line('## Resolution');
  line();
  const resolved = [...r.events].reverse().find((e) => e.kind === 'resolved');
  if (resolved)
    line(
      `Resolved at ${iso(resolved.at)} by ${resolved.actor}${resolved.detail.reason ? ` (${String(resolved.detail.reason)})` : ''}.`,
    );
  else line('Not resolved yet.');
  if (resolved?.detail.note) {
    line();
    line(`What fixed it: ${String(resolved.detail.note)}`);
  }
  const notes = r.events.filter((e) => e.kind === 'note');
  if (notes.length) {
    line();
    line('Notes from the incident:');
    line();
    for (const n of notes) line(`- ${iso(n.at)} ${n.actor}: ${String(n.detail.text)}`);
  }
  line();
  line('<!-- What fixed it, and how it was verified. -->');
  line();

  line('## Action items');
  line();
  out.push(...table(['Action', 'Owner', 'Due'], [['<!-- e.g. add an alert on queue depth -->', '', '']]));
  line();
  return out.join('\n');
}
