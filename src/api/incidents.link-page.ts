/**
 * The small HTML pages behind the signed acknowledge/resolve links in pages. Opening a link (GET) only shows
 * the incident and a button; the button POSTs the same signed parameters, and only that acts. Link scanners
 * and chat unfurlers fetch GETs, so a GET must never act. Everything from the incident is escaped; the pages
 * load nothing, run no script and cannot be framed (see LINK_PAGE_HEADERS).
 */
import type { LinkAction } from '../incidents/links.ts';
import type { Incident } from '../state/interface.ts';

/** Headers for every link page: no scripts, no framing (a hidden button must not be clickjacked), no caching. */
export const LINK_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  // The URL carries the signature: never send it on to another site.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
};

const VERB: Record<LinkAction, { verb: string; done: string }> = {
  ack: { verb: 'Acknowledge', done: 'acknowledged' },
  resolve: { verb: 'Resolve', done: 'resolved' },
};

/** Text made safe for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** True when the client asked for HTML (a browser); anything else gets JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return /\btext\/html\b|\bapplication\/xhtml\+xml\b/i.test(accept ?? '');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)} · Vigil</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.3rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#5b6475}
dd{margin:0;overflow-wrap:anywhere}button{font:inherit;padding:.5rem 1.2rem;border:0;border-radius:4px;
background:#2456c9;color:#fff;cursor:pointer}.refused{color:#a3261c}.note{color:#5b6475}
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function facts(incident: Pick<Incident, 'id' | 'title' | 'severity' | 'status'>): string {
  return `<dl>
<dt>Incident</dt><dd data-field="id">${escapeHtml(incident.id)}</dd>
<dt>Title</dt><dd data-field="title">${escapeHtml(incident.title)}</dd>
<dt>Severity</dt><dd data-field="severity">${escapeHtml(incident.severity)}</dd>
<dt>Status</dt><dd data-field="status">${escapeHtml(incident.status)}</dd>
</dl>`;
}

/** Whether `action` still applies to an incident in `status`, or why not. */
export function actionApplies(action: LinkAction, status: Incident['status']): string | undefined {
  if (status === 'resolved') return 'This incident is already resolved.';
  if (action === 'ack' && status === 'acknowledged') return 'This incident is already acknowledged.';
  return undefined;
}

/**
 * The confirmation page of a valid link: the incident and a button that POSTs `exp` and `sig` back to the
 * same path (a relative action, so it works behind a reverse proxy with a path prefix).
 */
export function confirmPage(
  action: LinkAction,
  incident: Pick<Incident, 'id' | 'title' | 'severity' | 'status'>,
  exp: string,
  sig: string,
): string {
  const v = VERB[action];
  const blocked = actionApplies(action, incident.status);
  const form = blocked
    ? `<p class="note" data-testid="link-blocked">${escapeHtml(blocked)} Nothing to do.</p>`
    : `<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="exp" value="${escapeHtml(exp)}">
<input type="hidden" name="sig" value="${escapeHtml(sig)}">
<button type="submit" data-testid="link-confirm">${v.verb} incident ${escapeHtml(incident.id)}</button>
</form>
<p class="note">Opening this link changed nothing; the button does.</p>`;
  return page(`${v.verb} ${incident.id}`, `<h1>${v.verb} this incident?</h1>\n${facts(incident)}\n${form}`);
}

/** The page after the button acted. */
export function donePage(
  action: LinkAction,
  incident: Pick<Incident, 'id' | 'title' | 'severity' | 'status'>,
) {
  const v = VERB[action];
  return page(
    `${incident.id} ${v.done}`,
    `<h1 data-testid="link-done">Incident ${escapeHtml(incident.id)} ${v.done}</h1>\n${facts(incident)}`,
  );
}

/** A refused or failed link, with the reason in words. */
export function refusalPage(action: LinkAction, status: number, reason: string): string {
  const heading = status === 403 ? `This ${VERB[action].verb.toLowerCase()} link is refused` : 'Not done';
  return page(
    heading,
    `<h1 class="refused" data-testid="link-refused">${escapeHtml(heading)}</h1>\n<p>${escapeHtml(reason)}</p>`,
  );
}
