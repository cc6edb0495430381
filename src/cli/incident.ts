/**
 * `vigil incident list|ack ID|resolve ID|show ID [--url URL] [--actor NAME]`: incidents of a running Vigil over
 * its API, in the manner of `amtool alert`. `list` pages through the API's cursor (500 newest by default,
 * `--limit N` or `--all` for more). The URL defaults to $VIGIL_URL, then http://127.0.0.1:9400; the
 * actor to $USER. Exit codes: 0 done, 1 the server refused (the message says why, a 409 says who acted first),
 * 2 usage.
 */
import { parseArgs } from 'node:util';

export class IncidentUsageError extends Error {}

const USAGE = `Usage:
  vigil incident list [--status triggered,acknowledged] [--service NAME] [--search WORDS]
                      [--limit N | --all] [--page-size N] [--url URL]
  vigil incident show ID [--url URL]
  vigil incident ack ID [--actor NAME] [--url URL]
  vigil incident resolve ID [--actor NAME] [--url URL]
`;

/** Incidents `list` shows without --limit or --all, and the page size it asks the API for. */
const DEFAULT_LIST = 500;
const PAGE = 1000;

interface IncidentJson {
  id: string;
  title: string;
  severity: string;
  status: string;
  createdAt: number;
  ackedBy: string | null;
  services: string[];
}

async function call(url: string, path: string, init?: RequestInit): Promise<unknown> {
  let endpoint: string;
  try {
    endpoint = new URL(path, url).toString();
  } catch {
    throw new IncidentUsageError(`--url: ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:9400)`);
  }
  let res: Response;
  try {
    res = await fetch(endpoint, init);
  } catch (err) {
    throw new Error(
      `cannot reach Vigil at ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const msg = (body as { error?: string } | undefined)?.error ?? text;
    throw new Error(`${res.status}: ${msg}`);
  }
  return body;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Runs the subcommand; returns the exit code. Output goes to `out`, errors to `err`. */
export async function incidentCommand(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      actor: { type: 'string' },
      status: { type: 'string' },
      service: { type: 'string' },
      search: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean' },
      'page-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const [sub, id, ...extra] = positionals;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const url = values.url ?? process.env.VIGIL_URL ?? 'http://127.0.0.1:9400';
  const actor = values.actor ?? process.env.USER ?? 'cli';
  try {
    switch (sub) {
      case 'list': {
        if (id !== undefined) throw new IncidentUsageError('list takes no ID');
        let wanted = DEFAULT_LIST;
        if (values.limit !== undefined) {
          if (values.all) throw new IncidentUsageError('give --limit or --all, not both');
          wanted = Number(values.limit);
          if (!/^\d+$/.test(values.limit) || !Number.isSafeInteger(wanted) || wanted < 1)
            throw new IncidentUsageError(
              `--limit: ${JSON.stringify(values.limit)} is not a whole number above 0`,
            );
        }
        if (values.all) wanted = Infinity;
        const filters = new URLSearchParams();
        if (values.status) filters.set('status', values.status);
        if (values.service) filters.set('service', values.service);
        if (values.search) filters.set('q', values.search);
        let page = PAGE;
        if (values['page-size'] !== undefined) {
          page = Number(values['page-size']);
          if (!/^\d+$/.test(values['page-size']) || page < 1 || page > 10_000)
            throw new IncidentUsageError(
              `--page-size: ${JSON.stringify(values['page-size'])} is not a whole number from 1 to 10000`,
            );
        }
        // Follow the API's cursor page by page, printing as pages arrive.
        let shown = 0;
        let cursor: string | undefined;
        do {
          const q = new URLSearchParams(filters);
          q.set('limit', String(Math.min(wanted - shown, page)));
          if (cursor !== undefined) q.set('cursor', cursor);
          const body = (await call(url, `/api/vigil/v1/incidents?${q}`)) as {
            incidents: IncidentJson[];
            next?: string;
          };
          if (shown === 0 && cursor === undefined)
            out(`${pad('ID', 10)}${pad('STATUS', 14)}${pad('SEVERITY', 10)}${pad('OPENED', 22)}TITLE\n`);
          for (const i of body.incidents)
            out(
              `${pad(i.id, 10)}${pad(i.status, 14)}${pad(i.severity, 10)}${pad(new Date(i.createdAt).toISOString().slice(0, 19) + 'Z', 22)}${i.title}\n`,
            );
          shown += body.incidents.length;
          cursor = body.next;
        } while (cursor !== undefined && shown < wanted);
        if (cursor !== undefined)
          err(`vigil incident: ${shown} shown, more follow; use --limit N or --all to see them\n`);
        return 0;
      }
      case 'show': {
        if (!id || extra.length) throw new IncidentUsageError('show needs exactly one incident ID');
        const body = (await call(url, `/api/vigil/v1/incidents/${encodeURIComponent(id)}`)) as {
          incident: IncidentJson;
          events: { at: number; kind: string; actor: string }[];
        };
        const i = body.incident;
        out(`${i.id} [${i.status}] ${i.severity}: ${i.title}\n`);
        for (const e of body.events) out(`  ${new Date(e.at).toISOString()}  ${pad(e.kind, 22)}${e.actor}\n`);
        return 0;
      }
      case 'ack':
      case 'resolve': {
        if (!id || extra.length) throw new IncidentUsageError(`${sub} needs exactly one incident ID`);
        const i = (await call(url, `/api/vigil/v1/incidents/${encodeURIComponent(id)}/${sub}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ actor }),
        })) as IncidentJson;
        out(`incident ${i.id} ${sub === 'ack' ? 'acknowledged' : 'resolved'} by ${actor}\n`);
        return 0;
      }
      default:
        throw new IncidentUsageError(
          sub === undefined ? 'missing subcommand' : `unknown subcommand ${JSON.stringify(sub)}`,
        );
    }
  } catch (e) {
    if (e instanceof IncidentUsageError) {
      err(`vigil incident: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`vigil incident: ${(e as Error).message}\n`);
    return 1;
  }
}
